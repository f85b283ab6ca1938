#include "inlet/source/json_schema.h"

#include <arrow/api.h>
#include <gtest/gtest.h>

namespace inlet {
namespace {

TEST(MessageSchema, ColumnsChecksAndAnnotations) {
  Json doc = Json::parse(R"({
    "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "user event",
    "type": "object",
    "properties": {
      "id": {"type": "integer", "description": "the event"},
      "ts": {"type": "string", "format": "date-time"},
      "day": {"type": ["string", "null"], "format": "date"},
      "kind": {"type": "string", "enum": ["view", "click"]},
      "amount": {"type": "number"}, "ok": {"type": "boolean"},
      "ctx": {"type": "object", "properties": {"x": {"type": "integer", "minimum": 0}}},
      "tags": {"type": "array", "items": {"type": "string"}}
    },
    "required": ["id", "kind"], "additionalProperties": false})");
  auto s = ParseMessageSchema(doc, "s.json");
  ASSERT_TRUE(s.ok()) << s.status().ToString();
  std::map<std::string, std::string> types;
  for (const auto& [name, type] : s->columns) types[name] = type->ToString();
  EXPECT_EQ(types, (std::map<std::string, std::string>{{"id", "int64"},
                                                       {"ts", "timestamp[us, tz=UTC]"},
                                                       {"day", "date32[day]"},
                                                       {"kind", "string"},
                                                       {"amount", "double"},
                                                       {"ok", "bool"},
                                                       {"ctx", "string"},
                                                       {"tags", "string"}}));
  EXPECT_EQ(s->required, (std::vector<std::string>{"id", "kind"}));
  EXPECT_TRUE(s->closed);
  EXPECT_EQ(s->enums.at("kind"), (std::set<std::string>{"view", "click"}));
}

TEST(MessageSchema, WhatItCannotCheckIsRefusedByName) {
  struct Case {
    const char* doc;
    const char* expected;
  } cases[] = {
      {R"({"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}}})",
       "keyword 'minimum'"},
      {R"({"type": "object", "properties": {"s": {"type": "string", "pattern": "^a"}}})",
       "keyword 'pattern'"},
      {R"({"type": "object", "properties": {"a": {"type": "string"}}, "oneOf": []})",
       "keyword 'oneOf'"},
      {R"({"type": "object", "properties": {"a": {"$ref": "#/x"}}})",
       "'type' must name one type"},
      {R"({"type": "object", "properties": {"a": {"type": ["string", "integer"]}}})",
       "'type' must name one type"},
      {R"({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["b"]})",
       "not among the properties"},
      {R"({"type": "array"})", "must describe an object"},
      {R"({"type": "object"})", "no 'properties'"},
      {R"({"type": "object", "properties": {"a": {"type": "integer", "enum": [1]}}})",
       "keyword 'enum'"},
  };
  for (const auto& c : cases) {
    auto s = ParseMessageSchema(Json::parse(c.doc), "s.json");
    ASSERT_FALSE(s.ok()) << c.doc;
    EXPECT_NE(s.status().message().find(c.expected), std::string::npos)
        << s.status().message();
    EXPECT_NE(s.status().message().find("s.json"), std::string::npos)
        << s.status().message();
  }
}

}  // namespace
}  // namespace inlet
