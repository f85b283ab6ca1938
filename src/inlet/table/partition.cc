#include "inlet/table/partition.h"

#include <arrow/scalar.h>
#include <arrow/type.h>
#include <arrow/util/decimal.h>

#include <algorithm>

#include "inlet/common/time.h"
#include "inlet/common/uri.h"
#include "inlet/table/value.h"

namespace inlet {

arrow::Result<std::shared_ptr<arrow::Scalar>> ParsePartitionValue(
    const std::optional<std::string>& value, const std::shared_ptr<arrow::DataType>& type,
    const std::string& column) {
  if (!value || value->empty()) return arrow::MakeNullScalar(type);
  auto parsed = ScalarFromText(*value, type);
  if (!parsed.ok()) {
    return arrow::Status::Invalid("partition column '", column,
                                  "': ", parsed.status().message());
  }
  return parsed;
}

arrow::Result<std::optional<std::string>> SerializePartitionValue(
    const arrow::Scalar& value, bool empty_is_null) {
  if (!value.is_valid) return std::optional<std::string>();
  using arrow::Type;
  switch (value.type->id()) {
    case Type::STRING:
    case Type::BINARY: {
      // An empty partition value means null in the protocol, and readers disagree on
      // what "" would be (Spark and delta-rs' engine read '', others null): an empty
      // string is written as null, as Spark writes it.
      const auto& b = static_cast<const arrow::BaseBinaryScalar&>(value);
      if (b.view().empty() && empty_is_null) return std::optional<std::string>();
      return std::optional<std::string>(b.view());
    }
    case Type::BOOL:
      return std::optional<std::string>(
          static_cast<const arrow::BooleanScalar&>(value).value ? "true" : "false");
    case Type::DATE32:
      return std::optional<std::string>(
          FormatDate(static_cast<const arrow::Date32Scalar&>(value).value));
    case Type::TIMESTAMP: {
      const auto& ts = static_cast<const arrow::TimestampScalar&>(value);
      const auto& tt = static_cast<const arrow::TimestampType&>(*value.type);
      return std::optional<std::string>(tt.timezone().empty()
                                            ? FormatTimestampPlain(ts.value)
                                            : FormatTimestampIso(ts.value));
    }
    case Type::DECIMAL128: {
      const auto& d = static_cast<const arrow::Decimal128Scalar&>(value);
      const auto& dt = static_cast<const arrow::Decimal128Type&>(*value.type);
      return std::optional<std::string>(d.value.ToString(dt.scale()));
    }
    case Type::INT8:
    case Type::INT16:
    case Type::INT32:
    case Type::INT64:
    case Type::FLOAT:
    case Type::DOUBLE:
      return std::optional<std::string>(value.ToString());
    default:
      return arrow::Status::NotImplemented("partition columns of type ",
                                           value.type->ToString());
  }
}

std::string PartitionDirectory(const std::vector<std::string>& columns,
                               const PartitionValues& values) {
  std::string dir;
  for (const auto& c : columns) {
    auto it = values.find(c);
    std::string v = (it == values.end() || !it->second || it->second->empty())
                        ? "__HIVE_DEFAULT_PARTITION__"
                        : EscapePartitionValue(*it->second);
    if (!dir.empty()) dir += '/';
    dir += EscapePartitionValue(c) + "=" + v;
  }
  return dir;
}

std::optional<std::string> NonPartitionColumn(
    const std::vector<BoundPredicate>& preds,
    const std::vector<std::string>& partition_columns) {
  for (const auto& p : preds) {
    const std::string& name = p.field->name();
    if (std::find(partition_columns.begin(), partition_columns.end(), name) ==
        partition_columns.end())
      return name;
  }
  return std::nullopt;
}

bool PartitionSatisfies(const PartitionValues& values,
                        const std::vector<BoundPredicate>& preds) {
  for (const auto& p : preds) {
    auto it = values.find(p.field->name());
    std::optional<std::string> text = it == values.end() ? std::nullopt : it->second;
    auto value = ParsePartitionValue(text, p.field->type(), p.field->name());
    if (!value.ok() || !Satisfies(p, **value)) return false;
  }
  return true;
}

}  // namespace inlet
