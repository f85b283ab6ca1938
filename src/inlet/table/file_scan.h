// Reading a snapshot's Parquet data files as the table's logical rows, whatever the
// format: columns are found in each file by field id or by name, nested fields renamed
// and filled, narrower types widened, per-file constants (partition values) put in,
// deleted rows dropped, and the filter applied exactly. A format lists the files and
// says how its columns are stored (delta/scan.cc, iceberg/scan.cc).
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/scalar.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "inlet/storage/table_store.h"
#include "inlet/table/value.h"

namespace inlet::table {

/// How a logical field is stored in data files. Children follow the type: struct fields
/// in order; a list has one child (element); a map has two (key, value).
struct StoredField {
  std::string physical_name;
  std::optional<int64_t> field_id;
  std::vector<StoredField> children;
};

enum class MatchBy {
  /// The file field with the same physical name.
  kName,
  /// The file field with the same field id; files without ids by physical name.
  kFieldId,
};

struct ScanColumn {
  /// The logical field: name and type of the output.
  std::shared_ptr<arrow::Field> field;
  StoredField stored;
  /// The column's value is the same for a whole file (a Delta partition column) and
  /// comes from ScanFile::constants instead of the file.
  bool constant = false;
  /// A stored column whose nulls (every value, when the file lacks the column) are
  /// inherited from the file's constant (taken from ScanFile::constants in order with
  /// the constant columns), plus the row's position in the file when `plus_position`:
  /// Iceberg's row lineage (_row_id is the file's first_row_id plus the position,
  /// _last_updated_sequence_number its data sequence number). A null constant leaves
  /// them null. Only for int64 columns.
  bool inherited = false;
  bool plus_position = false;
};

struct ScanFile {
  /// The path in the store's file system; `name` for messages (defaults to the path).
  std::string path;
  std::string name;
  /// One per ScanColumn that is constant, in column order (null: a null value).
  std::vector<std::shared_ptr<arrow::Scalar>> constants;
  /// Positions of the file's deleted rows, ascending; unset when it has none. Called
  /// when the file is opened, so that they are loaded one file at a time.
  std::function<arrow::Result<std::vector<uint64_t>>()> deleted_rows;
};

/// Streams `files` in order: `columns` (the output columns, then the filter's other
/// columns), projected to `output`, rows failing `filter` dropped, at most `limit` rows
/// (negative: all). Errors name the data file.
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> ScanFiles(
    std::shared_ptr<const TableStore> store, std::vector<ScanFile> files,
    std::vector<ScanColumn> columns, std::shared_ptr<arrow::Schema> output,
    std::vector<BoundPredicate> filter, MatchBy match, int64_t limit, int64_t batch_size);

}  // namespace inlet::table
