// A write transaction on a Delta table: the base snapshot it reads, the schema new data
// must fit, and the actions of its one commit. Write and Merge are built on it.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include "inlet/delta/commit.h"
#include "inlet/delta/data_writer.h"
#include "inlet/delta/delta_table.h"
#include "inlet/table.h"

namespace inlet::delta {

class WriteTransaction {
 public:
  /// Loads the base snapshot (options.read_version, or the latest), checks that inlet can
  /// write the table (and, for overwrites, that it is not append-only), and prepares the
  /// table's schema: on creation from `input` (with options' partitioning and properties),
  /// otherwise the table's own, with `input`'s extra columns when options.merge_schema.
  /// Errors name the table and the column. A caller that has loaded the base already passes
  /// it as `base` (its version is then the read version), so that it is not loaded again.
  static arrow::Result<std::unique_ptr<WriteTransaction>> Begin(const DeltaTable& table,
                                                                std::shared_ptr<const TableStore> store,
                                                                const arrow::Schema& input,
                                                                const WriteOptions& options,
                                                                bool overwrites,
                                                                std::shared_ptr<DeltaSnapshot> base = nullptr);

  /// The base snapshot; null when the transaction creates the table.
  const std::shared_ptr<DeltaSnapshot>& base() const { return base_; }
  const std::shared_ptr<arrow::Schema>& schema() const { return schema_; }
  const Metadata& metadata() const { return metadata_; }
  const std::string& location() const { return store_->location(); }
  PendingCommit& commit() { return commit_; }

  /// Reorders, casts and null-fills a batch of input to the table schema, or to `to` (some
  /// of its columns).
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Conform(const arrow::RecordBatch& batch) const;
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Conform(const arrow::RecordBatch& batch,
                                                             const std::shared_ptr<arrow::Schema>& to) const;
  /// The size data files roll at: the table's delta.targetFileSize, else the options'.
  int64_t target_file_size() const;
  /// A writer of data files under the table's partitioning and codec, rolling files at
  /// target_file_size when given, else at target_file_size().
  arrow::Result<std::unique_ptr<DataWriter>> NewDataWriter(std::optional<int64_t> target_file_size = {}) const;
  /// Adds a remove action for a live file (data_change=false: the rows move, as in a
  /// compaction, and are not removed).
  void Remove(const AddFile& file, bool data_change = true);

  /// Replaces the document of an application this commit records. The options must give
  /// it a document already (that is what lets the protocol take documents).
  void SetAppDocument(const std::string& app, const std::string& document) {
    options_.app_states[app].document = document;
  }

  /// Whether the table records a change data feed (delta.enableChangeDataFeed=true).
  bool change_data_feed() const;
  /// A writer of change data files (_change_data/, the table schema plus _change_type);
  /// its files become cdc actions through AddChangeFiles.
  arrow::Result<std::unique_ptr<DataWriter>> NewChangeDataWriter() const;
  void AddChangeFiles(const std::vector<AddFile>& files);
  /// The change data schema: the table schema plus the string column _change_type.
  std::shared_ptr<arrow::Schema> change_schema() const;

  /// Commits: commitInfo (operation, params, metrics from result), the app transaction
  /// and domains of the options, then put-if-absent with conflict checks against every
  /// commit after the base; writes a checkpoint when one is due. Returns result with the
  /// version and commit counts filled in.
  arrow::Result<CommitResult> Commit(const std::string& operation, Json params, CommitResult result);

 private:
  WriteTransaction(std::shared_ptr<const TableStore> store, const WriteOptions& options)
      : store_(std::move(store)), options_(options) {}

  std::shared_ptr<const TableStore> store_;
  WriteOptions options_;
  std::shared_ptr<DeltaSnapshot> base_;
  std::shared_ptr<arrow::Schema> schema_;
  Metadata metadata_;
  PendingCommit commit_;
};

}  // namespace inlet::delta
