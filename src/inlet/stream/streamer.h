// `inlet stream`: a Kafka topic kept in a Delta table, exactly once. Each commit records,
// in the table, the last offset of every partition it covers (a txn action per topic
// partition, version = offset); on start and on every rebalance the consumer seeks to the
// offsets the table holds, so what the table has is never read twice and what it lacks is
// read again.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include <arrow/result.h>

#include "inlet/common/json.h"
#include "inlet/pipeline/config.h"

namespace inlet::stream {

struct StreamOptions {
  /// Stop (after a last flush) once no message has arrived for this long; 0: run until
  /// SIGINT or SIGTERM.
  int64_t idle_exit_ms = 0;
  /// Set to stop the stream from another thread (the signal handlers set it too).
  std::atomic<bool>* stop = nullptr;
  /// Called from the stream's thread with its report so far (status "running"), about
  /// every progress_interval_ms: for metrics while it runs.
  std::function<void(const struct StreamReport&)> on_progress;
  int64_t progress_interval_ms = 1000;
};

struct StreamReport {
  std::string pipeline;
  std::string table;
  std::string topic;
  int64_t messages = 0;           // consumed (including dead letters and skipped ones)
  int64_t rows_written = 0;       // committed to the table
  int64_t dead_letters = 0;       // committed to the dead-letter table
  int64_t skipped = 0;            // already in the table (read again after a rebalance)
  int64_t tombstones = 0;         // null messages of a change stream (nothing to apply)
  // merge and cdc: how the written rows split, and changes older than the table's (cdc).
  int64_t rows_inserted = 0;
  int64_t rows_updated = 0;
  int64_t rows_deleted = 0;
  int64_t rows_late = 0;
  int64_t commits = 0;
  int64_t batches_discarded = 0;  // lost to another consumer that committed them first
  int64_t rebalances = 0;
  int64_t table_version = -1;
  // destination.maintenance after commits (optimize, vacuum, checkpoint) that did something,
  // and that failed (reported on stderr; the stream goes on).
  int64_t maintenance_runs = 0;
  int64_t maintenance_failures = 0;
  int64_t duration_ms = 0;
  // Where the time went: waiting for messages, decoding them, writing and committing.
  int64_t wait_ms = 0;
  int64_t decode_ms = 0;
  int64_t commit_ms = 0;
  /// Messages in each assigned partition after the table's offset (from the broker's last
  /// fetch response; while running).
  std::map<int32_t, int64_t> lag;
  std::string status;  // stopped | idle | failed
  std::string error;
  Json ToJson() const;
};

/// The txn application id under which a table records a topic partition's last offset.
std::string OffsetAppId(const std::string& topic, int32_t partition);

/// Runs a pipeline whose source is kafka until stopped, committing batches as the
/// pipeline's processing settings say. On SIGINT/SIGTERM (or options.stop, or idle exit) it
/// commits what it holds and returns. A failure (the table cannot be written, a message
/// cannot be decoded and there is no dead-letter table) returns the error after
/// committing nothing more.
arrow::Result<StreamReport> RunStream(const pipeline::PipelineConfig& config, const StreamOptions& options);

}  // namespace inlet::stream
