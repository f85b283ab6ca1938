// Writing scan results: CSV with a header, NDJSON, or Parquet, to a file or stdout.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <arrow/record_batch.h>
#include <arrow/result.h>

namespace inlet::cli {

/// Drains reader into path ("" or "-" for stdout) in format csv|ndjson|parquet.
/// Returns the number of rows written.
arrow::Result<int64_t> WriteOutput(arrow::RecordBatchReader* reader, const std::string& path,
                                   const std::string& format);

/// "1.2 MiB": bytes for people (B, KiB, MiB, GiB, TiB; one decimal above bytes).
std::string FormatBytes(int64_t bytes);

/// Items separated by commas (spaces around each trimmed, empty items dropped).
std::vector<std::string> SplitList(const std::string& text);

}  // namespace inlet::cli
