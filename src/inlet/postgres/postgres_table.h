// A PostgreSQL table as a pipeline's destination (destination.type: postgres): the
// seed's hot store, written beside the lake. It implements the format-neutral Table API
// (inlet/table.h), so every strategy and both runners (`inlet run`, `inlet stream`) write
// it unchanged: appends and full refreshes, merges (upsert, insert-only, delete-insert)
// as one INSERT ... ON CONFLICT from a staging table, and snapshot diffs.
//
// Exactly once: each commit is one database transaction that copies the rows into a
// temporary staging table (binary COPY through ADBC, source/adbc.h), applies them, and
// writes the pipeline's state (its run state, Kafka offsets, replication positions) into
// an inlet state table beside the table, then commits. A crash at any point leaves
// either all of it or none of it. The state table's row for the table itself counts the
// commits (the table's version) and is locked by each commit, so concurrent writers of
// one table take turns and a writer whose decisions rest on an older version fails
// with a commit conflict. docs/pipelines.md, "PostgreSQL destination", says more.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "inlet/source/source.h"
#include "inlet/table.h"

namespace inlet {

struct PostgresDestinationConfig {
  /// The connection (connection, password, description); table and query unused.
  PostgresSourceConfig pg;
  /// The table, schema.table or table (in the connection's current schema).
  std::string table;
  /// The primary key a table the pipeline creates gets (a merge needs a primary key or
  /// unique index on its keys).
  std::vector<std::string> keys;
  /// The table inlet keeps its state in, in the table's schema (created when missing);
  /// its history of commits is <state_table>_history.
  std::string state_table = "inlet_state";
};

/// The destination. Connects only when used: a missing table is created by the first
/// write; GetSnapshot fails with kTableNotFound until then.
arrow::Result<std::shared_ptr<Table>> OpenPostgresTable(
    const PostgresDestinationConfig& config);

}  // namespace inlet
