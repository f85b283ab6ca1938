#include "inlet/postgres/postgres_table.h"

#include <arrow/array.h>
#include <arrow/compute/api.h>
#include <arrow/extension_type.h>
#include <arrow/table.h>

#include <algorithm>
#include <functional>
#include <mutex>
#include <set>

#include "inlet/common/fault.h"
#include "inlet/common/json.h"
#include "inlet/common/redact.h"
#include "inlet/postgres/pg_commit.h"
#include "inlet/postgres/pg_sql.h"
#include "inlet/source/adbc.h"
#include "inlet/source/pg_columns.h"
#include "inlet/source/pg_text.h"
#include "inlet/source/postgres_source.h"
#include "inlet/status.h"

namespace inlet {

namespace {

using pgtext::QuoteIdent;
using pgtext::QuoteLiteral;

using pg::Column;
using pg::ColumnAs;
using pg::kOrdinal;
using pg::kStage;
using pg::QueryAll;
using pg::QueryCount;

class PostgresTable;

class PostgresSnapshot : public Snapshot {
 public:
  PostgresSnapshot(std::shared_ptr<const PostgresTable> table, int64_t version,
                   std::shared_ptr<arrow::Schema> schema,
                   std::vector<std::string> type_names,
                   std::map<std::string, AppState> apps, int64_t timestamp_ms)
      : table_(std::move(table)),
        version_(version),
        schema_(std::move(schema)),
        type_names_(std::move(type_names)),
        apps_(std::move(apps)),
        timestamp_ms_(timestamp_ms) {}

  int64_t version() const override { return version_; }
  std::string snapshot_id() const override { return std::to_string(version_); }
  const std::shared_ptr<arrow::Schema>& schema() const override { return schema_; }
  const std::vector<std::string>& partition_columns() const override {
    static const std::vector<std::string> kNone;
    return kNone;
  }
  TableInfo Info() const override;
  std::optional<int64_t> RowCount() const override;

  std::optional<int64_t> AppVersion(const std::string& app_id) const override {
    auto it = apps_.find(app_id);
    return it == apps_.end() ? std::nullopt : it->second.version;
  }
  arrow::Result<std::optional<std::string>> AppDocument(
      const std::string& app_id) const override {
    auto it = apps_.find(app_id);
    return it == apps_.end() ? std::nullopt : it->second.document;
  }
  bool HasAppDocument(const std::string& app_id) const override {
    auto it = apps_.find(app_id);
    return it != apps_.end() && it->second.document.has_value();
  }
  arrow::Result<std::map<std::string, std::string>> AppDocuments(
      const std::string& prefix) const override {
    std::map<std::string, std::string> out;
    for (const auto& [id, state] : apps_)
      if (id.rfind(prefix, 0) == 0 && state.document) out[id] = *state.document;
    return out;
  }
  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Scan(
      const ScanOptions& options) const override;

 private:
  std::shared_ptr<const PostgresTable> table_;
  int64_t version_;
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<std::string> type_names_;
  std::map<std::string, AppState> apps_;
  int64_t timestamp_ms_;
  mutable std::once_flag counted_;
  mutable std::optional<int64_t> rows_;
};

class PostgresTable : public Table, public std::enable_shared_from_this<PostgresTable> {
 public:
  explicit PostgresTable(PostgresDestinationConfig config) : dest_(std::move(config)) {}

  const std::string& location() const override { return dest_.Describe(); }

  // --- Reading.

  arrow::Result<std::shared_ptr<Snapshot>> GetSnapshot(
      const SnapshotSpec& spec) const override {
    if (spec.version || spec.timestamp_ms || spec.ref)
      return dest_.Failed("a PostgreSQL table keeps no earlier versions to read");
    ARROW_ASSIGN_OR_RAISE(auto conn, dest_.Connect());
    ARROW_ASSIGN_OR_RAISE(auto columns, dest_.Columns(*conn));
    if (columns.empty()) {
      dest_.Keep(std::move(conn));  // the first commit, creating the table, takes it
      return TableNotFound(dest_.Describe() +
                           ": there is no such table (the first commit "
                           "creates it)");
    }
    int64_t version = 0;
    int64_t timestamp_ms = 0;
    std::map<std::string, AppState> apps;
    ARROW_ASSIGN_OR_RAISE(bool has_state, dest_.HasStateTable(*conn));
    if (has_state) {
      ARROW_ASSIGN_OR_RAISE(
          auto t,
          QueryAll(*conn,
                   "SELECT app_id, version, document, "
                   "(extract(epoch FROM updated_at) * 1000)::bigint "
                   "FROM " +
                       dest_.StateTable() + " WHERE table_name = " + dest_.Key()));
      ARROW_ASSIGN_OR_RAISE(auto ids, ColumnAs(*t, 0, arrow::utf8()));
      ARROW_ASSIGN_OR_RAISE(auto versions, ColumnAs(*t, 1, arrow::int64()));
      ARROW_ASSIGN_OR_RAISE(auto documents, ColumnAs(*t, 2, arrow::utf8()));
      ARROW_ASSIGN_OR_RAISE(auto times, ColumnAs(*t, 3, arrow::int64()));
      const auto& id = static_cast<const arrow::StringArray&>(*ids);
      const auto& v = static_cast<const arrow::Int64Array&>(*versions);
      const auto& d = static_cast<const arrow::StringArray&>(*documents);
      const auto& ts = static_cast<const arrow::Int64Array&>(*times);
      std::string owner;  // the table the states were recorded for (its oid)
      for (int64_t i = 0; i < t->num_rows(); ++i) {
        std::string app(id.GetView(i));
        if (app.empty()) {
          version = v.IsNull(i) ? 0 : v.Value(i);
          timestamp_ms = ts.IsNull(i) ? 0 : ts.Value(i);
          if (d.IsValid(i)) owner = std::string(d.GetView(i));
          continue;
        }
        AppState s;
        if (v.IsValid(i)) s.version = v.Value(i);
        if (d.IsValid(i)) s.document = std::string(d.GetView(i));
        apps[app] = std::move(s);
      }
      // States of an earlier table of this name (dropped since) are not this one's.
      ARROW_ASSIGN_OR_RAISE(
          int64_t oid, QueryCount(*conn, "SELECT " + dest_.Regclass() + "::oid::bigint"));
      if (!owner.empty() && owner != std::to_string(oid)) {
        // The table was dropped and created again: its states are not this table's.
        // Recording the new table is a commit of its own (the states dropped, the
        // version counted), so that a writer that read the old table's states conflicts.
        dest_.Keep(std::move(conn));
        pg::Commit adopt(dest_);
        ARROW_RETURN_NOT_OK(adopt.Start({}));
        ARROW_ASSIGN_OR_RAISE(auto committed,
                              adopt.Finish({}, "NEW TABLE", {}, CommitResult{}, false));
        version = committed.version;
        apps.clear();
      }
    }
    dest_.Keep(std::move(conn));
    ARROW_ASSIGN_OR_RAISE(auto schema, ReadSchema());
    std::vector<std::string> type_names;
    for (const auto& f : schema->fields()) {
      auto c = std::find_if(columns.begin(), columns.end(),
                            [&](const Column& c) { return c.name == f->name(); });
      type_names.push_back(c == columns.end() ? "" : c->type);
    }
    return std::make_shared<PostgresSnapshot>(shared_from_this(), version,
                                              std::move(schema), std::move(type_names),
                                              std::move(apps), timestamp_ms);
  }

  arrow::Result<std::vector<HistoryEntry>> History(int64_t limit) const override {
    ARROW_ASSIGN_OR_RAISE(auto conn, dest_.Connect());
    ARROW_ASSIGN_OR_RAISE(bool has_state, dest_.HasStateTable(*conn));
    std::vector<HistoryEntry> out;
    if (!has_state) {
      dest_.Keep(std::move(conn));
      return out;
    }
    ARROW_ASSIGN_OR_RAISE(
        auto t,
        QueryAll(*conn,
                 "SELECT version, (extract(epoch FROM committed_at) * "
                 "1000)::bigint, operation, parameters FROM " +
                     dest_.HistoryTable() + " WHERE table_name = " + dest_.Key() +
                     " ORDER BY version DESC" +
                     (limit >= 0 ? " LIMIT " + std::to_string(limit) : std::string())));
    ARROW_ASSIGN_OR_RAISE(auto versions, ColumnAs(*t, 0, arrow::int64()));
    ARROW_ASSIGN_OR_RAISE(auto times, ColumnAs(*t, 1, arrow::int64()));
    ARROW_ASSIGN_OR_RAISE(auto operations, ColumnAs(*t, 2, arrow::utf8()));
    ARROW_ASSIGN_OR_RAISE(auto parameters, ColumnAs(*t, 3, arrow::utf8()));
    dest_.Keep(std::move(conn));
    for (int64_t i = 0; i < t->num_rows(); ++i) {
      HistoryEntry e;
      e.version = static_cast<const arrow::Int64Array&>(*versions).Value(i);
      e.timestamp_ms = static_cast<const arrow::Int64Array&>(*times).Value(i);
      e.operation = static_cast<const arrow::StringArray&>(*operations).GetString(i);
      Json info = Json::object();
      info["timestamp"] = e.timestamp_ms;
      info["operation"] = e.operation;
      auto params = ParseJson(
          static_cast<const arrow::StringArray&>(*parameters).GetView(i), "parameters");
      info["operationParameters"] = params.ok() ? *params : Json::object();
      e.commit_info_json = DumpJson(info);
      out.push_back(std::move(e));
    }
    return out;
  }

  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> ScanRows(
      const ScanOptions& options) const {
    std::string select;
    for (const auto& c : options.columns)
      select += (select.empty() ? "" : ", ") + QuoteIdent(c);
    const std::string table = dest_.Target();
    std::string sql = "SELECT " + (select.empty() ? std::string("*") : select) +
                      " FROM " + table + " WHERE " + pg::WhereOf(options.filter);
    if (options.limit >= 0) sql += " LIMIT " + std::to_string(options.limit);
    return Read(sql);
  }

  arrow::Result<int64_t> CountRows() const {
    ARROW_ASSIGN_OR_RAISE(auto conn, dest_.Connect());
    const std::string table = dest_.Target();
    ARROW_ASSIGN_OR_RAISE(int64_t n, QueryCount(*conn, "SELECT count(*) FROM " + table));
    dest_.Keep(std::move(conn));
    return n;
  }

  const pg::Destination& destination() const { return dest_; }

  // --- Writing.

  arrow::Result<CommitResult> Write(std::shared_ptr<arrow::RecordBatchReader> data,
                                    const WriteOptions& options) override;
  arrow::Result<MergeResult> Merge(std::shared_ptr<arrow::Table> source,
                                   const MergeOptions& options) override {
    return pg::Merge(dest_, std::move(source), options);
  }
  arrow::Result<MergeResult> Delete(const RowChangeOptions& options) override;
  arrow::Result<MergeResult> Update(const UpdateOptions& options) override;

  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Changes(int64_t,
                                                                   std::optional<int64_t>,
                                                                   bool) const override {
    return NotForPostgres("keeps no change feed (follow it with postgres_cdc)");
  }
  arrow::Result<OptimizeResult> Optimize(const OptimizeOptions&) override {
    return NotForPostgres("has no data files to compact (PostgreSQL's VACUUM does that)");
  }
  arrow::Result<VacuumResult> Vacuum(const VacuumOptions&) override {
    return NotForPostgres("has no data files to vacuum (run PostgreSQL's VACUUM)");
  }
  arrow::Result<CheckpointResult> Checkpoint() override {
    return NotForPostgres("has no log to checkpoint");
  }
  arrow::Result<RestoreResult> Restore(const SnapshotSpec&) override {
    return NotForPostgres("keeps no earlier versions to restore");
  }

 private:
  arrow::Status NotForPostgres(const std::string& why) const {
    return WithKind(
        arrow::Status::NotImplemented(dest_.Describe(), ": a PostgreSQL table ", why),
        ErrorKind::kUnsupportedFeature);
  }

  // Rows of a query, in the types the postgres source maps PostgreSQL's onto.
  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Read(
      const std::string& sql) const {
    PostgresSourceConfig source = dest_.config().pg;
    source.table.clear();
    source.query = sql;
    source.unknown_types = UnknownTypes::kText;
    source.description = "PostgreSQL " + dest_.Describe();
    ARROW_ASSIGN_OR_RAISE(auto bounded, OpenPostgresSource(source));
    ReadRequest request;
    request.scope = SourceScope::kAll;
    ARROW_ASSIGN_OR_RAISE(SourceStream stream, bounded->Stream(Json::object(), request));
    auto reader = stream.batches;
    // The reader keeps what it needs of the source, but not the source itself.
    struct Holder : arrow::RecordBatchReader {
      std::unique_ptr<BoundedSource> source;
      std::shared_ptr<arrow::RecordBatchReader> reader;
      std::shared_ptr<arrow::Schema> schema() const override { return reader->schema(); }
      arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* b) override {
        return reader->ReadNext(b);
      }
      ~Holder() override { reader.reset(); }
    };
    auto h = std::make_shared<Holder>();
    h->source = std::move(bounded);
    h->reader = std::move(reader);
    return h;
  }

  // Whether the driver gave a column (or a list's elements) a type it does not know.
  static bool HasOpaque(const arrow::Schema& schema) {
    std::function<bool(const arrow::Field&)> opaque = [&](const arrow::Field& f) {
      if (pgcol::Metadata(f, "ARROW:extension:name") == "arrow.opaque") return true;
      if (f.type()->id() == arrow::Type::EXTENSION &&
          static_cast<const arrow::ExtensionType&>(*f.type()).extension_name() ==
              "arrow.opaque")
        return true;
      auto storage = pgcol::Storage(f.type());
      for (const auto& child : storage->fields())
        if (opaque(*child)) return true;
      return false;
    };
    for (const auto& f : schema.fields())
      if (opaque(*f)) return true;
    return false;
  }

  // The table's columns as a query source reads them (source/pg_columns.h; types it does
  // not map as text), described on the destination's own session.
  arrow::Result<std::shared_ptr<arrow::Schema>> ReadSchema() const {
    // As a query of the table (Scan's), so that the schema is the scanned rows' (no
    // array element typmods: those are a table source's).
    auto described = [&](bool reuse) -> arrow::Result<std::shared_ptr<arrow::Schema>> {
      ARROW_ASSIGN_OR_RAISE(auto conn, dest_.Connect(reuse));
      ARROW_ASSIGN_OR_RAISE(auto schema,
                            conn->Describe("SELECT * FROM " + dest_.Target()));
      dest_.Keep(std::move(conn));
      return schema;
    };
    // A kept session's driver knows the types that existed when the session began: one
    // created since (an enum, a domain) comes as an opaque type, described again on a
    // new session.
    auto schema = described(true);
    if (!schema.ok() || HasOpaque(**schema)) schema = described(false);
    if (!schema.ok()) return schema.status();
    PostgresSourceConfig source = dest_.config().pg;
    source.unknown_types = UnknownTypes::kText;
    arrow::FieldVector fields;
    for (const auto& f : (*schema)->fields()) {
      auto plan = pgcol::PlanColumn(*f, source);
      if (!plan.ok()) return dest_.Failed(plan.status().message());
      fields.push_back(arrow::field(
          plan->name,
          plan->conversion == pgcol::Conversion::kUnknown ? arrow::utf8() : plan->type));
    }
    return arrow::schema(std::move(fields));
  }

  pg::Destination dest_;
};

TableInfo PostgresSnapshot::Info() const {
  TableInfo info;
  info.format = "postgres";
  info.location = table_->location();
  info.version = version_;
  info.snapshot_id = snapshot_id();
  info.timestamp_ms = timestamp_ms_;
  info.schema = schema_;
  info.type_names = type_names_;
  info.name = table_->destination().config().table;
  Json details = Json::object();
  details["state_table"] = table_->destination().config().state_table;
  info.format_details = DumpJson(details);
  return info;
}

std::optional<int64_t> PostgresSnapshot::RowCount() const {
  std::call_once(counted_, [this] {
    auto n = table_->CountRows();
    if (n.ok()) rows_ = *n;
  });
  return rows_;
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> PostgresSnapshot::Scan(
    const ScanOptions& options) const {
  for (const auto& c : options.columns)
    if (!schema_->GetFieldByName(c))
      return table_->destination().Failed("no column '" + c + "'");
  for (const auto& p : options.filter)
    if (!schema_->GetFieldByName(p.column))
      return table_->destination().Failed("no column '" + p.column + "'");
  return table_->ScanRows(options);
}

std::string PredicateText(const Conjunction& where) {
  std::string out;
  for (const auto& p : where) out += (out.empty() ? "" : " AND ") + p.ToString();
  return out;
}

std::string DefaultOperation(WriteMode mode) {
  return mode == WriteMode::kAppend ? "WRITE" : "OVERWRITE";
}

arrow::Result<CommitResult> PostgresTable::Write(
    std::shared_ptr<arrow::RecordBatchReader> data, const WriteOptions& options) {
  if (options.mode == WriteMode::kOverwritePartitions || !options.replace_where.empty())
    return dest_.Failed("a PostgreSQL table has no partitions to replace");
  if (!options.partition_by.empty() || !options.sort_by.empty())
    return dest_.Failed(
        "inlet does not partition or sort a PostgreSQL table (declare that in "
        "PostgreSQL)");
  pg::Commit commit(dest_);
  ARROW_RETURN_NOT_OK(commit.Start(options));
  // Staged first: a column the table gains locks it for no longer than the statements.
  // No primary key: an append may repeat a key (a merge's table gets one).
  std::shared_ptr<arrow::Schema> input = data->schema();
  ARROW_RETURN_NOT_OK(commit.Stage(std::move(data)));
  ARROW_RETURN_NOT_OK(commit.Prepare(*input, options.merge_schema, {}));
  CommitResult counts;
  if (options.mode == WriteMode::kOverwrite) {
    // DELETE, not TRUNCATE: readers keep seeing the old rows until the commit.
    ARROW_RETURN_NOT_OK(commit.Run("DELETE FROM " + dest_.Target()).status());
  }
  ARROW_ASSIGN_OR_RAISE(
      counts.rows_written,
      commit.Run("INSERT INTO " + dest_.Target() + " (" + commit.ColumnList() +
                 ") SELECT " + commit.CastList("s") + " FROM " + kStage +
                 " AS s ORDER BY s." + kOrdinal));
  std::string operation =
      options.operation.empty() ? DefaultOperation(options.mode) : options.operation;
  return commit.Finish(options, operation, options.operation_parameters, counts, false);
}

arrow::Result<MergeResult> PostgresTable::Delete(const RowChangeOptions& options) {
  if (options.where.empty() && !options.every_row)
    return dest_.Failed("a delete without a condition needs every_row");
  pg::Commit commit(dest_);
  ARROW_RETURN_NOT_OK(commit.Start(options.write));
  if (!commit.exists())
    return TableNotFound(dest_.Describe() + ": there is no such table");
  MergeResult result;
  ARROW_ASSIGN_OR_RAISE(result.rows_deleted,
                        commit.Run("DELETE FROM " + dest_.Target() + " WHERE " +
                                   pg::WhereOf(options.where)));
  ARROW_ASSIGN_OR_RAISE(
      result.commit,
      commit.Finish(options.write, "DELETE",
                    {{"predicate", PredicateText(options.where)}}, {}, options.dry_run));
  return result;
}

arrow::Result<MergeResult> PostgresTable::Update(const UpdateOptions& options) {
  if (options.where.empty() && !options.every_row)
    return dest_.Failed("an update without a condition needs every_row");
  if (options.set.empty()) return dest_.Failed("an update needs columns to set");
  pg::Commit commit(dest_);
  ARROW_RETURN_NOT_OK(commit.Start(options.write));
  if (!commit.exists())
    return TableNotFound(dest_.Describe() + ": there is no such table");
  std::string set;
  for (const auto& [column, value] : options.set) {
    if (!commit.Find(column)) return dest_.Failed("no column '" + column + "'");
    set += (set.empty() ? "" : ", ") + QuoteIdent(column) + " = " +
           (value ? QuoteLiteral(*value) : std::string("NULL"));
  }
  MergeResult result;
  ARROW_ASSIGN_OR_RAISE(result.rows_updated,
                        commit.Run("UPDATE " + dest_.Target() + " SET " + set +
                                   " WHERE " + pg::WhereOf(options.where)));
  ARROW_ASSIGN_OR_RAISE(
      result.commit,
      commit.Finish(options.write, "UPDATE",
                    {{"predicate", PredicateText(options.where)}}, {}, options.dry_run));
  return result;
}

}  // namespace

arrow::Result<std::shared_ptr<Table>> OpenPostgresTable(
    const PostgresDestinationConfig& config) {
  ARROW_RETURN_NOT_OK(QuoteQualifiedName(config.table).status());
  if (std::count(config.table.begin(), config.table.end(), '.') > 1)
    return arrow::Status::Invalid("'", config.table,
                                  "' is not schema.table (or table, in public)");
  return std::make_shared<PostgresTable>(config);
}

}  // namespace inlet
