// Change data capture: change events (an operation column, key columns and sequence
// columns) turned into the flags of a sequence-guarded merge.
#pragma once

#include <arrow/result.h>
#include <arrow/table.h>

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace inlet::load {

enum class ChangeOp { kUpsert, kDelete, kTruncate };

/// Debezium's c/r/u/d/t, the I/U/D of many CDC tools, and the words themselves:
/// c, r, I, i, insert, INSERT, u, U, update, UPDATE -> upsert; d, D, delete, DELETE ->
/// delete; t, T, truncate, TRUNCATE -> truncate.
std::map<std::string, ChangeOp> DefaultOperations();

/// The boolean columns MarkChanges adds (consumed by the merge, never written).
inline constexpr char kDeleteFlag[] = "__inlet_delete";
inline constexpr char kTruncateFlag[] = "__inlet_truncate";
/// Debezium's unwrap transform marks deletes (delete.handling.mode=rewrite) in this
/// column.
inline constexpr char kDebeziumDeletedColumn[] = "__deleted";

struct ChangeOptions {
  std::string operation_column;
  std::map<std::string, ChangeOp> operations = DefaultOperations();
  std::vector<std::string> sequence_by;
  /// Keep the operation column in the table (it is dropped otherwise).
  bool keep_operation_column = false;
  /// Refuse truncate events (history tables cannot apply them).
  bool refuse_truncates = false;
};

/// The change a (non-null) operation value stands for. Invalid for a value the mapping
/// does not have, and for a truncate when they are refused.
arrow::Result<ChangeOp> OperationOf(const ChangeOptions& options, std::string_view op);

/// Adds kDeleteFlag and kTruncateFlag from the operation column (and a true __deleted),
/// dropping the operation column unless kept, and __deleted. file_names names the files
/// of the file-index column (see ReadSourceFiles). Invalid names the file and row of an
/// operation that is null or not mapped (or a truncate, when refused), and of a null
/// sequence value; and a missing operation or sequence column.
arrow::Result<std::shared_ptr<arrow::Table>> MarkChanges(
    const std::shared_ptr<arrow::Table>& rows, const ChangeOptions& options,
    const std::vector<std::string>& file_names);

}  // namespace inlet::load
