// Per-file statistics (PROTOCOL.md "Per-file Statistics"): collected while writing, read
// back for file skipping.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <parquet/metadata.h>

#include "inlet/common/json.h"
#include "inlet/table/value.h"

namespace inlet::delta {

/// The stats JSON string of an add action, from the statistics the Parquet writer kept in
/// the file footer: numRecords, and minValues/maxValues/nullCount for the first
/// `num_indexed_cols` leaf columns (negative: all) of `schema` (the file's columns).
/// Strings are bounded by 32-character prefixes (a truncated max stays an upper bound);
/// timestamps by milliseconds rounded outwards; booleans and binary get counts only; a
/// column with a row group whose bounds are unknown gets no bounds.
std::string StatsFromParquet(const parquet::FileMetaData& metadata, const arrow::Schema& schema,
                             int num_indexed_cols);

/// Reads the statistics of one column (physical path) from a file's stats JSON, as
/// scalars of `type`; bounds whose encoding is lossy for the type are left unknown.
ColumnStats ReadColumnStats(const Json& stats, const std::vector<std::string>& path,
                            const std::shared_ptr<arrow::DataType>& type);

}  // namespace inlet::delta
