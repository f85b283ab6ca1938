// Delta schemas (Spark StructType JSON) and their Arrow form, with the column-mapping
// information that ties logical names to the names and ids in the Parquet files.
#pragma once

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "inlet/common/json.h"

namespace inlet::delta {

enum class ColumnMappingMode { kNone, kName, kId };

/// Per-field facts that the Arrow schema does not carry. Children follow the type:
/// struct fields in order; a list has one child (element); a map has two (key, value).
struct ColumnInfo {
  std::string name;
  std::string physical_name;  // equals name without column mapping
  std::optional<int64_t> field_id;
  Json metadata = Json::object();
  std::vector<ColumnInfo> children;
};

struct DeltaSchema {
  std::shared_ptr<arrow::Schema> arrow_schema;  // logical names, no metadata
  std::vector<ColumnInfo> columns;              // parallel to arrow_schema's fields

  /// Index of a top-level column by name (case-insensitive, as Delta requires unique
  /// names ignoring case), or -1.
  int FindColumn(const std::string& name) const;
};

/// Parses metaData.schemaString. Unknown types give Invalid naming the field and type.
arrow::Result<DeltaSchema> ParseDeltaSchema(const std::string& schema_string);

/// The schemaString for an Arrow schema whose types are already Delta types (see
/// ToDeltaCompatible). Field metadata carried in `columns` is written back.
arrow::Result<std::string> SerializeDeltaSchema(const arrow::Schema& schema);

/// Maps an input type to the Arrow type Delta stores: large/view strings to string,
/// timestamps to microseconds, unsigned to the next signed width, dictionaries to their
/// values. Fails with TypeError naming `column` for a type Delta cannot store.
arrow::Result<std::shared_ptr<arrow::DataType>> ToDeltaCompatible(
    const std::shared_ptr<arrow::DataType>& type, const std::string& column);
arrow::Result<std::shared_ptr<arrow::Schema>> ToDeltaCompatible(
    const arrow::Schema& schema);

/// The Delta type name of a primitive Arrow type ("long", "decimal(10,2)", ...), used in
/// messages and `inlet info`.
std::string DeltaTypeName(const arrow::DataType& type);

/// True when a value of type `from` may be written into a column of type `to` without
/// loss (identity or a widening the protocol allows).
bool IsSafeWidening(const arrow::DataType& from, const arrow::DataType& to);

}  // namespace inlet::delta
