// Reading the rows of a snapshot's files as Arrow record batches.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <memory>
#include <string>
#include <vector>

#include "inlet/delta/log_replay.h"
#include "inlet/delta/schema.h"
#include "inlet/storage/table_store.h"
#include "inlet/table.h"

namespace inlet::delta {

/// The path in store.fs() of a data file named as in the log (URI-encoded, relative to
/// the table root, or an absolute file: or s3:// URI).
std::string DataFilePath(const TableStore& store, const std::string& log_path);

/// Streams the rows of the snapshot's files that satisfy options.filter, with
/// options.columns (all when empty) in logical names: partition values materialised,
/// column mapping resolved, columns missing from older files filled with nulls, narrower
/// file types widened, deleted rows (deletion vectors) dropped. `state` must outlive the
/// reader. Errors name the data file.
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> ScanState(
    std::shared_ptr<const TableStore> store, std::shared_ptr<const TableState> state,
    std::shared_ptr<const DeltaSchema> schema, const ScanOptions& options);

}  // namespace inlet::delta
