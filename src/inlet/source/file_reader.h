// Reading input files (CSV, JSON arrays, NDJSON, Parquet) as one stream of batches: the
// functions of inlet/io.h, and Debezium event files.
#pragma once

#include <arrow/buffer.h>
#include <arrow/csv/options.h>
#include <arrow/io/interfaces.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/table.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "inlet/io.h"  // OpenInputFiles, ReadInputFiles, FormatFromExtension
#include "inlet/source/debezium.h"
#include "inlet/source/json_reader.h"

namespace inlet {

/// Opens one file of Debezium change events (see DecodeDebeziumFile); errors name the
/// file.
/// A text file's bytes, decompressed when it is gzip or zstd (by its first bytes; a name
/// ending .gz/.zst whose bytes are neither is Invalid).
arrow::Result<std::shared_ptr<arrow::io::InputStream>> OpenTextInput(
    const std::string& path);
/// raw (the bytes of the file at path, or a part of them) decompressed when the file is.
arrow::Result<std::shared_ptr<arrow::io::InputStream>> Decompressed(
    const std::string& path, std::shared_ptr<arrow::io::InputStream> raw);
arrow::Result<bool> IsCompressed(const std::string& path);
/// The same for a file opened elsewhere (on object storage): path names it.
arrow::Result<std::shared_ptr<arrow::io::InputStream>> Decompressed(
    const std::string& path, arrow::io::RandomAccessFile& file,
    std::shared_ptr<arrow::io::InputStream> raw);
arrow::Result<bool> IsCompressed(const std::string& path,
                                 arrow::io::RandomAccessFile& file);
/// The rest of a stream, in one buffer.
arrow::Result<std::shared_ptr<arrow::Buffer>> ReadAll(arrow::io::InputStream& input);

/// Arrow's CSV options for CsvOptions and a file (a .tsv file's delimiter is a tab).
struct CsvSettings {
  arrow::csv::ReadOptions read;
  arrow::csv::ParseOptions parse;
  arrow::csv::ConvertOptions convert;
};
CsvSettings CsvSettingsFor(const CsvOptions& csv, const std::string& path);
/// Whether an error of Arrow's CSV reader is a row with the wrong number of fields.
bool FieldCountError(const arrow::Status& st);
/// Where the first row of a local CSV file with the wrong number of fields is: "row N
/// (the header counted): expected E fields, got A", found by reading the file again
/// serially (Arrow knows a row's number only then, and the fast path parses blocks in
/// parallel); empty when no row is found so. For messages: an error path.
std::string LocateCsvRow(const std::string& path, CsvSettings settings);

/// Where row i of what was read is, for messages: a line of a CSV or NDJSON file (the
/// first row read is on first_line), a row otherwise.
std::string Place(const std::string& format, int64_t first_line, int64_t i);

/// Converts a column to its declared type (text timestamps in any RFC 3339 form); a value
/// that does not fit is Invalid naming the file, its place and the column.
arrow::Result<std::shared_ptr<arrow::ChunkedArray>> ConvertColumn(
    const std::shared_ptr<arrow::ChunkedArray>& column,
    const std::shared_ptr<arrow::DataType>& type, const std::string& file,
    const std::string& format, int64_t first_line, const std::string& name);

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenDebeziumFile(
    const std::string& path, const DebeziumOptions& options);

}  // namespace inlet
