// Data files in and out: reading CSV, JSON arrays, NDJSON and Parquet as Arrow data (what
// `inlet write` and `inlet merge` take as input), and writing rows as CSV, NDJSON or
// Parquet (what `inlet scan` and `inlet changes` print).
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/table.h>

#include <memory>
#include <string>
#include <vector>

namespace inlet {

/// "csv", "json", "ndjson" or "parquet" from a file name's extension; empty if unknown.
std::string FormatFromExtension(const std::string& path);

/// Opens files in order as one reader. format may be empty to use each file's extension.
/// Every file must have the schema of the first (after type inference); a file that
/// does not fails naming it. Parse errors name the file.
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenInputFiles(
    const std::vector<std::string>& paths, const std::string& format);

/// Reads files in order into one table, with OpenInputFiles' checks and errors. Parquet
/// files are read whole (faster than a batch at a time), for callers that hold every row
/// anyway, such as a merge.
arrow::Result<std::shared_ptr<arrow::Table>> ReadInputFiles(
    const std::vector<std::string>& paths, const std::string& format);

/// Drains reader into path ("" or "-" for standard output, a pipe included) as csv (with
/// a header), ndjson or parquet. A file is written under a temporary name and renamed on
/// success: a failed write leaves no partial file (and an existing one as it was).
/// Returns the number of rows written. Invalid for another format.
arrow::Result<int64_t> WriteRecords(arrow::RecordBatchReader* reader,
                                    const std::string& path, const std::string& format);

}  // namespace inlet
