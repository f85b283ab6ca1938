// Table::Delete and Table::Update against a model: rows in a std::map, changed where a
// random predicate holds (SQL semantics: a comparison with a null never holds).
#include <arrow/api.h>

#include <map>
#include <optional>
#include <random>

#include "inlet/table.h"
#include "inlet/testing/formats.h"
#include "inlet/testing/util.h"

namespace inlet {

namespace {

struct Row {
  int64_t p;
  std::optional<int64_t> v;
  bool operator==(const Row& o) const { return p == o.p && v == o.v; }
};

using Model = std::map<int64_t, Row>;

std::shared_ptr<arrow::Table> MakeRows(const Model& rows) {
  arrow::Int64Builder id, p, v;
  for (const auto& [k, r] : rows) {
    (void)id.Append(k);
    (void)p.Append(r.p);
    if (r.v) {
      (void)v.Append(*r.v);
    } else {
      (void)v.AppendNull();
    }
  }
  auto schema = arrow::schema({arrow::field("id", arrow::int64()),
                               arrow::field("p", arrow::int64()),
                               arrow::field("v", arrow::int64())});
  return arrow::Table::Make(schema, {id.Finish().ValueOrDie(), p.Finish().ValueOrDie(),
                                     v.Finish().ValueOrDie()});
}

Model ReadTable(const Table& table) {
  auto snap = table.GetSnapshot().ValueOrDie();
  auto rows = arrow::Table::FromRecordBatchReader(snap->Scan({}).ValueOrDie().get())
                  .ValueOrDie()
                  ->CombineChunks()
                  .ValueOrDie();
  Model out;
  if (rows->num_rows() == 0) return out;
  auto col = [&](const char* name) {
    return std::static_pointer_cast<arrow::Int64Array>(
        rows->GetColumnByName(name)->chunk(0));
  };
  auto id = col("id"), p = col("p"), v = col("v");
  for (int64_t i = 0; i < rows->num_rows(); ++i) {
    out[id->Value(i)] = Row{
        p->Value(i), v->IsNull(i) ? std::nullopt : std::optional<int64_t>(v->Value(i))};
  }
  return out;
}

class RowChanges : public ::testing::TestWithParam<testing::FormatUnderTest> {};

}  // namespace

// Rounds of random deletes and updates (on v, and on the partition column p, which moves
// rows), over tables written in several files, partitioned by p; copy-on-write and
// merge-on-read.
TEST_P(RowChanges, MatchTheModel) {
  for (int variant = 0; variant < 2; ++variant) {
    SCOPED_TRACE(variant == 0 ? "copy-on-write" : "merge-on-read");
    testing::TempDir dir;
    auto table = GetParam().create(dir.Sub("t")).ValueOrDie();
    std::mt19937 rng(7 + variant);
    Model model;
    for (int64_t k = 0; k < 300; ++k) {
      model[k] = Row{
          k % 4, rng() % 10 == 0 ? std::nullopt : std::optional<int64_t>(rng() % 100)};
    }
    for (int part = 0; part < 3; ++part) {
      Model slice;
      for (const auto& [k, r] : model) {
        if (k % 3 == part) slice[k] = r;
      }
      WriteOptions w;
      w.partition_by = {"p"};
      if (variant == 1) w.properties = GetParam().merge_on_read;
      auto rows = MakeRows(slice);
      INLET_ASSERT_OK(
          table->Write(std::make_shared<arrow::TableBatchReader>(rows), w).status());
    }
    for (int round = 0; round < 8; ++round) {
      int64_t bound = rng() % 100;
      int64_t p = rng() % 4;
      bool on_p = rng() % 2 == 0;
      std::string text =
          on_p ? "p = " + std::to_string(p) + " AND v > " + std::to_string(bound)
               : "v < " + std::to_string(bound);
      auto holds = [&](const Row& r) {
        return r.v && (on_p ? r.p == p && *r.v > bound : *r.v < bound);
      };
      int64_t expected = 0;
      UpdateOptions o;
      o.where = ParseConjunction(text).ValueOrDie();
      if (round % 2 == 0) {
        for (auto it = model.begin(); it != model.end();) {
          if (holds(it->second)) {
            ++expected;
            it = model.erase(it);
          } else {
            ++it;
          }
        }
        INLET_ASSIGN_OR_FAIL(auto r, table->Delete(o));
        EXPECT_EQ(r.rows_deleted, expected) << text;
        if (expected > 0) EXPECT_GT(variant == 1 ? r.files_marked : r.files_rewritten, 0);
      } else {
        int64_t new_p = rng() % 5;
        o.set = {{"p", std::to_string(new_p)}, {"v", std::nullopt}};
        if (round == 3) o.set = {{"v", std::to_string(round)}};
        for (auto& [k, r] : model) {
          if (!holds(r)) continue;
          ++expected;
          if (round == 3) {
            r.v = round;
          } else {
            r = Row{new_p, std::nullopt};
          }
        }
        INLET_ASSIGN_OR_FAIL(auto r, table->Update(o));
        EXPECT_EQ(r.rows_updated, expected) << text;
      }
      EXPECT_EQ(ReadTable(*table), model) << "round " << round << ": " << text;
    }
  }
}

TEST_P(RowChanges, RefuseWithoutAPredicateOrABadValue) {
  testing::TempDir dir;
  auto table = GetParam().create(dir.Sub("t")).ValueOrDie();
  auto rows = MakeRows({{1, Row{1, 5}}});
  INLET_ASSERT_OK(
      table->Write(std::make_shared<arrow::TableBatchReader>(rows), {}).status());
  UpdateOptions o;
  auto st = table->Delete(o).status();
  EXPECT_NE(st.message().find("no predicate"), std::string::npos) << st.ToString();
  o.every_row = true;
  o.set = {{"v", "x"}};
  st = table->Update(o).status();
  EXPECT_NE(st.message().find("cannot set 'v'"), std::string::npos) << st.ToString();
  o.set = {{"v", "1"}, {"v", "2"}};
  st = table->Update(o).status();
  EXPECT_NE(st.message().find("set twice"), std::string::npos) << st.ToString();
  EXPECT_EQ(table->GetSnapshot().ValueOrDie()->version(), 0);
  INLET_ASSIGN_OR_FAIL(auto r, table->Delete(o));
  EXPECT_EQ(r.rows_deleted, 1);
  EXPECT_TRUE(ReadTable(*table).empty());
}

INLET_FOR_EACH_FORMAT(RowChanges);

}  // namespace inlet
