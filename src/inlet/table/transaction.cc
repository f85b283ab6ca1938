#include "inlet/table/transaction.h"

#include <arrow/type.h>

namespace inlet::table {

std::shared_ptr<arrow::Schema> Transaction::change_schema() const {
  arrow::FieldVector fields = schema()->fields();
  fields.push_back(arrow::field("_change_type", arrow::utf8()));
  return arrow::schema(fields);
}

}  // namespace inlet::table
