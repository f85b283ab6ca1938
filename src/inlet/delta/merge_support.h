// What the merges of DeltaTable share (table_merge.cc: current state; table_history.cc:
// history, SCD type 2): the source prepared against the table, the files that can hold its
// keys, reading one of them, and writing rows and change data.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <arrow/result.h>
#include <arrow/table.h>

#include "inlet/common/read_ahead.h"
#include "inlet/delta/actions.h"
#include "inlet/delta/data_writer.h"
#include "inlet/delta/deletion_vector.h"
#include "inlet/delta/delta_table.h"
#include "inlet/delta/transaction.h"
#include "inlet/table.h"
#include "inlet/table/row_keys.h"

namespace inlet::delta::merge {

/// Per row: whether the boolean column is true (false where null, or with no boolean
/// column).
std::vector<bool> TrueRows(const std::shared_ptr<arrow::ChunkedArray>& column, int64_t rows);

/// The source conformed to the table schema: for upserts de-duplicated to one row per key,
/// for delete-insert every row.
struct MergeSource {
  std::shared_ptr<arrow::Table> rows;           // table schema
  std::vector<int64_t> keys;                    // key id of each row (see KeyEncoder)
  std::vector<bool> deleted;                    // delete flag per row
  /// With sequence_by: each row's sequence (OrderedKeys bytes), and whether it is late.
  std::vector<std::string> sequences;
  std::vector<bool> late;
  /// The sequence of the source's last truncate, if it has one.
  std::optional<std::string> truncate_at;
  /// key -> row (for delete-insert, some row of that key: only presence matters).
  KeyIndex by_key;
  int64_t duplicates = 0;
};

/// The first step of preparing a source, which does not look at keys: the delete and
/// truncate flags taken out (truncate events leave the source, setting truncate_at), keys
/// and sequences checked for nulls, and the rows conformed to the transaction's schema.
struct ConformedSource {
  std::shared_ptr<arrow::Table> rows;  // table schema
  std::vector<bool> deleted;           // delete flag per row
  std::optional<std::string> truncate_at;
};
arrow::Result<ConformedSource> ConformSource(const std::shared_ptr<arrow::Table>& source, const MergeOptions& o,
                                             const WriteTransaction& tx);

/// The second step: each row's key id, and (except for delete-insert) each key's winning
/// row kept.
arrow::Result<MergeSource> IndexSource(ConformedSource conformed, const MergeOptions& o, KeyEncoder* encoder);

/// Both steps.
arrow::Result<MergeSource> PrepareSource(const std::shared_ptr<arrow::Table>& source, const MergeOptions& o,
                                         const WriteTransaction& tx, KeyEncoder* encoder);

/// The live files of base that can hold a key of rows (a source conformed to the table):
/// pruned by partition values when every partition column is a key column, and by the
/// first key column's statistics. With all_files (a truncate, a snapshot) every file.
struct Candidates {
  std::vector<const AddFile*> files;
  /// The partitions read (when pruned by partition), for the commit's conflict checks.
  std::set<PartitionValues> read_partitions;
  bool whole_table_read = false;
};
arrow::Result<Candidates> CandidateFiles(const DeltaSnapshot& base, const arrow::Table& rows,
                                         const std::vector<std::string>& keys, bool all_files);

/// A delete-insert whose keys are the table's partition columns replaces the source's
/// partitions: every live row of their files goes, so none of those files needs reading.
/// Takes out of candidates the files whose statistics count their rows, and returns them
/// with the rows they hold. Takes nothing for other merges, or when the table records a
/// change data feed (which needs each deleted row).
struct ReplacedFiles {
  std::vector<const AddFile*> files;
  int64_t rows = 0;
};
ReplacedFiles TakeReplacedPartitions(const MergeOptions& o, const WriteTransaction& tx, Candidates* candidates);

/// The writers of a merge: data files, and change data files when the table records a
/// change data feed (null otherwise).
struct MergeWriters {
  std::unique_ptr<DataWriter> data;
  std::unique_ptr<DataWriter> changes;
};
arrow::Result<MergeWriters> OpenWriters(const WriteTransaction& tx);

/// Finishes the writers into the commit's actions (plus marked, files given deletion
/// vectors), scopes its conflict checks to what the merge read (candidates) and wrote, and
/// commits a MERGE with mergeKeys and mode.
arrow::Result<CommitResult> CommitMerge(WriteTransaction* tx, MergeWriters writers, Candidates candidates,
                                        const std::vector<std::string>& keys, const std::string& mode,
                                        CommitResult counts, std::vector<AddFile> marked = {});

/// Merge-on-read: `file` (read as `rows_read` rows, its current deletion vector applied)
/// with the rows at the ascending positions `deleted` and `updated` marked deleted too. The
/// new DV goes into dvs; the result is the file's new add action, or nullopt when no row
/// of it is left. Statistics are kept and flagged as not tight.
arrow::Result<std::optional<AddFile>> MarkDeleted(const TableStore& store, const AddFile& file, int64_t rows_read,
                                                  const std::vector<int64_t>& deleted,
                                                  const std::vector<int64_t>& updated, DeletionVectorFile* dvs);

/// "a, b" for messages (sep ", "), "a,b" for parameters (sep ",").
std::string JoinNames(const std::vector<std::string>& names, const char* sep);

/// Reads live files one batch at a time on a background thread, at most a few batches
/// ahead of the caller: decoding overlaps the caller's work, and memory holds those batches
/// rather than whole files. Rows are conformed to the transaction's schema (which may have
/// gained columns from the source); with `columns`, only those, in that order (columns the
/// file's table version lacks come back null). The store, snapshot, files and transaction
/// must outlive the reader.
class FileReadAhead {
 public:
  FileReadAhead(std::shared_ptr<const TableStore> store, const DeltaSnapshot& base,
                std::vector<const AddFile*> files, const WriteTransaction& tx, std::vector<std::string> columns = {});
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

  std::shared_ptr<const TableStore> store_;
  const DeltaSnapshot& base_;
  std::vector<const AddFile*> files_;
  const WriteTransaction& tx_;
  std::shared_ptr<arrow::Schema> schema_;  // of the rows returned
  std::vector<std::string> read_columns_;  // of the files (empty: all)
  arrow::Status invalid_;                  // a column that is not in the table
  std::shared_ptr<arrow::RecordBatchReader> reader_;  // of the file being read (Produce's)
  size_t next_file_ = 0;                               // Produce's
  std::unique_ptr<ReadAhead<std::shared_ptr<arrow::RecordBatch>>> batches_;  // last: its thread runs Produce
};

arrow::Status WriteTable(DataWriter* writer, const std::shared_ptr<arrow::Table>& rows);

/// Writes the rows of `rows` at the ascending positions `keep`: long runs of consecutive
/// positions as zero-copy slices, the others copied a bounded batch at a time (never a
/// copy of the whole file).
arrow::Status WriteRows(DataWriter* writer, const std::shared_ptr<arrow::Table>& rows, const std::vector<int64_t>& keep);

/// Writes rows to the change data writer (if any) with _change_type = type.
arrow::Status WriteChanges(DataWriter* cdc, const std::shared_ptr<arrow::Table>& rows, const char* type);

}  // namespace inlet::delta::merge
