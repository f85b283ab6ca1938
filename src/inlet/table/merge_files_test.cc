// FileReadAhead: every file's batches in order with an end marker after each, a reader
// dropped while its thread waits on a full queue, and a column that is not in the table.
#include "inlet/table/merge_files.h"

#include <arrow/api.h>

#include "inlet/table/transaction.h"
#include "inlet/testing/util.h"

namespace inlet::table {

namespace {

std::shared_ptr<arrow::Table> Ids(int64_t from, int64_t n) {
  arrow::Int64Builder b;
  for (int64_t i = 0; i < n; ++i) (void)b.Append(from + i);
  return arrow::Table::Make(arrow::schema({arrow::field("id", arrow::int64())}),
                            {b.Finish().ValueOrDie()});
}

class FileReadAheadTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Three files of 150K rows each: three batches per file at the scan's 64K rows.
    INLET_ASSIGN_OR_FAIL(table_, Table::OpenOrCreate(dir_.path()));
    for (int f = 0; f < 3; ++f) {
      auto reader = std::make_shared<arrow::TableBatchReader>(Ids(f * kRows, kRows));
      ASSERT_TRUE(table_->Write(reader, WriteOptions{}).ok());
    }
    auto writable = std::dynamic_pointer_cast<Writable>(table_);
    ASSERT_TRUE(writable);
    INLET_ASSIGN_OR_FAIL(tx_,
                         writable->Begin(*Ids(0, 0)->schema(), WriteOptions{}, false));
    for (const auto& f : tx_->files()) files_.push_back(&f);
  }

  static constexpr int64_t kRows = 150000;
  testing::TempDir dir_;
  std::shared_ptr<Table> table_;
  std::unique_ptr<Transaction> tx_;
  std::vector<const DataFile*> files_;
};

TEST_F(FileReadAheadTest, BatchesOfEveryFileInOrder) {
  ASSERT_EQ(files_.size(), 3u);
  FileReadAhead reads(*tx_, files_);
  for (const DataFile* file : files_) {
    int64_t rows = 0, first = -1, batches = 0;
    while (true) {
      INLET_ASSIGN_OR_FAIL(auto batch, reads.NextBatch());
      if (!batch) break;
      ++batches;
      auto ids = std::static_pointer_cast<arrow::Int64Array>(batch->column(0));
      if (first < 0) first = ids->Value(0);
      for (int64_t i = 0; i < ids->length(); ++i)
        ASSERT_EQ(ids->Value(i), first + rows + i) << file->path;
      rows += batch->num_rows();
    }
    EXPECT_EQ(rows, kRows) << file->path;
    EXPECT_GT(batches, 1) << file->path;
    EXPECT_EQ(first % kRows, 0) << file->path;
  }
  EXPECT_FALSE(reads.NextBatch().ok());  // past the last file
}

TEST_F(FileReadAheadTest, WholeFilesAndAnEarlyStop) {
  {
    FileReadAhead reads(*tx_, files_);
    INLET_ASSIGN_OR_FAIL(auto first, reads.Next());
    EXPECT_EQ(first->num_rows(), kRows);
    // Dropped with its thread waiting on a full queue: it stops, and nothing hangs.
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FileReadAhead keys(*tx_, files_, {"id"});
  INLET_ASSIGN_OR_FAIL(auto rows, keys.Next());
  EXPECT_EQ(rows->num_rows(), kRows);
  EXPECT_EQ(rows->num_columns(), 1);
}

TEST_F(FileReadAheadTest, AColumnNotInTheTable) {
  FileReadAhead reads(*tx_, files_, {"id", "nope"});
  auto batch = reads.NextBatch();
  ASSERT_FALSE(batch.ok());
  EXPECT_NE(batch.status().message().find("'nope'"), std::string::npos)
      << batch.status().ToString();
}

}  // namespace

}  // namespace inlet::table
