// One followed table of a postgres_cdc source (stream/pg_cdc.h) and its destination: the
// initial snapshot's rows of it, the stream's changes of it in a batch, and the commits
// that put them in its table with the LSN they reach.
#pragma once

#include <arrow/result.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "inlet/load/commit.h"
#include "inlet/load/strategy.h"
#include "inlet/pipeline.h"
#include "inlet/pipeline/config.h"
#include "inlet/source/pgoutput.h"
#include "inlet/stream/change_rows.h"
#include "inlet/stream/pg_catalog.h"
#include "inlet/table.h"

namespace inlet::stream {

class PgTarget {
 public:
  /// report gathers the counts of every target of a stream.
  PgTarget(const pipeline::PipelineConfig& config, PgCatalog* catalog, PgTableInfo info,
           StreamReport* report);

  /// Opens (or creates, at its first commit) the destination: destination.path with the
  /// table's name for {table} and its schema for {schema}.
  arrow::Status Open();
  /// The LSN the table holds changes up to (unset: none, or a snapshot not finished);
  /// the stream goes on from there.
  arrow::Result<std::optional<pgoutput::Lsn>> Held();
  /// Whether the table holds changes streamed after its snapshot (Held first).
  bool streamed() const { return streamed_; }
  /// The mark of the last snapshot begun into the table (its slot's consistent point),
  /// if any (Held first).
  std::optional<pgoutput::Lsn> mark() const { return mark_; }

  // --- The initial snapshot, in the transaction that created the slot.

  /// Refuses a destination with rows from anything else.
  arrow::Status CheckOwned() const;
  /// The table's columns as repl's snapshot sees them (before Copy).
  arrow::Status Describe(pgrepl::Connection& repl);
  /// CheckOwned, then deletes the rows of a snapshot cut short, recording the new
  /// snapshot's mark (a new table is created with it).
  arrow::Status Prepare(pgoutput::Lsn consistent);
  /// Whether a copy of the snapshot marked cut short can go on (Held, then Describe): it
  /// recorded how far it got, in this table (relation) by the same key columns of the
  /// same types.
  bool CanResume() const;
  /// Copies the table through repl (COPY ... TO STDOUT, rows as of repl's snapshot; in
  /// the order of the key's index when the keys are its columns), committing a chunk
  /// every flush_bytes of text with the last key it holds; the last one waits for Finish.
  /// A stop (`stopped` turning true) cuts the copy short with Cancelled. With `resume`,
  /// the copy goes on after the last key an earlier copy of this snapshot (mark)
  /// committed, in a newer snapshot whose consistent point is seen_at: its rows carry
  /// that LSN as their commit LSN, so that the stream's changes up to it, which they show
  /// already, are late for them.
  arrow::Status Copy(pgrepl::Connection& repl, pgoutput::Lsn mark, bool rows,
                     const std::function<bool()>& stopped, bool resume = false,
                     pgoutput::Lsn seen_at = 0);
  /// Commits what the copy left with the position (the consistent point).
  arrow::Status Finish(pgoutput::Lsn consistent);

  // --- The stream.

  uint32_t relation_id() const { return info_.relation_id; }
  /// A transaction begins: one the table holds already (its commit record begins before
  /// the table's position) is skipped.
  void Begin(pgoutput::Lsn final_lsn);
  arrow::Status OnRelation(const pgoutput::Relation& r);
  /// An insert, update or delete of this table, at change_lsn.
  arrow::Status OnChange(const pgoutput::Message& m, pgoutput::Lsn change_lsn);
  arrow::Status OnTruncate(pgoutput::Lsn change_lsn);
  /// Commits the batch's changes up to the end of the last whole transaction, position
  /// (those of a transaction still open, when cut, are left out). Without changes, the
  /// position is committed alone only when `always`.
  arrow::Status CommitBatch(pgoutput::Lsn position, bool cut, bool always);
  /// Commits the batch with the open transaction's changes so far (it is larger than
  /// memory should hold): the whole transactions before it up to position, and, for the
  /// open one (whose commit record is at final_lsn), how many of its changes of the table
  /// the table now holds, which a restart skips.
  arrow::Status CommitPart(pgoutput::Lsn position, pgoutput::Lsn final_lsn);
  /// Forgets what was not committed (the stream starts again from the positions).
  void Forget();

  int64_t rows() const { return batch_.rows(); }
  pgoutput::Lsn committed() const { return committed_; }
  const PgTableInfo& info() const { return info_; }

 private:
  // A transaction applied in part: its commit record's LSN (0: none), and its changes of
  // the table that the table holds.
  struct Partial {
    pgoutput::Lsn lsn = 0;
    int64_t changes = 0;
  };
  arrow::Status Commit(std::shared_ptr<arrow::Table> rows,
                       std::optional<pgoutput::Lsn> position,
                       std::optional<pgoutput::Lsn> snapshot_lsn,
                       std::optional<Partial> partial = std::nullopt,
                       const std::string* copied_to = nullptr);
  load::CommitSpec Spec(std::optional<pgoutput::Lsn> position,
                        std::optional<pgoutput::Lsn> snapshot,
                        const std::optional<Partial>& partial, int64_t read_version,
                        const std::string* copied_to) const;
  std::shared_ptr<arrow::Table> EmptyRows() const;
  arrow::Result<ChangeRows::Values> ValuesOf(const pgoutput::Tuple& t,
                                             bool keys_only) const;
  bool KeysDiffer(const ChangeRows::Values& a, const ChangeRows::Values& b) const;
  arrow::Status Failed(const std::string& why) const {
    return catalog_->Failed(why, info_.name);
  }

  const pipeline::PipelineConfig& config_;
  const PostgresCdcSourceConfig& source_;
  PgCatalog* catalog_;
  PgTableInfo info_;
  StreamReport* report_;
  pipeline::DestinationConfig destination_;
  std::unique_ptr<load::Strategy> strategy_;
  std::shared_ptr<Table> table_;
  std::vector<Column> columns_;  // the stream's (from Relation) or the snapshot's
  ChangeRows batch_;
  pgoutput::Lsn committed_ = 0;        // what the table holds
  std::optional<pgoutput::Lsn> mark_;  // of the last snapshot begun
  // The last key a copy of that snapshot committed, if any: its values as text (the
  // types' output) and the key columns' types then.
  struct CopiedTo {
    std::vector<std::string> values;
    std::vector<std::string> types;
  };
  std::optional<CopiedTo> copied_to_;
  bool empty_ = true;  // the table holds no rows (Held)
  void ReadCopiedTo(const std::string& doc, int64_t mark);
  // Describe's: the select list, and per ordered key its field and type.
  std::string select_;
  std::vector<size_t> key_fields_;
  std::vector<std::string> key_types_;
  int64_t tx_start_rows_ = 0;        // the batch's rows before the open transaction
  pgoutput::Lsn tx_commit_lsn_ = 0;  // the open transaction's commit record
  bool skip_ = false;                // the open transaction is in the table already
  Partial partial_;         // what the table holds of a transaction applied in part
  int64_t tx_changes_ = 0;  // the open transaction's changes of the table so far
  int64_t tx_skip_ = 0;     // how many of them the table holds (applied in part)
  int64_t commits_ = 0;
  bool streamed_ = false;
};

}  // namespace inlet::stream
