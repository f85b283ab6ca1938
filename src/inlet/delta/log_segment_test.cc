#include "inlet/delta/log_segment.h"

#include <arrow/buffer.h>

#include "inlet/testing/util.h"

namespace inlet::delta {

namespace {

std::string Name(int64_t v, const std::string& suffix) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%020lld", static_cast<long long>(v));
  return std::string(buf) + suffix;
}

}  // namespace

TEST(LogSegment, PicksNewestCompleteCheckpoint) {
  testing::TempDir dir;
  auto log = dir.Sub("_delta_log/");
  for (int v = 0; v <= 12; ++v) testing::WriteTextFile(log + Name(v, ".json"), "{}");
  testing::WriteTextFile(log + Name(5, ".checkpoint.parquet"), "x");
  // An incomplete multi-part checkpoint (part 2 of 2 missing) must be ignored.
  testing::WriteTextFile(log + Name(10, ".checkpoint.0000000001.0000000002.parquet"),
                         "x");
  testing::WriteTextFile(log + ".00000000000000000013.json.abc.tmp", "partial");
  testing::WriteTextFile(log + "_last_checkpoint", "{}");
  INLET_ASSIGN_OR_FAIL(auto store, TableStore::Make(dir.path()));
  INLET_ASSIGN_OR_FAIL(auto listing, ListLog(*store));
  EXPECT_EQ(listing.commits.size(), 13u);
  ASSERT_EQ(listing.checkpoints.size(), 1u);
  EXPECT_EQ(listing.checkpoints[0].version, 5);

  INLET_ASSIGN_OR_FAIL(auto latest, BuildSegment(listing, std::nullopt));
  EXPECT_EQ(latest.version, 12);
  ASSERT_TRUE(latest.checkpoint.has_value());
  EXPECT_EQ(latest.commits.front().version, 6);
  INLET_ASSIGN_OR_FAIL(auto early, BuildSegment(listing, 3));
  EXPECT_FALSE(early.checkpoint.has_value());
  EXPECT_EQ(early.commits.size(), 4u);
  EXPECT_FALSE(BuildSegment(listing, 13).ok());
}

TEST(LogSegment, DetectsGapsAndMissingTables) {
  testing::TempDir dir;
  auto log = dir.Sub("_delta_log/");
  for (int v : {0, 1, 3}) testing::WriteTextFile(log + Name(v, ".json"), "{}");
  INLET_ASSIGN_OR_FAIL(auto store, TableStore::Make(dir.path()));
  INLET_ASSIGN_OR_FAIL(auto listing, ListLog(*store));
  auto st = BuildSegment(listing, std::nullopt).status();
  EXPECT_NE(st.message().find("commit 2 is missing"), std::string::npos) << st.ToString();

  testing::TempDir empty;
  INLET_ASSIGN_OR_FAIL(auto store2, TableStore::Make(empty.path()));
  auto st2 = ListLog(*store2).status();
  EXPECT_NE(st2.message().find("not a Delta table"), std::string::npos) << st2.ToString();
}

TEST(TableStore, PutIfAbsentNeverOverwrites) {
  testing::TempDir dir;
  INLET_ASSIGN_OR_FAIL(auto store, TableStore::Make(dir.path()));
  INLET_ASSERT_OK(store->CreateDir("_delta_log"));
  INLET_ASSIGN_OR_FAIL(bool first, store->PutIfAbsent("_delta_log/x.json", "one"));
  INLET_ASSIGN_OR_FAIL(bool second, store->PutIfAbsent("_delta_log/x.json", "two"));
  EXPECT_TRUE(first);
  EXPECT_FALSE(second);
  INLET_ASSIGN_OR_FAIL(auto buf, store->ReadFile("_delta_log/x.json"));
  EXPECT_EQ(buf->ToString(), "one");
  INLET_ASSIGN_OR_FAIL(auto entries, store->List("_delta_log"));
  EXPECT_EQ(entries.size(), 1u);  // no temporary files left behind
}

}  // namespace inlet::delta
