#include "inlet/common/time.h"
#include "inlet/delta/checkpoint_reader.h"
#include "inlet/delta/checkpoint_writer.h"
#include "inlet/delta/log_replay.h"
#include "inlet/testing/util.h"

namespace inlet::delta {

namespace {

AddFile FullAdd(int i) {
  AddFile a;
  a.path = "p=" + std::to_string(i % 3) + "/part%20" + std::to_string(i) + ".parquet";
  a.partition_values = {{"p", std::to_string(i % 3)}, {"q", std::nullopt}};
  a.size = 1000 + i;
  a.modification_time = 1700000000000 + i;
  a.data_change = false;  // checkpoints record every action with dataChange=false
  a.stats = R"({"numRecords":)" + std::to_string(i) + "}";
  if (i % 4 == 0) a.tags = {{"INSERTION_TIME", "1"}, {"note", "x"}};
  if (i % 5 == 0) {
    a.deletion_vector = DeletionVectorDescriptor{
        "u", "ab^-aqEH.-t@S}K{vb[*k^",
        i % 10 == 0 ? std::optional<int32_t>(1) : std::nullopt, 34, i};
  }
  if (i % 6 == 0) {
    a.base_row_id = i * 10;
    a.default_row_commit_version = 7;
  }
  if (i == 7) a.clustering_provider = "liquid";
  return a;
}

}  // namespace

// Checkpoints decode add and remove actions straight from their Arrow columns: every
// field must come back as written, nulls and absent optionals included.
TEST(Checkpoint, FileActionsRoundTripThroughTypedColumns) {
  testing::TempDir dir;
  INLET_ASSIGN_OR_FAIL(auto store, TableStore::Make(dir.path()));
  INLET_ASSERT_OK(store->CreateDir("_delta_log"));
  TableState state;
  state.version = 3;
  state.metadata.id = "id";
  state.metadata.schema_string = R"({"type":"struct","fields":[]})";
  state.metadata.partition_columns = {"p", "q"};
  for (int i = 0; i < 40; ++i) state.files.push_back(FullAdd(i));
  std::sort(state.files.begin(), state.files.end(),
            [](const AddFile& a, const AddFile& b) { return a.path < b.path; });
  RemoveFile gone;
  gone.path = "p=1/old.parquet";
  gone.deletion_timestamp = NowMillis();
  gone.data_change = false;
  gone.extended_file_metadata = true;
  gone.partition_values = {{"p", "1"}, {"q", std::nullopt}};
  gone.size = 77;
  gone.deletion_vector = DeletionVectorDescriptor{
      "i", "wi5b=000010000siXQKl0rr91000f55c8Xg0@@D72lkbi5=-{L", std::nullopt, 40, 6};
  RemoveFile bare;
  bare.path = "p=2/bare.parquet";
  bare.data_change = false;
  bare.deletion_timestamp = NowMillis();
  state.tombstones = {gone, bare};
  INLET_ASSIGN_OR_FAIL(int64_t bytes, WriteCheckpoint(*store, state));
  EXPECT_GT(bytes, 0);

  INLET_ASSIGN_OR_FAIL(auto listing, ListLog(*store, ListDetail::kNames));
  ASSERT_EQ(listing.checkpoints.size(), 1u);
  INLET_ASSIGN_OR_FAIL(auto actions, ReadCheckpoint(*store, listing.checkpoints[0]));
  ASSERT_EQ(actions.adds.size(), state.files.size());
  for (size_t i = 0; i < state.files.size(); ++i) {
    EXPECT_EQ(ToJson(actions.adds[i]), ToJson(state.files[i])) << i;
  }
  ASSERT_EQ(actions.removes.size(), 2u);
  EXPECT_EQ(ToJson(actions.removes[0]), ToJson(gone));
  EXPECT_EQ(ToJson(actions.removes[1]), ToJson(bare));
  ASSERT_TRUE(actions.metadata.has_value());
  EXPECT_EQ(actions.metadata->partition_columns, state.metadata.partition_columns);
}

// A listing by names only leaves sizes and times unknown; FileMtime looks them up.
TEST(Checkpoint, NamesOnlyListingLooksUpTimesOnDemand) {
  testing::TempDir dir;
  auto log = dir.Sub("_delta_log/");
  testing::WriteTextFile(log + "00000000000000000000.json", "{}");
  testing::WriteTextFile(log + "00000000000000000001.json", "{}");
  INLET_ASSIGN_OR_FAIL(auto store, TableStore::Make(dir.path()));
  INLET_ASSIGN_OR_FAIL(auto names, ListLog(*store, ListDetail::kNames));
  INLET_ASSIGN_OR_FAIL(auto full, ListLog(*store));
  ASSERT_EQ(names.commits.size(), 2u);
  EXPECT_EQ(names.commits[1].mtime_ms, -1);
  EXPECT_GT(full.commits[1].mtime_ms, 0);
  INLET_ASSIGN_OR_FAIL(int64_t mtime, FileMtime(*store, names.commits[1]));
  EXPECT_EQ(mtime, full.commits[1].mtime_ms);
}

}  // namespace inlet::delta
