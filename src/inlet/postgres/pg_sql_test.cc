#include "inlet/postgres/pg_sql.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/type.h>
#include <gtest/gtest.h>

namespace inlet::pg {
namespace {

std::string TypeOf(const std::shared_ptr<arrow::DataType>& t) {
  auto r = ColumnTypeOf(*t, "c");
  return r.ok() ? *r : "error: " + r.status().message();
}

TEST(PgSql, ColumnTypes) {
  EXPECT_EQ(TypeOf(arrow::boolean()), "boolean");
  EXPECT_EQ(TypeOf(arrow::int8()), "smallint");
  EXPECT_EQ(TypeOf(arrow::uint16()), "integer");
  EXPECT_EQ(TypeOf(arrow::int32()), "integer");
  EXPECT_EQ(TypeOf(arrow::uint32()), "bigint");
  EXPECT_EQ(TypeOf(arrow::int64()), "bigint");
  EXPECT_EQ(TypeOf(arrow::uint64()), "numeric(20,0)");
  EXPECT_EQ(TypeOf(arrow::float32()), "real");
  EXPECT_EQ(TypeOf(arrow::float64()), "double precision");
  EXPECT_EQ(TypeOf(arrow::decimal128(12, 3)), "numeric(12,3)");
  EXPECT_EQ(TypeOf(arrow::decimal128(5, -2)), "numeric");
  EXPECT_EQ(TypeOf(arrow::utf8()), "text");
  EXPECT_EQ(TypeOf(arrow::large_utf8()), "text");
  EXPECT_EQ(TypeOf(arrow::binary()), "bytea");
  EXPECT_EQ(TypeOf(arrow::date32()), "date");
  EXPECT_EQ(TypeOf(arrow::time64(arrow::TimeUnit::MICRO)), "time");
  EXPECT_EQ(TypeOf(arrow::timestamp(arrow::TimeUnit::MICRO)), "timestamp");
  EXPECT_EQ(TypeOf(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")), "timestamptz");
  EXPECT_EQ(TypeOf(arrow::list(arrow::int32())), "integer[]");
  EXPECT_EQ(TypeOf(arrow::list(arrow::list(arrow::int32()))), "jsonb");
  EXPECT_EQ(TypeOf(arrow::struct_({arrow::field("a", arrow::int32())})), "jsonb");
  EXPECT_EQ(TypeOf(arrow::map(arrow::utf8(), arrow::int32())), "jsonb");
  EXPECT_EQ(TypeOf(arrow::dictionary(arrow::int32(), arrow::utf8())), "text");
  EXPECT_EQ(TypeOf(arrow::month_day_nano_interval()), "interval");
}

TEST(PgSql, StageBatchWritesJsonAndOrdinals) {
  auto point = arrow::struct_({arrow::field("x", arrow::int32())});
  auto schema =
      arrow::schema({arrow::field("id", arrow::uint64()), arrow::field("p", point)});
  arrow::UInt64Builder ids;
  ASSERT_TRUE(ids.AppendValues({1, 18446744073709551615ULL}).ok());
  arrow::StructBuilder points(point, arrow::default_memory_pool(),
                              {std::make_shared<arrow::Int32Builder>()});
  ASSERT_TRUE(points.Append().ok());
  ASSERT_TRUE(static_cast<arrow::Int32Builder*>(points.field_builder(0))->Append(7).ok());
  ASSERT_TRUE(points.AppendNull().ok());
  auto batch = arrow::RecordBatch::Make(schema, 2, {*ids.Finish(), *points.Finish()});

  auto stage = StageSchema(*schema, "__row");
  ASSERT_TRUE(stage.ok()) << stage.status();
  EXPECT_EQ((*stage)->ToString(),
            "id: decimal128(20, 0)\np: string\n__row: int64 not null");
  auto staged = StageBatch(*batch, *stage, 10);
  ASSERT_TRUE(staged.ok()) << staged.status();
  EXPECT_EQ((*staged)->column(0)->ToString(), "[\n  1,\n  18446744073709551615\n]");
  const auto& json = static_cast<const arrow::StringArray&>(*(*staged)->column(1));
  EXPECT_EQ(json.GetString(0), "{\"x\":7}");
  EXPECT_TRUE(json.IsNull(1));
  const auto& rows = static_cast<const arrow::Int64Array&>(*(*staged)->column(2));
  EXPECT_EQ(rows.Value(0), 10);
  EXPECT_EQ(rows.Value(1), 11);
}

TEST(PgSql, StageSchemaNamesAColumnWithoutAMapping) {
  auto schema =
      arrow::schema({arrow::field("u", arrow::dense_union(arrow::FieldVector{}))});
  auto stage = StageSchema(*schema, "__row");
  // A union is written as JSON; a type with no JSON form either is refused by name.
  EXPECT_TRUE(stage.ok());
  auto ext = arrow::schema({arrow::field("d", arrow::duration(arrow::TimeUnit::SECOND))});
  EXPECT_TRUE(StageSchema(*ext, "__row").ok());
  EXPECT_EQ(TypeOf(arrow::run_end_encoded(arrow::int32(), arrow::utf8())),
            "error: column 'c' has type run_end_encoded<run_ends: int32, values: "
            "string>, which has no PostgreSQL type inlet maps it to");
}

TEST(PgSql, WhereQuotesNamesAndLiterals) {
  Conjunction where = {{"Day", CompareOp::kGe, "2024-01-01"},
                       {"name", CompareOp::kEq, "O'Brien"},
                       {"gone", CompareOp::kIsNull, ""}};
  EXPECT_EQ(WhereOf(where, "t"),
            "t.\"Day\" >= '2024-01-01' AND t.\"name\" = 'O''Brien' AND t.\"gone\" IS "
            "NULL");
  EXPECT_EQ(WhereOf({}), "TRUE");
}

TEST(PgSql, Equality) {
  EXPECT_TRUE(HasEquality("jsonb"));
  EXPECT_TRUE(HasEquality("integer[]"));
  EXPECT_FALSE(HasEquality("json"));
  EXPECT_FALSE(HasEquality("json[]"));
  EXPECT_FALSE(HasEquality("point"));
}

}  // namespace
}  // namespace inlet::pg
