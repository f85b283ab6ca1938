// The alerts list of a pipeline file (docs/operations.md, "Alerts").
#include <string>

#include "inlet/pipeline/yaml_reader.h"

namespace inlet::pipeline {

const char* AlertKindName(AlertKind kind) {
  switch (kind) {
    case AlertKind::kRunFailed:
      return "run_failed";
    case AlertKind::kQualityGate:
      return "quality_gate";
    case AlertKind::kMaintenanceFailed:
      return "maintenance_failed";
    case AlertKind::kNoNewData:
      return "no_new_data";
    case AlertKind::kStreamFailed:
      return "stream_failed";
    case AlertKind::kStreamLag:
      return "stream_lag";
  }
  return "?";
}

namespace {

arrow::Result<AlertConfig> ParseAlert(const YamlReader& r, const YAML::Node& n,
                                      const std::string& key,
                                      const std::set<std::string>& pipelines) {
  ARROW_RETURN_NOT_OK(
      r.CheckKeys(n, key,
                  {"name", "url", "format", "on", "pipelines", "no_new_data_after",
                   "stream_lag_messages", "stream_lag_seconds", "attempts"}));
  AlertConfig a;
  for (const char* req : {"name", "url", "on"})
    if (!n[req]) return r.Error(n, key + "." + req, "is required");
  ARROW_ASSIGN_OR_RAISE(a.name, r.String(n["name"], key + ".name"));
  ARROW_ASSIGN_OR_RAISE(a.url,
                        r.Secret(n["url"], key + ".url",
                                 "is a secret (a webhook's URL carries its token)"));
  if (a.url.rfind("http://", 0) != 0 && a.url.rfind("https://", 0) != 0)
    return r.Error(n["url"], key + ".url", "expected an http:// or https:// URL");
  if (n["format"]) {
    ARROW_ASSIGN_OR_RAISE(a.slack,
                          r.Enum<bool>(n["format"], key + ".format",
                                       {{"json", false}, {"slack", true}}, "format"));
  }
  ARROW_ASSIGN_OR_RAISE(auto kinds, r.StringList(n["on"], key + ".on"));
  if (kinds.empty()) return r.Error(n["on"], key + ".on", "names no event");
  for (const auto& k : kinds) {
    bool known = false;
    for (AlertKind kind :
         {AlertKind::kRunFailed, AlertKind::kQualityGate, AlertKind::kMaintenanceFailed,
          AlertKind::kNoNewData, AlertKind::kStreamFailed, AlertKind::kStreamLag}) {
      if (k == AlertKindName(kind)) {
        a.on.push_back(kind);
        known = true;
      }
    }
    if (!known)
      return r.Error(n["on"], key + ".on",
                     "unknown event '" + k +
                         "' (use run_failed, quality_gate, maintenance_failed, "
                         "no_new_data, stream_failed, stream_lag)");
  }
  if (n["pipelines"]) {
    ARROW_ASSIGN_OR_RAISE(a.pipelines, r.StringList(n["pipelines"], key + ".pipelines"));
    for (const auto& p : a.pipelines)
      if (!pipelines.count(p))
        return r.Error(n["pipelines"], key + ".pipelines",
                       "no pipeline named '" + p + "'");
  }
  auto has = [&](AlertKind k) {
    return std::find(a.on.begin(), a.on.end(), k) != a.on.end();
  };
  if (n["no_new_data_after"]) {
    ARROW_ASSIGN_OR_RAISE(a.no_new_data_ms,
                          r.Millis(n["no_new_data_after"], key + ".no_new_data_after"));
  }
  if (has(AlertKind::kNoNewData) != (a.no_new_data_ms > 0))
    return r.Error(n, key + ".no_new_data_after",
                   "goes with the no_new_data event (give both)");
  if (n["stream_lag_messages"]) {
    ARROW_ASSIGN_OR_RAISE(a.stream_lag_messages,
                          r.Int(n["stream_lag_messages"], key + ".stream_lag_messages"));
  }
  if (n["stream_lag_seconds"]) {
    ARROW_ASSIGN_OR_RAISE(a.stream_lag_ms,
                          r.Millis(n["stream_lag_seconds"], key + ".stream_lag_seconds"));
  }
  if (has(AlertKind::kStreamLag) != (a.stream_lag_messages > 0 || a.stream_lag_ms > 0))
    return r.Error(n, key + ".stream_lag_messages",
                   "stream_lag_messages or stream_lag_seconds goes with the stream_lag "
                   "event (give both)");
  if (n["attempts"]) {
    ARROW_ASSIGN_OR_RAISE(int64_t attempts, r.Int(n["attempts"], key + ".attempts"));
    if (attempts < 1 || attempts > 20)
      return r.Error(n["attempts"], key + ".attempts", "must be 1 to 20");
    a.attempts = static_cast<int>(attempts);
  }
  return a;
}

}  // namespace

arrow::Result<std::vector<AlertConfig>> ParseAlerts(
    const YamlReader& r, const YAML::Node& n, const std::set<std::string>& pipelines) {
  if (!n.IsSequence()) return r.Error(n, "alerts", "expected a list of alerts");
  std::vector<AlertConfig> out;
  std::set<std::string> names;
  for (size_t i = 0; i < n.size(); ++i) {
    std::string key = "alerts[" + std::to_string(i) + "]";
    ARROW_ASSIGN_OR_RAISE(auto a, ParseAlert(r, n[i], key, pipelines));
    if (!names.insert(a.name).second)
      return r.Error(n[i]["name"], key + ".name",
                     "duplicate alert name '" + a.name + "'");
    out.push_back(std::move(a));
  }
  return out;
}

}  // namespace inlet::pipeline
