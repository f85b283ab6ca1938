// DeltaTable::Restore: the table as of an earlier version, committed as a new version
// (Delta's RESTORE). Files of that version the table no longer has are added back, files
// it has that the version had not are removed; the metadata and the application
// documents (pipeline states, remembered deletes) are the version's, so
// that a pipeline loads again what the restore took away. The protocol is never lowered,
// and application run numbers (txn) keep growing.
#include <arrow/filesystem/filesystem.h>

#include <map>
#include <set>

#include "inlet/common/time.h"
#include "inlet/delta/app_documents.h"
#include "inlet/delta/commit.h"
#include "inlet/delta/deletion_vector.h"
#include "inlet/delta/delta_table.h"
#include "inlet/delta/features.h"
#include "inlet/delta/scan.h"

namespace inlet::delta {

namespace {

// A file the restore adds back must still be there: a vacuum may have deleted it.
arrow::Status CheckPresent(const TableStore& store, const AddFile& f, int64_t version) {
  std::vector<std::string> paths = {DataFilePath(store, f.path)};
  if (f.deletion_vector && f.deletion_vector->storage_type != "i") {
    ARROW_ASSIGN_OR_RAISE(auto dv, DvFilePath(store, *f.deletion_vector));
    paths.push_back(dv);
  }
  for (const auto& path : paths) {
    ARROW_ASSIGN_OR_RAISE(auto info, store.fs()->GetFileInfo(path));
    if (info.type() != arrow::fs::FileType::File) {
      return arrow::Status::Invalid(
          "cannot restore ", store.location(), " to version ", version, ": its file ",
          path, " is gone (vacuumed?); the version cannot be restored");
    }
  }
  return arrow::Status::OK();
}

}  // namespace

arrow::Result<RestoreResult> DeltaTable::Restore(const SnapshotSpec& target) {
  ARROW_ASSIGN_OR_RAISE(auto current, LoadSnapshot({}));
  ARROW_ASSIGN_OR_RAISE(auto old, LoadSnapshot(target));
  RestoreResult result;
  result.restored_version = old->version();
  if (old->version() == current->version()) {
    return arrow::Status::Invalid("cannot restore ", location(), " to version ",
                                  old->version(), ": it is the current version");
  }
  std::map<std::string, const AddFile*> now, then;
  for (const auto& f : current->state().files)
    now[FileKey(f.path, f.deletion_vector)] = &f;
  for (const auto& f : old->state().files) then[FileKey(f.path, f.deletion_vector)] = &f;
  PendingCommit commit;
  const int64_t ts = NowMillis();
  int64_t restored_bytes = 0, removed_bytes = 0;
  for (const auto& [key, f] : then) {
    if (now.count(key)) continue;
    ARROW_RETURN_NOT_OK(CheckPresent(*store_, *f, old->version()));
    AddFile a = *f;
    a.data_change = true;
    a.modification_time = ts;
    restored_bytes += a.size;
    commit.actions.adds.push_back(std::move(a));
  }
  for (const auto& [key, f] : now) {
    if (then.count(key)) continue;
    removed_bytes += f->size;
    commit.actions.removes.push_back(ToRemove(*f, ts));
  }
  const TableState& was = old->state();
  const TableState& is = current->state();
  if (ToJson(was.metadata) != ToJson(is.metadata)) commit.actions.metadata = was.metadata;
  // Other engines' domains come back as they were.
  auto foreign = [](const std::string& name) { return name.rfind(kInletApps, 0) != 0; };
  for (const auto& [name, d] : is.domains) {
    if (!foreign(name)) continue;
    auto it = was.domains.find(name);
    if (it == was.domains.end()) {
      commit.actions.domains.push_back(DomainMetadata{name, d.configuration, true});
    } else if (it->second.configuration != d.configuration) {
      commit.actions.domains.push_back(it->second);
    }
  }
  for (const auto& [name, d] : was.domains) {
    if (foreign(name) && !is.domains.count(name)) commit.actions.domains.push_back(d);
  }
  // inlet's documents: the version's, where the metadata it restores keeps them (one kept
  // in a file is written again, as a new file). Only those that differ are read, so that
  // a document the table lost does not stop a restore to a version before it.
  std::set<std::string> apps;
  for (const auto* state : {&was, &is})
    for (const auto& app : DocumentApps(*state, kInletApps)) apps.insert(app);
  bool needs_domains = false;
  const bool same_place =
      KeepsDocumentsInFiles(was.metadata) == KeepsDocumentsInFiles(is.metadata);
  for (const auto& app : apps) {
    if (same_place && DocumentPointer(was, app) == DocumentPointer(is, app)) continue;
    auto document = ReadDocument(*store_, was, app);
    if (!document.ok())
      return document.status().WithMessage("cannot restore ", location(), " to version ",
                                           was.version, ": ",
                                           document.status().message());
    auto st = RecordDocument(*store_, &is, was.metadata, app, *document, ts,
                             &commit.actions, &needs_domains);
    if (!st.ok())
      return st.WithMessage("cannot restore ", location(), ": ", st.message());
  }
  if (needs_domains) {
    Protocol upgraded = WithWriterFeature(is.protocol, "domainMetadata");
    if (upgraded.min_writer_version != is.protocol.min_writer_version ||
        upgraded.writer_features != is.protocol.writer_features)
      commit.actions.protocol = upgraded;
  }
  int64_t files_after = static_cast<int64_t>(then.size());
  int64_t bytes_after = 0;
  for (const auto& [key, f] : then) bytes_after += f->size;
  Json params = Json::object();
  if (target.version) params["version"] = std::to_string(*target.version);
  if (target.timestamp_ms)
    params["timestamp"] = FormatTimestampMillisIso(*target.timestamp_ms);
  commit.actions.commit_info =
      Json{{"operation", "RESTORE"},
           {"operationParameters", params},
           {"operationMetrics",
            {{"numRestoredFiles", std::to_string(commit.actions.adds.size())},
             {"numRemovedFiles", std::to_string(commit.actions.removes.size())},
             {"restoredFilesSize", std::to_string(restored_bytes)},
             {"removedFilesSize", std::to_string(removed_bytes)},
             {"numOfFilesAfterRestore", std::to_string(files_after)},
             {"tableSizeAfterRestore", std::to_string(bytes_after)}}}};
  // The restore read the whole table: any concurrent change conflicts.
  commit.reads_partition = [](const PartitionValues&) { return true; };
  result.files_added = static_cast<int64_t>(commit.actions.adds.size());
  result.files_removed = static_cast<int64_t>(commit.actions.removes.size());
  auto version = CommitWithRetries(*store_, current->version(), commit,
                                   /*max_attempts=*/10, &result.attempts);
  if (!version.ok()) {
    return version.status().WithMessage("cannot restore ", location(), ": ",
                                        version.status().message());
  }
  result.version = *version;
  return result;
}

}  // namespace inlet::delta
