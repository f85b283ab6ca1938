#include "inlet/delta/stats.h"

#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <arrow/json/from_string.h>
#include <parquet/arrow/writer.h>

#include "inlet/testing/util.h"

namespace inlet::delta {

namespace {

// Writes batch to an in-memory Parquet file (row groups of row_group rows) and returns
// the stats JSON for it.
Json StatsOf(const std::shared_ptr<arrow::RecordBatch>& batch, int num_indexed,
             int64_t row_group = 1 << 20) {
  auto sink = arrow::io::BufferOutputStream::Create().ValueOrDie();
  auto props = parquet::WriterProperties::Builder()
                   .max_row_group_length(row_group)
                   ->enable_store_decimal_as_integer()
                   ->build();
  auto writer = parquet::arrow::FileWriter::Open(
                    *batch->schema(), arrow::default_memory_pool(), sink, props)
                    .ValueOrDie();
  EXPECT_TRUE(writer->WriteRecordBatch(*batch).ok());
  EXPECT_TRUE(writer->Close().ok());
  return ParseJson(StatsJson(StatisticsFromParquet(*writer->metadata(), *batch->schema(),
                                                   num_indexed)),
                   "stats")
      .ValueOrDie();
}

std::shared_ptr<arrow::RecordBatch> Batch(const std::shared_ptr<arrow::DataType>& row,
                                          const std::string& json) {
  auto array = arrow::json::ArrayFromJSONString(row, json).ValueOrDie();
  return arrow::RecordBatch::FromStructArray(array).ValueOrDie();
}

}  // namespace

TEST(Stats, BoundsAndCountsFromParquet) {
  std::string long_a(40, 'a'), long_z(40, 'z');
  auto row = arrow::struct_(
      {arrow::field("i", arrow::int64()), arrow::field("s", arrow::utf8()),
       arrow::field("t", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
       arrow::field("b", arrow::boolean()), arrow::field("d", arrow::decimal128(10, 2)),
       arrow::field("e", arrow::decimal128(30, 3)),
       arrow::field("day", arrow::date32())});
  auto batch = Batch(
      row, "[{\"i\":5,\"s\":\"" + long_a +
               "\",\"t\":1500,\"b\":true,\"d\":\"-1.25\",\"e\":\"1.000\",\"day\":1},"
               "{\"i\":-2,\"s\":\"" +
               long_z +
               "\",\"t\":null,\"b\":false,\"d\":\"10.50\",\"e\":\"-3.500\",\"day\":2}]");
  // Two row groups: bounds merge across them.
  Json j = StatsOf(batch, 32, 1);
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
  // Decimals keep their scale whatever the physical type.
  EXPECT_EQ(j["minValues"]["d"].dump(), "-1.25");
  EXPECT_EQ(j["maxValues"]["d"].dump(), "10.5");
  EXPECT_EQ(j["minValues"]["e"].dump(), "-3.5");
  EXPECT_EQ(j["minValues"]["day"], "1970-01-02");

  ColumnStats read = ReadColumnStats(j, {"i"}, arrow::int64());
  ASSERT_TRUE(read.min && read.max);
  EXPECT_EQ(read.min->ToString(), "-2");
  EXPECT_EQ(*read.num_records, 2);
  ColumnStats ts =
      ReadColumnStats(j, {"t"}, arrow::timestamp(arrow::TimeUnit::MICRO, "UTC"));
  ASSERT_TRUE(ts.max);
  EXPECT_EQ(static_cast<const arrow::TimestampScalar&>(*ts.max).value, 2999);
}

TEST(Stats, LimitsIndexedColumnsAndNestsStructs) {
  auto inner = arrow::struct_(
      {arrow::field("x", arrow::int32()), arrow::field("y", arrow::int32())});
  auto row = arrow::struct_({arrow::field("st", inner), arrow::field("z", arrow::int32()),
                             arrow::field("l", arrow::list(arrow::int32()))});
  Json j = StatsOf(
      Batch(row,
            R"([{"st":{"x":1,"y":3},"z":5,"l":[1]},{"st":{"x":2,"y":4},"z":6,"l":[]}])"),
      2);
  EXPECT_EQ(j["minValues"]["st"]["x"], 1);
  EXPECT_EQ(j["maxValues"]["st"]["y"], 4);
  EXPECT_FALSE(j["minValues"].contains("z"));
  Json all = StatsOf(Batch(row, R"([{"st":null,"z":5,"l":null}])"), -1);
  EXPECT_EQ(all["nullCount"]["st"]["x"], 1);
  EXPECT_EQ(all["minValues"]["z"], 5);
}

TEST(Stats, AllNullAndNaNColumns) {
  auto row = arrow::struct_(
      {arrow::field("n", arrow::int64()), arrow::field("f", arrow::float64())});
  Json j = StatsOf(Batch(row, R"([{"n":null,"f":1.5},{"n":null,"f":0.5}])"), 32);
  EXPECT_EQ(j["nullCount"]["n"], 2);
  EXPECT_FALSE(j["minValues"].contains("n"));
  EXPECT_EQ(j["minValues"]["f"], 0.5);
}

}  // namespace inlet::delta
