// The rows of a postgres_cdc batch (stream/pg_cdc.h): changes read from PostgreSQL's text
// forms (source/pg_text.h) into Arrow columns, with the operation and the change's LSN.
#pragma once

#include <arrow/builder.h>
#include <arrow/result.h>
#include <arrow/table.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "inlet/source/pg_text.h"
#include "inlet/source/pgoutput.h"

namespace inlet::stream {

/// The operation column's values, as Debezium names them (load/cdc.h's defaults).
inline constexpr char kOpColumn[] = "__op";
inline constexpr char kSnapshotOp[] = "r";
inline constexpr char kInsertOp[] = "c";
inline constexpr char kUpdateOp[] = "u";
inline constexpr char kDeleteOp[] = "d";
inline constexpr char kTruncateOp[] = "t";

/// A column of the source table as the rows carry it.
struct Column {
  std::string name;
  pgtext::ColumnType type;
  bool key = false;  // in the replica identity
};

// The change rows of a batch: the table's columns, the operation, the commit's LSN, and
// a given flag for each column some row lacked (a TOASTed value an update left unchanged,
// the non-key columns of a delete), so that the merge keeps the table's value there.
/// The change rows of a batch: the table's columns, the operation (kOpColumn), the
/// change's LSN (kPgLsnColumn), and a given flag (kGivenPrefix) for each column some row
/// lacked (a TOASTed value an update left unchanged, the non-key columns of a delete, a
/// column added or dropped mid-batch), so that the merge keeps the table's value there.
class ChangeRows {
 public:
  /// One value per column of `columns`: nullopt when not given, else the value's text
  /// (nullopt: null).
  using Values = std::vector<std::optional<std::optional<std::string_view>>>;

  /// Appends a row. Invalid, naming the column, for a value that is not of its type or a
  /// column whose type changed. The columns' slots are looked up again when `columns` is
  /// another vector, or after ColumnsChanged.
  arrow::Status Add(const std::vector<Column>& columns, const Values& values,
                    std::string_view op, pgoutput::Lsn commit_lsn, pgoutput::Lsn lsn);
  int64_t rows() const { return rows_; }
  /// The vector given to Add now holds other columns.
  void ColumnsChanged() { cached_for_ = nullptr; }
  /// The batch so far as a table (and a fresh one begins).
  arrow::Result<std::shared_ptr<arrow::Table>> Finish();

 private:
  struct Slot {
    pgtext::ColumnType type;
    std::unique_ptr<arrow::ArrayBuilder> values;
    std::unique_ptr<arrow::BooleanBuilder> given;  // once a row lacks the column
    bool seen = false;
  };
  Slot& SlotOf(const Column& c);
  arrow::Status NotGiven(Slot& slot);

  std::map<std::string, Slot> slots_;
  const std::vector<Column>* cached_for_ = nullptr;  // the columns cached_ follows
  std::vector<Slot*> cached_;
  std::vector<std::string> order_;
  arrow::StringBuilder op_;
  arrow::Int64Builder commit_lsn_, lsn_;
  int64_t rows_ = 0;
};

}  // namespace inlet::stream
