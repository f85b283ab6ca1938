#include "inlet/common/arrow_json.h"

#include <arrow/array.h>
#include <arrow/scalar.h>
#include <arrow/type.h>

#include <cmath>

#include "inlet/common/time.h"

namespace inlet {

namespace {

Json DoubleToJson(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Infinity" : "-Infinity";
  return v;
}

int64_t ToMicros(int64_t v, arrow::TimeUnit::type unit) {
  switch (unit) {
    case arrow::TimeUnit::SECOND:
      return v * 1000000;
    case arrow::TimeUnit::MILLI:
      return v * 1000;
    case arrow::TimeUnit::MICRO:
      return v;
    case arrow::TimeUnit::NANO:
      return v / 1000;
  }
  return v;
}

template <typename ListArray>
Json ListToJson(const ListArray& l, int64_t i, bool skip_null_fields) {
  Json arr = Json::array();
  for (int64_t k = l.value_offset(i); k < l.value_offset(i) + l.value_length(i); ++k) {
    arr.push_back(ArrowValueToJson(*l.values(), k, skip_null_fields));
  }
  return arr;
}

}  // namespace

Json ArrowValueToJson(const arrow::Array& array, int64_t i, bool skip_null_fields) {
  if (array.IsNull(i)) return nullptr;
  using arrow::Type;
  switch (array.type_id()) {
    case Type::BOOL:
      return static_cast<const arrow::BooleanArray&>(array).Value(i);
    case Type::INT8:
      return static_cast<const arrow::Int8Array&>(array).Value(i);
    case Type::INT16:
      return static_cast<const arrow::Int16Array&>(array).Value(i);
    case Type::INT32:
      return static_cast<const arrow::Int32Array&>(array).Value(i);
    case Type::INT64:
      return static_cast<const arrow::Int64Array&>(array).Value(i);
    case Type::UINT8:
      return static_cast<const arrow::UInt8Array&>(array).Value(i);
    case Type::UINT16:
      return static_cast<const arrow::UInt16Array&>(array).Value(i);
    case Type::UINT32:
      return static_cast<const arrow::UInt32Array&>(array).Value(i);
    case Type::UINT64:
      return static_cast<const arrow::UInt64Array&>(array).Value(i);
    case Type::FLOAT:
      return DoubleToJson(static_cast<const arrow::FloatArray&>(array).Value(i));
    case Type::DOUBLE:
      return DoubleToJson(static_cast<const arrow::DoubleArray&>(array).Value(i));
    case Type::STRING:
    case Type::BINARY:
      return std::string(static_cast<const arrow::BinaryArray&>(array).GetView(i));
    case Type::LARGE_STRING:
    case Type::LARGE_BINARY:
      return std::string(static_cast<const arrow::LargeBinaryArray&>(array).GetView(i));
    case Type::STRING_VIEW:
    case Type::BINARY_VIEW:
      return std::string(static_cast<const arrow::BinaryViewArray&>(array).GetView(i));
    case Type::DATE32:
      return FormatDate(static_cast<const arrow::Date32Array&>(array).Value(i));
    case Type::TIMESTAMP: {
      const auto& t = static_cast<const arrow::TimestampType&>(*array.type());
      int64_t us =
          ToMicros(static_cast<const arrow::TimestampArray&>(array).Value(i), t.unit());
      return t.timezone().empty() ? FormatTimestampPlain(us) : FormatTimestampIso(us);
    }
    case Type::STRUCT: {
      const auto& s = static_cast<const arrow::StructArray&>(array);
      Json obj = Json::object();
      for (int c = 0; c < s.num_fields(); ++c) {
        // field(c) applies the struct's offset to the child.
        Json v = ArrowValueToJson(*s.field(c), i, skip_null_fields);
        if (skip_null_fields && v.is_null()) continue;
        obj[s.type()->field(c)->name()] = std::move(v);
      }
      return obj;
    }
    case Type::MAP: {
      const auto& m = static_cast<const arrow::MapArray&>(array);
      Json obj = Json::object();
      for (int64_t k = m.value_offset(i); k < m.value_offset(i) + m.value_length(i);
           ++k) {
        Json key = ArrowValueToJson(*m.keys(), k);
        obj[key.is_string() ? key.get<std::string>() : DumpJson(key)] =
            ArrowValueToJson(*m.items(), k);
      }
      return obj;
    }
    case Type::LIST:
      return ListToJson(static_cast<const arrow::ListArray&>(array), i, skip_null_fields);
    case Type::LARGE_LIST:
      return ListToJson(static_cast<const arrow::LargeListArray&>(array), i,
                        skip_null_fields);
    case Type::DECIMAL128: {
      const auto& d = static_cast<const arrow::Decimal128Array&>(array);
      return d.FormatValue(i);
    }
    default: {
      auto scalar = array.GetScalar(i);
      return scalar.ok() ? Json((*scalar)->ToString()) : Json(nullptr);
    }
  }
}

arrow::Status AppendJson(const Json& value, arrow::ArrayBuilder* builder) {
  if (value.is_null()) return builder->AppendNull();
  using arrow::Type;
  switch (builder->type()->id()) {
    case Type::STRUCT: {
      auto* b = static_cast<arrow::StructBuilder*>(builder);
      ARROW_RETURN_NOT_OK(b->Append());
      auto type = b->type();  // built afresh on each call: keep it alive
      const auto& fields = type->fields();
      for (int i = 0; i < b->num_fields(); ++i) {
        auto it = value.find(fields[i]->name());
        ARROW_RETURN_NOT_OK(
            AppendJson(it == value.end() ? Json(nullptr) : *it, b->field_builder(i)));
      }
      return arrow::Status::OK();
    }
    case Type::MAP: {
      auto* b = static_cast<arrow::MapBuilder*>(builder);
      ARROW_RETURN_NOT_OK(b->Append());
      for (auto it = value.begin(); it != value.end(); ++it) {
        ARROW_RETURN_NOT_OK(AppendJson(Json(it.key()), b->key_builder()));
        ARROW_RETURN_NOT_OK(AppendJson(it.value(), b->item_builder()));
      }
      return arrow::Status::OK();
    }
    case Type::LIST: {
      auto* b = static_cast<arrow::ListBuilder*>(builder);
      ARROW_RETURN_NOT_OK(b->Append());
      for (const auto& v : value) ARROW_RETURN_NOT_OK(AppendJson(v, b->value_builder()));
      return arrow::Status::OK();
    }
    case Type::STRING:
      return static_cast<arrow::StringBuilder*>(builder)->Append(
          value.is_string() ? value.get<std::string>() : DumpJson(value));
    case Type::INT64:
      return static_cast<arrow::Int64Builder*>(builder)->Append(value.get<int64_t>());
    case Type::INT32:
      return static_cast<arrow::Int32Builder*>(builder)->Append(value.get<int32_t>());
    case Type::BOOL:
      return static_cast<arrow::BooleanBuilder*>(builder)->Append(value.get<bool>());
    default:
      return arrow::Status::NotImplemented("AppendJson to ", builder->type()->ToString());
  }
}

}  // namespace inlet
