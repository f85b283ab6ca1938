// PostgreSQL queries as Arrow record batches, through Apache Arrow's ADBC PostgreSQL
// driver (libadbc_driver_postgresql from the adbc-driver-postgresql wheel;
// docs/architecture.md says why it and not a COPY decoder of inlet's own). The driver is
// loaded at run time, so inlet runs without it until a pipeline reads PostgreSQL. One
// boundary file (adbc.cc) speaks ADBC's C API; everything above speaks arrow::Status.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/type.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace inlet::adbc {

/// One connection, used by one thread. Errors name `name` (the database without its
/// password), never the URI's password.
class Connection {
 public:
  /// Connects with a libpq URI (postgresql://user:password@host:port/db?sslmode=...);
  /// `secrets` (the password, as given and as the URI spells it) are hidden wherever a
  /// message would repeat them. The driver comes from INLET_ADBC_POSTGRESQL (a path) or
  /// the one found at build time.
  static arrow::Result<std::unique_ptr<Connection>> Open(
      const std::string& uri, const std::string& name,
      const std::vector<std::string>& secrets);
  virtual ~Connection() = default;

  /// Runs a statement without a result (SET ...), in autocommit mode.
  virtual arrow::Status Execute(const std::string& sql) = 0;
  /// From here on statements run in one REPEATABLE READ, READ ONLY transaction: every
  /// query sees the same snapshot of the database.
  virtual arrow::Status BeginSnapshot() = 0;
  /// Ends the snapshot's transaction (it changed nothing).
  virtual arrow::Status EndSnapshot() = 0;
  /// The columns a query gives, without running it.
  virtual arrow::Result<std::shared_ptr<arrow::Schema>> Describe(
      const std::string& sql) = 0;
  /// Runs a query; its rows stream in batches (binary COPY underneath). Another statement
  /// on this connection ends the stream: read it to its end first.
  virtual arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Query(
      const std::string& sql) = 0;

  // --- Writing (a PostgreSQL destination).

  /// From here on statements run in one READ COMMITTED transaction, until Commit or
  /// Rollback (which start the next one).
  virtual arrow::Status Begin() = 0;
  virtual arrow::Status Commit() = 0;
  virtual arrow::Status Rollback() = 0;
  /// After a Commit or Rollback: statements run in autocommit mode again, and the next
  /// Begin starts a transaction (a connection kept for reuse ends this way).
  virtual arrow::Status EndTransactions() = 0;
  /// Runs a statement without a result; returns the rows it changed (-1: not known).
  virtual arrow::Result<int64_t> Update(const std::string& sql) = 0;
  /// Copies data (binary COPY) into a new temporary table `table`, whose columns the
  /// driver types from data's schema (docs/pipelines.md lists them).
  virtual arrow::Status IngestTemporary(
      const std::string& table, std::shared_ptr<arrow::RecordBatchReader> data) = 0;
  /// The SQLSTATE of the last failure ("" when it had none, such as a lost connection
  /// the driver noticed first).
  virtual const std::string& sqlstate() const = 0;
};

}  // namespace inlet::adbc
