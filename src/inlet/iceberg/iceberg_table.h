// Apache Iceberg's implementation of the format-neutral Table and Snapshot. A table is
// opened from its metadata file (`.../metadata/<name>.metadata.json`, as DuckDB's
// iceberg_scan and pyiceberg's StaticTable do, read-only), from its directory, whose
// current metadata file is the one `metadata/version-hint.text` names, else the one with
// the highest version number, or by its name in a catalog (catalog.h), which records its
// current metadata file.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "inlet/iceberg/catalog.h"
#include "inlet/iceberg/manifest.h"
#include "inlet/iceberg/metadata.h"
#include "inlet/storage/table_store.h"
#include "inlet/table.h"
#include "inlet/table/transaction.h"

namespace inlet::iceberg {

/// Snapshot summary keys of application states: the number, and the id of the document
/// object (table/app_objects.h; "0" when cleared).
inline constexpr char kAppVersionKey[] = "inlet.app.";
inline constexpr char kAppDocumentKey[] = "inlet.app-document.";
/// The table property naming the snapshot whose application keys the properties mirror.
inline constexpr char kAppMirrorSnapshotKey[] = "inlet.app-state-snapshot";

class IcebergSnapshot : public inlet::Snapshot {
 public:
  /// `snapshot` null: the table has no snapshot yet (no rows). The table's current
  /// schema applies, or with `travelled` (an older snapshot was asked for) the schema the
  /// snapshot was written with, as Spark and pyiceberg read it.
  IcebergSnapshot(std::shared_ptr<const TableStore> store,
                  std::shared_ptr<const TableMetadata> metadata,
                  std::string metadata_file, const iceberg::Snapshot* snapshot,
                  bool travelled = false);

  /// The snapshot's sequence number (0 before the first).
  int64_t version() const override;
  /// The snapshot id, as text ("" before the first).
  std::string snapshot_id() const override;
  const std::shared_ptr<arrow::Schema>& schema() const override { return schema_; }
  const std::vector<std::string>& partition_columns() const override {
    return partition_columns_;
  }
  TableInfo Info() const override;
  std::optional<int64_t> RowCount() const override;
  std::optional<int64_t> AppVersion(const std::string& app_id) const override;
  arrow::Result<std::optional<std::string>> AppDocument(
      const std::string& app_id) const override;
  bool HasAppDocument(const std::string& app_id) const override;
  arrow::Result<std::map<std::string, std::string>> AppDocuments(
      const std::string& prefix) const override;
  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Scan(
      const ScanOptions& options) const override;

  const TableMetadata& metadata() const { return *metadata_; }
  const std::shared_ptr<const TableStore>& store() const { return store_; }
  const iceberg::Snapshot* snapshot() const { return snapshot_; }
  /// The schema with field ids the snapshot is read with.
  const iceberg::Schema& iceberg_schema() const { return *iceberg_schema_; }

  /// The snapshot's live entries of data files and delete files (one manifest read at a
  /// time). Errors name the manifest.
  arrow::Result<std::vector<ManifestEntry>> LiveEntries(bool data, bool deletes) const;
  /// Every row of a data file in this snapshot's schema (columns by field id), in file
  /// order, those `deleted` gives left out (none when it is empty). Errors name the file.
  arrow::Result<std::shared_ptr<arrow::Table>> ReadDataFile(
      const ManifestEntry& entry,
      std::function<arrow::Result<std::vector<uint64_t>>()> deleted = {}) const;

 private:
  // The value of a summary key in the newest snapshot of the ancestry that has it.
  // Fails when the ancestry was expired before any snapshot inlet wrote.
  arrow::Result<std::optional<std::string>> AppKey(const std::string& key) const;

  std::shared_ptr<const TableStore> store_;
  std::shared_ptr<const TableMetadata> metadata_;
  std::string metadata_file_;
  const iceberg::Snapshot* snapshot_;
  const iceberg::Schema* iceberg_schema_;
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<std::string> partition_columns_;
};

/// What a write starts from: the current metadata file's version number (v<N> or
/// <N>-<uuid>; 0 when the table has none yet) and URI, its metadata and its current
/// snapshot.
struct WriteBase {
  int64_t file_version = 0;
  std::string metadata_uri;
  std::shared_ptr<const TableMetadata> metadata;
  std::shared_ptr<IcebergSnapshot> snapshot;
};

class IcebergTable : public Table, public table::Writable {
 public:
  /// A table at `uri` that may not exist yet: the first write creates it (a file-system
  /// table: metadata/v1.metadata.json).
  static arrow::Result<std::shared_ptr<IcebergTable>> Create(
      const std::string& uri, const StorageOptions& storage = {});
  /// Opens the table whose metadata file `uri` is, or whose directory it is. Fails with
  /// kTableNotFound when the directory holds no metadata file.
  static arrow::Result<std::shared_ptr<IcebergTable>> Open(
      const std::string& uri, const StorageOptions& storage = {});
  /// The table `ident` of `catalog`. `create`: a table the catalog does not have yet is
  /// created by the first write at the catalog's default location, or `location` when
  /// given (else kTableNotFound naming table and catalog).
  static arrow::Result<std::shared_ptr<IcebergTable>> OpenInCatalog(
      std::shared_ptr<Catalog> catalog, TableIdent ident, const StorageOptions& storage,
      bool create, const std::string& location = "");
  /// Whether uri names an Iceberg metadata file, or a directory with a metadata/
  /// directory holding one (and no Delta log).
  static arrow::Result<bool> Holds(const std::string& uri,
                                   const StorageOptions& storage = {});

  const std::string& location() const override { return location_; }
  arrow::Result<std::shared_ptr<inlet::Snapshot>> GetSnapshot(
      const SnapshotSpec& spec = {}) const override;
  arrow::Result<std::vector<HistoryEntry>> History(int64_t limit = -1) const override;

  arrow::Result<CommitResult> Write(std::shared_ptr<arrow::RecordBatchReader> data,
                                    const WriteOptions& options) override;
  // table::Writable
  arrow::Result<std::unique_ptr<table::Transaction>> Begin(
      const arrow::Schema& input, const WriteOptions& options,
      bool changes_rows) const override;
  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Changes(
      int64_t from_version, std::optional<int64_t> to_version,
      bool file_level = false) const override;
  arrow::Result<MergeResult> Merge(std::shared_ptr<arrow::Table> source,
                                   const MergeOptions& options) override;
  arrow::Result<MergeResult> MergeExtract(
      std::shared_ptr<arrow::RecordBatchReader> extract,
      const MergeOptions& options) override;
  arrow::Result<MergeResult> Delete(const RowChangeOptions& options) override;
  arrow::Result<MergeResult> Update(const UpdateOptions& options) override;
  arrow::Result<OptimizeResult> Optimize(const OptimizeOptions& options) override;
  arrow::Result<VacuumResult> Vacuum(const VacuumOptions& options) override;
  arrow::Result<CheckpointResult> Checkpoint() override;
  arrow::Result<RestoreResult> Restore(const SnapshotSpec& target) override;

  /// The metadata file read, and its parsed content.
  arrow::Result<std::pair<std::string, std::shared_ptr<const TableMetadata>>>
  LoadMetadata() const;

  /// The URI of the current metadata file (file:///..., s3://...).
  arrow::Result<std::string> MetadataUri() const;
  /// For registering the table in a catalog: a file-system table gets a copy of its
  /// current metadata as metadata/<N+1>-<uuid>.metadata.json (logging the file it
  /// copies), whose URI is returned, so that writes by path are refused from then on
  /// (CheckNoCatalogFiles) instead of forking the table. A table opened from one metadata
  /// file returns that file. `discard`: called with the copy's path when registering
  /// fails.
  arrow::Result<std::string> CatalogEntry() const;
  /// Deletes a copy CatalogEntry made (best effort).
  void DiscardCatalogEntry(const std::string& uri) const;

  /// The latest state to write on. Refuses a table opened from one metadata file, and a
  /// table opened by path that a catalog has committed to (<N>-<uuid>.metadata.json
  /// files): writing those goes through the catalog.
  arrow::Result<WriteBase> LoadForWrite() const;
  /// The store of the table's root directory.
  arrow::Result<std::shared_ptr<const TableStore>> RootStore() const;
  /// The table location as Iceberg names it (file:///abs/path, s3://bucket/prefix).
  std::string TableUri() const;
  /// Commits `text` as the metadata following `base`: false, changing nothing, when
  /// another writer committed first. A file-system table gets
  /// metadata/v<N+1>.metadata.json if absent and its version hint; a catalog table gets
  /// metadata/<N+1>-<uuid>.metadata.json and the catalog's pointer moved to it. A REST
  /// catalog is sent `next` as updates instead, and writes the file itself.
  arrow::Result<bool> CommitMetadata(const WriteBase& base, const TableMetadata& next,
                                     const std::string& text) const;

 private:
  IcebergTable(std::shared_ptr<const TableStore> dir_store, std::string location,
               std::string metadata_file, StorageOptions storage)
      : dir_store_(std::move(dir_store)),
        location_(std::move(location)),
        metadata_file_(std::move(metadata_file)),
        storage_(std::move(storage)) {}

  arrow::Status ReadOnly(const char* what) const;
  arrow::Result<OptimizeResult> OptimizeOnce(const OptimizeOptions& options);
  // The metadata file read by path, relative to dir_store_ (the one opened, or the
  // directory's current one); kTableNotFound when there is none.
  arrow::Result<std::string> MetadataFileRel() const;
  // Writes metadata/<version>-<uuid>.metadata.json (5 digits, as catalogs name them);
  // its URI.
  arrow::Result<std::string> PutNamedMetadata(int64_t version,
                                              const std::string& text) const;
  // Writes metadata/v<version>.metadata.json if absent, then the version hint.
  arrow::Result<bool> PutMetadata(int64_t version, const std::string& text) const;
  arrow::Result<bool> SwapInCatalog(const WriteBase& base, const std::string& text) const;
  // Refuses a path write to a table a catalog has committed to.
  arrow::Status CheckNoCatalogFiles() const;

  // The table directory's store (metadata/ under it), or the metadata file's directory.
  std::shared_ptr<const TableStore> dir_store_;
  std::string location_;
  // Set when opened from a metadata file: that file, read-only.
  std::string metadata_file_;
  StorageOptions storage_;
  // Set for a table of a catalog, which records its current metadata file.
  std::shared_ptr<Catalog> catalog_;
  TableIdent ident_;
};

/// The path in a store's file system of a file an Iceberg table names by URI
/// (file:/..., file:///..., s3://bucket/key, s3a://...) or by a path relative to the
/// table location.
std::string FilePath(const TableStore& store, const std::string& uri);

/// Reads a whole file named by URI. Errors name it.
arrow::Result<std::string> ReadWhole(const TableStore& store, const std::string& uri);

}  // namespace inlet::iceberg
