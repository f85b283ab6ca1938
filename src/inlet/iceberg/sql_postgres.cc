// libpq's boundary: PGresult codes to arrow::Status. Compiled into the inlet_postgres
// target only when libpq is found (without_postgres.cc otherwise).
#include <libpq-fe.h>

#include <cstdlib>

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

// The passwords a connection may use, as libpq could echo them in a message (a malformed
// URI is quoted whole): the URI's, raw and decoded by libpq, and PGPASSWORD.
std::vector<std::string> Secrets(const std::string& uri) {
  std::vector<std::string> out;
  if (const char* env = std::getenv("PGPASSWORD")) out.push_back(env);
  auto scheme = uri.find("://");
  if (scheme != std::string::npos) {
    auto end = uri.find_first_of("/?#", scheme + 3);
    auto at = uri.rfind('@', end == std::string::npos ? std::string::npos : end);
    auto colon = uri.find(':', scheme + 3);
    if (at != std::string::npos && colon != std::string::npos && colon < at)
      out.push_back(uri.substr(colon + 1, at - colon - 1));
  }
  auto q = uri.find("password=");
  if (q != std::string::npos) out.push_back(uri.substr(q + 9, uri.find('&', q) - q - 9));
  char* error = nullptr;
  if (PQconninfoOption* options = PQconninfoParse(uri.c_str(), &error)) {
    for (auto* o = options; o->keyword; ++o)
      if (std::string(o->keyword) == "password" && o->val) out.push_back(o->val);
    PQconninfoFree(options);
  }
  if (error) PQfreemem(error);
  return out;
}

}  // namespace

arrow::Result<std::unique_ptr<SqlDb>> OpenPostgres(const std::string& uri) {
  if (AmbiguousUserInfo(uri))
    return arrow::Status::Invalid("cannot use the PostgreSQL catalog ",
                                  RedactUri(uri.substr(0, uri.find("://") + 3)),
                                  "...: ", AmbiguousUserInfoMessage());
  const auto secrets = Secrets(uri);
  for (const auto& s : secrets) RegisterSecret(s);
  // A host that does not answer fails the command in bounded time, unless the URI (or
  // PGCONNECT_TIMEOUT) says otherwise.
  std::string target = uri;
  if (uri.find("connect_timeout=") == std::string::npos &&
      !std::getenv("PGCONNECT_TIMEOUT"))
    target += (uri.find('?') == std::string::npos ? "?" : "&") +
              std::string("connect_timeout=10");
  PGconn* conn = PQconnectdb(target.c_str());
  std::string name = MaskSecrets(RedactUri(uri), secrets);
  if (!conn) return arrow::Status::OutOfMemory("cannot connect to ", name);
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = MaskSecrets(Trimmed(PQerrorMessage(conn)), secrets);
    PQfinish(conn);
    return arrow::Status::IOError("cannot connect to PostgreSQL at ", name, ": ",
                                  message);
  }
  // A catalog statement touches one row: one that waits half a minute (on a lock another
  // client holds) fails rather than hang, unless the URI's options or PGOPTIONS set a
  // statement_timeout of their own.
  const char* pgoptions = std::getenv("PGOPTIONS");
  if (uri.find("statement_timeout") == std::string::npos &&
      !(pgoptions &&
        std::string(pgoptions).find("statement_timeout") != std::string::npos)) {
    PGresult* set = PQexec(conn, "SET statement_timeout = '30s'");
    const bool ok = PQresultStatus(set) == PGRES_COMMAND_OK;
    PQclear(set);
    if (!ok) {
      std::string message = MaskSecrets(Trimmed(PQerrorMessage(conn)), secrets);
      PQfinish(conn);
      return arrow::Status::IOError("cannot set a statement timeout on PostgreSQL at ",
                                    name, ": ", message);
    }
  }
  return std::make_unique<Postgres>(conn, name);
}

}  // namespace inlet::iceberg
