#include "inlet/table/data_writer.h"

#include <arrow/api.h>
#include <arrow/io/file.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/writer.h>
#include <parquet/file_reader.h>
#include <parquet/metadata.h>
#include <parquet/statistics.h>

#include <filesystem>
#include <functional>
#include <limits>
#include <set>

#include "inlet/storage/table_store.h"
#include "inlet/testing/util.h"

namespace inlet::table {
namespace {

std::shared_ptr<arrow::Schema> Schema() {
  return arrow::schema(
      {arrow::field("id", arrow::int64()), arrow::field("small", arrow::int32()),
       arrow::field("name", arrow::utf8()), arrow::field("tag", arrow::utf8())});
}

// Rows [from, from + n): unique ids and names, and two columns of ten values each.
std::shared_ptr<arrow::RecordBatch> Rows(int64_t from, int64_t n) {
  arrow::Int64Builder id;
  arrow::Int32Builder small;
  arrow::StringBuilder name, tag;
  for (int64_t i = from; i < from + n; ++i) {
    EXPECT_TRUE(id.Append(i * 7919).ok());
    EXPECT_TRUE(small.Append(static_cast<int32_t>(i % 10)).ok());
    EXPECT_TRUE(name.Append("customer-" + std::to_string(i)).ok());
    EXPECT_TRUE(tag.Append("tag" + std::to_string(i % 10)).ok());
  }
  return arrow::RecordBatch::Make(
      Schema(), n,
      {id.Finish().ValueOrDie(), small.Finish().ValueOrDie(), name.Finish().ValueOrDie(),
       tag.Finish().ValueOrDie()});
}

// Column name -> whether its chunks in the file have a dictionary page.
std::map<std::string, bool> Dictionaries(const std::string& path) {
  auto reader = parquet::ParquetFileReader::OpenFile(path);
  auto metadata = reader->metadata();
  std::map<std::string, bool> out;
  for (int c = 0; c < metadata->num_columns(); ++c) {
    out[metadata->schema()->Column(c)->name()] =
        metadata->RowGroup(0)->ColumnChunk(c)->has_dictionary_page();
  }
  return out;
}

std::shared_ptr<arrow::Table> ReadBack(const std::string& path) {
  auto reader = parquet::arrow::OpenFile(arrow::io::ReadableFile::Open(path).ValueOrDie(),
                                         arrow::default_memory_pool())
                    .ValueOrDie();
  std::shared_ptr<arrow::Table> table;
  EXPECT_TRUE(reader->ReadTable(&table).ok());
  return table;
}

TEST(DataWriter, WritesColumnsThatOverflowTheirDictionaryPlainFromTheStart) {
  testing::TempDir dir;
  INLET_ASSIGN_OR_FAIL(auto store, TableStore::Make(dir.path()));
  INLET_ASSIGN_OR_FAIL(auto writer, DataWriter::Make(store, Schema(), {}));
  auto rows = Rows(0, 100000);  // 800 KB of distinct ids, ~1.9 MB of distinct names
  INLET_ASSERT_OK(writer->Write(rows));
  INLET_ASSIGN_OR_FAIL(auto adds, writer->Finish());
  ASSERT_EQ(adds.size(), 1u);
  std::string path = dir.Sub(adds[0].path);
  EXPECT_EQ(Dictionaries(path),
            (std::map<std::string, bool>{
                {"id", false}, {"small", true}, {"name", false}, {"tag", true}}));
  EXPECT_TRUE(
      ReadBack(path)->Equals(*arrow::Table::FromRecordBatches({rows}).ValueOrDie()));
}

// Writes two files of rows(from, n) batches: 100,000 rows starting with a batch too
// small to judge the columns by, then (after a flush) 1,000 more. Whether each file's
// columns have a dictionary page.
std::vector<std::map<std::string, bool>> DictionariesOfTwoFiles(
    const std::function<std::shared_ptr<arrow::RecordBatch>(int64_t, int64_t)>& rows) {
  testing::TempDir dir;
  auto store = TableStore::Make(dir.path()).ValueOrDie();
  auto writer = DataWriter::Make(store, rows(0, 1)->schema(), {}).ValueOrDie();
  EXPECT_TRUE(writer->Write(rows(0, 1000)).ok());
  EXPECT_TRUE(writer->Write(rows(1000, 99000)).ok());
  EXPECT_TRUE(writer->Flush().ok());
  EXPECT_TRUE(writer->Write(rows(100000, 1000)).ok());
  std::vector<std::map<std::string, bool>> out;
  for (const auto& add : writer->Finish().ValueOrDie())
    out.push_back(Dictionaries(dir.Sub(add.path)));
  return out;
}

TEST(DataWriter, LearnsFromAFileWhoseDictionaryOverflowed) {
  // The dictionary overflows later in the first file.
  auto files = DictionariesOfTwoFiles(Rows);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_TRUE(files[0]["id"]);  // tried, then fell back
  EXPECT_EQ(files[1],
            (std::map<std::string, bool>{
                {"id", false}, {"small", true}, {"name", false}, {"tag", true}}));
}

// Rows [from, from + n) of an int32 column of 60,000 values, whose dictionary fits its
// page but does not pay (it and the 16-bit indices take more than the 4-byte values), and
// one of ten values.
std::shared_ptr<arrow::RecordBatch> Amounts(int64_t from, int64_t n) {
  arrow::Int32Builder amount, small;
  for (int64_t i = from; i < from + n; ++i) {
    EXPECT_TRUE(amount.Append(static_cast<int32_t>((i * 7919) % 60000)).ok());
    EXPECT_TRUE(small.Append(static_cast<int32_t>(i % 10)).ok());
  }
  return arrow::RecordBatch::Make(
      arrow::schema({arrow::field("amount", arrow::int32()),
                     arrow::field("small", arrow::int32())}),
      n, {amount.Finish().ValueOrDie(), small.Finish().ValueOrDie()});
}

TEST(DataWriter, WritesColumnsWhoseDictionaryWouldNotPayPlain) {
  testing::TempDir dir;
  INLET_ASSIGN_OR_FAIL(auto store, TableStore::Make(dir.path()));
  auto rows = Amounts(0, 100000);
  INLET_ASSIGN_OR_FAIL(auto writer, DataWriter::Make(store, rows->schema(), {}));
  INLET_ASSERT_OK(writer->Write(rows));
  INLET_ASSIGN_OR_FAIL(auto adds, writer->Finish());
  ASSERT_EQ(adds.size(), 1u);
  std::string path = dir.Sub(adds[0].path);
  EXPECT_EQ(Dictionaries(path),
            (std::map<std::string, bool>{{"amount", false}, {"small", true}}));
  EXPECT_TRUE(
      ReadBack(path)->Equals(*arrow::Table::FromRecordBatches({rows}).ValueOrDie()));
}

TEST(DataWriter, LearnsFromAFileWhoseDictionaryDidNotPay) {
  // The first file's dictionary fits but does not pay.
  auto files = DictionariesOfTwoFiles(Amounts);
  ASSERT_EQ(files.size(), 2u);
  EXPECT_EQ(files[0], (std::map<std::string, bool>{{"amount", true}, {"small", true}}));
  EXPECT_EQ(files[1], (std::map<std::string, bool>{{"amount", false}, {"small", true}}));
}

// Column name -> the encodings of its data pages in the file.
std::map<std::string, std::set<parquet::Encoding::type>> DataPageEncodings(
    const std::string& path) {
  auto reader = parquet::ParquetFileReader::OpenFile(path);
  auto metadata = reader->metadata();
  std::map<std::string, std::set<parquet::Encoding::type>> out;
  for (int c = 0; c < metadata->num_columns(); ++c) {
    auto& encodings = out[metadata->schema()->Column(c)->name()];
    auto chunk = metadata->RowGroup(0)->ColumnChunk(c);  // held: the stats live in it
    for (const auto& s : chunk->encoding_stats()) {
      if (s.page_type == parquet::PageType::DATA_PAGE && s.count > 0)
        encodings.insert(s.encoding);
    }
  }
  return out;
}

// Rows [from, from + n) of every type stored as INT32 or INT64, distinct enough to go
// without a dictionary, with extremes, negatives and nulls.
std::shared_ptr<arrow::RecordBatch> Integers(int64_t from, int64_t n) {
  auto schema = arrow::schema(
      {arrow::field("i8", arrow::int8()), arrow::field("i16", arrow::int16()),
       arrow::field("i32", arrow::int32()), arrow::field("i64", arrow::int64()),
       arrow::field("day", arrow::date32()),
       arrow::field("ts", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")),
       arrow::field("amount", arrow::decimal128(18, 2)),
       arrow::field("small", arrow::decimal128(7, 2))});
  arrow::Int8Builder i8;
  arrow::Int16Builder i16;
  arrow::Int32Builder i32;
  arrow::Int64Builder i64;
  arrow::Date32Builder day;
  arrow::TimestampBuilder ts(schema->field(5)->type(), arrow::default_memory_pool());
  arrow::Decimal128Builder amount(schema->field(6)->type()),
      small(schema->field(7)->type());
  for (int64_t i = from; i < from + n; ++i) {
    int64_t r =
        (i * 2654435761LL) % 1000003 - 500000;  // scattered, negative half the time
    bool null = i % 97 == 0;
    EXPECT_TRUE((null ? i8.AppendNull()
                      : i8.Append(static_cast<int8_t>(i % 3 == 0 ? -128 : r % 128)))
                    .ok());
    EXPECT_TRUE(i16.Append(static_cast<int16_t>(i % 5 == 0 ? 32767 : r % 32768)).ok());
    EXPECT_TRUE(i32.Append(i % 7 == 0 ? std::numeric_limits<int32_t>::min()
                                      : static_cast<int32_t>(r * 4001))
                    .ok());
    EXPECT_TRUE((null ? i64.AppendNull()
                      : i64.Append(i % 11 == 0 ? std::numeric_limits<int64_t>::max()
                                               : r * 1000000007LL))
                    .ok());
    EXPECT_TRUE(day.Append(static_cast<int32_t>(r % 40000)).ok());
    EXPECT_TRUE(ts.Append(1700000000000000LL + r * 1000003).ok());
    EXPECT_TRUE(
        amount.Append(arrow::Decimal128(i % 13 == 0 ? 999999999999999999LL : r * 977))
            .ok());
    EXPECT_TRUE(
        (null ? small.AppendNull()
              : small.Append(arrow::Decimal128(i % 17 == 0 ? -9999999 : r % 9999999)))
            .ok());
  }
  return arrow::RecordBatch::Make(
      schema, n,
      {i8.Finish().ValueOrDie(), i16.Finish().ValueOrDie(), i32.Finish().ValueOrDie(),
       i64.Finish().ValueOrDie(), day.Finish().ValueOrDie(), ts.Finish().ValueOrDie(),
       amount.Finish().ValueOrDie(), small.Finish().ValueOrDie()});
}

TEST(DataWriter, WritesIntegersWithoutADictionaryAsDeltas) {
  for (bool delta : {true, false}) {
    testing::TempDir dir;
    INLET_ASSIGN_OR_FAIL(auto store, TableStore::Make(dir.path()));
    auto rows = Integers(0, 100000);
    DataWriterOptions options;
    options.integer_encoding =
        delta ? IntegerEncoding::kDeltaBinaryPacked : IntegerEncoding::kPlain;
    INLET_ASSIGN_OR_FAIL(auto writer, DataWriter::Make(store, rows->schema(), options));
    INLET_ASSERT_OK(writer->Write(rows));
    INLET_ASSIGN_OR_FAIL(auto adds, writer->Finish());
    ASSERT_EQ(adds.size(), 1u);
    std::string path = dir.Sub(adds[0].path);
    auto dictionaries = Dictionaries(path);
    int without_dictionary = 0;
    for (const auto& [column, encodings] : DataPageEncodings(path)) {
      if (dictionaries[column]) continue;  // a dictionary that pays is kept
      ++without_dictionary;
      auto want =
          delta ? parquet::Encoding::DELTA_BINARY_PACKED : parquet::Encoding::PLAIN;
      EXPECT_EQ(encodings, std::set<parquet::Encoding::type>{want})
          << column << (delta ? " (delta)" : " (plain)");
    }
    EXPECT_GE(without_dictionary, 5);
    EXPECT_TRUE(
        ReadBack(path)->Equals(*arrow::Table::FromRecordBatches({rows}).ValueOrDie()));
  }
}

// The column chunk statistics of a file, by column: physical type, null count and the
// encoded minimum and maximum.
std::map<std::string, std::string> ChunkStatistics(const std::string& path) {
  auto reader = parquet::ParquetFileReader::OpenFile(path);
  auto metadata = reader->metadata();
  std::map<std::string, std::string> out;
  for (int g = 0; g < metadata->num_row_groups(); ++g) {
    for (int c = 0; c < metadata->num_columns(); ++c) {
      auto chunk = metadata->RowGroup(g)->ColumnChunk(c);
      auto stats = chunk->statistics();
      auto& entry = out[metadata->schema()->Column(c)->path()->ToDotString()];
      entry += parquet::TypeToString(chunk->type()) + " ";
      if (stats && stats->HasMinMax()) {
        entry += std::to_string(stats->null_count()) + " " + stats->EncodeMin() + "|" +
                 stats->EncodeMax() + ";";
      }
    }
  }
  return out;
}

// Decimals stored as INT32 and INT64 are narrowed by the writer itself: the files hold
// what Arrow's own conversion writes (the same physical types, values and statistics),
// for sliced batches with nulls, beside a wide decimal and a nested one left to Arrow.
TEST(DataWriter, WritesIntegerStoredDecimalsAsArrowConvertsThem) {
  auto d7 = arrow::decimal128(7, 2), d9 = arrow::decimal128(9, 0),
       d10 = arrow::decimal128(10, 0), d18 = arrow::decimal128(18, 4),
       d38 = arrow::decimal128(38, 6);
  auto nested_type = arrow::struct_({arrow::field("x", d9)});
  auto schema = arrow::schema({arrow::field("d7", d7), arrow::field("d9", d9),
                               arrow::field("d10", d10), arrow::field("d18", d18),
                               arrow::field("d38", d38), arrow::field("s", nested_type)});
  arrow::Decimal128Builder b7(d7), b9(d9), b10(d10), b18(d18), b38(d38), bx(d9);
  const int64_t n = 30000;
  for (int64_t i = 0; i < n; ++i) {
    int64_t r = (i * 2654435761LL) % 1000003 - 500000;
    bool null = i % 89 == 0;
    auto put = [&](arrow::Decimal128Builder& b, arrow::Decimal128 extreme, int64_t v) {
      EXPECT_TRUE((null ? b.AppendNull()
                        : b.Append(i % 7 == 0   ? extreme
                                   : i % 7 == 1 ? -extreme
                                                : arrow::Decimal128(v)))
                      .ok());
    };
    put(b7, arrow::Decimal128(9999999), r);
    put(b9, arrow::Decimal128(999999999), r * 1999);
    put(b10, arrow::Decimal128(9999999999LL), r * 19999);
    put(b18, arrow::Decimal128(999999999999999999LL), r * 1000000007LL);
    put(b38, arrow::Decimal128::GetMaxValue(38), r);
    put(bx, arrow::Decimal128(999999999), -r);
  }
  auto x = bx.Finish().ValueOrDie();
  auto nested = arrow::StructArray::Make({x}, {arrow::field("x", d9)}).ValueOrDie();
  auto rows = arrow::RecordBatch::Make(
      schema, n,
      {b7.Finish().ValueOrDie(), b9.Finish().ValueOrDie(), b10.Finish().ValueOrDie(),
       b18.Finish().ValueOrDie(), b38.Finish().ValueOrDie(), nested});
  // Slices at offsets that are not multiples of 8, so validity bitmaps are shifted.
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches = {
      rows->Slice(3, 9001), rows->Slice(9004, 13), rows->Slice(9017, n - 9017)};

  testing::TempDir dir, arrow_dir;
  INLET_ASSIGN_OR_FAIL(auto store, TableStore::Make(dir.path()));
  DataWriterOptions options;
  options.integer_encoding = IntegerEncoding::kPlain;
  INLET_ASSIGN_OR_FAIL(auto writer, DataWriter::Make(store, schema, options));
  for (const auto& b : batches) INLET_ASSERT_OK(writer->Write(b));
  INLET_ASSIGN_OR_FAIL(auto adds, writer->Finish());
  ASSERT_EQ(adds.size(), 1u);
  std::string ours = dir.Sub(adds[0].path);

  // Arrow's own writer, converting each value itself.
  std::string theirs = arrow_dir.Sub("arrow.parquet");
  {
    auto sink = arrow::io::FileOutputStream::Open(theirs).ValueOrDie();
    auto props = parquet::WriterProperties::Builder()
                     .enable_store_decimal_as_integer()
                     ->compression(arrow::Compression::ZSTD)
                     ->build();
    auto file = parquet::arrow::FileWriter::Open(*schema, arrow::default_memory_pool(),
                                                 sink, props)
                    .ValueOrDie();
    for (const auto& b : batches) INLET_ASSERT_OK(file->WriteRecordBatch(*b));
    INLET_ASSERT_OK(file->Close());
  }
  auto want = ChunkStatistics(theirs);
  auto got = ChunkStatistics(ours);
  EXPECT_EQ(got, want);
  EXPECT_EQ(got["d7"].substr(0, 5), "INT32");
  EXPECT_EQ(got["d10"].substr(0, 5), "INT64");
  auto expected =
      arrow::Table::FromRecordBatches(batches).ValueOrDie()->CombineChunks().ValueOrDie();
  EXPECT_TRUE(ReadBack(ours)->CombineChunks().ValueOrDie()->Equals(*expected));
}

// A decimal that does not fit the integer its column is stored as is still refused (by
// Arrow's conversion), while whatever lies under a null is never looked at.
TEST(DataWriter, RefusesADecimalTooWideForItsIntegerButNotOneUnderANull) {
  auto type = arrow::decimal128(7, 2);
  auto schema = arrow::schema({arrow::field("d", type)});
  // Values 1, 2^40 (too wide for INT32), 3; the second one null or not.
  auto make = [&](bool null) {
    std::vector<arrow::Decimal128> values = {
        arrow::Decimal128(1), arrow::Decimal128(int64_t{1} << 40), arrow::Decimal128(3)};
    auto data = arrow::Buffer::FromVector(std::vector<uint8_t>(
        reinterpret_cast<const uint8_t*>(values.data()),
        reinterpret_cast<const uint8_t*>(values.data() + values.size())));
    std::shared_ptr<arrow::Buffer> validity;
    if (null) validity = arrow::Buffer::FromVector(std::vector<uint8_t>{0b101});
    auto array =
        arrow::MakeArray(arrow::ArrayData::Make(type, 3, {validity, data}, null ? 1 : 0));
    return arrow::RecordBatch::Make(schema, 3, {array});
  };
  for (bool null : {true, false}) {
    testing::TempDir dir;
    INLET_ASSIGN_OR_FAIL(auto store, TableStore::Make(dir.path()));
    INLET_ASSIGN_OR_FAIL(auto writer, DataWriter::Make(store, schema, {}));
    arrow::Status st = writer->Write(make(null));
    auto finished = writer->Finish();
    if (null) {
      INLET_ASSERT_OK(st);
      ASSERT_TRUE(finished.ok()) << finished.status().ToString();
      auto table = ReadBack(dir.Sub((*finished)[0].path));
      EXPECT_EQ(table->column(0)->null_count(), 1);
      EXPECT_EQ(table->column(0)->GetScalar(2).ValueOrDie()->ToString(), "0.03");
    } else {
      EXPECT_FALSE(st.ok() && finished.ok());
    }
  }
}

TEST(DataWriter, WritesInBackgroundInOrderWithItsFlushes) {
  testing::TempDir dir;
  INLET_ASSIGN_OR_FAIL(auto store, TableStore::Make(dir.path()));
  INLET_ASSIGN_OR_FAIL(auto writer, DataWriter::Make(store, Schema(), {}));
  writer->WriteInBackground();
  std::vector<std::vector<std::shared_ptr<arrow::RecordBatch>>> files = {
      {Rows(0, 10), Rows(10, 5000), Rows(5010, 3)},
      {Rows(6000, 1)},
      {Rows(7000, 20000), Rows(27000, 7)}};
  for (const auto& batches : files) {
    for (const auto& b : batches) INLET_ASSERT_OK(writer->Write(b));
    INLET_ASSERT_OK(writer->Flush());
  }
  EXPECT_EQ(writer->rows_written(), 10 + 5000 + 3 + 1 + 20000 + 7);
  INLET_ASSIGN_OR_FAIL(auto adds, writer->Finish());
  ASSERT_EQ(adds.size(), files.size());
  for (size_t f = 0; f < files.size(); ++f) {
    auto expected = arrow::Table::FromRecordBatches(files[f])
                        .ValueOrDie()
                        ->CombineChunks()
                        .ValueOrDie();
    auto got = ReadBack(dir.Sub(adds[f].path))->CombineChunks().ValueOrDie();
    EXPECT_TRUE(got->Equals(*expected)) << "file " << f;
  }
}

TEST(DataWriter, ReportsABackgroundFailureOnTheNextCall) {
  testing::TempDir dir;
  INLET_ASSIGN_OR_FAIL(auto store, TableStore::Make(dir.Sub("t")));
  INLET_ASSIGN_OR_FAIL(auto writer, DataWriter::Make(store, Schema(), {}));
  writer->WriteInBackground();
  // The table directory is gone: opening the file fails, on the writer's thread.
  std::filesystem::remove_all(dir.Sub("t"));
  arrow::Status st = arrow::Status::OK();
  for (int i = 0; i < 100 && st.ok(); ++i) st = writer->Write(Rows(i * 10, 10));
  EXPECT_FALSE(st.ok());
  auto finished = writer->Finish();
  ASSERT_FALSE(finished.ok());
  EXPECT_EQ(finished.status().ToString(), st.ToString());
}

}  // namespace
}  // namespace inlet::table
