// ReadBatches against Arrow's own batch reader: the same schema and values for decimal
// columns of every byte width, with nulls, dictionary and plain pages, several row
// groups, column and row-group selections, and nested and other columns around them.
#include "inlet/table/parquet_file.h"

#include <arrow/api.h>
#include <arrow/filesystem/localfs.h>
#include <arrow/io/file.h>
#include <parquet/arrow/writer.h>
#include <parquet/file_reader.h>

#include <random>

#include "inlet/testing/util.h"

namespace inlet {
namespace {

// Precisions whose FIXED_LEN_BYTE_ARRAY widths cover 1 to 16 bytes.
const std::vector<int> kPrecisions = {1,  2,  4,  7,  9,  11, 14, 16, 18,
                                      19, 21, 24, 26, 28, 31, 33, 38};

std::shared_ptr<arrow::Array> Decimals(int precision, int64_t n, bool nulls, bool few,
                                       std::mt19937_64& rng) {
  auto type = arrow::decimal128(precision, precision / 3);
  arrow::Decimal128Builder b(type);
  // The extremes of the precision, zero, -1, and random values (few: 5 distinct).
  arrow::Decimal128 max = arrow::Decimal128::GetMaxValue(precision);
  for (int64_t i = 0; i < n; ++i) {
    if (nulls && rng() % 7 == 0) {
      EXPECT_TRUE(b.AppendNull().ok());
      continue;
    }
    uint64_t pick = few ? rng() % 5 : rng() % 8;
    arrow::Decimal128 v;
    if (pick == 0) {
      v = max;
    } else if (pick == 1) {
      v = -max;
    } else if (pick == 2) {
      v = 0;
    } else if (pick == 3) {
      v = -1;
    } else if (few) {
      v = 12345 % max;
    } else {
      arrow::Decimal128 r(static_cast<int64_t>(rng() >> 1), rng());
      v = r % max;
      if (rng() % 2) v = -v;
    }
    EXPECT_TRUE(b.Append(v).ok());
  }
  return b.Finish().ValueOrDie();
}

std::shared_ptr<arrow::Table> MakeTable(int64_t n, std::mt19937_64& rng) {
  arrow::FieldVector fields;
  arrow::ArrayVector columns;
  arrow::Int64Builder id;
  for (int64_t i = 0; i < n; ++i) EXPECT_TRUE(id.Append(i).ok());
  fields.push_back(arrow::field("id", arrow::int64(), false));
  columns.push_back(id.Finish().ValueOrDie());
  for (int p : kPrecisions) {
    bool nulls = p % 2 == 1;
    bool few = p % 3 == 0;  // dictionary pages; the others fall back to plain ones
    auto a = Decimals(p, n, nulls, few, rng);
    fields.push_back(arrow::field("d" + std::to_string(p), a->type(), nulls));
    columns.push_back(a);
  }
  // A struct holding a decimal (not top-level: Arrow's reader), and a list of them.
  auto inner = Decimals(9, n, true, false, rng);
  arrow::Int32Builder nb;
  for (int64_t i = 0; i < n; ++i)
    EXPECT_TRUE(nb.Append(static_cast<int32_t>(i % 11)).ok());
  auto s = arrow::StructArray::Make(
               {inner, nb.Finish().ValueOrDie()},
               {arrow::field("amount", inner->type()), arrow::field("n", arrow::int32())})
               .ValueOrDie();
  fields.push_back(arrow::field("s", s->type()));
  columns.push_back(s);
  arrow::ListBuilder lb(
      arrow::default_memory_pool(),
      std::make_shared<arrow::Decimal128Builder>(arrow::decimal128(5, 2)));
  auto* vb = static_cast<arrow::Decimal128Builder*>(lb.value_builder());
  for (int64_t i = 0; i < n; ++i) {
    EXPECT_TRUE(lb.Append().ok());
    for (int64_t k = 0; k < i % 3; ++k)
      EXPECT_TRUE(vb->Append(arrow::Decimal128(i * 7 + k)).ok());
  }
  auto l = lb.Finish().ValueOrDie();
  fields.push_back(arrow::field("l", l->type()));
  columns.push_back(l);
  return arrow::Table::Make(arrow::schema(fields), columns, n);
}

std::shared_ptr<arrow::Table> ReadAll(arrow::RecordBatchReader* reader) {
  return reader->ToTable().ValueOrDie();
}

TEST(ReadBatches, DecimalsReadAsArrowReadsThem) {
  testing::TempDir dir;
  std::mt19937_64 rng(7);
  auto table = MakeTable(5000, rng);
  std::string path = dir.Sub("d.parquet");
  {
    auto out = arrow::io::FileOutputStream::Open(path).ValueOrDie();
    auto props = parquet::WriterProperties::Builder()
                     .dictionary_pagesize_limit(2048)  // some columns fall back mid-chunk
                     ->data_pagesize(4096)
                     ->build();
    ASSERT_TRUE(
        parquet::arrow::WriteTable(*table, arrow::default_memory_pool(), out, 1200, props)
            .ok());
    ASSERT_TRUE(out->Close().ok());
  }
  auto fs = std::make_shared<arrow::fs::LocalFileSystem>();
  for (auto reads : {ParquetReads::kSerial, ParquetReads::kParallel}) {
    for (int64_t batch : {700, 1200, 100000}) {
      auto file = OpenParquetFile(fs, path, batch, reads).ValueOrDie();
      int leaves = file->parquet_reader()->metadata()->num_columns();
      int groups = file->num_row_groups();
      ASSERT_GT(groups, 3);
      std::vector<std::pair<std::vector<int>, std::vector<int>>> selections = {
          {{}, {}},
          {{1, 3}, {}},
          {{}, {0, 2, 5}},
          {{2}, {4, 3}},
          {{}, {1, 2, 3}},                        // decimals only
          {{0, 1}, {leaves - 2, leaves - 1, 6}},  // nested and one decimal
          {{}, {leaves - 3, 2}},  // a struct pruned to one leaf, then a decimal
      };
      for (const auto& [row_groups, columns] : selections) {
        auto ours = ReadBatches(file.get(), row_groups, columns).ValueOrDie();
        auto ours_table = ReadAll(ours.get());
        std::vector<int> all_groups = row_groups, all_columns = columns;
        if (all_groups.empty())
          for (int g = 0; g < groups; ++g) all_groups.push_back(g);
        if (all_columns.empty())
          for (int c = 0; c < leaves; ++c) all_columns.push_back(c);
        auto theirs = file->GetRecordBatchReader(all_groups, all_columns).ValueOrDie();
        auto theirs_table = ReadAll(theirs.get());
        ASSERT_TRUE(ours_table->schema()->Equals(*theirs_table->schema(), true))
            << ours_table->schema()->ToString() << "\n"
            << theirs_table->schema()->ToString();
        ASSERT_TRUE(ours_table->Equals(*theirs_table))
            << "batch " << batch << " selection " << row_groups.size() << "/"
            << columns.size();
      }
      // The whole file equals what was written.
      auto ours = ReadBatches(file.get()).ValueOrDie();
      auto whole = ReadAll(ours.get());
      ASSERT_TRUE(
          whole->Equals(*table->ReplaceSchemaMetadata(whole->schema()->metadata())));
    }
  }
}

}  // namespace
}  // namespace inlet
