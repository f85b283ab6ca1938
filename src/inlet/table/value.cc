#include "inlet/table/value.h"

#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <arrow/type.h>
#include <arrow/util/decimal.h>

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>

#include "inlet/common/time.h"

namespace inlet {

namespace {

template <typename T>
bool ParseInt(const std::string& s, T* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

template <typename T>
int Cmp(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

const char* CompareFunction(CompareOp op) {
  switch (op) {
    case CompareOp::kEq:
      return "equal";
    case CompareOp::kNe:
      return "not_equal";
    case CompareOp::kLt:
      return "less";
    case CompareOp::kLe:
      return "less_equal";
    case CompareOp::kGt:
      return "greater";
    case CompareOp::kGe:
      return "greater_equal";
    case CompareOp::kIsNull:
      return "is_null";
    case CompareOp::kIsNotNull:
      return "is_valid";
  }
  return "equal";
}

}  // namespace

arrow::Result<std::shared_ptr<arrow::Scalar>> ScalarFromText(
    const std::string& s, const std::shared_ptr<arrow::DataType>& type) {
  using arrow::Type;
  switch (type->id()) {
    case Type::STRING:
      return std::make_shared<arrow::StringScalar>(s);
    case Type::LARGE_STRING:
      return std::make_shared<arrow::LargeStringScalar>(s);
    case Type::BINARY:
      return std::make_shared<arrow::BinaryScalar>(s);
    case Type::BOOL: {
      std::string l;
      for (char c : s)
        l += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      if (l == "true") return std::make_shared<arrow::BooleanScalar>(true);
      if (l == "false") return std::make_shared<arrow::BooleanScalar>(false);
      break;
    }
    case Type::INT8: {
      int8_t v;
      if (ParseInt(s, &v)) return std::make_shared<arrow::Int8Scalar>(v);
      break;
    }
    case Type::INT16: {
      int16_t v;
      if (ParseInt(s, &v)) return std::make_shared<arrow::Int16Scalar>(v);
      break;
    }
    case Type::INT32: {
      int32_t v;
      if (ParseInt(s, &v)) return std::make_shared<arrow::Int32Scalar>(v);
      break;
    }
    case Type::INT64: {
      int64_t v;
      if (ParseInt(s, &v)) return std::make_shared<arrow::Int64Scalar>(v);
      break;
    }
    case Type::FLOAT:
    case Type::DOUBLE: {
      char* end = nullptr;
      double v = std::strtod(s.c_str(), &end);
      if (s.empty() || *end != '\0') break;
      if (type->id() == Type::FLOAT)
        return std::make_shared<arrow::FloatScalar>(static_cast<float>(v));
      return std::make_shared<arrow::DoubleScalar>(v);
    }
    case Type::DATE32: {
      ARROW_ASSIGN_OR_RAISE(int32_t d, ParseDate(s));
      return std::make_shared<arrow::Date32Scalar>(d);
    }
    case Type::TIMESTAMP: {
      ARROW_ASSIGN_OR_RAISE(int64_t us, ParseTimestampMicros(s));
      const auto& tt = static_cast<const arrow::TimestampType&>(*type);
      int64_t v = us;
      switch (tt.unit()) {
        case arrow::TimeUnit::SECOND:
          v = us / 1000000;
          break;
        case arrow::TimeUnit::MILLI:
          v = us / 1000;
          break;
        case arrow::TimeUnit::MICRO:
          break;
        case arrow::TimeUnit::NANO:
          v = us * 1000;
          break;
      }
      return std::make_shared<arrow::TimestampScalar>(v, type);
    }
    case Type::DECIMAL128: {
      const auto& dt = static_cast<const arrow::Decimal128Type&>(*type);
      arrow::Decimal128 v;
      int32_t precision, scale;
      if (!arrow::Decimal128::FromString(s, &v, &precision, &scale).ok()) break;
      auto rescaled = v.Rescale(scale, dt.scale());
      if (!rescaled.ok()) break;
      return std::make_shared<arrow::Decimal128Scalar>(*rescaled, type);
    }
    default:
      return arrow::Status::NotImplemented("values of type ", type->ToString(),
                                           " in predicates");
  }
  return arrow::Status::Invalid("'", s, "' is not a valid ", type->ToString());
}

std::optional<int> CompareScalars(const arrow::Scalar& a, const arrow::Scalar& b) {
  if (!a.is_valid || !b.is_valid || a.type->id() != b.type->id()) return std::nullopt;
  using arrow::Type;
  switch (a.type->id()) {
    case Type::BOOL:
      return Cmp(static_cast<const arrow::BooleanScalar&>(a).value,
                 static_cast<const arrow::BooleanScalar&>(b).value);
    case Type::INT8:
      return Cmp(static_cast<const arrow::Int8Scalar&>(a).value,
                 static_cast<const arrow::Int8Scalar&>(b).value);
    case Type::INT16:
      return Cmp(static_cast<const arrow::Int16Scalar&>(a).value,
                 static_cast<const arrow::Int16Scalar&>(b).value);
    case Type::INT32:
      return Cmp(static_cast<const arrow::Int32Scalar&>(a).value,
                 static_cast<const arrow::Int32Scalar&>(b).value);
    case Type::INT64:
      return Cmp(static_cast<const arrow::Int64Scalar&>(a).value,
                 static_cast<const arrow::Int64Scalar&>(b).value);
    case Type::DATE32:
      return Cmp(static_cast<const arrow::Date32Scalar&>(a).value,
                 static_cast<const arrow::Date32Scalar&>(b).value);
    case Type::TIMESTAMP: {
      const auto& ta = static_cast<const arrow::TimestampType&>(*a.type);
      const auto& tb = static_cast<const arrow::TimestampType&>(*b.type);
      if (ta.unit() != tb.unit()) return std::nullopt;
      return Cmp(static_cast<const arrow::TimestampScalar&>(a).value,
                 static_cast<const arrow::TimestampScalar&>(b).value);
    }
    case Type::FLOAT:
    case Type::DOUBLE: {
      double x = a.type->id() == Type::FLOAT
                     ? static_cast<const arrow::FloatScalar&>(a).value
                     : static_cast<const arrow::DoubleScalar&>(a).value;
      double y = b.type->id() == Type::FLOAT
                     ? static_cast<const arrow::FloatScalar&>(b).value
                     : static_cast<const arrow::DoubleScalar&>(b).value;
      if (std::isnan(x) || std::isnan(y)) return std::nullopt;
      return Cmp(x, y);
    }
    case Type::DECIMAL128: {
      const auto& da = static_cast<const arrow::Decimal128Scalar&>(a);
      const auto& db = static_cast<const arrow::Decimal128Scalar&>(b);
      int sa = static_cast<const arrow::Decimal128Type&>(*a.type).scale();
      int sb = static_cast<const arrow::Decimal128Type&>(*b.type).scale();
      if (sa != sb) return std::nullopt;
      return Cmp(da.value, db.value);
    }
    case Type::STRING:
    case Type::BINARY:
    case Type::LARGE_STRING:
    case Type::LARGE_BINARY: {
      auto va = static_cast<const arrow::BaseBinaryScalar&>(a).view();
      auto vb = static_cast<const arrow::BaseBinaryScalar&>(b).view();
      int c = va.compare(vb);
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    default:
      return std::nullopt;
  }
}

arrow::Result<std::vector<BoundPredicate>> BindConjunction(const Conjunction& conjunction,
                                                           const arrow::Schema& schema) {
  std::vector<BoundPredicate> out;
  for (const auto& p : conjunction) {
    auto field = schema.GetFieldByName(p.column);
    if (!field) {
      return arrow::Status::Invalid("predicate '", p.ToString(), "': unknown column '",
                                    p.column, "'");
    }
    BoundPredicate b{field, p.op, nullptr};
    if (p.op != CompareOp::kIsNull && p.op != CompareOp::kIsNotNull) {
      auto lit = ScalarFromText(p.literal, field->type());
      if (!lit.ok()) {
        return arrow::Status::Invalid("predicate '", p.ToString(),
                                      "': ", lit.status().message());
      }
      b.literal = *lit;
    }
    out.push_back(std::move(b));
  }
  return out;
}

bool Satisfies(const BoundPredicate& p, const arrow::Scalar& value) {
  if (p.op == CompareOp::kIsNull) return !value.is_valid;
  if (p.op == CompareOp::kIsNotNull) return value.is_valid;
  auto c = CompareScalars(value, *p.literal);
  if (!c) return !value.is_valid ? false : true;  // unknown order: keep the file
  switch (p.op) {
    case CompareOp::kEq:
      return *c == 0;
    case CompareOp::kNe:
      return *c != 0;
    case CompareOp::kLt:
      return *c < 0;
    case CompareOp::kLe:
      return *c <= 0;
    case CompareOp::kGt:
      return *c > 0;
    case CompareOp::kGe:
      return *c >= 0;
    default:
      return true;
  }
}

bool MayMatch(const BoundPredicate& p, const ColumnStats& s) {
  bool all_null = s.null_count && s.num_records && *s.null_count == *s.num_records;
  switch (p.op) {
    case CompareOp::kIsNull:
      return !(s.null_count && *s.null_count == 0);
    case CompareOp::kIsNotNull:
      return !all_null;
    default:
      break;
  }
  if (all_null) return false;  // comparisons with null are never true
  auto vs_min = s.min ? CompareScalars(*p.literal, *s.min) : std::nullopt;
  auto vs_max = s.max ? CompareScalars(*p.literal, *s.max) : std::nullopt;
  switch (p.op) {
    case CompareOp::kEq:
      return !(vs_min && *vs_min < 0) && !(vs_max && *vs_max > 0);
    case CompareOp::kNe:
      // Only when every value equals the literal is there nothing to return.
      return !(vs_min && vs_max && *vs_min == 0 && *vs_max == 0 && s.null_count &&
               *s.null_count == 0);
    case CompareOp::kLt:  // some value < lit  <=>  min < lit
      return !(vs_min && *vs_min <= 0);
    case CompareOp::kLe:
      return !(vs_min && *vs_min < 0);
    case CompareOp::kGt:  // some value > lit  <=>  max > lit
      return !(vs_max && *vs_max >= 0);
    case CompareOp::kGe:
      return !(vs_max && *vs_max > 0);
    default:
      return true;
  }
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> FilterBatch(
    const std::shared_ptr<arrow::RecordBatch>& batch,
    const std::vector<BoundPredicate>& preds) {
  if (preds.empty()) return batch;
  ARROW_ASSIGN_OR_RAISE(arrow::Datum mask, MatchBatch(*batch, preds));
  ARROW_ASSIGN_OR_RAISE(arrow::Datum out, arrow::compute::Filter(batch, mask));
  return out.record_batch();
}

arrow::Result<arrow::Datum> MatchBatch(const arrow::RecordBatch& batch,
                                       const std::vector<BoundPredicate>& preds) {
  if (preds.empty()) {
    arrow::BooleanBuilder all;
    ARROW_RETURN_NOT_OK(all.AppendValues(std::vector<bool>(batch.num_rows(), true)));
    ARROW_ASSIGN_OR_RAISE(auto a, all.Finish());
    return arrow::Datum(a);
  }
  arrow::Datum mask;
  for (const auto& p : preds) {
    auto column = batch.GetColumnByName(p.field->name());
    if (!column) {
      return arrow::Status::Invalid("filter column '", p.field->name(),
                                    "' is not in the batch");
    }
    arrow::Datum m;
    if (p.literal) {
      ARROW_ASSIGN_OR_RAISE(
          m, arrow::compute::CallFunction(CompareFunction(p.op), {column, p.literal}));
    } else {
      ARROW_ASSIGN_OR_RAISE(
          m, arrow::compute::CallFunction(CompareFunction(p.op), {column}));
    }
    if (mask.is_value()) {
      ARROW_ASSIGN_OR_RAISE(mask, arrow::compute::CallFunction("and_kleene", {mask, m}));
    } else {
      mask = std::move(m);
    }
  }
  return mask;
}

arrow::Result<std::shared_ptr<arrow::Array>> CastToTableType(
    const std::shared_ptr<arrow::Array>& column,
    const std::shared_ptr<arrow::DataType>& to) {
  if (column->type()->Equals(*to)) return column;
  if (column->type_id() == arrow::Type::NA)
    return arrow::MakeArrayOfNull(to, column->length());
  if (column->type_id() == arrow::Type::DICTIONARY &&
      to->id() != arrow::Type::DICTIONARY) {
    // Decoded first, so that only the values rows use are cast (a categorical keeps
    // categories no row has). Take has no kernel for view types: their values become
    // plain strings or binary first, which cannot fail.
    const auto& dict = static_cast<const arrow::DictionaryArray&>(*column);
    std::shared_ptr<arrow::Array> values = dict.dictionary();
    if (values->type_id() == arrow::Type::STRING_VIEW) {
      ARROW_ASSIGN_OR_RAISE(auto plain, arrow::compute::Cast(values, arrow::utf8()));
      values = plain.make_array();
    } else if (values->type_id() == arrow::Type::BINARY_VIEW) {
      ARROW_ASSIGN_OR_RAISE(auto plain, arrow::compute::Cast(values, arrow::binary()));
      values = plain.make_array();
    }
    ARROW_ASSIGN_OR_RAISE(arrow::Datum decoded,
                          arrow::compute::Take(values, dict.indices()));
    return CastToTableType(decoded.make_array(), to);
  }
  ARROW_ASSIGN_OR_RAISE(arrow::Datum cast, arrow::compute::Cast(column, to));
  return cast.make_array();
}

}  // namespace inlet
