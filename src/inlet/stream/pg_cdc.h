// `inlet stream` for a postgres_cdc source: a PostgreSQL table kept in a table through
// logical replication (the built-in pgoutput plugin), exactly once.
//
// The first start creates the replication slot (and the publication when missing) and, in
// the same transaction, copies the table as of the slot's consistent point: the rows are
// committed in chunks (each records the snapshot's LSN), and the last chunk also records
// that LSN as the position; a snapshot cut short is started again from nothing (a new
// slot, the table's rows deleted first). Then the stream applies each transaction's
// changes through the cdc strategy, whole transactions per commit, in commit order; each
// commit records the end LSN of its last transaction (the application
// inlet.postgres/<slot>/lsn) beside the rows, and only after it is the slot's confirmed
// flush LSN moved there: the server keeps every change the table does not hold, and a
// restart resumes from the table's LSN.
#pragma once

#include <arrow/result.h>

#include "inlet/pipeline.h"
#include "inlet/pipeline/config.h"

namespace inlet::stream {

/// Streams a postgres_cdc pipeline until stopped (SIGINT/SIGTERM, options.stop, idle
/// exit) or, with options.catch_up, until it holds every change committed before it
/// started.
arrow::Result<StreamReport> RunPostgresCdc(const pipeline::PipelineConfig& config,
                                           const StreamOptions& options);

/// The applications under which a table records a postgres_cdc source's position: the
/// LSN it holds changes up to, and the consistent point of a snapshot being loaded.
std::string PgLsnApp(const std::string& slot);
std::string PgSnapshotApp(const std::string& slot);
/// The document of how far a snapshot's copy got: {"mark": the snapshot's mark,
/// "relation": the table's oid, "keys" and "types": the key columns and their types,
/// "after": the last key committed, each value's text form hex-encoded}.
std::string PgSnapshotResumeApp(const std::string& slot);
/// A transaction applied in parts (larger than processing.max_transaction_rows): the LSN
/// of its commit record, and how many of its changes of the table the table holds.
std::string PgPartialLsnApp(const std::string& slot);
std::string PgPartialChangesApp(const std::string& slot);

}  // namespace inlet::stream
