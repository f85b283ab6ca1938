#include "inlet/table/row_keys.h"

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

}  // namespace inlet
