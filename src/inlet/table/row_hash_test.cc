#include "inlet/table/row_hash.h"

#include <arrow/api.h>
#include <arrow/json/from_string.h>

#include "inlet/testing/util.h"

namespace inlet {

namespace {

std::shared_ptr<arrow::Table> Rows(const std::string& json) {
  arrow::FieldVector fields = {
      arrow::field("i", arrow::int64()), arrow::field("s", arrow::utf8()),
      arrow::field("d", arrow::decimal128(7, 2)), arrow::field("b", arrow::boolean()),
      arrow::field("l", arrow::list(arrow::int32()))};
  auto array =
      arrow::json::ArrayFromJSONString(arrow::struct_(fields), json).ValueOrDie();
  auto batch = arrow::RecordBatch::FromStructArray(array).ValueOrDie();
  return arrow::Table::FromRecordBatches({batch}).ValueOrDie();
}

}  // namespace

TEST(RowHash, EqualValuesHashEqualAcrossChunking) {
  auto t = Rows(R"([{"i":1,"s":"a","d":"1.25","b":true,"l":[1]},
                    {"i":2,"s":null,"d":null,"b":null,"l":null},
                    {"i":1,"s":"a","d":"1.25","b":true,"l":[1]}])");
  std::vector<std::string> all = {"i", "s", "d", "b", "l"};
  INLET_ASSIGN_OR_FAIL(auto h, HashRows(*t, all));
  EXPECT_EQ(h[0], h[2]);
  EXPECT_NE(h[0], h[1]);
  // The same rows split into one-row chunks hash the same.
  std::vector<std::shared_ptr<arrow::Table>> parts = {t->Slice(0, 1), t->Slice(1, 1),
                                                      t->Slice(2, 1)};
  auto chunked = arrow::ConcatenateTables(parts).ValueOrDie();
  ASSERT_GT(chunked->column(0)->num_chunks(), 1);
  INLET_ASSIGN_OR_FAIL(auto again, HashRows(*chunked, all));
  EXPECT_EQ(again, h);
  // A batch of the sliced rows agrees with the table.
  auto batch = t->CombineChunksToBatch().ValueOrDie()->Slice(1, 2);
  INLET_ASSIGN_OR_FAIL(auto from_batch, HashRows(*batch, all));
  EXPECT_EQ(from_batch[0], h[1]);
  EXPECT_EQ(from_batch[1], h[2]);
}

TEST(RowHash, EveryColumnAndPositionCounts) {
  auto t = Rows(R"([{"i":1,"s":"a","d":"1.25","b":true,"l":[1]},
                    {"i":1,"s":"b","d":"1.25","b":true,"l":[1]},
                    {"i":1,"s":"a","d":"1.26","b":true,"l":[1]},
                    {"i":1,"s":"a","d":"1.25","b":false,"l":[1]},
                    {"i":1,"s":"a","d":"1.25","b":true,"l":[1,1]},
                    {"i":1,"s":"a","d":"1.25","b":null,"l":[1]},
                    {"i":1,"s":"","d":"1.25","b":true,"l":[1]},
                    {"i":1,"s":null,"d":"1.25","b":true,"l":[1]}])");
  INLET_ASSIGN_OR_FAIL(auto h, HashRows(*t, {"i", "s", "d", "b", "l"}));
  for (size_t a = 0; a < h.size(); ++a) {
    for (size_t b = a + 1; b < h.size(); ++b) EXPECT_NE(h[a], h[b]) << a << " vs " << b;
  }
  // Values moved between columns give another hash.
  auto two = Rows(R"([{"i":1,"s":"ab"},{"i":1,"s":"a"}])");
  INLET_ASSIGN_OR_FAIL(auto x, HashRows(*two, {"s", "i"}));
  INLET_ASSIGN_OR_FAIL(auto y, HashRows(*two, {"i", "s"}));
  EXPECT_NE(x[0], y[0]);
  EXPECT_FALSE(HashRows(*two, {"nope"}).ok());
}

}  // namespace inlet
