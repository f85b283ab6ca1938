// DeltaTable::Vacuum: deleting the files no version within the retention reads.
#include <arrow/filesystem/filesystem.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <span>
#include <unordered_set>

#include "inlet/common/fault.h"
#include "inlet/common/time.h"
#include "inlet/delta/app_documents.h"
#include "inlet/delta/commit.h"
#include "inlet/delta/deletion_vector.h"
#include "inlet/delta/delta_table.h"
#include "inlet/delta/features.h"
#include "inlet/delta/maintenance.h"
#include "inlet/delta/scan.h"
#include "inlet/table/tombstones.h"

namespace inlet::delta {

namespace {

constexpr double kMillisPerHour = 3600.0 * 1000;
constexpr size_t kDeleteBatch = 1000;

std::vector<std::string> Split(const std::string& rel) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    size_t slash = rel.find('/', start);
    out.push_back(rel.substr(start, slash - start));
    if (slash == std::string::npos) return out;
    start = slash + 1;
  }
}

// Whether vacuum looks at a file (its path relative to the table root): data files,
// deletion vectors, change data and inlet's tombstone files and application documents
// (delta/app_documents.h). Never the log, and not
// other hidden files or directories (names starting with '_' or '.', as Delta's vacuum),
// except partition directories of columns whose names start so.
bool Considered(const std::string& rel,
                const std::vector<std::string>& partition_columns) {
  auto parts = Split(rel);
  if (parts[0] == "_delta_log") return false;
  for (size_t i = 0; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    if (p.empty() || (p[0] != '_' && p[0] != '.')) continue;
    if (i + 1 == parts.size()) return false;
    if (i == 0 && p == "_change_data") continue;
    if (i == 0 && p == "_inlet" && parts.size() > 2 &&
        (parts[1] == "tombstones" || parts[1] == "apps"))
      continue;
    bool partition_dir =
        std::any_of(partition_columns.begin(), partition_columns.end(),
                    [&](const std::string& c) { return p.rfind(c + "=", 0) == 0; });
    if (!partition_dir) return false;
  }
  return true;
}

arrow::Status AddReferenced(const TableStore& store, const std::string& path,
                            const std::optional<DeletionVectorDescriptor>& dv,
                            std::unordered_set<std::string>* out) {
  out->insert(DataFilePath(store, path));
  if (dv && dv->storage_type != "i") {
    ARROW_ASSIGN_OR_RAISE(auto dv_path, DvFilePath(store, *dv));
    out->insert(dv_path);
  }
  return arrow::Status::OK();
}

// A commit of commitInfo only, as Delta's vacuum records its start and end.
arrow::Result<int64_t> CommitInfoOnly(const TableStore& store, int64_t read_version,
                                      const std::string& operation, Json params,
                                      Json metrics) {
  PendingCommit pending;
  pending.actions.commit_info = Json{{"operation", operation},
                                     {"operationParameters", std::move(params)},
                                     {"operationMetrics", std::move(metrics)}};
  int attempts = 0;
  return CommitWithRetries(store, read_version, pending, 200, &attempts);
}

arrow::Status DeleteFiles(arrow::fs::FileSystem& fs, std::span<const std::string> paths) {
  for (size_t i = 0; i < paths.size(); i += kDeleteBatch) {
    std::vector<std::string> batch(
        paths.begin() + i, paths.begin() + std::min(paths.size(), i + kDeleteBatch));
    FaultStep();
    if (fs.DeleteFiles(batch).ok()) continue;
    // One at a time, tolerating files a concurrent vacuum deleted first.
    for (const auto& p : batch) {
      auto st = fs.DeleteFile(p);
      if (st.ok()) continue;
      auto info = fs.GetFileInfo(p);
      if (info.ok() && info->type() == arrow::fs::FileType::NotFound) continue;
      return st.WithMessage("cannot delete ", p, ": ", st.message());
    }
  }
  return arrow::Status::OK();
}

// "168", "0.5": hours without trailing zeros.
std::string Hours(int64_t ms) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%g", ms / kMillisPerHour);
  return buf;
}

}  // namespace

arrow::Result<VacuumResult> DeltaTable::Vacuum(const VacuumOptions& options) {
  auto start = std::chrono::steady_clock::now();
  const std::string& loc = location();
  ARROW_ASSIGN_OR_RAISE(auto snapshot, LoadSnapshot({}));
  const TableState& state = snapshot->state();
  auto writable = CheckWritable(state.protocol, state.metadata, snapshot->delta_schema());
  if (!writable.ok())
    return writable.WithMessage("cannot vacuum ", loc, ": ", writable.message());
  auto table_retention = DeletedFileRetention(state.metadata);
  if (!table_retention.ok())
    return table_retention.status().WithMessage("cannot vacuum ", loc, ": ",
                                                table_retention.status().message());
  int64_t retention_ms = *table_retention;
  if (options.retention_hours) {
    if (!(*options.retention_hours >= 0) || !std::isfinite(*options.retention_hours)) {
      return arrow::Status::Invalid("cannot vacuum ", loc,
                                    ": the retention must be a number of hours >= 0");
    }
    retention_ms = static_cast<int64_t>(*options.retention_hours * kMillisPerHour);
  }
  if (options.enforce_retention && retention_ms < *table_retention) {
    return arrow::Status::Invalid(
        "cannot vacuum ", loc, " with a retention of ", Hours(retention_ms),
        " hours: the table's delta.deletedFileRetentionDuration is ",
        Hours(*table_retention),
        " hours, and younger files may still be read by time travel or belong to "
        "commits in progress (inlet vacuum --force vacuums anyway)");
  }
  VacuumResult result;
  result.retention_hours = retention_ms / kMillisPerHour;
  result.dry_run = options.dry_run;
  const int64_t cutoff = NowMillis() - retention_ms;

  // What versions within the retention read: the live files and the removes that have not
  // expired, with their deletion vectors, and the tombstone files of the latest version.
  std::unordered_set<std::string> referenced;
  for (const auto& f : state.files)
    ARROW_RETURN_NOT_OK(AddReferenced(*store_, f.path, f.deletion_vector, &referenced));
  for (const auto& r : state.tombstones) {
    if (r.deletion_timestamp.value_or(0) > cutoff) {
      ARROW_RETURN_NOT_OK(AddReferenced(*store_, r.path, r.deletion_vector, &referenced));
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto remembered, snapshot->AppDocument(table::kTombstoneApp));
  if (remembered) {
    ARROW_ASSIGN_OR_RAISE(auto files, table::TombstoneFiles(*remembered));
    for (const auto& f : files) referenced.insert(store_->Resolve(f));
  }
  // Application documents kept in files: those of the latest version and of the version
  // time travel to the retention's start reads, and those younger than the retention (a
  // margin of up to an hour before it covers a document written shortly before its
  // commit). Every version in between points at one of them: a commit that replaces a
  // document writes the new one after it read the version it replaces it in. When that
  // oldest version cannot be loaded, no document is vacuumed.
  bool keep_documents = false;
  const int64_t document_cutoff = cutoff - std::min<int64_t>(retention_ms, 3600 * 1000);
  for (const auto& p : DocumentPaths(state)) referenced.insert(store_->Resolve(p));
  SnapshotSpec oldest;
  oldest.timestamp_ms = cutoff;
  if (auto then = LoadSnapshot(oldest); then.ok()) {
    for (const auto& p : DocumentPaths((*then)->state()))
      referenced.insert(store_->Resolve(p));
  } else {
    keep_documents = true;
  }
  const std::string documents = std::string(kAppDocumentDir) + "/";

  arrow::fs::FileSelector selector;
  selector.base_dir = store_->root();
  selector.recursive = true;
  selector.allow_not_found = true;
  auto listed = store_->fs()->GetFileInfo(selector);
  if (!listed.ok())
    return listed.status().WithMessage(
        "cannot vacuum ", loc, ": cannot list its files: ", listed.status().message());
  const std::string prefix = store_->root() + "/";
  std::vector<std::string> doomed;
  for (const auto& info : *listed) {
    if (info.type() != arrow::fs::FileType::File || info.path().rfind(prefix, 0) != 0)
      continue;
    std::string rel = info.path().substr(prefix.size());
    if (!Considered(rel, state.metadata.partition_columns)) continue;
    ++result.before.files;
    result.before.bytes += info.size();
    if (referenced.count(info.path()) || MtimeMillis(info) > cutoff) continue;
    if (rel.rfind(documents, 0) == 0 &&
        (keep_documents || MtimeMillis(info) > document_cutoff))
      continue;
    doomed.push_back(info.path());
    result.files.push_back(rel);
    ++result.deleted.files;
    result.deleted.bytes += info.size();
  }
  std::sort(result.files.begin(), result.files.end());
  result.after = result.before;
  if (!options.dry_run && !doomed.empty()) {
    Json params = {{"retentionCheckEnabled", options.enforce_retention},
                   {"defaultRetentionMillis", *table_retention},
                   {"specifiedRetentionMillis", retention_ms}};
    Json planned = {{"numFilesToDelete", std::to_string(result.deleted.files)},
                    {"sizeOfDataToDelete", std::to_string(result.deleted.bytes)}};
    auto started =
        CommitInfoOnly(*store_, state.version, "VACUUM START", params, planned);
    if (!started.ok())
      return started.status().WithMessage("cannot vacuum ", loc, ": ",
                                          started.status().message());
    CrashPoint("vacuum.after_start");
    // In two halves, so that a test can kill it with some files gone and some left: a
    // re-run must finish the job (what a crash leaves is what no retained version reads).
    std::span<const std::string> all(doomed);
    size_t half = doomed.size() / 2;
    auto st = DeleteFiles(*store_->fs(), all.first(half));
    if (st.ok()) {
      CrashPoint("vacuum.after_half_deleted");
      st = DeleteFiles(*store_->fs(), all.subspan(half));
    }
    if (!st.ok()) return st.WithMessage("cannot vacuum ", loc, ": ", st.message());
    CrashPoint("vacuum.before_end");
    result.after.files -= result.deleted.files;
    result.after.bytes -= result.deleted.bytes;
    Json done = {{"numDeletedFiles", std::to_string(result.deleted.files)},
                 {"numVacuumedDirectories", "0"}};
    auto ended = CommitInfoOnly(*store_, *started, "VACUUM END",
                                Json{{"status", "COMPLETED"}}, done);
    if (!ended.ok())
      return ended.status().WithMessage("cannot vacuum ", loc, ": ",
                                        ended.status().message());
  }
  result.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  return result;
}

}  // namespace inlet::delta
