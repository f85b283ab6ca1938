// The reports of runs and streams, as JSON and text (inlet/pipeline.h).
#include <sstream>

#include "inlet/common/json.h"
#include "inlet/common/redact.h"
#include "inlet/pipeline.h"

namespace inlet {

namespace {

Json OptionalText(const std::optional<std::string>& v) {
  return v ? Json(*v) : Json(nullptr);
}

Json CountsJson(const FileCounts& counts) {
  return Json{{"files", counts.files}, {"bytes", counts.bytes}};
}

Json MaintenanceJson(const MaintenanceReport& m) {
  Json out = Json::object();
  if (m.optimize) {
    const OptimizeResult& r = *m.optimize;
    out["optimize"] =
        Json{{"version", r.version},         {"before", CountsJson(r.before)},
             {"after", CountsJson(r.after)}, {"files_removed", r.files_removed},
             {"files_added", r.files_added}, {"duration_ms", r.duration_ms}};
  }
  if (m.vacuum) {
    const VacuumResult& r = *m.vacuum;
    out["vacuum"] = Json{{"retention_hours", r.retention_hours},
                         {"deleted", CountsJson(r.deleted)},
                         {"before", CountsJson(r.before)},
                         {"after", CountsJson(r.after)},
                         {"duration_ms", r.duration_ms}};
  }
  if (m.checkpoint) {
    const CheckpointResult& r = *m.checkpoint;
    out["checkpoint"] = Json{{"version", r.version},
                             {"bytes", r.checkpoint_bytes},
                             {"log_before", CountsJson(r.log_before)},
                             {"log_after", CountsJson(r.log_after)},
                             {"duration_ms", r.duration_ms}};
  }
  return out;
}

}  // namespace

const char* RunStatusName(RunStatus status) {
  switch (status) {
    case RunStatus::kCommitted:
      return "committed";
    case RunStatus::kNoChanges:
      return "no_changes";
    case RunStatus::kNoSignificantChanges:
      return "no_significant_changes";
    case RunStatus::kDryRun:
      return "dry_run";
    case RunStatus::kFailed:
      return "failed";
    case RunStatus::kSkipped:
      return "skipped";
  }
  return "?";
}

const char* StreamStatusName(StreamStatus status) {
  switch (status) {
    case StreamStatus::kRunning:
      return "running";
    case StreamStatus::kStopped:
      return "stopped";
    case StreamStatus::kIdle:
      return "idle";
    case StreamStatus::kFailed:
      return "failed";
    case StreamStatus::kCaughtUp:
      return "caught_up";
  }
  return "?";
}

std::string MaintenanceReport::ToJson() const { return DumpJson(MaintenanceJson(*this)); }

std::string MaintenanceReport::ToText() const {
  std::ostringstream out;
  if (optimize)
    out << "optimize " << optimize->before.files << " files -> " << optimize->after.files
        << " files";
  if (vacuum) {
    if (out.tellp() > 0) out << "; ";
    out << "vacuum deleted " << vacuum->deleted.files << " files";
  }
  if (checkpoint) {
    if (out.tellp() > 0) out << "; ";
    out << "checkpoint at version " << checkpoint->version;
  }
  return out.str();
}

std::string RunReport::ToJson() const {
  Json j = Json{{"pipeline", pipeline},
                {"table", table},
                {"strategy", strategy},
                {"status", RunStatusName(status)},
                {"rows_read", rows_read},
                {"rows_skipped_watermark", rows_skipped_watermark},
                {"rows_deduplicated", rows_deduplicated},
                {"rows_rejected", rows_rejected},
                {"rows_written", rows_written},
                {"rows_inserted", rows_inserted},
                {"rows_updated", rows_updated},
                {"rows_deleted", rows_deleted},
                {"rows_late", rows_late},
                {"watermark_before", OptionalText(watermark_before)},
                {"watermark_after", OptionalText(watermark_after)},
                {"files_read", files_read},
                {"files_written", files_written},
                {"bytes_written", bytes_written},
                {"partitions_touched", partitions_touched},
                {"table_version", table_version},
                {"run", run},
                {"commits", commits},
                {"duration_ms", duration_ms}};
  if (changed_percent) j["changed_percent"] = *changed_percent;
  if (!maintenance.empty()) j["maintenance"] = MaintenanceJson(maintenance);
  if (!warnings.empty()) j["warnings"] = warnings;
  if (!files_skipped.empty()) {
    Json skipped = Json::array();
    for (const auto& f : files_skipped) {
      Json one = {{"file", f.file}, {"reason", f.reason}};
      if (!f.quarantined.empty()) one["quarantined"] = f.quarantined;
      skipped.push_back(one);
    }
    j["files_skipped"] = skipped;
  }
  if (!error.empty()) j["error"] = MaskKnownSecrets(error);
  return DumpJson(j);
}

std::string RunReport::ToText() const {
  std::ostringstream out;
  out << "pipeline " << pipeline << " -> " << table << " (" << strategy
      << "): " << RunStatusName(status);
  if (status == RunStatus::kFailed) {
    out << ": " << MaskKnownSecrets(error) << "\n";
    return out.str();
  }
  if (status == RunStatus::kCommitted) out << " version " << table_version;
  if (commits > 1) out << " (" << commits << " commits, one per chunk)";
  out << " in " << duration_ms << " ms\n";
  out << "  rows:      read " << rows_read << ", skipped by watermark "
      << rows_skipped_watermark << ", de-duplicated " << rows_deduplicated
      << ", rejected " << rows_rejected << ", written " << rows_written << "\n";
  if (changed_percent)
    out << "  changed:   " << *changed_percent << "% of the table's rows\n";
  if (strategy == "merge" || strategy == "snapshot_diff" || strategy == "cdc") {
    out << "  merge:     inserted " << rows_inserted << ", updated " << rows_updated
        << ", deleted " << rows_deleted;
    if (strategy == "cdc" || rows_late > 0)
      out << ", late changes discarded " << rows_late;
    out << "\n";
  }
  if (strategy == "watermark") {
    out << "  watermark: " << watermark_before.value_or("(none)") << " -> "
        << watermark_after.value_or("(none)") << "\n";
  }
  out << "  files:     read " << files_read << ", written " << files_written << " ("
      << bytes_written << " bytes), partitions touched " << partitions_touched << "; run "
      << run << "\n";
  if (!maintenance.empty()) out << "  maintenance: " << maintenance.ToText() << "\n";
  for (const auto& w : warnings) out << "  warning:   " << w << "\n";
  for (const auto& f : files_skipped) {
    out << "  skipped:   " << f.file << ": " << f.reason;
    if (!f.quarantined.empty()) out << " (copied to " << f.quarantined << ")";
    out << "\n";
  }
  if (!error.empty()) out << "  error:     " << MaskKnownSecrets(error) << "\n";
  return out.str();
}

std::string StreamReport::ToJson() const {
  Json j = {{"pipeline", pipeline},
            {"table", table},
            {"topic", topic},
            {"status", StreamStatusName(status)},
            {"messages", messages},
            {"rows_written", rows_written},
            {"dead_letters", dead_letters},
            {"skipped", skipped},
            {"tombstones", tombstones},
            {"commits", commits},
            {"batches_discarded", batches_discarded},
            {"rebalances", rebalances},
            {"table_version", table_version},
            {"duration_ms", duration_ms},
            {"wait_ms", wait_ms},
            {"decode_ms", decode_ms},
            {"commit_ms", commit_ms},
            {"maintenance_runs", maintenance_runs},
            {"maintenance_failures", maintenance_failures}};
  if (rows_inserted + rows_updated + rows_deleted + rows_late > 0) {
    j["rows_inserted"] = rows_inserted;
    j["rows_updated"] = rows_updated;
    j["rows_deleted"] = rows_deleted;
    j["rows_late"] = rows_late;
  }
  if (!lag.empty()) {
    Json l = Json::object();
    for (const auto& [p, n] : lag) l[std::to_string(p)] = n;
    j["lag"] = l;
  }
  if (!position.empty()) j["position"] = position;
  if (lag_bytes) j["lag_bytes"] = *lag_bytes;
  if (lag_ms) j["lag_ms"] = *lag_ms;
  if (!error.empty()) j["error"] = MaskKnownSecrets(error);
  return DumpJson(j);
}

}  // namespace inlet
