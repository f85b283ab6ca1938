#include "inlet/cli/maintenance.h"

#include <iomanip>
#include <iostream>
#include <sstream>

#include "inlet/cli/output.h"
#include "inlet/cli/progress.h"
#include "inlet/cli/table_names.h"
#include "inlet/table.h"

namespace inlet::cli {

namespace {

std::string Describe(const FileCounts& c) {
  return std::to_string(c.files) + (c.files == 1 ? " file (" : " files (") +
         FormatBytes(c.bytes) + ")";
}

std::string Seconds(int64_t ms) {
  std::ostringstream out;
  out << std::fixed << std::setprecision(1) << ms / 1000.0 << " s";
  return out.str();
}

arrow::Status RunOptimize(const std::string& location, const OptimizeOptions& o,
                          bool json) {
  ARROW_ASSIGN_OR_RAISE(auto table, OpenTable(location));
  arrow::Result<OptimizeResult> optimized;
  {
    ProgressLine progress("optimizing " + location);  // cleared before the result
    optimized = table->Optimize(o);
  }
  ARROW_ASSIGN_OR_RAISE(auto r, std::move(optimized));
  if (json) {
    std::cout << Dump(Json{{"table", location},
                           {"version", r.version},
                           {"before", CountsJson(r.before)},
                           {"after", CountsJson(r.after)},
                           {"files_removed", r.files_removed},
                           {"files_added", r.files_added},
                           {"rows", r.rows},
                           {"partitions_optimized", r.partitions_optimized},
                           {"attempts", r.attempts},
                           {"duration_ms", r.duration_ms}})
              << std::endl;
  } else if (r.version < 0) {
    std::cout << "nothing to optimize in " << location << ": " << Describe(r.before)
              << " already compact" << std::endl;
  } else {
    std::cout << "optimized " << location << " at version " << r.version << ": "
              << Describe(r.before) << " -> " << Describe(r.after) << "; "
              << r.files_removed << " files compacted into " << r.files_added << " in "
              << r.partitions_optimized
              << (r.partitions_optimized == 1 ? " partition, " : " partitions, ")
              << r.rows << " rows, " << Seconds(r.duration_ms) << std::endl;
  }
  return arrow::Status::OK();
}

arrow::Status RunVacuum(const std::string& location, const VacuumOptions& o, bool json) {
  ARROW_ASSIGN_OR_RAISE(auto table, OpenTable(location));
  ARROW_ASSIGN_OR_RAISE(auto r, table->Vacuum(o));
  if (json) {
    std::cout << Dump(Json{{"table", location},
                           {"dry_run", r.dry_run},
                           {"retention_hours", r.retention_hours},
                           {"deleted", CountsJson(r.deleted)},
                           {"files", r.files},
                           {"refs_removed", r.refs_removed},
                           {"before", CountsJson(r.before)},
                           {"after", CountsJson(r.after)},
                           {"duration_ms", r.duration_ms}})
              << std::endl;
    return arrow::Status::OK();
  }
  if (r.dry_run) {
    std::cout << "would delete " << Describe(r.deleted) << " from " << location
              << " (unreferenced, older than " << r.retention_hours << " hours)"
              << (r.files.empty() ? "" : ":") << std::endl;
    for (const auto& f : r.files) std::cout << "  " << f << std::endl;
  } else {
    std::cout << "vacuumed " << location << ": deleted " << Describe(r.deleted)
              << " unreferenced and older than " << r.retention_hours << " hours; "
              << Describe(r.before) << " -> " << Describe(r.after) << ", "
              << Seconds(r.duration_ms) << std::endl;
  }
  for (const auto& ref : r.refs_removed)
    std::cout << (r.dry_run ? "would remove" : "removed") << " ref " << ref
              << " (older than its max-ref-age-ms)" << std::endl;
  return arrow::Status::OK();
}

arrow::Status RunCheckpoint(const std::string& location, bool json) {
  ARROW_ASSIGN_OR_RAISE(auto table, OpenTable(location));
  ARROW_ASSIGN_OR_RAISE(auto r, table->Checkpoint());
  if (json) {
    std::cout << Dump(Json{{"table", location},
                           {"version", r.version},
                           {"checkpoint_bytes", r.checkpoint_bytes},
                           {"log_before", CountsJson(r.log_before)},
                           {"log_after", CountsJson(r.log_after)},
                           {"duration_ms", r.duration_ms}})
              << std::endl;
  } else {
    std::cout << "checkpointed " << location << " at version " << r.version << " ("
              << FormatBytes(r.checkpoint_bytes) << "); log: " << Describe(r.log_before)
              << " -> " << Describe(r.log_after) << ", " << Seconds(r.duration_ms)
              << std::endl;
  }
  return arrow::Status::OK();
}

}  // namespace

void MaintenanceCommands::Register(CLI::App* app) {
  optimize_ = app->add_subcommand(
      "optimize",
      "Compact small files (bin-packing per partition, optionally Z-ordered)");
  optimize_->add_option("table", table_, "Table path or URI (s3://bucket/prefix)")
      ->required();
  optimize_->add_option("--where", where_,
                        "Only partitions matching this predicate on partition columns");
  optimize_->add_option("--target-size", target_size_,
                        "Pack into files of about this many bytes (default: the table's "
                        "target file size, else 128 MiB)");
  optimize_->add_option("--zorder-by", zorder_by_,
                        "Sort each partition along a Z-order curve of columns a,b");
  optimize_
      ->add_option("--max-retries", max_retries_,
                   "Plan and compact again this many times when concurrent commits "
                   "removed files being compacted (default 4)")
      ->check(CLI::Range(0, 100000));
  optimize_->add_flag("--json", json_, "Print the result as JSON");

  vacuum_ = app->add_subcommand(
      "vacuum",
      "Delete data files no version within the retention reads (Iceberg: expire "
      "snapshots older than the retention, then remove unreferenced files)");
  vacuum_->add_option("table", table_, "Table path or URI (s3://bucket/prefix)")
      ->required();
  vacuum_->add_option("--retention-hours", retention_hours_,
                      "Keep files removed or written less than this long ago (default: "
                      "delta.deletedFileRetentionDuration, 168; Iceberg: "
                      "history.expire.max-snapshot-age-ms, 120)");
  vacuum_->add_flag("--dry-run", dry_run_, "List what would be deleted, delete nothing");
  vacuum_->add_flag("--force", force_,
                    "Allow a retention shorter than the table's own "
                    "(delta.deletedFileRetentionDuration, "
                    "history.expire.max-snapshot-age-ms)");
  vacuum_->add_flag("--json", json_, "Print the result as JSON");

  checkpoint_ = app->add_subcommand(
      "checkpoint",
      "Write a checkpoint of the latest version and clean up expired log files (Iceberg: "
      "rewrite the manifests into few)");
  checkpoint_->add_option("table", table_, "Table path or URI (s3://bucket/prefix)")
      ->required();
  checkpoint_->add_flag("--json", json_, "Print the result as JSON");
}

bool MaintenanceCommands::parsed() const {
  return optimize_->parsed() || vacuum_->parsed() || checkpoint_->parsed();
}

arrow::Status MaintenanceCommands::Run() const {
  if (optimize_->parsed()) {
    OptimizeOptions o;
    if (!where_.empty()) {
      ARROW_ASSIGN_OR_RAISE(o.where, ParseConjunction(where_));
    }
    if (optimize_->count("--target-size") && target_size_ <= 0) {
      return arrow::Status::Invalid("--target-size must be a positive number of bytes");
    }
    o.target_size = target_size_;
    o.zorder_by = SplitList(zorder_by_);
    o.max_attempts = max_retries_ + 1;
    return RunOptimize(table_, o, json_);
  }
  if (vacuum_->parsed()) {
    VacuumOptions o;
    if (vacuum_->count("--retention-hours")) o.retention_hours = retention_hours_;
    o.dry_run = dry_run_;
    o.enforce_retention = !force_;
    return RunVacuum(table_, o, json_);
  }
  return RunCheckpoint(table_, json_);
}

}  // namespace inlet::cli
