// Table maintenance after committed pipeline runs (destination.maintenance).
#include <sstream>

#include "inlet/pipeline/runner.h"
#include "inlet/table.h"

namespace inlet::pipeline {

Json ToJson(const FileCounts& counts) { return Json{{"files", counts.files}, {"bytes", counts.bytes}}; }

namespace {

arrow::Status Maintain(const PipelineConfig& config, RunReport* report) {
  const MaintenanceConfig& m = config.destination.maintenance;
  auto due = [&](int64_t interval) { return interval > 0 && report->run > 0 && report->run % interval == 0; };
  const bool optimize = due(m.optimize_interval);
  const bool vacuum = due(m.vacuum_interval);
  if (!optimize && !vacuum && m.checkpoint_interval == 0) return arrow::Status::OK();
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(config.destination.path, config.destination.storage));
  Json& out = report->maintenance;
  if (optimize) {
    OptimizeOptions o;
    o.target_size = m.optimize_target_size;
    o.zorder_by = m.zorder_by;
    ARROW_ASSIGN_OR_RAISE(auto r, table->Optimize(o));
    out["optimize"] = Json{{"version", r.version},          {"before", ToJson(r.before)},
                           {"after", ToJson(r.after)},       {"files_removed", r.files_removed},
                           {"files_added", r.files_added},   {"duration_ms", r.duration_ms}};
  }
  if (vacuum) {
    VacuumOptions o;
    o.retention_hours = m.vacuum_retention_hours;
    ARROW_ASSIGN_OR_RAISE(auto r, table->Vacuum(o));
    out["vacuum"] = Json{{"retention_hours", r.retention_hours}, {"deleted", ToJson(r.deleted)},
                         {"before", ToJson(r.before)},          {"after", ToJson(r.after)},
                         {"duration_ms", r.duration_ms}};
  }
  if (m.checkpoint_interval > 0) {
    // Tables the pipeline created checkpoint themselves at this interval; others get a
    // checkpoint whenever the versions since the run's commit cross a multiple of it.
    ARROW_ASSIGN_OR_RAISE(auto snapshot, table->GetSnapshot());
    auto info = snapshot->Info();
    auto own = info.properties.find("delta.checkpointInterval");
    const int64_t n = m.checkpoint_interval;
    bool crossed = snapshot->version() / n > (report->table_version - 1) / n;
    if (crossed && (own == info.properties.end() || own->second != std::to_string(n))) {
      ARROW_ASSIGN_OR_RAISE(auto r, table->Checkpoint());
      out["checkpoint"] = Json{{"version", r.version},
                               {"bytes", r.checkpoint_bytes},
                               {"log_before", ToJson(r.log_before)},
                               {"log_after", ToJson(r.log_after)},
                               {"duration_ms", r.duration_ms}};
    }
  }
  return arrow::Status::OK();
}

}  // namespace

arrow::Status RunMaintenance(const PipelineConfig& config, RunReport* report) {
  auto st = Maintain(config, report);
  if (!st.ok()) report->error = "maintenance after the commit failed (the run's data is committed): " + st.message();
  return st;
}

std::string MaintenanceText(const Json& maintenance) {
  std::ostringstream out;
  auto files = [](const Json& c) { return std::to_string(c["files"].get<int64_t>()) + " files"; };
  if (maintenance.contains("optimize")) {
    const Json& o = maintenance["optimize"];
    out << "optimize " << files(o["before"]) << " -> " << files(o["after"]);
  }
  if (maintenance.contains("vacuum")) {
    if (out.tellp() > 0) out << "; ";
    out << "vacuum deleted " << files(maintenance["vacuum"]["deleted"]);
  }
  if (maintenance.contains("checkpoint")) {
    if (out.tellp() > 0) out << "; ";
    out << "checkpoint at version " << maintenance["checkpoint"]["version"].get<int64_t>();
  }
  return out.str();
}

}  // namespace inlet::pipeline
