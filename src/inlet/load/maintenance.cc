#include "inlet/load/maintenance.h"

namespace inlet::load {

arrow::Status Maintain(Table& table, const MaintenancePolicy& m, int64_t commit,
                       int64_t version, MaintenanceReport* report) {
  auto due = [&](int64_t interval) {
    return interval > 0 && commit > 0 && commit % interval == 0;
  };
  if (due(m.optimize_interval)) {
    OptimizeOptions o;
    o.target_size = m.optimize_target_size;
    o.zorder_by = m.zorder_by;
    ARROW_ASSIGN_OR_RAISE(report->optimize, table.Optimize(o));
  }
  if (due(m.vacuum_interval)) {
    VacuumOptions o;
    o.retention_hours = m.vacuum_retention_hours;
    ARROW_ASSIGN_OR_RAISE(report->vacuum, table.Vacuum(o));
  }
  if (m.checkpoint_interval > 0) {
    // Tables the pipeline created checkpoint themselves at this interval; others get a
    // checkpoint whenever the versions since the commit cross a multiple of it.
    ARROW_ASSIGN_OR_RAISE(auto snapshot, table.GetSnapshot());
    auto info = snapshot->Info();
    auto own = info.properties.find("delta.checkpointInterval");
    const int64_t n = m.checkpoint_interval;
    bool crossed = snapshot->version() / n > (version - 1) / n;
    if (crossed && (own == info.properties.end() || own->second != std::to_string(n))) {
      ARROW_ASSIGN_OR_RAISE(report->checkpoint, table.Checkpoint());
    }
  }
  return arrow::Status::OK();
}

}  // namespace inlet::load
