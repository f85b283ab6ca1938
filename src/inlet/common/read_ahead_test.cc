#include "inlet/common/read_ahead.h"

#include <atomic>

#include "inlet/testing/util.h"

namespace inlet {

TEST(ReadAhead, ItemsInOrderThenTheEnd) {
  int next = 0;
  ReadAhead<int> items(
      [&]() -> arrow::Result<std::optional<int>> {
        if (next == 100) return std::nullopt;
        return next++;
      },
      3);
  for (int i = 0; i < 100; ++i) {
    INLET_ASSIGN_OR_FAIL(auto item, items.Next());
    ASSERT_TRUE(item.has_value());
    EXPECT_EQ(*item, i);
  }
  INLET_ASSIGN_OR_FAIL(auto end, items.Next());
  EXPECT_FALSE(end.has_value());
}

TEST(ReadAhead, AnErrorComesAfterTheItemsBeforeIt) {
  int next = 0;
  ReadAhead<int> items(
      [&]() -> arrow::Result<std::optional<int>> {
        if (next == 2) return arrow::Status::IOError("disk gone");
        return next++;
      },
      4);
  EXPECT_EQ(*items.Next().ValueOrDie(), 0);
  EXPECT_EQ(*items.Next().ValueOrDie(), 1);
  EXPECT_TRUE(items.Next().status().IsIOError());
  EXPECT_TRUE(items.Next().status().IsIOError());
}

TEST(ReadAhead, MakesAtMostDepthItemsAheadAndStopsWhenDropped) {
  std::atomic<int> made{0};
  {
    ReadAhead<int> items([&]() -> arrow::Result<std::optional<int>> { return made++; },
                         2);
    EXPECT_EQ(*items.Next().ValueOrDie(), 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_LE(made.load(), 4);  // the one taken, two queued, one in hand
  }                             // an endless producer: destruction stops it
  int after = made.load();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(made.load(), after);
}

}  // namespace inlet
