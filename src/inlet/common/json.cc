#include "inlet/common/json.h"

#include <arrow/status.h>

namespace inlet {

arrow::Result<Json> ParseJson(std::string_view text, std::string_view what) {
  try {
    return Json::parse(text);
  } catch (const Json::exception& e) {
    return arrow::Status::Invalid(what, ": invalid JSON: ", e.what());
  }
}

arrow::Result<std::string> GetString(const Json& obj, const char* key,
                                     std::string_view what) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_string()) {
    return arrow::Status::Invalid(what, ": field '", key, "' is missing or not a string");
  }
  return it->get<std::string>();
}

arrow::Result<int64_t> GetInt(const Json& obj, const char* key, std::string_view what) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number_integer()) {
    return arrow::Status::Invalid(what, ": field '", key,
                                  "' is missing or not an integer");
  }
  return it->get<int64_t>();
}

std::string GetStringOr(const Json& obj, const char* key, std::string fallback) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : fallback;
}

int64_t GetIntOr(const Json& obj, const char* key, int64_t fallback) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_number_integer() ? it->get<int64_t>() : fallback;
}

bool GetBoolOr(const Json& obj, const char* key, bool fallback) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

std::string DumpJson(const Json& value) {
  // Replace invalid UTF-8 rather than throw: values come from user data.
  return value.dump(-1, ' ', false, Json::error_handler_t::replace);
}

}  // namespace inlet
