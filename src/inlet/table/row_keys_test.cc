#include "inlet/table/row_keys.h"

#include <arrow/api.h>
#include <arrow/json/from_string.h>

#include <algorithm>
#include <limits>
#include <numeric>
#include <random>
#include <unordered_map>

#include "inlet/testing/util.h"

namespace inlet {

namespace {

std::shared_ptr<arrow::Table> Make(
    const std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>>& cols,
    const std::vector<std::string>& json) {
  arrow::FieldVector fields;
  arrow::ArrayVector arrays;
  for (size_t i = 0; i < cols.size(); ++i) {
    fields.push_back(arrow::field(cols[i].first, cols[i].second));
    arrays.push_back(
        arrow::json::ArrayFromJSONString(cols[i].second, json[i]).ValueOrDie());
  }
  return arrow::Table::Make(arrow::schema(fields), arrays);
}

// The row order OrderedKeys gives, as row numbers.
std::vector<int> Order(const arrow::Table& t, const std::vector<std::string>& columns) {
  auto keys = OrderedKeys(t, columns).ValueOrDie();
  std::vector<int> idx(keys.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(),
                   [&](int a, int b) { return keys[a] < keys[b]; });
  return idx;
}

}  // namespace

TEST(OrderedKeys, OrdersSignedIntegersAndNullsFirst) {
  auto t = Make({{"x", arrow::int64()}},
                {"[5, -3, null, 0, -9223372036854775808, 9223372036854775807]"});
  EXPECT_EQ(Order(*t, {"x"}), (std::vector<int>{2, 4, 1, 3, 0, 5}));
}

TEST(OrderedKeys, WidenedIntegersKeepTheirBytes) {
  auto narrow = Make({{"x", arrow::int32()}}, {"[-7, 12]"});
  auto wide = Make({{"x", arrow::int64()}}, {"[-7, 12]"});
  EXPECT_EQ(OrderedKeys(*narrow, {"x"}).ValueOrDie(),
            OrderedKeys(*wide, {"x"}).ValueOrDie());
}

TEST(OrderedKeys, OrdersFloatsStringsAndDecimals) {
  auto t = Make(
      {{"f", arrow::float64()}, {"s", arrow::utf8()}, {"d", arrow::decimal128(10, 2)}},
      {"[1.5, -2.25, -0.5, 0.0, -0.0]", R"(["b", "a", "ab", "", "a"])",
       R"(["1.00", "-12.50", "-1.00", "0.00", "3.10"])"});
  EXPECT_EQ(Order(*t, {"f"}), (std::vector<int>{1, 2, 3, 4, 0}));
  EXPECT_EQ(Order(*t, {"s"}), (std::vector<int>{3, 1, 4, 2, 0}));
  EXPECT_EQ(Order(*t, {"d"}), (std::vector<int>{1, 2, 3, 0, 4}));
}

TEST(OrderedKeys, ComparesColumnByColumn) {
  // A string prefix must not let the next column decide: ("a", 9) < ("ab", 0).
  auto t = Make({{"s", arrow::utf8()}, {"n", arrow::int32()}},
                {R"(["ab", "a", "a"])", "[0, 9, 1]"});
  EXPECT_EQ(Order(*t, {"s", "n"}), (std::vector<int>{2, 1, 0}));
}

TEST(OrderedKeys, RefusesUnorderedTypesAndMissingColumns) {
  auto t = Make({{"l", arrow::list(arrow::int32())}}, {"[[1]]"});
  EXPECT_FALSE(OrderedKeys(*t, {"l"}).ok());
  EXPECT_FALSE(OrderedKeys(*t, {"nope"}).ok());
}

TEST(KeyIndex, AgreesWithAStandardMapThroughGrowth) {
  // Keys in progressions (the usual ids), negatives, extremes and random ones, with
  // repeats; no Reserve, so the table grows many times.
  std::mt19937_64 rng(7);
  std::vector<int64_t> keys;
  for (int64_t i = 0; i < 20000; ++i) keys.push_back(i * 2);
  for (int64_t i = 0; i < 5000; ++i) keys.push_back(-i * 1024);
  for (int i = 0; i < 20000; ++i) keys.push_back(static_cast<int64_t>(rng()));
  keys.push_back(INT64_MIN);
  keys.push_back(INT64_MAX);
  for (int i = 0; i < 5000; ++i) keys.push_back(keys[rng() % keys.size()]);
  KeyIndex index;
  std::unordered_map<int64_t, int64_t> model;
  for (size_t i = 0; i < keys.size(); ++i) {
    auto [row, inserted] = index.Emplace(keys[i], static_cast<int64_t>(i));
    auto [it, model_inserted] = model.emplace(keys[i], static_cast<int64_t>(i));
    ASSERT_EQ(inserted, model_inserted) << keys[i];
    ASSERT_EQ(*row, it->second);
    if (i % 3 == 0) *row = it->second = static_cast<int64_t>(i) + 1;  // updates stick
  }
  EXPECT_EQ(index.size(), model.size());
  for (const auto& [key, row] : model) {
    const int64_t* found = index.Find(key);
    ASSERT_NE(found, nullptr) << key;
    EXPECT_EQ(*found, row);
  }
  for (int64_t k : {int64_t{1}, int64_t{3}, int64_t{-1}, int64_t{40001}})
    EXPECT_FALSE(index.Contains(k)) << k;
  // Many keys at once: present ones, absent ones, and more than the prefetch distance.
  std::vector<int64_t> probe;
  std::vector<int64_t> want;
  for (int i = 0; i < 3000; ++i) {
    int64_t k = i % 3 == 0 ? keys[rng() % keys.size()] : static_cast<int64_t>(rng());
    probe.push_back(k);
    auto it = model.find(k);
    want.push_back(it == model.end() ? -1 : it->second);
  }
  EXPECT_EQ(index.FindAll(probe), want);
  KeyIndex empty;
  EXPECT_FALSE(empty.Contains(0));
  EXPECT_EQ(empty.FindAll({0, 1}), (std::vector<int64_t>{-1, -1}));
  empty.Reserve(1000);
  EXPECT_EQ(empty.Find(0), nullptr);
}

TEST(TakeRows, EveryRowInOrderIsTheSameTable) {
  auto t = Make({{"a", arrow::int64()}}, {"[1, 2, 3]"});
  EXPECT_EQ(TakeRows(t, {0, 1, 2}).ValueOrDie().get(), t.get());
  auto swapped = TakeRows(t, {1, 0, 2}).ValueOrDie();
  EXPECT_NE(swapped.get(), t.get());
  EXPECT_TRUE(swapped->Equals(*Make({{"a", arrow::int64()}}, {"[2, 1, 3]"})));
}

TEST(TakeRows, RowsOutsideTheTableAreAnError) {
  auto t = Make({{"a", arrow::int64()}}, {"[1, 2, 3]"});
  EXPECT_TRUE(TakeRows(t, {0, 3}).status().IsIndexError());
  EXPECT_TRUE(TakeRows(t, {-1, 1}).status().IsIndexError());
  auto chunked = arrow::ConcatenateTables({t, t}).ValueOrDie();  // two chunks
  EXPECT_TRUE(TakeRows(chunked, {1, 6}).status().IsIndexError());
  EXPECT_TRUE(TakeRows(chunked, {-1, 4}).status().IsIndexError());
  EXPECT_TRUE(TakeRows(chunked, {4, 1})
                  .ValueOrDie()
                  ->Equals(*Make({{"a", arrow::int64()}}, {"[2, 2]"})));
}

TEST(TakeRows, ChunkedTablesGiveWhatTheCombinedTableGives) {
  // Three chunks with misaligned boundaries between the columns.
  auto a =
      arrow::ChunkedArray::Make(
          {arrow::json::ArrayFromJSONString(arrow::int64(), "[0, 1, 2]").ValueOrDie(),
           arrow::json::ArrayFromJSONString(arrow::int64(), "[3, 4]").ValueOrDie(),
           arrow::json::ArrayFromJSONString(arrow::int64(), "[5, 6, 7, 8]").ValueOrDie()})
          .ValueOrDie();
  auto b =
      arrow::ChunkedArray::Make(
          {arrow::json::ArrayFromJSONString(arrow::utf8(), R"(["a", "b"])").ValueOrDie(),
           arrow::json::ArrayFromJSONString(arrow::utf8(),
                                            R"(["c", "d", "e", "f", null, "h", "i"])")
               .ValueOrDie()})
          .ValueOrDie();
  auto t = arrow::Table::Make(arrow::schema({arrow::field("a", arrow::int64()),
                                             arrow::field("b", arrow::utf8())}),
                              {a, b});
  auto combined = t->CombineChunks().ValueOrDie();
  for (const std::vector<int64_t>& rows :
       std::vector<std::vector<int64_t>>{{},
                                         {0},
                                         {8},
                                         {1, 2, 3, 6},
                                         {0, 0, 4, 4, 8},
                                         {2, 5, 8},
                                         {7, 1},
                                         {0, 1, 2, 3, 4, 5, 6, 7}}) {
    auto taken = TakeRows(t, rows).ValueOrDie();
    auto expected = TakeRows(combined, rows).ValueOrDie();
    EXPECT_EQ(taken->num_rows(), static_cast<int64_t>(rows.size()));
    EXPECT_TRUE(taken->Equals(*expected)) << taken->ToString() << "\nexpected\n"
                                          << expected->ToString();
  }
  EXPECT_FALSE(TakeRows(t, {3, 9}).ok());
}

TEST(RadixSort, SortsAsStdSortDoes) {
  std::mt19937_64 rng(7);
  for (size_t n : {size_t{0}, size_t{5}, size_t{70000}, size_t{300000}}) {
    for (int spread :
         {0, 20, 64}) {  // one value, small ids, any int64 (negatives, extremes)
      std::vector<int64_t> v(n);
      for (auto& x : v) {
        x = spread == 64 ? static_cast<int64_t>(rng())
                         : static_cast<int64_t>(rng() % (uint64_t{1} << spread));
      }
      if (n > 2) {
        v[0] = std::numeric_limits<int64_t>::min();
        v[1] = std::numeric_limits<int64_t>::max();
        v[2] = -1;
      }
      auto expected = v;
      std::sort(expected.begin(), expected.end());
      RadixSort(&v);
      EXPECT_EQ(v, expected) << "n=" << n << " spread=" << spread;
    }
  }
}

}  // namespace inlet
