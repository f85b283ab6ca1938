// Reading ahead: decode the next batches of a source on a background thread while the
// caller works on the current one (input decoding overlaps Parquet encoding on writes).
#pragma once

#include <arrow/record_batch.h>

#include <memory>

namespace inlet {

/// Wraps source so that up to `depth` batches are read ahead on one background thread.
/// Errors from the source are returned, in order, by ReadNext. The wrapper owns source;
/// destroying it stops and joins the thread.
std::shared_ptr<arrow::RecordBatchReader> Prefetch(
    std::shared_ptr<arrow::RecordBatchReader> source, int depth = 2);

}  // namespace inlet
