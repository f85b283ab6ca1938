// A pipeline's state, kept in the table as the configuration of metadata domain
// "inlet.pipeline.<name>" and committed with the rows it covers.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include <map>

#include <arrow/result.h>

#include "inlet/load/quality.h"
#include "inlet/load/watermark.h"

namespace inlet::load {

struct PipelineState {
  std::string pipeline;
  std::string strategy;
  int64_t run = 0;
  std::string cursor;
  std::optional<std::string> watermark;  // text form of the cursor value
  std::set<std::string> loaded_files;
  std::string source_fingerprint;
  std::string updated_at;
  /// Watermark pipelines: the watermark's int64 form and kind (see load::Selection), and
  /// what each source file held, so unchanged files below it are not read again.
  std::string cursor_kind;
  std::optional<int64_t> watermark_value;
  /// The watermark options the marks were made under; other options ignore the marks.
  std::string marks_signature;
  /// snapshot_diff: the run and time (ms) of the last full refresh.
  int64_t last_full_refresh_run = 0;
  int64_t last_full_refresh_ms = 0;
  std::map<std::string, FileMark> file_marks;
};

/// "inlet.pipeline.<name>": the metadata domain, and the txn appId, of a pipeline.
std::string StateDomain(const std::string& pipeline);
inline constexpr char kStateDomainPrefix[] = "inlet.pipeline.";

arrow::Result<PipelineState> ParseState(const std::string& json);
std::string SerializeState(const PipelineState& state);

}  // namespace inlet::load
