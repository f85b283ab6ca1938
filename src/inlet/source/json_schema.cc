#include "inlet/source/json_schema.h"

#include <arrow/type.h>

#include <fstream>
#include <sstream>

namespace inlet {

namespace {

// Keywords that only annotate: nothing to check.
const std::set<std::string> kAnnotations = {
    "$schema",  "$id",        "id",       "$comment",  "title", "description", "default",
    "examples", "deprecated", "readOnly", "writeOnly", "$defs", "definitions"};

arrow::Status Unsupported(const std::string& what, const std::string& where,
                          const std::string& keyword) {
  return arrow::Status::Invalid(
      what, ": ", where, ": keyword '", keyword,
      "' is not supported (inlet checks type, format, enum, required and "
      "additionalProperties: false)");
}

// The column type of one property.
arrow::Result<std::shared_ptr<arrow::DataType>> PropertyType(const Json& p,
                                                             const std::string& what,
                                                             const std::string& where) {
  if (!p.is_object())
    return arrow::Status::Invalid(what, ": ", where, ": expected an object");
  std::vector<std::string> types;
  if (p.contains("type")) {
    const Json& t = p["type"];
    if (t.is_string()) types.push_back(t.get<std::string>());
    if (t.is_array()) {
      for (const auto& one : t) {
        if (one.is_string() && one.get<std::string>() != "null")
          types.push_back(one.get<std::string>());
      }
    }
  }
  if (types.size() != 1) {
    return arrow::Status::Invalid(
        what, ": ", where, ": 'type' must name one type (and optionally \"null\")");
  }
  const std::string& type = types[0];
  std::string format = p.contains("format") && p["format"].is_string()
                           ? p["format"].get<std::string>()
                           : "";
  bool nested = type == "object" || type == "array";
  for (const auto& [k, v] : p.items()) {
    if (k == "type" || kAnnotations.count(k)) continue;
    if (k == "format" && type == "string") continue;
    if (k == "enum" && type == "string") continue;
    if (nested) continue;  // kept as JSON text; what is inside is not checked
    return Unsupported(what, where, k);
  }
  if (type == "integer") return arrow::int64();
  if (type == "number") return arrow::float64();
  if (type == "boolean") return arrow::boolean();
  if (nested) return arrow::utf8();
  if (type == "string") {
    if (format == "date-time") return arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
    if (format == "date") return arrow::date32();
    return arrow::utf8();
  }
  return arrow::Status::Invalid(what, ": ", where, ": unknown type '", type, "'");
}

}  // namespace

arrow::Result<MessageSchema> ParseMessageSchema(const Json& doc,
                                                const std::string& what) {
  if (!doc.is_object())
    return arrow::Status::Invalid(what, ": a JSON Schema must be an object");
  if (doc.contains("type") && doc["type"] != "object") {
    return arrow::Status::Invalid(
        what, ": the schema must describe an object (\"type\": \"object\")");
  }
  if (!doc.contains("properties") || !doc["properties"].is_object() ||
      doc["properties"].empty()) {
    return arrow::Status::Invalid(what, ": the schema has no 'properties'");
  }
  MessageSchema out;
  for (const auto& [k, v] : doc.items()) {
    if (k == "type" || k == "properties" || k == "required" ||
        k == "additionalProperties" || kAnnotations.count(k)) {
      continue;
    }
    return Unsupported(what, "the top level", k);
  }
  for (const auto& [name, p] : doc["properties"].items()) {
    std::string where = "properties." + name;
    ARROW_ASSIGN_OR_RAISE(auto type, PropertyType(p, what, where));
    out.columns.emplace_back(name, type);
    if (p.contains("enum")) {
      if (!p["enum"].is_array() || p["enum"].empty()) {
        return arrow::Status::Invalid(what, ": ", where,
                                      ".enum: expected a list of strings");
      }
      auto& allowed = out.enums[name];
      for (const auto& e : p["enum"]) {
        if (!e.is_string())
          return arrow::Status::Invalid(what, ": ", where,
                                        ".enum: expected a list of strings");
        allowed.insert(e.get<std::string>());
      }
    }
  }
  if (doc.contains("required")) {
    if (!doc["required"].is_array())
      return arrow::Status::Invalid(what, ": 'required' must be a list of names");
    for (const auto& r : doc["required"]) {
      if (!r.is_string() || !doc["properties"].contains(r.get<std::string>())) {
        return arrow::Status::Invalid(what, ": 'required' names ", r.dump(),
                                      ", which is not among the properties");
      }
      out.required.push_back(r.get<std::string>());
    }
  }
  if (doc.contains("additionalProperties")) {
    const Json& a = doc["additionalProperties"];
    if (!a.is_boolean())
      return Unsupported(what, "the top level", "additionalProperties (as a schema)");
    out.closed = !a.get<bool>();
  }
  return out;
}

arrow::Result<MessageSchema> ReadMessageSchema(const std::string& path) {
  std::ifstream in(path);
  if (!in) return arrow::Status::IOError("cannot read the schema file ", path);
  std::stringstream text;
  text << in.rdbuf();
  Json doc = Json::parse(text.str(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return arrow::Status::Invalid(path, ": not valid JSON");
  return ParseMessageSchema(doc, path);
}

}  // namespace inlet
