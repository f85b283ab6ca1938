// A merge's source prepared against the table: the delete and truncate flags taken out,
// keys and sequences checked, the rows conformed to the table schema, and each key's
// winning row indexed.
#pragma once

#include <arrow/result.h>
#include <arrow/table.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "inlet/table.h"
#include "inlet/table/row_keys.h"
#include "inlet/table/transaction.h"

namespace inlet::table {

/// Per row: whether the boolean column is true (false where null, or with no boolean
/// column).
std::vector<bool> TrueRows(const std::shared_ptr<arrow::ChunkedArray>& column,
                           int64_t rows);

/// The source conformed to the table schema: for upserts de-duplicated to one row per
/// key, for delete-insert every row.
struct MergeSource {
  std::shared_ptr<arrow::Table> rows;  // table schema
  std::vector<int64_t> keys;           // key id of each row (see KeyEncoder)
  std::vector<bool> deleted;           // delete flag per row
  /// With sequence_by: each row's sequence (OrderedKeys bytes), and whether it is late.
  std::vector<std::string> sequences;
  std::vector<bool> late;
  /// The sequence of the source's last truncate, if it has one.
  std::optional<std::string> truncate_at;
  /// key -> row (for delete-insert, some row of that key: only presence matters).
  KeyIndex by_key;
  int64_t duplicates = 0;
  /// MergeOptions::given_flags read: column -> per row, whether the source gave it. For
  /// upserts, folded: a winning row's column holds the latest earlier value of its key
  /// that was given (and is marked given), when there is one.
  std::map<std::string, std::vector<bool>> given;
  /// With sequence_by and given flags: column -> per row, the sequence of the row its
  /// given value came from (empty where not given). A folded value older than the
  /// table's row, or than the key's remembered delete, does not apply.
  std::map<std::string, std::vector<std::string>> given_from;
};

/// The first step of preparing a source, which does not look at keys: the delete and
/// truncate flags taken out (truncate events leave the source, setting truncate_at), and
/// the given flags (of the transaction's columns), keys and sequences checked for nulls,
/// and the rows conformed to the transaction's schema.
struct ConformedSource {
  std::shared_ptr<arrow::Table> rows;  // table schema
  std::vector<bool> deleted;           // delete flag per row
  std::optional<std::string> truncate_at;
  std::map<std::string, std::vector<bool>> given;  // column -> per row
};

/// The column of schema that a column called name goes to, as rows are conformed: the
/// same name, else the one equal but for case; empty when there is none.
std::string MatchingName(const arrow::Schema& schema, const std::string& name);

/// The source's columns without the merge's flag columns (delete, truncate, given).
arrow::Result<std::shared_ptr<arrow::Schema>> WithoutFlags(const arrow::Schema& source,
                                                           const MergeOptions& o);
arrow::Result<ConformedSource> ConformSource(const std::shared_ptr<arrow::Table>& source,
                                             const MergeOptions& o,
                                             const Transaction& tx);

/// The second step: each row's key id, and (except for delete-insert) each key's winning
/// row kept.
arrow::Result<MergeSource> IndexSource(ConformedSource conformed, const MergeOptions& o,
                                       KeyEncoder* encoder);

/// Both steps.
arrow::Result<MergeSource> PrepareSource(const std::shared_ptr<arrow::Table>& source,
                                         const MergeOptions& o, const Transaction& tx,
                                         KeyEncoder* encoder);

}  // namespace inlet::table
