#include "inlet/pipeline/config.h"

#include <arrow/type.h>

#include "inlet/testing/util.h"

namespace inlet::pipeline {

namespace {

arrow::Result<std::vector<PipelineConfig>> Parse(
    const std::string& yaml, std::map<std::string, std::string> env = {}) {
  return ParsePipelines(yaml, "p.yaml", "/base",
                        [env](const std::string& k) -> std::optional<std::string> {
                          auto it = env.find(k);
                          if (it == env.end()) return std::nullopt;
                          return it->second;
                        });
}

constexpr char kValid[] = R"yaml(pipelines:
  - name: parking
    source:
      path: in/*.json
      schema: {ts: timestamp, n: int, d: "decimal(10,2)"}
    destination:
      path: ${ROOT:-/data}/t
      partition_by: [day(ts), h=hour(ts), region]
      keys: [id]
    strategy:
      type: watermark
      cursor: ts
      lookback: 2h
      null_cursor: exclude
    quality:
      max_rows: 100
      null_keys: quarantine
      quarantine_path: rejects
)yaml";

}  // namespace

TEST(Config, ParsesAValidFile) {
  INLET_ASSIGN_OR_FAIL(auto pipelines, Parse(kValid));
  ASSERT_EQ(pipelines.size(), 1u);
  const auto& p = pipelines[0];
  EXPECT_EQ(p.name, "parking");
  ASSERT_TRUE(std::holds_alternative<FileSourceConfig>(p.source));
  const auto& source = std::get<FileSourceConfig>(p.source);
  EXPECT_EQ(source.path, "/base/in/*.json");
  ASSERT_EQ(source.decoding.schema.size(), 3u);
  EXPECT_TRUE(source.decoding.schema[0].second->Equals(
      *arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")));
  EXPECT_TRUE(source.decoding.schema[2].second->Equals(*arrow::decimal128(10, 2)));
  EXPECT_EQ(p.destination.path, "/data/t");
  ASSERT_EQ(p.destination.partition_by.size(), 3u);
  EXPECT_EQ(p.destination.partition_by[0].name, "ts_day");
  EXPECT_EQ(p.destination.partition_by[1].name, "h");
  EXPECT_EQ(p.destination.partition_by[1].transform, "hour");
  EXPECT_EQ(p.destination.partition_by[2].transform, "");
  EXPECT_EQ(p.strategy.type, StrategyType::kWatermark);
  ASSERT_TRUE(p.strategy.lookback.has_value());
  EXPECT_EQ(p.strategy.lookback->value, 2LL * 3600 * 1000000);
  EXPECT_EQ(p.strategy.null_cursor, NullCursorPolicy::kExclude);
  EXPECT_EQ(p.quality.max_rows, 100);
  EXPECT_EQ(p.quality.quarantine_path, "/base/rejects");
}

TEST(Config, ExpandsEnvironmentVariables) {
  INLET_ASSIGN_OR_FAIL(auto pipelines, Parse(kValid, {{"ROOT", "/elsewhere"}}));
  EXPECT_EQ(pipelines[0].destination.path, "/elsewhere/t");
  std::string unset = std::string(kValid);
  unset.replace(unset.find("${ROOT:-/data}"), 14, "${NOPE}");
  auto st = Parse(unset).status();
  EXPECT_NE(st.message().find("NOPE is not set"), std::string::npos) << st.ToString();
}

TEST(Config, ErrorsNameFileLineAndKey) {
  std::string typo = std::string(kValid);
  typo.replace(typo.find("cursor: ts"), 10, "cursr: ts");
  auto st = Parse(typo).status();
  EXPECT_NE(
      st.message().find("p.yaml:12: pipelines[parking].strategy.cursr: unknown key"),
      std::string::npos)
      << st.ToString();

  std::string bad_type = std::string(kValid);
  bad_type.replace(bad_type.find("max_rows: 100"), 13, "max_rows: many");
  st = Parse(bad_type).status();
  EXPECT_NE(st.message().find("quality.max_rows: expected an integer"), std::string::npos)
      << st.ToString();

  std::string bad_strategy = std::string(kValid);
  bad_strategy.replace(bad_strategy.find("type: watermark"), 15, "type: upsert");
  st = Parse(bad_strategy).status();
  EXPECT_NE(st.message().find("unknown strategy 'upsert'"), std::string::npos)
      << st.ToString();

  st = Parse("pipelines:\n  - name: [unclosed\n").status();
  EXPECT_NE(st.message().find("p.yaml:"), std::string::npos) << st.ToString();
  EXPECT_NE(st.message().find("invalid YAML"), std::string::npos) << st.ToString();

  std::string no_cursor = std::string(kValid);
  no_cursor.replace(no_cursor.find("      cursor: ts\n"), 17, "");
  st = Parse(no_cursor).status();
  EXPECT_NE(st.message().find("cursor: is required"), std::string::npos) << st.ToString();

  std::string run_size = std::string(kValid);
  run_size.replace(run_size.find("      keys: [id]\n"), 17,
                   "      keys: [id]\n      sort_run_size: 0\n");
  st = Parse(run_size).status();
  EXPECT_NE(st.message().find(
                "p.yaml:10: pipelines[parking].destination.sort_run_size: must be a "
                "positive number of bytes"),
            std::string::npos)
      << st.ToString();
}

TEST(Config, SortRunSize) {
  std::string yaml = std::string(kValid);
  yaml.replace(yaml.find("      keys: [id]\n"), 17,
               "      keys: [id]\n      sort_run_size: 67108864\n");
  INLET_ASSIGN_OR_FAIL(auto pipelines, Parse(yaml));
  EXPECT_EQ(pipelines[0].destination.sort_run_size, 67108864);
  INLET_ASSIGN_OR_FAIL(pipelines, Parse(kValid));
  EXPECT_FALSE(pipelines[0].destination.sort_run_size.has_value());
}

TEST(Config, TypeNames) {
  EXPECT_TRUE(ParseTypeName("BIGINT").ValueOrDie()->Equals(*arrow::int64()));
  EXPECT_FALSE(ParseTypeName("decimal(50,2)").ok());
  EXPECT_FALSE(ParseTypeName("uuid").ok());
}

}  // namespace inlet::pipeline
