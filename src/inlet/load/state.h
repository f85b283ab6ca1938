// A pipeline's state, committed with the rows it covers as the document of the
// application "inlet.pipeline.<name>" (see AppState; the run counter is the app's
// number).
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <optional>
#include <string>

#include "inlet/common/json.h"

namespace inlet::load {

struct PipelineState {
  std::string pipeline;
  std::string strategy;
  int64_t run = 0;
  std::string cursor;
  std::optional<std::string> watermark;  // text form of the cursor value
  std::string updated_at;
  /// Watermark pipelines: the watermark's int64 form and kind (see load::Selection).
  std::string cursor_kind;
  std::optional<int64_t> watermark_value;
  /// The watermark options the source's part marks were made under; under other options
  /// the marks are not used.
  std::string marks_signature;
  /// snapshot_diff: the run and time (ms) of the last full refresh.
  int64_t last_full_refresh_run = 0;
  int64_t last_full_refresh_ms = 0;
  /// Where the source resumes: its own JSON object (see BoundedSource), stored as it is.
  /// Its members sit beside the fields above in the document (files: source_root,
  /// files, source_fingerprint, file_marks), as they always have.
  Json position = Json::object();
};

/// "inlet.pipeline.<name>": the application id of a pipeline's state.
std::string StateDomain(const std::string& pipeline);
inline constexpr char kStateDomainPrefix[] = "inlet.pipeline.";

arrow::Result<PipelineState> ParseState(const std::string& json);
std::string SerializeState(const PipelineState& state);

}  // namespace inlet::load
