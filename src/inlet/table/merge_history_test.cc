// History merges (SCD type 2) against an order-free model: a key's versions follow from
// the set of its changes sorted by sequence, whatever order and batches they arrived in.
#include <arrow/api.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>
#include <tuple>

#include "inlet/table.h"
#include "inlet/testing/formats.h"
#include "inlet/testing/merge.h"
#include "inlet/testing/util.h"

namespace inlet {

namespace {

struct Change {
  int64_t id;
  int64_t value;
  int64_t note;
  int64_t seq;
  bool deleted;
};

struct Version {
  int64_t id;
  int64_t value;
  int64_t note;
  int64_t seq;  // the sequence of the version's last change
  int64_t from;
  std::optional<int64_t> to;
  bool current;
  auto Tie() const { return std::tie(id, from, value, note, seq, to, current); }
  bool operator<(const Version& o) const { return Tie() < o.Tie(); }
  bool operator==(const Version& o) const { return Tie() == o.Tie(); }
};

std::ostream& operator<<(std::ostream& os, const Version& v) {
  return os << "{id " << v.id << " value " << v.value << " note " << v.note << " seq "
            << v.seq << " from " << v.from << " to "
            << (v.to ? std::to_string(*v.to) : "null") << (v.current ? " current" : "")
            << "}";
}

std::shared_ptr<arrow::Table> MakeChanges(const std::vector<Change>& changes) {
  arrow::Int64Builder id, p, value, note, seq;
  arrow::BooleanBuilder del;
  for (const auto& c : changes) {
    (void)id.Append(c.id);
    (void)p.Append(c.id % 3);
    (void)value.Append(c.value);
    (void)note.Append(c.note);
    (void)seq.Append(c.seq);
    (void)del.Append(c.deleted);
  }
  auto schema = arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("p", arrow::int64()),
       arrow::field("value", arrow::int64()), arrow::field("note", arrow::int64()),
       arrow::field("version", arrow::int64()),
       arrow::field("deleted", arrow::boolean())});
  return arrow::Table::Make(
      schema,
      {id.Finish().ValueOrDie(), p.Finish().ValueOrDie(), value.Finish().ValueOrDie(),
       note.Finish().ValueOrDie(), seq.Finish().ValueOrDie(), del.Finish().ValueOrDie()});
}

// The model: per key, changes in sequence order; an upsert whose tracked values equal the
// open version's updates it in place, any other starts a new version and closes the open
// one; a delete closes it.
std::vector<Version> HistoryModel(const std::vector<Change>& seen,
                                  bool track_value_only) {
  std::map<int64_t, std::vector<Change>> by_key;
  for (const auto& c : seen) by_key[c.id].push_back(c);
  std::vector<Version> out;
  for (auto& [id, changes] : by_key) {
    std::sort(changes.begin(), changes.end(),
              [](const Change& a, const Change& b) { return a.seq < b.seq; });
    std::optional<Version> open;
    for (const auto& c : changes) {
      if (c.deleted) {
        if (open) {
          open->to = c.seq;
          open->current = false;
          out.push_back(*open);
          open.reset();
        }
        continue;
      }
      bool same =
          open && open->value == c.value && (track_value_only || open->note == c.note);
      if (same) {
        open->note = c.note;
        open->seq = c.seq;
        continue;
      }
      if (open) {
        open->to = c.seq;
        open->current = false;
        out.push_back(*open);
      }
      open = Version{id, c.value, c.note, c.seq, c.seq, std::nullopt, true};
    }
    if (open) out.push_back(*open);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<Version> ReadHistory(const Table& table) {
  auto snap = table.GetSnapshot().ValueOrDie();
  auto rows =
      arrow::Table::FromRecordBatchReader(snap->Scan({}).ValueOrDie().get()).ValueOrDie();
  rows = rows->CombineChunks().ValueOrDie();
  std::vector<Version> out;
  if (rows->num_rows() == 0) return out;
  auto col = [&](const char* name) {
    return std::static_pointer_cast<arrow::Int64Array>(
        rows->GetColumnByName(name)->chunk(0));
  };
  auto id = col("id"), value = col("value"), note = col("note"), seq = col("version"),
       from = col("valid_from"), to = col("valid_to");
  auto current = std::static_pointer_cast<arrow::BooleanArray>(
      rows->GetColumnByName("is_current")->chunk(0));
  for (int64_t i = 0; i < rows->num_rows(); ++i) {
    out.push_back(Version{
        id->Value(i), value->Value(i), note->Value(i), seq->Value(i), from->Value(i),
        to->IsNull(i) ? std::nullopt : std::optional<int64_t>(to->Value(i)),
        current->Value(i)});
  }
  std::sort(out.begin(), out.end());
  return out;
}

MergeOptions HistoryMerge(bool track_value_only) {
  MergeOptions o;
  o.keys = {"id"};
  o.sequence_by = {"version"};
  o.delete_flag = "deleted";
  o.history.enabled = true;
  if (track_value_only) o.history.track_columns = {"value"};
  o.write.target_file_size = 1;  // one file per rewritten file: versions spread over many
  return o;
}

void ExpectHistory(const Table& table, const std::vector<Change>& seen,
                   bool track_value_only, int round) {
  auto model = HistoryModel(seen, track_value_only);
  auto actual = ReadHistory(table);
  ASSERT_EQ(actual.size(), model.size()) << "round " << round;
  for (size_t i = 0; i < model.size(); ++i)
    ASSERT_EQ(actual[i], model[i]) << "round " << round << " version " << i;
}

// Unique sequences arriving shuffled, keys recurring, deletes, distinct values (so every
// change is a version of its own): every arrival order must give the same history.
void RunOutOfOrderHistory(const testing::FormatUnderTest& format, bool partitioned,
                          int rounds, uint32_t seed) {
  testing::TempDir dir;
  auto table = format.create(dir.Sub("t")).ValueOrDie();
  std::mt19937 rng(seed);
  std::vector<int64_t> seqs = testing::ShuffledSequences(rounds * 40, rng);
  std::vector<Change> seen;
  size_t next = 0;
  for (int round = 0; round < rounds; ++round) {
    std::vector<Change> batch;
    for (int i = 0; i < 40; ++i) {
      int64_t seq = seqs[next++];
      batch.push_back(Change{static_cast<int64_t>(rng() % 20), seq * 10,
                             static_cast<int64_t>(rng() % 5), seq, rng() % 5 == 0});
    }
    MergeOptions o = HistoryMerge(false);
    if (partitioned) o.write.partition_by = {"p"};
    auto result = testing::MergeAfterDryRun(*table, dir.Sub("t"), MakeChanges(batch), o);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    seen.insert(seen.end(), batch.begin(), batch.end());
    ExpectHistory(*table, seen, false, round);
  }
}

class History : public ::testing::TestWithParam<testing::FormatUnderTest> {};

}  // namespace

TEST_P(History, LateChangesAreWovenIn) {
  RunOutOfOrderHistory(GetParam(), false, 12, 11);
}
TEST_P(History, LateChangesAreWovenInPartitioned) {
  RunOutOfOrderHistory(GetParam(), true, 12, 12);
}
// More rounds than tombstone files are kept: compaction must keep every delete.
TEST_P(History, SurvivesTombstoneCompaction) {
  RunOutOfOrderHistory(GetParam(), false, 30, 13);
}

// Changes of untracked columns update the current version in place (in-order batches,
// shuffled inside each batch).
TEST_P(History, UntrackedChangesUpdateInPlace) {
  testing::TempDir dir;
  auto table = GetParam().create(dir.Sub("t")).ValueOrDie();
  std::mt19937 rng(21);
  std::vector<Change> seen;
  int64_t seq = 0;
  for (int round = 0; round < 10; ++round) {
    std::vector<Change> batch;
    for (int i = 0; i < 30; ++i) {
      batch.push_back(Change{static_cast<int64_t>(rng() % 10),
                             static_cast<int64_t>(rng() % 3),
                             static_cast<int64_t>(rng() % 100), ++seq, rng() % 8 == 0});
    }
    std::shuffle(batch.begin(), batch.end(), rng);
    auto result = table->Merge(MakeChanges(batch), HistoryMerge(true));
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    seen.insert(seen.end(), batch.begin(), batch.end());
    ExpectHistory(*table, seen, true, round);
  }
}

TEST_P(History, CountsAndReplays) {
  testing::TempDir dir;
  auto table = GetParam().create(dir.Sub("t")).ValueOrDie();
  auto o = HistoryMerge(false);
  INLET_ASSIGN_OR_FAIL(
      auto r, table->Merge(MakeChanges({{1, 10, 0, 1, false}, {2, 20, 0, 2, false}}), o));
  EXPECT_EQ(r.rows_inserted, 2);
  EXPECT_EQ(r.rows_updated, 0);
  // An update closes key 1's version and opens another; a delete closes key 2's.
  INLET_ASSIGN_OR_FAIL(
      r, table->Merge(MakeChanges({{1, 11, 0, 3, false}, {2, 0, 0, 4, true}}), o));
  EXPECT_EQ(r.rows_inserted, 1);
  EXPECT_EQ(r.rows_updated, 2);
  EXPECT_EQ(r.rows_deleted, 1);
  auto before = ReadHistory(*table);
  ASSERT_EQ(before.size(), 3u);
  // The same changes again are replays: nothing changes.
  INLET_ASSIGN_OR_FAIL(
      r,
      table->Merge(
          MakeChanges({{1, 11, 0, 3, false}, {2, 0, 0, 4, true}, {1, 10, 0, 1, false}}),
          o));
  EXPECT_EQ(r.late_discarded, 3);
  EXPECT_EQ(r.rows_inserted + r.rows_updated + r.files_rewritten, 0);
  EXPECT_EQ(ReadHistory(*table), before);
  // An insert of key 3 arriving after its delete is remembered as closed at the delete.
  INLET_ASSERT_OK(table->Merge(MakeChanges({{3, 0, 0, 9, true}}), o).status());
  INLET_ASSERT_OK(table->Merge(MakeChanges({{3, 30, 0, 7, false}}), o).status());
  auto after = ReadHistory(*table);
  auto it = std::find_if(after.begin(), after.end(),
                         [](const Version& v) { return v.id == 3; });
  ASSERT_NE(it, after.end());
  EXPECT_EQ(it->from, 7);
  EXPECT_EQ(it->to, std::optional<int64_t>(9));
  EXPECT_FALSE(it->current);
}

// A version copied from a snapshot (the marker sequence column 0) shows every change of
// its key ordered before it: those are late. Keys copied at an earlier snapshot (0, 0)
// take their changes as versions.
// (id, value, valid_from.version, valid_from.note, current) of every version, sorted.
using TwoPartVersions = std::vector<std::tuple<int64_t, int64_t, int64_t, int64_t, bool>>;
static TwoPartVersions VersionsByTwo(const Table& table) {
  auto snap = table.GetSnapshot().ValueOrDie();
  auto rows =
      arrow::Table::FromRecordBatchReader(snap->Scan({}).ValueOrDie().get()).ValueOrDie();
  rows = rows->CombineChunks().ValueOrDie();
  auto num = [&](const char* name) {
    return std::static_pointer_cast<arrow::Int64Array>(
        rows->GetColumnByName(name)->chunk(0));
  };
  auto id = num("id"), value = num("value");
  auto from = std::static_pointer_cast<arrow::StructArray>(
      rows->GetColumnByName("valid_from")->chunk(0));
  auto from_version = std::static_pointer_cast<arrow::Int64Array>(from->field(0));
  auto from_note = std::static_pointer_cast<arrow::Int64Array>(from->field(1));
  auto current = std::static_pointer_cast<arrow::BooleanArray>(
      rows->GetColumnByName("is_current")->chunk(0));
  TwoPartVersions got;
  for (int64_t i = 0; i < rows->num_rows(); ++i) {
    got.emplace_back(id->Value(i), value->Value(i), from_version->Value(i),
                     from_note->Value(i), current->Value(i));
  }
  std::sort(got.begin(), got.end());
  return got;
}

// A version copied from a snapshot (the marker sequence column 0) shows every change of
// its key ordered before it: those are late. Keys copied at an earlier snapshot (0, 0)
// take their changes as versions. The same whether the copy is in the table already or
// arrives with the changes.
TEST_P(History, ChangesBeforeASnapshotCopyAreLate) {
  testing::TempDir dir;
  auto o = HistoryMerge(false);
  o.sequence_by = {"version", "note"};
  o.history.snapshot_marker = "note";
  // Key 2 from the first snapshot (0, 0); key 1 from a later one, taken at 50.
  std::vector<Change> copies = {{2, 20, 0, 0, false}, {1, 500, 0, 50, false}};
  std::vector<Change> changes = {{1, 100, 1, 10, false},
                                 {1, 0, 3, 20, true},
                                 {1, 200, 2, 60, false},
                                 {2, 21, 1, 5, false}};
  TwoPartVersions want = {{1, 200, 60, 2, true},
                          {1, 500, 50, 0, false},
                          {2, 20, 0, 0, false},
                          {2, 21, 5, 1, true}};
  auto table = GetParam().create(dir.Sub("t")).ValueOrDie();
  INLET_ASSERT_OK(table->Merge(MakeChanges(copies), o).status());
  INLET_ASSIGN_OR_FAIL(auto r, table->Merge(MakeChanges(changes), o));
  EXPECT_EQ(r.late_discarded, 2);
  EXPECT_EQ(VersionsByTwo(*table), want);
  // One batch holding the copies and the changes.
  auto together = GetParam().create(dir.Sub("u")).ValueOrDie();
  std::vector<Change> all = changes;
  all.insert(all.end(), copies.begin(), copies.end());
  INLET_ASSIGN_OR_FAIL(r, together->Merge(MakeChanges(all), o));
  EXPECT_EQ(r.late_discarded, 2);
  EXPECT_EQ(VersionsByTwo(*together), want);
}

TEST_P(History, RefusesWhatItCannotKeep) {
  testing::TempDir dir;
  auto o = HistoryMerge(false);
  // A table that keeps current rows only.
  auto plain = GetParam().create(dir.Sub("plain")).ValueOrDie();
  MergeOptions current = o;
  current.history.enabled = false;
  INLET_ASSERT_OK(plain->Merge(MakeChanges({{1, 1, 0, 1, false}}), current).status());
  auto st = plain->Merge(MakeChanges({{1, 2, 0, 2, false}}), o).status();
  EXPECT_NE(st.message().find("no history column 'valid_from'"), std::string::npos)
      << st.ToString();
  // Truncates; a source column named like a history column; a tracked key.
  auto table = GetParam().create(dir.Sub("t")).ValueOrDie();
  auto changes = MakeChanges({{1, 1, 0, 1, false}});
  arrow::BooleanBuilder t;
  INLET_ASSERT_OK(t.Append(true));
  auto with_truncate =
      changes
          ->AddColumn(6, arrow::field("truncated", arrow::boolean()),
                      std::make_shared<arrow::ChunkedArray>(t.Finish().ValueOrDie()))
          .ValueOrDie();
  MergeOptions truncating = o;
  truncating.truncate_flag = "truncated";
  st = table->Merge(with_truncate, truncating).status();
  EXPECT_NE(st.message().find("truncate events cannot be applied"), std::string::npos)
      << st.ToString();
  MergeOptions clash = o;
  clash.history.valid_from = "note";
  st = table->Merge(changes, clash).status();
  EXPECT_NE(st.message().find("the source has a column 'note'"), std::string::npos)
      << st.ToString();
  MergeOptions tracked_key = o;
  tracked_key.history.track_columns = {"id"};
  st = table->Merge(changes, tracked_key).status();
  EXPECT_NE(st.message().find("is a key or sequence column"), std::string::npos)
      << st.ToString();
  EXPECT_FALSE(table->GetSnapshot().ok());  // nothing was created
  // A history table refuses a current-state merge.
  INLET_ASSERT_OK(table->Merge(changes, o).status());
  st = table->Merge(MakeChanges({{1, 2, 0, 2, false}}), current).status();
  EXPECT_NE(st.message().find("keeps history"), std::string::npos) << st.ToString();
}

INLET_FOR_EACH_FORMAT(History);

}  // namespace inlet
