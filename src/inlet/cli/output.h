// What the commands print: JSON (nlohmann::json, used here only to print), byte counts,
// and lists given on the command line.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "inlet/table.h"

namespace inlet::cli {

using Json = nlohmann::json;

/// Compact JSON text, as every --json output prints it; invalid UTF-8 (a file name, a
/// path) is replaced, never thrown.
inline std::string Dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}
/// Indented JSON text, likewise.
inline std::string Pretty(const Json& j) {
  return j.dump(2, ' ', false, Json::error_handler_t::replace);
}

/// JSON text parsed; null when it does not parse (never throws).
inline Json ParseOrNull(const std::string& text) {
  Json j = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? Json() : j;
}

/// {"files": N, "bytes": N}.
inline Json CountsJson(const FileCounts& c) {
  return Json{{"files", c.files}, {"bytes", c.bytes}};
}

/// "1.2 MiB": bytes for people (B, KiB, MiB, GiB, TiB; one decimal above bytes).
std::string FormatBytes(int64_t bytes);

/// Items separated by commas (spaces around each trimmed, empty items dropped).
std::vector<std::string> SplitList(const std::string& text);

}  // namespace inlet::cli
