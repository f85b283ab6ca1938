// inlet.Table's native half (python/inlet/_table.py is the other): the format-neutral
// table API of include/inlet/table.h, with the GIL released around every call.
#include <nanobind/stl/map.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/pair.h>
#include <nanobind/stl/shared_ptr.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include <string>

#include "arrow_stream.h"
#include "bindings.h"
#include "errors.h"
#include "inlet/pipeline.h"
#include "inlet/status.h"
#include "inlet/table.h"
#include "inlet/time.h"

namespace inlet::python {

namespace {

using StringMap = std::map<std::string, std::string>;

Conjunction Where(const std::string& text) {
  if (text.empty()) return {};
  return Unwrap(ParseConjunction(text));
}

SnapshotSpec Spec(std::optional<int64_t> version, std::optional<int64_t> timestamp_ms,
                  std::optional<std::string> ref) {
  int given = version.has_value() + timestamp_ms.has_value() + ref.has_value();
  if (given > 1)
    Raise(arrow::Status::Invalid("give at most one of version, as_of and ref"));
  return SnapshotSpec{version, timestamp_ms, std::move(ref)};
}

std::optional<TableFormat> FormatNamed(const std::optional<std::string>& name) {
  if (!name) return std::nullopt;
  auto format = TableFormatNamed(*name);
  if (!format) {
    Raise(arrow::Status::Invalid("unknown table format '", *name,
                                 "' (use delta or iceberg)"));
  }
  return format;
}

WriteMode WriteModeNamed(const std::string& mode) {
  if (mode == "append") return WriteMode::kAppend;
  if (mode == "overwrite") return WriteMode::kOverwrite;
  if (mode == "overwrite_partitions" || mode == "overwrite-partitions")
    return WriteMode::kOverwritePartitions;
  Raise(arrow::Status::Invalid("unknown write mode '", mode,
                               "' (use append, overwrite or overwrite_partitions)"));
}

CatalogOptions CatalogOf(const StringMap& given) {
  CatalogOptions c;
  for (const auto& [key, value] : given) {
    if (key == "uri")
      c.uri = value;
    else if (key == "name")
      c.name = value;
    else if (key == "warehouse")
      c.warehouse = value;
    else if (key == "location")
      c.location = value;
    else if (key == "token")
      c.token = value;
    else if (key == "credential")
      c.credential = value;
    else if (key == "oauth2_server_uri")
      c.oauth2_server_uri = value;
    else if (key == "scope")
      c.scope = value;
    else if (key == "ca_bundle")
      c.ca_bundle = value;
    else
      Raise(arrow::Status::Invalid(
          "unknown catalog option '", key,
          "' (uri, name, warehouse, location, token, credential, oauth2_server_uri, "
          "scope, ca_bundle)"));
  }
  if (c.uri.empty()) Raise(arrow::Status::Invalid("the catalog needs a uri"));
  return c;
}

// inlet merge's options, as Table.merge takes them (python/inlet/_table.py).
struct MergeArgs {
  std::vector<std::string> keys;
  std::string mode = "upsert";
  std::string order_by;
  std::string delete_flag;
  bool ignore_null_updates = false;
  std::vector<std::string> update_columns;
  std::vector<std::string> sequence_by;
  std::string truncate_flag;
  bool history = false;
  std::vector<std::string> track_columns;
  std::string valid_from = "valid_from";
  std::string valid_to = "valid_to";
  std::string is_current = "is_current";
  std::string missing = "delete";
  std::string soft_delete_column;
  std::optional<double> max_delete_percent;
  bool merge_schema = false;
  std::vector<std::string> partition_by;
  StringMap properties;
  bool dry_run = false;
  int max_retries = 10;
};

// The options, checked as inlet merge checks them.
MergeOptions MergeOptionsOf(const MergeArgs& a) {
  MergeOptions o;
  if (a.keys.empty()) Raise(arrow::Status::Invalid("merge needs keys"));
  o.keys = a.keys;
  auto mode = MergeModeNamed(a.mode);
  if (!mode) {
    std::string names;
    for (const auto& [name, m] : MergeModeNames())
      names += (names.empty() ? "" : ", ") + std::string(name);
    Raise(arrow::Status::Invalid("unknown merge mode '", a.mode, "' (", names, ")"));
  }
  o.mode = *mode;
  auto missing = MissingKeysNamed(a.missing);
  if (!missing) {
    Raise(arrow::Status::Invalid("unknown missing-keys policy '", a.missing,
                                 "' (delete, soft_delete, keep)"));
  }
  if (o.mode != MergeMode::kSnapshot && a.missing != "delete")
    Raise(arrow::Status::Invalid("missing applies only to mode='snapshot'"));
  if (o.mode != MergeMode::kSnapshot && a.max_delete_percent)
    Raise(arrow::Status::Invalid("max_delete_percent applies only to mode='snapshot'"));
  o.missing_keys = *missing;
  if (o.missing_keys == MissingKeys::kSoftDelete && a.soft_delete_column.empty())
    Raise(arrow::Status::Invalid("missing='soft_delete' needs soft_delete_column"));
  o.soft_delete_column = a.soft_delete_column;
  o.max_delete_percent = a.max_delete_percent;
  o.order_by = a.order_by;
  o.delete_flag = a.delete_flag;
  o.ignore_null_updates = a.ignore_null_updates;
  o.update_columns = a.update_columns;
  o.sequence_by = a.sequence_by;
  o.truncate_flag = a.truncate_flag;
  o.history.enabled = a.history;
  o.history.track_columns = a.track_columns;
  o.history.valid_from = a.valid_from;
  o.history.valid_to = a.valid_to;
  o.history.is_current = a.is_current;
  if (!a.history && !a.track_columns.empty())
    Raise(arrow::Status::Invalid("track_columns needs history=True"));
  o.write.merge_schema = a.merge_schema;
  o.write.partition_by = a.partition_by;
  o.write.properties = a.properties;
  o.dry_run = a.dry_run;
  return o;
}

class PyTable {
 public:
  explicit PyTable(std::shared_ptr<Table> table) : table_(std::move(table)) {}

  static PyTable Open(const std::string& uri, const StringMap& storage) {
    return PyTable(RunReleasedOrRaise<std::shared_ptr<Table>>(
        [&] { return Table::Open(uri, storage); }));
  }
  static PyTable OpenOrCreate(const std::string& uri, const StringMap& storage,
                              const std::optional<std::string>& format) {
    auto f = FormatNamed(format);
    return PyTable(RunReleasedOrRaise<std::shared_ptr<Table>>(
        [&] { return Table::OpenOrCreate(uri, storage, f); }));
  }
  static PyTable OpenInCatalog(const StringMap& catalog, const std::string& identifier,
                               const StringMap& storage, bool create) {
    CatalogOptions c = CatalogOf(catalog);
    return PyTable(RunReleasedOrRaise<std::shared_ptr<Table>>(
        [&] { return Table::OpenInCatalog(c, identifier, storage, create); }));
  }

  const std::string& location() const { return table_->location(); }

  ExportedStream Scan(const std::vector<std::string>& columns, const std::string& where,
                      std::optional<int64_t> version, std::optional<int64_t> timestamp_ms,
                      std::optional<std::string> ref, int64_t limit, int64_t batch_size) {
    ScanOptions o;
    o.columns = columns;
    o.filter = Where(where);
    o.limit = limit;
    if (batch_size > 0) o.batch_size = batch_size;
    SnapshotSpec spec = Spec(version, timestamp_ms, std::move(ref));
    return ExportedStream(RunReleasedOrRaise<std::shared_ptr<arrow::RecordBatchReader>>(
        [&]() -> arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> {
          ARROW_ASSIGN_OR_RAISE(auto snapshot, table_->GetSnapshot(spec));
          return snapshot->Scan(o);
        }));
  }

  TableInfo Info(std::optional<int64_t> version, std::optional<int64_t> timestamp_ms,
                 std::optional<std::string> ref) {
    SnapshotSpec spec = Spec(version, timestamp_ms, std::move(ref));
    return RunReleasedOrRaise<TableInfo>([&]() -> arrow::Result<TableInfo> {
      ARROW_ASSIGN_OR_RAISE(auto snapshot, table_->GetSnapshot(spec));
      return snapshot->Info();
    });
  }

  std::optional<int64_t> RowCount(std::optional<int64_t> version) {
    SnapshotSpec spec = Spec(version, std::nullopt, std::nullopt);
    return RunReleasedOrRaise<std::optional<int64_t>>(
        [&]() -> arrow::Result<std::optional<int64_t>> {
          ARROW_ASSIGN_OR_RAISE(auto snapshot, table_->GetSnapshot(spec));
          return snapshot->RowCount();
        });
  }

  std::vector<HistoryEntry> History(int64_t limit) {
    return RunReleasedOrRaise<std::vector<HistoryEntry>>(
        [&] { return table_->History(limit); });
  }

  CommitResult Write(nb::handle data, const std::string& mode,
                     const std::vector<std::string>& partition_by,
                     const std::string& replace_where,
                     const std::vector<std::string>& sort_by, const StringMap& properties,
                     bool update_properties, bool merge_schema,
                     std::optional<int64_t> target_file_size,
                     const std::optional<std::string>& compression,
                     const std::optional<std::string>& app_id,
                     std::optional<int64_t> app_version,
                     const std::optional<std::string>& app_document) {
    WriteOptions o;
    o.mode = WriteModeNamed(mode);
    o.partition_by = partition_by;
    o.replace_where = Where(replace_where);
    o.sort_by = sort_by;
    o.properties = properties;
    o.update_properties = update_properties;
    o.merge_schema = merge_schema;
    if (target_file_size) o.target_file_size = *target_file_size;
    if (compression) o.compression = *compression;
    if (app_id) {
      o.app_states[*app_id] = AppState{app_version, app_document};
    } else if (app_version || app_document) {
      Raise(arrow::Status::Invalid("app_version and app_document need app_id"));
    }
    // An idempotent write, as inlet write --app-id/--app-version: the application's
    // version commits with its rows, unless the table has it (or a later one) already;
    // nothing is then read or written, and the result is the table's version with no
    // rows. (A concurrent commit of the same application makes this one conflict.)
    if (app_id && app_version) {
      auto has = RunReleasedOrRaise<std::optional<int64_t>>(
          [&]() -> arrow::Result<std::optional<int64_t>> {
            auto snapshot = table_->GetSnapshot({});
            if (!snapshot.ok()) {
              if (IsTableNotFound(snapshot.status())) return std::nullopt;
              return snapshot.status();
            }
            auto recorded = (*snapshot)->AppVersion(*app_id);
            if (recorded && *recorded >= *app_version) return (*snapshot)->version();
            return std::nullopt;
          });
      if (has) {
        CommitResult skipped;
        skipped.version = *has;
        return skipped;
      }
    }
    std::atomic<bool> stop{false};
    auto reader = ImportStream(data, &stop);
    return RunReleasedOrRaise<CommitResult>([&] { return table_->Write(reader, o); },
                                            &stop);
  }

  ExportedStream Changes(int64_t from_version, std::optional<int64_t> to_version,
                         bool file_level) {
    return ExportedStream(RunReleasedOrRaise<std::shared_ptr<arrow::RecordBatchReader>>(
        [&] { return table_->Changes(from_version, to_version, file_level); }));
  }

  MergeResult Merge(nb::handle data, const MergeArgs& args) {
    MergeOptions options = MergeOptionsOf(args);
    std::atomic<bool> stop{false};
    auto reader = ImportStream(data, &stop);
    int max_retries = args.max_retries;
    return RunReleasedOrRaise<MergeResult>(
        [&]() -> arrow::Result<MergeResult> {
          ARROW_ASSIGN_OR_RAISE(auto source, reader->ToTable());
          // A merge that lost to a conflicting commit (an optimize that compacted the
          // files it rewrote) runs again on the new version, as inlet merge does.
          return RetryOnConflict(max_retries,
                                 [&] { return table_->Merge(source, options); });
        },
        &stop);
  }

  // Delete and Update run again on the new version after losing to a conflicting commit,
  // as inlet delete and inlet update do.
  MergeResult Delete(const std::string& where, bool every_row, bool dry_run,
                     int max_retries) {
    RowChangeOptions o;
    o.where = Where(where);
    o.every_row = every_row;
    o.dry_run = dry_run;
    return RunReleasedOrRaise<MergeResult>(
        [&] { return RetryOnConflict(max_retries, [&] { return table_->Delete(o); }); });
  }

  MergeResult Update(
      const std::vector<std::pair<std::string, std::optional<std::string>>>& set,
      const std::string& where, bool every_row, bool dry_run, int max_retries) {
    UpdateOptions o;
    o.set = set;
    o.where = Where(where);
    o.every_row = every_row;
    o.dry_run = dry_run;
    return RunReleasedOrRaise<MergeResult>(
        [&] { return RetryOnConflict(max_retries, [&] { return table_->Update(o); }); });
  }

  OptimizeResult Optimize(const std::string& where, int64_t target_size,
                          const std::vector<std::string>& zorder_by) {
    OptimizeOptions o;
    o.where = Where(where);
    o.target_size = target_size;
    o.zorder_by = zorder_by;
    return RunReleasedOrRaise<OptimizeResult>([&] { return table_->Optimize(o); });
  }

  VacuumResult Vacuum(std::optional<double> retention_hours, bool dry_run,
                      bool enforce_retention) {
    VacuumOptions o;
    o.retention_hours = retention_hours;
    o.dry_run = dry_run;
    o.enforce_retention = enforce_retention;
    return RunReleasedOrRaise<VacuumResult>([&] { return table_->Vacuum(o); });
  }

  CheckpointResult Checkpoint() {
    return RunReleasedOrRaise<CheckpointResult>([&] { return table_->Checkpoint(); });
  }

  RestoreResult Restore(std::optional<int64_t> version,
                        std::optional<int64_t> timestamp_ms) {
    if (!version && !timestamp_ms)
      Raise(arrow::Status::Invalid("restore needs a version or as_of"));
    SnapshotSpec spec = Spec(version, timestamp_ms, std::nullopt);
    return RunReleasedOrRaise<RestoreResult>([&] { return table_->Restore(spec); });
  }

  StringMap PipelineStatesAt(std::optional<int64_t> version) {
    SnapshotSpec spec = Spec(version, std::nullopt, std::nullopt);
    return RunReleasedOrRaise<StringMap>([&]() -> arrow::Result<StringMap> {
      ARROW_ASSIGN_OR_RAISE(auto snapshot, table_->GetSnapshot(spec));
      return PipelineStates(*snapshot);
    });
  }

  int64_t ResetPipeline(const std::string& name) {
    return RunReleasedOrRaise<int64_t>([&] { return ResetPipelineState(*table_, name); });
  }

  const std::shared_ptr<Table>& table() const { return table_; }

 private:
  std::shared_ptr<Table> table_;
};

int64_t ParseTimestampMillis(const std::string& text) {
  return Unwrap(ParseTimestampMicros(text)) / 1000;
}

}  // namespace

void AddTable(nb::module_& m) {
  nb::class_<TableInfo>(m, "TableInfo", "What a table looks like at one snapshot.")
      .def_ro("format", &TableInfo::format)
      .def_ro("location", &TableInfo::location)
      .def_ro("version", &TableInfo::version)
      .def_ro("snapshot_id", &TableInfo::snapshot_id)
      .def_ro("timestamp_ms", &TableInfo::timestamp_ms)
      .def_prop_ro(
          "schema_capsule", [](const TableInfo& i) { return SchemaCapsule(*i.schema); },
          "The schema as an Arrow C schema PyCapsule.")
      .def_ro("type_names", &TableInfo::type_names)
      .def_ro("partition_columns", &TableInfo::partition_columns)
      .def_ro("id", &TableInfo::id)
      .def_ro("name", &TableInfo::name)
      .def_ro("description", &TableInfo::description)
      .def_ro("properties", &TableInfo::properties)
      .def_ro("num_files", &TableInfo::num_files)
      .def_ro("size_bytes", &TableInfo::size_bytes)
      .def_ro("format_details", &TableInfo::format_details,
              "What only this table format knows, as JSON text.");

  nb::class_<HistoryEntry>(m, "HistoryEntry", "One commit of a table.")
      .def_ro("version", &HistoryEntry::version)
      .def_ro("timestamp_ms", &HistoryEntry::timestamp_ms)
      .def_ro("operation", &HistoryEntry::operation)
      .def_ro("commit_info_json", &HistoryEntry::commit_info_json);

  nb::class_<MergeArgs>(m, "MergeArgs", "inlet merge's options (Table.merge).")
      .def(nb::init<>())
      .def_rw("keys", &MergeArgs::keys)
      .def_rw("mode", &MergeArgs::mode)
      .def_rw("order_by", &MergeArgs::order_by)
      .def_rw("delete_flag", &MergeArgs::delete_flag)
      .def_rw("ignore_null_updates", &MergeArgs::ignore_null_updates)
      .def_rw("update_columns", &MergeArgs::update_columns)
      .def_rw("sequence_by", &MergeArgs::sequence_by)
      .def_rw("truncate_flag", &MergeArgs::truncate_flag)
      .def_rw("history", &MergeArgs::history)
      .def_rw("track_columns", &MergeArgs::track_columns)
      .def_rw("valid_from", &MergeArgs::valid_from)
      .def_rw("valid_to", &MergeArgs::valid_to)
      .def_rw("is_current", &MergeArgs::is_current)
      .def_rw("missing", &MergeArgs::missing)
      .def_rw("soft_delete_column", &MergeArgs::soft_delete_column)
      .def_rw("max_delete_percent", &MergeArgs::max_delete_percent, nb::arg().none())
      .def_rw("merge_schema", &MergeArgs::merge_schema)
      .def_rw("partition_by", &MergeArgs::partition_by)
      .def_rw("properties", &MergeArgs::properties)
      .def_rw("dry_run", &MergeArgs::dry_run)
      .def_rw("max_retries", &MergeArgs::max_retries);

  nb::class_<PyTable>(m, "Table", "A table (Delta Lake or Apache Iceberg) at a location.")
      .def_static("open", &PyTable::Open, nb::arg("uri"), nb::arg("storage_options"))
      .def_static("open_or_create", &PyTable::OpenOrCreate, nb::arg("uri"),
                  nb::arg("storage_options"), nb::arg("format").none())
      .def_static("open_in_catalog", &PyTable::OpenInCatalog, nb::arg("catalog"),
                  nb::arg("identifier"), nb::arg("storage_options"), nb::arg("create"))
      .def_prop_ro("location", &PyTable::location)
      .def("scan", &PyTable::Scan, nb::arg("columns"), nb::arg("where"),
           nb::arg("version").none(), nb::arg("timestamp_ms").none(),
           nb::arg("ref").none(), nb::arg("limit"), nb::arg("batch_size"))
      .def("info", &PyTable::Info, nb::arg("version").none(),
           nb::arg("timestamp_ms").none(), nb::arg("ref").none())
      .def("row_count", &PyTable::RowCount, nb::arg("version").none())
      .def("history", &PyTable::History, nb::arg("limit"))
      .def("write", &PyTable::Write, nb::arg("data"), nb::arg("mode"),
           nb::arg("partition_by"), nb::arg("replace_where"), nb::arg("sort_by"),
           nb::arg("properties"), nb::arg("update_properties"), nb::arg("merge_schema"),
           nb::arg("target_file_size").none(), nb::arg("compression").none(),
           nb::arg("app_id").none(), nb::arg("app_version").none(),
           nb::arg("app_document").none())
      .def("changes", &PyTable::Changes, nb::arg("from_version"),
           nb::arg("to_version").none(), nb::arg("file_level"))
      .def("merge", &PyTable::Merge, nb::arg("data"), nb::arg("options"))
      .def("delete", &PyTable::Delete, nb::arg("where"), nb::arg("every_row"),
           nb::arg("dry_run"), nb::arg("max_retries"))
      .def("update", &PyTable::Update, nb::arg("set"), nb::arg("where"),
           nb::arg("every_row"), nb::arg("dry_run"), nb::arg("max_retries"))
      .def("optimize", &PyTable::Optimize, nb::arg("where"), nb::arg("target_size"),
           nb::arg("zorder_by"))
      .def("vacuum", &PyTable::Vacuum, nb::arg("retention_hours").none(),
           nb::arg("dry_run"), nb::arg("enforce_retention"))
      .def("checkpoint", &PyTable::Checkpoint)
      .def("restore", &PyTable::Restore, nb::arg("version").none(),
           nb::arg("timestamp_ms").none())
      .def("pipeline_states", &PyTable::PipelineStatesAt, nb::arg("version").none())
      .def("reset_pipeline", &PyTable::ResetPipeline, nb::arg("name"));

  m.def("parse_timestamp_ms", &ParseTimestampMillis, nb::arg("text"),
        "Milliseconds since the epoch of an ISO 8601 timestamp (UTC unless it says).");
}

}  // namespace inlet::python
