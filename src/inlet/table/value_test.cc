#include "inlet/table/value.h"

#include <arrow/api.h>

#include "inlet/testing/util.h"

namespace inlet {

namespace {

BoundPredicate Bind(const std::string& text,
                    const std::shared_ptr<arrow::DataType>& type) {
  auto conj = ParseConjunction(text).ValueOrDie();
  auto schema = arrow::schema({arrow::field("x", type)});
  return BindConjunction(conj, *schema).ValueOrDie().at(0);
}

ColumnStats Stats(int64_t min, int64_t max, int64_t nulls, int64_t rows) {
  return {std::make_shared<arrow::Int64Scalar>(min),
          std::make_shared<arrow::Int64Scalar>(max), nulls, rows};
}

}  // namespace

TEST(Predicate, ParsesConjunctions) {
  INLET_ASSIGN_OR_FAIL(
      auto c, ParseConjunction("a = 1 AND \"b c\" >= 'it''s' and d IS NOT NULL"));
  ASSERT_EQ(c.size(), 3u);
  EXPECT_EQ(c[0].column, "a");
  EXPECT_EQ(c[0].literal, "1");
  EXPECT_EQ(c[1].column, "b c");
  EXPECT_EQ(c[1].op, CompareOp::kGe);
  EXPECT_EQ(c[1].literal, "it's");
  EXPECT_EQ(c[2].op, CompareOp::kIsNotNull);
  INLET_ASSIGN_OR_FAIL(auto empty, ParseConjunction("  "));
  EXPECT_TRUE(empty.empty());
}

TEST(Predicate, RejectsMalformed) {
  EXPECT_FALSE(ParseConjunction("a =").ok());
  EXPECT_FALSE(ParseConjunction("a = 1 OR b = 2").ok());
  EXPECT_FALSE(ParseConjunction("a = 'open").ok());
  auto st = ParseConjunction("a ~ 1").status();
  EXPECT_FALSE(st.ok());
}

TEST(Predicate, BindingChecksColumnsAndLiterals) {
  auto schema = arrow::schema({arrow::field("n", arrow::int32())});
  EXPECT_FALSE(BindConjunction(ParseConjunction("m = 1").ValueOrDie(), *schema).ok());
  auto st = BindConjunction(ParseConjunction("n = abc").ValueOrDie(), *schema).status();
  EXPECT_NE(st.message().find("not a valid"), std::string::npos) << st.ToString();
}

TEST(Predicate, StatsSkipping) {
  auto eq = Bind("x = 5", arrow::int64());
  EXPECT_TRUE(MayMatch(eq, Stats(1, 10, 0, 10)));
  EXPECT_FALSE(MayMatch(eq, Stats(6, 10, 0, 10)));
  EXPECT_FALSE(MayMatch(eq, Stats(1, 4, 0, 10)));
  EXPECT_FALSE(MayMatch(Bind("x > 10", arrow::int64()), Stats(1, 10, 0, 10)));
  EXPECT_TRUE(MayMatch(Bind("x >= 10", arrow::int64()), Stats(1, 10, 0, 10)));
  EXPECT_FALSE(MayMatch(Bind("x < 1", arrow::int64()), Stats(1, 10, 0, 10)));
  EXPECT_FALSE(MayMatch(Bind("x IS NULL", arrow::int64()), Stats(1, 10, 0, 10)));
  EXPECT_TRUE(MayMatch(Bind("x IS NULL", arrow::int64()), Stats(1, 10, 2, 10)));
  EXPECT_FALSE(
      MayMatch(Bind("x = 5", arrow::int64()), ColumnStats{nullptr, nullptr, 10, 10}));
  // Unknown statistics never skip.
  EXPECT_TRUE(MayMatch(eq, ColumnStats{}));
}

TEST(Predicate, FiltersBatchesWithSqlNulls) {
  auto schema = arrow::schema({arrow::field("x", arrow::int64())});
  arrow::Int64Builder b;
  INLET_ASSERT_OK(b.AppendValues({1, 5, 7}));
  INLET_ASSERT_OK(b.AppendNull());
  std::shared_ptr<arrow::Array> a;
  INLET_ASSERT_OK(b.Finish(&a));
  auto batch = arrow::RecordBatch::Make(schema, 4, {a});
  auto preds =
      BindConjunction(ParseConjunction("x >= 5").ValueOrDie(), *schema).ValueOrDie();
  INLET_ASSIGN_OR_FAIL(auto out, FilterBatch(batch, preds));
  EXPECT_EQ(out->num_rows(), 2);
  auto nulls =
      BindConjunction(ParseConjunction("x IS NULL").ValueOrDie(), *schema).ValueOrDie();
  INLET_ASSIGN_OR_FAIL(auto out2, FilterBatch(batch, nulls));
  EXPECT_EQ(out2->num_rows(), 1);
}

TEST(Value, ScalarsFromText) {
  INLET_ASSIGN_OR_FAIL(auto d, ScalarFromText("12.5", arrow::decimal128(10, 3)));
  EXPECT_EQ(d->ToString(), "12.500");
  INLET_ASSIGN_OR_FAIL(auto ts,
                       ScalarFromText("1970-01-01T00:00:01Z",
                                      arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")));
  EXPECT_EQ(static_cast<const arrow::TimestampScalar&>(*ts).value, 1000000);
  EXPECT_FALSE(ScalarFromText("300", arrow::int8()).ok());
  EXPECT_FALSE(ScalarFromText("maybe", arrow::boolean()).ok());
}

}  // namespace inlet
