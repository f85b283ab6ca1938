// Streams' counters in the Prometheus text format, for node_exporter's textfile collector
// or any scraper that reads a file (inlet stream --metrics-file).
#pragma once

#include <string>
#include <vector>

#include <arrow/status.h>

#include "inlet/stream/streamer.h"

namespace inlet::stream {

/// The reports as Prometheus text (version 0.0.4): counters inlet_stream_messages_total,
/// _rows_written_total, _dead_letters_total, _skipped_total, _tombstones_total,
/// _commits_total, _batches_discarded_total, _rebalances_total, _rows_late_total; gauges
/// inlet_stream_table_version, inlet_stream_running (1 while running) and
/// inlet_stream_lag_messages by partition. Labels: pipeline, topic (and partition).
std::string PrometheusText(const std::vector<StreamReport>& reports);

/// Writes text to path through a temporary file renamed over it: a reader never sees half.
arrow::Status WriteFileAtomically(const std::string& path, const std::string& text);

}  // namespace inlet::stream
