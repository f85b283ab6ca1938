#include "inlet/postgres/pg_commit.h"

#include <arrow/array.h>
#include <arrow/array/concatenate.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <atomic>

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
  // A name without a schema is in public, whatever a session's search_path says: one
  // table has one name in the state tables.
  auto dot = config_.table.find('.');
  schema_name_ = dot == std::string::npos ? "public" : config_.table.substr(0, dot);
  relation_ = dot == std::string::npos ? config_.table : config_.table.substr(dot + 1);
}

std::string Destination::Key() const {
  return QuoteLiteral(schema_name_ + "." + relation_);
}

namespace {
// Sessions kept in the whole process, at most kMaxKept: a stream following many tables
// has a destination per table, and idle sessions count against the server's
// max_connections.
std::atomic<int> kept_sessions{0};
constexpr int kMaxKept = 4;
}  // namespace

arrow::Result<std::unique_ptr<adbc::Connection>> Destination::Connect(bool reuse) const {
  std::unique_ptr<adbc::Connection> kept;
  if (reuse) {
    std::lock_guard<std::mutex> lock(idle_->mu);
    if (!idle_->connections.empty()) {
      kept = std::move(idle_->connections.back());
      idle_->connections.pop_back();
      --kept_sessions;
    }
  }
  // A kept session the server has ended meanwhile (a restart, an idle timeout) fails
  // this first statement: a new one then.
  if (kept && kept->Execute("SET TIME ZONE 'UTC'").ok()) return kept;
  kept.reset();
  ARROW_ASSIGN_OR_RAISE(auto conn, adbc::Connection::Open(uri_, name_, secrets_));
  ARROW_RETURN_NOT_OK(conn->Execute("SET TIME ZONE 'UTC'"));
  ARROW_RETURN_NOT_OK(conn->Execute("SET standard_conforming_strings = on"));
  return conn;
}

Destination::Idle::~Idle() { kept_sessions -= static_cast<int>(connections.size()); }

void Destination::Keep(std::unique_ptr<adbc::Connection> conn) const {
  if (!conn) return;
  std::lock_guard<std::mutex> lock(idle_->mu);
  if (idle_->connections.size() >= 2) return;
  if (kept_sessions.fetch_add(1) >= kMaxKept) {
    --kept_sessions;
    return;
  }
  idle_->connections.push_back(std::move(conn));
}

arrow::Result<std::vector<Column>> Destination::Columns(adbc::Connection& conn) const {
  ARROW_ASSIGN_OR_RAISE(auto t,
                        QueryAll(conn,
                                 "SELECT a.attname::text, format_type(a.atttypid, "
                                 "a.atttypmod), format_type(a.atttypid, NULL), "
                                 "a.attcollation <> 0 FROM "
                                 "pg_attribute a WHERE a.attrelid = " +
                                     Regclass() +
                                     " AND a.attnum > 0 AND NOT a.attisdropped ORDER BY "
                                     "a.attnum"));
  ARROW_ASSIGN_OR_RAISE(auto names, ColumnAs(*t, 0, arrow::utf8()));
  ARROW_ASSIGN_OR_RAISE(auto types, ColumnAs(*t, 1, arrow::utf8()));
  ARROW_ASSIGN_OR_RAISE(auto bases, ColumnAs(*t, 2, arrow::utf8()));
  ARROW_ASSIGN_OR_RAISE(auto collatable, ColumnAs(*t, 3, arrow::boolean()));
  std::vector<Column> out;
  for (int64_t i = 0; i < t->num_rows(); ++i)
    out.push_back({static_cast<const arrow::StringArray&>(*names).GetString(i),
                   static_cast<const arrow::StringArray&>(*types).GetString(i),
                   static_cast<const arrow::StringArray&>(*bases).GetString(i),
                   static_cast<const arrow::BooleanArray&>(*collatable).Value(i)});
  return out;
}

arrow::Result<std::vector<std::vector<std::string>>> Destination::UniqueKeys(
    adbc::Connection& conn) const {
  ARROW_ASSIGN_OR_RAISE(
      auto t,
      QueryAll(conn,
               "SELECT string_agg(a.attname::text, chr(1) ORDER BY a.attname) FROM "
               "pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum "
               "= ANY ((i.indkey::int2[])[0:i.indnkeyatts - 1]) WHERE i.indrelid = " +
                   Regclass() +
                   " AND i.indisunique AND i.indimmediate AND i.indisvalid AND "
                   "i.indpred IS NULL AND i.indexprs IS NULL GROUP BY i.indexrelid"));
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
      int64_t n, QueryCount(conn, "SELECT count(*) FROM (VALUES (to_regclass(" +
                                      QuoteLiteral(StateTable()) + ")), (to_regclass(" +
                                      QuoteLiteral(HistoryTable()) +
                                      "))) AS r (c) WHERE c IS NOT NULL"));
  return n == 2;
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
  return QuoteIdent(schema_name_) + "." + QuoteIdent(name);
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
  // Marks the transaction: the row query below checks that it runs in the same one (a
  // session reused after an earlier commit must not run this one's statements each in
  // a transaction of its own).
  ARROW_RETURN_NOT_OK(Run("SET LOCAL inlet.commit = 'on'").status());
  ARROW_RETURN_NOT_OK(Run("INSERT INTO " + dest_.StateTable() +
                          " (table_name, app_id, version) VALUES (" + dest_.Key() +
                          ", '', 0) ON CONFLICT DO NOTHING")
                          .status());
  // The table's version, the table the states belong to (its oid, recorded by each
  // commit) and the table now; versions keep counting past a lost state row.
  ARROW_ASSIGN_OR_RAISE(
      auto row,
      Rows("SELECT s.version, s.document, " + dest_.Regclass() +
           "::oid::bigint, (SELECT max(h.version) FROM " + dest_.HistoryTable() +
           " AS h WHERE h.table_name = s.table_name), current_setting('inlet.commit', "
           "true) FROM " +
           dest_.StateTable() + " AS s WHERE s.table_name = " + dest_.Key() +
           " AND s.app_id = '' FOR UPDATE"));
  if (row->num_rows() != 1) return dest_.Failed("the state table lost the table's row");
  ARROW_ASSIGN_OR_RAISE(auto marked, ColumnAs(*row, 4, arrow::utf8()));
  if (static_cast<const arrow::StringArray&>(*marked).GetView(0) != "on")
    return dest_.Failed("the commit's statements are not in one transaction");
  ARROW_ASSIGN_OR_RAISE(auto counter, ColumnAs(*row, 0, arrow::int64()));
  ARROW_ASSIGN_OR_RAISE(auto owner, ColumnAs(*row, 1, arrow::utf8()));
  ARROW_ASSIGN_OR_RAISE(auto oid, ColumnAs(*row, 2, arrow::int64()));
  ARROW_ASSIGN_OR_RAISE(auto history, ColumnAs(*row, 3, arrow::int64()));
  const auto& v = static_cast<const arrow::Int64Array&>(*counter);
  const auto& h = static_cast<const arrow::Int64Array&>(*history);
  const int64_t table_oid = static_cast<const arrow::Int64Array&>(*oid).Value(0);
  int64_t recorded = v.IsNull(0) ? 0 : v.Value(0);
  ARROW_ASSIGN_OR_RAISE(columns_, dest_.Columns(*conn_));
  bool conflict =
      w.read_version && (*w.read_version < 0 ? exists() : recorded != *w.read_version);
  if (conflict) {
    return CommitConflict(dest_.Describe() + ": the table was committed to (version " +
                          std::to_string(recorded) + ") after version " +
                          std::to_string(*w.read_version) +
                          ", which this commit's decisions rest on");
  }
  version_ = std::max(recorded, h.IsNull(0) ? int64_t{0} : h.Value(0));
  // States recorded for another table of this name (dropped since) are not this one's.
  std::string now = table_oid == 0 ? std::string() : std::to_string(table_oid);
  std::string was = owner->IsNull(0)
                        ? std::string()
                        : static_cast<const arrow::StringArray&>(*owner).GetString(0);
  if (!was.empty() && was != now) {
    // A caller that read the states of the table this one replaced decided on them:
    // it reads again (GetSnapshot records the new table first).
    if (w.read_version && *w.read_version >= 0)
      return CommitConflict(
          dest_.Describe() +
          ": the table was dropped and created again since it was read");
    ARROW_RETURN_NOT_OK(Run("DELETE FROM " + dest_.StateTable() +
                            " WHERE table_name = " + dest_.Key() + " AND app_id <> ''")
                            .status());
    // And the deletes remembered for it.
    ARROW_RETURN_NOT_OK(Run("DROP TABLE IF EXISTS " + dest_.DeletesTable(was)).status());
  }
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
  if (rows->schema()->GetFieldByName(kOrdinal))
    return dest_.Failed(std::string("column '") + kOrdinal +
                        "': names starting with __inlet are inlet's own");
  ARROW_ASSIGN_OR_RAISE(auto schema, pg::StageSchema(*rows->schema(), kOrdinal));
  auto staging = std::make_shared<StagingReader>(std::move(rows), schema);
  ARROW_RETURN_NOT_OK(conn_->IngestTemporary(kStage, staging));
  staged_rows_ = staging->rows();
  for (const auto& f : schema->fields()) {
    if (f->name() == kOrdinal) continue;
    staged_.push_back(f->name());
    if (f->type()->id() == arrow::Type::STRING ||
        f->type()->id() == arrow::Type::LARGE_STRING ||
        f->type()->id() == arrow::Type::STRING_VIEW)
      text_.insert(f->name());
  }
  return arrow::Status::OK();
}

std::string Commit::Ordered(const std::string& alias, const std::string& column) const {
  // As the table's column holds the values, so that staged rows rank as they then
  // compare with the table's (text '9' after '10', 9 before 10 in an integer column). A
  // column the table lacks ranks as staged.
  if (!Find(column)) {
    std::string staged = alias + "." + QuoteIdent(column);
    return text_.count(column) ? staged + " COLLATE \"C\"" : staged;
  }
  return Collated(Cast(alias, column), column);
}

std::string Commit::Collated(const std::string& expr, const std::string& column) const {
  // Text orders by its bytes, as the lakehouse tables compare it, not by the database's
  // or the column's collation. Decided by the table's column: a staged text cast into a
  // timestamptz takes no collation, and a text column compares by bytes whatever it was
  // staged from.
  const Column* c = Find(column);
  return expr + (c && c->collatable ? " COLLATE \"C\"" : "");
}

std::string Commit::Cast(const std::string& alias, const std::string& column) const {
  // To the type without its modifier: ::varchar(5) would cut a longer value silently,
  // where the column's own assignment refuses it.
  const Column* c = Find(column);
  return alias + "." + QuoteIdent(column) + "::" + c->base;
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

arrow::Status Commit::Ended() const {
  return arrow::Status::Invalid(
      dest_.Describe(), ": a statement after its commit ended (a defect of inlet's)");
}

arrow::Result<int64_t> Commit::Run(const std::string& sql) {
  if (!conn_) return Ended();
  auto n = conn_->Update(sql);
  if (!n.ok()) return Explained(n.status());
  return *n;
}

arrow::Result<int64_t> Commit::Count(const std::string& sql) {
  if (!conn_) return Ended();
  auto n = QueryCount(*conn_, sql);
  if (!n.ok()) return Explained(n.status());
  return *n;
}

arrow::Result<std::shared_ptr<arrow::Table>> Commit::Rows(const std::string& sql) {
  if (!conn_) return Ended();
  auto t = QueryAll(*conn_, sql);
  if (!t.ok()) return Explained(t.status());
  return *t;
}

arrow::Result<CommitResult> Commit::Finish(
    const WriteOptions& w, const std::string& operation,
    const std::map<std::string, std::string>& parameters, CommitResult counts,
    bool dry_run) {
  if (staged_rows_ >= 0)
    ARROW_RETURN_NOT_OK(
        Run("DROP TABLE IF EXISTS pg_temp." + std::string(kStage)).status());
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
    if (app == "inlet.tombstones") {
      // The deletes remembered beside the table go with the truncate (a new snapshot of
      // the source starts the table's changes afresh).
      ARROW_ASSIGN_OR_RAISE(int64_t oid,
                            Count("SELECT COALESCE(to_regclass(" +
                                  QuoteLiteral(dest_.Target()) + ")::oid::bigint, 0)"));
      std::string deletes = dest_.DeletesTable(std::to_string(oid));
      ARROW_ASSIGN_OR_RAISE(
          int64_t has, Count("SELECT count(*) FROM (VALUES (to_regclass(" +
                             QuoteLiteral(deletes) + "))) AS r (c) WHERE c IS NOT NULL"));
      if (oid > 0 && has > 0) ARROW_RETURN_NOT_OK(Run("DELETE FROM " + deletes).status());
    }
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
          ", document = " + dest_.Regclass() + "::oid::text, updated_at = now() WHERE " +
          "table_name = " + dest_.Key() + " AND app_id = ''")
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
    KeepConnection();
    counts.version = -1;
    return counts;
  }
  CrashPoint("postgres.before_commit");
  open_ = false;
  auto committed = conn_->Commit();
  if (!committed.ok())
    return arrow::Status::IOError(
        dest_.Describe(), ": the commit did not complete: ", committed.message(),
        " (when the connection was lost as it committed, the commit may have landed: "
        "the next run resumes from what the table's state says)");
  CrashPoint("postgres.after_commit");
  KeepConnection();
  counts.version = version;
  return counts;
}

arrow::Status Commit::Abandon() {
  open_ = false;
  ARROW_RETURN_NOT_OK(conn_->Rollback());
  KeepConnection();
  return arrow::Status::OK();
}

void Commit::KeepConnection() {
  if (conn_ && conn_->EndTransactions().ok()) dest_.Keep(std::move(conn_));
  conn_.reset();
}

arrow::Status Commit::Explained(const arrow::Status& st) const {
  if (!conn_) return st;
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
  if (state.empty()) {
    // A query's rows come as a stream, whose errors carry no SQLSTATE: the server's own
    // error ("ERROR:  ...") is the statement's; anything else is the connection's.
    const std::string& m = st.message();
    auto error = m.find("ERROR:");
    if (m.find("deadlock detected") != std::string::npos ||
        m.find("could not serialize") != std::string::npos)
      return CommitConflict(dest_.Describe() + ": " +
                            m.substr(error == std::string::npos ? 0 : error + 6));
    if (error != std::string::npos) {
      std::string text = m.substr(error + 6);
      while (!text.empty() && (text.front() == ' ')) text.erase(0, 1);
      while (!text.empty() && (text.back() == ' ' || text.back() == '\n'))
        text.pop_back();
      return arrow::Status::Invalid(dest_.Describe(), ": ", text);
    }
    return arrow::Status::IOError(dest_.Describe(), ": ", m);
  }
  return st;
}

}  // namespace inlet::pg
