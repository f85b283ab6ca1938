#include "inlet/serve/alerts.h"

#include <algorithm>
#include <optional>

#include "inlet/common/http.h"
#include "inlet/common/json.h"
#include "inlet/common/redact.h"
#include "inlet/common/time.h"
#include "inlet/log.h"
#include "inlet/time.h"

namespace inlet::serve {

using pipeline::AlertConfig;
using pipeline::AlertKind;

namespace {

// Whether a failed run's error is a quality gate's (or schema drift's, or a delete
// limit's) refusal rather than a failure to read or write.
bool GateRefusal(const std::string& error) {
  return error.find("quality gate ") != std::string::npos ||
         error.find("schema drift:") != std::string::npos ||
         error.find("max_delete_percent") != std::string::npos;
}

std::string Duration(int64_t ms) {
  int64_t s = ms / 1000;
  if (s < 120) return std::to_string(s) + " s";
  if (s < 7200) return std::to_string(s / 60) + " min";
  return std::to_string(s / 3600) + " h";
}

}  // namespace

Alerts::Alerts(std::vector<AlertConfig> configs,
               std::map<std::string, std::string> pipelines, int64_t started_ms)
    : configs_(std::move(configs)),
      tables_(std::move(pipelines)),
      started_ms_(started_ms) {
  if (!configs_.empty()) sender_ = std::thread([this] { Send(); });
}

Alerts::~Alerts() { Stop(); }

bool Alerts::Watches(const AlertConfig& a, AlertKind kind,
                     const std::string& pipeline) const {
  if (std::find(a.on.begin(), a.on.end(), kind) == a.on.end()) return false;
  return a.pipelines.empty() ||
         std::find(a.pipelines.begin(), a.pipelines.end(), pipeline) != a.pipelines.end();
}

void Alerts::Set(AlertKind kind, const std::string& pipeline,
                 const std::function<bool(const AlertConfig&)>& open,
                 const std::string& raw_message, const std::string& report_json) {
  // The run report's error is masked already (RunReport::ToJson); the message is masked
  // here, before it goes into the body's JSON (masking the JSON text could break it).
  const std::string message = MaskKnownSecrets(raw_message);
  int64_t now = NowMillis();
  for (size_t i = 0; i < configs_.size(); ++i) {
    const AlertConfig& a = configs_[i];
    if (!Watches(a, kind, pipeline)) continue;
    auto key = std::make_tuple(i, pipeline, static_cast<int>(kind));
    auto it = open_.find(key);
    bool was = it != open_.end();
    bool is = open(a);
    if (is == was) continue;  // once per incident
    int64_t since = is ? now : it->second;
    if (is) {
      open_[key] = now;
    } else {
      open_.erase(it);
    }
    const char* event = pipeline::AlertKindName(kind);
    auto table = tables_.find(pipeline);
    std::string table_name = table == tables_.end() ? "" : table->second;
    Json body;
    if (a.slack) {
      body["text"] = std::string(is ? ":red_circle: " : ":large_green_circle: ") +
                     "inlet: " + event + " on pipeline " + pipeline + " (" + table_name +
                     ")" +
                     (is ? ": " + message : ": resolved after " + Duration(now - since));
    } else {
      body = {{"alert", a.name},
              {"event", event},
              {"state", is ? "firing" : "resolved"},
              {"pipeline", pipeline},
              {"table", table_name},
              {"message", is ? message : "resolved"},
              {"since", FormatTimestampMillisIso(since)},
              {"at", FormatTimestampMillisIso(now)}};
      if (!report_json.empty()) {
        auto report = ParseJson(report_json, "run report");
        if (report.ok()) body["report"] = *report;
      }
    }
    queue_.push_back(
        {i, DumpJson(body),
         std::string(event) + " on " + pipeline + (is ? ", firing" : ", resolved")});
  }
  cv_.NotifyAll();
}

void Alerts::OnRun(const RunReport& r) {
  if (configs_.empty()) return;
  MutexLock lock(&mu_);
  bool failed = r.status == RunStatus::kFailed;
  std::string json = r.ToJson();
  Set(
      AlertKind::kRunFailed, r.pipeline, [&](const AlertConfig&) { return failed; },
      r.error, json);
  bool gate = (failed && GateRefusal(r.error)) || r.rows_rejected > 0;
  std::string why =
      failed ? r.error
             : std::to_string(r.rows_rejected) + " rows rejected by the quality gates";
  Set(
      AlertKind::kQualityGate, r.pipeline, [&](const AlertConfig&) { return gate; }, why,
      json);
  // Maintenance runs after commits only: a run that made none says nothing about it.
  bool maintenance_failed = !failed && !r.error.empty();
  if (maintenance_failed || !r.maintenance.empty()) {
    Set(
        AlertKind::kMaintenanceFailed, r.pipeline,
        [&](const AlertConfig&) { return maintenance_failed; }, r.error, json);
  }
  if (r.rows_written > 0) {
    last_data_ms_[r.pipeline] = NowMillis();
    Set(
        AlertKind::kNoNewData, r.pipeline, [](const AlertConfig&) { return false; }, "",
        "");
  }
}

void Alerts::OnStream(const StreamReport& r) {
  if (configs_.empty()) return;
  MutexLock lock(&mu_);
  bool failed = r.status == StreamStatus::kFailed;
  Set(
      AlertKind::kStreamFailed, r.pipeline, [&](const AlertConfig&) { return failed; },
      r.error, "");
  int64_t lag = 0;
  for (const auto& [partition, n] : r.lag) lag += n;
  Set(
      AlertKind::kStreamLag, r.pipeline,
      [&](const AlertConfig& a) {
        return (a.stream_lag_messages > 0 && lag > a.stream_lag_messages) ||
               (a.stream_lag_ms > 0 && r.lag_ms && *r.lag_ms > a.stream_lag_ms);
      },
      "lag " + std::to_string(lag) + " messages" +
          (r.lag_ms ? ", " + Duration(*r.lag_ms) : std::string()),
      "");
  int64_t& seen = stream_rows_[r.pipeline];
  if (r.rows_written > seen) {
    seen = r.rows_written;
    last_data_ms_[r.pipeline] = NowMillis();
    Set(
        AlertKind::kNoNewData, r.pipeline, [](const AlertConfig&) { return false; }, "",
        "");
  }
}

void Alerts::Tick(int64_t now) {
  if (configs_.empty()) return;
  MutexLock lock(&mu_);
  for (const auto& [pipeline, table] : tables_) {
    auto last = last_data_ms_.find(pipeline);
    int64_t since = last == last_data_ms_.end() ? started_ms_ : last->second;
    Set(
        AlertKind::kNoNewData, pipeline,
        [&](const AlertConfig& a) { return now - since > a.no_new_data_ms; },
        "no new rows for " + Duration(now - since), "");
  }
}

void Alerts::Send() {
  HttpClientOptions options;
  options.connect_timeout_ms = 5000;
  options.timeout_ms = 10000;
  auto client = HttpClient::Make(options);
  while (true) {
    std::optional<Delivery> next;
    bool stopping = false;
    {
      MutexLock lock(&mu_);
      cv_.WaitFor(1000, [&] { return stopping_ || !queue_.empty(); });
      stopping = stopping_;
      if (!queue_.empty()) {
        next = std::move(queue_.front());
        queue_.pop_front();
      } else if (stopping_) {
        return;
      }
    }
    if (!next) {
      Tick(NowMillis());
      continue;
    }
    const Delivery& d = *next;
    const AlertConfig& a = configs_[d.alert];
    std::string outcome;
    int attempts = stopping ? 1 : a.attempts;
    for (int attempt = 1; attempt <= attempts && client.ok(); ++attempt) {
      HttpRequest r{"POST", a.url, {"Content-Type: application/json"}, d.body, false};
      HttpExchange ex = (*client)->Send(r);
      if (ex.status >= 200 && ex.status < 300) {
        outcome.clear();
        break;
      }
      outcome = ex.status ? "status " + std::to_string(ex.status) : ex.error;
      if (attempt < attempts) {
        MutexLock lock(&mu_);
        int64_t wait = 1000LL << std::min(attempt - 1, 6);
        if (cv_.WaitFor(wait, [&] { return stopping_; })) attempts = attempt + 1;
      }
    }
    if (!client.ok()) outcome = client.status().message();
    if (!outcome.empty()) {
      Log(LogLevel::kWarning, "alert",
          "'" + a.name + "': " + d.what + ": not delivered (" + outcome + ")");
    }
  }
}

void Alerts::Stop() {
  {
    MutexLock lock(&mu_);
    stopping_ = true;
    cv_.NotifyAll();
  }
  if (sender_.joinable()) sender_.join();
}

}  // namespace inlet::serve
