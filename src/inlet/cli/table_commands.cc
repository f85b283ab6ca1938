#include "inlet/cli/table_commands.h"

#include <arrow/table.h>
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <sstream>

#include "inlet/cli/output.h"
#include "inlet/cli/progress.h"
#include "inlet/cli/table_names.h"
#include "inlet/io.h"
#include "inlet/status.h"
#include "inlet/table.h"
#include "inlet/time.h"

namespace inlet::cli {

namespace {

// Whether rows go to a terminal (where a progress line would mix with them).
bool ToTerminal(const std::string& output) {
  return (output.empty() || output == "-") && ::isatty(1) != 0;
}

// The latest snapshot; null when there is no table yet.
arrow::Result<std::shared_ptr<Snapshot>> LatestSnapshotOrNull(const Table& table) {
  auto snapshot = table.GetSnapshot({});
  if (snapshot.ok()) return *snapshot;
  if (IsTableNotFound(snapshot.status())) return std::shared_ptr<Snapshot>();
  return snapshot.status();
}

constexpr char kSchemaHelp[] =
    "Column types of the input, 'id:long,price:decimal(10,2),at:timestamp' or @FILE (one "
    "'column: type' per line); other columns are inferred";

// The declared columns of --schema (none when not given).
arrow::Result<DeclaredColumns> SchemaOf(const std::string& spec) {
  if (spec.empty()) return DeclaredColumns{};
  return ParseColumnTypes(spec);
}

// The CSV flags of write and merge.
void AddCsvFlags(CLI::App* app, TableCsvFlags* f) {
  app->add_option("--csv-delimiter", f->delimiter,
                  "CSV field delimiter: one character or tab (default: comma; tab for "
                  ".tsv)");
  app->add_flag("--csv-no-header", f->no_header,
                "CSV files have no header line (columns are f0, f1, ...)");
  app->add_option("--csv-quote", f->quote, "CSV quote character (default \")");
  app->add_option("--csv-escape", f->escape,
                  "CSV escape character inside quotes (default: none, quotes doubled)");
  app->add_option("--csv-null", f->null_values,
                  "A CSV value that means null, in text columns too (repeatable, e.g. "
                  "--csv-null NULL --csv-null '\\N' --csv-null '')");
}

arrow::Result<char> OneChar(const std::string& text, const char* flag) {
  if (text == "\\t" || text == "tab") return '\t';
  if (text.size() != 1)
    return arrow::Status::Invalid(flag, " '", text, "' must be one character (or tab)");
  return text[0];
}

arrow::Result<CsvOptions> CsvOptionsOf(const TableCsvFlags& f) {
  CsvOptions csv;
  if (!f.delimiter.empty()) {
    ARROW_ASSIGN_OR_RAISE(csv.delimiter, OneChar(f.delimiter, "--csv-delimiter"));
  }
  csv.header = !f.no_header;
  if (!f.quote.empty()) {
    ARROW_ASSIGN_OR_RAISE(csv.quote, OneChar(f.quote, "--csv-quote"));
  }
  if (!f.escape.empty()) {
    ARROW_ASSIGN_OR_RAISE(csv.escape, OneChar(f.escape, "--csv-escape"));
  }
  if (!f.null_values.empty()) csv.null_values = f.null_values;
  return csv;
}

// key=value pairs of --property.
arrow::Result<std::map<std::string, std::string>> ParseProperties(
    const std::vector<std::string>& pairs) {
  std::map<std::string, std::string> out;
  for (const auto& p : pairs) {
    size_t eq = p.find('=');
    if (eq == std::string::npos || eq == 0) {
      return arrow::Status::Invalid("--property '", p, "' must be key=value");
    }
    out[p.substr(0, eq)] = p.substr(eq + 1);
  }
  return out;
}

arrow::Result<int64_t> ParseTimestampArg(const std::string& text) {
  if (!text.empty() && text.find_first_not_of("0123456789") == std::string::npos) {
    return std::stoll(text);
  }
  ARROW_ASSIGN_OR_RAISE(int64_t us, ParseTimestampMicros(text));
  return us / 1000;
}

// The snapshot --version (when >= 0) or --as-of names; the latest when neither is given.
arrow::Result<SnapshotSpec> SpecOf(int64_t version, const std::string& as_of) {
  SnapshotSpec spec;
  if (version >= 0) spec.version = version;
  if (!as_of.empty()) {
    if (spec.version)
      return arrow::Status::Invalid("use either --version or --as-of, not both");
    ARROW_ASSIGN_OR_RAISE(spec.timestamp_ms, ParseTimestampArg(as_of));
  }
  return spec;
}

// A column's type as the table's format names it; nested types (whose format name says
// only "struct", "array" or "map") in Arrow's spelling, which shows their fields.
std::string TypeName(const TableInfo& info, int i) {
  std::string type =
      i < static_cast<int>(info.type_names.size()) ? info.type_names[i] : "";
  if (type == "struct" || type == "array" || type == "map" || type.empty())
    type = info.schema->field(i)->type()->ToString();
  return type;
}

Json SchemaJson(const TableInfo& info) {
  Json fields = Json::array();
  for (int i = 0; i < info.schema->num_fields(); ++i) {
    const auto& f = info.schema->field(i);
    fields.push_back(
        {{"name", f->name()}, {"type", TypeName(info, i)}, {"nullable", f->nullable()}});
  }
  return fields;
}

// The format's details for people: Delta's protocol on one line, other formats' a line
// per detail.
std::string FormatDetailsText(const Json& details) {
  if (!details.is_object()) return "";
  std::ostringstream out;
  if (details.contains("min_reader_version") && details.contains("min_writer_version")) {
    out << "protocol:   reader " << Dump(details["min_reader_version"]) << ", writer "
        << Dump(details["min_writer_version"]);
    Json readers = details.value("reader_features", Json::array());
    Json writers = details.value("writer_features", Json::array());
    if (!readers.empty() || !writers.empty()) out << "; features " << Dump(writers);
    out << "\n";
    return out.str();
  }
  for (auto it = details.begin(); it != details.end(); ++it) {
    std::string label = it.key() + ":";
    out << label << std::string(label.size() < 12 ? 12 - label.size() : 1, ' ')
        << (it.value().is_string() ? it.value().get<std::string>() : Dump(it.value()))
        << "\n";
  }
  return out.str();
}

}  // namespace

void TableCommands::Register(CLI::App* app) {
  Write& w = write_args_;
  write_ = app->add_subcommand("write", "Write files into a table (created when absent)");
  write_->add_option("table", w.table, "Table path or file:// URI")->required();
  write_->add_option("--input,-i", w.inputs, "Input files")->required();
  write_->add_option("--input-format", w.input_format,
                     "csv | json | ndjson | parquet (default: from the extension)");
  write_->add_option(
      "--sort-by", w.sort_by,
      "Iceberg: the sort order of a table the write creates, e.g. \"ts, id desc "
      "nulls last\"; writes to a sorted table sort their rows");
  write_->add_flag(
      "--merge-schema", w.merge_schema,
      "Add input columns the table lacks, and widen columns whose input type is "
      "a promotion of theirs (int to long, float to double, a wider decimal)");
  write_->add_option("--mode", w.mode, "append | overwrite | overwrite-partitions")
      ->capture_default_str();
  write_->add_option("--format", w.format,
                     "delta | iceberg: the format of a table the write creates (default: "
                     "delta; an existing table keeps its own)");
  write_->add_option(
      "--partition-by", w.partition_by,
      "Partition columns a,b (when creating); for Iceberg also transforms: "
      "day(ts), hour(ts), bucket(id, 16), truncate(name, 4)");
  write_->add_option(
      "--replace-where", w.replace_where,
      "With overwrite: replace only rows matching this partition predicate");
  write_->add_option(
      "--property", w.properties,
      "Table property key=value (set on an existing table too); repeatable");
  AddCsvFlags(write_, &w.csv);
  write_->add_option("--schema", w.schema, kSchemaHelp);
  write_->add_option("--app-id", w.app_id,
                     "Idempotent write: the application writing (with --app-version)");
  write_
      ->add_option("--app-version", w.app_version,
                   "Idempotent write: skipped when the table already has this version "
                   "(or a later one) of --app-id")
      ->check(CLI::NonNegativeNumber);
  write_->add_option("--compression", w.compression, "Parquet codec")
      ->capture_default_str();
  write_
      ->add_option("--target-file-size", w.target_file_size,
                   "Roll data files at about this many bytes")
      ->capture_default_str();
  write_
      ->add_option(
          "--sort-run-size", w.sort_run_size,
          "With a sort order: sort and write the rows in runs of about this many "
          "bytes in memory, each run in files of its own")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  write_->add_flag("--json", w.json, "Print the result as JSON");

  Scan& s = scan_args_;
  scan_ = app->add_subcommand("scan", "Read rows of a table");
  scan_->add_option("table", s.table, "Table path or file:// URI")->required();
  auto* version_opt = scan_->add_option("--version", s.version, "Read this version")
                          ->check(CLI::NonNegativeNumber);
  scan_
      ->add_option("--as-of", s.as_of,
                   "Read the version current at this time (ISO-8601 or epoch ms)")
      ->excludes(version_opt);
  scan_->add_option("--ref", s.ref,
                    "Read this Iceberg snapshot id, tag or branch (see inlet history)");
  scan_->add_option("--columns", s.columns, "Columns a,b (default: all)");
  scan_->add_option("--where", s.where, "Filter: col op literal [AND ...]");
  scan_->add_option("--limit", s.limit, "At most this many rows");
  scan_->add_option("--output,-o", s.output, "Output file (default: stdout)");
  scan_->add_option("--output-format", s.output_format, "csv | ndjson | parquet")
      ->capture_default_str();

  Listing& h = history_args_;
  history_ = app->add_subcommand("history", "List a table's commits, newest first");
  history_->add_option("table", h.table, "Table path or file:// URI")->required();
  history_->add_option("--limit", h.limit, "At most this many commits");
  history_->add_flag("--json", h.json, "Print JSON");

  Listing& i = info_args_;
  info_ = app->add_subcommand("info",
                              "Show a table's schema, partitioning, protocol and size");
  info_->add_option("table", i.table, "Table path or file:// URI")->required();
  info_->add_flag("--json", i.json, "Print JSON");

  Merge& m = merge_args_;
  merge_ = app->add_subcommand(
      "merge",
      "Merge files into a table by key (upsert, insert-only, delete-insert, snapshot)");
  merge_->add_option("table", m.table, "Table path or file:// URI")->required();
  merge_->add_option("--input,-i", m.inputs, "Input files")->required();
  merge_->add_option("--input-format", m.input_format,
                     "csv | json | ndjson | parquet (default: from the extension)");
  AddCsvFlags(merge_, &m.csv);
  merge_->add_option("--schema", m.schema, kSchemaHelp);
  merge_->add_option("--keys", m.keys, "Key columns a,b")->required();
  merge_
      ->add_option("--mode", m.mode,
                   "upsert | insert_only | delete_insert | snapshot (the input is a "
                   "whole extract: changed rows are "
                   "updated, new ones inserted, missing keys handled by --missing)")
      ->capture_default_str();
  merge_
      ->add_option(
          "--missing", m.missing,
          "With --mode snapshot: delete | soft_delete | keep the keys the input lacks")
      ->capture_default_str();
  merge_->add_option(
      "--soft-delete-column", m.soft_delete_column,
      "With --missing soft_delete: the boolean column set true on those rows");
  merge_
      ->add_option("--max-delete-percent", m.max_delete_percent,
                   "With --mode snapshot: refuse to delete (or soft-delete) more than "
                   "this percentage of the table's rows (default: no limit)")
      ->check(CLI::Range(0.0, 100.0));
  merge_->add_option("--order-by", m.order_by,
                     "Per key, the input row with the greatest value wins");
  merge_->add_option("--delete-flag", m.delete_flag,
                     "Boolean input column: true deletes the key");
  merge_->add_flag("--ignore-null-updates", m.ignore_null_updates,
                   "Null input values keep the table's values");
  merge_->add_option("--update-columns", m.update_columns,
                     "Only these columns change on a match");
  merge_->add_option("--sequence-by", m.sequence_by,
                     "Change data: columns a,b ordering each key's changes; older "
                     "changes than the table's are discarded");
  merge_->add_option("--truncate-flag", m.truncate_flag,
                     "With --sequence-by: boolean input column marking truncates");
  merge_->add_flag("--history", m.history,
                   "With --sequence-by: keep every version (SCD type 2: valid_from, "
                   "valid_to, is_current)");
  merge_->add_option("--track-columns", m.track_columns,
                     "With --history: only changes of these columns a,b start a version");
  merge_->add_flag("--merge-schema", m.merge_schema, "Add input columns the table lacks");
  merge_
      ->add_option("--max-retries", m.max_retries,
                   "Run the merge again this many times when a concurrent commit "
                   "conflicts with it")
      ->capture_default_str();
  merge_->add_flag("--dry-run", m.dry_run,
                   "Read and match, report what would change, write and commit nothing");
  merge_->add_flag("--json", m.json, "Print the result as JSON");

  Changes& ch = changes_args_;
  changes_ = app->add_subcommand(
      "changes", "Print the row-level changes (change data feed) of versions");
  changes_->add_option("table", ch.table, "Table path or file:// URI")->required();
  changes_->add_option("--from-version", ch.from, "First version (inclusive)")
      ->required();
  changes_->add_option("--to-version", ch.to,
                       "Last version (inclusive; default: the latest)");
  changes_->add_flag("--file-level", ch.file_level,
                     "Read versions written without the change data feed file by file: "
                     "added files as inserts, removed files as deletes");
  changes_->add_option("--output,-o", ch.output, "Output file (default: stdout)");
  changes_->add_option("--output-format", ch.output_format, "csv | ndjson | parquet")
      ->capture_default_str();

  Alter& al = alter_args_;
  alter_ = app->add_subcommand(
      "alter", "Set table properties of an existing table, in one commit of no data");
  alter_->add_option("table", al.table, "Table path or URI")->required();
  alter_->add_option("--property", al.properties, "Table property key=value; repeatable")
      ->required();
  alter_->add_flag("--json", al.json, "Print the result as JSON");

  Restore& r = restore_args_;
  restore_ = app->add_subcommand(
      "restore", "Restore the table as of an earlier version or time, as a new version");
  restore_->add_option("table", r.table, "Table path or URI")->required();
  auto* restore_version = restore_->add_option("--version", r.version, "The version")
                              ->check(CLI::NonNegativeNumber);
  restore_
      ->add_option("--as-of", r.as_of,
                   "The version current at this time (ISO-8601 or epoch ms)")
      ->excludes(restore_version);
  restore_->add_flag("--json", r.json, "Print the result as JSON");
}

bool TableCommands::parsed() const {
  return write_->parsed() || scan_->parsed() || history_->parsed() || info_->parsed() ||
         merge_->parsed() || changes_->parsed() || alter_->parsed() || restore_->parsed();
}

arrow::Status TableCommands::Run() const {
  if (write_->parsed()) return RunWrite(write_args_);
  if (scan_->parsed()) return RunScan(scan_args_);
  if (history_->parsed()) return RunHistory(history_args_);
  if (info_->parsed()) return RunInfo(info_args_);
  if (merge_->parsed()) return RunMerge(merge_args_);
  if (alter_->parsed()) return RunAlter(alter_args_);
  if (restore_->parsed()) return RunRestore(restore_args_);
  return RunChanges(changes_args_);
}

arrow::Status TableCommands::RunWrite(const Write& a) {
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
  options.merge_schema = a.merge_schema;
  options.sort_by = SplitList(a.sort_by);
  if (!a.replace_where.empty()) {
    ARROW_ASSIGN_OR_RAISE(options.replace_where, ParseConjunction(a.replace_where));
  }
  ARROW_ASSIGN_OR_RAISE(options.properties, ParseProperties(a.properties));
  options.update_properties = true;  // on an existing table too: never ignored
  options.compression = a.compression;
  options.target_file_size = a.target_file_size;
  options.sort_run_bytes = a.sort_run_size;
  if (a.app_id.empty() != (a.app_version < 0)) {
    return arrow::Status::Invalid("--app-id and --app-version go together");
  }
  ARROW_ASSIGN_OR_RAISE(CsvOptions csv, CsvOptionsOf(a.csv));
  ARROW_ASSIGN_OR_RAISE(DeclaredColumns declared, SchemaOf(a.schema));
  std::optional<TableFormat> format;
  if (!a.format.empty()) {
    format = TableFormatNamed(a.format);
    if (!format)
      return arrow::Status::Invalid("unknown --format '", a.format,
                                    "' (use delta or iceberg)");
  }
  ARROW_ASSIGN_OR_RAISE(auto table, OpenOrCreateTable(a.table, format));
  ProgressLine progress("writing " + a.table);
  // An idempotent write commits the application's version with its rows, unless the
  // table has it already; a concurrent commit of the same application makes this one
  // check again.
  std::optional<int64_t> skipped_at;
  auto attempt = [&]() -> arrow::Result<CommitResult> {
    if (!a.app_id.empty()) {
      ARROW_ASSIGN_OR_RAISE(auto snapshot, LatestSnapshotOrNull(*table));
      if (snapshot) {
        std::optional<int64_t> has = snapshot->AppVersion(a.app_id);
        if (has && *has >= a.app_version) {
          skipped_at = snapshot->version();
          return CommitResult{};
        }
      }
      options.app_states[a.app_id] = AppState{a.app_version, std::nullopt};
    }
    ARROW_ASSIGN_OR_RAISE(auto input,
                          OpenInputFiles(a.inputs, a.input_format, csv, declared));
    return table->Write(CountRows(std::move(input), &progress), options);
  };
  ARROW_ASSIGN_OR_RAISE(auto result,
                        a.app_id.empty() ? attempt() : RetryOnConflict(5, attempt));
  if (skipped_at) {
    if (a.json) {
      std::cout << Dump(Json{{"table", a.table},
                             {"version", *skipped_at},
                             {"rows", 0},
                             {"skipped", true},
                             {"app_id", a.app_id},
                             {"app_version", a.app_version}})
                << std::endl;
    } else {
      std::cout << "skipped: " << a.table << " already has version " << a.app_version
                << " of application " << a.app_id << " (table version " << *skipped_at
                << "); nothing written" << std::endl;
    }
    return arrow::Status::OK();
  }
  if (a.json) {
    Json j = {{"table", a.table},
              {"version", result.version},
              {"rows", result.rows_written},
              {"files_added", result.files_added},
              {"files_removed", result.files_removed},
              {"bytes_written", result.bytes_written},
              {"attempts", result.attempts}};
    std::cout << Dump(j) << std::endl;
  } else {
    std::cout << "wrote " << result.rows_written << " rows in " << result.files_added
              << " files (" << result.bytes_written << " bytes) to " << a.table
              << " at version " << result.version;
    if (result.files_removed > 0)
      std::cout << ", replacing " << result.files_removed << " files";
    std::cout << std::endl;
  }
  return arrow::Status::OK();
}

arrow::Status TableCommands::RunScan(const Scan& a) {
  ARROW_ASSIGN_OR_RAISE(auto table, OpenTable(a.table));
  ARROW_ASSIGN_OR_RAISE(SnapshotSpec spec, SpecOf(a.version, a.as_of));
  if (!a.ref.empty()) {
    if (spec.version || spec.timestamp_ms)
      return arrow::Status::Invalid("use one of --version, --as-of and --ref");
    spec.ref = a.ref;
  }
  ARROW_ASSIGN_OR_RAISE(auto snapshot, table->GetSnapshot(spec));
  ScanOptions options;
  options.columns = SplitList(a.columns);
  ARROW_ASSIGN_OR_RAISE(options.filter, ParseConjunction(a.where));
  options.limit = a.limit;
  ARROW_ASSIGN_OR_RAISE(auto reader, snapshot->Scan(options));
  ProgressLine progress("scanning " + a.table, !ToTerminal(a.output));
  reader = CountRows(std::move(reader), &progress);
  return WriteRecords(reader.get(), a.output, a.output_format).status();
}

arrow::Status TableCommands::RunHistory(const Listing& a) {
  ARROW_ASSIGN_OR_RAISE(auto table, OpenTable(a.table));
  ARROW_ASSIGN_OR_RAISE(auto history, table->History(a.limit));
  if (a.json) {
    Json out = Json::array();
    for (const auto& e : history) {
      Json info = ParseOrNull(e.commit_info_json);
      if (!info.is_object()) info = Json::object();
      info["version"] = e.version;
      info["timestamp"] = e.timestamp_ms;
      info["operation"] = e.operation;
      if (!info.contains("operationParameters"))
        info["operationParameters"] = Json::object();
      out.push_back(std::move(info));
    }
    std::cout << Pretty(out) << std::endl;
    return arrow::Status::OK();
  }
  std::printf("%-8s %-24s %-24s %s\n", "version", "timestamp", "operation", "parameters");
  for (const auto& e : history) {
    Json info = ParseOrNull(e.commit_info_json);
    std::string params;
    if (info.is_object() && info.contains("operationParameters") &&
        !info["operationParameters"].empty()) {
      params = Dump(info["operationParameters"]);
    } else if (info.is_object() && info.contains("summary") &&
               info["summary"].is_object()) {
      // An Iceberg snapshot: its id (what --ref takes), and the figures of its summary.
      if (info.contains("snapshot-id") && info["snapshot-id"].is_number_integer())
        params = "snapshot-id=" + std::to_string(info["snapshot-id"].get<int64_t>());
      for (const char* key :
           {"inlet.operation", "added-records", "deleted-records", "added-data-files",
            "deleted-data-files", "total-records"}) {
        auto it = info["summary"].find(key);
        if (it != info["summary"].end() && it->is_string())
          params += (params.empty() ? "" : " ") + std::string(key) + "=" +
                    it->get<std::string>();
      }
    }
    std::printf("%-8lld %-24s %-24s %s\n", static_cast<long long>(e.version),
                FormatTimestampMillisIso(e.timestamp_ms).c_str(), e.operation.c_str(),
                params.c_str());
  }
  return arrow::Status::OK();
}

arrow::Status TableCommands::RunInfo(const Listing& a) {
  ARROW_ASSIGN_OR_RAISE(auto table, OpenTable(a.table));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, table->GetSnapshot({}));
  TableInfo info = snapshot->Info();
  Json details = ParseOrNull(info.format_details);
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
  for (auto it = details.begin(); details.is_object() && it != details.end(); ++it)
    j[it.key()] = it.value();
  if (a.json) {
    std::cout << Pretty(j) << std::endl;
    return arrow::Status::OK();
  }
  std::cout << "table:      " << info.location << " (" << info.format << ")\n"
            << "version:    " << info.version << " at "
            << FormatTimestampMillisIso(info.timestamp_ms) << "\n";
  std::cout << FormatDetailsText(details);
  std::cout << "files:      " << info.num_files << " (" << info.size_bytes << " bytes)\n"
            << "partitions: " << Dump(Json(info.partition_columns)) << "\n"
            << "properties: " << Dump(Json(info.properties)) << "\n"
            << "schema:\n";
  for (int i = 0; i < info.schema->num_fields(); ++i) {
    const auto& f = info.schema->field(i);
    std::cout << "  " << f->name() << ": " << TypeName(info, i)
              << (f->nullable() ? "" : " not null") << "\n";
  }
  return arrow::Status::OK();
}

arrow::Status TableCommands::RunMerge(const Merge& a) {
  MergeOptions o;
  o.keys = SplitList(a.keys);
  if (o.keys.empty()) return arrow::Status::Invalid("--keys needs at least one column");
  auto mode = MergeModeNamed(a.mode);
  if (!mode) {
    return arrow::Status::Invalid(
        "unknown --mode '", a.mode,
        "' (use upsert, insert_only, delete_insert or snapshot)");
  }
  o.mode = *mode;
  auto missing = MissingKeysNamed(a.missing);
  if (!missing)
    return arrow::Status::Invalid("unknown --missing '", a.missing,
                                  "' (use delete, soft_delete or keep)");
  o.missing_keys = *missing;
  if (o.missing_keys == MissingKeys::kSoftDelete) {
    if (a.soft_delete_column.empty())
      return arrow::Status::Invalid("--missing soft_delete needs --soft-delete-column");
    o.soft_delete_column = a.soft_delete_column;
  }
  if (o.mode != MergeMode::kSnapshot && a.missing != "delete") {
    return arrow::Status::Invalid("--missing applies only to --mode snapshot");
  }
  if (a.max_delete_percent) {
    if (o.mode != MergeMode::kSnapshot) {
      return arrow::Status::Invalid(
          "--max-delete-percent applies only to --mode snapshot");
    }
    o.max_delete_percent = a.max_delete_percent;
  }
  o.order_by = a.order_by;
  o.delete_flag = a.delete_flag;
  o.ignore_null_updates = a.ignore_null_updates;
  o.update_columns = SplitList(a.update_columns);
  o.sequence_by = SplitList(a.sequence_by);
  o.truncate_flag = a.truncate_flag;
  o.history.enabled = a.history;
  o.history.track_columns = SplitList(a.track_columns);
  if (!a.history && !o.history.track_columns.empty())
    return arrow::Status::Invalid("--track-columns needs --history");
  o.write.merge_schema = a.merge_schema;
  o.dry_run = a.dry_run;
  ARROW_ASSIGN_OR_RAISE(CsvOptions csv, CsvOptionsOf(a.csv));
  ARROW_ASSIGN_OR_RAISE(DeclaredColumns declared, SchemaOf(a.schema));
  ProgressLine progress("merging into " + a.table);
  progress.Phase("reading the input");
  ARROW_ASSIGN_OR_RAISE(auto source,
                        ReadInputFiles(a.inputs, a.input_format, csv, declared));
  progress.Phase(std::to_string(source->num_rows()) +
                 " source rows, matching and writing");
  ARROW_ASSIGN_OR_RAISE(auto table, OpenOrCreateTable(a.table));
  // A merge that lost to a conflicting concurrent commit (say, an optimize that compacted
  // the files it rewrote) runs again on the new version.
  ARROW_ASSIGN_OR_RAISE(
      auto r, RetryOnConflict(a.max_retries, [&] { return table->Merge(source, o); }));
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
    std::cout << Dump(j) << std::endl;
  } else if (a.dry_run) {
    std::cout << "dry run on " << a.table << ", nothing written: " << r.rows_inserted
              << " would be inserted, " << r.rows_updated << " updated, "
              << r.rows_deleted << " deleted; " << r.files_scanned << " files read, "
              << r.files_rewritten << " would be rewritten"
              << (r.files_marked ? ", " + std::to_string(r.files_marked) +
                                       " with rows marked deleted"
                                 : "")
              << std::endl;
  } else {
    if (!r.changed) {
      std::cout << "no changes: " << a.table << " already holds the extract ("
                << r.rows_compared << " rows compared)" << std::endl;
      return arrow::Status::OK();
    }
    std::cout << "merged into " << a.table << " at version " << r.commit.version << ": "
              << r.rows_inserted << " inserted, " << r.rows_updated << " updated, "
              << r.rows_deleted << " deleted; " << r.files_scanned << " files read, "
              << r.files_rewritten << " rewritten"
              << (r.files_marked ? ", " + std::to_string(r.files_marked) +
                                       " with rows marked deleted"
                                 : "")
              << std::endl;
  }
  return arrow::Status::OK();
}

arrow::Status TableCommands::RunAlter(const Alter& a) {
  WriteOptions options;
  ARROW_ASSIGN_OR_RAISE(options.properties, ParseProperties(a.properties));
  options.update_properties = true;
  options.operation = "SET TBLPROPERTIES";
  ARROW_ASSIGN_OR_RAISE(auto table, OpenTable(a.table));
  ARROW_ASSIGN_OR_RAISE(auto snapshot, table->GetSnapshot({}));
  // No rows: an empty input with the table's columns.
  ARROW_ASSIGN_OR_RAISE(auto empty,
                        arrow::RecordBatchReader::Make({}, snapshot->schema()));
  ARROW_ASSIGN_OR_RAISE(auto result, table->Write(empty, options));
  if (a.json) {
    std::cout << Dump(Json{{"table", a.table}, {"version", result.version}}) << std::endl;
  } else {
    std::cout << "altered " << a.table << " at version " << result.version << std::endl;
  }
  return arrow::Status::OK();
}

arrow::Status TableCommands::RunRestore(const Restore& a) {
  ARROW_ASSIGN_OR_RAISE(SnapshotSpec spec, SpecOf(a.version, a.as_of));
  if (!spec.version && !spec.timestamp_ms)
    return arrow::Status::Invalid("restore needs --version or --as-of");
  ARROW_ASSIGN_OR_RAISE(auto table, OpenTable(a.table));
  ARROW_ASSIGN_OR_RAISE(auto result, table->Restore(spec));
  if (a.json) {
    std::cout << Dump(Json{{"table", a.table},
                           {"version", result.version},
                           {"restored_version", result.restored_version},
                           {"files_added", result.files_added},
                           {"files_removed", result.files_removed}})
              << std::endl;
  } else {
    std::cout << "restored " << a.table << " to version " << result.restored_version
              << " at version " << result.version << " (" << result.files_added
              << " files added back, " << result.files_removed << " removed)"
              << std::endl;
  }
  return arrow::Status::OK();
}

arrow::Status TableCommands::RunChanges(const Changes& a) {
  ARROW_ASSIGN_OR_RAISE(auto table, OpenTable(a.table));
  std::optional<int64_t> to;
  if (a.to >= 0) to = a.to;
  ARROW_ASSIGN_OR_RAISE(auto reader, table->Changes(a.from, to, a.file_level));
  ProgressLine progress("reading changes of " + a.table, !ToTerminal(a.output));
  reader = CountRows(std::move(reader), &progress);
  return WriteRecords(reader.get(), a.output, a.output_format).status();
}

}  // namespace inlet::cli
