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
  return DumpJson(j);
}

}  // namespace inlet::load
