// `inlet stream`: a pipeline with an unbounded source (source/stream_source.h) kept in
// its table, exactly once. Each commit records, in the table, the last offset of every
// partition it covers (the number of the source's position app for it); on start and on
// every rebalance the source resumes from the offsets the table holds, so what the table
// has is never read twice and what it lacks is read again. The rows are committed through
// the pipelines' one commit path (load/commit.h), as the pipeline's strategy says. The
// public entry is inlet/pipeline.h's RunStream.
#pragma once

#include <arrow/result.h>

#include "inlet/pipeline.h"
#include "inlet/pipeline/config.h"

namespace inlet::stream {

/// Runs a pipeline whose source streams until stopped, committing batches as the
/// pipeline's processing settings say. On SIGINT/SIGTERM (or options.stop, or idle exit)
/// it commits what it holds and returns. A failure (the table cannot be written, a
/// message cannot be decoded and there is no dead-letter table) returns the error after
/// committing nothing more.
arrow::Result<StreamReport> RunStream(const pipeline::PipelineConfig& config,
                                      const StreamOptions& options);

/// Whether SIGINT or SIGTERM came since a stream started (every stream stops then).
bool Signalled();

}  // namespace inlet::stream
