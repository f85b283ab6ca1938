#include "inlet/delta/stats.h"

#include <arrow/api.h>
#include <arrow/json/from_string.h>

#include "inlet/testing/util.h"

namespace inlet::delta {

TEST(Stats, CollectsBoundsAndCounts) {
  auto schema = arrow::schema({arrow::field("i", arrow::int64()), arrow::field("s", arrow::utf8()),
                               arrow::field("t", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
                               arrow::field("b", arrow::boolean())});
  arrow::Int64Builder ib;
  INLET_ASSERT_OK(ib.AppendValues({5, -2}));
  arrow::StringBuilder sb;
  std::string long_a(40, 'a'), long_z = std::string(40, 'z');
  INLET_ASSERT_OK(sb.Append(long_a));
  INLET_ASSERT_OK(sb.Append(long_z));
  arrow::TimestampBuilder tb(arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"), arrow::default_memory_pool());
  INLET_ASSERT_OK(tb.Append(1500));  // 1.5 ms
  INLET_ASSERT_OK(tb.AppendNull());
  arrow::BooleanBuilder bb;
  INLET_ASSERT_OK(bb.Append(true));
  INLET_ASSERT_OK(bb.Append(false));
  std::shared_ptr<arrow::Array> i, s, t, b;
  INLET_ASSERT_OK(ib.Finish(&i));
  INLET_ASSERT_OK(sb.Finish(&s));
  INLET_ASSERT_OK(tb.Finish(&t));
  INLET_ASSERT_OK(bb.Finish(&b));
  StatsCollector c(schema, 32);
  INLET_ASSERT_OK(c.Update(*arrow::RecordBatch::Make(schema, 2, {i, s, t, b})));
  INLET_ASSIGN_OR_FAIL(Json j, ParseJson(c.ToJson(), "stats"));
  EXPECT_EQ(j["numRecords"], 2);
  EXPECT_EQ(j["minValues"]["i"], -2);
  EXPECT_EQ(j["maxValues"]["i"], 5);
  // String bounds: a 32-character prefix; the truncated max stays an upper bound.
  EXPECT_EQ(j["minValues"]["s"], std::string(32, 'a'));
  std::string max = j["maxValues"]["s"];
  EXPECT_GT(max, long_z);
  // Timestamps: milliseconds, rounded outwards.
  EXPECT_EQ(j["minValues"]["t"], "1970-01-01T00:00:00.001Z");
  EXPECT_EQ(j["maxValues"]["t"], "1970-01-01T00:00:00.002Z");
  EXPECT_EQ(j["nullCount"]["t"], 1);
  EXPECT_FALSE(j["minValues"].contains("b"));
  EXPECT_EQ(j["nullCount"]["b"], 0);

  ColumnStats read = ReadColumnStats(j, {"i"}, arrow::int64());
  ASSERT_TRUE(read.min && read.max);
  EXPECT_EQ(read.min->ToString(), "-2");
  EXPECT_EQ(*read.num_records, 2);
}

TEST(Stats, LimitsIndexedColumnsAndNestsStructs) {
  auto inner = arrow::struct_({arrow::field("x", arrow::int32()), arrow::field("y", arrow::int32())});
  auto schema = arrow::schema({arrow::field("st", inner), arrow::field("z", arrow::int32())});
  auto x = arrow::json::ArrayFromJSONString(arrow::int32(), "[1, 2]").ValueOrDie();
  auto y = arrow::json::ArrayFromJSONString(arrow::int32(), "[3, 4]").ValueOrDie();
  auto st = arrow::StructArray::Make({x, y}, inner->fields()).ValueOrDie();
  auto z = arrow::json::ArrayFromJSONString(arrow::int32(), "[5, 6]").ValueOrDie();
  StatsCollector c(schema, 2);  // x and y only
  INLET_ASSERT_OK(c.Update(*arrow::RecordBatch::Make(schema, 2, {st, z})));
  INLET_ASSIGN_OR_FAIL(Json j, ParseJson(c.ToJson(), "stats"));
  EXPECT_EQ(j["minValues"]["st"]["x"], 1);
  EXPECT_EQ(j["maxValues"]["st"]["y"], 4);
  EXPECT_FALSE(j["minValues"].contains("z"));
}

}  // namespace inlet::delta
