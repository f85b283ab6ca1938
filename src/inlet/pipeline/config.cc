// Pipeline files: the sections of a pipeline (sources in source_config.cc, destinations
// in destination_config.cc), validated in one place. With source_config.cc and
// yaml_reader.h, the one boundary to yaml-cpp: its exceptions are caught in
// ParsePipelines and become Status.
#include "inlet/pipeline/config.h"

#include <arrow/status.h>
#include <arrow/type.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "inlet/pipeline/yaml_reader.h"
#include "inlet/source/http_pages.h"
#include "inlet/storage/s3.h"

namespace inlet::pipeline {

namespace {

arrow::Status ParseChanges(const YamlReader& r, const YAML::Node& n,
                           const std::string& key, StrategyConfig* out) {
  bool cdc = out->type == StrategyType::kCdc;
  for (const char* opt : {"sequence_by", "operation_column", "operations",
                          "keep_operation_column", "scd_type", "track_history_columns",
                          "valid_from_column", "valid_to_column", "is_current_column"}) {
    if (n[opt] && !cdc)
      return r.Error(n[opt], key + "." + opt, "applies only to the cdc strategy");
  }
  if (!cdc) return arrow::Status::OK();
  if (!n["sequence_by"]) {
    // A source that orders its own changes (postgres_cdc) set a default.
    if (out->sequence_by.empty())
      return r.Error(n, key + ".sequence_by", "is required for the cdc strategy");
  } else if (n["sequence_by"].IsScalar()) {
    ARROW_ASSIGN_OR_RAISE(auto one, r.String(n["sequence_by"], key + ".sequence_by"));
    out->sequence_by = {one};
  } else {
    ARROW_ASSIGN_OR_RAISE(out->sequence_by,
                          r.StringList(n["sequence_by"], key + ".sequence_by"));
  }
  if (out->sequence_by.empty())
    return r.Error(n, key + ".sequence_by", "names no column");
  if (n["operation_column"]) {
    ARROW_ASSIGN_OR_RAISE(out->operation_column,
                          r.String(n["operation_column"], key + ".operation_column"));
  }
  if (n["keep_operation_column"]) {
    ARROW_ASSIGN_OR_RAISE(
        out->keep_operation_column,
        r.Bool(n["keep_operation_column"], key + ".keep_operation_column"));
  }
  if (const auto& ops = n["operations"]) {
    if (!ops.IsMap())
      return r.Error(
          ops, key + ".operations",
          "expected a mapping of operation values to insert, update, delete or truncate");
    for (const auto& kv : ops) {
      std::string value = kv.first.as<std::string>();
      ARROW_ASSIGN_OR_RAISE(
          out->operations[value],
          r.Enum<load::ChangeOp>(kv.second, key + ".operations." + value,
                                 {{"insert", load::ChangeOp::kUpsert},
                                  {"update", load::ChangeOp::kUpsert},
                                  {"upsert", load::ChangeOp::kUpsert},
                                  {"delete", load::ChangeOp::kDelete},
                                  {"truncate", load::ChangeOp::kTruncate}},
                                 "operation"));
    }
  }
  if (n["scd_type"]) {
    ARROW_ASSIGN_OR_RAISE(out->scd_type, r.Int(n["scd_type"], key + ".scd_type"));
    if (out->scd_type != 1 && out->scd_type != 2) {
      return r.Error(n["scd_type"], key + ".scd_type",
                     "must be 1 (current state) or 2 (history)");
    }
  }
  bool history = out->scd_type == 2;
  for (const char* opt : {"track_history_columns", "valid_from_column", "valid_to_column",
                          "is_current_column"}) {
    if (n[opt] && !history)
      return r.Error(n[opt], key + "." + opt, "applies only with scd_type: 2");
  }
  if (n["track_history_columns"]) {
    ARROW_ASSIGN_OR_RAISE(
        out->track_history_columns,
        r.StringList(n["track_history_columns"], key + ".track_history_columns"));
  }
  std::vector<std::pair<const char*, std::string*>> names = {
      {"valid_from_column", &out->valid_from_column},
      {"valid_to_column", &out->valid_to_column},
      {"is_current_column", &out->is_current_column}};
  for (const auto& [opt, field] : names) {
    if (n[opt]) {
      ARROW_ASSIGN_OR_RAISE(*field, r.String(n[opt], key + "." + opt));
    }
  }
  return arrow::Status::OK();
}

arrow::Status ParseStrategy(const YamlReader& r, const YAML::Node& n,
                            const std::string& key, StrategyConfig* out) {
  ARROW_RETURN_NOT_OK(r.CheckKeys(n, key,
                                  {"type",
                                   "cursor",
                                   "inclusive",
                                   "lookback",
                                   "safety_margin",
                                   "null_cursor",
                                   "mode",
                                   "order_by",
                                   "stale_rows",
                                   "delete_flag",
                                   "ignore_null_updates",
                                   "update_columns",
                                   "deletes",
                                   "soft_delete_column",
                                   "min_change_percent",
                                   "max_delete_percent",
                                   "full_refresh_every_runs",
                                   "full_refresh_every_hours",
                                   "sequence_by",
                                   "operation_column",
                                   "operations",
                                   "keep_operation_column",
                                   "scd_type",
                                   "track_history_columns",
                                   "valid_from_column",
                                   "valid_to_column",
                                   "is_current_column"}));
  if (!n["type"]) return r.Error(n, key + ".type", "is required");
  ARROW_ASSIGN_OR_RAISE(
      out->type, r.Enum<StrategyType>(n["type"], key + ".type",
                                      {{"full_refresh", StrategyType::kFullRefresh},
                                       {"append", StrategyType::kAppend},
                                       {"watermark", StrategyType::kWatermark},
                                       {"merge", StrategyType::kMerge},
                                       {"snapshot_diff", StrategyType::kSnapshotDiff},
                                       {"cdc", StrategyType::kCdc}},
                                      "strategy"));
  ARROW_RETURN_NOT_OK(ParseChanges(r, n, key, out));
  bool diff = out->type == StrategyType::kSnapshotDiff;
  for (const char* opt : {"deletes", "soft_delete_column", "min_change_percent",
                          "full_refresh_every_runs", "full_refresh_every_hours"}) {
    if (n[opt] && !diff)
      return r.Error(n[opt], key + "." + opt,
                     "applies only to the snapshot_diff strategy");
  }
  if (n["deletes"]) {
    ARROW_ASSIGN_OR_RAISE(out->deletes, r.Enum(n["deletes"], key + ".deletes",
                                               MissingKeysNames(), "deletes policy"));
  }
  if (n["soft_delete_column"]) {
    ARROW_ASSIGN_OR_RAISE(out->soft_delete_column,
                          r.String(n["soft_delete_column"], key + ".soft_delete_column"));
  }
  if (out->deletes == MissingKeys::kSoftDelete && out->soft_delete_column.empty()) {
    return r.Error(n, key + ".soft_delete_column",
                   "is required when deletes is soft_delete");
  }
  if (n["min_change_percent"]) {
    ARROW_ASSIGN_OR_RAISE(std::string v,
                          r.String(n["min_change_percent"], key + ".min_change_percent"));
    char* end = nullptr;
    out->min_change_percent = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || out->min_change_percent < 0) {
      return r.Error(n["min_change_percent"], key + ".min_change_percent",
                     "expected a non-negative number, got '" + v + "'");
    }
  }
  if (n["max_delete_percent"]) {
    if (!diff && out->type != StrategyType::kFullRefresh) {
      return r.Error(n["max_delete_percent"], key + ".max_delete_percent",
                     "applies only to the snapshot_diff and full_refresh strategies");
    }
    ARROW_ASSIGN_OR_RAISE(std::string v,
                          r.String(n["max_delete_percent"], key + ".max_delete_percent"));
    char* end = nullptr;
    out->max_delete_percent = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || *out->max_delete_percent < 0 ||
        *out->max_delete_percent > 100) {
      return r.Error(n["max_delete_percent"], key + ".max_delete_percent",
                     "expected a percentage from 0 to 100, got '" + v + "'");
    }
  }
  if (n["full_refresh_every_runs"]) {
    ARROW_ASSIGN_OR_RAISE(
        out->full_refresh_every_runs,
        r.Int(n["full_refresh_every_runs"], key + ".full_refresh_every_runs"));
  }
  if (n["full_refresh_every_hours"]) {
    ARROW_ASSIGN_OR_RAISE(int64_t h, r.Int(n["full_refresh_every_hours"],
                                           key + ".full_refresh_every_hours"));
    out->full_refresh_every_hours = static_cast<double>(h);
  }
  bool merge = out->type == StrategyType::kMerge;
  for (const char* opt : {"mode", "order_by", "stale_rows", "delete_flag",
                          "ignore_null_updates", "update_columns"}) {
    if (n[opt] && !merge)
      return r.Error(n[opt], key + "." + opt, "applies only to the merge strategy");
  }
  if (n["mode"]) {
    // A snapshot merge is the snapshot_diff strategy.
    std::vector<std::pair<const char*, MergeMode>> modes;
    for (const auto& m : MergeModeNames()) {
      if (m.second != MergeMode::kSnapshot) modes.push_back(m);
    }
    ARROW_ASSIGN_OR_RAISE(out->merge_mode,
                          r.Enum(n["mode"], key + ".mode", modes, "merge mode"));
  }
  if (n["order_by"]) {
    ARROW_ASSIGN_OR_RAISE(out->order_by, r.String(n["order_by"], key + ".order_by"));
  }
  if (n["stale_rows"]) {
    if (!n["order_by"])
      return r.Error(n["stale_rows"], key + ".stale_rows", "applies only with order_by");
    ARROW_ASSIGN_OR_RAISE(
        out->order_against_table,
        r.Enum<bool>(n["stale_rows"], key + ".stale_rows",
                     {{"skip", true}, {"apply", false}}, "stale_rows policy"));
  }
  if (n["delete_flag"]) {
    ARROW_ASSIGN_OR_RAISE(out->delete_flag,
                          r.String(n["delete_flag"], key + ".delete_flag"));
  }
  if (n["ignore_null_updates"]) {
    ARROW_ASSIGN_OR_RAISE(out->ignore_null_updates,
                          r.Bool(n["ignore_null_updates"], key + ".ignore_null_updates"));
  }
  if (n["update_columns"]) {
    ARROW_ASSIGN_OR_RAISE(out->update_columns,
                          r.StringList(n["update_columns"], key + ".update_columns"));
  }
  bool watermark = out->type == StrategyType::kWatermark;
  for (const char* opt :
       {"cursor", "inclusive", "lookback", "safety_margin", "null_cursor"}) {
    if (n[opt] && !watermark) {
      return r.Error(n[opt], key + "." + opt, "applies only to the watermark strategy");
    }
  }
  if (watermark && !n["cursor"])
    return r.Error(n, key + ".cursor", "is required for the watermark strategy");
  if (n["cursor"]) {
    ARROW_ASSIGN_OR_RAISE(out->cursor, r.String(n["cursor"], key + ".cursor"));
  }
  if (n["inclusive"]) {
    ARROW_ASSIGN_OR_RAISE(out->inclusive, r.Bool(n["inclusive"], key + ".inclusive"));
  }
  if (n["lookback"]) {
    ARROW_ASSIGN_OR_RAISE(out->lookback, r.SpanOf(n["lookback"], key + ".lookback"));
  }
  if (n["safety_margin"]) {
    ARROW_ASSIGN_OR_RAISE(out->safety_margin,
                          r.SpanOf(n["safety_margin"], key + ".safety_margin"));
  }
  if (n["null_cursor"]) {
    ARROW_ASSIGN_OR_RAISE(out->null_cursor, r.Enum<NullCursorPolicy>(
                                                n["null_cursor"], key + ".null_cursor",
                                                {{"fail", NullCursorPolicy::kFail},
                                                 {"include", NullCursorPolicy::kInclude},
                                                 {"exclude", NullCursorPolicy::kExclude}},
                                                "null_cursor policy"));
  }
  return arrow::Status::OK();
}

arrow::Status ParseQuality(const YamlReader& r, const YAML::Node& n,
                           const std::string& key, QualityConfig* out) {
  ARROW_RETURN_NOT_OK(r.CheckKeys(n, key,
                                  {"min_rows", "max_rows", "null_keys", "duplicate_keys",
                                   "quarantine_path", "schema_drift"}));
  if (n["min_rows"]) {
    ARROW_ASSIGN_OR_RAISE(out->min_rows, r.Int(n["min_rows"], key + ".min_rows"));
  }
  if (n["max_rows"]) {
    ARROW_ASSIGN_OR_RAISE(out->max_rows, r.Int(n["max_rows"], key + ".max_rows"));
  }
  std::vector<std::pair<const char*, RejectPolicy>> reject = {
      {"fail", RejectPolicy::kFail},
      {"quarantine", RejectPolicy::kQuarantine},
      {"allow", RejectPolicy::kAllow}};
  if (n["null_keys"]) {
    ARROW_ASSIGN_OR_RAISE(out->null_keys,
                          r.Enum(n["null_keys"], key + ".null_keys", reject, "policy"));
  }
  if (n["duplicate_keys"]) {
    ARROW_ASSIGN_OR_RAISE(
        out->duplicate_keys,
        r.Enum(n["duplicate_keys"], key + ".duplicate_keys", reject, "policy"));
  }
  if (n["quarantine_path"]) {
    ARROW_ASSIGN_OR_RAISE(std::string p,
                          r.String(n["quarantine_path"], key + ".quarantine_path"));
    out->quarantine_path = r.ResolvePath(p);
  }
  if (n["schema_drift"]) {
    ARROW_ASSIGN_OR_RAISE(
        out->schema_drift,
        r.Enum<SchemaDriftPolicy>(n["schema_drift"], key + ".schema_drift",
                                  {{"fail", SchemaDriftPolicy::kFail},
                                   {"add_columns", SchemaDriftPolicy::kAddColumns},
                                   {"ignore", SchemaDriftPolicy::kIgnore}},
                                  "schema_drift policy"));
  }
  bool quarantine = out->null_keys == RejectPolicy::kQuarantine ||
                    out->duplicate_keys == RejectPolicy::kQuarantine;
  if (quarantine && out->quarantine_path.empty()) {
    return r.Error(n, key + ".quarantine_path",
                   "is required when a policy is quarantine");
  }
  return arrow::Status::OK();
}

arrow::Status ParseProcessing(const YamlReader& r, const YAML::Node& n,
                              const std::string& key, ProcessingConfig* out) {
  ARROW_RETURN_NOT_OK(
      r.CheckKeys(n, key,
                  {"batch_size", "max_retries", "flush_rows", "flush_bytes",
                   "flush_interval", "max_transaction_rows"}));
  for (auto [name, field] :
       {std::pair{"flush_rows", &out->flush_rows},
        std::pair{"flush_bytes", &out->flush_bytes},
        std::pair{"max_transaction_rows", &out->max_transaction_rows}}) {
    if (!n[name]) continue;
    ARROW_ASSIGN_OR_RAISE(*field, r.Int(n[name], key + "." + name));
    if (*field <= 0) return r.Error(n[name], key + "." + name, "must be positive");
  }
  if (n["flush_interval"]) {
    ARROW_ASSIGN_OR_RAISE(Span span,
                          r.SpanOf(n["flush_interval"], key + ".flush_interval"));
    // A plain number is seconds, as in the seeds' flush-interval: 60.
    out->flush_interval_ms = span.has_unit ? span.value / 1000 : span.value * 1000;
    if (out->flush_interval_ms <= 0)
      return r.Error(n["flush_interval"], key + ".flush_interval", "must be positive");
  }
  if (n["batch_size"]) {
    ARROW_ASSIGN_OR_RAISE(out->batch_size, r.Int(n["batch_size"], key + ".batch_size"));
  }
  if (n["max_retries"]) {
    ARROW_ASSIGN_OR_RAISE(int64_t v, r.Int(n["max_retries"], key + ".max_retries"));
    out->max_retries = static_cast<int>(v);
  }
  if (out->batch_size <= 0)
    return r.Error(n["batch_size"], key + ".batch_size", "must be positive");
  if (out->max_retries < 0)
    return r.Error(n["max_retries"], key + ".max_retries", "must not be negative");
  return arrow::Status::OK();
}

// schedule: every or cron (with timezone), jitter, missed, retries, retry_backoff.
arrow::Result<ScheduleConfig> ParseSchedule(const YamlReader& r, const YAML::Node& n,
                                            const std::string& key) {
  ARROW_RETURN_NOT_OK(r.CheckKeys(
      n, key,
      {"every", "cron", "timezone", "jitter", "missed", "retries", "retry_backoff"}));
  ScheduleConfig s;
  if (static_cast<bool>(n["every"]) == static_cast<bool>(n["cron"]))
    return r.Error(n, key, "give every (an interval such as 15m) or cron (one of them)");
  if (n["every"]) {
    ARROW_ASSIGN_OR_RAISE(s.every_ms, r.Millis(n["every"], key + ".every"));
    if (s.every_ms < 1000)
      return r.Error(n["every"], key + ".every", "must be at least one second");
    if (n["timezone"]) return r.Error(n["timezone"], key + ".timezone", "goes with cron");
  } else {
    ARROW_ASSIGN_OR_RAISE(s.cron, r.String(n["cron"], key + ".cron"));
    auto spec = ParseCron(s.cron);
    if (!spec.ok()) return r.Error(n["cron"], key + ".cron", spec.status().message());
    s.cron_spec = *spec;
    if (n["timezone"]) {
      ARROW_ASSIGN_OR_RAISE(s.timezone, r.String(n["timezone"], key + ".timezone"));
    }
    auto zone = CheckTimeZone(s.timezone);
    if (!zone.ok())
      return r.Error(n["timezone"] ? n["timezone"] : n, key + ".timezone",
                     zone.message());
    auto first = NextDue(s, 0);
    if (!first.ok()) return r.Error(n["cron"], key + ".cron", first.status().message());
  }
  if (n["jitter"]) {
    ARROW_ASSIGN_OR_RAISE(s.jitter_ms,
                          r.Millis(n["jitter"], key + ".jitter", /*zero_ok=*/true));
  }
  if (n["missed"]) {
    ARROW_ASSIGN_OR_RAISE(s.missed, r.Enum<ScheduleConfig::Missed>(
                                        n["missed"], key + ".missed",
                                        {{"run_once", ScheduleConfig::Missed::kRunOnce},
                                         {"skip", ScheduleConfig::Missed::kSkip}},
                                        "policy"));
  }
  if (n["retries"]) {
    ARROW_ASSIGN_OR_RAISE(int64_t retries, r.Int(n["retries"], key + ".retries"));
    if (retries < 0 || retries > 100)
      return r.Error(n["retries"], key + ".retries", "must be 0 to 100");
    s.retries = static_cast<int>(retries);
  }
  if (n["retry_backoff"]) {
    ARROW_ASSIGN_OR_RAISE(s.retry_backoff_ms,
                          r.Millis(n["retry_backoff"], key + ".retry_backoff"));
  }
  return s;
}

// An http source's incremental parameters against the strategy: what {watermark} stands
// for must be known, and an append must not load every record again.
arrow::Status CheckHttpSource(const YamlReader& r, const YAML::Node& n,
                              const std::string& k, const StrategyConfig& strategy,
                              const HttpSourceConfig& http) {
  const YAML::Node& source = n["source"];
  bool placeholder = http.url.find(kWatermarkPlaceholder) != std::string::npos ||
                     http.body.find(kWatermarkPlaceholder) != std::string::npos;
  for (const auto& [name, value] : http.params)
    placeholder = placeholder || value.find(kWatermarkPlaceholder) != std::string::npos;
  bool watermark = strategy.type == StrategyType::kWatermark;
  const std::string& cursor = http.incremental.cursor;
  if (watermark && !cursor.empty())
    return r.Error(source["incremental"], k + ".source.incremental.cursor",
                   "the watermark strategy's cursor gives {watermark} its value: leave "
                   "this out");
  if (!cursor.empty() && !placeholder)
    return r.Error(source["incremental"], k + ".source.incremental.cursor",
                   "nothing sends it: put {watermark} in source.params (or the url or "
                   "body)");
  if (!cursor.empty() && strategy.type != StrategyType::kAppend &&
      strategy.type != StrategyType::kMerge && strategy.type != StrategyType::kCdc)
    return r.Error(source["incremental"], k + ".source.incremental.cursor",
                   std::string("applies to append, merge and cdc (the ") +
                       StrategyName(strategy.type) + " strategy reads the whole API)");
  if (placeholder && !watermark && cursor.empty())
    return r.Error(source, k + ".source",
                   "{watermark} has no value: use the watermark strategy (its watermark "
                   "is sent), or set incremental.cursor (the greatest value of that "
                   "field loaded so far is sent)");
  if (strategy.type == StrategyType::kAppend && cursor.empty())
    return r.Error(n["strategy"], k + ".strategy.type",
                   "an http source appends only what it has not read before with "
                   "source.incremental.cursor (and {watermark} in its parameters); "
                   "without them every run would append every record again (use "
                   "merge, snapshot_diff or full_refresh for such an API)");
  return arrow::Status::OK();
}

arrow::Result<PipelineConfig> ParsePipeline(const YamlReader& r, const YAML::Node& n,
                                            const std::string& key,
                                            const std::string& file) {
  ARROW_RETURN_NOT_OK(r.CheckKeys(n, key,
                                  {"name", "source", "destination", "strategy", "quality",
                                   "processing", "dead_letters", "schedule"}));
  PipelineConfig p;
  p.file = file;
  p.line = n.Mark().line + 1;
  if (!n["name"]) return r.Error(n, key + ".name", "is required");
  ARROW_ASSIGN_OR_RAISE(p.name, r.String(n["name"], key + ".name"));
  static const std::regex name_re(R"(^[A-Za-z0-9_.-]+$)");
  if (!std::regex_match(p.name, name_re)) {
    return r.Error(n["name"], key + ".name",
                   "'" + p.name + "' may use only letters, digits, '_', '.', '-'");
  }
  std::string k = "pipelines[" + p.name + "]";
  for (const char* req : {"source", "destination", "strategy"}) {
    if (!n[req]) return r.Error(n, k + "." + req, "is required");
  }
  ARROW_ASSIGN_OR_RAISE(p.source, ParseSource(r, n["source"], k + ".source", p.name));
  ARROW_RETURN_NOT_OK(
      ParseDestination(r, n["destination"], k + ".destination", &p.destination));
  // Files on S3 without storage settings of their own are reached as an s3:// destination
  // is.
  if (auto* files = std::get_if<FileSourceConfig>(&p.source)) {
    if (files->path.rfind("s3://", 0) == 0 && files->storage.empty())
      files->storage = p.destination.storage;
  }
  bool pg_cdc = std::holds_alternative<PostgresCdcSourceConfig>(p.source);
  // Changes from logical replication are ordered by their commit's LSN.
  if (pg_cdc)
    p.strategy.sequence_by = {std::string(kPgCommitLsnColumn), std::string(kPgLsnColumn)};
  ARROW_RETURN_NOT_OK(ParseStrategy(r, n["strategy"], k + ".strategy", &p.strategy));
  if (n["quality"]) {
    ARROW_RETURN_NOT_OK(ParseQuality(r, n["quality"], k + ".quality", &p.quality));
  }
  if (n["processing"]) {
    ARROW_RETURN_NOT_OK(
        ParseProcessing(r, n["processing"], k + ".processing", &p.processing));
  }
  if (n["dead_letters"]) {
    const auto& d = n["dead_letters"];
    ARROW_RETURN_NOT_OK(r.CheckKeys(d, k + ".dead_letters", {"path"}));
    if (!d["path"]) return r.Error(d, k + ".dead_letters.path", "is required");
    ARROW_ASSIGN_OR_RAISE(std::string path,
                          r.String(d["path"], k + ".dead_letters.path"));
    p.dead_letters.path = r.ResolvePath(path);
    if (!IsStreamSource(p.source))
      return r.Error(d, k + ".dead_letters", "applies to kafka sources only");
    if (pg_cdc)
      return r.Error(d, k + ".dead_letters",
                     "applies to kafka sources only (a change that does not fit its "
                     "table stops a postgres_cdc stream: it cannot be skipped)");
    if (p.dead_letters.path == p.destination.path) {
      return r.Error(d["path"], k + ".dead_letters.path",
                     "must differ from destination.path");
    }
  }
  if (n["schedule"]) {
    if (IsStreamSource(p.source))
      return r.Error(n["schedule"], k + ".schedule",
                     std::string("a ") + SourceKind(p.source) +
                         " source is consumed continuously (inlet stream, inlet serve): "
                         "it takes no schedule");
    ARROW_ASSIGN_OR_RAISE(p.schedule, ParseSchedule(r, n["schedule"], k + ".schedule"));
  }
  if (pg_cdc) {
    const auto& tables = std::get<PostgresCdcSourceConfig>(p.source).tables;
    bool templated = p.destination.path.find("{table}") != std::string::npos;
    if (tables.size() > 1 && !templated)
      return r.Error(n["destination"], k + ".destination.path",
                     "must name each table's destination with {table} (and {schema}) "
                     "when the source follows several tables");
    if (tables.size() > 1 && !p.destination.keys.empty())
      return r.Error(n["destination"], k + ".destination.keys",
                     "applies to one table: with several, each table's primary key (or "
                     "replica identity) is its keys");
  }
  if (p.destination.postgres && pg_cdc) {
    return r.Error(n["destination"], k + ".destination.type",
                   "a postgres_cdc source does not write a PostgreSQL destination: "
                   "PostgreSQL's own logical replication does that (CREATE PUBLICATION "
                   "and CREATE SUBSCRIPTION)");
  }
  if (p.destination.postgres && p.strategy.type == StrategyType::kCdc &&
      p.strategy.scd_type == 2) {
    return r.Error(n["strategy"], k + ".strategy.scd_type",
                   "a PostgreSQL destination keeps no history of versions (scd_type: 2) "
                   "yet: load it into a Delta or Iceberg table");
  }
  if (pg_cdc && p.strategy.type != StrategyType::kCdc) {
    return r.Error(n["strategy"], k + ".strategy.type",
                   std::string("a postgres_cdc source takes the cdc strategy, not ") +
                       StrategyName(p.strategy.type));
  }
  if (IsStreamSource(p.source) && p.strategy.type != StrategyType::kAppend &&
      p.strategy.type != StrategyType::kMerge && p.strategy.type != StrategyType::kCdc) {
    return r.Error(n["strategy"], k + ".strategy.type",
                   std::string("a kafka source takes append, merge or cdc, not ") +
                       StrategyName(p.strategy.type));
  }
  if (std::holds_alternative<PostgresSourceConfig>(p.source) &&
      p.strategy.type != StrategyType::kFullRefresh &&
      p.strategy.type != StrategyType::kWatermark &&
      p.strategy.type != StrategyType::kSnapshotDiff) {
    return r.Error(
        n["strategy"], k + ".strategy.type",
        std::string("a postgres source takes full_refresh, watermark (with its "
                    "cursor pushed down into the query) or snapshot_diff, not ") +
            StrategyName(p.strategy.type) +
            ": it has no record of which rows are new without a cursor");
  }
  if (auto* http = std::get_if<HttpSourceConfig>(&p.source))
    ARROW_RETURN_NOT_OK(CheckHttpSource(r, n, k, p.strategy, *http));
  // postgres_cdc: the table's replica identity when not given.
  if ((p.strategy.type == StrategyType::kMerge ||
       p.strategy.type == StrategyType::kSnapshotDiff ||
       p.strategy.type == StrategyType::kCdc) &&
      p.destination.keys.empty() && !pg_cdc) {
    return r.Error(n["destination"], k + ".destination.keys",
                   std::string("is required for the ") + StrategyName(p.strategy.type) +
                       " strategy");
  }
  if (!p.quality.quarantine_path.empty() &&
      p.quality.quarantine_path == p.destination.path) {
    return r.Error(n["quality"], k + ".quality.quarantine_path",
                   "must differ from destination.path");
  }
  return p;
}

}  // namespace

arrow::Result<std::vector<PipelineConfig>> ParsePipelines(const std::string& text,
                                                          const std::string& file,
                                                          const std::string& base_dir,
                                                          const EnvLookup& env) {
  YamlReader r(file, base_dir, env);
  try {
    YAML::Node root = YAML::Load(text);
    if (!root.IsMap() || !root["pipelines"]) {
      return r.Error(root, "pipelines",
                     "the file must hold a mapping with a 'pipelines' list");
    }
    ARROW_RETURN_NOT_OK(r.CheckKeys(root, "", {"pipelines", "alerts"}));
    const auto& list = root["pipelines"];
    if (!list.IsSequence() || list.size() == 0) {
      return r.Error(list, "pipelines", "expected a non-empty list of pipelines");
    }
    std::vector<PipelineConfig> out;
    std::set<std::string> names;
    for (size_t i = 0; i < list.size(); ++i) {
      ARROW_ASSIGN_OR_RAISE(
          auto p,
          ParsePipeline(r, list[i], "pipelines[" + std::to_string(i) + "]", file));
      if (!names.insert(p.name).second) {
        return r.Error(list[i]["name"], "pipelines[" + std::to_string(i) + "].name",
                       "duplicate pipeline name '" + p.name + "'");
      }
      out.push_back(std::move(p));
    }
    // Checked here too, so that inlet run refuses a file inlet serve would.
    if (root["alerts"])
      ARROW_RETURN_NOT_OK(ParseAlerts(r, root["alerts"], names).status());
    return out;
  } catch (const YAML::Exception& e) {
    return arrow::Status::Invalid(file, ":", e.mark.line + 1, ": invalid YAML: ", e.msg);
  }
}

namespace {

arrow::Result<std::string> ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in)
    return arrow::Status::IOError("cannot read pipeline file ", path, ": ",
                                  std::strerror(errno));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<std::string> FromEnvironment(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  if (!v) return std::nullopt;
  return std::string(v);
}

}  // namespace

arrow::Result<std::vector<AlertConfig>> LoadAlerts(const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(auto pipelines, LoadPipelines(path));
  ARROW_ASSIGN_OR_RAISE(std::string text, ReadText(path));
  std::string base = std::filesystem::absolute(path).parent_path().string();
  EnvLookup env = FromEnvironment;
  YamlReader r(path, base, env);
  std::set<std::string> names;
  for (const auto& p : pipelines) names.insert(p.name);
  try {
    YAML::Node root = YAML::Load(text);
    if (!root["alerts"]) return std::vector<AlertConfig>();
    return ParseAlerts(r, root["alerts"], names);
  } catch (const YAML::Exception& e) {
    return arrow::Status::Invalid(path, ":", e.mark.line + 1, ": invalid YAML: ", e.msg);
  }
}

arrow::Result<std::vector<PipelineConfig>> LoadPipelines(const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(std::string text, ReadText(path));
  std::string base = std::filesystem::absolute(path).parent_path().string();
  return ParsePipelines(text, path, base, FromEnvironment);
}

std::vector<load::DerivedColumn> Derived(const DestinationConfig& d) {
  std::vector<load::DerivedColumn> out;
  for (const auto& p : d.partition_by)
    if (!p.hidden) out.push_back({p.name, p.source, p.transform});
  return out;
}

arrow::Result<std::shared_ptr<Table>> OpenDestination(const DestinationConfig& d) {
  if (d.postgres) {
    PostgresDestinationConfig pg = *d.postgres;
    pg.table = d.path;  // a postgres_cdc source's templates filled in
    pg.keys = d.keys;
    return OpenPostgresTable(pg);
  }
  if (!d.catalog.uri.empty())
    return Table::OpenInCatalog(d.catalog, d.path, d.storage, /*create=*/true);
  return Table::OpenOrCreate(d.path, d.storage, d.format);
}

StorageOptions SideTableStorage(const PipelineConfig& c, const std::string& path) {
  bool s3 = path.rfind("s3://", 0) == 0 || path.rfind("s3a://", 0) == 0;
  return s3 ? c.destination.storage : StorageOptions{};
}

}  // namespace inlet::pipeline
