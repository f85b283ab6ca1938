// Reading input files (CSV, JSON arrays, NDJSON, Parquet) as one stream of batches: the
// functions of inlet/io.h, and Debezium event files.
#pragma once

#include <arrow/buffer.h>
#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/table.h>

#include <memory>
#include <string>
#include <vector>

#include "inlet/io.h"  // OpenInputFiles, ReadInputFiles, FormatFromExtension
#include "inlet/source/debezium.h"

namespace inlet {

/// Opens one file of Debezium change events (see DecodeDebeziumFile); errors name the
/// file.
/// Where the first malformed JSON value of a file is ("line 7: malformed JSON"), lines
/// counted from 1; empty when there is none. Reads the file again: for error paths.
std::string LocateJsonError(const std::string& path, const std::string& format);

/// JSON text: an array of objects or one object per line (NDJSON). name is for messages.
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenJsonText(
    std::shared_ptr<arrow::Buffer> text, const std::string& name);

/// Debezium change events held in memory (see DecodeDebeziumFile).
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenDebeziumText(
    std::shared_ptr<arrow::Buffer> text, const std::string& name,
    const DebeziumOptions& options);

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenDebeziumFile(
    const std::string& path, const DebeziumOptions& options);

}  // namespace inlet
