// Data files in and out: reading CSV, JSON arrays, NDJSON and Parquet as Arrow data (what
// `inlet write` and `inlet merge` take as input), and writing rows as CSV, NDJSON or
// Parquet (what `inlet scan` and `inlet changes` print).
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/table.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace inlet {

/// "csv", "json", "ndjson" or "parquet" from a file name's extension, in any case, after
/// a compression suffix (.gz, .zst, .zstd); ".tsv" is csv. Empty if unknown.
std::string FormatFromExtension(const std::string& path);

/// How CSV text is split and what in it is null.
struct CsvOptions {
  /// The field delimiter; unset: a tab for .tsv files, else a comma.
  std::optional<char> delimiter;
  /// Whether the first line names the columns; without one they are f0, f1, ...
  bool header = true;
  char quote = '"';
  /// An escape character inside quoted values; unset: quotes are doubled instead.
  std::optional<char> escape;
  /// Values read as null, in text columns too; unset: Arrow's defaults ("", "NULL",
  /// "null", "NaN", "N/A", ...) outside text columns.
  std::optional<std::vector<std::string>> null_values;
};

/// Declared column types (column -> type), in declaration order.
using DeclaredColumns =
    std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>>;

/// "id:long, price:decimal(10,2), at:timestamp", or "@FILE" for a file holding one
/// "column: type" per line. Invalid names the column of an unknown type.
arrow::Result<DeclaredColumns> ParseColumnTypes(const std::string& spec);

/// Opens files in order as one reader. format may be empty to use each file's extension.
/// Text files compressed with gzip or zstd (by extension or magic bytes) are read
/// decompressed. Every file must have the schema of the first (after type inference); a
/// file that does not fails naming it. Parse errors name the file. Declared columns take
/// their types (from CSV text too: "7.25" into decimal(10,2)); a value that does not fit
/// fails naming the file, line and column; a declared column a file lacks is null.
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenInputFiles(
    const std::vector<std::string>& paths, const std::string& format,
    const CsvOptions& csv = {}, const DeclaredColumns& declared = {});

/// Reads files in order into one table, with OpenInputFiles' checks and errors. Parquet
/// files are read whole (faster than a batch at a time), for callers that hold every row
/// anyway, such as a merge.
arrow::Result<std::shared_ptr<arrow::Table>> ReadInputFiles(
    const std::vector<std::string>& paths, const std::string& format,
    const CsvOptions& csv = {}, const DeclaredColumns& declared = {});

/// Drains reader into path ("" or "-" for standard output, a pipe included) as csv (with
/// a header), ndjson or parquet. A file is written under a temporary name and renamed on
/// success: a failed write leaves no partial file (and an existing one as it was).
/// Returns the number of rows written. Invalid for another format.
arrow::Result<int64_t> WriteRecords(arrow::RecordBatchReader* reader,
                                    const std::string& path, const std::string& format);

}  // namespace inlet
