// Percentages in messages.
#pragma once

#include <cstdio>
#include <string>

namespace inlet {

/// "12.5%": value with at most 4 significant digits and a percent sign.
inline std::string FormatPercent(double value) {
  char text[32];
  std::snprintf(text, sizeof(text), "%.4g%%", value);
  return text;
}

}  // namespace inlet
