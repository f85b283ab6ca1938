// Writing scan results: CSV with a header, NDJSON, or Parquet, to a file or stdout.
#pragma once

#include <memory>
#include <string>

#include <arrow/record_batch.h>
#include <arrow/result.h>

namespace inlet::cli {

/// Drains reader into path ("" or "-" for stdout) in format csv|ndjson|parquet.
/// Returns the number of rows written.
arrow::Result<int64_t> WriteOutput(arrow::RecordBatchReader* reader, const std::string& path,
                                   const std::string& format);

}  // namespace inlet::cli
