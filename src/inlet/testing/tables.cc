#include "inlet/testing/tables.h"

#include <arrow/api.h>
#include <arrow/json/from_string.h>

namespace inlet::testing {

std::shared_ptr<arrow::DataType> IdPartValueRow() {
  return arrow::struct_({arrow::field("id", arrow::int64()),
                         arrow::field("p", arrow::utf8()),
                         arrow::field("v", arrow::float64())});
}

std::shared_ptr<arrow::RecordBatchReader> JsonRows(
    const std::shared_ptr<arrow::DataType>& row, const std::string& json) {
  auto array = arrow::json::ArrayFromJSONString(row, json).ValueOrDie();
  auto batch = arrow::RecordBatch::FromStructArray(array).ValueOrDie();
  return arrow::RecordBatchReader::Make({batch}).ValueOrDie();
}

int64_t CountRows(const Snapshot& snapshot, const std::string& where) {
  ScanOptions opts;
  opts.filter = ParseConjunction(where).ValueOrDie();
  auto reader = snapshot.Scan(opts).ValueOrDie();
  int64_t n = 0;
  std::shared_ptr<arrow::RecordBatch> b;
  while (reader->ReadNext(&b).ok() && b) n += b->num_rows();
  return n;
}

}  // namespace inlet::testing
