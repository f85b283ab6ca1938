// The public pipeline API (inlet/pipeline.h), used as the CLI and the Python package use
// it.
#include <filesystem>

#include "inlet/pipeline.h"
#include "inlet/table.h"
#include "inlet/testing/util.h"

namespace inlet {

namespace {

class PipelineApiTest : public ::testing::Test {
 protected:
  arrow::Result<std::vector<Pipeline>> Parse(const std::string& strategy) {
    return ParsePipelineText(
        "pipelines:\n"
        "  - name: orders\n"
        "    source: {path: in/*.csv}\n"
        "    destination: {path: t, keys: [id]}\n"
        "    strategy: {type: " +
            strategy +
            "}\n"
            "  - name: events\n"
            "    source: {type: kafka, brokers: 'localhost:1', topic: events}\n"
            "    destination: {path: e}\n"
            "    strategy: {type: append}\n",
        "p.yaml", dir_.path());
  }
  testing::TempDir dir_;
};

}  // namespace

TEST_F(PipelineApiTest, RunsAPipelineAndKeepsItsState) {
  INLET_ASSIGN_OR_FAIL(auto pipelines, Parse("append"));
  ASSERT_EQ(pipelines.size(), 2u);
  const Pipeline& orders = pipelines[0];
  EXPECT_EQ(orders.name(), "orders");
  EXPECT_STREQ(orders.source_kind(), "files");
  EXPECT_FALSE(orders.streams());
  EXPECT_STREQ(orders.strategy(), "append");
  EXPECT_EQ(orders.table(), dir_.Sub("t"));
  EXPECT_TRUE(pipelines[1].streams());
  EXPECT_EQ(pipelines[1].source_location(), "events");

  testing::WriteTextFile(dir_.Sub("in/a.csv"), "id,amount\n1,10\n2,20\n");
  INLET_ASSIGN_OR_FAIL(RunReport first, RunPipeline(orders));
  EXPECT_EQ(first.status, RunStatus::kCommitted) << first.ToText();
  EXPECT_EQ(first.rows_written, 2);
  EXPECT_EQ(first.run, 1);
  EXPECT_NE(first.ToJson().find("\"status\":\"committed\""), std::string::npos);
  INLET_ASSIGN_OR_FAIL(RunReport again, RunPipeline(orders));
  EXPECT_EQ(again.status, RunStatus::kNoChanges);

  INLET_ASSIGN_OR_FAIL(auto table, Table::Open(dir_.Sub("t")));
  INLET_ASSIGN_OR_FAIL(auto snapshot, table->GetSnapshot());
  INLET_ASSIGN_OR_FAIL(auto states, PipelineStates(*snapshot));
  ASSERT_EQ(states.count("orders"), 1u);
  EXPECT_NE(states["orders"].find("a.csv"),
            std::string::npos);  // the file source's position
  INLET_ASSIGN_OR_FAIL(int64_t version, ResetPipelineState(*table, "orders"));
  INLET_ASSIGN_OR_FAIL(auto reset, table->GetSnapshot());
  EXPECT_EQ(reset->version(), version);
  INLET_ASSIGN_OR_FAIL(auto after_reset, PipelineStates(*reset));
  EXPECT_TRUE(after_reset.empty());
  EXPECT_TRUE(ResetPipelineState(*table, "orders")
                  .status()
                  .IsInvalid());  // nothing left to clear
  // After a reset the run counter goes on, and the files are loaded again.
  INLET_ASSIGN_OR_FAIL(RunReport after, RunPipeline(orders));
  EXPECT_EQ(after.status, RunStatus::kCommitted);
  EXPECT_EQ(after.run, 2);
}

TEST_F(PipelineApiTest, RefusesWhatAPipelineCannotDo) {
  INLET_ASSIGN_OR_FAIL(auto pipelines, Parse("append"));
  auto streamed = RunPipeline(pipelines[1]);
  ASSERT_FALSE(streamed.ok());
  EXPECT_NE(streamed.status().message().find("kafka"), std::string::npos)
      << streamed.status().ToString();
  RunOptions backfill;
  backfill.backfill_from = "1";
  backfill.backfill_to = "2";
  auto refused = RunPipeline(pipelines[0], backfill);
  ASSERT_FALSE(refused.ok());
  RunReport failed = FailedReport(pipelines[0], refused.status());
  EXPECT_EQ(failed.status, RunStatus::kFailed);
  EXPECT_NE(failed.ToText().find("failed"), std::string::npos);
  // Errors in the file name the file, the line and the key.
  auto bad = ParsePipelineText(
      "pipelines:\n  - name: x\n    source: {path: a}\n    destination: {path: t}\n"
      "    strategy: {type: upsert}\n",
      "p.yaml", dir_.path());
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("p.yaml:5"), std::string::npos)
      << bad.status().ToString();
}

}  // namespace inlet
