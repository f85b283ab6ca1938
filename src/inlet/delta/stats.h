// Per-file statistics (PROTOCOL.md "Per-file Statistics"): collected while writing, read
// back for file skipping.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include "inlet/common/json.h"
#include "inlet/table/value.h"

namespace inlet::delta {

/// Gathers numRecords, minValues, maxValues and nullCount for the first
/// `num_indexed_cols` leaf columns (negative: all) of the batches written to one file.
/// Strings are bounded by 32-character prefixes (the max bound made an upper bound
/// again); timestamps by milliseconds rounded outwards; booleans and binary get counts only.
class StatsCollector {
 public:
  StatsCollector(std::shared_ptr<arrow::Schema> schema, int num_indexed_cols);

  arrow::Status Update(const arrow::RecordBatch& batch);
  /// The stats JSON string for an add action.
  std::string ToJson() const;
  int64_t num_records() const { return num_records_; }

 private:
  struct Leaf {
    std::vector<std::string> path;  // names from the top-level column down
    std::vector<int> indexes;       // child indexes along the path
    std::shared_ptr<arrow::DataType> type;
    bool min_max;  // whether min/max are collected for this type
    std::shared_ptr<arrow::Scalar> min, max;
    bool bounds_valid = true;  // false once a batch had unusable bounds (NaN)
    int64_t null_count = 0;
  };

  std::shared_ptr<arrow::Schema> schema_;
  std::vector<Leaf> leaves_;
  int64_t num_records_ = 0;
};

/// Reads the statistics of one column (physical path) from a file's stats JSON, as
/// scalars of `type`; bounds whose encoding is lossy for the type are left unknown.
ColumnStats ReadColumnStats(const Json& stats, const std::vector<std::string>& path,
                            const std::shared_ptr<arrow::DataType>& type);

}  // namespace inlet::delta
