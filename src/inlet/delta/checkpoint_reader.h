// Reading checkpoints: classic and multi-part Parquet files, and V2 checkpoints (JSON or
// Parquet) with their sidecar files.
#pragma once

#include <arrow/result.h>

#include "inlet/delta/actions.h"
#include "inlet/delta/log_segment.h"
#include "inlet/storage/table_store.h"

namespace inlet::delta {

/// The actions a checkpoint holds (sidecars resolved), remove tombstones included (vacuum
/// keeps their files). Errors name the checkpoint file.
arrow::Result<ActionSet> ReadCheckpoint(const TableStore& store,
                                        const Checkpoint& checkpoint);

}  // namespace inlet::delta
