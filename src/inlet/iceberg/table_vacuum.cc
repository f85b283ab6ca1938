// IcebergTable::Vacuum: Iceberg's expire-snapshots followed by remove-orphan-files, as
// one operation (docs/formats.md, Maintenance). Snapshots older than the retention are
// dropped from the metadata, except the current one, those refs name, the newest
// min-snapshots-to-keep of main, and those holding a pipeline's latest state; then every
// file under the table location that no remaining snapshot reaches (manifest lists,
// manifests, data and delete files, statistics files, inlet's documents and tombstones)
// and that is older than the retention is deleted. Metadata files (*.metadata.json,
// version-hint.text) are never deleted.
#include <arrow/filesystem/filesystem.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <set>
#include <unordered_set>

#include "inlet/common/fault.h"
#include "inlet/common/time.h"
#include "inlet/iceberg/iceberg_table.h"
#include "inlet/iceberg/manifest.h"
#include "inlet/iceberg/transaction.h"
#include "inlet/status.h"
#include "inlet/table/app_objects.h"
#include "inlet/table/tombstones.h"

namespace inlet::iceberg {

namespace {

constexpr double kMillisPerHour = 3600.0 * 1000;
// Iceberg's defaults (TableProperties): 5 days, and one snapshot.
constexpr int64_t kDefaultMaxSnapshotAgeMs = 5LL * 24 * 3600 * 1000;
constexpr int kMaxAttempts = 10;
constexpr int64_t kOrphanFloorMs = 3LL * 24 * 3600 * 1000;

// A file URI as a comparable path: file:/x, file:///x and /x are one file; s3a:// and
// s3n:// are s3://.
std::string Normalized(std::string uri) {
  for (const char* scheme : {"s3a://", "s3n://"})
    if (uri.rfind(scheme, 0) == 0) uri = "s3://" + uri.substr(std::string(scheme).size());
  if (uri.rfind("file:", 0) == 0) {
    uri = uri.substr(5);
    size_t slashes = uri.find_first_not_of('/');
    uri = "/" + (slashes == std::string::npos ? std::string() : uri.substr(slashes));
  }
  // Repeated slashes after the scheme name one file.
  const size_t from = uri.rfind("s3://", 0) == 0 ? 5 : 0;
  std::string out = uri.substr(0, from);
  for (size_t i = from; i < uri.size(); ++i)
    if (!(uri[i] == '/' && !out.empty() && out.back() == '/')) out += uri[i];
  return out;
}

// Whether the vacuum leaves a file (relative to the table location) alone whatever
// references it: the metadata files and the version hint, which are the table's log.
bool IsLog(const std::string& rel) {
  auto name = rel.substr(rel.find_last_of('/') + 1);
  return name == "version-hint.text" ||
         (name.size() > 14 && name.compare(name.size() - 14, 14, ".metadata.json") == 0);
}

std::string Hours(double h) {
  char text[32];
  std::snprintf(text, sizeof(text), "%g", h);
  return text;
}

}  // namespace

arrow::Result<VacuumResult> IcebergTable::Vacuum(const VacuumOptions& o) {
  auto start = std::chrono::steady_clock::now();
  ARROW_ASSIGN_OR_RAISE(auto store, RootStore());
  VacuumResult result;
  result.dry_run = o.dry_run;
  std::shared_ptr<const TableMetadata> kept;  // the metadata after expiry
  for (int attempt = 0;; ++attempt) {
    ARROW_ASSIGN_OR_RAISE(WriteBase base, LoadForWrite());
    if (!base.metadata)
      return TableNotFound("not an Iceberg table: " + location_ +
                           " (no metadata/*.metadata.json)");
    const TableMetadata& m = *base.metadata;
    // Java refuses to expire or remove files of such a table: other tables may share
    // them.
    if (auto gc = m.properties.find("gc.enabled");
        gc != m.properties.end() && (gc->second == "false" || gc->second == "FALSE"))
      return arrow::Status::Invalid(
          "cannot vacuum ", location_,
          ": its gc.enabled property is false (its files may be "
          "shared with other tables)");
    const int64_t table_ms = IntValue(m.properties, "history.expire.max-snapshot-age-ms",
                                      kDefaultMaxSnapshotAgeMs);
    result.retention_hours = o.retention_hours.value_or(table_ms / kMillisPerHour);
    if (!std::isfinite(result.retention_hours) || result.retention_hours < 0)
      return arrow::Status::Invalid(
          "cannot vacuum ", location_,
          ": the retention must be a non-negative number of hours");
    if (o.enforce_retention && result.retention_hours * kMillisPerHour < table_ms)
      return arrow::Status::Invalid(
          "cannot vacuum ", location_, " with a retention of ",
          Hours(result.retention_hours),
          " hours: the table's history.expire.max-snapshot-age-ms keeps ",
          Hours(table_ms / kMillisPerHour),
          " hours of snapshots (readers time-travelling there would fail); pass --force "
          "to vacuum all the same");
    const int64_t cutoff =
        NowMillis() - static_cast<int64_t>(result.retention_hours * kMillisPerHour);
    const int64_t min_keep = std::max<int64_t>(
        1, IntValue(m.properties, "history.expire.min-snapshots-to-keep", 1));

    // What stays: young snapshots, the current one and the newest of main's ancestry,
    // ref heads, and the snapshots providing each pipeline's latest keys (readers of the
    // current snapshot find state in its ancestry).
    std::set<int64_t> keep;
    for (const auto& s : m.snapshots)
      if (s.timestamp_ms >= cutoff) keep.insert(s.snapshot_id);
    // Refs other than main whose head is older than their max-ref-age-ms (the ref's
    // setting, else the table's history.expire.max-ref-age-ms; unset: forever) go, as
    // Java's RemoveSnapshots drops them.
    const int64_t table_ref_age =
        IntValue(m.properties, "history.expire.max-ref-age-ms", -1);
    std::map<std::string, SnapshotRef> refs;
    result.refs_removed.clear();  // of an attempt lost to a concurrent commit
    for (const auto& [name, ref] : m.refs) {
      const Json& r = ref.retention;
      const int64_t age = r.is_object() && r.contains("max-ref-age-ms") &&
                                  r["max-ref-age-ms"].is_number_integer()
                              ? r["max-ref-age-ms"].get<int64_t>()
                              : table_ref_age;
      const iceberg::Snapshot* head = m.SnapshotById(ref.snapshot_id);
      // A ref naming a snapshot the table lacks goes too, as Java drops it.
      if (name != "main" &&
          (!head || (age >= 0 && head->timestamp_ms < NowMillis() - age))) {
        result.refs_removed.push_back(name);
        continue;
      }
      refs.emplace(name, ref);
    }
    // Every ref's head; and along each branch, its newest min-snapshots-to-keep and those
    // younger than its max-snapshot-age-ms, the ref's own settings first (as Java's
    // RemoveSnapshots does).
    for (const auto& [name, ref] : refs) {
      keep.insert(ref.snapshot_id);
      if (ref.type != "branch") continue;
      auto setting = [&](const char* key, int64_t fallback) {
        const Json& r = ref.retention;
        return r.is_object() && r.contains(key) && r[key].is_number_integer()
                   ? r[key].get<int64_t>()
                   : fallback;
      };
      const int64_t ref_min = setting("min-snapshots-to-keep", min_keep);
      const int64_t ref_age = setting("max-snapshot-age-ms", -1);
      const int64_t ref_cutoff = ref_age >= 0 ? NowMillis() - ref_age : cutoff;
      int64_t i = 0;
      for (const auto* s : m.Ancestry(m.SnapshotById(ref.snapshot_id))) {
        if (i++ < ref_min || s->timestamp_ms >= ref_cutoff) keep.insert(s->snapshot_id);
      }
    }
    auto ancestry = m.Ancestry(m.CurrentSnapshot());
    for (size_t i = 0; i < ancestry.size() && static_cast<int64_t>(i) < min_keep; ++i)
      keep.insert(ancestry[i]->snapshot_id);
    std::set<std::string> keys_seen;
    for (const auto* s : ancestry)
      for (const auto& [k, v] : s->summary)
        if ((k.rfind(kAppVersionKey, 0) == 0 || k.rfind(kAppDocumentKey, 0) == 0) &&
            keys_seen.insert(k).second)
          keep.insert(s->snapshot_id);

    TableMetadata next = m;
    next.refs = refs;
    next.snapshots.clear();
    for (const auto& s : m.snapshots)
      if (keep.count(s.snapshot_id)) next.snapshots.push_back(s);
    const bool expires =
        next.snapshots.size() != m.snapshots.size() || refs.size() != m.refs.size();
    if (expires) {
      next.snapshot_log.clear();
      for (const auto& e : m.snapshot_log)
        if (keep.count(e.snapshot_id)) next.snapshot_log.push_back(e);
      for (const char* member : {"statistics", "partition-statistics"}) {
        if (!next.other.contains(member) || !next.other[member].is_array()) continue;
        Json left = Json::array();
        for (const auto& f : next.other[member])
          if (!f.contains("snapshot-id") || !f["snapshot-id"].is_number_integer() ||
              keep.count(f["snapshot-id"].get<int64_t>()))
            left.push_back(f);
        next.other[member] = left;
      }
      next.metadata_log.push_back(MetadataLogEntry{m.last_updated_ms, base.metadata_uri});
      next.last_updated_ms = std::max(NowMillis(), m.last_updated_ms + 1);
    }
    if (!expires || o.dry_run) {
      kept = std::make_shared<TableMetadata>(std::move(next));
      break;
    }
    ARROW_ASSIGN_OR_RAISE(auto text, SerializeMetadata(next));
    ARROW_ASSIGN_OR_RAISE(bool created, CommitMetadata(base, next, text));
    if (created) {
      kept = std::make_shared<TableMetadata>(std::move(next));
      break;
    }
    if (attempt + 1 >= kMaxAttempts)
      return CommitConflict("cannot vacuum " + location_ + ": gave up after " +
                            std::to_string(kMaxAttempts) +
                            " attempts lost to concurrent writers");
  }

  // Files are compared by the paths the metadata names: a table reached by another path
  // (a symlink, a copy) would find none of its files referenced.
  if (Normalized(kept->location) != Normalized(TableUri()) &&
      Normalized(kept->location) != Normalized(TableUri()) + "/")
    return arrow::Status::Invalid("cannot vacuum ", location_,
                                  ": its metadata gives the table's location as ",
                                  kept->location, "; vacuum it there");
  // Everything the remaining snapshots reach.
  std::unordered_set<std::string> reached;
  std::set<std::string> manifests_read;
  const std::string root = Normalized(TableUri());
  // inlet's documents (and the tombstone files the tombstone document lists) that a map
  // of application keys names.
  auto reach_documents = [&](const std::map<std::string, std::string>& keys,
                             const std::string& where) -> arrow::Status {
    for (const auto& [k, v] : keys) {
      if (k.rfind(kAppDocumentKey, 0) != 0) continue;
      const std::string app = k.substr(std::string(kAppDocumentKey).size());
      char* end = nullptr;
      long long id = std::strtoll(v.c_str(), &end, 10);
      if (id <= 0 || *end) continue;
      const std::string path = root + "/" + table::AppObjectPath(app, id);
      if (!reached.insert(path).second || app != table::kTombstoneApp) continue;
      ARROW_ASSIGN_OR_RAISE(auto document, table::ReadAppObject(*store, app, id, where));
      ARROW_ASSIGN_OR_RAISE(auto files, table::TombstoneFiles(document));
      for (const auto& f : files) reached.insert(root + "/" + f);
    }
    return arrow::Status::OK();
  };
  for (const auto& s : kept->snapshots) {
    reached.insert(Normalized(s.manifest_list));
    ARROW_ASSIGN_OR_RAISE(auto list_bytes, ReadWhole(*store, s.manifest_list));
    ARROW_ASSIGN_OR_RAISE(auto listed, ReadManifestList(list_bytes, s.manifest_list));
    for (const auto& mf : listed) {
      if (!manifests_read.insert(mf.path).second) continue;
      reached.insert(Normalized(mf.path));
      ARROW_ASSIGN_OR_RAISE(auto bytes, ReadWhole(*store, mf.path));
      ARROW_ASSIGN_OR_RAISE(auto entries, ReadManifest(bytes, mf.path, mf));
      for (const auto& e : entries)
        if (e.status != EntryStatus::kDeleted)
          reached.insert(Normalized(e.file.file_path));
    }
    ARROW_RETURN_NOT_OK(
        reach_documents(s.summary, "snapshot " + std::to_string(s.snapshot_id)));
  }
  // The table properties' mirror of the latest application keys (their snapshots may
  // have been expired by another engine), when it is what the current snapshot reads.
  const iceberg::Snapshot* current = kept->CurrentSnapshot();
  if (UseAppMirror(*kept, current))
    ARROW_RETURN_NOT_OK(reach_documents(kept->properties, "the table properties"));
  // Whether the current snapshot's application state is known: from a snapshot inlet
  // wrote in its ancestry, the mirror, or an ancestry that expiry did not cut.
  bool state_known = UseAppMirror(*kept, current);
  {
    auto ancestry = kept->Ancestry(current);
    const iceberg::Snapshot* oldest = ancestry.empty() ? nullptr : ancestry.back();
    if (!oldest || !oldest->parent_snapshot_id ||
        kept->SnapshotById(*oldest->parent_snapshot_id))
      state_known = true;
    for (const auto* a : ancestry)
      if (a->summary.count("inlet.operation")) state_known = true;
  }
  for (const char* member : {"statistics", "partition-statistics"}) {
    if (!kept->other.contains(member) || !kept->other[member].is_array()) continue;
    for (const auto& f : kept->other[member])
      if (f.contains("statistics-path") && f["statistics-path"].is_string())
        reached.insert(Normalized(f["statistics-path"].get<std::string>()));
  }

  // Every file under the location; those unreached and older than the retention go.
  // Without --force nothing younger than three days goes, whatever the retention (as
  // Java's orphan removal): a long commit in progress may still reference its files.
  int64_t cutoff =
      NowMillis() - static_cast<int64_t>(result.retention_hours * kMillisPerHour);
  if (o.enforce_retention) cutoff = std::min(cutoff, NowMillis() - kOrphanFloorMs);
  arrow::fs::FileSelector selector;
  selector.base_dir = store->root();
  selector.recursive = true;
  selector.allow_not_found = true;
  ARROW_ASSIGN_OR_RAISE(auto infos, store->fs()->GetFileInfo(selector));
  std::vector<std::string> doomed;
  for (const auto& info : infos) {
    if (!info.IsFile()) continue;
    std::string rel =
        info.path().substr(std::min(info.path().size(), store->root().size()));
    while (!rel.empty() && rel[0] == '/') rel.erase(0, 1);
    if (IsLog(rel)) continue;
    result.before.files += 1;
    result.before.bytes += info.size();
    if (reached.count(root + "/" + rel)) continue;
    // With a pipeline's state unknown (every snapshot inlet wrote expired, no mirror) its
    // documents and tombstones are all kept: they may be the state.
    if (!state_known && rel.rfind("_inlet/", 0) == 0) continue;
    auto mtime = std::chrono::duration_cast<std::chrono::milliseconds>(
                     info.mtime().time_since_epoch())
                     .count();
    if (mtime >= cutoff) continue;
    doomed.push_back(rel);
    result.deleted.files += 1;
    result.deleted.bytes += info.size();
  }
  std::sort(doomed.begin(), doomed.end());
  if (!o.dry_run)
    for (const auto& rel : doomed) {
      FaultStep();
      auto st = store->fs()->DeleteFile(store->Resolve(rel));
      if (st.ok()) continue;
      // Gone already (another vacuum) is fine; anything else stops the vacuum.
      auto info = store->fs()->GetFileInfo(store->Resolve(rel));
      if (info.ok() && info->type() == arrow::fs::FileType::NotFound) continue;
      return st.WithMessage("cannot vacuum ", location_, ": cannot delete ", rel, ": ",
                            st.message());
    }
  result.files = std::move(doomed);
  result.after.files = result.before.files - result.deleted.files;
  result.after.bytes = result.before.bytes - result.deleted.bytes;
  result.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - start)
                           .count();
  return result;
}

}  // namespace inlet::iceberg
