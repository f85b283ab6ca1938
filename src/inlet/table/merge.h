// The engine's entry points: every table format's Write and Merge run these, through the
// format's Transaction (transaction.h).
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/table.h>

#include <memory>

#include "inlet/table.h"
#include "inlet/table/transaction.h"

namespace inlet::table {

/// Table::Write: conforms the input to the table schema, writes data files (overwrites
/// also remove the files they replace), and commits in one transaction.
arrow::Result<CommitResult> Write(const Writable& table,
                                  std::shared_ptr<arrow::RecordBatchReader> data,
                                  const WriteOptions& options);

/// Table::Merge: upsert, insert-only, delete-insert, snapshot diff and sequence-guarded
/// changes (merge.cc), or history (merge_history.cc, with options.history).
arrow::Result<MergeResult> Merge(const Writable& table,
                                 std::shared_ptr<arrow::Table> source,
                                 const MergeOptions& options);

/// Table::MergeExtract: a snapshot merge of a streamed extract, spilled to disk while its
/// keys are indexed and its rows hashed (extract_spill.h); other merges, and tables that
/// record a change data feed, read the stream into memory and Merge it.
arrow::Result<MergeResult> MergeExtract(const Writable& table,
                                        std::shared_ptr<arrow::RecordBatchReader> extract,
                                        const MergeOptions& options);

/// Table::Delete (set null) and Table::Update (set: the columns' new values).
arrow::Result<MergeResult> ChangeRows(
    const Writable& table, const RowChangeOptions& options,
    const std::vector<std::pair<std::string, std::optional<std::string>>>* set);

/// Merge with options.history: slowly changing dimension type 2.
arrow::Result<MergeResult> MergeHistory(const Writable& table,
                                        std::shared_ptr<arrow::Table> source,
                                        const MergeOptions& options);

}  // namespace inlet::table
