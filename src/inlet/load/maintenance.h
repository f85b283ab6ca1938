// Table maintenance after a pipeline's commits (destination.maintenance): compaction,
// vacuum and checkpoints when their intervals are due. Runs and streams alike call
// Maintain with their table and its policy.
#pragma once

#include <arrow/status.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "inlet/pipeline.h"
#include "inlet/table.h"

namespace inlet::load {

/// docs/pipelines.md "Maintenance".
struct MaintenancePolicy {
  /// Compact small files after every N-th commit (0: never), into files of
  /// optimize_target_size bytes (0: the table's), optionally in Z-order.
  int64_t optimize_interval = 0;
  int64_t optimize_target_size = 0;
  std::vector<std::string> zorder_by;
  /// Vacuum after every N-th commit (0: never), keeping files removed less than
  /// vacuum_retention_hours ago (unset: the table's own retention).
  int64_t vacuum_interval = 0;
  std::optional<double> vacuum_retention_hours;
  /// A checkpoint every N table versions: the interval of a table the pipeline creates
  /// (Delta Lake: delta.checkpointInterval); on an existing table with another interval
  /// the pipeline writes them (0: the table's own interval).
  int64_t checkpoint_interval = 0;

  bool any() const {
    return optimize_interval > 0 || vacuum_interval > 0 || checkpoint_interval > 0;
  }
};

/// Runs the steps policy asks for after a pipeline's commit-th commit (a run's number, a
/// stream's commit count), which committed `version` of table. A failure stops the steps
/// and is returned (what ran is in *report); the commit stays.
arrow::Status Maintain(Table& table, const MaintenancePolicy& policy, int64_t commit,
                       int64_t version, MaintenanceReport* report);

}  // namespace inlet::load
