// `inlet stream`: a pipeline with an unbounded source (source/stream_source.h) kept in
// its table, exactly once. Each commit records, in the table, the last offset of every
// partition it covers (the number of the source's position app for it); on start and on
// every rebalance the source resumes from the offsets the table holds, so what the table
// has is never read twice and what it lacks is read again. The rows are committed through
// the pipelines' one commit path (load/commit.h), as the pipeline's strategy says. The
// public entry is inlet/pipeline.h's RunStream.
#pragma once

#include <arrow/result.h>

#include "inlet/load/commit.h"
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

/// What every stream's commit carries beside its positions: the destination's layout
/// (for the commit that creates the table), schema merging, the version its decisions
/// read, and the streaming operation names with parameters.
load::CommitSpec StreamCommitSpec(const pipeline::DestinationConfig& destination,
                                  int64_t read_version,
                                  std::map<std::string, std::string> parameters);

/// Counts a committed merge's rows in report (inserted, updated, deleted, late, written).
void CountMerge(const MergeResult& merged, StreamReport* report);

/// destination.maintenance after a stream's commit to table, `commits` counting as runs
/// (optimize every N-th, ...). A failure is reported on stderr, naming the pipeline and
/// the table, and counted; the stream goes on: its data is committed.
void MaintainAfterCommit(const std::string& pipeline,
                         const pipeline::DestinationConfig& destination, Table& table,
                         int64_t commits, StreamReport* report);

}  // namespace inlet::stream
