// `inlet serve`: the pipelines of a file run as a service (docs/operations.md, "Running
// as a service"): bounded pipelines on their schedules, streams continuously, and an
// HTTP endpoint with metrics, health, run history and a status page.
#pragma once

#include <arrow/status.h>

#include <cstddef>
#include <functional>
#include <string>

#include "inlet/pipeline.h"

namespace inlet {

struct ServeOptions {
  /// Where the endpoint listens: host:port (port 0: any free port). Loopback by default.
  std::string listen = "127.0.0.1:8787";
  /// Non-empty: the endpoint wants "Authorization: Bearer <token>" (but on /health and
  /// /ready). Never logged.
  std::string token;
  /// Run reports kept per pipeline (the API's history and the status page's chart).
  size_t history = 50;
  /// Runs of different pipelines going at once (runs of one pipeline never overlap).
  size_t max_concurrent_runs = 2;
  /// Called once listening, with the endpoint's address (http://host:port).
  std::function<void(const std::string& address)> on_listening;
  /// Called after each run with its report (from the run's thread).
  std::function<void(const RunReport& report)> on_run;
};

/// Serves the pipelines of a pipeline file until SIGINT or SIGTERM. Then no run starts,
/// the runs under way finish (a second signal abandons them: their tables are as before
/// them), streams commit what they hold and stop, and Serve returns OK. Fails before
/// serving when the file is invalid or the address cannot be bound.
arrow::Status Serve(const std::string& file, const ServeOptions& options);

}  // namespace inlet
