// The SQL databases an Iceberg SQL catalog lives in: SQLite (embedded, the default) and
// PostgreSQL (libpq). One boundary file per library translates its return codes into
// arrow::Status (sql_sqlite.cc, sql_postgres.cc); the catalog above speaks only this.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "inlet/common/redact.h"

namespace inlet::iceberg {

/// A statement's text parameters, bound to $1, $2, ... (NULL when nullopt).
using SqlParams = std::vector<std::optional<std::string>>;
/// A result row: one text value per column, nullopt for NULL.
using SqlRow = std::vector<std::optional<std::string>>;

/// One connection, used by one thread at a time. Every statement runs in its own
/// transaction (autocommit). Errors name the database (never its password) and the
/// statement's purpose is named by the caller.
class SqlDb {
 public:
  virtual ~SqlDb() = default;
  /// Runs one statement and returns the rows it produced.
  virtual arrow::Result<std::vector<SqlRow>> Query(const std::string& sql,
                                                   const SqlParams& params = {}) = 0;
  /// Runs one statement and returns the number of rows it inserted, updated or deleted.
  virtual arrow::Result<int64_t> Exec(const std::string& sql,
                                      const SqlParams& params = {}) = 0;
  /// The database as errors name it: the file, or host, port and database name.
  virtual const std::string& name() const = 0;
};

/// Opens the SQLite database file `path`; `create`: make the file when absent (else a
/// missing file is an error naming it). Waits up to 30 s for another process's lock.
arrow::Result<std::unique_ptr<SqlDb>> OpenSqlite(const std::string& path, bool create);

/// Connects to PostgreSQL with a libpq connection URI (postgresql://user@host:port/db;
/// the password from the URI, PGPASSWORD or ~/.pgpass). Fails with NotImplemented in a
/// build without libpq.
arrow::Result<std::unique_ptr<SqlDb>> OpenPostgres(const std::string& uri);

}  // namespace inlet::iceberg
