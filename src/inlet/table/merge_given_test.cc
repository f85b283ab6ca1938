// Partial updates row by row (MergeOptions::given_flags) against a model: a std::map from
// key to row, where an upsert sets only the columns it gives and a new row gets null for
// the others.
#include <arrow/api.h>

#include <algorithm>
#include <map>
#include <optional>
#include <random>

#include "inlet/table.h"
#include "inlet/testing/formats.h"
#include "inlet/testing/merge.h"
#include "inlet/testing/util.h"

namespace inlet {

namespace {

using Value = std::optional<int64_t>;

struct Change {
  int64_t id;
  int64_t a, b;  // the values (written whether given or not)
  bool a_given, b_given;
  int64_t version;
  bool deleted;
};

struct Row {
  Value a, b;
  bool operator==(const Row& o) const { return a == o.a && b == o.b; }
};

using Model = std::map<int64_t, Row>;

void Apply(const Change& c, Model* m) {
  if (c.deleted) {
    m->erase(c.id);
    return;
  }
  auto it = m->find(c.id);
  Row row = it == m->end() ? Row{} : it->second;
  if (c.a_given) row.a = c.a;
  if (c.b_given) row.b = c.b;
  (*m)[c.id] = row;
}

std::shared_ptr<arrow::Table> MakeChanges(const std::vector<Change>& changes) {
  arrow::Int64Builder id, a, b, version;
  arrow::BooleanBuilder a_given, b_given, del;
  for (const auto& c : changes) {
    (void)id.Append(c.id);
    (void)a.Append(c.a);
    (void)b.Append(c.b);
    (void)a_given.Append(c.a_given);
    (void)b_given.Append(c.b_given);
    (void)version.Append(c.version);
    (void)del.Append(c.deleted);
  }
  auto schema = arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("a", arrow::int64()),
       arrow::field("b", arrow::int64()), arrow::field("version", arrow::int64()),
       arrow::field("deleted", arrow::boolean()), arrow::field("a?", arrow::boolean()),
       arrow::field("b?", arrow::boolean())});
  return arrow::Table::Make(
      schema, {id.Finish().ValueOrDie(), a.Finish().ValueOrDie(), b.Finish().ValueOrDie(),
               version.Finish().ValueOrDie(), del.Finish().ValueOrDie(),
               a_given.Finish().ValueOrDie(), b_given.Finish().ValueOrDie()});
}

Model ReadTable(const Table& table) {
  auto snap = table.GetSnapshot().ValueOrDie();
  auto rows =
      arrow::Table::FromRecordBatchReader(snap->Scan({}).ValueOrDie().get()).ValueOrDie();
  rows = rows->CombineChunks().ValueOrDie();
  Model out;
  if (rows->num_rows() == 0) return out;
  EXPECT_EQ(rows->schema()->GetFieldIndex("a?"), -1) << "a flag column was written";
  auto col = [&](const char* name) {
    return std::static_pointer_cast<arrow::Int64Array>(
        rows->GetColumnByName(name)->chunk(0));
  };
  auto id = col("id"), a = col("a"), b = col("b");
  auto value = [](const arrow::Int64Array& c, int64_t i) {
    return c.IsNull(i) ? Value() : Value(c.Value(i));
  };
  for (int64_t i = 0; i < rows->num_rows(); ++i) {
    EXPECT_EQ(out.count(id->Value(i)), 0u) << "key " << id->Value(i) << " appears twice";
    out[id->Value(i)] = Row{value(*a, i), value(*b, i)};
  }
  return out;
}

class GivenColumns : public ::testing::TestWithParam<testing::FormatUnderTest> {};

}  // namespace

// Random batches of upserts giving some columns, and deletes, several per key: within a
// batch a key's rows fold in order (not across a delete), and a matched row keeps what
// the batch does not give. Copy-on-write, merge-on-read, and sequenced (shuffled within
// each batch, ordered by version).
TEST_P(GivenColumns, FoldInOrderAndKeepTheTablesValues) {
  for (int variant = 0; variant < 3; ++variant) {
    SCOPED_TRACE(variant == 0   ? "copy-on-write"
                 : variant == 1 ? "merge-on-read"
                                : "sequenced");
    testing::TempDir dir;
    auto table = GetParam().create(dir.Sub("t")).ValueOrDie();
    std::mt19937 rng(31 + variant);
    Model model;
    int64_t version = 0;
    for (int round = 0; round < 12; ++round) {
      std::vector<Change> batch;
      for (int i = 0; i < 30; ++i) {
        ++version;
        batch.push_back(Change{static_cast<int64_t>(rng() % 8), version * 10,
                               version * 10 + 1, rng() % 3 != 0, rng() % 3 != 0, version,
                               rng() % 7 == 0});
      }
      for (const auto& c : batch) Apply(c, &model);
      if (variant == 2) std::shuffle(batch.begin(), batch.end(), rng);
      MergeOptions o;
      o.keys = {"id"};
      o.delete_flag = "deleted";
      o.given_flags = {{"a", "a?"}, {"b", "b?"}};
      if (variant == 1 && round == 0) o.write.properties = GetParam().merge_on_read;
      if (variant == 2) o.sequence_by = {"version"};
      auto r = testing::MergeAfterDryRun(*table, dir.Sub("t"), MakeChanges(batch), o);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      Model actual = ReadTable(*table);
      ASSERT_EQ(actual.size(), model.size()) << "round " << round;
      for (const auto& [id, row] : model) {
        ASSERT_TRUE(actual.count(id)) << "round " << round << " key " << id;
        EXPECT_EQ(actual[id].a, row.a) << "round " << round << " key " << id;
        EXPECT_EQ(actual[id].b, row.b) << "round " << round << " key " << id;
      }
    }
  }
}

// In a sequenced merge a value folded from an earlier row of the batch applies only when
// that row is newer than the table's row, and never from before the key's remembered
// delete.
TEST_P(GivenColumns, AFoldedValueOlderThanTheTableDoesNotApply) {
  testing::TempDir dir;
  auto table = GetParam().create(dir.Sub("t")).ValueOrDie();
  MergeOptions o;
  o.keys = {"id"};
  o.delete_flag = "deleted";
  o.sequence_by = {"version"};
  o.given_flags = {{"a", "a?"}, {"b", "b?"}};
  // Key 1 holds a=60 at version 6; key 2 is inserted at 1 and deleted at 6.
  INLET_ASSERT_OK(table
                      ->Merge(MakeChanges({{1, 60, 61, true, true, 6, false},
                                           {2, 10, 11, true, true, 1, false}}),
                              o)
                      .status());
  INLET_ASSERT_OK(
      table->Merge(MakeChanges({{2, 0, 0, false, false, 6, true}}), o).status());
  // Each key: a row at 5 giving a, then one at 7 lacking a (and giving b).
  INLET_ASSIGN_OR_FAIL(auto r,
                       table->Merge(MakeChanges({{1, 50, 51, true, true, 5, false},
                                                 {1, 0, 71, false, true, 7, false},
                                                 {2, 50, 51, true, true, 5, false},
                                                 {2, 0, 71, false, true, 7, false}}),
                                    o));
  Model m = ReadTable(*table);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[1].a, Value(60)) << "an older batch row's value overwrote the table's";
  EXPECT_EQ(m[1].b, Value(71));
  EXPECT_EQ(m[2].a, Value()) << "a value from before the key's delete came back";
  EXPECT_EQ(m[2].b, Value(71));
}

// History: of two changes at one sequence the later source row is kept; a column it lacks
// comes from the earlier one (as an upsert's batch folds), not from a discarded row.
TEST_P(GivenColumns, HistoryDuplicatesAtOneSequenceFold) {
  testing::TempDir dir;
  auto table = GetParam().create(dir.Sub("t")).ValueOrDie();
  MergeOptions o;
  o.keys = {"id"};
  o.sequence_by = {"version"};
  o.delete_flag = "deleted";
  o.history.enabled = true;
  o.given_flags = {{"a", "a?"}, {"b", "b?"}};
  INLET_ASSERT_OK(table
                      ->Merge(MakeChanges({{1, 10, 11, true, true, 1, false},
                                           {1, 0, 12, false, true, 1, false},
                                           {1, 0, 22, false, true, 2, false}}),
                              o)
                      .status());
  auto snap = table->GetSnapshot().ValueOrDie();
  auto rows = arrow::Table::FromRecordBatchReader(snap->Scan({}).ValueOrDie().get())
                  .ValueOrDie()
                  ->CombineChunks()
                  .ValueOrDie();
  auto a =
      std::static_pointer_cast<arrow::Int64Array>(rows->GetColumnByName("a")->chunk(0));
  ASSERT_GT(rows->num_rows(), 0);
  for (int64_t i = 0; i < rows->num_rows(); ++i) {
    ASSERT_TRUE(a->IsValid(i)) << "version " << i << " lost a";
    EXPECT_EQ(a->Value(i), 10);
  }
}

// History (SCD type 2): a change lacking a column holds the value of the key's previous
// version (none after a delete: null), in-order batches shuffled within each batch.
TEST_P(GivenColumns, HistoryTakesThePreviousVersionsValue) {
  testing::TempDir dir;
  auto table = GetParam().create(dir.Sub("t")).ValueOrDie();
  std::mt19937 rng(41);
  std::map<int64_t, std::vector<Change>> seen;  // by key, in version order
  int64_t version = 0;
  for (int round = 0; round < 8; ++round) {
    std::vector<Change> batch;
    for (int i = 0; i < 25; ++i) {
      ++version;
      // a changes rarely (tracked: a new version); b often (a version updated in place
      // when only b changes).
      int64_t id = static_cast<int64_t>(rng() % 6);
      batch.push_back(Change{id, static_cast<int64_t>(rng() % 2), version, rng() % 3 != 0,
                             rng() % 3 != 0, version, rng() % 9 == 0});
      seen[id].push_back(batch.back());
    }
    std::shuffle(batch.begin(), batch.end(), rng);
    MergeOptions o;
    o.keys = {"id"};
    o.sequence_by = {"version"};
    o.delete_flag = "deleted";
    o.history.enabled = true;
    o.history.track_columns = {"a"};
    o.given_flags = {{"a", "a?"}, {"b", "b?"}};
    auto r = testing::MergeAfterDryRun(*table, dir.Sub("t"), MakeChanges(batch), o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
  }
  // The model: each key's changes filled from the previous upsert, then versions by a.
  struct Version {
    Value a, b;
    int64_t from;
    std::optional<int64_t> to;
    bool operator==(const Version& o) const {
      return a == o.a && b == o.b && from == o.from && to == o.to;
    }
  };
  std::map<int64_t, std::vector<Version>> expected;
  for (const auto& [id, changes] : seen) {
    std::optional<Row> previous;
    std::optional<Version> open;
    auto& out = expected[id];
    for (const auto& c : changes) {
      if (c.deleted) {
        previous.reset();
        if (open) {
          open->to = c.version;
          out.push_back(*open);
          open.reset();
        }
        continue;
      }
      Row row;
      row.a = c.a_given ? Value(c.a) : previous ? previous->a : Value();
      row.b = c.b_given ? Value(c.b) : previous ? previous->b : Value();
      previous = row;
      if (open && open->a == row.a) {
        open->b = row.b;  // untracked: updated in place
        continue;
      }
      if (open) {
        open->to = c.version;
        out.push_back(*open);
      }
      open = Version{row.a, row.b, c.version, std::nullopt};
    }
    if (open) out.push_back(*open);
  }
  auto snap = table->GetSnapshot().ValueOrDie();
  auto rows = arrow::Table::FromRecordBatchReader(snap->Scan({}).ValueOrDie().get())
                  .ValueOrDie()
                  ->CombineChunks()
                  .ValueOrDie();
  std::map<int64_t, std::vector<Version>> actual;
  auto col = [&](const char* name) {
    return std::static_pointer_cast<arrow::Int64Array>(
        rows->GetColumnByName(name)->chunk(0));
  };
  auto id = col("id"), a = col("a"), b = col("b"), from = col("valid_from"),
       to = col("valid_to");
  auto value = [](const arrow::Int64Array& c, int64_t i) {
    return c.IsNull(i) ? Value() : Value(c.Value(i));
  };
  for (int64_t i = 0; i < rows->num_rows(); ++i) {
    actual[id->Value(i)].push_back(
        Version{value(*a, i), value(*b, i), from->Value(i), value(*to, i)});
  }
  for (auto& [k, versions] : actual) {
    std::sort(versions.begin(), versions.end(),
              [](const Version& x, const Version& y) { return x.from < y.from; });
  }
  for (auto it = expected.begin(); it != expected.end();) {
    it = it->second.empty() ? expected.erase(it) : std::next(it);
  }
  ASSERT_EQ(actual.size(), expected.size());
  for (const auto& [k, versions] : expected) {
    ASSERT_EQ(actual[k].size(), versions.size()) << "key " << k;
    for (size_t v = 0; v < versions.size(); ++v) {
      const auto& x = actual[k][v];
      const auto& y = versions[v];
      EXPECT_TRUE(x == y) << "key " << k << " version " << v << ": a " << x.a.value_or(-1)
                          << "/" << y.a.value_or(-1) << " b " << x.b.value_or(-1) << "/"
                          << y.b.value_or(-1) << " from " << x.from << "/" << y.from
                          << " to " << x.to.value_or(-1) << "/" << y.to.value_or(-1);
    }
  }
}

INLET_FOR_EACH_FORMAT(GivenColumns);

}  // namespace inlet
