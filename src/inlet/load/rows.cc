#include "inlet/load/rows.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>

#include <optional>

#include "inlet/common/arrow_json.h"
#include "inlet/source/file_source.h"

namespace inlet::load {

namespace {

arrow::Result<std::shared_ptr<arrow::ChunkedArray>> Derive(
    const std::shared_ptr<arrow::ChunkedArray>& source, const DerivedColumn& c) {
  auto id = source->type()->id();
  if (id != arrow::Type::TIMESTAMP && id != arrow::Type::DATE32) {
    return arrow::Status::Invalid("partition column '", c.name, "': ", c.transform, "(",
                                  c.source, ") needs a timestamp or date column, but '",
                                  c.source, "' is ", source->type()->ToString());
  }
  if (c.transform == "day") {
    ARROW_ASSIGN_OR_RAISE(arrow::Datum d, arrow::compute::Cast(source, arrow::date32()));
    return d.chunked_array();
  }
  if (c.transform == "hour" && id == arrow::Type::DATE32) {
    return arrow::Status::Invalid("partition column '", c.name,
                                  "': hour() needs a timestamp column");
  }
  ARROW_ASSIGN_OR_RAISE(arrow::Datum v,
                        arrow::compute::CallFunction(c.transform, {source}));
  ARROW_ASSIGN_OR_RAISE(arrow::Datum i32, arrow::compute::Cast(v, arrow::int32()));
  return i32.chunked_array();
}

}  // namespace

arrow::Result<std::shared_ptr<arrow::Table>> AddDerivedColumns(
    std::shared_ptr<arrow::Table> table, const std::vector<DerivedColumn>& columns) {
  for (const auto& c : columns) {
    if (c.transform.empty()) {
      if (!table->schema()->GetFieldByName(c.name)) {
        return arrow::Status::Invalid("partition column '", c.name,
                                      "' is not in the source data");
      }
      continue;
    }
    auto source = table->GetColumnByName(c.source);
    if (!source) {
      return arrow::Status::Invalid("partition column '", c.name, "': source column '",
                                    c.source, "' is not in the source data");
    }
    ARROW_ASSIGN_OR_RAISE(auto derived, Derive(source, c));
    int idx = table->schema()->GetFieldIndex(c.name);
    auto field = arrow::field(c.name, derived->type());
    if (idx >= 0) {
      ARROW_ASSIGN_OR_RAISE(table, table->SetColumn(idx, field, derived));
    } else {
      ARROW_ASSIGN_OR_RAISE(table,
                            table->AddColumn(table->num_columns(), field, derived));
    }
  }
  return table;
}

arrow::Result<std::unordered_set<std::string>> ExistingKeys(
    const Snapshot& snapshot, const Conjunction& filter,
    const std::vector<std::string>& key_columns,
    const std::vector<std::string>& columns) {
  ScanOptions opts;
  opts.filter = filter;
  opts.columns = key_columns.empty() ? columns : key_columns;
  ARROW_ASSIGN_OR_RAISE(auto reader, snapshot.Scan(opts));
  ARROW_ASSIGN_OR_RAISE(auto rows, arrow::Table::FromRecordBatchReader(reader.get()));
  ARROW_ASSIGN_OR_RAISE(auto keys, RowKeys(*rows, key_columns));
  return std::unordered_set<std::string>(keys.begin(), keys.end());
}

arrow::Result<std::shared_ptr<arrow::Table>> SelectRows(
    const std::shared_ptr<arrow::Table>& table, const arrow::Datum& mask) {
  ARROW_ASSIGN_OR_RAISE(arrow::Datum out, arrow::compute::Filter(table, mask));
  return out.table();
}

arrow::Result<arrow::Datum> MaskOf(int64_t rows,
                                   const std::function<bool(int64_t)>& keep) {
  arrow::BooleanBuilder b;
  ARROW_RETURN_NOT_OK(b.Reserve(rows));
  for (int64_t i = 0; i < rows; ++i) b.UnsafeAppend(keep(i));
  ARROW_ASSIGN_OR_RAISE(auto mask, b.Finish());
  return arrow::Datum(mask);
}

std::string FileOfRow(const arrow::Table& t, int64_t row,
                      const std::vector<std::string>& names) {
  auto col = t.GetColumnByName(kPartColumn);
  if (!col) return "";
  auto scalar = col->GetScalar(row);
  if (!scalar.ok() || !(*scalar)->is_valid) return "";
  int32_t idx = static_cast<const arrow::Int32Scalar&>(**scalar).value;
  return idx >= 0 && idx < static_cast<int32_t>(names.size()) ? names[idx] : "";
}

namespace {

std::optional<int32_t> FileIndexOf(const arrow::ChunkedArray& col, int64_t row) {
  auto scalar = col.GetScalar(row);
  if (!scalar.ok() || !(*scalar)->is_valid) return std::nullopt;
  return static_cast<const arrow::Int32Scalar&>(**scalar).value;
}

}  // namespace

std::string PlaceOfRow(const arrow::Table& t, int64_t row,
                       const std::vector<std::string>& names) {
  std::string file = FileOfRow(t, row, names);
  if (file.empty()) return "row " + std::to_string(row + 1);
  // Only on error paths: walk back to the file's first row.
  const auto& col = *t.GetColumnByName(kPartColumn);
  auto index = FileIndexOf(col, row);
  int64_t first = row;
  while (first > 0 && FileIndexOf(col, first - 1) == index) --first;
  return file + " row " + std::to_string(row - first + 1);
}

std::vector<std::string> DataColumns(const arrow::Table& t) {
  std::vector<std::string> out;
  for (const auto& f : t.schema()->fields()) {
    if (f->name() != kPartColumn) out.push_back(f->name());
  }
  return out;
}

}  // namespace inlet::load
