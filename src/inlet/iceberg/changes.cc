// IcebergTable::Changes: the rows inserted and deleted by the snapshots of main's history
// whose sequence numbers fall in a range, as Spark's create_changelog_view gives them
// (without computed updates): each snapshot's added data files read as inserts, its
// removed data files (as its parent read them) and the rows its new delete files delete
// as deletes, and the carry-over rows of a copy-on-write rewrite (deleted and inserted
// alike in one snapshot) left out. "replace" snapshots (compactions) change no rows.
#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <arrow/table.h>

#include <algorithm>
#include <set>
#include <unordered_map>

#include "inlet/iceberg/deletes.h"
#include "inlet/iceberg/iceberg_table.h"
#include "inlet/status.h"
#include "inlet/table/row_keys.h"

namespace inlet::iceberg {

namespace {

// What one snapshot did to the data files of the table.
struct SnapshotChanges {
  std::vector<ManifestEntry> added;    // data files
  std::vector<ManifestEntry> removed;  // data files
  bool deletes_changed = false;        // delete files added or removed
};

arrow::Result<SnapshotChanges> ChangesOf(const TableStore& store,
                                         const iceberg::Snapshot& s) {
  SnapshotChanges out;
  ARROW_ASSIGN_OR_RAISE(auto list_bytes, ReadWhole(store, s.manifest_list));
  ARROW_ASSIGN_OR_RAISE(auto listed, ReadManifestList(list_bytes, s.manifest_list));
  for (const auto& mf : listed) {
    if (mf.added_snapshot_id != s.snapshot_id) continue;
    ARROW_ASSIGN_OR_RAISE(auto bytes, ReadWhole(store, mf.path));
    ARROW_ASSIGN_OR_RAISE(auto entries, ReadManifest(bytes, mf.path, mf));
    for (auto& e : entries) {
      if (e.snapshot_id != s.snapshot_id || e.status == EntryStatus::kExisting) continue;
      if (e.file.content != FileContent::kData) {
        out.deletes_changed = true;
        continue;
      }
      (e.status == EntryStatus::kAdded ? out.added : out.removed).push_back(std::move(e));
    }
  }
  return out;
}

// The deletes a snapshot applies to the given data files (null: none).
arrow::Result<std::shared_ptr<DeleteIndex>> DeletesOf(
    const IcebergSnapshot& snapshot, const std::vector<const ManifestEntry*>& data) {
  ARROW_ASSIGN_OR_RAISE(auto deletes, snapshot.LiveEntries(false, true));
  if (deletes.empty() || data.empty()) return nullptr;
  return DeleteIndex::Make(snapshot.store(), snapshot.metadata(),
                           snapshot.iceberg_schema().arrow_schema, std::move(deletes),
                           data);
}

// The rows of `keys` that have no twin left in `others` (as multisets: each twin pairs
// once).
std::vector<int64_t> Unpaired(const std::vector<std::string>& keys,
                              const std::vector<std::string>& others) {
  std::unordered_map<std::string, int64_t> count;
  for (const auto& k : others) ++count[k];
  std::vector<int64_t> out;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto it = count.find(keys[i]);
    if (it != count.end() && it->second > 0) {
      --it->second;
      continue;
    }
    out.push_back(static_cast<int64_t>(i));
  }
  return out;
}

// Removes the rows that are in both tables (as multisets): a rewrite carries them over.
arrow::Status DropCarryOver(std::shared_ptr<arrow::Table>* deleted,
                            std::shared_ptr<arrow::Table>* inserted) {
  if ((*deleted)->num_rows() == 0 || (*inserted)->num_rows() == 0)
    return arrow::Status::OK();
  ARROW_ASSIGN_OR_RAISE(auto gone, RowKeys(**deleted, {}));
  ARROW_ASSIGN_OR_RAISE(auto came, RowKeys(**inserted, {}));
  ARROW_ASSIGN_OR_RAISE(*inserted, TakeRows(*inserted, Unpaired(came, gone)));
  ARROW_ASSIGN_OR_RAISE(*deleted, TakeRows(*deleted, Unpaired(gone, came)));
  return arrow::Status::OK();
}

// `rows` with the three change columns appended.
arrow::Result<std::shared_ptr<arrow::Table>> WithChangeColumns(
    const std::shared_ptr<arrow::Table>& rows, const std::shared_ptr<arrow::Schema>& out,
    const std::string& type, const iceberg::Snapshot& s) {
  const int64_t n = rows->num_rows();
  arrow::StringBuilder types;
  arrow::Int64Builder versions;
  arrow::TimestampBuilder times(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"),
                                arrow::default_memory_pool());
  for (int64_t i = 0; i < n; ++i) {
    ARROW_RETURN_NOT_OK(types.Append(type));
    ARROW_RETURN_NOT_OK(versions.Append(s.sequence_number));
    ARROW_RETURN_NOT_OK(times.Append(s.timestamp_ms * 1000));
  }
  std::vector<std::shared_ptr<arrow::ChunkedArray>> columns = rows->columns();
  for (auto* b : std::initializer_list<arrow::ArrayBuilder*>{&types, &versions, &times}) {
    std::shared_ptr<arrow::Array> a;
    ARROW_RETURN_NOT_OK(b->Finish(&a));
    columns.push_back(std::make_shared<arrow::ChunkedArray>(a));
  }
  return arrow::Table::Make(out, columns, n);
}

}  // namespace

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> IcebergTable::Changes(
    int64_t from_version, std::optional<int64_t> to_version, bool file_level) const {
  ARROW_ASSIGN_OR_RAISE(auto latest, GetSnapshot({}));
  auto* current = static_cast<IcebergSnapshot*>(latest.get());
  const TableMetadata& m = current->metadata();
  std::shared_ptr<const TableMetadata> shared(latest, &m);
  const int64_t last = current->version();
  const int64_t to = to_version.value_or(last);
  if (from_version < 0 || to < from_version)
    return arrow::Status::Invalid("cannot read the changes of ", location_, ": versions ",
                                  from_version, " to ", to, " are not a range");
  if (to > last)
    return arrow::Status::Invalid("cannot read the changes of ", location_, ": version ",
                                  to, " does not exist (the latest is ", last, ")");
  if (m.format_version == 1)
    return arrow::Status::Invalid("cannot read the changes of ", location_,
                                  ": a format version 1 table has no sequence numbers");
  auto ancestry = m.Ancestry(m.CurrentSnapshot());
  std::reverse(ancestry.begin(), ancestry.end());
  // Each snapshot's changes are read against its parent: the oldest one read needs its
  // parent still there.
  for (const auto* s : ancestry) {
    if (s->sequence_number < from_version) continue;
    if (s->parent_snapshot_id && !m.SnapshotById(*s->parent_snapshot_id))
      return arrow::Status::Invalid(
          "cannot read the changes of ", location_, " from version ", from_version,
          ": the snapshots before version ", s->sequence_number, " were expired");
    break;
  }

  arrow::FieldVector fields = latest->schema()->fields();
  fields.push_back(arrow::field("_change_type", arrow::utf8()));
  fields.push_back(arrow::field("_commit_version", arrow::int64()));
  fields.push_back(
      arrow::field("_commit_timestamp", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")));
  auto out_schema = arrow::schema(fields);
  std::vector<std::shared_ptr<arrow::Table>> parts;
  const std::string what = "cannot read the changes of " + location_ + ": ";
  for (const auto* s : ancestry) {
    if (s->sequence_number < from_version || s->sequence_number > to) continue;
    if (s->operation() == "replace") continue;
    const iceberg::Snapshot* parent =
        s->parent_snapshot_id ? m.SnapshotById(*s->parent_snapshot_id) : nullptr;
    IcebergSnapshot now(current->store(), shared, "", s);
    IcebergSnapshot before(current->store(), shared, "", parent);
    auto changes = ChangesOf(*current->store(), *s);
    if (!changes.ok())
      return changes.status().WithMessage(what, "snapshot ", s->snapshot_id, ": ",
                                          changes.status().message());
    std::vector<std::shared_ptr<arrow::Table>> inserted, deleted;
    // Added files as the snapshot reads them: a delete file it adds may apply to them.
    if (!changes->added.empty()) {
      std::vector<const ManifestEntry*> data;
      for (const auto& e : changes->added) data.push_back(&e);
      auto index = DeletesOf(now, data);
      if (!index.ok()) return index.status().WithMessage(what, index.status().message());
      for (const auto& e : changes->added) {
        auto rows = now.ReadDataFile(e, *index ? (*index)->For(e) : nullptr);
        if (!rows.ok()) return rows.status().WithMessage(what, rows.status().message());
        inserted.push_back(*rows);
      }
    }
    // Removed files lose the rows their parent still had.
    if (!changes->removed.empty()) {
      std::vector<const ManifestEntry*> data;
      for (const auto& e : changes->removed) data.push_back(&e);
      ARROW_ASSIGN_OR_RAISE(auto index, DeletesOf(before, data));
      for (const auto& e : changes->removed) {
        ARROW_ASSIGN_OR_RAISE(auto rows,
                              before.ReadDataFile(e, index ? index->For(e) : nullptr));
        deleted.push_back(rows);
      }
    }
    // Delete files added or removed: the rows of files that stay which they delete and
    // the parent did not (deleted), and those the parent deleted and they no longer do
    // (inserted again: a delete file removed on its own).
    if (changes->deletes_changed) {
      ARROW_ASSIGN_OR_RAISE(auto live, now.LiveEntries(true, false));
      std::set<std::string> added_paths;
      for (const auto& e : changes->added) added_paths.insert(e.file.file_path);
      std::vector<const ManifestEntry*> stayed;
      for (const auto& e : live)
        if (!added_paths.count(e.file.file_path)) stayed.push_back(&e);
      ARROW_ASSIGN_OR_RAISE(auto after_index, DeletesOf(now, stayed));
      ARROW_ASSIGN_OR_RAISE(auto before_index, DeletesOf(before, stayed));
      for (const auto* e : stayed) {
        std::vector<uint64_t> after_rows, before_rows;
        if (auto after_fn = after_index ? after_index->For(*e) : nullptr) {
          ARROW_ASSIGN_OR_RAISE(after_rows, after_fn());
        }
        if (auto before_fn = before_index ? before_index->For(*e) : nullptr) {
          ARROW_ASSIGN_OR_RAISE(before_rows, before_fn());
        }
        std::vector<int64_t> newly, revived;
        std::set_difference(after_rows.begin(), after_rows.end(), before_rows.begin(),
                            before_rows.end(), std::back_inserter(newly));
        std::set_difference(before_rows.begin(), before_rows.end(), after_rows.begin(),
                            after_rows.end(), std::back_inserter(revived));
        if (newly.empty() && revived.empty()) continue;
        ARROW_ASSIGN_OR_RAISE(auto rows, now.ReadDataFile(*e));
        if (!newly.empty()) {
          ARROW_ASSIGN_OR_RAISE(auto taken, TakeRows(rows, newly));
          deleted.push_back(taken);
        }
        if (!revived.empty()) {
          ARROW_ASSIGN_OR_RAISE(auto taken, TakeRows(rows, revived));
          inserted.push_back(taken);
        }
      }
    }
    auto schema = latest->schema();
    auto concat = [&](const std::vector<std::shared_ptr<arrow::Table>>& tables)
        -> arrow::Result<std::shared_ptr<arrow::Table>> {
      if (tables.empty()) return arrow::Table::MakeEmpty(schema);
      return arrow::ConcatenateTables(tables);
    };
    ARROW_ASSIGN_OR_RAISE(auto gone, concat(deleted));
    ARROW_ASSIGN_OR_RAISE(auto came, concat(inserted));
    if (!file_level) ARROW_RETURN_NOT_OK(DropCarryOver(&gone, &came));
    ARROW_ASSIGN_OR_RAISE(auto d, WithChangeColumns(gone, out_schema, "delete", *s));
    ARROW_ASSIGN_OR_RAISE(auto i, WithChangeColumns(came, out_schema, "insert", *s));
    parts.push_back(d);
    parts.push_back(i);
  }
  std::shared_ptr<arrow::Table> all;
  if (parts.empty()) {
    ARROW_ASSIGN_OR_RAISE(all, arrow::Table::MakeEmpty(out_schema));
  } else {
    ARROW_ASSIGN_OR_RAISE(all, arrow::ConcatenateTables(parts));
  }
  return std::make_shared<arrow::TableBatchReader>(all);
}

}  // namespace inlet::iceberg
