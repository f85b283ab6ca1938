// The JSON Schema of a topic's messages (source.schema_file): the columns and types it
// declares, and the checks it asks for, as inlet applies them to each message.
#pragma once

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "inlet/common/json.h"

namespace inlet {

/// What a JSON Schema (draft 4 to 2020-12) says about a message, for the keywords inlet
/// applies: a top-level "type": "object" with "properties", each with "type" (one, or one
/// and "null"), "format" (date-time, date), "enum" (of strings), plus "required" and
/// "additionalProperties": false. Nested objects and arrays become JSON text columns;
/// their own keywords are not checked. Annotations (title, description, $schema, $id,
/// examples, default, ...) are ignored.
struct MessageSchema {
  std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>> columns;
  std::vector<std::string> required;
  /// additionalProperties: false: a field the schema does not list is refused.
  bool closed = false;
  std::map<std::string, std::set<std::string>> enums;
};

/// Reads a schema document. A keyword inlet would have to check but does not (pattern,
/// minimum, oneOf, $ref, ...) is Invalid, naming it and `what` (the file): a schema is
/// never half applied in silence.
arrow::Result<MessageSchema> ParseMessageSchema(const Json& doc, const std::string& what);

/// ParseMessageSchema of a file's JSON text.
arrow::Result<MessageSchema> ReadMessageSchema(const std::string& path);

}  // namespace inlet
