// The checks a run's rows pass before they are committed: schema drift, key gates (with
// quarantine), and row counts.
#pragma once

#include <arrow/result.h>
#include <arrow/table.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "inlet/load/strategy.h"
#include "inlet/pipeline/config.h"
#include "inlet/table.h"

namespace inlet::pipeline {

/// What the gates let through.
struct CheckedRows {
  std::shared_ptr<arrow::Table> rows;  // without the source's part column
  /// Rejected rows with _reject_reason, for the quarantine table; null when none.
  std::shared_ptr<arrow::Table> rejected;
  int64_t deduplicated = 0;
  /// Source columns the table lacks are to be added to it (schema_drift: add_columns).
  bool merge_schema = false;
};

/// Applies quality.schema_drift against table (null: no table yet, nothing drifts), the
/// key gates (which the strategy may relax), and min_rows / max_rows. part_names names
/// the parts (files) of the rows' part column in messages.
arrow::Result<CheckedRows> CheckRows(const PipelineConfig& c,
                                     const load::Strategy& strategy,
                                     std::shared_ptr<arrow::Table> rows,
                                     const Snapshot* table,
                                     const std::vector<std::string>& part_names);

/// Writes rejected rows (with _pipeline and _run) to quality.quarantine_path, once per
/// run: a run repeated after a crash between the two commits does not quarantine them
/// twice.
arrow::Status WriteQuarantine(const PipelineConfig& c,
                              const std::shared_ptr<arrow::Table>& rejected, int64_t run);

}  // namespace inlet::pipeline
