#include "inlet/pipeline/schedule.h"

#include "inlet/testing/util.h"
#include "inlet/time.h"

namespace inlet::pipeline {

namespace {

int64_t Ms(const char* iso) { return ParseTimestampMicros(iso).ValueOrDie() / 1000; }

std::string Next(const std::string& cron, const std::string& zone, const char* after) {
  ScheduleConfig s;
  s.cron = cron;
  s.cron_spec = ParseCron(cron).ValueOrDie();
  s.timezone = zone;
  auto next = NextDue(s, Ms(after));
  if (!next.ok()) return next.status().message();
  return FormatTimestampMillisIso(*next);
}

}  // namespace

TEST(Schedule, CronFieldsAndNames) {
  INLET_ASSIGN_OR_FAIL(auto c, ParseCron("*/15 9-17 * JAN,jul MON-FRI"));
  EXPECT_TRUE(c.minutes.test(0) && c.minutes.test(45) && !c.minutes.test(5));
  EXPECT_TRUE(c.hours.test(9) && c.hours.test(17) && !c.hours.test(18));
  EXPECT_TRUE(c.months.test(1) && c.months.test(7) && !c.months.test(2));
  EXPECT_TRUE(c.weekdays.test(1) && c.weekdays.test(5) && !c.weekdays.test(0));
  EXPECT_TRUE(c.any_day);
  EXPECT_FALSE(c.any_weekday);
  INLET_ASSIGN_OR_FAIL(auto sunday, ParseCron("0 0 * * 7"));
  EXPECT_TRUE(sunday.weekdays.test(0));
  INLET_ASSIGN_OR_FAIL(auto stepped, ParseCron("5/20 * * * *"));
  EXPECT_TRUE(stepped.minutes.test(5) && stepped.minutes.test(25) &&
              stepped.minutes.test(45));
  EXPECT_EQ(stepped.minutes.count(), 3u);
  INLET_ASSIGN_OR_FAIL(auto daily, ParseCron("@daily"));
  EXPECT_EQ(daily.minutes.count(), 1u);
  EXPECT_EQ(daily.hours.count(), 1u);
}

TEST(Schedule, CronErrorsNameTheField) {
  EXPECT_NE(ParseCron("* * * *").status().message().find("five fields"),
            std::string::npos);
  EXPECT_NE(ParseCron("60 * * * *").status().message().find("minute"), std::string::npos);
  EXPECT_NE(ParseCron("* 24 * * *").status().message().find("hour"), std::string::npos);
  EXPECT_NE(ParseCron("* * 0 * *").status().message().find("day of month"),
            std::string::npos);
  EXPECT_NE(ParseCron("* * * FOO *").status().message().find("month"), std::string::npos);
  EXPECT_NE(ParseCron("*/0 * * * *").status().message().find("step"), std::string::npos);
  EXPECT_NE(ParseCron("5-1 * * * *").status().message().find("outside"),
            std::string::npos);
}

TEST(Schedule, NextCronTimes) {
  EXPECT_EQ(Next("*/15 * * * *", "UTC", "2024-05-01T10:07:30Z"),
            "2024-05-01T10:15:00.000Z");
  EXPECT_EQ(Next("*/15 * * * *", "UTC", "2024-05-01T10:15:00Z"),
            "2024-05-01T10:30:00.000Z");
  EXPECT_EQ(Next("0 0 1 * *", "UTC", "2024-01-31T12:00:00Z"), "2024-02-01T00:00:00.000Z");
  EXPECT_EQ(Next("0 12 29 2 *", "UTC", "2024-03-01T00:00:00Z"),
            "2028-02-29T12:00:00.000Z");
  // Day of month or day of week when both are restricted: the 13th, or any Friday.
  EXPECT_EQ(Next("0 0 13 * 5", "UTC", "2024-09-01T00:00:00Z"),
            "2024-09-06T00:00:00.000Z");
  // A field starting with '*' counts as unrestricted: odd days that are Mondays only.
  EXPECT_EQ(Next("0 0 */2 * 1", "UTC", "2024-09-01T00:00:00Z"),
            "2024-09-09T00:00:00.000Z");
  // In a time zone: 06:00 in Oslo is 04:00 UTC in summer, 05:00 in winter.
  EXPECT_EQ(Next("0 6 * * *", "Europe/Oslo", "2024-07-01T00:00:00Z"),
            "2024-07-01T04:00:00.000Z");
  EXPECT_EQ(Next("0 6 * * *", "Europe/Oslo", "2024-12-01T00:00:00Z"),
            "2024-12-01T05:00:00.000Z");
}

TEST(Schedule, DaylightSavingChanges) {
  // 2024-03-31: Oslo skips 02:00-03:00; 02:30 does not exist that day.
  EXPECT_EQ(Next("30 2 * * *", "Europe/Oslo", "2024-03-30T12:00:00Z"),
            "2024-04-01T00:30:00.000Z");
  // 2024-10-27: 02:30 happens twice; it fires once, the first time (CEST, 00:30 UTC).
  EXPECT_EQ(Next("30 2 * * *", "Europe/Oslo", "2024-10-26T12:00:00Z"),
            "2024-10-27T00:30:00.000Z");
  EXPECT_EQ(Next("30 2 * * *", "Europe/Oslo", "2024-10-27T00:30:00Z"),
            "2024-10-28T01:30:00.000Z");
}

TEST(Schedule, NeverFiringAndUnknownZones) {
  EXPECT_NE(Next("0 0 31 2 *", "UTC", "2024-01-01T00:00:00Z").find("never fires"),
            std::string::npos);
  EXPECT_FALSE(CheckTimeZone("Mars/Olympus").ok());
  EXPECT_TRUE(CheckTimeZone("America/New_York").ok());
}

TEST(Schedule, RunsMissedWhileDown) {
  ScheduleConfig s;
  s.cron = "0 6 * * *";
  s.cron_spec = ParseCron(s.cron).ValueOrDie();
  // Last committed yesterday at 06:00; now 07:00: today's 06:00 was missed.
  EXPECT_TRUE(MissedSince(s, Ms("2024-05-01T06:00:00Z"), Ms("2024-05-02T07:00:00Z")));
  // Committed today at 06:00; now 07:00: nothing missed.
  EXPECT_FALSE(MissedSince(s, Ms("2024-05-02T06:00:00Z"), Ms("2024-05-02T07:00:00Z")));
  s.missed = ScheduleConfig::Missed::kSkip;
  EXPECT_FALSE(MissedSince(s, Ms("2024-05-01T06:00:00Z"), Ms("2024-05-02T07:00:00Z")));
  ScheduleConfig every;
  every.every_ms = 60000;
  EXPECT_FALSE(MissedSince(every, 0, Ms("2024-05-02T07:00:00Z")));
}

TEST(Schedule, Intervals) {
  ScheduleConfig s;
  s.every_ms = 15 * 60000;
  EXPECT_EQ(NextDue(s, 1000).ValueOrDie(), 1000 + 15 * 60000);
  EXPECT_EQ(Describe(s), "every 15m");
}

}  // namespace inlet::pipeline
