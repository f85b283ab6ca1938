// nlohmann::json for the library: ParseJson and the accessors below never throw. The
// other places that use nlohmann::json catch its exceptions themselves, at the function
// that calls it: delta/actions.cc and delta/schema.cc (walking log actions and schemas)
// and source/file_source.cc (finding a malformed line); the CLI parses with exceptions
// off.
#pragma once

#include <arrow/result.h>

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace inlet {

using Json = nlohmann::json;

/// Parses text as JSON. On failure returns Invalid with `what` and the parser's message.
arrow::Result<Json> ParseJson(std::string_view text, std::string_view what);

/// Field accessors that check types instead of throwing. `what` names the enclosing
/// object for error messages.
arrow::Result<std::string> GetString(const Json& obj, const char* key,
                                     std::string_view what);
arrow::Result<int64_t> GetInt(const Json& obj, const char* key, std::string_view what);
std::string GetStringOr(const Json& obj, const char* key, std::string fallback);
int64_t GetIntOr(const Json& obj, const char* key, int64_t fallback);
bool GetBoolOr(const Json& obj, const char* key, bool fallback);

/// Compact serialisation (no spaces), as Delta writers emit.
std::string DumpJson(const Json& value);

}  // namespace inlet
