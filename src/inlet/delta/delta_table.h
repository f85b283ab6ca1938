// Delta Lake's implementation of the format-neutral Table and Snapshot.
#pragma once

#include <memory>
#include <string>

#include "inlet/delta/log_replay.h"
#include "inlet/delta/schema.h"
#include "inlet/storage/table_store.h"
#include "inlet/table.h"
#include "inlet/table/transaction.h"

namespace inlet::delta {

class DeltaSnapshot : public Snapshot {
 public:
  /// Checks the protocol gate and parses the schema of state.
  static arrow::Result<std::shared_ptr<DeltaSnapshot>> Make(
      std::shared_ptr<const TableStore> store, TableState state);

  int64_t version() const override { return state_->version; }
  std::string snapshot_id() const override { return std::to_string(state_->version); }
  const std::shared_ptr<arrow::Schema>& schema() const override {
    return schema_->arrow_schema;
  }
  const std::vector<std::string>& partition_columns() const override {
    return state_->metadata.partition_columns;
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

  const TableState& state() const { return *state_; }
  const DeltaSchema& delta_schema() const { return *schema_; }

 private:
  DeltaSnapshot(std::shared_ptr<const TableStore> store,
                std::shared_ptr<const TableState> state,
                std::shared_ptr<const DeltaSchema> schema)
      : store_(std::move(store)), state_(std::move(state)), schema_(std::move(schema)) {}

  std::shared_ptr<const TableStore> store_;
  std::shared_ptr<const TableState> state_;
  std::shared_ptr<const DeltaSchema> schema_;
};

/// A Delta table. Write and Merge run the format-neutral engine (table/merge.h) through
/// this table's transactions (delta/transaction.h); the rest is Delta's own.
class DeltaTable : public Table, public table::Writable {
 public:
  /// With must_exist, fails with TableNotFound ("not a Delta table") unless the log
  /// exists.
  static arrow::Result<std::shared_ptr<DeltaTable>> Open(
      const std::string& uri, bool must_exist, const StorageOptions& storage = {});

  const std::string& location() const override { return store_->location(); }
  arrow::Result<std::shared_ptr<Snapshot>> GetSnapshot(
      const SnapshotSpec& spec) const override;
  arrow::Result<std::vector<HistoryEntry>> History(int64_t limit) const override;
  arrow::Result<CommitResult> Write(std::shared_ptr<arrow::RecordBatchReader> data,
                                    const WriteOptions& options) override;

  arrow::Result<MergeResult> Merge(std::shared_ptr<arrow::Table> source,
                                   const MergeOptions& options) override;
  arrow::Result<MergeResult> MergeExtract(
      std::shared_ptr<arrow::RecordBatchReader> extract,
      const MergeOptions& options) override;
  arrow::Result<MergeResult> Delete(const RowChangeOptions& options) override;
  arrow::Result<MergeResult> Update(const UpdateOptions& options) override;
  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Changes(
      int64_t from_version, std::optional<int64_t> to_version,
      bool file_level = false) const override;
  arrow::Result<OptimizeResult> Optimize(const OptimizeOptions& options) override;
  arrow::Result<VacuumResult> Vacuum(const VacuumOptions& options) override;
  arrow::Result<CheckpointResult> Checkpoint() override;
  arrow::Result<RestoreResult> Restore(const SnapshotSpec& target) override;

  // table::Writable
  arrow::Result<std::unique_ptr<table::Transaction>> Begin(
      const arrow::Schema& input, const WriteOptions& options,
      bool changes_rows) const override;

  /// The snapshot spec selects. `listed`, a listing of the log just made, saves listing
  /// it again (it is not used to travel by time, which needs file times).
  arrow::Result<std::shared_ptr<DeltaSnapshot>> LoadSnapshot(
      const SnapshotSpec& spec, const LogListing* listed = nullptr) const;

 private:
  explicit DeltaTable(std::shared_ptr<const TableStore> store)
      : store_(std::move(store)) {}

  /// One planning and commit of Optimize (table_optimize.cc).
  arrow::Result<OptimizeResult> OptimizeOnce(const OptimizeOptions& options);

  /// The version whose commit time is the latest at or before timestamp_ms.
  arrow::Result<int64_t> VersionAt(const LogListing& listing, int64_t timestamp_ms) const;

  std::shared_ptr<const TableStore> store_;
};

}  // namespace inlet::delta
