// Iceberg schemas (spec "Schemas and Data Types", Appendix C JSON) and their Arrow form.
// Every Arrow field carries its Iceberg field id as the metadata key "PARQUET:field_id",
// which Arrow's Parquet writer stores in the file schema and the scan matches columns by
// (list elements, map keys and values included).
#pragma once

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "inlet/common/json.h"

namespace inlet::iceberg {

inline constexpr char kFieldIdKey[] = "PARQUET:field_id";

struct Schema {
  int32_t schema_id = 0;
  /// Top-level and nested fields with field ids; required fields are not nullable.
  std::shared_ptr<arrow::Schema> arrow_schema;
  std::vector<int32_t> identifier_field_ids;
};

/// A field's id, when it carries one.
std::optional<int32_t> FieldId(const arrow::Field& field);
/// `f` carrying the field id `id`.
std::shared_ptr<arrow::Field> WithId(std::shared_ptr<arrow::Field> f, int32_t id);

/// Parses a schema object (`{"type":"struct","schema-id":..,"fields":[..]}`). Unknown or
/// unsupported types give Invalid naming the field.
arrow::Result<Schema> ParseSchema(const Json& json);

/// The JSON of a schema whose fields all carry ids.
arrow::Result<Json> SchemaToJson(const Schema& schema);

/// The Iceberg name of a type ("long", "decimal(10, 2)", "timestamptz", "struct").
std::string TypeName(const arrow::DataType& type);

/// Maps an input type to the Arrow type Iceberg stores (as Delta's writer does: large or
/// view strings to string, unsigned to the next signed width, timestamps to
/// microseconds (nanoseconds are a format-version 3 type), dictionaries to their values).
/// Fails with TypeError naming `column` for a type Iceberg cannot store.
arrow::Result<std::shared_ptr<arrow::DataType>> ToIcebergCompatible(
    const std::shared_ptr<arrow::DataType>& type, const std::string& column);

/// The input schema made Iceberg-compatible, with fresh field ids after *last_column_id
/// (which it advances): each struct's fields first, then their children, as Java's
/// TypeUtil.assignFreshIds does.
arrow::Result<std::shared_ptr<arrow::Schema>> AssignFreshIds(const arrow::Schema& input,
                                                             int32_t* last_column_id);

/// The highest field id in the schema (0 for none).
int32_t HighestFieldId(const arrow::Schema& schema);

/// Finds a field by id, anywhere in the schema; null when absent. `path` (if given)
/// receives the dotted names leading to it.
std::shared_ptr<arrow::Field> FindFieldById(const arrow::Schema& schema, int32_t id,
                                            std::string* path = nullptr);

}  // namespace inlet::iceberg
