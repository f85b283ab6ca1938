#include "inlet/delta/stats.h"

#include <arrow/api.h>
#include <arrow/io/memory.h>
#include <arrow/json/from_string.h>
#include <arrow/util/decimal.h>
#include <parquet/arrow/writer.h>

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <random>

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

namespace {

// The number text stats JSON gives a column's bound ("minValues" or "maxValues"); empty
// when it has none.
std::string BoundText(const std::string& json, const std::string& section) {
  size_t at = json.find("\"" + section + "\":{\"d\":");
  if (at == std::string::npos) return "";
  at = json.find(':', json.find("\"d\"", at)) + 1;
  return json.substr(at, json.find_first_of(",}", at) - at);
}

// A JSON number read as a reader reads it at the column's scale: exactly (Spark,
// delta-rs), or as a double, printed shortest and taken to the scale rounding half up, or
// truncating (Trino reads the numbers of decimal statistics as doubles).
std::vector<arrow::Decimal256> ReadAs(const std::string& text, int32_t scale) {
  std::vector<arrow::Decimal256> out;
  auto at_scale = [&](const std::string& t, bool round) {
    int32_t precision = 0, s = 0;
    arrow::Decimal256 v;
    EXPECT_TRUE(arrow::Decimal256::FromString(t, &v, &precision, &s).ok()) << t;
    return s > scale ? v.ReduceScaleBy(s - scale, round) : v.IncreaseScaleBy(scale - s);
  };
  out.push_back(at_scale(text, true));
  char buf[64];
  double d = std::strtod(text.c_str(), nullptr);
  auto r = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string shortest(buf, r.ptr);
  out.push_back(at_scale(shortest, true));
  out.push_back(at_scale(shortest, false));
  return out;
}

}  // namespace

// Issue 20, item 3.6: bounds of decimals with more digits than a double holds are written
// rounded outward, so that a reader taking them as doubles (Trino 476) never skips a file
// holding a matching row; within the type's range, and not far from the true bound.
TEST(Stats, WideDecimalBoundsReadOutwardAsDoubles) {
  std::mt19937_64 rng(5);
  struct Case {
    int precision, scale;
  };
  for (Case c : {Case{18, 6}, Case{16, 2}, Case{38, 10}, Case{38, 0}, Case{20, 19}}) {
    auto type = arrow::decimal128(c.precision, c.scale);
    auto limit = arrow::Decimal128::GetMaxValue(c.precision);
    std::vector<arrow::Decimal128> values = {limit, arrow::Decimal128(limit).Negate(),
                                             arrow::Decimal128(0), arrow::Decimal128(1)};
    if (c.precision == 18) {  // the issue's value: 12345678901.123456
      values.push_back(arrow::Decimal128("12345678901123456"));
    }
    if (c.precision == 38 && c.scale == 10) {  // one Trino skipped a file for
      values.push_back(arrow::Decimal128("-5375985989463228097129911694000000000"));
    }
    for (int i = 0; i < 300; ++i) {
      // Random digits, of random length up to the precision, either sign.
      int digits = 1 + static_cast<int>(rng() % c.precision);
      std::string text = rng() % 2 ? "-" : "";
      for (int k = 0; k < digits; ++k) text += static_cast<char>('0' + rng() % 10);
      values.push_back(arrow::Decimal128(text));
    }
    for (const auto& v : values) {
      FileStatistics stats;
      stats.num_records = 1;
      LeafStatistics leaf;
      leaf.path = {"d"};
      leaf.type = type;
      leaf.null_count = 0;
      leaf.min = std::make_shared<arrow::Decimal128Scalar>(v, type);
      leaf.max = leaf.min;
      stats.columns.push_back(leaf);
      std::string json = StatsJson(stats);
      arrow::Decimal256 exact(v);
      std::string min = BoundText(json, "minValues"), max = BoundText(json, "maxValues");
      SCOPED_TRACE(type->ToString() + " " + v.ToString(c.scale) + ": " + json);
      if (!min.empty()) {
        for (const auto& read : ReadAs(min, c.scale)) EXPECT_LE(read, exact);
      }
      if (!max.empty()) {
        for (const auto& read : ReadAs(max, c.scale)) EXPECT_GE(read, exact);
      }
      // Omitted only at the very ends of the range.
      if (v != limit) EXPECT_FALSE(max.empty());
      if (v != arrow::Decimal128(limit).Negate()) EXPECT_FALSE(min.empty());
      // Tight: within a few doubles' steps of the value.
      double value = std::strtod(v.ToString(c.scale).c_str(), nullptr);
      double slack = 4 * (std::nextafter(std::fabs(value), HUGE_VAL) - std::fabs(value)) +
                     2 * std::pow(10.0, -c.scale);
      for (const auto& bound : {min, max}) {
        if (bound.empty()) continue;
        EXPECT_LE(std::fabs(std::strtod(bound.c_str(), nullptr) - value), slack) << bound;
      }
    }
  }
  // Up to 15 digits bounds are the values themselves.
  FileStatistics stats;
  stats.num_records = 1;
  LeafStatistics leaf;
  leaf.path = {"d"};
  leaf.type = arrow::decimal128(15, 3);
  leaf.min = std::make_shared<arrow::Decimal128Scalar>(
      arrow::Decimal128("123456789012345"), leaf.type);
  leaf.max = leaf.min;
  stats.columns.push_back(leaf);
  EXPECT_EQ(BoundText(StatsJson(stats), "maxValues"), "123456789012.345");
}

}  // namespace inlet::delta
