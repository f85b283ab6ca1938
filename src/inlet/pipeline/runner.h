// Running a pipeline with a bounded source: read what its strategy needs, select rows,
// check quality gates, and commit the rows with the pipeline's new state in one table
// commit (load/commit.h). The public entry is inlet/pipeline.h's RunPipeline.
#pragma once

#include <arrow/result.h>

#include <memory>
#include <string>
#include <vector>

#include "inlet/pipeline.h"
#include "inlet/pipeline/config.h"
#include "inlet/table.h"

namespace inlet::pipeline {

/// Runs one pipeline; retries the whole run (up to processing.max_retries times) when its
/// commit loses to a concurrent, conflicting commit. On failure the table is unchanged
/// and the error names the pipeline.
arrow::Result<RunReport> Run(const PipelineConfig& config, const RunOptions& options);

}  // namespace inlet::pipeline
