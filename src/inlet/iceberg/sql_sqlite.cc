// SQLite's boundary: return codes to arrow::Status. The catalog's statements number their
// parameters $1, $2, ... as PostgreSQL does; SQLite spells them ?1, ?2, ...
#include <sqlite3.h>

#include <cctype>

#include "inlet/iceberg/sql_db.h"

namespace inlet::iceberg {

namespace {

std::string SqliteParameters(const std::string& sql) {
  std::string out = sql;
  for (size_t i = 0; i + 1 < out.size(); ++i)
    if (out[i] == '$' && std::isdigit(static_cast<unsigned char>(out[i + 1])))
      out[i] = '?';
  return out;
}

class Sqlite : public SqlDb {
 public:
  Sqlite(sqlite3* db, std::string name) : db_(db), name_(std::move(name)) {}
  ~Sqlite() override { sqlite3_close_v2(db_); }

  arrow::Result<std::vector<SqlRow>> Query(const std::string& sql,
                                           const SqlParams& params) override {
    std::vector<SqlRow> rows;
    ARROW_RETURN_NOT_OK(Run(sql, params, &rows));
    return rows;
  }

  arrow::Result<int64_t> Exec(const std::string& sql, const SqlParams& params) override {
    ARROW_RETURN_NOT_OK(Run(sql, params, nullptr));
    return static_cast<int64_t>(sqlite3_changes(db_));
  }

  const std::string& name() const override { return name_; }

 private:
  arrow::Status Error(const char* what) const {
    return arrow::Status::IOError("SQLite database ", name_, ": ", what, ": ",
                                  sqlite3_errmsg(db_));
  }

  arrow::Status Run(const std::string& sql, const SqlParams& params,
                    std::vector<SqlRow>* rows) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, SqliteParameters(sql).c_str(), -1, &stmt, nullptr) !=
        SQLITE_OK)
      return Error("cannot prepare a statement");
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> owned(stmt, sqlite3_finalize);
    for (size_t i = 0; i < params.size(); ++i) {
      int rc = params[i] ? sqlite3_bind_text(
                               stmt, static_cast<int>(i + 1), params[i]->data(),
                               static_cast<int>(params[i]->size()), SQLITE_TRANSIENT)
                         : sqlite3_bind_null(stmt, static_cast<int>(i + 1));
      if (rc != SQLITE_OK) return Error("cannot bind a parameter");
    }
    for (;;) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) return arrow::Status::OK();
      if (rc != SQLITE_ROW) return Error("statement failed");
      if (!rows) continue;
      SqlRow row;
      for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
        if (sqlite3_column_type(stmt, c) == SQLITE_NULL) {
          row.push_back(std::nullopt);
        } else {
          const auto* text = sqlite3_column_text(stmt, c);
          row.push_back(std::string(reinterpret_cast<const char*>(text),
                                    sqlite3_column_bytes(stmt, c)));
        }
      }
      rows->push_back(std::move(row));
    }
  }

  sqlite3* db_;
  std::string name_;
};

}  // namespace

arrow::Result<std::unique_ptr<SqlDb>> OpenSqlite(const std::string& path, bool create) {
  sqlite3* db = nullptr;
  int flags =
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_FULLMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
  int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    if (rc == SQLITE_CANTOPEN && !create)
      return arrow::Status::IOError("no SQLite catalog database at ", path,
                                    " (a write through the catalog creates it)");
    return arrow::Status::IOError("cannot open SQLite database ", path, ": ", message);
  }
  // Two inlet processes (or pyiceberg beside inlet) commit to one catalog file: wait for
  // the other's write lock instead of failing at once.
  sqlite3_busy_timeout(db, 30000);
  auto sqlite = std::make_unique<Sqlite>(db, path);
  // In write-ahead-log mode a reader that keeps a transaction open (Spark's JDBC pool
  // does) does not block commits. The mode is a property of the file; a read-only use
  // leaves the file as it is.
  if (create) (void)sqlite->Query("PRAGMA journal_mode=WAL", {});  // best effort
  return sqlite;
}

}  // namespace inlet::iceberg
