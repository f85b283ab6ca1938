// Avro object container files, as Iceberg's manifests and manifest lists are written
// (https://avro.apache.org/docs/1.11.1/specification/). Hand-written, and small on
// purpose: the Avro C++ library drops or rejects the attributes Iceberg puts in schemas
// (field-id, element-id; AVRO-4026, AVRO-4351), and Iceberg needs only a schema-driven
// encoder and decoder of generic values, the null, deflate and snappy codecs, and the
// file's key-value metadata (docs/formats.md says why and what is covered).
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

namespace inlet::iceberg::avro {

enum class Kind {
  kNull,
  kBoolean,
  kInt,
  kLong,
  kFloat,
  kDouble,
  kBytes,
  kString,
  kFixed,
  kEnum,
  kRecord,
  kArray,
  kMap,
  kUnion
};

struct Node;
using NodePtr = std::shared_ptr<const Node>;

struct Field {
  std::string name;
  NodePtr node;
  /// Iceberg's "field-id" attribute.
  std::optional<int32_t> field_id;
};

/// One node of a parsed schema.
struct Node {
  Kind kind = Kind::kNull;
  /// Records, enums and fixed: the (full) name.
  std::string name;
  /// The logicalType attribute ("date", "map", "decimal", ...), or empty.
  std::string logical_type;
  std::vector<Field> fields;         // record
  NodePtr items;                     // array items, map values
  std::vector<NodePtr> branches;     // union
  std::vector<std::string> symbols;  // enum
  int64_t size = 0;                  // fixed
  /// Arrays: Iceberg's "element-id" attribute.
  std::optional<int32_t> element_id;

  /// The index of a record's field by name, or -1.
  int FieldIndex(std::string_view field_name) const;
};

/// Parses a schema (JSON text). Named types may be referenced after their definition.
arrow::Result<NodePtr> ParseSchema(const std::string& json);

/// A decoded value. Unions decode to the value of their branch (null to monostate);
/// int, long and enum (the symbol's index) are int64; float and double are double;
/// string, bytes and fixed are std::string; records are their fields' values in schema
/// order, arrays their items; maps are key-value pairs in file order.
struct Value {
  using Items = std::vector<Value>;
  using Entries = std::vector<std::pair<std::string, Value>>;
  std::variant<std::monostate, bool, int64_t, double, std::string, Items, Entries> data;

  Value() = default;
  Value(bool b) : data(b) {}                    // NOLINT: implicit, for building records
  Value(int32_t i) : data(int64_t{i}) {}        // NOLINT
  Value(int64_t i) : data(i) {}                 // NOLINT
  Value(double d) : data(d) {}                  // NOLINT
  Value(std::string s) : data(std::move(s)) {}  // NOLINT
  Value(const char* s) : data(std::string(s)) {}  // NOLINT
  Value(Items items) : data(std::move(items)) {}  // NOLINT

  friend bool operator==(const Value& a, const Value& b) { return a.data == b.data; }

  bool is_null() const { return data.index() == 0; }
  /// The typed views; defaults when the value holds another kind.
  int64_t AsInt(int64_t fallback = 0) const;
  double AsDouble(double fallback = 0) const;
  bool AsBool(bool fallback = false) const;
  const std::string& AsString() const;
  const Items& AsItems() const;
};

/// A container file's content.
struct ContainerFile {
  NodePtr schema;
  /// The schema as the file's metadata holds it.
  std::string schema_json;
  /// The file's key-value metadata (avro.schema and avro.codec included).
  std::map<std::string, std::string> metadata;
  std::vector<Value> records;
};

/// Reads a whole container file. Errors name `what` (the file) and the byte offset.
arrow::Result<ContainerFile> ReadContainer(std::string_view bytes,
                                           const std::string& what);

enum class Codec { kNull, kDeflate };

/// Writes a container file: the header (schema, codec, metadata), then records in blocks.
class ContainerWriter {
 public:
  /// schema_json is written verbatim as avro.schema (Iceberg readers want its
  /// attributes); it must parse (ParseSchema).
  static arrow::Result<std::unique_ptr<ContainerWriter>> Make(
      const std::string& schema_json, std::map<std::string, std::string> metadata,
      Codec codec = Codec::kDeflate);

  /// Appends a record; Invalid when it does not fit the schema (naming the field).
  arrow::Status Append(const Value& record);
  /// The whole file.
  arrow::Result<std::string> Finish();

 private:
  ContainerWriter() = default;
  arrow::Status FlushBlock();

  NodePtr schema_;
  Codec codec_ = Codec::kDeflate;
  std::string out_;
  std::string block_;
  int64_t block_count_ = 0;
  std::string sync_;
};

}  // namespace inlet::iceberg::avro
