// IcebergTable::Checkpoint: Iceberg's rewrite-manifests. The data manifests of each
// partition spec of the current snapshot are rewritten into as few manifests as
// commit.manifest.target-size-bytes (8 MiB) allows, their files carried as EXISTING with
// their snapshot and sequence numbers, in a "replace" snapshot that changes no rows;
// delete manifests are kept. Planning then reads a few manifests instead of one per
// commit. A commit that loses a race plans again.
#include <chrono>
#include <map>
#include <random>

#include "inlet/common/time.h"
#include "inlet/common/uuid.h"
#include "inlet/iceberg/iceberg_table.h"
#include "inlet/iceberg/manifest_rewrite.h"
#include "inlet/iceberg/transaction.h"
#include "inlet/status.h"

namespace inlet::iceberg {

namespace {

constexpr int kMaxAttempts = 10;

int64_t RandomSnapshotId() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_int_distribution<int64_t>(1, INT64_MAX)(rng);
}

FileCounts CountOf(const std::vector<ManifestFile>& manifests) {
  FileCounts out;
  for (const auto& m : manifests) {
    ++out.files;
    out.bytes += m.length;
  }
  return out;
}

}  // namespace

arrow::Result<CheckpointResult> IcebergTable::Checkpoint() {
  auto start = std::chrono::steady_clock::now();
  ARROW_ASSIGN_OR_RAISE(auto store, RootStore());
  const std::string what = "cannot rewrite the manifests of " + location_ + ": ";
  for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
    ARROW_ASSIGN_OR_RAISE(WriteBase base, LoadForWrite());
    if (!base.metadata)
      return TableNotFound("not an Iceberg table: " + location_ +
                           " (no metadata/*.metadata.json)");
    const TableMetadata& m = *base.metadata;
    if (m.format_version != 2 && m.format_version != 3)
      return WithKind(
          arrow::Status::NotImplemented(
              what, "inlet writes format version 2 and 3 tables, and this one is ",
              m.format_version),
          ErrorKind::kUnsupportedFeature);
    const iceberg::Snapshot* parent = m.CurrentSnapshot();
    CheckpointResult result;
    if (!parent) return result;
    ARROW_ASSIGN_OR_RAISE(auto list_bytes, ReadWhole(*store, parent->manifest_list));
    ARROW_ASSIGN_OR_RAISE(auto listed,
                          ReadManifestList(list_bytes, parent->manifest_list));
    result.log_before = CountOf(listed);
    result.log_after = result.log_before;
    result.version = parent->sequence_number;

    std::map<int32_t, std::vector<const ManifestFile*>> by_spec;
    for (const auto& mf : listed)
      if (mf.content == ManifestContent::kData)
        by_spec[mf.partition_spec_id].push_back(&mf);
    bool rewrites = false;
    for (const auto& [spec, group] : by_spec) rewrites = rewrites || group.size() > 1;
    if (!rewrites) {
      result.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                               std::chrono::steady_clock::now() - start)
                               .count();
      return result;
    }

    const int64_t snapshot_id = RandomSnapshotId();
    const int64_t sequence = m.last_sequence_number + 1;
    const Schema* schema = m.CurrentSchema();
    if (!schema)
      return arrow::Status::Invalid(what, "the metadata has no current schema");
    const int64_t target =
        IntValue(m.properties, "commit.manifest.target-size-bytes", 8 * 1024 * 1024);
    std::vector<ManifestFile> manifests;
    int64_t replaced = 0, created = 0, kept = 0, entries_seen = 0;
    for (const auto& mf : listed)
      if (mf.content != ManifestContent::kData ||
          by_spec[mf.partition_spec_id].size() < 2) {
        manifests.push_back(mf);
        ++kept;
      }
    for (const auto& [spec_id, group] : by_spec) {
      if (group.size() < 2) continue;
      const PartitionSpec* spec = m.SpecById(spec_id);
      if (!spec)
        return arrow::Status::Invalid(what, "a manifest names partition spec ", spec_id,
                                      ", which the table metadata lacks");
      auto bound = BindSpec(*spec, *schema->arrow_schema);
      if (!bound.ok())
        return bound.status().WithMessage(what, "partition spec ", spec_id, ": ",
                                          bound.status().message());
      ARROW_ASSIGN_OR_RAISE(
          auto contexts, ManifestsOfSpec(*bound, *schema->arrow_schema, schema->schema_id,
                                         m.format_version));
      ManifestWriter writer;
      writer.store = store.get();
      writer.base_uri = TableUri();
      writer.context = &contexts.data;
      writer.fields = &contexts.bound.fields;
      writer.snapshot_id = snapshot_id;
      writer.sequence_number = sequence;
      std::vector<EntryToWrite> pending;
      int64_t pending_bytes = 0;
      auto flush = [&]() -> arrow::Status {
        if (pending.empty()) return arrow::Status::OK();
        ARROW_ASSIGN_OR_RAISE(auto out, writer.Write(pending, "r"));
        manifests.push_back(std::move(out));
        ++created;
        pending.clear();
        pending_bytes = 0;
        return arrow::Status::OK();
      };
      for (const ManifestFile* mf : group) {
        ++replaced;
        ARROW_ASSIGN_OR_RAISE(auto bytes, ReadWhole(*store, mf->path));
        ARROW_ASSIGN_OR_RAISE(auto entries, ReadManifest(bytes, mf->path, *mf));
        // Each entry's share of its manifest's bytes, to cut the new ones near the
        // target.
        const int64_t per_entry =
            entries.empty() ? 0 : mf->length / static_cast<int64_t>(entries.size());
        for (const auto& e : entries) {
          if (e.status == EntryStatus::kDeleted) continue;
          ++entries_seen;
          ARROW_ASSIGN_OR_RAISE(auto carried, writer.Carried(e, false));
          pending.push_back(std::move(carried));
          pending_bytes += per_entry;
          if (pending_bytes >= target) ARROW_RETURN_NOT_OK(flush());
        }
      }
      ARROW_RETURN_NOT_OK(flush());
    }
    TableMetadata next = m;
    iceberg::Snapshot snap;
    AssignRowIds(&next, &manifests, &snap);
    ARROW_ASSIGN_OR_RAISE(
        auto new_list, WriteManifestList(manifests, snapshot_id, parent->snapshot_id,
                                         sequence, m.format_version, snap.first_row_id));
    std::string list_rel = "metadata/snap-" + std::to_string(snapshot_id) + "-" +
                           std::to_string(attempt) + "-" + NewUuid() + ".avro";
    ARROW_RETURN_NOT_OK(store->PutReplace(list_rel, new_list));

    snap.snapshot_id = snapshot_id;
    snap.parent_snapshot_id = parent->snapshot_id;
    snap.sequence_number = sequence;
    snap.timestamp_ms = std::max(NowMillis(), m.last_updated_ms + 1);
    snap.manifest_list = TableUri() + "/" + list_rel;
    snap.schema_id = m.current_schema_id;
    snap.summary = AppKeysOf(m, parent);
    for (const auto& [k, v] : parent->summary)
      if (k.rfind("total-", 0) == 0) snap.summary[k] = v;
    snap.summary["operation"] = "replace";
    snap.summary["inlet.operation"] = "REWRITE MANIFESTS";
    snap.summary["engine-name"] = "inlet";
    snap.summary["manifests-created"] = std::to_string(created);
    snap.summary["manifests-replaced"] = std::to_string(replaced);
    snap.summary["manifests-kept"] = std::to_string(kept);
    snap.summary["entries-processed"] = std::to_string(entries_seen);
    // The mirror of the application keys now names this snapshot.
    for (auto it = next.properties.begin(); it != next.properties.end();)
      it = IsAppKey(it->first) ? next.properties.erase(it) : std::next(it);
    next.properties.erase(kAppMirrorSnapshotKey);
    bool mirrored = false;
    for (const auto& [k, v] : snap.summary)
      if (IsAppKey(k)) {
        next.properties[k] = v;
        mirrored = true;
      }
    if (mirrored) next.properties[kAppMirrorSnapshotKey] = std::to_string(snapshot_id);
    next.snapshots.push_back(snap);
    next.current_snapshot_id = snapshot_id;
    next.refs["main"] =
        SnapshotRef{snapshot_id, "branch",
                    m.refs.count("main") ? m.refs.at("main").retention : Json::object()};
    next.snapshot_log.push_back(SnapshotLogEntry{snap.timestamp_ms, snapshot_id});
    if (!base.metadata_uri.empty())
      next.metadata_log.push_back(MetadataLogEntry{m.last_updated_ms, base.metadata_uri});
    next.last_sequence_number = sequence;
    next.last_updated_ms = snap.timestamp_ms;
    ARROW_ASSIGN_OR_RAISE(auto text, SerializeMetadata(next));
    ARROW_ASSIGN_OR_RAISE(bool committed, CommitMetadata(base, next, text));
    if (!committed) {
      // Lost to a concurrent commit: the files written here are unreferenced.
      (void)store->fs()->DeleteFile(store->Resolve(list_rel));
      for (size_t i = kept; i < manifests.size(); ++i)
        (void)store->fs()->DeleteFile(FilePath(*store, manifests[i].path));
      continue;
    }
    result.version = sequence;
    result.log_after = CountOf(manifests);
    result.checkpoint_bytes = 0;
    for (size_t i = kept; i < manifests.size(); ++i)
      result.checkpoint_bytes += manifests[i].length;
    result.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::steady_clock::now() - start)
                             .count();
    return result;
  }
  return CommitConflict(what + "gave up after " + std::to_string(kMaxAttempts) +
                        " attempts lost to concurrent writers");
}

}  // namespace inlet::iceberg
