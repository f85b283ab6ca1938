// What a snapshot merge (an extract of the whole table, table/merge.cc) compares rows by,
// and the guard on how much of the table it may delete.
#pragma once

#include <arrow/result.h>
#include <arrow/type.h>

#include <cstdint>
#include <string>
#include <vector>

#include "inlet/table/extract_spill.h"
#include "inlet/table/merge.h"
#include "inlet/table/merge_source.h"
#include "inlet/table/row_hash.h"

namespace inlet::table {

/// A snapshot merge may delete (or soft-delete) at most max_percent of the table's rows:
/// an empty or truncated extract must not empty the table.
arrow::Status CheckDeleteShare(const std::string& location, int64_t leaving, int64_t rows,
                               double max_percent);

/// Snapshot mode: the source is an extract of the whole table. Rows compare by hash on
/// the table's columns the extract has, but the soft-delete column.
struct SnapshotCompare {
  std::vector<std::string> columns;
  std::vector<RowHash> source;  // of each source row
  std::vector<bool>
      changed;  // source rows that differ from (some) table row of their key
  /// The table's rows, hashed before the extract was read: the source holds only the
  /// extract's rows that differ from them (and new keys), and a table row whose key the
  /// source lacks is unchanged when the extract gave its key.
  const TableRows* table = nullptr;

  /// Options that do not fit a snapshot merge, named.
  static arrow::Status Check(const MergeOptions& o, const arrow::Schema& input,
                             const arrow::Schema& table);
  /// The table's columns the extract has, but the soft-delete column.
  static std::vector<std::string> Columns(const MergeOptions& o,
                                          const arrow::Schema& input,
                                          const Snapshot* base);
  /// The comparison of an in-memory source (src.rows), its rows hashed.
  static arrow::Result<SnapshotCompare> Make(const MergeOptions& o,
                                             const arrow::Schema& input,
                                             const Snapshot* base,
                                             const MergeSource& src);
};

}  // namespace inlet::table
