// A write transaction on an Iceberg table: Iceberg's implementation of the engine's
// table::Transaction. New rows go to Parquet files with field ids, partitioned by the
// spec's transforms; the commit writes a manifest of the added files, rewrites the
// manifests whose files it removes, a manifest list and a new metadata file.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "inlet/iceberg/deletes.h"
#include "inlet/iceberg/iceberg_table.h"
#include "inlet/iceberg/transforms.h"
#include "inlet/table/transaction.h"

namespace inlet::iceberg {

/// The partition spec `partition_by` asks for, over a schema with field ids: each entry a
/// column (identity) or a transform of one: year(c), month(c), day(c), hour(c),
/// bucket(c, N), truncate(c, W), void(c). Partition field ids start at 1000.
arrow::Result<PartitionSpec> SpecFromPartitionBy(
    const std::vector<std::string>& partition_by, const arrow::Schema& with_ids);

/// A table's partition spec bound to its schema, for writing.
struct BoundSpec {
  PartitionSpec spec;
  std::vector<Transform> transforms;
  std::vector<int> sources;   // top-level column index of each field's source
  arrow::FieldVector fields;  // each field's name and result type
};

/// The value of an application key as of a snapshot: the newest of its ancestry that has
/// it (nullopt: none).
std::optional<std::string> AppKeyOf(const TableMetadata& m, const iceberg::Snapshot* s,
                                    const std::string& key);

arrow::Result<BoundSpec> BindSpec(const PartitionSpec& spec,
                                  const arrow::Schema& with_ids);

/// What the headers of a partition spec's manifests say: the spec bound to the table
/// schema `with_ids` (of id schema_id), and the contexts of its data and delete
/// manifests.
struct SpecManifests {
  BoundSpec bound;
  ManifestContext data, deletes;
};
arrow::Result<SpecManifests> ManifestsOfSpec(const BoundSpec& bound,
                                             const arrow::Schema& with_ids,
                                             int32_t schema_id, int format_version);

/// Row lineage of a new snapshot `snap` of `m` on format version 3 (spec "Snapshot Row
/// IDs"): its manifests without a first row id get one from the table's next-row-id on,
/// the snapshot's first-row-id and added-rows say which, and next-row-id moves past them.
/// Nothing on earlier versions. Done on each commit attempt, on the metadata it builds
/// on.
void AssignRowIds(TableMetadata* m, std::vector<ManifestFile>* manifests,
                  iceberg::Snapshot* snap);

/// Row lineage's columns (spec "Reserved Field IDs").
inline constexpr char kRowIdColumn[] = "_row_id";
inline constexpr int32_t kRowIdFieldId = 2147483540;
inline constexpr char kLastUpdatedColumn[] = "_last_updated_sequence_number";
inline constexpr int32_t kLastUpdatedFieldId = 2147483539;

/// Whether a key names an application's state (kAppVersionKey, kAppDocumentKey).
bool IsAppKey(const std::string& key);
/// Whether the state of snapshot s is read from the table properties' mirror: its
/// ancestry holds no snapshot inlet wrote and was cut by expiry, and the snapshot the
/// mirror was written with (kAppMirrorSnapshotKey) is gone too (one still kept but off
/// the ancestry was rolled back, with its state).
bool UseAppMirror(const TableMetadata& m, const iceberg::Snapshot* s);
/// The application keys an ancestry records, the newest of each, or the table
/// properties' mirror when UseAppMirror says so.
std::map<std::string, std::string> AppKeysOf(const TableMetadata& m,
                                             const iceberg::Snapshot* s);

class IcebergWriteTransaction : public table::Transaction {
 public:
  static arrow::Result<std::unique_ptr<IcebergWriteTransaction>> Begin(
      const IcebergTable& table, const arrow::Schema& input, const WriteOptions& options,
      bool overwrites);

  std::shared_ptr<inlet::Snapshot> base() const override { return base_; }
  /// The table's default sort order, when it sorts by columns (identity transforms).
  std::vector<table::SortKey> WriteOrder() const override;
  const std::vector<table::DataFile>& files() const override;
  ColumnStats Statistics(const table::DataFile& file,
                         const std::string& column) const override;
  std::optional<int64_t> RecordCount(const table::DataFile& file) const override;
  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> ReadFile(
      const table::DataFile& file,
      const std::vector<std::string>& columns) const override;
  const std::shared_ptr<arrow::Schema>& schema() const override { return schema_; }
  /// Format version 3: _row_id and _last_updated_sequence_number.
  const arrow::FieldVector& row_lineage() const override { return lineage_; }
  /// The identity partition columns, or none when the base's partition values cannot
  /// be compared by them: files of an older partition spec, or an empty string value
  /// (which Iceberg keeps apart from null, and the engine's partition predicates would
  /// not). The engine then reads such files rather than prune or take them whole.
  const std::vector<std::string>& partition_columns() const override;
  /// Every partition field counts, transforms included, unless the base has files of an
  /// older spec, whose tuples cannot be compared with this one's. (Whole tuples tell an
  /// empty string from null, which partition predicates would not.)
  bool partitioned() const override;
  const std::string& location() const override { return location_; }
  const std::shared_ptr<const TableStore>& store() const override { return store_; }
  using table::Transaction::Conform;
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Conform(
      const arrow::RecordBatch& batch,
      const std::shared_ptr<arrow::Schema>& to) const override;
  int64_t target_file_size() const override;
  arrow::Result<std::unique_ptr<table::DataWriter>> NewDataWriter(
      std::optional<int64_t> target_file_size = {}) const override;
  bool change_data_feed() const override { return false; }
  arrow::Result<std::unique_ptr<table::DataWriter>> NewChangeDataWriter() const override;
  /// Merge-on-read: a table whose write.delete.mode, write.update.mode or
  /// write.merge.mode is merge-on-read gets position delete files (format version 2) or
  /// deletion vectors (3), one per data file it marks, instead of rewritten data files.
  bool marks_deleted_rows() const override;
  void Add(const std::vector<table::WrittenFile>& files,
           bool data_change = true) override;
  void AddChanges(const std::vector<table::WrittenFile>&) override {}
  void Remove(const table::DataFile& file, bool data_change = true) override;
  arrow::Status MarkDeleted(const table::DataFile& file, int64_t rows_read,
                            std::vector<int64_t> positions) override;
  void SetReadScope(std::function<bool(const PartitionValues&)> reads_partition) override;
  void SetAppDocument(const std::string& app, const std::string& document) override {
    options_.app_states[app].document = document;
  }
  arrow::Result<CommitResult> Commit(const std::string& operation,
                                     std::map<std::string, std::string> parameters,
                                     CommitResult counts) override;

 private:
  IcebergWriteTransaction() = default;

  arrow::Status LoadFiles() const;
  // After a lost race: whether what the snapshots after `then` up to `now` did conflicts
  // with this commit (the spec's validations for overwrites and row-level commits): one
  // of them removed a file this commit removes, added delete files while this commit
  // removes or reads files, or added rows to a partition this commit read. Appends into
  // other partitions do not conflict. A `now` that does not descend from `then` does.
  arrow::Status CheckConcurrent(const TableMetadata& latest,
                                const iceberg::Snapshot* then,
                                const iceberg::Snapshot* now,
                                const std::set<std::string>& removed_paths) const;
  arrow::Result<table::DataFile> ToDataFile(const ManifestEntry& e, size_t index) const;
  /// Whether the commit only moves rows (a compaction's replace snapshot).
  bool compaction() const {
    return base_ && !changes_rows_ && !removed_.empty() && marked_.empty();
  }

  const IcebergTable* table_ = nullptr;
  std::shared_ptr<const TableStore> store_;
  std::string location_;
  WriteOptions options_;
  // The base: its metadata file's version number (0: none), metadata and snapshot.
  int64_t base_file_version_ = 0;
  std::string base_metadata_uri_;
  std::shared_ptr<IcebergSnapshot> base_;
  TableMetadata metadata_;  // what the commit writes (schema, spec, properties)
  bool creates_ = false;
  bool schema_changed_ = false;
  std::shared_ptr<arrow::Schema> schema_;           // logical, no ids
  std::shared_ptr<arrow::Schema> schema_with_ids_;  // for the data files
  arrow::FieldVector lineage_;                      // row_lineage()
  BoundSpec spec_;
  std::vector<std::string> partition_columns_;
  mutable std::optional<std::vector<ManifestEntry>> live_;
  mutable std::vector<table::DataFile> files_;
  mutable arrow::Status files_status_;          // why files() could not list them
  mutable bool partitions_unreliable_ = false;  // see partition_columns()
  // Whether the base has files of an older partition spec: their tuples cannot be
  // compared with this spec's (partitioned()).
  mutable bool older_spec_files_ = false;
  std::vector<table::WrittenFile> added_;
  std::vector<size_t> removed_;  // indexes into *live_
  // The base's live delete files, and the deletes applying to each of *live_.
  mutable std::vector<ManifestEntry> delete_entries_;
  mutable std::shared_ptr<DeleteIndex> deletes_;
  // Merge-on-read: positions in the data file (index into *live_) this commit deletes.
  std::map<size_t, std::vector<uint64_t>> marked_;
  // Format version 3: the positions deleted before this commit of the files it marks,
  // which their new deletion vectors keep.
  std::map<size_t, std::vector<uint64_t>> prior_;
  // Whether an Add or Remove changed rows (else the commit only rearranges them: a
  // compaction's "replace" snapshot).
  bool changes_rows_ = false;
  std::function<bool(const PartitionValues&)> reads_partition_;
};

}  // namespace inlet::iceberg
