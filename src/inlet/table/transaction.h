// The seam between the format-neutral engine and a table format. The engine (writes,
// merges, change data capture, history, compaction planning: write.h, merge.h,
// optimize_plan.h) makes every change of a table through one Transaction, which a format
// implements for one commit: it shows the engine the base snapshot's live files, reads
// them, and records what the commit removes, adds and marks deleted, in the format's own
// terms (Delta Lake: delta/transaction.h). Adding a table format means implementing
// Transaction and Writable; no strategy and no part of the engine changes.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "inlet/storage/table_store.h"
#include "inlet/table.h"
#include "inlet/table/data_writer.h"
#include "inlet/table/partition.h"
#include "inlet/table/value.h"

namespace inlet::table {

/// A live data file of the base snapshot, as the engine plans with it.
struct DataFile {
  /// The format's name for the file (Delta Lake: the path in the log). Unique among the
  /// snapshot's live files.
  std::string path;
  PartitionValues partition_values;
  int64_t size_bytes = 0;
  /// Whether some of its rows are marked deleted (a deletion vector), and how many.
  bool has_deletes = false;
  int64_t deleted_rows = 0;
  /// The format's own handle on the file (its position in the snapshot's file list).
  size_t index = 0;
};

/// One key of the order rows are written in.
struct SortKey {
  std::string column;
  bool ascending = true;
  bool nulls_first = true;
  /// Rows sort by this function of the column's values (Iceberg's sort transforms:
  /// bucket, truncate, day, ...) when set, else by the values.
  std::function<arrow::Result<std::shared_ptr<arrow::Array>>(
      const std::shared_ptr<arrow::Array>&)>
      transform;
};

/// The changes of one commit, based on one snapshot. One thread drives a transaction; the
/// const reading functions (ReadFile, Conform, Statistics, RecordCount, schema) may also
/// be called from a read-ahead thread meanwhile, so they must not change the transaction.
class Transaction {
 public:
  virtual ~Transaction() = default;

  /// The order a write sorts its rows in before writing them (the table's sort order);
  /// empty: they are written as they come.
  virtual std::vector<SortKey> WriteOrder() const { return {}; }

  // --- The base the commit reads.

  /// The base snapshot; null when the transaction creates the table.
  virtual std::shared_ptr<Snapshot> base() const = 0;
  /// The base's live data files (empty without a base). They outlive the transaction's
  /// readers; pointers to them stay valid while the transaction lives.
  virtual const std::vector<DataFile>& files() const = 0;
  /// What file recorded about a column of the table (min, max, null count, row count).
  /// Unknown members are absent.
  virtual ColumnStats Statistics(const DataFile& file,
                                 const std::string& column) const = 0;
  /// Rows in the file, deleted ones included; nullopt when the format did not record it.
  virtual std::optional<int64_t> RecordCount(const DataFile& file) const = 0;
  /// Reads a live file's rows (those it marks deleted left out) in file order, with
  /// `columns` of the base schema (all when empty), in their logical names and types.
  /// Errors name the file.
  virtual arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> ReadFile(
      const DataFile& file, const std::vector<std::string>& columns) const = 0;

  /// The schema new rows take: the base's, with the columns a schema merge adds, or the
  /// new table's.
  virtual const std::shared_ptr<arrow::Schema>& schema() const = 0;
  /// Columns the format keeps for each row beside the table's (Iceberg v3's row lineage:
  /// _row_id and _last_updated_sequence_number); none for most. ReadFile gives them after
  /// the table's columns when it reads every column, and data writers take batches with
  /// or without them (absent: written null). A row written again unchanged (kept by a
  /// copy-on-write rewrite, moved by a compaction) keeps its values; a changed row is
  /// written without them, as a new row (WithoutLineage).
  virtual const arrow::FieldVector& row_lineage() const;
  virtual const std::vector<std::string>& partition_columns() const = 0;
  /// Whether the files' partition values (DataFile::partition_values and
  /// WrittenFile::partition_values, whole tuples) tell the table's partitions apart: also
  /// true for hidden partitions (Iceberg's transforms), which partition_columns() does
  /// not list.
  virtual bool partitioned() const { return !partition_columns().empty(); }
  /// The table, for messages.
  virtual const std::string& location() const = 0;
  /// The table's storage, for files the engine keeps beside the data (tombstones).
  virtual const std::shared_ptr<const TableStore>& store() const = 0;

  // --- How new rows are written.

  /// Reorders, casts and null-fills a batch of input to `to` (the table schema, or some
  /// of its columns). Errors name the column and are schema mismatches.
  virtual arrow::Result<std::shared_ptr<arrow::RecordBatch>> Conform(
      const arrow::RecordBatch& batch,
      const std::shared_ptr<arrow::Schema>& to) const = 0;
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Conform(
      const arrow::RecordBatch& batch) const {
    return Conform(batch, schema());
  }
  /// The size data files roll at (the table's property, else the write options').
  virtual int64_t target_file_size() const = 0;
  /// A writer of data files under the table's partitioning and codec, rolling files at
  /// target_file_size when given, else at target_file_size().
  virtual arrow::Result<std::unique_ptr<DataWriter>> NewDataWriter(
      std::optional<int64_t> target_file_size = {}) const = 0;
  /// Whether the table records each row change for readers of its change feed (Delta
  /// Lake: delta.enableChangeDataFeed), in files NewChangeDataWriter writes.
  virtual bool change_data_feed() const = 0;
  /// A writer of change data files: change_schema() rows.
  virtual arrow::Result<std::unique_ptr<DataWriter>> NewChangeDataWriter() const = 0;
  /// The table schema plus the string column _change_type.
  std::shared_ptr<arrow::Schema> change_schema() const;
  /// Whether the table marks changed rows deleted (merge-on-read: MarkDeleted) instead of
  /// rewriting the files holding them (copy-on-write).
  virtual bool marks_deleted_rows() const = 0;

  // --- What the commit does.

  /// Adds data files the engine wrote. data_change false: the rows were already in the
  /// table (a compaction moved them).
  virtual void Add(const std::vector<WrittenFile>& files, bool data_change = true) = 0;
  /// Adds change data files (from NewChangeDataWriter).
  virtual void AddChanges(const std::vector<WrittenFile>& files) = 0;
  /// Removes a live file. data_change false: its rows stay in the table (a compaction).
  virtual void Remove(const DataFile& file, bool data_change = true) = 0;
  /// Merge-on-read: marks rows of a live file deleted, replacing its record (Delta Lake:
  /// removed and added again with a deletion vector). `positions` are ascending positions
  /// among the `rows_read` rows ReadFile gave for it. A file with every row marked is
  /// only removed. Fails when storage cannot take the marks.
  virtual arrow::Status MarkDeleted(const DataFile& file, int64_t rows_read,
                                    std::vector<int64_t> positions) = 0;
  /// Which partitions the commit's decisions read. A concurrent commit that adds rows to
  /// one of them conflicts with this one. Unset: the commit read nothing (a blind
  /// append).
  virtual void SetReadScope(
      std::function<bool(const PartitionValues&)> reads_partition) = 0;
  /// Replaces the document of an application this commit records. The write options must
  /// give the app a document already.
  virtual void SetAppDocument(const std::string& app, const std::string& document) = 0;
  /// Commits: the application states of the write options, the changes, and `operation`
  /// with its parameters in the table's history; conflicts are checked against every
  /// commit after the base. Returns counts with the version and commit figures filled in.
  /// On failure nothing of the transaction is visible.
  virtual arrow::Result<CommitResult> Commit(
      const std::string& operation, std::map<std::string, std::string> parameters,
      CommitResult counts) = 0;
};

/// `rows` without the transaction's row_lineage columns (a changed row is a new row).
arrow::Result<std::shared_ptr<arrow::Table>> WithoutLineage(
    const Transaction& tx, std::shared_ptr<arrow::Table> rows);

/// A table the engine can change. The format's Table implements it, and calls the engine
/// (table::Write, table::Merge) from its own Write and Merge.
class Writable {
 public:
  virtual ~Writable() = default;

  /// Starts a transaction on the latest snapshot (or options.read_version), for input of
  /// schema `input`: checks that inlet can write the table (changes_rows: also that rows
  /// may change, which an append-only table refuses), and prepares the table schema (on
  /// creation from input, with options' partitioning and properties; otherwise the
  /// table's, with input's extra columns when options.merge_schema). Errors name the
  /// table and the column.
  virtual arrow::Result<std::unique_ptr<Transaction>> Begin(const arrow::Schema& input,
                                                            const WriteOptions& options,
                                                            bool changes_rows) const = 0;
  virtual const std::string& location() const = 0;
  /// As Table::GetSnapshot.
  virtual arrow::Result<std::shared_ptr<Snapshot>> GetSnapshot(
      const SnapshotSpec& spec) const = 0;
};

}  // namespace inlet::table
