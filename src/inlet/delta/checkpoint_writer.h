// Writing classic single-file Parquet checkpoints and the _last_checkpoint hint.
#pragma once

#include <arrow/status.h>

#include "inlet/delta/log_replay.h"
#include "inlet/storage/log_store.h"

namespace inlet::delta {

/// Writes <version>.checkpoint.parquet for state and then _last_checkpoint. Safe to race
/// with another writer of the same checkpoint (same content; each file is replaced
/// atomically).
arrow::Status WriteCheckpoint(const TableStore& store, const TableState& state);

}  // namespace inlet::delta
