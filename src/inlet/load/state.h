// A pipeline's state, kept in the table as the configuration of metadata domain
// "inlet.pipeline.<name>" and committed with the rows it covers.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>

#include <arrow/result.h>

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
};

/// "inlet.pipeline.<name>": the metadata domain, and the txn appId, of a pipeline.
std::string StateDomain(const std::string& pipeline);
inline constexpr char kStateDomainPrefix[] = "inlet.pipeline.";

arrow::Result<PipelineState> ParseState(const std::string& json);
std::string SerializeState(const PipelineState& state);

}  // namespace inlet::load
