#include "inlet/pipeline/schedule.h"

#include <date/tz.h>

#include <cctype>
#include <chrono>
#include <map>
#include <sstream>
#include <vector>

namespace inlet::pipeline {

namespace {

std::string Upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// A number or (months, weekdays) a name of the field.
arrow::Result<int> FieldValue(const std::string& text, const char* field,
                              const std::vector<std::string>& names, int names_from) {
  std::string upper = Upper(text);
  for (size_t i = 0; i < names.size(); ++i)
    if (upper == names[i]) return static_cast<int>(i) + names_from;
  if (text.empty() || text.size() > 4)
    return arrow::Status::Invalid("cron ", field, ": '", text, "' is not a value");
  for (char c : text)
    if (!std::isdigit(static_cast<unsigned char>(c)))
      return arrow::Status::Invalid("cron ", field, ": '", text, "' is not a value");
  return std::stoi(text);
}

// One field ("*/15", "1-5", "MON-FRI", "0,30") into bits lo..hi.
template <size_t N>
arrow::Status ParseField(const std::string& text, const char* field, int lo, int hi,
                         const std::vector<std::string>& names, int names_from,
                         std::bitset<N>* bits, bool* any) {
  // As Vixie cron and cronie: a field starting with '*' (*/2 too) is unrestricted for
  // the day-of-month / day-of-week rule.
  *any = !text.empty() && text[0] == '*';
  std::stringstream items(text);
  std::string item;
  bool some = false;
  while (std::getline(items, item, ',')) {
    some = true;
    int step = 1;
    size_t slash = item.find('/');
    if (slash != std::string::npos) {
      ARROW_ASSIGN_OR_RAISE(step, FieldValue(item.substr(slash + 1), field, {}, 0));
      if (step <= 0)
        return arrow::Status::Invalid("cron ", field, ": a step must be positive");
      item = item.substr(0, slash);
    }
    int from = lo, to = hi;
    if (item != "*") {
      size_t dash = item.find('-');
      ARROW_ASSIGN_OR_RAISE(from,
                            FieldValue(item.substr(0, dash), field, names, names_from));
      to = from;
      if (dash != std::string::npos) {
        ARROW_ASSIGN_OR_RAISE(
            to, FieldValue(item.substr(dash + 1), field, names, names_from));
      } else if (slash != std::string::npos) {
        to = hi;  // "5/15": from 5 on
      }
    }
    if (from < lo || to > hi || from > to) {
      return arrow::Status::Invalid("cron ", field, ": '", item, "' is outside ", lo, "-",
                                    hi);
    }
    for (int v = from; v <= to; v += step) bits->set(static_cast<size_t>(v));
  }
  if (!some) return arrow::Status::Invalid("cron ", field, ": empty");
  return arrow::Status::OK();
}

const date::time_zone* Zone(const std::string& name) {
  try {
    return date::locate_zone(name);
  } catch (const std::exception&) {
    return nullptr;
  }
}

bool DayMatches(const CronSpec& c, date::local_days day) {
  date::year_month_day ymd{day};
  bool dom = c.days.test(static_cast<unsigned>(ymd.day()));
  bool dow = c.weekdays.test(date::weekday{day}.c_encoding());
  // Either field starting with '*': both must match (its own bits may still restrict,
  // as */2 does); both restricted: either.
  if (c.any_day || c.any_weekday) return dom && dow;
  return dom || dow;
}

}  // namespace

arrow::Result<CronSpec> ParseCron(const std::string& text) {
  static const std::map<std::string, std::string> macros = {
      {"@hourly", "0 * * * *"},  {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
      {"@weekly", "0 0 * * 0"},  {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
      {"@annually", "0 0 1 1 *"}};
  std::string expr = text;
  if (auto m = macros.find(text); m != macros.end()) expr = m->second;
  std::stringstream ss(expr);
  std::vector<std::string> fields;
  for (std::string f; ss >> f;) fields.push_back(f);
  if (fields.size() != 5) {
    return arrow::Status::Invalid(
        "'", text,
        "' is not a cron expression: give five fields (minute hour "
        "day-of-month month day-of-week) or @hourly, @daily, @weekly, @monthly, @yearly");
  }
  static const std::vector<std::string> months = {
      "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
  static const std::vector<std::string> days = {"SUN", "MON", "TUE", "WED",
                                                "THU", "FRI", "SAT"};
  CronSpec c;
  bool any = false;
  ARROW_RETURN_NOT_OK(ParseField(fields[0], "minute", 0, 59, {}, 0, &c.minutes, &any));
  ARROW_RETURN_NOT_OK(ParseField(fields[1], "hour", 0, 23, {}, 0, &c.hours, &any));
  ARROW_RETURN_NOT_OK(
      ParseField(fields[2], "day of month", 1, 31, {}, 0, &c.days, &c.any_day));
  ARROW_RETURN_NOT_OK(ParseField(fields[3], "month", 1, 12, months, 1, &c.months, &any));
  std::bitset<8> weekdays;  // 7 is Sunday too
  ARROW_RETURN_NOT_OK(
      ParseField(fields[4], "day of week", 0, 7, days, 0, &weekdays, &c.any_weekday));
  for (size_t d = 0; d < 7; ++d) c.weekdays.set(d, weekdays.test(d));
  if (weekdays.test(7)) c.weekdays.set(0);
  return c;
}

arrow::Status CheckTimeZone(const std::string& name) {
  if (Zone(name)) return arrow::Status::OK();
  return arrow::Status::Invalid("unknown time zone '", name,
                                "' (an IANA name such as Europe/Oslo, or UTC)");
}

arrow::Result<int64_t> NextDue(const ScheduleConfig& s, int64_t after_ms) {
  using namespace std::chrono;
  if (s.every_ms > 0) return after_ms + s.every_ms;
  const date::time_zone* zone = Zone(s.timezone);
  if (!zone) return CheckTimeZone(s.timezone);
  const CronSpec& c = s.cron_spec;
  date::sys_time<milliseconds> after{milliseconds(after_ms)};
  auto local = floor<minutes>(zone->to_local(after)) + minutes(1);
  // Five years of days cover every expression that can fire at all (Feb 29 included).
  auto end = local + date::days(366 * 5);
  while (local < end) {
    auto day = floor<date::days>(local);
    date::year_month_day ymd{day};
    if (!c.months.test(static_cast<unsigned>(ymd.month()))) {
      local = date::local_days{(ymd.year() / ymd.month() / 1) + date::months(1)};
      continue;
    }
    if (!DayMatches(c, day)) {
      local = day + date::days(1);
      continue;
    }
    auto hour = floor<hours>(local - day);
    if (!c.hours.test(static_cast<size_t>(hour.count()))) {
      local = day + hour + hours(1);
      continue;
    }
    auto minute = duration_cast<minutes>(local - day - hour);
    if (!c.minutes.test(static_cast<size_t>(minute.count()))) {
      local += minutes(1);
      continue;
    }
    auto info = zone->get_info(local);
    if (info.result != date::local_info::nonexistent) {
      // Ambiguous (a repeated hour): the first of the two.
      auto sys = date::sys_seconds{local.time_since_epoch() - info.first.offset};
      int64_t ms = duration_cast<milliseconds>(sys.time_since_epoch()).count();
      if (ms > after_ms) return ms;
    }
    local += minutes(1);
  }
  return arrow::Status::Invalid("cron '", s.cron, "' never fires");
}

bool MissedSince(const ScheduleConfig& s, int64_t last_ms, int64_t now_ms) {
  if (s.every_ms > 0 || s.missed != ScheduleConfig::Missed::kRunOnce) return false;
  auto next = NextDue(s, last_ms);
  return next.ok() && *next <= now_ms;
}

std::string Describe(const ScheduleConfig& s) {
  if (s.every_ms > 0) {
    int64_t v = s.every_ms;
    if (v % 3600000 == 0) return "every " + std::to_string(v / 3600000) + "h";
    if (v % 60000 == 0) return "every " + std::to_string(v / 60000) + "m";
    if (v % 1000 == 0) return "every " + std::to_string(v / 1000) + "s";
    return "every " + std::to_string(v) + "ms";
  }
  return "cron " + s.cron + " (" + s.timezone + ")";
}

}  // namespace inlet::pipeline
