// libpq's boundary: PGresult codes to arrow::Status. Compiled into the inlet_postgres
// target only when libpq is found (without_postgres.cc otherwise).
#include <libpq-fe.h>

#include "inlet/iceberg/sql_db.h"

namespace inlet::iceberg {

namespace {

class Postgres : public SqlDb {
 public:
  Postgres(PGconn* conn, std::string name) : conn_(conn), name_(std::move(name)) {}
  ~Postgres() override { PQfinish(conn_); }

  arrow::Result<std::vector<SqlRow>> Query(const std::string& sql,
                                           const SqlParams& params) override {
    ARROW_ASSIGN_OR_RAISE(auto result, Run(sql, params));
    std::vector<SqlRow> rows;
    for (int r = 0; r < PQntuples(result.get()); ++r) {
      SqlRow row;
      for (int c = 0; c < PQnfields(result.get()); ++c) {
        if (PQgetisnull(result.get(), r, c))
          row.push_back(std::nullopt);
        else
          row.push_back(std::string(PQgetvalue(result.get(), r, c),
                                    PQgetlength(result.get(), r, c)));
      }
      rows.push_back(std::move(row));
    }
    return rows;
  }

  arrow::Result<int64_t> Exec(const std::string& sql, const SqlParams& params) override {
    ARROW_ASSIGN_OR_RAISE(auto result, Run(sql, params));
    const char* n = PQcmdTuples(result.get());
    return n && *n ? std::strtoll(n, nullptr, 10) : 0;
  }

  const std::string& name() const override { return name_; }

 private:
  using Result = std::unique_ptr<PGresult, void (*)(PGresult*)>;

  arrow::Result<Result> Run(const std::string& sql, const SqlParams& params) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    Result result(PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()),
                               nullptr, values.data(), nullptr, nullptr, 0),
                  PQclear);
    auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK)
      return arrow::Status::IOError("PostgreSQL database ", name_, ": ",
                                    PQerrorMessage(conn_));
    return result;
  }

  PGconn* conn_;
  std::string name_;
};

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

arrow::Result<std::unique_ptr<SqlDb>> OpenPostgres(const std::string& uri) {
  PGconn* conn = PQconnectdb(uri.c_str());
  std::string name = RedactUri(uri);
  if (!conn) return arrow::Status::OutOfMemory("cannot connect to ", name);
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = Trimmed(PQerrorMessage(conn));
    PQfinish(conn);
    return arrow::Status::IOError("cannot connect to PostgreSQL at ", name, ": ",
                                  message);
  }
  return std::make_unique<Postgres>(conn, name);
}

}  // namespace inlet::iceberg
