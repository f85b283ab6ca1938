#include "inlet/common/time.h"

#include "inlet/testing/util.h"

namespace inlet {

TEST(Time, DatesRoundTrip) {
  for (int32_t d : {-719162, -1, 0, 1, 18993, 2932896}) {
    INLET_ASSIGN_OR_FAIL(int32_t back, ParseDate(FormatDate(d)));
    EXPECT_EQ(back, d) << FormatDate(d);
  }
  EXPECT_EQ(FormatDate(0), "1970-01-01");
  EXPECT_EQ(FormatDate(-1), "1969-12-31");
}

TEST(Time, RejectsInvalidDates) {
  EXPECT_FALSE(ParseDate("2024-02-30").ok());
  EXPECT_FALSE(ParseDate("2024-1-01").ok());
  EXPECT_FALSE(ParseDate("20299999999-01-01").ok());  // once an int overflow (fuzzing)
  EXPECT_FALSE(ParseTimestampMicros("-99999999999-01-01T00:00:00Z").ok());
  EXPECT_FALSE(ParseDate("yesterday").ok());
}

TEST(Time, TimestampFormats) {
  EXPECT_EQ(FormatTimestampIso(0), "1970-01-01T00:00:00.000000Z");
  EXPECT_EQ(FormatTimestampIso(-1), "1969-12-31T23:59:59.999999Z");
  EXPECT_EQ(FormatTimestampPlain(1500000), "1970-01-01 00:00:01.500000");
  EXPECT_EQ(FormatTimestampPlain(1000000), "1970-01-01 00:00:01");
  EXPECT_EQ(FormatTimestampMillisIso(-1), "1969-12-31T23:59:59.999Z");
}

TEST(Time, ParsesTimestampVariants) {
  INLET_ASSIGN_OR_FAIL(int64_t a, ParseTimestampMicros("2024-01-31T12:00:00Z"));
  INLET_ASSIGN_OR_FAIL(int64_t b, ParseTimestampMicros("2024-01-31 12:00:00"));
  INLET_ASSIGN_OR_FAIL(int64_t c, ParseTimestampMicros("2024-01-31T14:00:00+02:00"));
  INLET_ASSIGN_OR_FAIL(int64_t d, ParseTimestampMicros("2024-01-31T12:00:00.123456789Z"));
  INLET_ASSIGN_OR_FAIL(int64_t e, ParseTimestampMicros("2024-01-31"));
  EXPECT_EQ(a, 1706702400000000LL);
  EXPECT_EQ(a, b);
  EXPECT_EQ(a, c);
  EXPECT_EQ(d, a + 123456);
  EXPECT_EQ(e, a - 12LL * 3600 * 1000000);
  EXPECT_FALSE(ParseTimestampMicros("2024-01-31T25:00:00").ok());
  EXPECT_FALSE(ParseTimestampMicros("2024-01-31T12:00:00 junk").ok());
}

TEST(Time, ParsesIntervals) {
  INLET_ASSIGN_OR_FAIL(int64_t week, ParseIntervalMillis("interval 1 week"));
  EXPECT_EQ(week, 7LL * 24 * 3600 * 1000);
  INLET_ASSIGN_OR_FAIL(int64_t mixed, ParseIntervalMillis("INTERVAL 2 days 3 hours"));
  EXPECT_EQ(mixed, (2LL * 24 + 3) * 3600 * 1000);
  INLET_ASSIGN_OR_FAIL(int64_t bare, ParseIntervalMillis("30 seconds"));
  EXPECT_EQ(bare, 30000);
  INLET_ASSIGN_OR_FAIL(int64_t zero, ParseIntervalMillis("interval 0 hours"));
  EXPECT_EQ(zero, 0);
  EXPECT_FALSE(ParseIntervalMillis("interval").ok());
  EXPECT_FALSE(ParseIntervalMillis("interval 3 fortnights").ok());
  EXPECT_FALSE(ParseIntervalMillis("interval -1 day").ok());
  EXPECT_FALSE(ParseIntervalMillis("1 week 2").ok());
}

}  // namespace inlet
