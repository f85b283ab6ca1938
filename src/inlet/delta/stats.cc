#include "inlet/delta/stats.h"

#include <arrow/array.h>
#include <arrow/compute/api.h>
#include <arrow/scalar.h>
#include <arrow/type.h>
#include <arrow/util/decimal.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <optional>

#include "inlet/common/time.h"

namespace inlet::delta {

namespace {

constexpr size_t kStringPrefixChars = 32;

bool CollectsMinMax(const arrow::DataType& t) {
  switch (t.id()) {
    case arrow::Type::INT8:
    case arrow::Type::INT16:
    case arrow::Type::INT32:
    case arrow::Type::INT64:
    case arrow::Type::FLOAT:
    case arrow::Type::DOUBLE:
    case arrow::Type::DATE32:
    case arrow::Type::TIMESTAMP:
    case arrow::Type::DECIMAL128:
    case arrow::Type::STRING:
      return true;
    default:
      return false;
  }
}

// Byte length of the first n UTF-8 code points of s.
size_t PrefixBytes(std::string_view s, size_t n) {
  size_t i = 0;
  while (i < s.size() && n > 0) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
    --n;
  }
  return std::min(i, s.size());
}

std::string JsonString(std::string_view s) { return DumpJson(Json(std::string(s))); }

// The shortest decimal that reads back as d (what Java's Double.toString gives: the
// fewest significant digits, so 5.375985989463228E26 for a double whose exact value is
// 537598598946322832628383744), at the given scale: rounded down, or up. Exact decimal
// arithmetic in 256 bits (decimal(38) values and a double's 17 digits fit).
arrow::Decimal256 ShortestAtScale(double d, int32_t scale, bool up) {
  char buf[400];
  auto printed = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  arrow::Decimal256 v;
  int32_t precision = 0, digits = 0;
  if (!arrow::Decimal256::FromString(std::string_view(buf, printed.ptr - buf), &v,
                                     &precision, &digits)
           .ok()) {
    return arrow::Decimal256(0);  // unreachable for the finite values of a decimal
  }
  if (digits <= scale) return v.IncreaseScaleBy(scale - digits);
  arrow::Decimal256 cut = v.ReduceScaleBy(digits - scale, /*round=*/false);  // to zero
  bool exact = cut.IncreaseScaleBy(digits - scale) == v;
  // Away from zero rounds a positive value up and a negative one down.
  if (!exact && (d > 0) == up) cut += arrow::Decimal256(d > 0 ? 1 : -1);
  return cut;
}

// Whether a bound b (at the column's scale) reads on the safe side of the exact value v,
// exactly and for a reader that takes the JSON number as a double and back as its
// shortest decimal.
bool ReadsOutward(const arrow::Decimal256& b, const arrow::Decimal256& v, int32_t scale,
                  bool upper) {
  if (upper ? b < v : v < b) return false;  // read exactly
  double d = std::strtod(b.ToString(scale).c_str(), nullptr);
  arrow::Decimal256 read = ShortestAtScale(d, scale, upper);
  return upper ? !(read < v) : !(v < read);
}

// A bound of a decimal column with more digits than a double holds, as a decimal that
// every reader gets on the safe side of the true bound, whether it reads the JSON number
// exactly (Spark, delta-rs) or as a double printed back as its shortest decimal (Trino
// reads the numbers of decimal statistics so): of the doubles from the nearest outward,
// the first whose shortest form is outward, at the column's scale rounding outward (min
// down, max up), clamped to the type's range. nullopt when the clamped bound reads
// inward: no bound then.
std::optional<std::string> OutwardDecimal(const arrow::Decimal128Scalar& v, bool upper) {
  const auto& type = static_cast<const arrow::Decimal128Type&>(*v.type);
  int32_t scale = type.scale();
  arrow::Decimal256 exact(v.value);
  double d = std::strtod(v.value.ToString(scale).c_str(), nullptr);
  arrow::Decimal256 b = ShortestAtScale(d, scale, upper);
  for (int step = 0; step < 8 && !ReadsOutward(b, exact, scale, upper); ++step) {
    d = std::nextafter(d, upper ? HUGE_VAL : -HUGE_VAL);
    b = ShortestAtScale(d, scale, upper);
  }
  arrow::Decimal256 limit(arrow::Decimal128::GetMaxValue(type.precision()));
  arrow::Decimal256 negative_limit = limit;
  negative_limit.Negate();
  if (limit < b) b = limit;
  if (b < negative_limit) b = negative_limit;
  if (!ReadsOutward(b, exact, scale, upper)) return std::nullopt;
  return b.ToString(scale);
}

// The JSON text of a bound; upper=true rounds the bound up where it must be truncated.
// nullopt: no bound can be given safely.
std::optional<std::string> BoundJson(const arrow::Scalar& v, bool upper) {
  using arrow::Type;
  switch (v.type->id()) {
    case Type::STRING: {
      auto s = static_cast<const arrow::StringScalar&>(v).view();
      size_t n = PrefixBytes(s, kStringPrefixChars);
      if (n == s.size()) return JsonString(s);
      // A truncated maximum must stay >= every value: append U+10FFFF, the largest code
      // point.
      return upper ? JsonString(std::string(s.substr(0, n)) + "\xF4\x8F\xBF\xBF")
                   : JsonString(s.substr(0, n));
    }
    case Type::DATE32:
      return JsonString(FormatDate(static_cast<const arrow::Date32Scalar&>(v).value));
    case Type::TIMESTAMP: {
      const auto& tt = static_cast<const arrow::TimestampType&>(*v.type);
      int64_t us = static_cast<const arrow::TimestampScalar&>(v).value;
      int64_t ms = us >= 0 ? us / 1000 : -((-us + 999) / 1000);
      if (upper && ms * 1000 != us) ms += 1;
      std::string text = FormatTimestampMillisIso(ms);
      if (tt.timezone().empty()) text.pop_back();  // timestamp_ntz: no zone designator
      return JsonString(text);
    }
    case Type::DECIMAL128: {
      const auto& d = static_cast<const arrow::Decimal128Scalar&>(v);
      const auto& t = static_cast<const arrow::Decimal128Type&>(*v.type);
      // Up to 15 significant digits a double holds every value exactly.
      if (t.precision() > 15) return OutwardDecimal(d, upper);
      return d.value.ToString(t.scale());
    }
    case Type::FLOAT:
    case Type::DOUBLE: {
      double x = v.type->id() == Type::FLOAT
                     ? static_cast<const arrow::FloatScalar&>(v).value
                     : static_cast<const arrow::DoubleScalar&>(v).value;
      return DumpJson(Json(x));
    }
    default:
      return v.ToString();  // integers
  }
}

// Nested JSON object text from (path, value text) pairs in schema order.
struct JsonTree {
  std::string key;
  // std::vector of an incomplete type is allowed (C++17); std::pair of one is not.
  std::vector<JsonTree> children;
  std::string value;  // set on leaves

  void Insert(const std::vector<std::string>& path, size_t depth, std::string text) {
    if (depth == path.size()) {
      value = std::move(text);
      return;
    }
    for (auto& child : children) {
      if (child.key == path[depth]) return child.Insert(path, depth + 1, std::move(text));
    }
    children.push_back(JsonTree{path[depth], {}, {}});
    children.back().Insert(path, depth + 1, std::move(text));
  }

  std::string Dump() const {
    if (children.empty()) return value;
    std::string out = "{";
    for (size_t i = 0; i < children.size(); ++i) {
      if (i) out += ',';
      out += JsonString(children[i].key) + ":" + children[i].Dump();
    }
    return out + "}";
  }
};

std::optional<int64_t> JsonInt(const Json* j) {
  if (j && j->is_number_integer()) return j->get<int64_t>();
  return std::nullopt;
}

const Json* Find(const Json& root, const char* section,
                 const std::vector<std::string>& path) {
  auto it = root.find(section);
  if (it == root.end()) return nullptr;
  const Json* cur = &*it;
  for (const auto& p : path) {
    if (!cur->is_object()) return nullptr;
    auto c = cur->find(p);
    if (c == cur->end()) return nullptr;
    cur = &*c;
  }
  return cur;
}

std::shared_ptr<arrow::Scalar> BoundFromJson(const Json* j,
                                             const std::shared_ptr<arrow::DataType>& type,
                                             bool upper) {
  if (j == nullptr || j->is_null()) return nullptr;
  using arrow::Type;
  std::string text;
  switch (type->id()) {
    case Type::INT8:
    case Type::INT16:
    case Type::INT32:
    case Type::INT64:
      if (!j->is_number_integer()) return nullptr;
      text = std::to_string(j->get<int64_t>());
      break;
    case Type::FLOAT:
    case Type::DOUBLE:
      if (!j->is_number()) return nullptr;
      text = DumpJson(*j);
      break;
    case Type::DECIMAL128: {
      // Numbers reach us as doubles: exact only up to 15 significant digits.
      if (!j->is_number() ||
          static_cast<const arrow::Decimal128Type&>(*type).precision() > 15) {
        return nullptr;
      }
      text = DumpJson(*j);
      break;
    }
    case Type::STRING:
    case Type::DATE32:
    case Type::TIMESTAMP:
      if (!j->is_string()) return nullptr;
      text = j->get<std::string>();
      break;
    default:
      return nullptr;
  }
  auto scalar = ScalarFromText(text, type);
  if (!scalar.ok()) return nullptr;
  if (upper && type->id() == Type::TIMESTAMP) {
    // Writers truncate timestamp bounds to milliseconds.
    auto& ts = static_cast<arrow::TimestampScalar&>(**scalar);
    if (static_cast<const arrow::TimestampType&>(*type).unit() ==
        arrow::TimeUnit::MICRO) {
      ts.value += 999;
    }
  }
  return *scalar;
}

}  // namespace

std::string StatsJson(const FileStatistics& stats) {
  JsonTree mins, maxs, nulls;
  for (const auto& leaf : stats.columns) {
    if (leaf.null_count) nulls.Insert(leaf.path, 0, std::to_string(*leaf.null_count));
    // Booleans and binary get counts only, as Delta writers record them.
    if (leaf.min && leaf.max && CollectsMinMax(*leaf.type)) {
      if (auto min = BoundJson(*leaf.min, false)) mins.Insert(leaf.path, 0, *min);
      if (auto max = BoundJson(*leaf.max, true)) maxs.Insert(leaf.path, 0, *max);
    }
  }
  auto section = [](const JsonTree& t) {
    return t.children.empty() ? std::string("{}") : t.Dump();
  };
  return "{\"numRecords\":" + std::to_string(stats.num_records) +
         ",\"minValues\":" + section(mins) + ",\"maxValues\":" + section(maxs) +
         ",\"nullCount\":" + section(nulls) + "}";
}

ColumnStats ReadColumnStats(const Json& stats, const std::vector<std::string>& path,
                            const std::shared_ptr<arrow::DataType>& type) {
  ColumnStats out;
  out.num_records =
      JsonInt(stats.contains("numRecords") ? &stats["numRecords"] : nullptr);
  out.null_count = JsonInt(Find(stats, "nullCount", path));
  out.min = BoundFromJson(Find(stats, "minValues", path), type, false);
  out.max = BoundFromJson(Find(stats, "maxValues", path), type, true);
  return out;
}

}  // namespace inlet::delta
