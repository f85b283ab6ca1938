#include "inlet/postgres/pg_commit.h"

#include <arrow/array.h>
#include <arrow/array/concatenate.h>
#include <arrow/compute/api.h>

#include <algorithm>

#include "inlet/common/fault.h"
#include "inlet/common/json.h"
#include "inlet/postgres/pg_sql.h"
#include "inlet/source/pg_text.h"
#include "inlet/source/postgres_source.h"
#include "inlet/status.h"

namespace inlet::pg {

namespace {

using pgtext::QuoteIdent;
using pgtext::QuoteLiteral;

// The input's batches as the staging table takes them.
class StagingReader : public arrow::RecordBatchReader {
 public:
  StagingReader(std::shared_ptr<arrow::RecordBatchReader> input,
                std::shared_ptr<arrow::Schema> schema)
      : input_(std::move(input)), schema_(std::move(schema)) {}
  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }
  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(input_->ReadNext(&batch));
    if (!batch) {
      *out = nullptr;
      return arrow::Status::OK();
    }
    ARROW_ASSIGN_OR_RAISE(*out, pg::StageBatch(*batch, schema_, rows_));
    rows_ += batch->num_rows();
    return arrow::Status::OK();
  }
  int64_t rows() const { return rows_; }

 private:
  std::shared_ptr<arrow::RecordBatchReader> input_;
  std::shared_ptr<arrow::Schema> schema_;
  int64_t rows_ = 0;
};

}  // namespace

// Every row of a query.
arrow::Result<std::shared_ptr<arrow::Table>> QueryAll(adbc::Connection& conn,
                                                      const std::string& sql) {
  ARROW_ASSIGN_OR_RAISE(auto reader, conn.Query(sql));
  return reader->ToTable();
}

arrow::Result<std::shared_ptr<arrow::Array>> ColumnAs(
    const arrow::Table& t, int i, std::shared_ptr<arrow::DataType> to) {
  const auto& chunks = t.column(i)->chunks();
  if (chunks.empty()) return arrow::MakeEmptyArray(to);
  ARROW_ASSIGN_OR_RAISE(auto column, arrow::Concatenate(chunks));
  if (column->type()->Equals(*to)) return column;
  return arrow::compute::Cast(*column, to);
}

// The one value of a query's one row (a count, a version) as int64; 0 for null.
arrow::Result<int64_t> QueryCount(adbc::Connection& conn, const std::string& sql) {
  ARROW_ASSIGN_OR_RAISE(auto t, QueryAll(conn, sql));
  if (t->num_rows() != 1) return arrow::Status::Invalid("expected one row from ", sql);
  ARROW_ASSIGN_OR_RAISE(auto a, ColumnAs(*t, 0, arrow::int64()));
  return a->IsNull(0) ? 0 : static_cast<const arrow::Int64Array&>(*a).Value(0);
}

Destination::Destination(PostgresDestinationConfig config) : config_(std::move(config)) {
  PostgresConnection c = ConnectionOf(config_.pg);
  uri_ = std::move(c.uri);
  name_ = std::move(c.name);
  secrets_ = std::move(c.secrets);
  location_ = name_ + "#" + config_.table;
  auto dot = config_.table.find('.');
  if (dot != std::string::npos) {
    schema_name_ = config_.table.substr(0, dot);
    relation_ = config_.table.substr(dot + 1);
  } else {
    relation_ = config_.table;
  }
}

std::string Destination::Key() const { return QuoteLiteral(config_.table); }

arrow::Result<std::unique_ptr<adbc::Connection>> Destination::Connect() const {
  ARROW_ASSIGN_OR_RAISE(auto conn, adbc::Connection::Open(uri_, name_, secrets_));
  ARROW_RETURN_NOT_OK(conn->Execute("SET TIME ZONE 'UTC'"));
  ARROW_RETURN_NOT_OK(conn->Execute("SET standard_conforming_strings = on"));
  return conn;
}

arrow::Result<std::vector<Column>> Destination::Columns(adbc::Connection& conn) const {
  ARROW_ASSIGN_OR_RAISE(auto t,
                        QueryAll(conn,
                                 "SELECT a.attname::text, format_type(a.atttypid, "
                                 "a.atttypmod) FROM pg_attribute a WHERE a.attrelid = " +
                                     Regclass() +
                                     " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY "
                                     "a.attnum"));
  ARROW_ASSIGN_OR_RAISE(auto names, ColumnAs(*t, 0, arrow::utf8()));
  ARROW_ASSIGN_OR_RAISE(auto types, ColumnAs(*t, 1, arrow::utf8()));
  std::vector<Column> out;
  for (int64_t i = 0; i < t->num_rows(); ++i)
    out.push_back({static_cast<const arrow::StringArray&>(*names).GetString(i),
                   static_cast<const arrow::StringArray&>(*types).GetString(i)});
  return out;
}

arrow::Result<std::vector<std::vector<std::string>>> Destination::UniqueKeys(
    adbc::Connection& conn) const {
  ARROW_ASSIGN_OR_RAISE(
      auto t,
      QueryAll(conn,
               "SELECT string_agg(a.attname::text, chr(1) ORDER BY a.attname) FROM "
               "pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum "
               "= ANY (i.indkey) WHERE i.indrelid = " +
                   Regclass() +
                   " AND i.indisunique AND i.indpred IS NULL AND i.indexprs IS NULL "
                   "GROUP BY i.indexrelid"));
  ARROW_ASSIGN_OR_RAISE(auto sets, ColumnAs(*t, 0, arrow::utf8()));
  std::vector<std::vector<std::string>> out;
  for (int64_t i = 0; i < t->num_rows(); ++i) {
    std::string s = static_cast<const arrow::StringArray&>(*sets).GetString(i);
    std::vector<std::string> names;
    size_t start = 0;
    while (true) {
      size_t end = s.find('\x01', start);
      names.push_back(s.substr(start, end - start));
      if (end == std::string::npos) break;
      start = end + 1;
    }
    out.push_back(std::move(names));
  }
  return out;
}

arrow::Result<bool> Destination::HasStateTable(adbc::Connection& conn) const {
  ARROW_ASSIGN_OR_RAISE(
      int64_t n, QueryCount(conn, "SELECT count(*) FROM (SELECT to_regclass(" +
                                      QuoteLiteral(Qualified(config_.state_table)) +
                                      ") AS c) AS r WHERE c IS NOT NULL"));
  return n > 0;
}

arrow::Status Destination::EnsureStateTables(adbc::Connection& conn) const {
  ARROW_ASSIGN_OR_RAISE(bool has, HasStateTable(conn));
  if (has) return arrow::Status::OK();
  std::string ddl =
      "CREATE TABLE IF NOT EXISTS " + StateTable() +
      " (table_name text NOT NULL, app_id text NOT NULL, version bigint, document "
      "text, updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (table_name, "
      "app_id))";
  std::string history =
      "CREATE TABLE IF NOT EXISTS " + HistoryTable() +
      " (table_name text NOT NULL, version bigint NOT NULL, committed_at timestamptz "
      "NOT NULL DEFAULT now(), operation text NOT NULL, parameters text NOT NULL, "
      "PRIMARY KEY (table_name, version))";
  for (const auto& sql : {ddl, history}) {
    auto st = conn.Execute(sql);
    if (!st.ok() && conn.sqlstate() != "23505" && conn.sqlstate() != "42P07") return st;
  }
  return arrow::Status::OK();
}

std::string Destination::Qualified(const std::string& name) const {
  return schema_name_.empty() ? QuoteIdent(name)
                              : QuoteIdent(schema_name_) + "." + QuoteIdent(name);
}

std::string Destination::Regclass() const {
  return "coalesce(to_regclass(" + QuoteLiteral(Target()) + "), 0)";
}

arrow::Status Destination::Failed(const std::string& why) const {
  return arrow::Status::Invalid(Describe(), ": ", why);
}

Commit::~Commit() {
  if (conn_ && open_) (void)conn_->Rollback();
}

arrow::Status Commit::Start(const WriteOptions& w) {
  ARROW_ASSIGN_OR_RAISE(conn_, dest_.Connect());
  ARROW_RETURN_NOT_OK(dest_.EnsureStateTables(*conn_));
  ARROW_RETURN_NOT_OK(conn_->Begin());
  open_ = true;
  ARROW_RETURN_NOT_OK(Run("INSERT INTO " + dest_.StateTable() +
                          " (table_name, app_id, version) VALUES (" + dest_.Key() +
                          ", '', 0) ON CONFLICT DO NOTHING")
                          .status());
  ARROW_ASSIGN_OR_RAISE(version_,
                        QueryCount(*conn_, "SELECT version FROM " + dest_.StateTable() +
                                               " WHERE table_name = " + dest_.Key() +
                                               " AND app_id = '' FOR UPDATE"));
  if (w.read_version && version_ != std::max<int64_t>(*w.read_version, 0)) {
    return CommitConflict(dest_.Describe() + ": the table was committed to (version " +
                          std::to_string(version_) + ") after version " +
                          std::to_string(*w.read_version) +
                          ", which this commit's decisions rest on");
  }
  ARROW_ASSIGN_OR_RAISE(columns_, dest_.Columns(*conn_));
  return arrow::Status::OK();
}

arrow::Status Commit::RequireUnique(const std::vector<std::string>& keys) {
  std::vector<std::string> want = keys;
  std::sort(want.begin(), want.end());
  ARROW_ASSIGN_OR_RAISE(auto sets, dest_.UniqueKeys(*conn_));
  for (auto& set : sets) {
    std::sort(set.begin(), set.end());
    if (set == want) return arrow::Status::OK();
  }
  std::string list;
  for (const auto& k : keys) list += (list.empty() ? "" : ", ") + QuoteIdent(k);
  return dest_.Failed("a merge by (" + list +
                      ") needs a primary key or unique index on exactly those "
                      "columns, which the table lacks (ALTER TABLE " +
                      dest_.Target() + " ADD PRIMARY KEY (" + list + "))");
}

const Column* Commit::Find(const std::string& name) const {
  for (const auto& c : columns_)
    if (c.name == name) return &c;
  return nullptr;
}

arrow::Status Commit::Prepare(const arrow::Schema& input, bool merge_schema,
                              const std::vector<std::string>& keys) {
  for (const auto& f : input.fields())
    if (f->name().rfind("__inlet", 0) == 0)
      return dest_.Failed("column '" + f->name() +
                          "': names starting with __inlet are inlet's own");
  if (!exists()) {
    std::string ddl;
    for (const auto& f : input.fields()) {
      ARROW_ASSIGN_OR_RAISE(std::string type, pg::ColumnTypeOf(*f->type(), f->name()));
      bool key = std::find(keys.begin(), keys.end(), f->name()) != keys.end();
      ddl += (ddl.empty() ? "" : ", ") + QuoteIdent(f->name()) + " " + type +
             (key || !f->nullable() ? " NOT NULL" : "");
    }
    if (!keys.empty()) {
      std::string pk;
      for (const auto& k : keys) {
        if (!input.GetFieldByName(k))
          return dest_.Failed("the key column '" + k + "' is not among the rows'");
        pk += (pk.empty() ? "" : ", ") + QuoteIdent(k);
      }
      ddl += ", PRIMARY KEY (" + pk + ")";
    }
    ARROW_RETURN_NOT_OK(
        Run("CREATE TABLE " + dest_.Target() + " (" + ddl + ")").status());
    created_ = true;
  } else {
    for (const auto& f : input.fields()) {
      if (Find(f->name())) continue;
      if (!merge_schema)
        return WithKind(dest_.Failed("the rows have a column '" + f->name() +
                                     "' the table lacks (set "
                                     "quality.schema_drift: add_columns to add it)"),
                        ErrorKind::kSchemaMismatch);
      ARROW_ASSIGN_OR_RAISE(std::string type, pg::ColumnTypeOf(*f->type(), f->name()));
      ARROW_RETURN_NOT_OK(Run("ALTER TABLE " + dest_.Target() + " ADD COLUMN " +
                              QuoteIdent(f->name()) + " " + type)
                              .status());
    }
  }
  ARROW_ASSIGN_OR_RAISE(columns_, dest_.Columns(*conn_));
  return arrow::Status::OK();
}

arrow::Status Commit::Stage(std::shared_ptr<arrow::RecordBatchReader> rows) {
  ARROW_ASSIGN_OR_RAISE(auto schema, pg::StageSchema(*rows->schema(), kOrdinal));
  auto staging = std::make_shared<StagingReader>(std::move(rows), schema);
  ARROW_RETURN_NOT_OK(conn_->IngestTemporary(kStage, staging));
  staged_rows_ = staging->rows();
  for (const auto& f : schema->fields())
    if (f->name() != kOrdinal) staged_.push_back(f->name());
  return arrow::Status::OK();
}

std::string Commit::Cast(const std::string& alias, const std::string& column) const {
  const Column* c = Find(column);
  return alias + "." + QuoteIdent(column) + "::" + c->type;
}

std::string Commit::Comparable(const std::string& expr, const std::string& column) const {
  return pg::HasEquality(Find(column)->type) ? expr : "(" + expr + ")::text";
}

std::string Commit::ColumnList() const {
  std::string out;
  for (const auto& c : staged_) out += (out.empty() ? "" : ", ") + QuoteIdent(c);
  return out;
}

std::string Commit::CastList(const std::string& alias) const {
  std::string out;
  for (const auto& c : staged_) out += (out.empty() ? "" : ", ") + Cast(alias, c);
  return out;
}

std::string Commit::KeysMatch(const std::vector<std::string>& keys, const std::string& t,
                              const std::string& s) const {
  std::string out;
  for (const auto& k : keys)
    out += (out.empty() ? "" : " AND ") + t + "." + QuoteIdent(k) + " = " + Cast(s, k);
  return out;
}

arrow::Result<int64_t> Commit::Run(const std::string& sql) {
  auto n = conn_->Update(sql);
  if (!n.ok()) return Explained(n.status());
  return *n;
}

arrow::Result<int64_t> Commit::Count(const std::string& sql) {
  auto n = QueryCount(*conn_, sql);
  if (!n.ok()) return Explained(n.status());
  return *n;
}

arrow::Result<std::shared_ptr<arrow::Table>> Commit::Rows(const std::string& sql) {
  auto t = QueryAll(*conn_, sql);
  if (!t.ok()) return Explained(t.status());
  return *t;
}

arrow::Result<CommitResult> Commit::Finish(
    const WriteOptions& w, const std::string& operation,
    const std::map<std::string, std::string>& parameters, CommitResult counts,
    bool dry_run) {
  if (staged_rows_ >= 0)
    ARROW_RETURN_NOT_OK(Run("DROP TABLE IF EXISTS " + std::string(kStage)).status());
  for (const auto& [app, state] : w.app_states) {
    std::string version = state.version ? std::to_string(*state.version) : "NULL";
    std::string document = state.document ? QuoteLiteral(*state.document) : "NULL";
    ARROW_RETURN_NOT_OK(
        Run("INSERT INTO " + dest_.StateTable() +
            " AS s (table_name, app_id, version, document) VALUES (" + dest_.Key() +
            ", " + QuoteLiteral(app) + ", " + version + ", " + document +
            ") ON CONFLICT (table_name, app_id) DO UPDATE SET version = " +
            (state.version ? "EXCLUDED.version" : "s.version") +
            ", document = " + (state.document ? "EXCLUDED.document" : "s.document") +
            ", updated_at = now()")
            .status());
  }
  for (const auto& app : w.clear_app_documents) {
    ARROW_RETURN_NOT_OK(Run("UPDATE " + dest_.StateTable() +
                            " SET document = NULL, updated_at = now() WHERE "
                            "table_name = " +
                            dest_.Key() + " AND app_id = " + QuoteLiteral(app))
                            .status());
  }
  int64_t version = version_ + 1;
  Json params = Json::object();
  for (const auto& [k, v] : parameters) params[k] = v;
  ARROW_RETURN_NOT_OK(
      Run("UPDATE " + dest_.StateTable() + " SET version = " + std::to_string(version) +
          ", updated_at = now() WHERE table_name = " + dest_.Key() + " AND app_id = ''")
          .status());
  ARROW_RETURN_NOT_OK(Run("INSERT INTO " + dest_.HistoryTable() +
                          " (table_name, version, operation, parameters) VALUES (" +
                          dest_.Key() + ", " + std::to_string(version) + ", " +
                          QuoteLiteral(operation) + ", " +
                          QuoteLiteral(DumpJson(params)) + ")")
                          .status());
  counts.attempts = 1;
  if (dry_run) {
    open_ = false;
    ARROW_RETURN_NOT_OK(conn_->Rollback());
    counts.version = -1;
    return counts;
  }
  CrashPoint("postgres.before_commit");
  open_ = false;
  auto committed = conn_->Commit();
  if (!committed.ok())
    return arrow::Status::IOError(
        dest_.Describe(),
        ": the commit failed, so nothing of it was written: ", committed.message());
  CrashPoint("postgres.after_commit");
  counts.version = version;
  return counts;
}

arrow::Status Commit::Abandon() {
  open_ = false;
  return conn_->Rollback();
}

arrow::Status Commit::Explained(const arrow::Status& st) const {
  const std::string& state = conn_->sqlstate();
  std::string hint;
  if (state == "23505")
    hint =
        " (two rows with one key: the table's primary key or a unique index refuses "
        "them)";
  else if (state == "23502")
    hint = " (a column the table declares NOT NULL got no value)";
  else if (state == "40001" || state == "40P01")
    return CommitConflict(dest_.Describe() + ": " + st.message());
  if (!state.empty() && state.rfind("08", 0) != 0 && state.rfind("57P", 0) != 0)
    return arrow::Status::Invalid(dest_.Describe(), ": ", st.message(), hint);
  return st;
}

}  // namespace inlet::pg
