// The alerts of `inlet serve`: incidents opened and closed from run and stream reports,
// each posted once to its webhooks when it starts and once when it ends, from a thread
// of its own, with retries. Messages come from reports, whose errors never hold secrets;
// a webhook's URL is never shown.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "inlet/common/mutex.h"
#include "inlet/pipeline.h"
#include "inlet/pipeline/config.h"

namespace inlet::serve {

class Alerts {
 public:
  /// For the pipelines (name -> table) of a service started at started_ms (no_new_data
  /// counts from then before a pipeline's first rows).
  Alerts(std::vector<pipeline::AlertConfig> configs,
         std::map<std::string, std::string> pipelines, int64_t started_ms);
  ~Alerts();

  /// A run ended: opens or closes run_failed, quality_gate, maintenance_failed, and
  /// closes no_new_data when it wrote rows.
  void OnRun(const RunReport& report);
  /// A stream reported: stream_failed (status failed) and stream_lag.
  void OnStream(const StreamReport& report);
  /// Checks no_new_data against the clock (the sender does, every second).
  void Tick(int64_t now_ms);
  /// Delivers what is queued (trying each once more at most), then stops.
  void Stop();

 private:
  struct Delivery {
    size_t alert;
    std::string body;
    std::string what;  // for logs: "run_failed of parking, firing"
  };
  // Opens or closes the incident of each alert watching kind on pipeline, as open says
  // for that alert.
  void Set(pipeline::AlertKind kind, const std::string& pipeline,
           const std::function<bool(const pipeline::AlertConfig&)>& open,
           const std::string& message, const std::string& report_json) REQUIRES(mu_);
  bool Watches(const pipeline::AlertConfig& a, pipeline::AlertKind kind,
               const std::string& pipeline) const;
  void Send();

  std::vector<pipeline::AlertConfig> configs_;
  Mutex mu_;
  CondVar cv_{&mu_};
  // Open incidents: (alert, pipeline, kind) -> when it opened.
  std::map<std::tuple<size_t, std::string, int>, int64_t> open_ GUARDED_BY(mu_);
  std::map<std::string, int64_t> last_data_ms_ GUARDED_BY(mu_);
  std::map<std::string, std::string> tables_;  // pipeline -> table
  std::map<std::string, int64_t> stream_rows_ GUARDED_BY(mu_);
  std::deque<Delivery> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  int64_t started_ms_;
  std::thread sender_;
};

}  // namespace inlet::serve
