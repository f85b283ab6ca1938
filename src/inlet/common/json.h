// The one boundary to nlohmann::json: parsing never throws past these functions.
#pragma once

#include <string>
#include <string_view>

#include <arrow/result.h>
#include <nlohmann/json.hpp>

namespace inlet {

using Json = nlohmann::json;

/// Parses text as JSON. On failure returns Invalid with `what` and the parser's message.
arrow::Result<Json> ParseJson(std::string_view text, std::string_view what);

/// Field accessors that check types instead of throwing. `what` names the enclosing
/// object for error messages.
arrow::Result<std::string> GetString(const Json& obj, const char* key, std::string_view what);
arrow::Result<int64_t> GetInt(const Json& obj, const char* key, std::string_view what);
std::string GetStringOr(const Json& obj, const char* key, std::string fallback);
int64_t GetIntOr(const Json& obj, const char* key, int64_t fallback);
bool GetBoolOr(const Json& obj, const char* key, bool fallback);

/// Compact serialisation (no spaces), as Delta writers emit.
std::string DumpJson(const Json& value);

}  // namespace inlet
