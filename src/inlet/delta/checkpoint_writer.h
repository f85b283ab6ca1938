// Writing classic single-file Parquet checkpoints and the _last_checkpoint hint.
#pragma once

#include <arrow/status.h>

#include "inlet/delta/log_replay.h"
#include "inlet/storage/table_store.h"

namespace inlet::delta {

/// Writes <version>.checkpoint.parquet for state (its live files, and the removes that
/// have not expired under delta.deletedFileRetentionDuration) and then _last_checkpoint.
/// Safe to race with another writer of the same checkpoint (each file is replaced
/// atomically). Returns the checkpoint's size in bytes.
arrow::Result<int64_t> WriteCheckpoint(const TableStore& store, const TableState& state);

}  // namespace inlet::delta
