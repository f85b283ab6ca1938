// One HTTP request through libcurl (the boundary file of that library for everything but
// S3's conditional PUT, which needs its own headers handling): cloud credential endpoints
// and the Iceberg REST catalog.
#pragma once

#include <arrow/result.h>

#include <string>
#include <vector>

namespace inlet {

struct HttpResponse {
  long status = 0;
  std::string body;
};

/// Makes one request and returns the status and body, whatever the status. IOError
/// naming `what` (never the URL, which may carry secrets) when no response came:
/// connection refused, TLS failure, timeout. `ca_bundle`: a PEM file of trusted
/// certificates instead of the system's. The connection must be made within `timeout_s`
/// seconds and the whole exchange take at most three times that.
arrow::Result<HttpResponse> Http(const std::string& method, const std::string& url,
                                 const std::vector<std::string>& headers,
                                 const std::string& body, const std::string& ca_bundle,
                                 long timeout_s, const std::string& what);

/// Percent-encodes everything but RFC 3986's unreserved characters (and '/' with
/// keep_slash, for paths), as AWS signatures and form bodies want it.
std::string UriEncode(const std::string& text, bool keep_slash = false);

}  // namespace inlet
