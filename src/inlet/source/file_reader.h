// Reading input files (CSV, JSON arrays, NDJSON, Parquet) as one stream of batches: the
// functions of inlet/io.h, and Debezium event files.
#pragma once

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
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenDebeziumFile(
    const std::string& path, const DebeziumOptions& options);

}  // namespace inlet
