#include "inlet/table/row_keys.h"

#include <arrow/builder.h>
#include <arrow/compute/api.h>

#include "inlet/common/arrow_json.h"

namespace inlet {

namespace {

// Appends one value, self-delimiting: a type tag, then the value; integers and strings
// take fast paths, other types their JSON form.
void AppendKeyPart(const arrow::Array& a, int64_t i, std::string* out) {
  if (a.IsNull(i)) {
    *out += "N;";
    return;
  }
  switch (a.type_id()) {
    case arrow::Type::INT8: *out += "i" + std::to_string(static_cast<const arrow::Int8Array&>(a).Value(i)); break;
    case arrow::Type::INT16: *out += "i" + std::to_string(static_cast<const arrow::Int16Array&>(a).Value(i)); break;
    case arrow::Type::INT32: *out += "i" + std::to_string(static_cast<const arrow::Int32Array&>(a).Value(i)); break;
    case arrow::Type::INT64: *out += "i" + std::to_string(static_cast<const arrow::Int64Array&>(a).Value(i)); break;
    case arrow::Type::STRING: {
      auto v = static_cast<const arrow::StringArray&>(a).GetView(i);
      *out += "s" + std::to_string(v.size()) + ":";
      out->append(v.data(), v.size());
      break;
    }
    default:
      *out += "j" + DumpJson(ArrowValueToJson(a, i));
  }
  *out += ';';
}

}  // namespace

arrow::Result<std::vector<std::string>> RowKeys(const arrow::Table& table,
                                                const std::vector<std::string>& key_columns) {
  std::vector<std::string> names = key_columns;
  if (names.empty()) {
    for (const auto& f : table.schema()->fields()) names.push_back(f->name());
  }
  std::vector<std::string> keys(table.num_rows());
  for (const auto& name : names) {
    auto column = table.GetColumnByName(name);
    if (!column) return arrow::Status::Invalid("key column '", name, "' is not in the data");
    int64_t row = 0;
    for (const auto& chunk : column->chunks()) {
      for (int64_t i = 0; i < chunk->length(); ++i, ++row) AppendKeyPart(*chunk, i, &keys[row]);
    }
  }
  return keys;
}

arrow::Result<std::shared_ptr<arrow::Table>> TakeRows(const std::shared_ptr<arrow::Table>& t,
                                                      const std::vector<int64_t>& rows) {
  arrow::Int64Builder b;
  ARROW_RETURN_NOT_OK(b.AppendValues(rows));
  ARROW_ASSIGN_OR_RAISE(auto idx, b.Finish());
  ARROW_ASSIGN_OR_RAISE(arrow::Datum out, arrow::compute::Take(t, idx));
  return out.table();
}

arrow::Result<std::vector<int64_t>> KeyEncoder::Encode(const arrow::Table& rows) {
  std::vector<int64_t> out;
  out.reserve(rows.num_rows());
  if (keys_.size() == 1) {
    auto column = rows.GetColumnByName(keys_[0]);
    if (!column) return arrow::Status::Invalid("key column '", keys_[0], "' is not in the data");
    switch (column->type()->id()) {
      case arrow::Type::INT8: case arrow::Type::INT16: case arrow::Type::INT32: case arrow::Type::INT64:
      case arrow::Type::DATE32: {
        // The value is the id (nulls, which keys do not have, map to 0).
        ARROW_ASSIGN_OR_RAISE(auto wide, arrow::compute::Cast(column, arrow::int64()));
        for (const auto& chunk : wide.chunked_array()->chunks()) {
          const auto& a = static_cast<const arrow::Int64Array&>(*chunk);
          for (int64_t i = 0; i < a.length(); ++i) out.push_back(a.IsNull(i) ? 0 : a.Value(i));
        }
        return out;
      }
      default:
        break;
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto keys, RowKeys(rows, keys_));
  for (auto& k : keys) {
    auto [it, inserted] = ids_.emplace(std::move(k), static_cast<int64_t>(ids_.size()));
    out.push_back(it->second);
  }
  return out;
}

}  // namespace inlet
