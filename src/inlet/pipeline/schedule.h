// When `inlet serve` runs a pipeline: every fixed interval, or at the times of a cron
// expression in a time zone (IANA names, through Howard Hinnant's date library and the
// system's tz database). The cron parser is inlet's own (Debian packages no C++ one); it
// takes the five fields of Vixie cron and POSIX crontab(5).
#pragma once

#include <arrow/result.h>

#include <bitset>
#include <cstdint>
#include <string>

namespace inlet::pipeline {

/// A parsed cron expression: the minutes, hours, days of the month, months and days of
/// the week it fires at.
struct CronSpec {
  std::bitset<60> minutes;
  std::bitset<24> hours;
  std::bitset<32> days;     // 1..31
  std::bitset<13> months;   // 1..12
  std::bitset<7> weekdays;  // 0 = Sunday
  /// Whether the day-of-month / day-of-week field starts with '*': when neither does, a
  /// day matches when either matches (crontab(5)); otherwise when both do.
  bool any_day = true;
  bool any_weekday = true;
};

/// "minute hour day-of-month month day-of-week", each field '*', a number, a range
/// (1-5), a list (1,15), a step (*/15, 0-30/10); months JAN-DEC and days SUN-SAT by name
/// too, 7 for Sunday; or @hourly, @daily (@midnight), @weekly, @monthly, @yearly
/// (@annually). Invalid names the field and what is wrong with it.
arrow::Result<CronSpec> ParseCron(const std::string& text);

/// What `inlet serve` does with a pipeline of a bounded source (schedule:).
struct ScheduleConfig {
  /// Exactly one of the two: a fixed interval (the first run when serve starts), or a
  /// cron expression in `timezone`.
  int64_t every_ms = 0;
  std::string cron;
  CronSpec cron_spec;
  std::string timezone = "UTC";
  /// Each run starts up to this much later than due, at random (spreads the load of many
  /// pipelines due at the same minute).
  int64_t jitter_ms = 0;
  /// A run that comes due while the pipeline's previous run is still going: run_once
  /// starts one run as soon as it ends (however many came due), skip waits for the next
  /// due time.
  enum class Missed { kRunOnce, kSkip };
  Missed missed = Missed::kRunOnce;
  /// A failed run is tried again this many times, after retry_backoff, doubling (unless
  /// the next regular run comes first).
  int retries = 0;
  int64_t retry_backoff_ms = 60000;
};

/// Whether the time zone is known to the tz database; Invalid naming it otherwise.
arrow::Status CheckTimeZone(const std::string& name);

/// The first time after after_ms (milliseconds since 1970, UTC) at which the schedule is
/// due, without jitter. A cron time that a daylight-saving change skips in the zone is
/// skipped; one it repeats fires once, the first time.
arrow::Result<int64_t> NextDue(const ScheduleConfig& schedule, int64_t after_ms);

/// Whether a cron schedule came due between the pipeline's last commit (last_ms) and
/// now_ms: a run serve was down for, made up once when it starts (missed: run_once).
/// Intervals start with a run anyway: false.
bool MissedSince(const ScheduleConfig& schedule, int64_t last_ms, int64_t now_ms);

/// "every 15m" or "cron */15 * * * * (Europe/Oslo)", for status displays.
std::string Describe(const ScheduleConfig& schedule);

}  // namespace inlet::pipeline
