#include "inlet/table/zorder.h"

#include <arrow/api.h>
#include <arrow/json/from_string.h>

#include "inlet/testing/util.h"

namespace inlet {

namespace {

std::shared_ptr<arrow::Table> Grid(int side) {
  arrow::Int64Builder x, y;
  // Row-major order: all of x=0, then x=1, ...
  for (int i = 0; i < side; ++i) {
    for (int j = 0; j < side; ++j) {
      (void)x.Append(i);
      (void)y.Append(j);
    }
  }
  auto schema = arrow::schema(
      {arrow::field("x", arrow::int64()), arrow::field("y", arrow::int64())});
  return arrow::Table::Make(schema, {x.Finish().ValueOrDie(), y.Finish().ValueOrDie()});
}

}  // namespace

TEST(ZOrder, VisitsQuadrantsOneAfterAnother) {
  auto t = Grid(4);
  INLET_ASSIGN_OR_FAIL(auto order, ZOrderIndices(*t, {"x", "y"}));
  ASSERT_EQ(order->length(), 16);
  auto x = std::static_pointer_cast<arrow::Int64Array>(t->column(0)->chunk(0));
  auto y = std::static_pointer_cast<arrow::Int64Array>(t->column(1)->chunk(0));
  // The Morton curve covers each 2x2 quadrant before moving on: the first four rows are
  // exactly the quadrant x<2, y<2, and so on.
  for (int q = 0; q < 4; ++q) {
    for (int k = 0; k < 4; ++k) {
      uint64_t row = order->Value(q * 4 + k);
      EXPECT_EQ(x->Value(row) / 2, q / 2) << "position " << q * 4 + k;
      EXPECT_EQ(y->Value(row) / 2, q % 2) << "position " << q * 4 + k;
    }
  }
  // A permutation: every row once.
  std::vector<bool> seen(16, false);
  for (int i = 0; i < 16; ++i) seen[order->Value(i)] = true;
  EXPECT_EQ(std::count(seen.begin(), seen.end(), true), 16);
}

TEST(ZOrder, OneColumnSortsItAndNullsGoLast) {
  auto array =
      arrow::json::ArrayFromJSONString(arrow::utf8(), R"(["b", null, "a", "c", "a"])")
          .ValueOrDie();
  auto t = arrow::Table::Make(arrow::schema({arrow::field("s", arrow::utf8())}), {array});
  INLET_ASSIGN_OR_FAIL(auto order, ZOrderIndices(*t, {"s"}));
  std::vector<uint64_t> got(order->raw_values(), order->raw_values() + order->length());
  EXPECT_EQ(got, (std::vector<uint64_t>{2, 4, 0, 3, 1}));
}

TEST(ZOrder, RejectsMissingAndNestedColumns) {
  auto array = arrow::json::ArrayFromJSONString(arrow::list(arrow::int32()), "[[1], [2]]")
                   .ValueOrDie();
  auto t = arrow::Table::Make(
      arrow::schema({arrow::field("l", arrow::list(arrow::int32()))}), {array});
  EXPECT_FALSE(ZOrderIndices(*t, {"nope"}).ok());
  auto st = ZOrderIndices(*t, {"l"}).status();
  EXPECT_TRUE(st.IsInvalid());
  EXPECT_NE(st.message().find("'l'"), std::string::npos);
}

}  // namespace inlet
