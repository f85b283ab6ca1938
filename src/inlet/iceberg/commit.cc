// IcebergWriteTransaction::Commit: the manifests, the manifest list, the snapshot and the
// new metadata file, written put-if-absent; a commit that loses the race to another
// writer is made again on the newer metadata when it does not conflict with it (appends
// never do), re-using its data files and its manifest of added files.
#include <arrow/scalar.h>

#include <random>
#include <set>

#include "inlet/common/fault.h"
#include "inlet/common/time.h"
#include "inlet/common/uuid.h"
#include "inlet/iceberg/manifest_rewrite.h"
#include "inlet/iceberg/position_deletes.h"
#include "inlet/iceberg/puffin.h"
#include "inlet/iceberg/transaction.h"
#include "inlet/iceberg/values.h"
#include "inlet/status.h"
#include "inlet/table/app_objects.h"
#include "inlet/table/partition.h"

namespace inlet::iceberg {

namespace {

constexpr int kMaxAttempts = 50;

int64_t RandomSnapshotIdForCommit() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<int64_t> dist(1, INT64_MAX);
  return dist(rng);
}

std::optional<std::string> BoundOf(const arrow::Scalar& v, bool upper);

// Column metrics of a written file, by field id (spec "Manifests": compressed column
// sizes; value counts include
// nulls; float bounds are left out, as NaN counts are not known; strings and binary
// truncated to 16 characters, upper bounds incremented).
void Metrics(const table::WrittenFile& w, DataFile* f, const arrow::Schema& with_ids) {
  (void)with_ids;
  for (const auto& leaf : w.statistics.columns) {
    // Reserved ids (row lineage) are not the table's columns: no metrics.
    if (leaf.field_id < 0 || leaf.field_id >= kLastUpdatedFieldId) continue;
    f->value_counts[leaf.field_id] = w.statistics.num_records;
    f->column_sizes[leaf.field_id] = leaf.compressed_bytes;
    if (leaf.null_count) f->null_value_counts[leaf.field_id] = *leaf.null_count;
    const bool floating = leaf.type && (leaf.type->id() == arrow::Type::FLOAT ||
                                        leaf.type->id() == arrow::Type::DOUBLE);
    if (floating) continue;  // NaN counts are not known: no float bounds
    if (leaf.min) {
      if (auto b = BoundOf(*leaf.min, false)) f->lower_bounds[leaf.field_id] = *b;
    }
    if (leaf.max) {
      if (auto b = BoundOf(*leaf.max, true)) f->upper_bounds[leaf.field_id] = *b;
    }
  }
}

std::optional<std::string> BoundOf(const arrow::Scalar& v, bool upper) {
  auto bytes = ToSingleValue(v);
  if (!bytes.ok()) return std::nullopt;
  std::string b = std::move(*bytes);
  constexpr size_t kChars = 16;
  if (v.type->id() == arrow::Type::STRING) {
    size_t i = 0, n = 0;
    while (i < b.size() && n < kChars) {
      auto c = static_cast<unsigned char>(b[i]);
      i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
      ++n;
    }
    if (i >= b.size()) return b;
    std::string prefix = b.substr(0, i);
    if (!upper) return prefix;
    while (!prefix.empty()) {
      size_t start = prefix.size() - 1;
      while (start > 0 && (static_cast<unsigned char>(prefix[start]) & 0xC0) == 0x80)
        --start;
      auto last = static_cast<unsigned char>(prefix[start]);
      if (prefix.size() - start == 1 && last < 0x7F) {
        prefix[start] = static_cast<char>(last + 1);
        return prefix;
      }
      prefix.resize(start);
    }
    return std::nullopt;
  }
  if (v.type->id() == arrow::Type::BINARY && b.size() > kChars) {
    std::string prefix = b.substr(0, kChars);
    if (!upper) return prefix;
    while (!prefix.empty()) {
      auto last = static_cast<unsigned char>(prefix.back());
      if (last < 0xFF) {
        prefix.back() = static_cast<char>(last + 1);
        return prefix;
      }
      prefix.pop_back();
    }
    return std::nullopt;
  }
  return b;
}

}  // namespace

arrow::Status IcebergWriteTransaction::CheckConcurrent(
    const TableMetadata& latest, const iceberg::Snapshot* then,
    const iceberg::Snapshot* now, const std::set<std::string>& removed_paths) const {
  const std::string lost = "cannot commit to " + location_ + ": snapshot ";
  std::vector<const iceberg::Snapshot*> between;
  bool descends = then == nullptr;
  for (const auto* s : latest.Ancestry(now)) {
    if (then && s->snapshot_id == then->snapshot_id) {
      descends = true;
      break;
    }
    between.push_back(s);
  }
  if (!descends)
    return CommitConflict(lost + (now ? std::to_string(now->snapshot_id) : "?") +
                          " does not descend from the snapshot this commit read");
  for (const auto* s : between) {
    const std::string which = lost + std::to_string(s->snapshot_id);
    ARROW_ASSIGN_OR_RAISE(auto list_bytes, ReadWhole(*store_, s->manifest_list));
    ARROW_ASSIGN_OR_RAISE(auto listed, ReadManifestList(list_bytes, s->manifest_list));
    for (const auto& mf : listed) {
      // Only the manifests that snapshot wrote say what it did.
      if (mf.added_snapshot_id != s->snapshot_id) continue;
      ARROW_ASSIGN_OR_RAISE(auto bytes, ReadWhole(*store_, mf.path));
      ARROW_ASSIGN_OR_RAISE(auto entries, ReadManifest(bytes, mf.path, mf));
      for (const auto& e : entries) {
        if (e.snapshot_id != s->snapshot_id || e.status == EntryStatus::kExisting)
          continue;
        if (e.status == EntryStatus::kDeleted) {
          if (removed_paths.count(e.file.file_path))
            return CommitConflict(which + " removed " + e.file.file_path +
                                  ", which this commit rewrites, concurrently");
          continue;
        }
        if (mf.content == ManifestContent::kDeletes) {
          // A delete file scoped to one data file matters when this commit rewrites or
          // marks that file; another (partition-scoped, equality) may delete rows of any
          // file this commit rewrites or reads, but for equality deletes of a compaction,
          // whose files keep the starting sequence number (they apply to them too).
          const auto& target = e.file.referenced_data_file;
          if (compaction() && e.file.content == FileContent::kEqualityDeletes) continue;
          if (target ? removed_paths.count(*target) > 0
                     : !removed_paths.empty() || reads_partition_ != nullptr)
            return CommitConflict(which + " added delete file " + e.file.file_path +
                                  " concurrently");
          continue;
        }
        if (!reads_partition_) continue;
        if (e.spec_id != spec_.spec.spec_id)
          return CommitConflict(which + " added rows under another partition spec (" +
                                e.file.file_path + ") concurrently");
        ARROW_ASSIGN_OR_RAISE(auto f, ToDataFile(e, 0));
        if (reads_partition_(f.partition_values))
          return CommitConflict(which + " added rows (" + e.file.file_path +
                                ") to a partition this commit read, concurrently");
      }
    }
  }
  return arrow::Status::OK();
}

arrow::Result<CommitResult> IcebergWriteTransaction::Commit(
    const std::string& operation, std::map<std::string, std::string> parameters,
    CommitResult result) {
  (void)parameters;
  ARROW_RETURN_NOT_OK(files_status_);
  if (!removed_.empty()) ARROW_RETURN_NOT_OK(LoadFiles());
  if ((older_spec_files_ && options_.mode == WriteMode::kOverwritePartitions) ||
      (partitions_unreliable_ && !options_.replace_where.empty()))
    return arrow::Status::NotImplemented(
        "cannot overwrite partitions of ", location_,
        older_spec_files_
            ? ": it has files of an older partition spec"
            : ": it has an empty string partition value, which a predicate cannot tell "
              "from null",
        ", whose partitions inlet cannot match yet (overwrite the whole table, or "
        "compact "
        "it first)");
  CrashPoint("write.after_data_files");
  // Application documents: new objects, written once (before any metadata file points
  // at them); a cleared one is "0".
  std::map<std::string, std::string> document_keys;
  std::set<std::string> apps;
  for (const auto& [app, state] : options_.app_states) {
    apps.insert(app);
    if (!state.document) continue;
    ARROW_ASSIGN_OR_RAISE(int64_t id,
                          table::WriteAppObject(*store_, app, *state.document));
    document_keys[kAppDocumentKey + app] = std::to_string(id);
  }
  for (const auto& app : options_.clear_app_documents) {
    apps.insert(app);
    document_keys[kAppDocumentKey + app] = "0";
  }
  const int64_t snapshot_id = RandomSnapshotIdForCommit();
  const std::string base_uri = table_->TableUri();

  // The manifest of the added files (written once; ADDED entries inherit the snapshot id
  // and sequence number from the manifest list, so retries reuse it).
  // What manifests of each partition spec say in their header (files of an older spec
  // stay in manifests of their spec when this commit rewrites them or marks their rows).
  std::map<int32_t, SpecManifests> spec_manifests;
  auto manifests_of = [&](int32_t spec_id) -> arrow::Result<const SpecManifests*> {
    if (auto it = spec_manifests.find(spec_id); it != spec_manifests.end())
      return &it->second;
    BoundSpec bound = spec_;
    if (spec_id != spec_.spec.spec_id) {
      const PartitionSpec* spec = metadata_.SpecById(spec_id);
      if (!spec)
        return arrow::Status::Invalid("cannot commit to ", location_,
                                      ": a manifest names partition spec ", spec_id,
                                      ", which the table metadata lacks");
      auto other = BindSpec(*spec, *schema_with_ids_);
      if (!other.ok())
        return other.status().WithMessage("cannot commit to ", location_,
                                          ": partition spec ", spec_id, ": ",
                                          other.status().message());
      bound = std::move(*other);
    }
    ARROW_ASSIGN_OR_RAISE(
        auto out, ManifestsOfSpec(bound, *schema_with_ids_, metadata_.current_schema_id,
                                  metadata_.format_version));
    return &spec_manifests.emplace(spec_id, std::move(out)).first->second;
  };
  ARROW_ASSIGN_OR_RAISE(const SpecManifests* current, manifests_of(spec_.spec.spec_id));
  const ManifestContext& context = current->data;
  ARROW_RETURN_NOT_OK(store_->CreateDir("metadata"));
  std::optional<ManifestFile> added_manifest;
  int64_t added_rows = 0, added_bytes = 0;
  std::set<PartitionValues> touched;
  // A compaction's files take the sequence number of the snapshot it read (Java's
  // use-starting-sequence-number): equality deletes committed meanwhile still apply to
  // the rows it moved, so they need not conflict with it.
  std::optional<int64_t> starting;
  if (compaction() && base_->snapshot()) starting = base_->snapshot()->sequence_number;
  if (!added_.empty()) {
    std::vector<EntryToWrite> entries;
    for (const auto& w : added_) {
      EntryToWrite e;
      e.status = EntryStatus::kAdded;
      e.sequence_number = starting;  // else inherited
      e.file.file_path = base_uri + "/" + w.path;
      e.file.record_count = w.statistics.num_records;
      e.file.file_size_in_bytes = w.size_bytes;
      if (w.sorted) e.file.sort_order_id = metadata_.default_sort_order_id;
      Metrics(w, &e.file, *schema_with_ids_);
      for (size_t i = 0; i < spec_.fields.size(); ++i) {
        const auto& name = spec_.fields[i]->name();
        auto it = w.partition_values.find(name);
        std::optional<std::string> text =
            it == w.partition_values.end() ? std::nullopt : it->second;
        // Iceberg keeps '' apart from null (the text of '' is "").
        const auto& type = spec_.fields[i]->type();
        std::shared_ptr<arrow::Scalar> value;
        if (text && type->id() == arrow::Type::STRING) {
          value = std::make_shared<arrow::StringScalar>(*text);
        } else if (text && type->id() == arrow::Type::BINARY) {
          value = std::make_shared<arrow::BinaryScalar>(*text);
        } else {
          ARROW_ASSIGN_OR_RAISE(value, ParsePartitionValue(text, type, name));
        }
        e.partition.push_back(value->is_valid ? value : nullptr);
      }
      touched.insert(w.partition_values);
      added_rows += e.file.record_count;
      added_bytes += e.file.file_size_in_bytes;
      entries.push_back(std::move(e));
    }
    auto summaries = Summaries(entries, spec_.fields.size());
    auto encoded = WriteManifest(context, entries);
    if (!encoded.ok())
      return encoded.status().WithMessage("cannot write the manifest of ", location_,
                                          ": ", encoded.status().message());
    std::string bytes = std::move(*encoded);
    std::string rel = "metadata/" + NewUuid() + "-m0.avro";
    ARROW_RETURN_NOT_OK(store_->PutReplace(rel, bytes));
    ManifestFile m;
    m.path = base_uri + "/" + rel;
    m.length = static_cast<int64_t>(bytes.size());
    m.partition_spec_id = spec_.spec.spec_id;
    m.added_snapshot_id = snapshot_id;
    m.added_files = static_cast<int32_t>(entries.size());
    m.added_rows = added_rows;
    m.partitions = std::move(summaries);
    added_manifest = std::move(m);
  }

  // Merge-on-read: for each data file with rows marked, a position delete file (v2) or a
  // deletion vector (v3: one Puffin file holds the commit's, each vector all the file's
  // deletes, replacing those before it), in a delete manifest of the data file's spec
  // (written once; its entries inherit as the data manifest's do).
  const bool vectors = metadata_.format_version >= 3;
  std::vector<ManifestFile> delete_manifests;
  std::vector<std::string> delete_files;  // their URIs
  int64_t added_positions = 0, added_delete_bytes = 0;
  std::set<std::string> marked_paths;
  std::map<int32_t, std::vector<size_t>> marked_by_spec;
  for (const auto& [index, positions] : marked_)
    marked_by_spec[(*live_)[index].spec_id].push_back(index);
  if (!marked_.empty()) ARROW_RETURN_NOT_OK(store_->CreateDir("data"));
  std::map<size_t, BlobPlace> blob_of;  // by data file index
  std::map<size_t, int64_t> cardinality;
  std::string puffin_uri;
  int64_t puffin_size = 0;
  if (vectors && !marked_.empty()) {
    std::vector<DeletionVector> dvs;
    std::vector<size_t> order;
    for (const auto& [spec_id, indexes] : marked_by_spec) {
      for (size_t index : indexes) {
        DeletionVector dv{(*live_)[index].file.file_path, {}};
        const std::vector<uint64_t>& now = marked_.at(index);
        auto prior = prior_.find(index);
        if (prior == prior_.end()) {
          dv.positions = now;
        } else {
          std::set_union(prior->second.begin(), prior->second.end(), now.begin(),
                         now.end(), std::back_inserter(dv.positions));
        }
        cardinality[index] = static_cast<int64_t>(dv.positions.size());
        dvs.push_back(std::move(dv));
        order.push_back(index);
      }
    }
    std::string rel = "data/" + NewUuid() + "-dv.puffin";
    ARROW_ASSIGN_OR_RAISE(PuffinWritten written, WriteDeletionVectors(*store_, rel, dvs));
    for (size_t i = 0; i < order.size(); ++i) blob_of[order[i]] = written.blobs[i];
    puffin_uri = base_uri + "/" + rel;
    puffin_size = written.size;
    delete_files.push_back(puffin_uri);
  }
  for (const auto& [spec_id, indexes] : marked_by_spec) {
    ARROW_ASSIGN_OR_RAISE(const SpecManifests* spec, manifests_of(spec_id));
    const arrow::FieldVector& fields = spec->bound.fields;
    std::vector<EntryToWrite> entries;
    int64_t rows = 0;
    for (size_t index : indexes) {
      const std::vector<uint64_t>& positions = marked_.at(index);
      const ManifestEntry& data = (*live_)[index];
      EntryToWrite e;
      e.status = EntryStatus::kAdded;
      e.file.content = FileContent::kPositionDeletes;
      e.file.referenced_data_file = data.file.file_path;
      for (size_t i = 0; i < fields.size() && i < data.file.partition.size(); ++i) {
        ARROW_ASSIGN_OR_RAISE(auto value,
                              PartitionScalar(data.file.partition[i], fields[i]->type(),
                                              data.file.file_path, fields[i]->name()));
        e.partition.push_back(value && value->is_valid ? value : nullptr);
      }
      marked_paths.insert(data.file.file_path);
      if (vectors) {
        const BlobPlace& blob = blob_of.at(index);
        e.file.file_path = puffin_uri;
        e.file.file_format = "PUFFIN";
        e.file.record_count = cardinality.at(index);
        e.file.file_size_in_bytes = puffin_size;
        e.file.content_offset = blob.offset;
        e.file.content_size_in_bytes = blob.length;
        added_positions += e.file.record_count;
        added_delete_bytes += blob.length;
        rows += e.file.record_count;
        entries.push_back(std::move(e));
        continue;
      }
      std::string rel = "data/" + NewUuid() + "-deletes.parquet";
      ARROW_ASSIGN_OR_RAISE(
          int64_t size,
          WritePositionDeleteFile(*store_, rel, data.file.file_path, positions));
      delete_files.push_back(base_uri + "/" + rel);
      e.file.file_path = base_uri + "/" + rel;
      e.file.record_count = static_cast<int64_t>(positions.size());
      e.file.file_size_in_bytes = size;
      // Bounds naming the one data file, for readers that match delete files by them.
      e.file.value_counts[kDeleteFilePathId] = e.file.record_count;
      e.file.value_counts[kDeletePosId] = e.file.record_count;
      e.file.null_value_counts[kDeleteFilePathId] = 0;
      e.file.null_value_counts[kDeletePosId] = 0;
      e.file.lower_bounds[kDeleteFilePathId] = data.file.file_path;
      e.file.upper_bounds[kDeleteFilePathId] = data.file.file_path;
      ARROW_ASSIGN_OR_RAISE(
          e.file.lower_bounds[kDeletePosId],
          ToSingleValue(arrow::Int64Scalar(static_cast<int64_t>(positions.front()))));
      ARROW_ASSIGN_OR_RAISE(
          e.file.upper_bounds[kDeletePosId],
          ToSingleValue(arrow::Int64Scalar(static_cast<int64_t>(positions.back()))));
      added_positions += e.file.record_count;
      added_delete_bytes += size;
      rows += e.file.record_count;
      entries.push_back(std::move(e));
    }
    auto summaries = Summaries(entries, fields.size());
    auto encoded = WriteManifest(spec->deletes, entries);
    if (!encoded.ok())
      return encoded.status().WithMessage("cannot write the delete manifest of ",
                                          location_, ": ", encoded.status().message());
    std::string rel = "metadata/" + NewUuid() + "-m0.avro";
    ARROW_RETURN_NOT_OK(store_->PutReplace(rel, *encoded));
    ManifestFile m;
    m.path = base_uri + "/" + rel;
    m.length = static_cast<int64_t>(encoded->size());
    m.content = ManifestContent::kDeletes;
    m.partition_spec_id = spec_id;
    m.added_snapshot_id = snapshot_id;
    m.added_files = static_cast<int32_t>(entries.size());
    m.added_rows = rows;
    m.partitions = std::move(summaries);
    delete_manifests.push_back(std::move(m));
  }

  // What the commit removes, by manifest.
  std::set<std::string> removed_paths;
  int64_t removed_rows = 0, removed_bytes = 0;
  for (size_t i : removed_) {
    const auto& e = (*live_)[i];
    removed_paths.insert(e.file.file_path);
    removed_rows += e.file.record_count;
    removed_bytes += e.file.file_size_in_bytes;
  }
  // The data files a concurrent commit must not have removed.
  std::set<std::string> touched_paths = removed_paths;
  touched_paths.insert(marked_paths.begin(), marked_paths.end());
  // Data files whose new deletion vector replaces their deletes before it (at most one
  // vector per data file: spec "Deletion Vectors").
  const std::set<std::string> superseded =
      vectors ? marked_paths : std::set<std::string>{};

  // A commit that certainly did not happen (a conflict) leaves none of its metadata
  // behind: its manifests of added files and its position delete files go (data files are
  // left for vacuum, as the contract says).
  auto attempts = [&]() -> arrow::Result<CommitResult> {
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
      result.attempts = attempt + 1;
      // The metadata to build on: the base first, the newest after a lost race.
      WriteBase latest;
      if (attempt == 0) {
        latest.file_version = base_file_version_;
        latest.metadata_uri = base_metadata_uri_;
        if (base_) {
          latest.metadata = std::make_shared<TableMetadata>(base_->metadata());
          latest.snapshot = base_;
        }
      } else {
        ARROW_ASSIGN_OR_RAISE(latest, table_->LoadForWrite());
        const iceberg::Snapshot* then = base_ ? base_->snapshot() : nullptr;
        const iceberg::Snapshot* now =
            latest.snapshot ? latest.snapshot->snapshot() : nullptr;
        bool moved = (then ? then->snapshot_id : -1) != (now ? now->snapshot_id : -1);
        if (creates_ && latest.metadata)
          return CommitConflict("cannot commit to " + location_ +
                                ": the table was created concurrently");
        // A table dropped, or dropped and created again, is another table: its field ids
        // and files are not the ones this commit was built on.
        if (base_ && !latest.metadata)
          return CommitConflict("cannot commit to " + location_ +
                                ": the table was dropped or renamed concurrently");
        if (base_ && latest.metadata->table_uuid != base_->metadata().table_uuid)
          return CommitConflict("cannot commit to " + location_ +
                                ": the table was replaced concurrently (table-uuid " +
                                latest.metadata->table_uuid + ", was " +
                                base_->metadata().table_uuid + ")");
        if (moved && schema_changed_)
          return CommitConflict(
              "cannot commit to " + location_ + ": snapshot " +
              (now ? std::to_string(now->snapshot_id) : std::string("?")) +
              " changed the table concurrently");
        if (moved && (!touched_paths.empty() || reads_partition_))
          ARROW_RETURN_NOT_OK(
              CheckConcurrent(*latest.metadata, then, now, touched_paths));
        if (moved) {
          // A concurrent commit that changed one of this commit's applications conflicts
          // (inlet's snapshots carry every application's keys forward unchanged).
          for (const auto& app : apps) {
            for (const std::string& key : {kAppVersionKey + app, kAppDocumentKey + app}) {
              auto was = AppKeyOf(*latest.metadata, then, key);
              auto is = AppKeyOf(*latest.metadata, now, key);
              if (was != is)
                return CommitConflict(
                    "cannot commit to " + location_ + ": snapshot " +
                    (now ? std::to_string(now->snapshot_id) : std::string("?")) +
                    " committed application '" + app + "' concurrently");
            }
          }
        }
        if (base_) {
          // So do concurrent schema changes, and changes of properties this commit sets,
          // with or without a snapshot.
          const TableMetadata& base_meta = base_->metadata();
          if (latest.metadata->format_version != base_meta.format_version)
            return CommitConflict("cannot commit to " + location_ +
                                  ": the table was upgraded to format version " +
                                  std::to_string(latest.metadata->format_version) +
                                  " concurrently");
          if (latest.metadata->current_schema_id != base_meta.current_schema_id ||
              latest.metadata->last_column_id != base_meta.last_column_id)
            return CommitConflict("cannot commit to " + location_ +
                                  ": the schema changed concurrently");
          if (options_.update_properties) {
            for (const auto& [k, v] : options_.properties) {
              auto then_it = base_meta.properties.find(k);
              auto now_it = latest.metadata->properties.find(k);
              bool had = then_it != base_meta.properties.end();
              bool has = now_it != latest.metadata->properties.end();
              if (had != has || (had && then_it->second != now_it->second))
                return CommitConflict("cannot commit to " + location_ +
                                      ": table property " + k + " changed concurrently");
            }
          }
        }
      }
      TableMetadata m = latest.metadata ? *latest.metadata : metadata_;
      if (latest.metadata && metadata_.format_version > m.format_version) {
        // This commit upgrades the table (row ids start at 0).
        m.format_version = metadata_.format_version;
        if (m.format_version >= 3 && !m.next_row_id) m.next_row_id = 0;
      }
      if (latest.metadata) {
        // This commit's schema and properties (a schema change commits only on its base).
        if (schema_changed_) {
          m.schemas = metadata_.schemas;
          m.current_schema_id = metadata_.current_schema_id;
          m.last_column_id = metadata_.last_column_id;
        }
        if (options_.update_properties)
          for (const auto& [k, v] : options_.properties) m.properties[k] = v;
      }
      const iceberg::Snapshot* parent = m.CurrentSnapshot();
      const int64_t sequence = m.last_sequence_number + 1;
      const int64_t now = NowMillis();

      // Manifests: the parent's, those holding removed files rewritten, then the new one.
      ManifestWriter writer;
      writer.store = store_.get();
      writer.base_uri = base_uri;
      writer.context = &context;
      writer.fields = &spec_.fields;
      writer.snapshot_id = snapshot_id;
      writer.sequence_number = sequence;
      // A writer of manifests of a spec (rewriting those whose files this commit
      // removes).
      auto writer_of = [&](int32_t spec_id,
                           bool deletes) -> arrow::Result<ManifestWriter> {
        ARROW_ASSIGN_OR_RAISE(const SpecManifests* spec, manifests_of(spec_id));
        ManifestWriter out = writer;
        out.context = deletes ? &spec->deletes : &spec->data;
        out.fields = &spec->bound.fields;
        return out;
      };
      // File-scoped delete files of removed data files go with them.
      int64_t removed_delete_files = 0, removed_positions = 0, removed_delete_bytes = 0,
              removed_vectors = 0;
      std::vector<ManifestFile> manifests;
      if (parent) {
        ARROW_ASSIGN_OR_RAISE(auto list_bytes, ReadWhole(*store_, parent->manifest_list));
        ARROW_ASSIGN_OR_RAISE(auto listed,
                              ReadManifestList(list_bytes, parent->manifest_list));
        for (auto& mf : listed) {
          // A manifest of removed files only speaks for the snapshot that removed them
          // (Java leaves such manifests out of later snapshots too).
          if (mf.added_files == 0 && mf.existing_files == 0 && mf.deleted_files > 0 &&
              mf.added_rows == 0 && mf.existing_rows == 0)
            continue;
          if (removed_paths.empty() && superseded.empty()) {
            manifests.push_back(std::move(mf));
            continue;
          }
          const bool deletes = mf.content == ManifestContent::kDeletes;
          // A data entry removed, or a delete entry scoped to a removed data file or to
          // one whose new deletion vector replaces it.
          auto goes = [&](const ManifestEntry& e) {
            if (!deletes) return removed_paths.count(e.file.file_path) > 0;
            const auto& target = e.file.referenced_data_file;
            return target &&
                   (removed_paths.count(*target) > 0 || superseded.count(*target) > 0);
          };
          ARROW_ASSIGN_OR_RAISE(auto bytes, ReadWhole(*store_, mf.path));
          ARROW_ASSIGN_OR_RAISE(auto entries, ReadManifest(bytes, mf.path, mf));
          bool touches = false;
          for (const auto& e : entries)
            if (e.status != EntryStatus::kDeleted && goes(e)) touches = true;
          if (!touches) {
            manifests.push_back(std::move(mf));
            continue;
          }
          ARROW_ASSIGN_OR_RAISE(ManifestWriter rewriter,
                                writer_of(mf.partition_spec_id, deletes));
          std::vector<EntryToWrite> rewritten;
          for (const auto& e : entries) {
            if (e.status == EntryStatus::kDeleted) continue;
            const bool gone = goes(e);
            if (gone && deletes) {
              ++removed_delete_files;
              if (IsDeletionVector(e.file)) ++removed_vectors;
              removed_positions += e.file.record_count;
              // A vector's size is its blob's (as Java's summaries count it).
              removed_delete_bytes +=
                  IsDeletionVector(e.file) && e.file.content_size_in_bytes
                      ? *e.file.content_size_in_bytes
                      : e.file.file_size_in_bytes;
            }
            ARROW_ASSIGN_OR_RAISE(auto w, rewriter.Carried(e, gone));
            rewritten.push_back(std::move(w));
          }
          if (rewritten.empty()) continue;
          ARROW_ASSIGN_OR_RAISE(auto out, rewriter.Write(rewritten, "1"));
          manifests.push_back(std::move(out));
        }
      }
      // Many small manifests (micro-batches, streams) are merged, as Java's MergeAppend
      // does.
      ARROW_ASSIGN_OR_RAISE(
          manifests, MergeSmallManifests(std::move(manifests), writer, m.properties));
      for (auto it = delete_manifests.rbegin(); it != delete_manifests.rend(); ++it) {
        it->sequence_number = sequence;
        it->min_sequence_number = sequence;
        manifests.insert(manifests.begin(), *it);
      }
      if (added_manifest) {
        added_manifest->sequence_number = sequence;
        added_manifest->min_sequence_number = starting.value_or(sequence);
        manifests.insert(manifests.begin(), *added_manifest);
      }
      iceberg::Snapshot snap;
      AssignRowIds(&m, &manifests, &snap);
      ARROW_ASSIGN_OR_RAISE(
          auto list_bytes,
          WriteManifestList(
              manifests, snapshot_id,
              parent ? std::optional<int64_t>(parent->snapshot_id) : std::nullopt,
              sequence, m.format_version, snap.first_row_id));
      std::string list_rel = "metadata/snap-" + std::to_string(snapshot_id) + "-" +
                             std::to_string(attempt) + "-" + NewUuid() + ".avro";
      ARROW_RETURN_NOT_OK(store_->PutReplace(list_rel, list_bytes));

      // The snapshot and its summary.
      snap.snapshot_id = snapshot_id;
      if (parent) snap.parent_snapshot_id = parent->snapshot_id;
      snap.sequence_number = sequence;
      snap.timestamp_ms = std::max(now, m.last_updated_ms + 1);
      snap.manifest_list = base_uri + "/" + list_rel;
      snap.schema_id = m.current_schema_id;
      auto& sum = snap.summary;
      sum = AppKeysOf(m, parent);
      for (const auto& [app, state] : options_.app_states)
        if (state.version) sum[kAppVersionKey + app] = std::to_string(*state.version);
      for (const auto& [k, v] : document_keys) sum[k] = v;
      // The application keys mirrored in table properties, which outlive snapshot expiry:
      // exactly this snapshot's, stamped with its id.
      for (auto it = m.properties.begin(); it != m.properties.end();)
        it = IsAppKey(it->first) ? m.properties.erase(it) : std::next(it);
      m.properties.erase(kAppMirrorSnapshotKey);
      for (const auto& [k, v] : sum) m.properties[k] = v;
      if (!sum.empty()) m.properties[kAppMirrorSnapshotKey] = std::to_string(snapshot_id);
      const bool removes = !removed_.empty() || !marked_.empty();
      sum["operation"] = !changes_rows_ && removes ? "replace"
                         : !removes                ? "append"
                         : added_.empty()          ? "delete"
                                                   : "overwrite";
      sum["inlet.operation"] =
          !options_.operation.empty() ? options_.operation : operation;
      sum["engine-name"] = "inlet";
      sum["added-data-files"] = std::to_string(added_.size());
      sum["added-records"] = std::to_string(added_rows);
      sum["added-files-size"] = std::to_string(added_bytes + added_delete_bytes);
      if (!removed_.empty()) {
        sum["deleted-data-files"] = std::to_string(removed_.size());
        sum["deleted-records"] = std::to_string(removed_rows);
      }
      if (removed_bytes + removed_delete_bytes > 0)
        sum["removed-files-size"] = std::to_string(removed_bytes + removed_delete_bytes);
      if (!marked_.empty()) {
        sum["added-delete-files"] = std::to_string(marked_.size());
        sum[vectors ? "added-dvs" : "added-position-delete-files"] =
            std::to_string(marked_.size());
        sum["added-position-deletes"] = std::to_string(added_positions);
      }
      if (removed_delete_files) {
        sum["removed-delete-files"] = std::to_string(removed_delete_files);
        if (removed_vectors) sum["removed-dvs"] = std::to_string(removed_vectors);
        if (removed_delete_files > removed_vectors)
          sum["removed-position-delete-files"] =
              std::to_string(removed_delete_files - removed_vectors);
        sum["removed-position-deletes"] = std::to_string(removed_positions);
      }
      sum["changed-partition-count"] = std::to_string(touched.size() + (removes ? 1 : 0));
      const auto& ps = parent ? parent->summary : std::map<std::string, std::string>{};
      // Totals only when the parent's are known (another writer may have left them out).
      const bool totals = !parent || ps.count("total-records");
      if (totals) {
        sum["total-data-files"] = std::to_string(IntValue(ps, "total-data-files", 0) +
                                                 static_cast<int64_t>(added_.size()) -
                                                 static_cast<int64_t>(removed_.size()));
        sum["total-records"] =
            std::to_string(IntValue(ps, "total-records", 0) + added_rows - removed_rows);
        sum["total-files-size"] =
            std::to_string(IntValue(ps, "total-files-size", 0) + added_bytes +
                           added_delete_bytes - removed_bytes - removed_delete_bytes);
        sum["total-delete-files"] =
            std::to_string(IntValue(ps, "total-delete-files", 0) +
                           static_cast<int64_t>(marked_.size()) - removed_delete_files);
        sum["total-position-deletes"] =
            std::to_string(IntValue(ps, "total-position-deletes", 0) + added_positions -
                           removed_positions);
        sum["total-equality-deletes"] =
            std::to_string(IntValue(ps, "total-equality-deletes", 0));
      }

      m.snapshots.push_back(snap);
      m.current_snapshot_id = snapshot_id;
      m.refs["main"] =
          SnapshotRef{snapshot_id, "branch",
                      m.refs.count("main") ? m.refs["main"].retention : Json::object()};
      m.snapshot_log.push_back(SnapshotLogEntry{snap.timestamp_ms, snapshot_id});
      if (!latest.metadata_uri.empty()) {
        m.metadata_log.push_back(
            MetadataLogEntry{m.last_updated_ms, latest.metadata_uri});
        auto max_log =
            IntValue(m.properties, "write.metadata.previous-versions-max", 100);
        while (static_cast<int64_t>(m.metadata_log.size()) > max_log)
          m.metadata_log.erase(m.metadata_log.begin());
      }
      m.last_sequence_number = sequence;
      m.last_updated_ms = snap.timestamp_ms;
      ARROW_ASSIGN_OR_RAISE(auto text, SerializeMetadata(m));
      CrashPoint("commit.before_log_write");
      ARROW_ASSIGN_OR_RAISE(bool created, table_->CommitMetadata(latest, m, text));
      if (created) {
        CrashPoint("commit.after_log_write");
        result.version = sequence;
        result.files_added = static_cast<int64_t>(added_.size());
        result.files_removed = static_cast<int64_t>(removed_.size());
        result.bytes_written = added_bytes;
        result.partitions_touched = static_cast<int64_t>(touched.size());
        return result;
      }
      // Lost: the manifests this attempt wrote (rewritten or merged) and its manifest
      // list are referenced by nothing; the manifests of added files are reused by the
      // next.
      std::set<std::string> reused;
      if (added_manifest) reused.insert(added_manifest->path);
      for (const auto& d : delete_manifests) reused.insert(d.path);
      for (const auto& mf : manifests)
        if (mf.added_snapshot_id == snapshot_id && !reused.count(mf.path))
          (void)store_->fs()->DeleteFile(FilePath(*store_, mf.path));
      (void)store_->fs()->DeleteFile(store_->Resolve(list_rel));
    }
    return CommitConflict("cannot commit to " + location_ + ": gave up after " +
                          std::to_string(kMaxAttempts) +
                          " attempts lost to concurrent writers");
  };
  auto committed = attempts();
  if (!committed.ok() && IsCommitConflict(committed.status())) {
    std::vector<std::string> written;
    if (added_manifest) written.push_back(added_manifest->path);
    for (const auto& d : delete_manifests) written.push_back(d.path);
    written.insert(written.end(), delete_files.begin(), delete_files.end());
    for (const auto& uri : written)
      (void)store_->fs()->DeleteFile(FilePath(*store_, uri));
  }
  return committed;
}

}  // namespace inlet::iceberg
