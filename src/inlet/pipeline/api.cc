// inlet/pipeline.h: the public pipeline API over pipeline/, load/ and stream/.
#include <arrow/record_batch.h>

#include "inlet/load/state.h"
#include "inlet/pipeline.h"
#include "inlet/pipeline/config.h"
#include "inlet/pipeline/runner.h"
#include "inlet/status.h"

namespace inlet {

namespace {

std::vector<Pipeline> Wrap(std::vector<pipeline::PipelineConfig> configs) {
  std::vector<Pipeline> out;
  for (auto& c : configs)
    out.emplace_back(std::make_shared<const pipeline::PipelineConfig>(std::move(c)));
  return out;
}

}  // namespace

const std::string& Pipeline::name() const { return config_->name; }
const char* Pipeline::source_kind() const { return SourceKind(config_->source); }
bool Pipeline::streams() const { return IsStreamSource(config_->source); }
const std::string& Pipeline::source_location() const {
  if (const auto* k = std::get_if<KafkaSourceConfig>(&config_->source)) return k->topic;
  if (const auto* pg = std::get_if<PostgresSourceConfig>(&config_->source))
    return pg->description;
  if (const auto* cdc = std::get_if<PostgresCdcSourceConfig>(&config_->source))
    return cdc->pg.description;
  if (const auto* http = std::get_if<HttpSourceConfig>(&config_->source))
    return http->description;
  return std::get<FileSourceConfig>(config_->source).path;
}
const std::string& Pipeline::table() const { return config_->destination.path; }
const char* Pipeline::strategy() const {
  return load::StrategyName(config_->strategy.type);
}
const std::string& Pipeline::file() const { return config_->file; }
int Pipeline::line() const { return config_->line; }

arrow::Result<std::vector<Pipeline>> LoadPipelineFile(const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(auto configs, pipeline::LoadPipelines(path));
  return Wrap(std::move(configs));
}

arrow::Result<std::vector<Pipeline>> ParsePipelineText(const std::string& yaml,
                                                       const std::string& file,
                                                       const std::string& base_dir) {
  auto env = [](const std::string& name) -> std::optional<std::string> {
    const char* v = std::getenv(name.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
  };
  ARROW_ASSIGN_OR_RAISE(auto configs,
                        pipeline::ParsePipelines(yaml, file, base_dir, env));
  return Wrap(std::move(configs));
}

arrow::Result<RunReport> RunPipeline(const Pipeline& p, const RunOptions& options) {
  if (p.streams()) {
    return arrow::Status::Invalid("pipeline '", p.name(), "' has a ", p.source_kind(),
                                  " source: it streams (inlet stream), it is not run");
  }
  return pipeline::Run(p.config(), options);
}

RunReport FailedReport(const Pipeline& p, const arrow::Status& st) {
  RunReport r;
  r.pipeline = p.name();
  r.table = p.table();
  r.strategy = p.strategy();
  r.status = RunStatus::kFailed;
  r.error = ErrorText(st);
  return r;
}

arrow::Result<std::map<std::string, std::string>> PipelineStates(
    const Snapshot& snapshot) {
  std::map<std::string, std::string> out;
  const std::string prefix = load::kStateDomainPrefix;
  ARROW_ASSIGN_OR_RAISE(auto documents, snapshot.AppDocuments(prefix));
  for (const auto& [app, document] : documents)  // a reset leaves none
    out[app.substr(prefix.size())] = document;
  return out;
}

arrow::Result<int64_t> ResetPipelineState(Table& table, const std::string& pipeline) {
  ARROW_ASSIGN_OR_RAISE(auto snapshot, table.GetSnapshot({}));
  std::string app = load::StateDomain(pipeline);
  if (!snapshot->HasAppDocument(app)) {
    return arrow::Status::Invalid("no state for pipeline '", pipeline, "' in ",
                                  table.location());
  }
  WriteOptions opts;
  opts.clear_app_documents = {app};
  opts.operation = "RESET PIPELINE";
  opts.operation_parameters["pipeline"] = pipeline;
  ARROW_ASSIGN_OR_RAISE(auto empty,
                        arrow::RecordBatchReader::Make({}, snapshot->schema()));
  ARROW_ASSIGN_OR_RAISE(auto result, table.Write(empty, opts));
  return result.version;
}

}  // namespace inlet
