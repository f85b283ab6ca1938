// A write transaction on a Delta table: Delta Lake's implementation of the engine's
// table::Transaction. It reads the base snapshot, prepares the schema new data must fit,
// and turns the engine's changes into the actions of its one commit (add, remove, cdc,
// deletion vectors, txn, application documents).
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "inlet/delta/commit.h"
#include "inlet/delta/deletion_vector.h"
#include "inlet/delta/delta_table.h"
#include "inlet/table.h"
#include "inlet/table/data_writer.h"
#include "inlet/table/transaction.h"

namespace inlet::delta {

/// The add action (dataChange as given) of a file the engine wrote: its path URI-encoded,
/// its statistics as the stats JSON.
AddFile ToAddFile(const table::WrittenFile& file, bool data_change = true);

class WriteTransaction : public table::Transaction {
 public:
  /// Loads the base snapshot (options.read_version, or the latest), checks that inlet can
  /// write the table (and, for overwrites, that it is not append-only), and prepares the
  /// table's schema: on creation from `input` (with options' partitioning and
  /// properties), otherwise the table's own, with `input`'s extra columns when
  /// options.merge_schema. Errors name the table and the column. A caller that has loaded
  /// the base already passes it as `base` (its version is then the read version), so that
  /// it is not loaded again.
  static arrow::Result<std::unique_ptr<WriteTransaction>> Begin(
      const DeltaTable& table, std::shared_ptr<const TableStore> store,
      const arrow::Schema& input, const WriteOptions& options, bool overwrites,
      std::shared_ptr<DeltaSnapshot> base = nullptr);

  // table::Transaction
  std::shared_ptr<Snapshot> base() const override { return base_; }
  const std::vector<table::DataFile>& files() const override;
  ColumnStats Statistics(const table::DataFile& file,
                         const std::string& column) const override;
  std::optional<int64_t> RecordCount(const table::DataFile& file) const override;
  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> ReadFile(
      const table::DataFile& file,
      const std::vector<std::string>& columns) const override;
  const std::shared_ptr<arrow::Schema>& schema() const override { return schema_; }
  const std::vector<std::string>& partition_columns() const override {
    return metadata_.partition_columns;
  }
  const std::string& location() const override { return store_->location(); }
  const std::shared_ptr<const TableStore>& store() const override { return store_; }
  using table::Transaction::Conform;
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Conform(
      const arrow::RecordBatch& batch,
      const std::shared_ptr<arrow::Schema>& to) const override;
  /// The table's delta.targetFileSize, else the options'.
  int64_t target_file_size() const override;
  arrow::Result<std::unique_ptr<table::DataWriter>> NewDataWriter(
      std::optional<int64_t> target_file_size = {}) const override;
  /// delta.enableChangeDataFeed=true: change data files go to _change_data/ as cdc
  /// actions.
  bool change_data_feed() const override;
  arrow::Result<std::unique_ptr<table::DataWriter>> NewChangeDataWriter() const override;
  /// The table writes deletion vectors (delta.enableDeletionVectors and the feature).
  bool marks_deleted_rows() const override;
  void Add(const std::vector<table::WrittenFile>& files,
           bool data_change = true) override;
  void AddChanges(const std::vector<table::WrittenFile>& files) override;
  void Remove(const table::DataFile& file, bool data_change = true) override;
  /// The file's deletion vector gains the positions (mapped through the one it had); the
  /// file is removed and added again with it, its statistics flagged not tight. Every
  /// deletion vector of the commit goes into one file, written when it commits.
  arrow::Status MarkDeleted(const table::DataFile& file, int64_t rows_read,
                            std::vector<int64_t> positions) override;
  void SetReadScope(
      std::function<bool(const PartitionValues&)> reads_partition) override {
    commit_.reads_partition = std::move(reads_partition);
  }
  void SetAppDocument(const std::string& app, const std::string& document) override {
    options_.app_states[app].document = document;
  }
  /// Commits: commitInfo (operation, parameters, metrics from counts), the app states of
  /// the options (numbers as txn actions, documents where the table keeps them:
  /// delta/app_documents.h), then put-if-absent with conflict
  /// checks against every commit after the base; writes a checkpoint when one is due.
  arrow::Result<CommitResult> Commit(const std::string& operation,
                                     std::map<std::string, std::string> parameters,
                                     CommitResult counts) override;

  // Delta's own.

  const Metadata& metadata() const { return metadata_; }
  PendingCommit& commit() { return commit_; }
  /// The add action of a live file of the base.
  const AddFile& AddFileOf(const table::DataFile& file) const {
    return base_->state().files[file.index];
  }

 private:
  WriteTransaction(std::shared_ptr<const TableStore> store, const WriteOptions& options)
      : store_(std::move(store)), options_(options) {}

  // The documents the options record or clear, as actions of the commit (and objects,
  // in files mode); the protocol gains domainMetadata when they need it.
  arrow::Status RecordDocuments(int64_t now);

  static arrow::Status UpdateProperties(
      const TableState& state, const std::map<std::string, std::string>& properties,
      const std::string& location, WriteTransaction* tx);

  std::shared_ptr<const TableStore> store_;
  WriteOptions options_;
  std::shared_ptr<DeltaSnapshot> base_;
  // The base's live files, made on the first files() call (by the thread driving the
  // transaction, before any reader of them starts).
  mutable std::optional<std::vector<table::DataFile>> files_;
  static inline const std::vector<table::DataFile> kNoFiles;
  std::shared_ptr<arrow::Schema> schema_;
  Metadata metadata_;
  PendingCommit commit_;
  /// Merge-on-read: the deletion vectors of this commit, and the files added again with
  /// theirs (after the other adds).
  std::optional<DeletionVectorFile> deletion_vectors_;
  std::vector<AddFile> marked_;
};

}  // namespace inlet::delta
