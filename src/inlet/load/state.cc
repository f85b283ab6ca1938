#include "inlet/load/state.h"

#include <set>

namespace inlet::load {

namespace {

// The document's own fields; every other member belongs to the source's position.
const std::set<std::string>& StateFields() {
  static const std::set<std::string> fields = {"pipeline",
                                               "strategy",
                                               "run",
                                               "cursor",
                                               "watermark",
                                               "updated_at",
                                               "cursor_kind",
                                               "watermark_value",
                                               "marks_signature",
                                               "last_full_refresh_run",
                                               "last_full_refresh_ms"};
  return fields;
}

}  // namespace

std::string StateDomain(const std::string& pipeline) {
  return kStateDomainPrefix + pipeline;
}

arrow::Result<PipelineState> ParseState(const std::string& text) {
  ARROW_ASSIGN_OR_RAISE(Json j, ParseJson(text, "pipeline state"));
  if (!j.is_object())
    return arrow::Status::Invalid("pipeline state: expected a JSON object");
  PipelineState s;
  s.pipeline = GetStringOr(j, "pipeline", "");
  s.strategy = GetStringOr(j, "strategy", "");
  s.run = GetIntOr(j, "run", 0);
  s.cursor = GetStringOr(j, "cursor", "");
  if (j.contains("watermark") && j["watermark"].is_string())
    s.watermark = j["watermark"].get<std::string>();
  s.updated_at = GetStringOr(j, "updated_at", "");
  s.cursor_kind = GetStringOr(j, "cursor_kind", "");
  if (j.contains("watermark_value") && j["watermark_value"].is_number_integer()) {
    s.watermark_value = j["watermark_value"].get<int64_t>();
  }
  s.marks_signature = GetStringOr(j, "marks_signature", "");
  s.last_full_refresh_run = GetIntOr(j, "last_full_refresh_run", 0);
  s.last_full_refresh_ms = GetIntOr(j, "last_full_refresh_ms", 0);
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!StateFields().count(it.key())) s.position[it.key()] = it.value();
  }
  return s;
}

std::string SerializeState(const PipelineState& s) {
  Json j = s.position.is_object() ? s.position : Json::object();
  j["pipeline"] = s.pipeline;
  j["strategy"] = s.strategy;
  j["run"] = s.run;
  j["cursor"] = s.cursor;
  j["watermark"] = s.watermark ? Json(*s.watermark) : Json(nullptr);
  j["updated_at"] = s.updated_at;
  if (!s.cursor_kind.empty()) j["cursor_kind"] = s.cursor_kind;
  if (s.watermark_value) j["watermark_value"] = *s.watermark_value;
  if (!s.marks_signature.empty()) j["marks_signature"] = s.marks_signature;
  if (s.last_full_refresh_run > 0) {
    j["last_full_refresh_run"] = s.last_full_refresh_run;
    j["last_full_refresh_ms"] = s.last_full_refresh_ms;
  }
  return DumpJson(j);
}

}  // namespace inlet::load
