#include "inlet/table/transaction.h"

#include <arrow/table.h>
#include <arrow/type.h>

namespace inlet::table {

const arrow::FieldVector& Transaction::row_lineage() const {
  static const arrow::FieldVector none;
  return none;
}

arrow::Result<std::shared_ptr<arrow::Table>> WithoutLineage(
    const Transaction& tx, std::shared_ptr<arrow::Table> rows) {
  for (const auto& f : tx.row_lineage()) {
    int i = rows->schema()->GetFieldIndex(f->name());
    if (i < 0) continue;
    ARROW_ASSIGN_OR_RAISE(rows, rows->RemoveColumn(i));
  }
  return rows;
}

std::shared_ptr<arrow::Schema> Transaction::change_schema() const {
  arrow::FieldVector fields = schema()->fields();
  fields.push_back(arrow::field("_change_type", arrow::utf8()));
  return arrow::schema(fields);
}

}  // namespace inlet::table
