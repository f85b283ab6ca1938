#include "inlet/cli/commands.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <arrow/compute/initialize.h>
#include <arrow/status.h>
#include <arrow/table.h>
#include <arrow/type.h>

#include "inlet/cli/maintenance.h"
#include "inlet/cli/output.h"
#include "inlet/common/json.h"
#include "inlet/common/retry.h"
#include "inlet/common/time.h"
#include "inlet/load/state.h"
#include "inlet/pipeline/config.h"
#include "inlet/pipeline/runner.h"
#include "inlet/source/file_reader.h"
#include "inlet/stream/metrics.h"
#include "inlet/stream/streamer.h"
#include "inlet/table.h"
#include "inlet/table/row_keys.h"

namespace inlet::cli {

namespace {

constexpr char kVersion[] = "0.1.0";

struct WriteArgs {
  std::string table;
  std::vector<std::string> inputs;
  std::string input_format;
  std::string mode = "append";
  std::string partition_by;
  std::string replace_where;
  std::vector<std::string> properties;
  std::string compression = "zstd";
  int64_t target_file_size = 128LL * 1024 * 1024;
  bool json = false;
};

struct ScanArgs {
  std::string table;
  int64_t version = -1;
  std::string as_of;
  std::string columns;
  std::string where;
  int64_t limit = -1;
  std::string output;
  std::string output_format = "csv";
};

struct TableArgs {
  std::string table;
  bool json = false;
  int64_t limit = -1;
};

arrow::Result<int64_t> ParseTimestampArg(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    return std::stoll(text);
  }
  ARROW_ASSIGN_OR_RAISE(int64_t us, ParseTimestampMicros(text));
  return us / 1000;
}

arrow::Status RunWrite(const WriteArgs& a) {
  WriteOptions options;
  if (a.mode == "append") {
    options.mode = WriteMode::kAppend;
  } else if (a.mode == "overwrite") {
    options.mode = WriteMode::kOverwrite;
  } else if (a.mode == "overwrite-partitions") {
    options.mode = WriteMode::kOverwritePartitions;
  } else {
    return arrow::Status::Invalid("unknown --mode '", a.mode,
                                  "' (use append, overwrite or overwrite-partitions)");
  }
  options.partition_by = SplitList(a.partition_by);
  if (!a.replace_where.empty()) {
    ARROW_ASSIGN_OR_RAISE(options.replace_where, ParseConjunction(a.replace_where));
  }
  for (const auto& p : a.properties) {
    size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      return arrow::Status::Invalid("--property '", p, "' must be key=value");
    }
    options.properties[p.substr(0, eq)] = p.substr(eq + 1);
  }
  options.compression = a.compression;
  options.target_file_size = a.target_file_size;
  ARROW_ASSIGN_OR_RAISE(auto input, OpenInputFiles(a.inputs, a.input_format));
  ARROW_ASSIGN_OR_RAISE(auto table, Table::OpenOrCreate(a.table));
  ARROW_ASSIGN_OR_RAISE(auto result, table->Write(input, options));
  if (a.json) {
    Json j = {{"table", a.table},           {"version", result.version},
              {"rows", result.rows_written}, {"files_added", result.files_added},
              {"files_removed", result.files_removed}, {"bytes_written", result.bytes_written},
              {"attempts", result.attempts}};
    std::cout << DumpJson(j) << std::endl;
  } else {
    std::cout << "wrote " << result.rows_written << " rows in " << result.files_added
              << " files (" << result.bytes_written << " bytes) to " << a.table
              << " at version " << result.version;
    if (result.files_removed > 0) std::cout << ", replacing " << result.files_removed << " files";
    std::cout << std::endl;
  }
  return arrow::Status::OK();
}

arrow::Status RunScan(const ScanArgs& a) {
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(a.table));
  SnapshotSpec spec;
  if (a.version >= 0) spec.version = a.version;
  if (!a.as_of.empty()) {
    if (spec.version) return arrow::Status::Invalid("use either --version or --as-of, not both");
    ARROW_ASSIGN_OR_RAISE(spec.timestamp_ms, ParseTimestampArg(a.as_of));
  }
  ARROW_ASSIGN_OR_RAISE(auto snapshot, table->GetSnapshot(spec));
  ScanOptions options;
  options.columns = SplitList(a.columns);
  ARROW_ASSIGN_OR_RAISE(options.filter, ParseConjunction(a.where));
  options.limit = a.limit;
  ARROW_ASSIGN_OR_RAISE(auto reader, snapshot->Scan(options));
  return WriteOutput(reader.get(), a.output, a.output_format).status();
}

arrow::Status RunHistory(const TableArgs& a) {
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(a.table));
  ARROW_ASSIGN_OR_RAISE(auto history, table->History(a.limit));
  if (a.json) {
    Json out = Json::array();
    for (const auto& e : history) {
      Json info = Json::parse(e.commit_info_json, nullptr, false);
      if (info.is_discarded() || !info.is_object()) info = Json::object();
      info["version"] = e.version;
      info["timestamp"] = e.timestamp_ms;
      info["operation"] = e.operation;
      if (!info.contains("operationParameters")) info["operationParameters"] = Json::object();
      out.push_back(std::move(info));
    }
    std::cout << out.dump(2) << std::endl;
    return arrow::Status::OK();
  }
  std::printf("%-8s %-24s %-24s %s\n", "version", "timestamp", "operation", "parameters");
  for (const auto& e : history) {
    Json info = Json::parse(e.commit_info_json, nullptr, false);
    std::string params;
    if (info.is_object() && info.contains("operationParameters")) {
      params = DumpJson(info["operationParameters"]);
    }
    std::printf("%-8lld %-24s %-24s %s\n", static_cast<long long>(e.version),
                FormatTimestampMillisIso(e.timestamp_ms).c_str(), e.operation.c_str(), params.c_str());
  }
  return arrow::Status::OK();
}

// A column's type as the table's format names it; nested types (whose format name says
// only "struct", "array" or "map") in Arrow's spelling, which shows their fields.
std::string TypeName(const TableInfo& info, int i) {
  std::string type = i < static_cast<int>(info.type_names.size()) ? info.type_names[i] : "";
  if (type == "struct" || type == "array" || type == "map" || type.empty()) type = info.schema->field(i)->type()->ToString();
  return type;
}

Json SchemaJson(const TableInfo& info) {
  Json fields = Json::array();
  for (int i = 0; i < info.schema->num_fields(); ++i) {
    const auto& f = info.schema->field(i);
    fields.push_back({{"name", f->name()}, {"type", TypeName(info, i)}, {"nullable", f->nullable()}});
  }
  return fields;
}

arrow::Status RunInfo(const TableArgs& a) {
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(a.table));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, table->GetSnapshot({}));
  TableInfo info = snapshot->Info();
  ARROW_ASSIGN_OR_RAISE(Json details, ParseJson(info.format_details, "format details"));
  Json j = {{"format", info.format},
            {"location", info.location},
            {"version", info.version},
            {"snapshot_id", info.snapshot_id},
            {"timestamp", info.timestamp_ms},
            {"id", info.id},
            {"name", info.name},
            {"schema", SchemaJson(info)},
            {"partition_columns", info.partition_columns},
            {"properties", info.properties},
            {"num_files", info.num_files},
            {"size_bytes", info.size_bytes}};
  // What only the format knows sits beside the rest (Delta: the protocol's versions and
  // features).
  for (auto it = details.begin(); details.is_object() && it != details.end(); ++it) j[it.key()] = it.value();
  if (a.json) {
    std::cout << j.dump(2) << std::endl;
    return arrow::Status::OK();
  }
  std::cout << "table:      " << info.location << " (" << info.format << ")\n"
            << "version:    " << info.version << " at " << FormatTimestampMillisIso(info.timestamp_ms) << "\n";
  for (auto it = details.begin(); details.is_object() && it != details.end(); ++it) {
    std::string label = it.key() + ":";
    std::cout << label << std::string(label.size() < 12 ? 12 - label.size() : 1, ' ')
              << (it.value().is_string() ? it.value().get<std::string>() : DumpJson(it.value())) << "\n";
  }
  std::cout << "files:      " << info.num_files << " (" << info.size_bytes << " bytes)\n"
            << "partitions: " << DumpJson(Json(info.partition_columns)) << "\n"
            << "properties: " << DumpJson(Json(info.properties)) << "\n"
            << "schema:\n";
  for (int i = 0; i < info.schema->num_fields(); ++i) {
    const auto& f = info.schema->field(i);
    std::cout << "  " << f->name() << ": " << TypeName(info, i) << (f->nullable() ? "" : " not null") << "\n";
  }
  return arrow::Status::OK();
}

struct MergeArgs {
  std::string table;
  std::vector<std::string> inputs;
  std::string input_format;
  std::string keys;
  std::string mode = "upsert";
  std::string order_by;
  std::string delete_flag;
  bool ignore_null_updates = false;
  std::string update_columns;
  std::string sequence_by;
  std::string truncate_flag;
  bool history = false;
  std::string track_columns;
  std::string missing = "delete";
  std::string soft_delete_column;
  bool merge_schema = false;
  int max_retries = 10;
  bool dry_run = false;
  bool json = false;
};

arrow::Status RunMerge(const MergeArgs& a) {
  MergeOptions o;
  o.keys = SplitList(a.keys);
  if (o.keys.empty()) return arrow::Status::Invalid("--keys needs at least one column");
  auto mode = MergeModeNamed(a.mode);
  if (!mode) {
    return arrow::Status::Invalid("unknown --mode '", a.mode, "' (use upsert, insert_only, delete_insert or snapshot)");
  }
  o.mode = *mode;
  auto missing = MissingKeysNamed(a.missing);
  if (!missing) return arrow::Status::Invalid("unknown --missing '", a.missing, "' (use delete, soft_delete or keep)");
  o.missing_keys = *missing;
  if (o.missing_keys == MissingKeys::kSoftDelete) {
    if (a.soft_delete_column.empty()) return arrow::Status::Invalid("--missing soft_delete needs --soft-delete-column");
    o.soft_delete_column = a.soft_delete_column;
  }
  if (o.mode != MergeMode::kSnapshot && a.missing != "delete") {
    return arrow::Status::Invalid("--missing applies only to --mode snapshot");
  }
  o.order_by = a.order_by;
  o.delete_flag = a.delete_flag;
  o.ignore_null_updates = a.ignore_null_updates;
  o.update_columns = SplitList(a.update_columns);
  o.sequence_by = SplitList(a.sequence_by);
  o.truncate_flag = a.truncate_flag;
  o.history.enabled = a.history;
  o.history.track_columns = SplitList(a.track_columns);
  if (!a.history && !o.history.track_columns.empty()) return arrow::Status::Invalid("--track-columns needs --history");
  o.write.merge_schema = a.merge_schema;
  o.dry_run = a.dry_run;
  ARROW_ASSIGN_OR_RAISE(auto source, ReadInputFiles(a.inputs, a.input_format));
  if (o.missing_keys == MissingKeys::kSoftDelete) {
    ARROW_ASSIGN_OR_RAISE(source, SetBoolColumn(source, o.soft_delete_column, false));  // every row is live
  }
  ARROW_ASSIGN_OR_RAISE(auto table, Table::OpenOrCreate(a.table));
  // A merge that lost to a conflicting concurrent commit (say, an optimize that compacted
  // the files it rewrote) runs again on the new version.
  ARROW_ASSIGN_OR_RAISE(auto r, RetryOnConflict(a.max_retries, [&] { return table->Merge(source, o); }));
  if (a.json) {
    Json j = {{"table", a.table},
              {"version", r.commit.version},
              {"rows_inserted", r.rows_inserted},
              {"rows_updated", r.rows_updated},
              {"rows_deleted", r.rows_deleted},
              {"source_duplicates", r.source_duplicates},
              {"late_discarded", r.late_discarded},
              {"files_scanned", r.files_scanned},
              {"files_rewritten", r.files_rewritten},
              {"files_marked", r.files_marked},
              {"changed", r.changed},
              {"dry_run", a.dry_run},
              {"files_added", r.commit.files_added},
              {"files_removed", r.commit.files_removed},
              {"bytes_written", r.commit.bytes_written},
              {"attempts", r.commit.attempts}};
    std::cout << DumpJson(j) << std::endl;
  } else if (a.dry_run) {
    std::cout << "dry run on " << a.table << ", nothing written: " << r.rows_inserted << " would be inserted, "
              << r.rows_updated << " updated, " << r.rows_deleted << " deleted; " << r.files_scanned
              << " files read, " << r.files_rewritten << " would be rewritten"
              << (r.files_marked ? ", " + std::to_string(r.files_marked) + " given deletion vectors" : "") << std::endl;
  } else {
    if (!r.changed) {
      std::cout << "no changes: " << a.table << " already holds the extract (" << r.rows_compared
                << " rows compared)" << std::endl;
      return arrow::Status::OK();
    }
    std::cout << "merged into " << a.table << " at version " << r.commit.version << ": " << r.rows_inserted
              << " inserted, " << r.rows_updated << " updated, " << r.rows_deleted << " deleted; "
              << r.files_scanned << " files read, " << r.files_rewritten << " rewritten"
              << (r.files_marked ? ", " + std::to_string(r.files_marked) + " given deletion vectors" : "") << std::endl;
  }
  return arrow::Status::OK();
}

struct ChangesArgs {
  std::string table;
  int64_t from = 0;
  int64_t to = -1;
  std::string output;
  std::string output_format = "csv";
};

arrow::Status RunChanges(const ChangesArgs& a) {
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(a.table));
  std::optional<int64_t> to;
  if (a.to >= 0) to = a.to;
  ARROW_ASSIGN_OR_RAISE(auto reader, table->Changes(a.from, to));
  return WriteOutput(reader.get(), a.output, a.output_format).status();
}

struct RunArgs {
  std::string file;
  std::string pipeline;
  bool json = false;
  bool dry_run = false;
  std::string from;
  std::string to;
};

// The pipelines of a file to run: the one named, or every one whose source is (or is not)
// a stream.
arrow::Result<std::vector<pipeline::PipelineConfig>> SelectPipelines(const std::string& file, const std::string& name,
                                                                     bool streams) {
  ARROW_ASSIGN_OR_RAISE(auto configs, pipeline::LoadPipelines(file));
  const char* command = streams ? "inlet stream" : "inlet run";
  const char* other = streams ? "inlet run" : "inlet stream";
  std::vector<pipeline::PipelineConfig> selected;
  for (auto& c : configs) {
    bool stream = c.source.type == "kafka";
    if (!name.empty() && c.name == name) {
      if (stream != streams) {
        return arrow::Status::Invalid(file, ": pipeline '", name, "' has a ", c.source.type, " source: run it with ",
                                      other);
      }
      selected.push_back(c);
    } else if (name.empty() && stream == streams) {
      selected.push_back(c);
    }
  }
  if (selected.empty()) {
    std::string names;
    for (const auto& c : configs) names += (names.empty() ? "" : ", ") + c.name;
    if (!name.empty()) {
      return arrow::Status::Invalid(file, ": no pipeline named '", name, "' (the file has: ", names, ")");
    }
    return arrow::Status::Invalid(file, ": no pipeline for ", command, " (", streams ? "kafka" : "file",
                                  " sources; the file has: ", names, ")");
  }
  return selected;
}

arrow::Status RunRun(const RunArgs& a) {
  ARROW_ASSIGN_OR_RAISE(auto configs, SelectPipelines(a.file, a.pipeline, /*streams=*/false));
  if (a.from.empty() != a.to.empty()) return arrow::Status::Invalid("--from and --to go together");
  pipeline::RunOptions options;
  options.dry_run = a.dry_run;
  if (!a.from.empty()) {
    options.backfill_from = a.from;
    options.backfill_to = a.to;
  }
  // Every pipeline runs; a failure is reported and the others still run.
  arrow::Status first_failure;
  int failures = 0;
  for (const auto& c : configs) {
    auto result = pipeline::RunPipeline(c, options);
    pipeline::RunReport report;
    if (result.ok()) {
      report = *result;
      // Committed, but its maintenance failed.
      if (!report.error.empty() && failures++ == 0) first_failure = arrow::Status::IOError(report.error);
    } else {
      report = pipeline::FailedReport(c, result.status());
      if (failures++ == 0) first_failure = result.status();
    }
    if (a.json) {
      std::cout << DumpJson(report.ToJson()) << std::endl;
    } else {
      std::cout << report.ToText() << std::flush;
    }
  }
  if (failures > 1) {
    return first_failure.WithMessage(first_failure.message(), " (and ", failures - 1, " more failed pipelines)");
  }
  return first_failure;
}

struct StreamArgs {
  std::string file;
  std::string pipeline;
  bool json = false;
  double idle_exit = 0;
  std::string metrics_file;
  double metrics_interval = 10;
};

// Every selected stream runs in its own thread until SIGINT/SIGTERM; the first failure
// stops the others (each commits what it holds).
arrow::Status RunStreamCommand(const StreamArgs& a) {
  ARROW_ASSIGN_OR_RAISE(auto configs, SelectPipelines(a.file, a.pipeline, /*streams=*/true));
  std::atomic<bool> stop{false};
  stream::StreamOptions options;
  options.idle_exit_ms = static_cast<int64_t>(a.idle_exit * 1000);
  options.stop = &stop;
  std::vector<arrow::Result<stream::StreamReport>> results(configs.size(), arrow::Status::UnknownError("not run"));
  // The latest report of each stream, for the metrics file.
  std::mutex progress_mutex;
  auto blank_report = [&](size_t i, const char* status) {
    stream::StreamReport r;
    r.pipeline = configs[i].name;
    r.table = configs[i].destination.path;
    r.topic = configs[i].source.kafka.topic;
    r.status = status;
    return r;
  };
  std::vector<stream::StreamReport> progress;
  for (size_t i = 0; i < configs.size(); ++i) progress.push_back(blank_report(i, "running"));
  auto write_metrics = [&]() {
    if (a.metrics_file.empty()) return arrow::Status::OK();
    std::lock_guard<std::mutex> lock(progress_mutex);
    return stream::WriteFileAtomically(a.metrics_file, stream::PrometheusText(progress));
  };
  ARROW_RETURN_NOT_OK(write_metrics());
  std::atomic<size_t> running{configs.size()};
  std::vector<std::thread> threads;
  for (size_t i = 0; i < configs.size(); ++i) {
    threads.emplace_back([&, i]() {
      stream::StreamOptions mine = options;
      if (!a.metrics_file.empty()) {
        mine.progress_interval_ms = std::min<int64_t>(1000, static_cast<int64_t>(a.metrics_interval * 1000));
        mine.on_progress = [&, i](const stream::StreamReport& r) {
          std::lock_guard<std::mutex> lock(progress_mutex);
          progress[i] = r;
        };
      }
      results[i] = stream::RunStream(configs[i], mine);
      if (!results[i].ok()) stop.store(true);
      --running;
    });
  }
  // The metrics file is rewritten every interval while streams run, and once at the end.
  auto next_write = std::chrono::steady_clock::now();
  while (running.load() > 0 && !a.metrics_file.empty()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (std::chrono::steady_clock::now() < next_write) continue;
    next_write += std::chrono::milliseconds(static_cast<int64_t>(a.metrics_interval * 1000));
    if (auto st = write_metrics(); !st.ok()) std::cerr << "inlet stream: metrics: " << st.message() << std::endl;
  }
  for (auto& t : threads) t.join();
  arrow::Status first_failure;
  for (size_t i = 0; i < configs.size(); ++i) {
    stream::StreamReport report;
    if (results[i].ok()) {
      report = *results[i];
    } else {
      report = blank_report(i, "failed");
      report.error = results[i].status().message();
      if (first_failure.ok()) first_failure = results[i].status();
    }
    {
      std::lock_guard<std::mutex> lock(progress_mutex);
      report.lag = progress[i].lag;  // the last known lag
      progress[i] = report;
    }
    if (a.json) {
      std::cout << DumpJson(report.ToJson()) << std::endl;
    } else {
      std::cout << report.pipeline << ": " << report.status << ", " << report.messages << " messages, "
                << report.rows_written << " rows and " << report.dead_letters << " dead letters committed in "
                << report.commits << " commits (table version " << report.table_version << ")\n";
    }
  }
  if (auto st = write_metrics(); !st.ok()) std::cerr << "inlet stream: metrics: " << st.message() << std::endl;
  return first_failure;
}

arrow::Status RunState(const TableArgs& a) {
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(a.table));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, table->GetSnapshot({}));
  Json out = Json::object();
  for (const auto& [app, state] : snapshot->AppStates(load::kStateDomainPrefix)) {
    if (!state.document) continue;  // a pipeline whose state was reset
    std::string name = app.substr(std::string(load::kStateDomainPrefix).size());
    ARROW_ASSIGN_OR_RAISE(out[name], ParseJson(*state.document, "state of pipeline " + name));
  }
  if (a.json) {
    std::cout << out.dump(2) << std::endl;
    return arrow::Status::OK();
  }
  if (out.empty()) std::cout << "no pipeline state in " << a.table << " (version " << snapshot->version() << ")\n";
  for (auto it = out.begin(); it != out.end(); ++it) {
    const Json& s = it.value();
    std::cout << it.key() << ": strategy " << GetStringOr(s, "strategy", "?") << ", run " << GetIntOr(s, "run", 0);
    if (s.contains("watermark") && s["watermark"].is_string()) {
      std::cout << ", watermark " << s["watermark"].get<std::string>() << " (" << GetStringOr(s, "cursor", "") << ")";
    }
    if (s.contains("loaded_files") && !s["loaded_files"].empty()) std::cout << ", " << s["loaded_files"].size() << " files loaded";
    std::cout << ", updated " << GetStringOr(s, "updated_at", "?") << "\n";
  }
  return arrow::Status::OK();
}

arrow::Status RunReset(const TableArgs& a, const std::string& pipeline) {
  ARROW_ASSIGN_OR_RAISE(auto table, Table::Open(a.table));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, table->GetSnapshot({}));
  std::string domain = load::StateDomain(pipeline);
  if (!snapshot->GetAppState(domain).document) {
    return arrow::Status::Invalid("no state for pipeline '", pipeline, "' in ", a.table);
  }
  WriteOptions opts;
  opts.clear_app_documents = {domain};
  opts.operation = "RESET PIPELINE";
  opts.operation_parameters["pipeline"] = pipeline;
  ARROW_ASSIGN_OR_RAISE(auto empty, arrow::RecordBatchReader::Make({}, snapshot->schema()));
  ARROW_ASSIGN_OR_RAISE(auto result, table->Write(empty, opts));
  std::cout << "cleared the state of pipeline " << pipeline << " in " << a.table << " at version " << result.version
            << std::endl;
  return arrow::Status::OK();
}

int Report(const arrow::Status& st) {
  if (st.ok()) return 0;
  std::string msg = st.message();
  for (auto& c : msg) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::cerr << "inlet: error: " << msg << std::endl;
  return 1;
}

}  // namespace

int Run(int argc, char** argv) {
  CLI::App app{"inlet: incremental loads into lakehouse tables (Delta Lake)", "inlet"};
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(1);

  WriteArgs w;
  auto* write = app.add_subcommand("write", "Write files into a table (created when absent)");
  write->add_option("table", w.table, "Table path or file:// URI")->required();
  write->add_option("--input,-i", w.inputs, "Input files")->required();
  write->add_option("--input-format", w.input_format, "csv | json | ndjson | parquet (default: from the extension)");
  write->add_option("--mode", w.mode, "append | overwrite | overwrite-partitions")->capture_default_str();
  write->add_option("--partition-by", w.partition_by, "Partition columns a,b (when creating)");
  write->add_option("--replace-where", w.replace_where, "With overwrite: replace only rows matching this partition predicate");
  write->add_option("--property", w.properties, "Table property key=value (when creating); repeatable");
  write->add_option("--compression", w.compression, "Parquet codec")->capture_default_str();
  write->add_option("--target-file-size", w.target_file_size, "Roll data files at about this many bytes")->capture_default_str();
  write->add_flag("--json", w.json, "Print the result as JSON");

  ScanArgs s;
  auto* scan = app.add_subcommand("scan", "Read rows of a table");
  scan->add_option("table", s.table, "Table path or file:// URI")->required();
  auto* version_opt = scan->add_option("--version", s.version, "Read this version");
  scan->add_option("--as-of", s.as_of, "Read the version current at this time (ISO-8601 or epoch ms)")->excludes(version_opt);
  scan->add_option("--columns", s.columns, "Columns a,b (default: all)");
  scan->add_option("--where", s.where, "Filter: col op literal [AND ...]");
  scan->add_option("--limit", s.limit, "At most this many rows");
  scan->add_option("--output,-o", s.output, "Output file (default: stdout)");
  scan->add_option("--output-format", s.output_format, "csv | ndjson | parquet")->capture_default_str();

  TableArgs h;
  auto* history = app.add_subcommand("history", "List a table's commits, newest first");
  history->add_option("table", h.table, "Table path or file:// URI")->required();
  history->add_option("--limit", h.limit, "At most this many commits");
  history->add_flag("--json", h.json, "Print JSON");

  TableArgs i;
  auto* info = app.add_subcommand("info", "Show a table's schema, partitioning, protocol and size");
  info->add_option("table", i.table, "Table path or file:// URI")->required();
  info->add_flag("--json", i.json, "Print JSON");

  MergeArgs m;
  auto* merge = app.add_subcommand("merge", "Merge files into a table by key (upsert, insert-only, delete-insert, snapshot)");
  merge->add_option("table", m.table, "Table path or file:// URI")->required();
  merge->add_option("--input,-i", m.inputs, "Input files")->required();
  merge->add_option("--input-format", m.input_format, "csv | json | ndjson | parquet (default: from the extension)");
  merge->add_option("--keys", m.keys, "Key columns a,b")->required();
  merge->add_option("--mode", m.mode,
                    "upsert | insert_only | delete_insert | snapshot (the input is a whole extract: changed rows are "
                    "updated, new ones inserted, missing keys handled by --missing)")
      ->capture_default_str();
  merge->add_option("--missing", m.missing, "With --mode snapshot: delete | soft_delete | keep the keys the input lacks")
      ->capture_default_str();
  merge->add_option("--soft-delete-column", m.soft_delete_column,
                    "With --missing soft_delete: the boolean column set true on those rows");
  merge->add_option("--order-by", m.order_by, "Per key, the input row with the greatest value wins");
  merge->add_option("--delete-flag", m.delete_flag, "Boolean input column: true deletes the key");
  merge->add_flag("--ignore-null-updates", m.ignore_null_updates, "Null input values keep the table's values");
  merge->add_option("--update-columns", m.update_columns, "Only these columns change on a match");
  merge->add_option("--sequence-by", m.sequence_by,
                    "Change data: columns a,b ordering each key's changes; older changes than the table's are discarded");
  merge->add_option("--truncate-flag", m.truncate_flag, "With --sequence-by: boolean input column marking truncates");
  merge->add_flag("--history", m.history,
                 "With --sequence-by: keep every version (SCD type 2: valid_from, valid_to, is_current)");
  merge->add_option("--track-columns", m.track_columns, "With --history: only changes of these columns a,b start a version");
  merge->add_flag("--merge-schema", m.merge_schema, "Add input columns the table lacks");
  merge->add_option("--max-retries", m.max_retries,
                    "Run the merge again this many times when a concurrent commit conflicts with it")
      ->capture_default_str();
  merge->add_flag("--dry-run", m.dry_run, "Read and match, report what would change, write and commit nothing");
  merge->add_flag("--json", m.json, "Print the result as JSON");

  ChangesArgs ch;
  auto* changes = app.add_subcommand("changes", "Print the row-level changes (change data feed) of versions");
  changes->add_option("table", ch.table, "Table path or file:// URI")->required();
  changes->add_option("--from-version", ch.from, "First version (inclusive)")->required();
  changes->add_option("--to-version", ch.to, "Last version (inclusive; default: the latest)");
  changes->add_option("--output,-o", ch.output, "Output file (default: stdout)");
  changes->add_option("--output-format", ch.output_format, "csv | ndjson | parquet")->capture_default_str();

  RunArgs r;
  auto* run = app.add_subcommand("run", "Run the pipelines of a YAML file (docs/pipelines.md)");
  run->add_option("file", r.file, "Pipeline file")->required();
  run->add_option("--pipeline", r.pipeline, "Run only this pipeline");
  run->add_flag("--json", r.json, "Print each run report as one JSON line");
  run->add_flag("--dry-run", r.dry_run, "Read and check, but commit nothing");
  run->add_option("--from", r.from, "Backfill: load cursor values from this one (inclusive)");
  run->add_option("--to", r.to, "Backfill: up to this cursor value (exclusive)");

  StreamArgs sa;
  auto* streamc = app.add_subcommand("stream", "Stream the kafka pipelines of a YAML file into their tables (docs/streams.md)");
  streamc->add_option("file", sa.file, "Pipeline file")->required();
  streamc->add_option("--pipeline", sa.pipeline, "Run only this pipeline");
  streamc->add_flag("--json", sa.json, "Print each stream's report as one JSON line when it stops");
  streamc->add_option("--idle-exit", sa.idle_exit,
                      "Stop after this many seconds without a message (default: run until SIGINT/SIGTERM)");
  streamc->add_option("--metrics-file", sa.metrics_file,
                      "Keep the streams' counters and lag in this file, in the Prometheus text format");
  streamc->add_option("--metrics-interval", sa.metrics_interval, "Seconds between metrics-file updates (default 10)")
      ->check(CLI::PositiveNumber);

  TableArgs st;
  auto* state = app.add_subcommand("state", "Show the pipeline state stored in a table");
  state->add_option("table", st.table, "Table path or file:// URI")->required();
  state->add_flag("--json", st.json, "Print JSON");

  TableArgs rs;
  std::string reset_pipeline;
  auto* reset = app.add_subcommand("reset", "Clear one pipeline's state in a table");
  reset->add_option("table", rs.table, "Table path or file:// URI")->required();
  reset->add_option("--pipeline", reset_pipeline, "The pipeline")->required();

  MaintenanceCommands maintenance;
  maintenance.Register(&app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "inlet: error: " << e.what() << " (see inlet --help)" << std::endl;
    return 2;
  }
  auto init = arrow::compute::Initialize();
  if (!init.ok()) return Report(init);
  if (write->parsed()) return Report(RunWrite(w));
  if (scan->parsed()) return Report(RunScan(s));
  if (history->parsed()) return Report(RunHistory(h));
  if (info->parsed()) return Report(RunInfo(i));
  if (merge->parsed()) return Report(RunMerge(m));
  if (changes->parsed()) return Report(RunChanges(ch));
  if (run->parsed()) return Report(RunRun(r));
  if (streamc->parsed()) return Report(RunStreamCommand(sa));
  if (state->parsed()) return Report(RunState(st));
  if (reset->parsed()) return Report(RunReset(rs, reset_pipeline));
  if (maintenance.parsed()) return Report(maintenance.Run());
  return 2;
}

}  // namespace inlet::cli
