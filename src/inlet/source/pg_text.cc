#include "inlet/source/pg_text.h"

#include <charconv>
#include <cinttypes>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>

#include "inlet/common/utf8.h"

namespace inlet::pgtext {

namespace {

// Built-in type OIDs (PostgreSQL's pg_type.dat).
enum : uint32_t {
  kBoolOid = 16,
  kByteaOid = 17,
  kCharOid = 18,
  kNameOid = 19,
  kInt8Oid = 20,
  kInt2Oid = 21,
  kInt4Oid = 23,
  kTextOid = 25,
  kJsonOid = 114,
  kXmlOid = 142,
  kFloat4Oid = 700,
  kFloat8Oid = 701,
  kBpcharOid = 1042,
  kVarcharOid = 1043,
  kDateOid = 1082,
  kTimeOid = 1083,
  kTimestampOid = 1114,
  kTimestampTzOid = 1184,
  kIntervalOid = 1186,
  kNumericOid = 1700,
  kUuidOid = 2950,
  kJsonbOid = 3802,
};

constexpr int64_t kMicrosPerDay = 86400000000LL;

template <typename T>
bool ParseInt(std::string_view s, T* out) {
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && end == s.data() + s.size();
}

// Days since 1970-01-01 of a proleptic Gregorian date (astronomical years).
int64_t DaysFromCivil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

bool IsInfinity(std::string_view s) { return s == "infinity" || s == "-infinity"; }

// "YYYY-MM-DD" (a year of four or more digits), then what follows; bc: of that year
// before Christ (also when the text ends in " BC").
bool ParseDate(std::string_view* s, int64_t* days, bool bc = false) {
  size_t dash = s->find('-');
  if (dash == std::string_view::npos || dash < 4 || s->size() < dash + 6) return false;
  int64_t y = 0, m = 0, d = 0;
  if (!ParseInt(s->substr(0, dash), &y) || (*s)[dash + 3] != '-' ||
      !ParseInt(s->substr(dash + 1, 2), &m) || !ParseInt(s->substr(dash + 4, 2), &d))
    return false;
  // PostgreSQL's dates end at 5874897 AD (and 4713 BC): a longer year is not one.
  if (m < 1 || m > 12 || d < 1 || d > 31 || y < 0 || y > 10000000) return false;
  s->remove_prefix(dash + 6);
  if (s->size() >= 3 && s->substr(s->size() - 3) == " BC") {
    s->remove_suffix(3);
    bc = true;
  }
  if (bc) y = 1 - y;  // 1 BC is year 0
  *days = DaysFromCivil(y, m, d);
  return true;
}

// "HH:MM:SS[.ffffff]" as microseconds, then what follows.
bool ParseTimeOfDay(std::string_view* s, int64_t* micros) {
  if (s->size() < 8 || (*s)[2] != ':' || (*s)[5] != ':') return false;
  int64_t h = 0, m = 0, sec = 0;
  if (!ParseInt(s->substr(0, 2), &h) || !ParseInt(s->substr(3, 2), &m) ||
      !ParseInt(s->substr(6, 2), &sec))
    return false;
  s->remove_prefix(8);
  int64_t frac = 0;
  if (!s->empty() && (*s)[0] == '.') {
    size_t n = 1;
    while (n < s->size() && (*s)[n] >= '0' && (*s)[n] <= '9') ++n;
    if (n == 1 || n > 7) return false;
    std::string digits(s->substr(1, n - 1));
    digits.append(6 - digits.size(), '0');
    frac = std::strtoll(digits.c_str(), nullptr, 10);
    s->remove_prefix(n);
  }
  *micros = ((h * 60 + m) * 60 + sec) * 1000000 + frac;
  return h <= 24 && m < 60 && sec < 61;
}

// "+HH[:MM[:SS]]" or "-..." as seconds east of UTC.
bool ParseOffset(std::string_view* s, int64_t* seconds) {
  if (s->empty() || ((*s)[0] != '+' && (*s)[0] != '-')) return false;
  int sign = (*s)[0] == '-' ? -1 : 1;
  s->remove_prefix(1);
  int64_t parts[3] = {0, 0, 0};
  for (int i = 0; i < 3 && s->size() >= 2; ++i) {
    if (!ParseInt(s->substr(0, 2), &parts[i])) return false;
    s->remove_prefix(2);
    if (s->empty() || (*s)[0] != ':') break;
    s->remove_prefix(1);
  }
  *seconds = sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
  return true;
}

arrow::Result<int64_t> TimestampOf(std::string_view text, bool with_zone) {
  if (IsInfinity(text))
    return arrow::Status::Invalid(
        "infinity has no place in a table's timestamps: map it to a value at the source");
  std::string_view s = text;
  bool bc = s.size() >= 3 && s.substr(s.size() - 3) == " BC";
  if (bc) s.remove_suffix(3);
  int64_t days = 0, micros = 0, offset = 0;
  std::string_view date = s.substr(0, s.find(' '));
  std::string_view rest = s.substr(std::min(s.size(), date.size() + 1));
  if (!ParseDate(&date, &days, bc) || !date.empty() || !ParseTimeOfDay(&rest, &micros) ||
      (with_zone && !ParseOffset(&rest, &offset)) || !rest.empty())
    return arrow::Status::Invalid("'", text, "' is not a timestamp");
  // Arrow's microseconds reach 294247 AD; PostgreSQL's timestamps 294276 AD.
  constexpr int64_t kMaxDays = INT64_MAX / kMicrosPerDay - 1;
  if (days > kMaxDays || days < -kMaxDays)
    return arrow::Status::Invalid("'", text, "' is beyond a table's timestamps");
  return days * kMicrosPerDay + micros - offset * 1000000;
}

// An ISO 8601 interval as PostgreSQL prints it (IntervalStyle iso_8601).
arrow::Result<std::string> IntervalOf(std::string_view text) {
  auto bad = [&] { return arrow::Status::Invalid("'", text, "' is not an interval"); };
  if (text.empty() || text[0] != 'P') return bad();
  std::string_view s = text.substr(1);
  bool time = false;
  int64_t months = 0, days = 0;
  int64_t micros = 0;
  if (s.empty()) return bad();
  while (!s.empty()) {
    if (s[0] == 'T') {
      time = true;
      s.remove_prefix(1);
      continue;
    }
    size_t n = 0;
    while (n < s.size() &&
           (s[n] == '-' || s[n] == '+' || s[n] == '.' || (s[n] >= '0' && s[n] <= '9')))
      ++n;
    if (n == 0 || n == s.size()) return bad();
    std::string_view number = s.substr(0, n);
    char unit = s[n];
    s.remove_prefix(n + 1);
    // A whole number, and (seconds only) a fraction of up to six digits, in integers.
    bool negative = number[0] == '-';
    if (number[0] == '-' || number[0] == '+') number.remove_prefix(1);
    size_t point = number.find('.');
    std::string_view whole = number.substr(0, point);
    std::string_view fraction =
        point == std::string_view::npos ? std::string_view() : number.substr(point + 1);
    int64_t v = 0, frac = 0;
    if (whole.empty() && fraction.empty()) return bad();
    if (!whole.empty() && !ParseInt(whole, &v)) return bad();
    if (point != std::string_view::npos) {
      if (unit != 'S' || !time || fraction.size() > 6) return bad();
      std::string digits(fraction);
      digits.append(6 - digits.size(), '0');
      if (!ParseInt(std::string_view(digits), &frac)) return bad();
    }
    if (negative) {
      v = -v;
      frac = -frac;
    }
    if (!time && unit == 'Y') {
      months += v * 12;
    } else if (!time && unit == 'M') {
      months += v;
    } else if (!time && unit == 'W') {
      days += v * 7;
    } else if (!time && unit == 'D') {
      days += v;
    } else if (time && unit == 'H') {
      micros += v * 3600000000LL;
    } else if (time && unit == 'M') {
      micros += v * 60000000LL;
    } else if (time && unit == 'S') {
      micros += v * 1000000 + frac;
    } else {
      return bad();
    }
  }
  return IntervalText(static_cast<int32_t>(months), static_cast<int32_t>(days), micros);
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// The elements of an array's text ({a,"b c",NULL}), those of a multidimensional one
// ({{1,2},{3,4}}) flattened in order, as the query source reads them.
arrow::Status SplitArray(std::string_view text,
                         std::vector<std::optional<std::string>>* out) {
  auto bad = [&](const char* why) {
    return arrow::Status::Invalid("'", text, "' is not an array: ", why);
  };
  std::string_view s = text;
  if (!s.empty() && s[0] == '[') {  // explicit bounds: [0:2]={...}
    size_t eq = s.find('=');
    if (eq == std::string_view::npos) return bad("bounds without '='");
    s.remove_prefix(eq + 1);
  }
  if (s.size() < 2 || s.front() != '{' || s.back() != '}') return bad("no braces");
  out->clear();
  int depth = 0;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (c == '{') {
      ++depth;
      ++i;
      continue;
    }
    if (c == '}') {
      if (--depth < 0) return bad("unbalanced braces");
      ++i;
      continue;
    }
    if (c == ',') {
      ++i;
      continue;
    }
    if (depth == 0) return bad("a value outside the braces");
    std::string value;
    bool quoted = c == '"';
    if (quoted) {
      ++i;
      while (i < s.size() && s[i] != '"') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value += s[i++];
      }
      if (i >= s.size()) return bad("an unterminated quote");
      ++i;
    } else {
      while (i < s.size() && s[i] != ',' && s[i] != '}') {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        value += s[i++];
      }
    }
    if (!quoted && (value == "NULL" || value == "null"))
      out->push_back(std::nullopt);
    else
      out->push_back(std::move(value));
  }
  if (depth != 0) return bad("unbalanced braces");
  return arrow::Status::OK();
}

template <typename Builder, typename T>
arrow::Status AppendTo(arrow::ArrayBuilder* b, T v) {
  return static_cast<Builder*>(b)->Append(v);
}

}  // namespace

arrow::Result<ColumnType> TypeOf(const CatalogType& t, UnconstrainedNumeric numeric,
                                 UnknownTypes unknown) {
  ColumnType c;
  c.pg_type = t.name;
  auto set = [&](ColumnType::Kind kind, std::shared_ptr<arrow::DataType> type) {
    c.kind = kind;
    c.type = std::move(type);
  };
  if (t.element) {
    ARROW_ASSIGN_OR_RAISE(auto element, TypeOf(*t.element, numeric, unknown));
    if (element.kind == ColumnType::kUnknown || element.kind == ColumnType::kList) {
      set(ColumnType::kUnknown, nullptr);
    } else {
      set(ColumnType::kList, arrow::list(arrow::field("item", element.type)));
      c.element = std::make_shared<ColumnType>(std::move(element));
    }
  } else if (t.is_enum) {
    set(ColumnType::kString, arrow::utf8());
  } else {
    switch (t.oid) {
      case kBoolOid:
        set(ColumnType::kBool, arrow::boolean());
        break;
      case kByteaOid:
        set(ColumnType::kBinary, arrow::binary());
        break;
      case kInt2Oid:
        set(ColumnType::kInt16, arrow::int16());
        break;
      case kInt4Oid:
        set(ColumnType::kInt32, arrow::int32());
        break;
      case kInt8Oid:
        set(ColumnType::kInt64, arrow::int64());
        break;
      case kFloat4Oid:
        set(ColumnType::kFloat32, arrow::float32());
        break;
      case kFloat8Oid:
        set(ColumnType::kFloat64, arrow::float64());
        break;
      case kCharOid:
      case kNameOid:
      case kTextOid:
      case kJsonOid:
      case kJsonbOid:
      case kBpcharOid:
      case kVarcharOid:
      case kUuidOid:
        set(ColumnType::kString, arrow::utf8());
        break;
      case kDateOid:
        set(ColumnType::kDate, arrow::date32());
        break;
      case kTimeOid:
        set(ColumnType::kTime, arrow::utf8());
        break;
      case kTimestampOid:
        set(ColumnType::kTimestamp, arrow::timestamp(arrow::TimeUnit::MICRO));
        break;
      case kTimestampTzOid:
        set(ColumnType::kTimestampTz, arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"));
        break;
      case kIntervalOid:
        set(ColumnType::kInterval, arrow::utf8());
        break;
      case kNumericOid: {
        if (t.typmod < 4) {  // without a precision
          switch (numeric) {
            case UnconstrainedNumeric::kDecimal:
              set(ColumnType::kDecimal, arrow::decimal128(38, 18));
              c.precision = 38;
              c.scale = 18;
              break;
            case UnconstrainedNumeric::kString:
              set(ColumnType::kString, arrow::utf8());
              break;
            case UnconstrainedNumeric::kDouble:
              set(ColumnType::kFloat64, arrow::float64());
              c.as_double = true;
              break;
          }
          break;
        }
        // PostgreSQL 15 packs the scale in 11 bits, signed.
        c.precision = static_cast<int32_t>(((t.typmod - 4) >> 16) & 0xffff);
        c.scale = static_cast<int32_t>((((t.typmod - 4) & 0x7ff) ^ 1024) - 1024);
        if (c.precision > 38 || c.scale > c.precision || c.scale < 0)
          return arrow::Status::Invalid("type ", t.name,
                                        " is wider than a table's decimals (38 digits)");
        set(ColumnType::kDecimal, arrow::decimal128(c.precision, c.scale));
        break;
      }
      default:
        set(ColumnType::kUnknown, nullptr);
        break;
    }
  }
  if (c.kind == ColumnType::kUnknown && unknown == UnknownTypes::kText)
    set(ColumnType::kString, arrow::utf8());
  return c;
}

arrow::Status Append(const ColumnType& t, std::string_view text, arrow::ArrayBuilder* b) {
  auto not_a = [&](const char* what) {
    return arrow::Status::Invalid("'", text, "' is not ", what);
  };
  switch (t.kind) {
    case ColumnType::kBool:
      if (text != "t" && text != "f") return not_a("a boolean");
      return AppendTo<arrow::BooleanBuilder>(b, text == "t");
    case ColumnType::kInt16: {
      int16_t v;
      if (!ParseInt(text, &v)) return not_a("a smallint");
      return AppendTo<arrow::Int16Builder>(b, v);
    }
    case ColumnType::kInt32: {
      int32_t v;
      if (!ParseInt(text, &v)) return not_a("an integer");
      return AppendTo<arrow::Int32Builder>(b, v);
    }
    case ColumnType::kInt64: {
      int64_t v;
      if (!ParseInt(text, &v)) return not_a("a bigint");
      return AppendTo<arrow::Int64Builder>(b, v);
    }
    case ColumnType::kFloat32:
    case ColumnType::kFloat64: {
      std::string s(text);
      char* end = nullptr;
      double v = std::strtod(s.c_str(), &end);
      if (s.empty() || end != s.c_str() + s.size()) return not_a("a number");
      if (t.kind == ColumnType::kFloat32)
        return AppendTo<arrow::FloatBuilder>(
            b, static_cast<float>(std::strtof(s.c_str(), nullptr)));
      return AppendTo<arrow::DoubleBuilder>(b, v);
    }
    case ColumnType::kDecimal: {
      auto v = DecimalOfText(text, t.precision, t.scale);
      if (!v)
        return arrow::Status::Invalid("'", text, "' does not fit decimal(", t.precision,
                                      ",", t.scale, ")");
      return AppendTo<arrow::Decimal128Builder>(b, *v);
    }
    case ColumnType::kString:
      // Logical replication sends text in the server's encoding: a table's strings are
      // UTF-8, and nothing else is let in.
      if (!ValidUtf8(text))
        return arrow::Status::Invalid(
            "a text value that is not UTF-8 (inlet reads text as UTF-8: the database's "
            "encoding must be UTF8)");
      return AppendTo<arrow::StringBuilder>(b, text);
    case ColumnType::kBinary: {
      if (text.size() < 2 || text.substr(0, 2) != "\\x" || text.size() % 2)
        return not_a("bytea in hex");
      std::string bytes;
      bytes.reserve(text.size() / 2 - 1);
      for (size_t i = 2; i < text.size(); i += 2) {
        int hi = HexDigit(text[i]), lo = HexDigit(text[i + 1]);
        if (hi < 0 || lo < 0) return not_a("bytea in hex");
        bytes += static_cast<char>(hi * 16 + lo);
      }
      return AppendTo<arrow::BinaryBuilder>(b, bytes);
    }
    case ColumnType::kDate: {
      if (IsInfinity(text))
        return arrow::Status::Invalid(
            "infinity has no place in a table's dates: map it to a value at the source");
      std::string_view s = text;
      int64_t days = 0;
      if (!ParseDate(&s, &days) || !s.empty()) return not_a("a date");
      return AppendTo<arrow::Date32Builder>(b, static_cast<int32_t>(days));
    }
    case ColumnType::kTime: {
      std::string_view s = text;
      int64_t us = 0;
      if (!ParseTimeOfDay(&s, &us) || !s.empty()) return not_a("a time of day");
      char buf[32];
      std::snprintf(buf, sizeof(buf),
                    "%02" PRId64 ":%02" PRId64 ":%02" PRId64 ".%06" PRId64,
                    us / int64_t{3600000000}, us / int64_t{60000000} % 60,
                    us / 1000000 % 60, us % 1000000);
      return AppendTo<arrow::StringBuilder>(b, std::string_view(buf));
    }
    case ColumnType::kTimestamp:
    case ColumnType::kTimestampTz: {
      ARROW_ASSIGN_OR_RAISE(int64_t us,
                            TimestampOf(text, t.kind == ColumnType::kTimestampTz));
      return AppendTo<arrow::TimestampBuilder>(b, us);
    }
    case ColumnType::kInterval: {
      ARROW_ASSIGN_OR_RAISE(auto iso, IntervalOf(text));
      return AppendTo<arrow::StringBuilder>(b, iso);
    }
    case ColumnType::kList: {
      std::vector<std::optional<std::string>> elements;
      ARROW_RETURN_NOT_OK(SplitArray(text, &elements));
      auto* list = static_cast<arrow::ListBuilder*>(b);
      ARROW_RETURN_NOT_OK(list->Append());
      for (const auto& e : elements) {
        if (!e) {
          ARROW_RETURN_NOT_OK(list->value_builder()->AppendNull());
          continue;
        }
        auto st = Append(*t.element, *e, list->value_builder());
        if (!st.ok()) return st.WithMessage("an element: ", st.message());
      }
      return arrow::Status::OK();
    }
    case ColumnType::kUnknown:
      break;
  }
  return arrow::Status::Invalid("type ", t.pg_type, " has no mapping");
}

arrow::Status SplitCopyRow(std::string_view line,
                           std::vector<std::optional<std::string>>* out) {
  out->clear();
  std::string field;
  bool null = false;
  for (size_t i = 0; i <= line.size(); ++i) {
    if (i == line.size() || line[i] == '\t') {
      if (null)
        out->push_back(std::nullopt);
      else
        out->push_back(std::move(field));
      field.clear();
      null = false;
      continue;
    }
    char c = line[i];
    if (c != '\\') {
      field += c;
      continue;
    }
    if (++i == line.size())
      return arrow::Status::Invalid("a COPY row ends in a backslash");
    c = line[i];
    switch (c) {
      case 'N':
        if (!field.empty() || (i + 1 < line.size() && line[i + 1] != '\t'))
          return arrow::Status::Invalid("a COPY row has \\N inside a value");
        null = true;
        break;
      case 'b':
        field += '\b';
        break;
      case 'f':
        field += '\f';
        break;
      case 'n':
        field += '\n';
        break;
      case 'r':
        field += '\r';
        break;
      case 't':
        field += '\t';
        break;
      case 'v':
        field += '\v';
        break;
      case 'x': {
        int v = 0, n = 0;
        while (n < 2 && i + 1 < line.size() && HexDigit(line[i + 1]) >= 0) {
          v = v * 16 + HexDigit(line[++i]);
          ++n;
        }
        if (n == 0) {
          field += 'x';
        } else {
          field += static_cast<char>(v);
        }
        break;
      }
      default:
        if (c >= '0' && c <= '7') {
          int v = c - '0', n = 1;
          while (n < 3 && i + 1 < line.size() && line[i + 1] >= '0' &&
                 line[i + 1] <= '7') {
            v = v * 8 + (line[++i] - '0');
            ++n;
          }
          field += static_cast<char>(v);
        } else {
          field += c;  // \\ and any other character stand for themselves
        }
    }
  }
  return arrow::Status::OK();
}

std::optional<arrow::Decimal128> DecimalOfText(std::string_view s, int32_t precision,
                                               int32_t scale) {
  bool negative = !s.empty() && s[0] == '-';
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) s.remove_prefix(1);
  size_t point = s.find('.');
  std::string_view whole = s.substr(0, point);
  std::string_view fraction =
      point == std::string_view::npos ? std::string_view() : s.substr(point + 1);
  if (whole.empty() && fraction.empty()) return std::nullopt;
  for (char c : whole)
    if (c < '0' || c > '9') return std::nullopt;
  for (char c : fraction)
    if (c < '0' || c > '9') return std::nullopt;
  while (!whole.empty() && whole[0] == '0') whole.remove_prefix(1);
  if (static_cast<int32_t>(whole.size()) > precision - scale) return std::nullopt;
  size_t places = static_cast<size_t>(scale);
  std::string digits(whole);
  digits += std::string(fraction.substr(0, places));
  digits.append(places - std::min(fraction.size(), places), '0');
  bool round_up = fraction.size() > places && fraction[places] >= '5';
  if (digits.empty()) digits = "0";
  arrow::Decimal128 v;
  int32_t parsed_precision = 0;
  if (!arrow::Decimal128::FromString(digits, &v, &parsed_precision).ok())
    return std::nullopt;
  if (round_up) v += 1;
  if (!v.FitsInPrecision(precision)) return std::nullopt;
  return negative ? -v : v;
}

std::string IntervalText(int32_t total_months, int32_t days, int64_t micros) {
  std::string out = "P";
  int32_t years = total_months / 12, months = total_months % 12;
  if (years) out += std::to_string(years) + "Y";
  if (months) out += std::to_string(months) + "M";
  if (days) out += std::to_string(days) + "D";
  if (micros || out == "P") {
    out += "T";
    int64_t hours = micros / 3600000000LL;
    micros -= hours * 3600000000LL;
    int64_t minutes = micros / 60000000LL;
    micros -= minutes * 60000000LL;
    if (hours) out += std::to_string(hours) + "H";
    if (minutes) out += std::to_string(minutes) + "M";
    if (micros || (!hours && !minutes)) {
      bool negative = micros < 0;
      int64_t m = negative ? -micros : micros;
      char buf[48];
      std::snprintf(buf, sizeof(buf), "%s%" PRId64, negative ? "-" : "", m / 1000000);
      std::string seconds = buf;
      if (m % 1000000) {
        std::snprintf(buf, sizeof(buf), ".%06" PRId64, m % 1000000);
        std::string frac = buf;
        while (frac.back() == '0') frac.pop_back();
        seconds += frac;
      }
      out += seconds + "S";
    }
  }
  return out;
}

std::string QuoteIdent(std::string_view name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string QuoteLiteral(std::string_view text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

}  // namespace inlet::pgtext
