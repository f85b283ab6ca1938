// Statistics of a written data file, taken from its Parquet footer: what every table
// format records for file skipping, each in its own encoding (Delta Lake: the stats JSON
// of an add action, delta/stats.h).
#pragma once

#include <arrow/scalar.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace parquet {
class FileMetaData;
}  // namespace parquet

namespace inlet {

/// One leaf column of a file.
struct LeafStatistics {
  /// The leaf's path in the file (struct fields nest).
  std::vector<std::string> path;
  /// The Parquet field id of the leaf; -1 when the file has none.
  int32_t field_id = -1;
  /// The leaf's Arrow type in the file's schema.
  std::shared_ptr<arrow::DataType> type;
  /// Nulls in the leaf; nullopt when a row group does not count them.
  std::optional<int64_t> null_count;
  /// Exact bounds over the file's non-null values; both null when unknown (a row group
  /// without them, a type whose Parquet bounds do not convert, every value null).
  std::shared_ptr<arrow::Scalar> min;
  std::shared_ptr<arrow::Scalar> max;
  /// The leaf's bytes in the file, compressed, over every row group (Iceberg's
  /// column_sizes).
  int64_t compressed_bytes = 0;
};

struct FileStatistics {
  int64_t num_records = 0;
  /// The first num_indexed_cols leaves of the schema (all when negative), in schema
  /// order; leaves inside lists and maps have no entry.
  std::vector<LeafStatistics> columns;
};

/// The statistics the Parquet writer kept in a file's footer, for the leaves of `schema`
/// (the file's Arrow schema). Empty row groups bound nothing.
FileStatistics StatisticsFromParquet(const parquet::FileMetaData& metadata,
                                     const arrow::Schema& schema, int num_indexed_cols);

}  // namespace inlet
