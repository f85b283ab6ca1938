// What the merges share beyond their source (merge.cc: current state; merge_history.cc:
// history, SCD type 2): the live files that can hold the source's keys, reading them a
// batch at a time ahead of the matching, and writing rows and change data.
#pragma once

#include <arrow/result.h>
#include <arrow/table.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "inlet/common/read_ahead.h"
#include "inlet/table.h"
#include "inlet/table/data_writer.h"
#include "inlet/table/transaction.h"

namespace inlet::table {

/// The live files of the base that can hold a key of rows (a source conformed to the
/// table): pruned by partition values when every partition column is a key column, and by
/// the first key column's statistics. With all_files (a truncate, a snapshot) every file.
struct Candidates {
  std::vector<const DataFile*> files;
  /// The partitions read (when pruned by partition), for the commit's conflict checks.
  std::set<PartitionValues> read_partitions;
  bool whole_table_read = false;
};
arrow::Result<Candidates> CandidateFiles(const Transaction& tx, const arrow::Table& rows,
                                         const std::vector<std::string>& keys,
                                         bool all_files);

/// A delete-insert whose keys are the table's partition columns replaces the source's
/// partitions: every live row of their files goes, so none of those files needs reading.
/// Takes out of candidates the files whose row count is recorded, and returns them with
/// the rows they hold. Takes nothing for other merges, or when the table records a change
/// data feed (which needs each deleted row).
struct ReplacedFiles {
  std::vector<const DataFile*> files;
  int64_t rows = 0;
};
ReplacedFiles TakeReplacedPartitions(const MergeOptions& o, const Transaction& tx,
                                     Candidates* candidates);

/// The writers of a merge: data files, and change data files when the table records a
/// change data feed (null otherwise).
struct MergeWriters {
  std::unique_ptr<DataWriter> data;
  std::unique_ptr<DataWriter> changes;
};
arrow::Result<MergeWriters> OpenWriters(const Transaction& tx);

/// Finishes the writers into the commit's changes, scopes its conflict checks to what the
/// merge read (candidates) and wrote, and commits a MERGE with mergeKeys and mode.
arrow::Result<CommitResult> CommitMerge(Transaction* tx, MergeWriters writers,
                                        Candidates candidates,
                                        const std::vector<std::string>& keys,
                                        const std::string& mode, CommitResult counts);

/// As CommitMerge, for another operation with its parameters (DELETE, UPDATE).
arrow::Result<CommitResult> CommitChanges(Transaction* tx, MergeWriters writers,
                                          Candidates candidates,
                                          const std::string& operation,
                                          std::map<std::string, std::string> parameters,
                                          CommitResult counts);

/// "a, b" for messages (sep ", "), "a,b" for parameters (sep ",").
std::string JoinNames(const std::vector<std::string>& names, const char* sep);

/// Reads live files one batch at a time on a background thread, at most a few batches
/// ahead of the caller: decoding overlaps the caller's work, and memory holds those
/// batches rather than whole files. Rows are conformed to the transaction's schema (which
/// may have gained columns from the source); with `columns`, only those, in that order
/// (columns the file's table version lacks come back null). The transaction and the files
/// must outlive the reader.
class FileReadAhead {
 public:
  /// with_lineage: every column, and after them the transaction's row_lineage columns
  /// (for a copy-on-write rewrite, whose kept rows keep them).
  FileReadAhead(const Transaction& tx, std::vector<const DataFile*> files,
                std::vector<std::string> columns = {}, bool with_lineage = false);
  /// Stops the reading thread.
  ~FileReadAhead();
  FileReadAhead(const FileReadAhead&) = delete;
  FileReadAhead& operator=(const FileReadAhead&) = delete;

  /// The next batch of the current file, or null at its end; the call after that goes on
  /// with the next file, in the order given.
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> NextBatch();
  /// The rest of the current file, as one table.
  arrow::Result<std::shared_ptr<arrow::Table>> Next();

 private:
  /// The background thread's: the next batch of the files, null at the end of each,
  /// nullopt after the last.
  arrow::Result<std::optional<std::shared_ptr<arrow::RecordBatch>>> Produce();

  const Transaction& tx_;
  std::vector<const DataFile*> files_;
  std::shared_ptr<arrow::Schema> schema_;  // of the rows returned
  std::vector<std::string> read_columns_;  // of the files (empty: all)
  arrow::Status invalid_;                  // a column that is not in the table
  // The reading thread's own (Produce runs only there):
  std::shared_ptr<arrow::RecordBatchReader> reader_;  // of the file being read
  size_t next_file_ = 0;
  std::unique_ptr<ReadAhead<std::shared_ptr<arrow::RecordBatch>>>
      batches_;  // last: its thread runs Produce
};

arrow::Status WriteTable(DataWriter* writer, const std::shared_ptr<arrow::Table>& rows);

/// Writes the rows of `rows` at the ascending positions `keep`: long runs of consecutive
/// positions as zero-copy slices, the others copied a bounded batch at a time (never a
/// copy of the whole file).
arrow::Status WriteRows(DataWriter* writer, const std::shared_ptr<arrow::Table>& rows,
                        const std::vector<int64_t>& keep);

/// Writes rows to the change data writer (if any) with _change_type = type.
arrow::Status WriteChanges(DataWriter* cdc, const std::shared_ptr<arrow::Table>& rows,
                           const char* type);

}  // namespace inlet::table
