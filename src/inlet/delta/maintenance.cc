// Retention periods, expired log cleanup, and DeltaTable::Checkpoint.
#include "inlet/delta/maintenance.h"

#include <algorithm>
#include <chrono>
#include <limits>

#include "inlet/common/fault.h"
#include "inlet/common/time.h"
#include "inlet/delta/checkpoint_writer.h"
#include "inlet/delta/delta_table.h"
#include "inlet/delta/features.h"
#include "inlet/delta/log_replay.h"
#include "inlet/delta/log_segment.h"

namespace inlet::delta {

namespace {

arrow::Result<int64_t> Retention(const Metadata& metadata, const char* key,
                                 int64_t fallback) {
  auto value = metadata.Property(key);
  if (!value) return fallback;
  auto ms = ParseIntervalMillis(*value);
  if (!ms.ok())
    return ms.status().WithMessage("table property ", key, ": ", ms.status().message());
  return ms;
}

}  // namespace

arrow::Result<int64_t> DeletedFileRetention(const Metadata& metadata) {
  return Retention(metadata, "delta.deletedFileRetentionDuration",
                   kDefaultDeletedFileRetentionMs);
}

arrow::Result<int64_t> LogRetention(const Metadata& metadata) {
  return Retention(metadata, "delta.logRetentionDuration", kDefaultLogRetentionMs);
}

arrow::Result<FileCounts> CountLogFiles(const TableStore& store) {
  ARROW_ASSIGN_OR_RAISE(auto infos, store.List(kLogDir));
  FileCounts out;
  for (const auto& info : infos) {
    if (info.type() != arrow::fs::FileType::File) continue;
    ++out.files;
    out.bytes += info.size();
  }
  return out;
}

arrow::Result<FileCounts> CleanupExpiredLogs(const TableStore& store,
                                             const Metadata& metadata, int64_t now_ms) {
  FileCounts deleted;
  if (metadata.Property("delta.enableExpiredLogCleanup").value_or("true") == "false")
    return deleted;
  ARROW_ASSIGN_OR_RAISE(int64_t retention, LogRetention(metadata));
  const int64_t cutoff = now_ms - retention;
  ARROW_ASSIGN_OR_RAISE(auto infos, store.List(kLogDir));
  ARROW_ASSIGN_OR_RAISE(auto listing, ListLog(store, infos));
  // The newest checkpoint before which every commit has expired: versions from it on are
  // rebuilt from it, so nothing older is needed.
  int64_t first_live =
      std::numeric_limits<int64_t>::max();  // the oldest unexpired commit
  for (const auto& c : listing.commits) {
    if (c.mtime_ms > cutoff) first_live = std::min(first_live, c.version);
  }
  int64_t keep_from = -1;
  for (const auto& checkpoint : listing.checkpoints) {
    bool expired = checkpoint.version <= first_live;
    for (const auto& f : checkpoint.files) expired = expired && f.mtime_ms <= cutoff;
    if (expired) keep_from = checkpoint.version;
  }
  if (keep_from <= 0) return deleted;
  std::vector<std::string> paths;
  for (const auto& info : infos) {
    if (info.type() != arrow::fs::FileType::File) continue;
    int64_t v = LogFileVersion(info.base_name());
    if (v < 0 || v >= keep_from || MtimeMillis(info) > cutoff) continue;
    paths.push_back(info.path());
    ++deleted.files;
    deleted.bytes += info.size();
  }
  // Oldest first, so that a cleanup cut short leaves a contiguous log.
  std::sort(paths.begin(), paths.end());
  for (const auto& p : paths) {
    FaultStep();
    auto st = store.fs()->DeleteFile(p);
    if (!st.ok()) {
      auto info = store.fs()->GetFileInfo(p);
      if (info.ok() && info->type() == arrow::fs::FileType::NotFound)
        continue;  // a concurrent cleanup
      return st.WithMessage("cannot delete expired log file ", p, ": ", st.message());
    }
  }
  return deleted;
}

arrow::Result<CheckpointResult> DeltaTable::Checkpoint() {
  auto start = std::chrono::steady_clock::now();
  CheckpointResult result;
  ARROW_ASSIGN_OR_RAISE(auto snapshot, LoadSnapshot({}));
  const TableState& state = snapshot->state();
  auto writable = CheckWritable(state.protocol, state.metadata, snapshot->delta_schema());
  if (!writable.ok())
    return writable.WithMessage("cannot checkpoint ", location(), ": ",
                                writable.message());
  ARROW_ASSIGN_OR_RAISE(result.log_before, CountLogFiles(*store_));
  ARROW_ASSIGN_OR_RAISE(result.checkpoint_bytes, WriteCheckpoint(*store_, state));
  result.version = state.version;
  auto cleaned = CleanupExpiredLogs(*store_, state.metadata, NowMillis());
  if (!cleaned.ok())
    return cleaned.status().WithMessage("cannot clean up the log of ", location(), ": ",
                                        cleaned.status().message());
  ARROW_ASSIGN_OR_RAISE(result.log_after, CountLogFiles(*store_));
  result.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  return result;
}

}  // namespace inlet::delta
