// What the endpoint of `inlet serve` answers, made from the service's status: metrics in
// the Prometheus text format (version 0.0.4), the pipelines and their runs as JSON, and
// a status page for a person.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "inlet/serve/service.h"

namespace inlet::serve {

/// Every pipeline's counters and gauges (docs/operations.md lists them), then the
/// streams' (PrometheusText).
std::string MetricsText(const std::vector<PipelineStatus>& pipelines, int64_t started_ms);

/// [{"name", "kind", "table", "strategy", "schedule", "state", "next_run",
///   "last_run": {...}, "last_success", "totals": {...}, "stream": {...}}, ...]
std::string PipelinesJson(const std::vector<PipelineStatus>& pipelines);

/// {"runs": [...]}: the last `limit` runs (0: all kept) of one pipeline (empty: of every
/// one), newest first, each {"pipeline", "trigger", "attempt", "started", "finished",
/// "report": <the run report>}.
std::string RunsJson(const std::vector<PipelineStatus>& pipelines,
                     const std::string& pipeline, size_t limit);

/// The status page: each pipeline's state, schedule and last runs, rows written per run
/// as a small chart, and failures with their error. Self-contained HTML (no script).
std::string StatusPage(const std::vector<PipelineStatus>& pipelines, int64_t started_ms);

}  // namespace inlet::serve
