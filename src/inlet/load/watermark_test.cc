#include "inlet/load/watermark.h"

#include "inlet/testing/util.h"

namespace inlet::load {

TEST(Watermark, LowestLoadableFollowsTheOptions) {
  WatermarkOptions o;
  o.cursor = "ts";
  INLET_ASSIGN_OR_FAIL(auto none, LowestLoadable("timestamp", std::nullopt, o));
  EXPECT_FALSE(none.has_value());
  INLET_ASSIGN_OR_FAIL(auto exclusive, LowestLoadable("integer", 10, o));
  EXPECT_EQ(exclusive, 11);
  o.inclusive = true;
  INLET_ASSIGN_OR_FAIL(auto inclusive, LowestLoadable("integer", 10, o));
  EXPECT_EQ(inclusive, 10);
  o.inclusive = false;
  o.lookback = 5;  // a plain number: a count for integers, seconds for timestamps
  INLET_ASSIGN_OR_FAIL(auto back, LowestLoadable("integer", 10, o));
  EXPECT_EQ(back, 6);
  INLET_ASSIGN_OR_FAIL(auto back_ts, LowestLoadable("timestamp", 100000000, o));
  EXPECT_EQ(back_ts, 100000000 - 5000000 + 1);
  o.lookback_has_unit = true;
  EXPECT_FALSE(LowestLoadable("integer", 10, o).ok());
}

TEST(Watermark, SkipsOnlyPartsBelowTheBound) {
  // (Whether the part is unchanged since it was marked is the source's to tell: see
  // FileSource.SkipsOnlyUnchangedMarkedFiles.)
  PartMark mark{50, false};
  EXPECT_TRUE(CanSkipPart(mark, 51, NullCursorPolicy::kFail));
  EXPECT_FALSE(CanSkipPart(mark, 50, NullCursorPolicy::kFail));  // 50 is still loadable
  EXPECT_FALSE(CanSkipPart(mark, std::nullopt, NullCursorPolicy::kFail));
  PartMark nulls{50, true};
  EXPECT_TRUE(CanSkipPart(nulls, 51, NullCursorPolicy::kExclude));
  EXPECT_FALSE(CanSkipPart(nulls, 51, NullCursorPolicy::kInclude));
  PartMark empty{std::nullopt, false};  // no cursor values at all
  EXPECT_TRUE(CanSkipPart(empty, 51, NullCursorPolicy::kFail));
}

}  // namespace inlet::load
