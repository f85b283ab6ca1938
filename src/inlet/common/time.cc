#include "inlet/common/time.h"

#include <arrow/status.h>

#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace inlet {

namespace {

using std::chrono::days;
using std::chrono::sys_days;
using std::chrono::year_month_day;

constexpr int64_t kMicrosPerSecond = 1000000;
constexpr int64_t kMicrosPerDay = 86400 * kMicrosPerSecond;

int64_t FloorDiv(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

struct Civil {
  int year;
  unsigned month, day;
};

Civil CivilFromDays(int64_t d) {
  year_month_day ymd{sys_days{days{d}}};
  return {static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
          static_cast<unsigned>(ymd.day())};
}

// n digits at pos (at most 9, which an int holds: a longer year is not a date).
bool ParseDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (n > 9 || pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

std::string FormatDateTime(int64_t micros, char sep) {
  int64_t day = FloorDiv(micros, kMicrosPerDay);
  int64_t rem = micros - day * kMicrosPerDay;
  Civil c = CivilFromDays(day);
  int64_t secs = rem / kMicrosPerSecond;
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02u%c%02d:%02d:%02d", c.year, c.month,
                c.day, sep, static_cast<int>(secs / 3600),
                static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
  return buf;
}

}  // namespace

int64_t NowMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string FormatDate(int32_t d) {
  Civil c = CivilFromDays(d);
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02u", c.year, c.month, c.day);
  return buf;
}

std::string FormatTimestampIso(int64_t micros) {
  char frac[16];
  std::snprintf(frac, sizeof(frac), ".%06lldZ",
                static_cast<long long>(micros - FloorDiv(micros, kMicrosPerSecond) *
                                                    kMicrosPerSecond));
  return FormatDateTime(micros, 'T') + frac;
}

std::string FormatTimestampPlain(int64_t micros) {
  int64_t sub = micros - FloorDiv(micros, kMicrosPerSecond) * kMicrosPerSecond;
  std::string out = FormatDateTime(micros, ' ');
  if (sub != 0) {
    char frac[16];
    std::snprintf(frac, sizeof(frac), ".%06lld", static_cast<long long>(sub));
    out += frac;
  }
  return out;
}

std::string FormatTimestampMillisIso(int64_t millis) {
  int64_t ms = millis - FloorDiv(millis, 1000) * 1000;
  char frac[16];
  std::snprintf(frac, sizeof(frac), ".%03lldZ", static_cast<long long>(ms));
  return FormatDateTime(millis * 1000 - ms * 1000, 'T') + frac;
}

arrow::Result<int32_t> ParseDate(std::string_view s) {
  int y, m, d;
  size_t start = (!s.empty() && (s[0] == '-' || s[0] == '+')) ? 1 : 0;
  size_t dash = s.find('-', start);
  if (dash == std::string_view::npos || dash < start + 1 ||
      !ParseDigits(s, start, dash - start, &y) || !ParseDigits(s, dash + 1, 2, &m) ||
      dash + 3 >= s.size() || s[dash + 3] != '-' || !ParseDigits(s, dash + 4, 2, &d) ||
      dash + 6 != s.size()) {
    return arrow::Status::Invalid("invalid date '", s, "' (expected YYYY-MM-DD)");
  }
  if (start == 1 && s[0] == '-') y = -y;
  year_month_day ymd{std::chrono::year{y}, std::chrono::month{static_cast<unsigned>(m)},
                     std::chrono::day{static_cast<unsigned>(d)}};
  if (!ymd.ok()) return arrow::Status::Invalid("invalid date '", s, "'");
  return static_cast<int32_t>(sys_days{ymd}.time_since_epoch().count());
}

arrow::Result<int64_t> ParseTimestampMicros(std::string_view s) {
  auto bad = [&] {
    return arrow::Status::Invalid("invalid timestamp '", s,
                                  "' (expected ISO-8601 such as 2024-01-31T12:00:00Z)");
  };
  if (s.size() < 10) return bad();
  size_t date_len = s.find_first_of("T ", 0);
  if (date_len == std::string_view::npos) date_len = s.size();
  auto date = ParseDate(s.substr(0, date_len));
  if (!date.ok()) return bad();
  int64_t micros = static_cast<int64_t>(*date) * kMicrosPerDay;
  size_t pos = date_len;
  if (pos < s.size()) {
    int hh, mm, ss = 0;
    if (!ParseDigits(s, pos + 1, 2, &hh) || pos + 3 >= s.size() || s[pos + 3] != ':' ||
        !ParseDigits(s, pos + 4, 2, &mm)) {
      return bad();
    }
    pos += 6;
    if (pos < s.size() && s[pos] == ':') {
      if (!ParseDigits(s, pos + 1, 2, &ss)) return bad();
      pos += 3;
    }
    if (hh > 23 || mm > 59 || ss > 60) return bad();
    micros += (hh * 3600LL + mm * 60LL + ss) * kMicrosPerSecond;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      int64_t frac = 0;
      int digits = 0;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        if (digits < 6) frac = frac * 10 + (s[pos] - '0');
        ++digits;
        ++pos;
      }
      if (digits == 0) return bad();
      for (int i = digits; i < 6; ++i) frac *= 10;
      micros += frac;
    }
    if (pos < s.size()) {
      if (s[pos] == 'Z' && pos + 1 == s.size()) {
        pos += 1;
      } else if ((s[pos] == '+' || s[pos] == '-') && pos + 6 == s.size() &&
                 s[pos + 3] == ':') {
        int oh, om;
        if (!ParseDigits(s, pos + 1, 2, &oh) || !ParseDigits(s, pos + 4, 2, &om))
          return bad();
        int64_t offset = (oh * 3600LL + om * 60LL) * kMicrosPerSecond;
        micros += s[pos] == '+' ? -offset : offset;
        pos = s.size();
      } else {
        return bad();
      }
    }
  }
  return micros;
}

arrow::Result<int64_t> ParseIntervalMillis(std::string_view text) {
  auto invalid = [&] {
    return arrow::Status::Invalid(
        "cannot parse '", std::string(text),
        "' as an interval (like 'interval 7 days' or 'interval 168 hours')");
  };
  std::vector<std::string> words;
  std::string word;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  size_t i = (!words.empty() && words[0] == "interval") ? 1 : 0;
  if (i >= words.size() || (words.size() - i) % 2 != 0) return invalid();
  static const std::pair<const char*, double> kUnits[] = {
      {"nanosecond", 1e-6}, {"microsecond", 1e-3}, {"millisecond", 1}, {"second", 1e3},
      {"minute", 6e4},      {"hour", 3.6e6},       {"day", 8.64e7},    {"week", 6.048e8}};
  double total = 0;
  for (; i < words.size(); i += 2) {
    char* end = nullptr;
    double n = std::strtod(words[i].c_str(), &end);
    if (end == words[i].c_str() || *end != '\0' || n < 0) return invalid();
    std::string unit = words[i + 1];
    if (unit.size() > 1 && unit.back() == 's') unit.pop_back();
    bool found = false;
    for (const auto& [name, ms] : kUnits) {
      if (unit == name) {
        total += n * ms;
        found = true;
      }
    }
    if (!found) return invalid();
  }
  return static_cast<int64_t>(total);
}

}  // namespace inlet
