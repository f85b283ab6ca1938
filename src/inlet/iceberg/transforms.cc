#include "inlet/iceberg/transforms.h"

#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <arrow/extension_type.h>
#include <arrow/type.h>
#include <arrow/util/decimal.h>

#include <cstring>

#include "inlet/iceberg/values.h"

namespace inlet::iceberg {

namespace {

constexpr int64_t kMicrosPerHour = 3600LL * 1000 * 1000;
constexpr int64_t kMicrosPerDay = 24 * kMicrosPerHour;

int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

int64_t FloorMod(int64_t a, int64_t b) { return ((a % b) + b) % b; }

bool IsTimestamp(const arrow::DataType& t) { return t.id() == arrow::Type::TIMESTAMP; }

// Timestamps in microseconds (nanoseconds floored), dates in days.
int64_t Micros(const arrow::TimestampType& t, int64_t v) {
  return t.unit() == arrow::TimeUnit::NANO ? FloorDiv(v, 1000) : v;
}

// Civil date of a day count (days since 1970-01-01): year and month (1-12).
void CivilFromDays(int64_t z, int64_t* year, int64_t* month) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *month = mp < 10 ? mp + 3 : mp - 9;
  *year = yoe + era * 400 + (*month <= 2);
}

// The bytes bucket[N] hashes for a value (spec Appendix B): ints and longs as an 8-byte
// little-endian long, dates as that of their day count, times and timestamps of their
// microseconds, strings as UTF-8, decimals as their minimal big-endian unscaled value,
// uuids as 16 big-endian bytes.
arrow::Result<std::string> HashBytes(const arrow::Scalar& s) {
  auto as_long = [](int64_t v) {
    return std::string(reinterpret_cast<const char*>(&v), 8);
  };
  switch (s.type->id()) {
    case arrow::Type::INT32:
      return as_long(static_cast<const arrow::Int32Scalar&>(s).value);
    case arrow::Type::INT64:
      return as_long(static_cast<const arrow::Int64Scalar&>(s).value);
    case arrow::Type::DATE32:
      return as_long(static_cast<const arrow::Date32Scalar&>(s).value);
    case arrow::Type::TIME64:
      return as_long(static_cast<const arrow::Time64Scalar&>(s).value);
    case arrow::Type::TIMESTAMP: {
      const auto& t = static_cast<const arrow::TimestampType&>(*s.type);
      return as_long(Micros(t, static_cast<const arrow::TimestampScalar&>(s).value));
    }
    case arrow::Type::STRING:
    case arrow::Type::BINARY:
    case arrow::Type::FIXED_SIZE_BINARY:
    case arrow::Type::DECIMAL128:
    case arrow::Type::EXTENSION:
      return ToSingleValue(s);
    default:
      return arrow::Status::Invalid("bucket[N] does not apply to ", s.type->ToString());
  }
}

// The first w Unicode code points of UTF-8 text.
std::string_view TruncateUtf8(std::string_view s, int32_t w) {
  size_t i = 0;
  for (int32_t n = 0; i < s.size() && n < w; ++n) {
    auto c = static_cast<unsigned char>(s[i]);
    i += c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
  }
  return s.substr(0, std::min(i, s.size()));
}

}  // namespace

std::string Transform::ToString() const {
  switch (kind) {
    case kIdentity:
      return "identity";
    case kYear:
      return "year";
    case kMonth:
      return "month";
    case kDay:
      return "day";
    case kHour:
      return "hour";
    case kBucket:
      return "bucket[" + std::to_string(param) + "]";
    case kTruncate:
      return "truncate[" + std::to_string(param) + "]";
    case kVoid:
      return "void";
  }
  return "?";
}

arrow::Result<Transform> ParseTransform(const std::string& name) {
  static const std::pair<const char*, Transform::Kind> kSimple[] = {
      {"identity", Transform::kIdentity}, {"year", Transform::kYear},
      {"month", Transform::kMonth},       {"day", Transform::kDay},
      {"hour", Transform::kHour},         {"void", Transform::kVoid}};
  for (const auto& [n, k] : kSimple)
    if (name == n) return Transform{k, 0};
  for (const auto& [prefix, kind] : {std::pair{"bucket[", Transform::kBucket},
                                     std::pair{"truncate[", Transform::kTruncate}}) {
    std::string p = prefix;
    if (name.rfind(p, 0) == 0 && name.back() == ']') {
      std::string digits = name.substr(p.size(), name.size() - p.size() - 1);
      char* end = nullptr;
      long v = std::strtol(digits.c_str(), &end, 10);
      if (!digits.empty() && *end == '\0' && v > 0 && v <= INT32_MAX)
        return Transform{kind, static_cast<int32_t>(v)};
    }
  }
  return arrow::Status::NotImplemented("partition transform '", name, "' is not known");
}

arrow::Result<std::shared_ptr<arrow::DataType>> ResultType(
    const Transform& t, const std::shared_ptr<arrow::DataType>& source) {
  auto refuse = [&]() {
    return arrow::Status::Invalid("partition transform ", t.ToString(),
                                  " does not apply to type ", source->ToString());
  };
  const auto id = source->id();
  switch (t.kind) {
    case Transform::kIdentity:
    case Transform::kVoid:
      if (id == arrow::Type::STRUCT || id == arrow::Type::LIST || id == arrow::Type::MAP)
        return refuse();
      return source;
    case Transform::kYear:
    case Transform::kMonth:
    case Transform::kDay:
      if (id != arrow::Type::DATE32 && !IsTimestamp(*source)) return refuse();
      return t.kind == Transform::kDay ? arrow::date32() : arrow::int32();
    case Transform::kHour:
      if (!IsTimestamp(*source)) return refuse();
      return arrow::int32();
    case Transform::kBucket:
      if (id == arrow::Type::BOOL || id == arrow::Type::FLOAT ||
          id == arrow::Type::DOUBLE || id == arrow::Type::STRUCT ||
          id == arrow::Type::LIST || id == arrow::Type::MAP)
        return refuse();
      return arrow::int32();
    case Transform::kTruncate:
      if (id != arrow::Type::INT32 && id != arrow::Type::INT64 &&
          id != arrow::Type::STRING && id != arrow::Type::BINARY &&
          id != arrow::Type::DECIMAL128)
        return refuse();
      return source;
  }
  return refuse();
}

arrow::Result<std::shared_ptr<arrow::Array>> Apply(
    const Transform& t, const std::shared_ptr<arrow::Array>& values) {
  ARROW_ASSIGN_OR_RAISE(auto type, ResultType(t, values->type()));
  if (t.kind == Transform::kIdentity) return values;
  if (t.kind == Transform::kVoid) return arrow::MakeArrayOfNull(type, values->length());
  const int64_t n = values->length();
  const auto& source = *values->type();
  if (t.kind == Transform::kYear || t.kind == Transform::kMonth ||
      t.kind == Transform::kDay || t.kind == Transform::kHour) {
    // Days (dates) or microseconds (timestamps) as int64, then the unit since 1970.
    std::shared_ptr<arrow::Array> raw;
    if (source.id() == arrow::Type::DATE32) {
      ARROW_ASSIGN_OR_RAISE(raw, arrow::compute::Cast(*values, arrow::int32()));
    } else {
      auto storage = values->data()->Copy();
      storage->type = arrow::int64();
      raw = arrow::MakeArray(storage);
    }
    arrow::NumericBuilder<arrow::Int32Type> ints;
    arrow::Date32Builder days;
    ARROW_RETURN_NOT_OK(t.kind == Transform::kDay ? days.Reserve(n) : ints.Reserve(n));
    for (int64_t i = 0; i < n; ++i) {
      if (raw->IsNull(i)) {
        if (t.kind == Transform::kDay) {
          days.UnsafeAppendNull();
        } else {
          ints.UnsafeAppendNull();
        }
        continue;
      }
      int64_t day = 0, micros = 0;
      if (source.id() == arrow::Type::DATE32) {
        day = static_cast<const arrow::Int32Array&>(*raw).Value(i);
      } else {
        micros = Micros(static_cast<const arrow::TimestampType&>(source),
                        static_cast<const arrow::Int64Array&>(*raw).Value(i));
        day = FloorDiv(micros, kMicrosPerDay);
      }
      int64_t year = 0, month = 0;
      switch (t.kind) {
        case Transform::kDay:
          days.UnsafeAppend(static_cast<int32_t>(day));
          continue;
        case Transform::kHour:
          ints.UnsafeAppend(static_cast<int32_t>(FloorDiv(micros, kMicrosPerHour)));
          continue;
        default:
          CivilFromDays(day, &year, &month);
          ints.UnsafeAppend(static_cast<int32_t>(
              t.kind == Transform::kYear ? year - 1970 : (year - 1970) * 12 + month - 1));
      }
    }
    std::shared_ptr<arrow::Array> out;
    if (t.kind == Transform::kDay) {
      ARROW_RETURN_NOT_OK(days.Finish(&out));
    } else {
      ARROW_RETURN_NOT_OK(ints.Finish(&out));
    }
    return out;
  }
  if (t.kind == Transform::kBucket) {
    arrow::Int32Builder out;
    ARROW_RETURN_NOT_OK(out.Reserve(n));
    for (int64_t i = 0; i < n; ++i) {
      if (values->IsNull(i)) {
        out.UnsafeAppendNull();
        continue;
      }
      ARROW_ASSIGN_OR_RAISE(auto scalar, values->GetScalar(i));
      ARROW_ASSIGN_OR_RAISE(auto bytes, HashBytes(*scalar));
      out.UnsafeAppend((Murmur3(bytes) & INT32_MAX) % t.param);
    }
    return out.Finish();
  }
  // truncate[W]
  const int64_t w = t.param;
  switch (source.id()) {
    case arrow::Type::INT32: {
      const auto& a = static_cast<const arrow::Int32Array&>(*values);
      arrow::Int32Builder out;
      ARROW_RETURN_NOT_OK(out.Reserve(n));
      for (int64_t i = 0; i < n; ++i) {
        if (a.IsNull(i)) {
          out.UnsafeAppendNull();
        } else {
          out.UnsafeAppend(static_cast<int32_t>(a.Value(i) - FloorMod(a.Value(i), w)));
        }
      }
      return out.Finish();
    }
    case arrow::Type::INT64: {
      const auto& a = static_cast<const arrow::Int64Array&>(*values);
      arrow::Int64Builder out;
      ARROW_RETURN_NOT_OK(out.Reserve(n));
      for (int64_t i = 0; i < n; ++i) {
        if (a.IsNull(i)) {
          out.UnsafeAppendNull();
        } else {
          out.UnsafeAppend(a.Value(i) - FloorMod(a.Value(i), w));
        }
      }
      return out.Finish();
    }
    case arrow::Type::STRING:
    case arrow::Type::BINARY: {
      const auto& a = static_cast<const arrow::BinaryArray&>(*values);
      std::unique_ptr<arrow::ArrayBuilder> builder;
      ARROW_RETURN_NOT_OK(
          arrow::MakeBuilder(arrow::default_memory_pool(), values->type(), &builder));
      auto* out = static_cast<arrow::BinaryBuilder*>(builder.get());
      for (int64_t i = 0; i < n; ++i) {
        if (a.IsNull(i)) {
          ARROW_RETURN_NOT_OK(out->AppendNull());
          continue;
        }
        std::string_view v = a.GetView(i);
        ARROW_RETURN_NOT_OK(
            out->Append(source.id() == arrow::Type::STRING
                            ? TruncateUtf8(v, t.param)
                            : v.substr(0, std::min<size_t>(v.size(), w))));
      }
      return builder->Finish();
    }
    case arrow::Type::DECIMAL128: {
      const auto& a = static_cast<const arrow::Decimal128Array&>(*values);
      arrow::Decimal128Builder out(values->type());
      ARROW_RETURN_NOT_OK(out.Reserve(n));
      for (int64_t i = 0; i < n; ++i) {
        if (a.IsNull(i)) {
          out.UnsafeAppendNull();
          continue;
        }
        arrow::Decimal128 v(a.GetValue(i));
        arrow::Decimal128 width(w);
        arrow::Decimal128 rem = v % width;
        if (rem.Sign() < 0) rem += width;
        out.UnsafeAppend(v - rem);
      }
      return out.Finish();
    }
    default:
      return arrow::Status::Invalid("truncate does not apply to ", source.ToString());
  }
}

int32_t Murmur3(std::string_view bytes) {
  const uint32_t c1 = 0xcc9e2d51, c2 = 0x1b873593;
  const auto* data = reinterpret_cast<const uint8_t*>(bytes.data());
  const size_t len = bytes.size();
  uint32_t h = 0;
  auto rotl = [](uint32_t x, int r) { return (x << r) | (x >> (32 - r)); };
  size_t blocks = len / 4;
  for (size_t i = 0; i < blocks; ++i) {
    uint32_t k;
    std::memcpy(&k, data + 4 * i, 4);
    k *= c1;
    k = rotl(k, 15);
    k *= c2;
    h ^= k;
    h = rotl(h, 13);
    h = h * 5 + 0xe6546b64;
  }
  const uint8_t* tail = data + 4 * blocks;
  uint32_t k = 0;
  switch (len & 3) {
    case 3:
      k ^= static_cast<uint32_t>(tail[2]) << 16;
      [[fallthrough]];
    case 2:
      k ^= static_cast<uint32_t>(tail[1]) << 8;
      [[fallthrough]];
    case 1:
      k ^= tail[0];
      k *= c1;
      k = rotl(k, 15);
      k *= c2;
      h ^= k;
  }
  h ^= static_cast<uint32_t>(len);
  h ^= h >> 16;
  h *= 0x85ebca6b;
  h ^= h >> 13;
  h *= 0xc2b2ae35;
  h ^= h >> 16;
  return static_cast<int32_t>(h);
}

}  // namespace inlet::iceberg
