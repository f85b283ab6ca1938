// Round trips through the public Table API on local disk, for every table format.
#include "inlet/table.h"

#include <arrow/api.h>
#include <arrow/json/from_string.h>

#include <filesystem>
#include <set>

#include "inlet/status.h"
#include "inlet/testing/formats.h"
#include "inlet/testing/tables.h"
#include "inlet/testing/util.h"

namespace inlet {

namespace {

using testing::CountRows;

class TableTest : public ::testing::TestWithParam<testing::FormatUnderTest> {
 protected:
  void SetUp() override { table_ = GetParam().create(dir_.Sub("t")).ValueOrDie(); }
  arrow::Result<CommitResult> Write(const std::string& json, WriteOptions opts = {}) {
    return table_->Write(testing::JsonRows(testing::IdPartValueRow(), json), opts);
  }
  testing::TempDir dir_;
  std::shared_ptr<Table> table_;
};

}  // namespace

TEST_P(TableTest, CreatesAppendsAndTravelsInTime) {
  WriteOptions create;
  create.partition_by = {"p"};
  INLET_ASSIGN_OR_FAIL(
      auto r0, Write(R"([{"id":1,"p":"a","v":1.5},{"id":2,"p":null,"v":2}])", create));
  EXPECT_EQ(r0.version, 0);
  EXPECT_EQ(r0.files_added, 2);
  INLET_ASSIGN_OR_FAIL(auto r1, Write(R"([{"id":3,"p":"a/b","v":3}])"));
  EXPECT_EQ(r1.version, 1);
  INLET_ASSIGN_OR_FAIL(auto latest, table_->GetSnapshot());
  EXPECT_EQ(latest->version(), 1);
  EXPECT_EQ(latest->partition_columns(), std::vector<std::string>{"p"});
  EXPECT_EQ(CountRows(*latest), 3);
  EXPECT_EQ(CountRows(*latest, "p IS NULL"), 1);
  EXPECT_EQ(CountRows(*latest, "p = 'a/b'"), 1);
  EXPECT_EQ(CountRows(*latest, "id > 1 AND v < 3"), 1);
  INLET_ASSIGN_OR_FAIL(auto v0,
                       table_->GetSnapshot(SnapshotSpec{0, std::nullopt, std::nullopt}));
  EXPECT_EQ(CountRows(*v0), 2);
  EXPECT_FALSE(table_->GetSnapshot(SnapshotSpec{5, std::nullopt, std::nullopt}).ok());
  INLET_ASSIGN_OR_FAIL(auto history, table_->History());
  ASSERT_EQ(history.size(), 2u);
  EXPECT_EQ(history[0].version, 1);
}

TEST_P(TableTest, OverwritesWholeTablePartitionsAndPredicates) {
  WriteOptions create;
  create.partition_by = {"p"};
  INLET_ASSERT_OK(
      Write(R"([{"id":1,"p":"a"},{"id":2,"p":"b"},{"id":3,"p":"c"}])", create).status());
  WriteOptions dyn;
  dyn.mode = WriteMode::kOverwritePartitions;
  INLET_ASSIGN_OR_FAIL(auto r1, Write(R"([{"id":10,"p":"a"},{"id":11,"p":"a"}])", dyn));
  EXPECT_EQ(r1.files_removed, 1);
  INLET_ASSIGN_OR_FAIL(auto s1, table_->GetSnapshot());
  EXPECT_EQ(CountRows(*s1), 4);
  EXPECT_EQ(CountRows(*s1, "p = 'a'"), 2);

  WriteOptions where;
  where.mode = WriteMode::kOverwrite;
  where.replace_where = ParseConjunction("p = 'b'").ValueOrDie();
  INLET_ASSERT_OK(Write(R"([{"id":20,"p":"b"}])", where).status());
  // Rows outside the predicate are refused and the table stays as it was.
  EXPECT_FALSE(Write(R"([{"id":21,"p":"z"}])", where).ok());
  INLET_ASSIGN_OR_FAIL(auto s2, table_->GetSnapshot());
  EXPECT_EQ(s2->version(), 2);
  EXPECT_EQ(CountRows(*s2, "p = 'b'"), 1);

  WriteOptions all;
  all.mode = WriteMode::kOverwrite;
  INLET_ASSERT_OK(Write(R"([{"id":30,"p":"q"}])", all).status());
  INLET_ASSIGN_OR_FAIL(auto s3, table_->GetSnapshot());
  EXPECT_EQ(CountRows(*s3), 1);
}

TEST_P(TableTest, WritesOnAStaleBaseConflict) {
  WriteOptions first;
  first.app_states["app"].version = 1;
  INLET_ASSERT_OK(Write(R"([{"id":1}])", first).status());
  INLET_ASSERT_OK(Write(R"([{"id":2}])").status());  // version 1: a blind append
  WriteOptions stale;
  stale.read_version = 0;
  stale.app_states["app"].version = 2;
  // A blind append after version 0 does not conflict with it...
  INLET_ASSIGN_OR_FAIL(auto r, Write(R"([{"id":3}])", stale));
  EXPECT_EQ(r.version, 2);
  // ...but the same application's transaction (version 2) does.
  auto st = Write(R"([{"id":4}])", stale).status();
  EXPECT_TRUE(IsCommitConflict(st)) << st.ToString();
  WriteOptions absent;
  absent.read_version = -1;
  EXPECT_TRUE(IsCommitConflict(Write(R"([{"id":5}])", absent).status()));
}

TEST_P(TableTest, MergesNewColumnsWhenAsked) {
  INLET_ASSERT_OK(Write(R"([{"id":1}])").status());
  auto wide = arrow::struct_(
      {arrow::field("id", arrow::int64()), arrow::field("extra", arrow::utf8())});
  auto array =
      arrow::json::ArrayFromJSONString(wide, R"([{"id":2,"extra":"x"}])").ValueOrDie();
  auto batch = arrow::RecordBatch::FromStructArray(array).ValueOrDie();
  EXPECT_FALSE(
      table_->Write(arrow::RecordBatchReader::Make({batch}).ValueOrDie(), {}).ok());
  WriteOptions merge;
  merge.merge_schema = true;
  INLET_ASSERT_OK(
      table_->Write(arrow::RecordBatchReader::Make({batch}).ValueOrDie(), merge)
          .status());
  INLET_ASSIGN_OR_FAIL(auto s, table_->GetSnapshot());
  EXPECT_NE(s->schema()->GetFieldByName("extra"), nullptr);
  EXPECT_EQ(CountRows(*s, "extra IS NULL"), 1);
}

TEST_P(TableTest, RejectsIncompatibleSchemaWithoutCommitting) {
  INLET_ASSERT_OK(Write(R"([{"id":1,"p":"a","v":1}])").status());
  auto other = arrow::struct_({arrow::field("id", arrow::utf8())});
  auto st = table_->Write(testing::JsonRows(other, R"([{"id":"x"}])"), {}).status();
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("column 'id'"), std::string::npos) << st.ToString();
  INLET_ASSIGN_OR_FAIL(auto s, table_->GetSnapshot());
  EXPECT_EQ(s->version(), 0);
}

TEST_P(TableTest, RecordsApplicationState) {
  WriteOptions opts;
  opts.app_states["pipeline-1"].version = 7;
  opts.app_states["inlet.state"].document = R"({"watermark":"2024-01-01"})";
  INLET_ASSERT_OK(Write(R"([{"id":1}])", opts).status());
  INLET_ASSIGN_OR_FAIL(auto s, table_->GetSnapshot());
  EXPECT_EQ(s->AppVersion("pipeline-1"), 7);
  EXPECT_EQ(s->AppVersion("other"), std::nullopt);
  INLET_ASSIGN_OR_FAIL(auto document, s->AppDocument("inlet.state"));
  EXPECT_EQ(document, R"({"watermark":"2024-01-01"})");
  INLET_ASSIGN_OR_FAIL(auto documents, s->AppDocuments("inlet."));
  EXPECT_EQ(documents.size(), 1u);
  WriteOptions remove;
  remove.clear_app_documents = {"inlet.state"};
  INLET_ASSERT_OK(Write(R"([{"id":2}])", remove).status());
  INLET_ASSIGN_OR_FAIL(auto s2, table_->GetSnapshot());
  INLET_ASSIGN_OR_FAIL(auto cleared, s2->AppDocument("inlet.state"));
  EXPECT_EQ(cleared, std::nullopt);
}

TEST_P(TableTest, FailuresCarryTheirKind) {
  // No table: Open and a snapshot of an empty location say so by kind, not only by text.
  auto missing = Table::Open(dir_.Sub("none"));
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(KindOf(missing.status()), ErrorKind::kTableNotFound)
      << missing.status().ToString();
  EXPECT_TRUE(IsTableNotFound(table_->GetSnapshot().status()));
  INLET_ASSERT_OK(Write(R"([{"id":1,"p":"a","v":1}])").status());
  // Input that does not fit the table.
  auto other = arrow::struct_({arrow::field("id", arrow::utf8())});
  auto mismatch = table_->Write(testing::JsonRows(other, R"([{"id":"x"}])"), {}).status();
  EXPECT_EQ(KindOf(mismatch), ErrorKind::kSchemaMismatch) << mismatch.ToString();
  // A conflict keeps its kind through WithMessage, as callers add context.
  auto conflict = CommitConflict("lost").WithMessage("pipeline p: ", "lost");
  EXPECT_TRUE(IsCommitConflict(conflict));
  EXPECT_EQ(KindOf(arrow::Status::Invalid("conflict: not really")), std::nullopt);
}

INLET_FOR_EACH_FORMAT(TableTest);

}  // namespace inlet
