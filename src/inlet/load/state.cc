#include "inlet/load/state.h"

#include "inlet/common/json.h"

namespace inlet::load {

std::string StateDomain(const std::string& pipeline) { return kStateDomainPrefix + pipeline; }

arrow::Result<PipelineState> ParseState(const std::string& text) {
  ARROW_ASSIGN_OR_RAISE(Json j, ParseJson(text, "pipeline state"));
  PipelineState s;
  s.pipeline = GetStringOr(j, "pipeline", "");
  s.strategy = GetStringOr(j, "strategy", "");
  s.run = GetIntOr(j, "run", 0);
  s.cursor = GetStringOr(j, "cursor", "");
  if (j.contains("watermark") && j["watermark"].is_string()) s.watermark = j["watermark"].get<std::string>();
  if (j.contains("loaded_files") && j["loaded_files"].is_array()) {
    for (const auto& f : j["loaded_files"]) {
      if (f.is_string()) s.loaded_files.insert(f.get<std::string>());
    }
  }
  s.source_fingerprint = GetStringOr(j, "source_fingerprint", "");
  s.updated_at = GetStringOr(j, "updated_at", "");
  s.cursor_kind = GetStringOr(j, "cursor_kind", "");
  if (j.contains("watermark_value") && j["watermark_value"].is_number_integer()) {
    s.watermark_value = j["watermark_value"].get<int64_t>();
  }
  s.marks_signature = GetStringOr(j, "marks_signature", "");
  s.last_full_refresh_run = GetIntOr(j, "last_full_refresh_run", 0);
  s.last_full_refresh_ms = GetIntOr(j, "last_full_refresh_ms", 0);
  if (j.contains("file_marks") && j["file_marks"].is_object()) {
    for (auto it = j["file_marks"].begin(); it != j["file_marks"].end(); ++it) {
      const Json& m = it.value();
      if (!m.is_array() || m.size() != 4) continue;
      FileMark mark;
      mark.size = m[0].is_number_integer() ? m[0].get<int64_t>() : -1;
      mark.mtime_ns = m[1].is_number_integer() ? m[1].get<int64_t>() : -1;
      if (m[2].is_number_integer()) mark.max_cursor = m[2].get<int64_t>();
      mark.has_null = m[3].is_boolean() && m[3].get<bool>();
      s.file_marks[it.key()] = mark;
    }
  }
  return s;
}

std::string SerializeState(const PipelineState& s) {
  Json j = {{"pipeline", s.pipeline},
            {"strategy", s.strategy},
            {"run", s.run},
            {"cursor", s.cursor},
            {"watermark", s.watermark ? Json(*s.watermark) : Json(nullptr)},
            {"loaded_files", Json(std::vector<std::string>(s.loaded_files.begin(), s.loaded_files.end()))},
            {"source_fingerprint", s.source_fingerprint},
            {"updated_at", s.updated_at}};
  if (!s.cursor_kind.empty()) j["cursor_kind"] = s.cursor_kind;
  if (s.watermark_value) j["watermark_value"] = *s.watermark_value;
  if (!s.marks_signature.empty()) j["marks_signature"] = s.marks_signature;
  if (s.last_full_refresh_run > 0) {
    j["last_full_refresh_run"] = s.last_full_refresh_run;
    j["last_full_refresh_ms"] = s.last_full_refresh_ms;
  }
  if (!s.file_marks.empty()) {
    Json marks = Json::object();
    for (const auto& [path, m] : s.file_marks) {
      marks[path] = Json::array({m.size, m.mtime_ns, m.max_cursor ? Json(*m.max_cursor) : Json(nullptr), m.has_null});
    }
    j["file_marks"] = marks;
  }
  return DumpJson(j);
}

}  // namespace inlet::load
