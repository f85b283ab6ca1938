// Choosing the files a scan must read: partition values and min/max/null statistics
// against the scan's predicates.
#pragma once

#include <arrow/result.h>

#include <vector>

#include "inlet/delta/log_replay.h"
#include "inlet/delta/schema.h"
#include "inlet/table/value.h"

namespace inlet::delta {

/// The live files that may hold rows satisfying every predicate, in state order. A file
/// whose partition values or statistics cannot be interpreted is kept.
arrow::Result<std::vector<const AddFile*>> SelectFiles(
    const TableState& state, const DeltaSchema& schema,
    const std::vector<BoundPredicate>& preds);

}  // namespace inlet::delta
