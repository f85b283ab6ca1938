// libpq's boundary for change data capture (source.type: postgres_cdc): a connection that
// runs SQL and COPY ... TO STDOUT, and, opened for replication (replication=database),
// replication commands and the START_REPLICATION stream of CopyData messages. Compiled
// into the inlet_postgres target with libpq (without_pg_replication.cc otherwise). What
// flows through it is decoded by source/pgoutput.h and source/pg_text.h.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace inlet::pgrepl {

/// A row of a query's result: each value's text form, nullopt for null.
using Row = std::vector<std::optional<std::string>>;

/// One libpq connection. Every session of it reads values in the forms source/pg_text.h
/// parses: DateStyle ISO, TimeZone UTC, IntervalStyle iso_8601, bytea as hex, floats
/// exact. Errors name the database (`name`) and never show a secret. Not thread-safe.
class Connection {
 public:
  /// Opens uri (a libpq URI or keyword string); replication: a walsender connection to
  /// the URI's database, which also runs SQL.
  static arrow::Result<std::unique_ptr<Connection>> Open(
      const std::string& uri, bool replication, std::string name,
      std::vector<std::string> secrets);
  virtual ~Connection() = default;

  /// Runs sql (one statement, or a replication command) with optional text parameters;
  /// its rows.
  virtual arrow::Result<std::vector<Row>> Query(
      const std::string& sql,
      const std::vector<std::optional<std::string>>& params = {}) = 0;
  /// Runs COPY ... TO STDOUT (text format), handing each row's line (without its
  /// newline) to on_row. A failure of on_row stops the copy and is returned.
  virtual arrow::Status CopyOut(
      const std::string& sql,
      const std::function<arrow::Status(std::string_view)>& on_row) = 0;
  /// Sends a command that starts a CopyBoth stream (START_REPLICATION).
  virtual arrow::Status StartStream(const std::string& command) = 0;
  /// The next CopyData message of the stream into *out, waiting up to timeout_ms for one
  /// (0: only what has arrived); false when none came. The server ending the stream, or
  /// the connection failing, is an error.
  virtual arrow::Result<bool> Receive(int timeout_ms, std::string* out) = 0;
  /// Sends a CopyData message on the stream and flushes it.
  virtual arrow::Status Send(std::string_view bytes) = 0;

  /// The database as messages name it (its URI without a password).
  virtual const std::string& name() const = 0;
};

}  // namespace inlet::pgrepl
