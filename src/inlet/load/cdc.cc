#include "inlet/load/cdc.h"

#include <arrow/builder.h>
#include <arrow/compute/api.h>

#include <optional>

#include "inlet/load/rows.h"

namespace inlet::load {

namespace {

arrow::Result<std::vector<std::optional<std::string>>> Texts(
    const std::shared_ptr<arrow::ChunkedArray>& column) {
  std::shared_ptr<arrow::ChunkedArray> text = column;
  if (column->type()->id() != arrow::Type::STRING) {
    ARROW_ASSIGN_OR_RAISE(arrow::Datum cast, arrow::compute::Cast(column, arrow::utf8()));
    text = cast.chunked_array();
  }
  std::vector<std::optional<std::string>> out;
  out.reserve(column->length());
  for (const auto& chunk : text->chunks()) {
    const auto& a = static_cast<const arrow::StringArray&>(*chunk);
    for (int64_t i = 0; i < a.length(); ++i) {
      out.push_back(a.IsNull(i) ? std::nullopt
                                : std::optional<std::string>(std::string(a.GetView(i))));
    }
  }
  return out;
}

}  // namespace

std::map<std::string, ChangeOp> DefaultOperations() {
  std::map<std::string, ChangeOp> m;
  for (const char* v :
       {"c", "r", "I", "i", "insert", "INSERT", "u", "U", "update", "UPDATE"})
    m[v] = ChangeOp::kUpsert;
  for (const char* v : {"d", "D", "delete", "DELETE"}) m[v] = ChangeOp::kDelete;
  for (const char* v : {"t", "T", "truncate", "TRUNCATE"}) m[v] = ChangeOp::kTruncate;
  return m;
}

arrow::Result<ChangeOp> OperationOf(const ChangeOptions& o, std::string_view op) {
  auto it = o.operations.find(std::string(op));
  if (it == o.operations.end()) {
    return arrow::Status::Invalid("unknown operation '", op, "' in column '",
                                  o.operation_column,
                                  "' (map it under strategy.operations)");
  }
  if (it->second == ChangeOp::kTruncate && o.refuse_truncates) {
    return arrow::Status::Invalid("a truncate ('", op,
                                  "') cannot be applied to a history (scd_type: 2)");
  }
  return it->second;
}

arrow::Result<std::shared_ptr<arrow::Table>> MarkChanges(
    const std::shared_ptr<arrow::Table>& rows, const ChangeOptions& o,
    const std::vector<std::string>& file_names) {
  auto op_column = rows->GetColumnByName(o.operation_column);
  if (!op_column) {
    return arrow::Status::Invalid("cdc: the source has no operation column '",
                                  o.operation_column,
                                  "' (set strategy.operation_column)");
  }
  ARROW_ASSIGN_OR_RAISE(auto ops, Texts(op_column));
  std::vector<std::optional<std::string>> deleted_marks;
  if (auto marks = rows->GetColumnByName(kDebeziumDeletedColumn)) {
    ARROW_ASSIGN_OR_RAISE(deleted_marks, Texts(marks));
  }
  arrow::BooleanBuilder del, trunc;
  std::vector<bool> is_truncate(rows->num_rows(), false);
  for (int64_t i = 0; i < rows->num_rows(); ++i) {
    if (!ops[i]) {
      return arrow::Status::Invalid("cdc: ", PlaceOfRow(*rows, i, file_names),
                                    ": the operation ('", o.operation_column,
                                    "') is null");
    }
    auto op = OperationOf(o, *ops[i]);
    if (!op.ok())
      return op.status().WithMessage("cdc: ", PlaceOfRow(*rows, i, file_names), ": ",
                                     op.status().message());
    bool marked =
        !deleted_marks.empty() && deleted_marks[i] && *deleted_marks[i] == "true";
    is_truncate[i] = *op == ChangeOp::kTruncate;
    ARROW_RETURN_NOT_OK(del.Append(*op == ChangeOp::kDelete || marked));
    ARROW_RETURN_NOT_OK(trunc.Append(is_truncate[i]));
  }
  for (const auto& name : o.sequence_by) {
    auto column = rows->GetColumnByName(name);
    if (!column)
      return arrow::Status::Invalid("cdc: the source has no sequence column '", name,
                                    "'");
    if (column->null_count() == 0) continue;
    int64_t row = 0;
    for (const auto& chunk : column->chunks()) {
      for (int64_t i = 0; i < chunk->length(); ++i, ++row) {
        if (chunk->IsNull(i)) {
          return arrow::Status::Invalid("cdc: ", PlaceOfRow(*rows, row, file_names),
                                        ": the sequence column '", name, "' is null");
        }
      }
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto del_array, del.Finish());
  ARROW_ASSIGN_OR_RAISE(auto trunc_array, trunc.Finish());
  std::shared_ptr<arrow::Table> out = rows;
  std::vector<std::string> drop = {kDebeziumDeletedColumn};
  if (!o.keep_operation_column) drop.push_back(o.operation_column);
  for (const auto& name : drop) {
    int idx = out->schema()->GetFieldIndex(name);
    if (idx >= 0) {
      ARROW_ASSIGN_OR_RAISE(out, out->RemoveColumn(idx));
    }
  }
  ARROW_ASSIGN_OR_RAISE(
      out, out->AddColumn(out->num_columns(), arrow::field(kDeleteFlag, arrow::boolean()),
                          std::make_shared<arrow::ChunkedArray>(del_array)));
  ARROW_ASSIGN_OR_RAISE(
      out,
      out->AddColumn(out->num_columns(), arrow::field(kTruncateFlag, arrow::boolean()),
                     std::make_shared<arrow::ChunkedArray>(trunc_array)));
  return out;
}

}  // namespace inlet::load
