// Path and URI encodings used by the Delta log and Hive-style partition directories.
#pragma once

#include <string>
#include <string_view>

namespace inlet {

/// Percent-encodes a relative path for the log (RFC 2396): keeps unreserved characters,
/// '/', and '=', and encodes every other byte as %XX.
std::string PercentEncodePath(std::string_view path);
/// Decodes %XX escapes; malformed escapes are kept as they are.
std::string PercentDecode(std::string_view text);
/// Escapes a partition value for a directory name the way Hive and Spark do.
std::string EscapePartitionValue(std::string_view value);

/// Joins a directory and a relative path with exactly one '/'.
std::string JoinPath(std::string_view dir, std::string_view rel);

}  // namespace inlet
