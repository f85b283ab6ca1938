// The Prometheus text format's pieces shared by inlet stream's metrics file (metrics.cc)
// and inlet serve's endpoint (serve/status_text.cc).
#pragma once

#include <string>

namespace inlet {

/// A label value as the text format wants it: backslash, double quote and newline
/// escaped.
std::string PrometheusLabelValue(const std::string& value);

}  // namespace inlet
