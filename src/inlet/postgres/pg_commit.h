// A PostgreSQL destination's commits (postgres/postgres_table.h): the table and its state
// tables as SQL names (Destination), one commit's transaction (Commit), and merges
// (Merge, pg_merge.cc). docs/architecture.md, "PostgreSQL as a destination".
#pragma once

#include <arrow/result.h>
#include <arrow/table.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "inlet/postgres/postgres_table.h"
#include "inlet/source/adbc.h"
#include "inlet/table.h"

namespace inlet::pg {

/// The temporary tables a commit stages its rows in, and the column giving each staged
/// row's position in the input.
inline constexpr char kStage[] = "inlet_stage";
inline constexpr char kWinners[] = "inlet_winners";
inline constexpr char kOrdinal[] = "__inlet_row";

/// A column of the destination table: its name, and its type as format_type() spells
/// it, with its modifier (varchar(5), numeric(12,2)) and without (what values are cast
/// to).
struct Column {
  std::string name;
  std::string type;
  std::string base;
  bool collatable = false;  // its type has a collation (text, varchar, char, citext...)
};

/// Every row of a query.
arrow::Result<std::shared_ptr<arrow::Table>> QueryAll(adbc::Connection& conn,
                                                      const std::string& sql);
/// Column i of t as type `to` (a driver may give a count as numeric, a name as a view).
arrow::Result<std::shared_ptr<arrow::Array>> ColumnAs(
    const arrow::Table& t, int i, std::shared_ptr<arrow::DataType> to);
/// The one value of a query's one row (a count, a version) as int64; 0 for null.
arrow::Result<int64_t> QueryCount(adbc::Connection& conn, const std::string& sql);

/// The destination table: how to reach it, and its name and its state tables' in SQL.
class Destination {
 public:
  explicit Destination(PostgresDestinationConfig config);

  /// The table as messages name it (the database without password, and the table).
  const std::string& Describe() const { return location_; }

  /// A connection whose session reads and writes times in UTC: with reuse, one Keep left
  /// (its first statement checks that the server still has it), else a new one.
  arrow::Result<std::unique_ptr<adbc::Connection>> Connect(bool reuse = true) const;

  /// Keeps a connection that ended cleanly (no transaction open, every result read) for
  /// a later Connect, so that a run's reads and its commit, and a stream's commits, share
  /// one session. At most two are kept per destination (copies share them), and four in
  /// the process; the rest are closed.
  void Keep(std::unique_ptr<adbc::Connection> conn) const;

  /// The table's columns, in order; none when there is no such table.
  arrow::Result<std::vector<Column>> Columns(adbc::Connection& conn) const;

  /// The unique indexes' columns, each set sorted.
  arrow::Result<std::vector<std::vector<std::string>>> UniqueKeys(
      adbc::Connection& conn) const;

  /// Whether the state table exists.
  arrow::Result<bool> HasStateTable(adbc::Connection& conn) const;

  /// Creates the state tables when missing (outside a commit's transaction: a concurrent
  /// creation makes one of two fail, and this one then finds them).
  arrow::Status EnsureStateTables(adbc::Connection& conn) const;

  /// Names in SQL: a table in the destination's schema; the destination; its state
  /// tables; its name in them (a literal); its oid (0 when it does not exist).
  std::string Qualified(const std::string& name) const;
  std::string Target() const { return Qualified(relation_); }
  std::string StateTable() const { return Qualified(config_.state_table); }
  std::string HistoryTable() const { return Qualified(config_.state_table + "_history"); }
  /// The deletes a sequence-ordered merge remembers for the table of this oid
  /// (pg_merge.cc, Remembered).
  std::string DeletesTable(const std::string& oid) const {
    return Qualified(config_.state_table + "_deletes_" + oid);
  }
  std::string Key() const;
  std::string Regclass() const;
  const PostgresDestinationConfig& config() const { return config_; }

  /// Invalid, naming the table.
  arrow::Status Failed(const std::string& why) const;

 private:
  struct Idle {
    ~Idle();
    std::mutex mu;
    std::vector<std::unique_ptr<adbc::Connection>> connections;
  };

  PostgresDestinationConfig config_;
  std::shared_ptr<Idle> idle_ = std::make_shared<Idle>();
  std::string uri_;
  std::string name_;
  std::vector<std::string> secrets_;
  std::string location_;
  std::string schema_name_;
  std::string relation_;
};

/// One commit: a transaction on one connection (a kept one, or a new one) that holds the
/// lock of the table's row in the state table from Start to Finish. Rolled back unless
/// finished; the connection goes back to the destination when it ends cleanly.
class Commit {
 public:
  explicit Commit(const Destination& dest) : dest_(dest) {}
  ~Commit();

  /// Connects, begins, locks the table's state row and checks the base version.
  arrow::Status Start(const WriteOptions& w);

  bool exists() const { return !columns_.empty(); }

  /// INSERT ... ON CONFLICT (keys) needs a unique index on exactly the keys.
  arrow::Status RequireUnique(const std::vector<std::string>& keys);

  const Column* Find(const std::string& name) const;

  /// Makes the table take input's columns: creates it (keys its primary key), or adds
  /// the columns it lacks when merge_schema (else a schema mismatch).
  arrow::Status Prepare(const arrow::Schema& input, bool merge_schema,
                        const std::vector<std::string>& keys);

  /// Copies the rows into the temporary table kStage (their position in kOrdinal).
  arrow::Status Stage(std::shared_ptr<arrow::RecordBatchReader> rows);

  /// A staged column as the table's column takes it: s."c"::type.
  std::string Cast(const std::string& alias, const std::string& column) const;
  /// A table column's value where it is compared (json has no equality: as text).
  std::string Comparable(const std::string& expr, const std::string& column) const;
  /// The staged columns, quoted, and as `alias` casts them.
  std::string ColumnList() const;
  std::string CastList(const std::string& alias) const;
  /// A staged column where rows are ordered by it: as the table's column's type, text by
  /// its bytes.
  std::string Ordered(const std::string& alias, const std::string& column) const;
  /// expr (a value of the table's column `column`, or cast to its type) in the collation
  /// it is compared in: text by its bytes, whatever the database's or the column's
  /// collation.
  std::string Collated(const std::string& expr, const std::string& column) const;
  /// t's keys equal s's.
  std::string KeysMatch(const std::vector<std::string>& keys, const std::string& t,
                        const std::string& s) const;

  /// A statement in the transaction: the rows it changed; the rows of a query; a
  /// count. Failures name the table and say the usual causes.
  arrow::Result<int64_t> Run(const std::string& sql);
  arrow::Result<int64_t> Count(const std::string& sql);
  arrow::Result<std::shared_ptr<arrow::Table>> Rows(const std::string& sql);

  /// Records the states and the commit, and commits (rolls back with dry_run). The
  /// connection goes back to the destination: no statement may follow.
  arrow::Result<CommitResult> Finish(const WriteOptions& w, const std::string& operation,
                                     const std::map<std::string, std::string>& parameters,
                                     CommitResult counts, bool dry_run);

  /// Ends without committing anything (no statement may follow).
  arrow::Status Abandon();

  int64_t version() const { return version_; }
  int64_t staged_rows() const { return staged_rows_; }
  const std::vector<std::string>& staged() const { return staged_; }

 private:
  /// A statement's failure with the table named, and the usual causes said.
  arrow::Status Explained(const arrow::Status& st) const;
  /// Hands the connection, its transaction ended, back to the destination for reuse.
  void KeepConnection();
  /// The failure of a statement after the commit ended.
  arrow::Status Ended() const;

  const Destination& dest_;
  std::unique_ptr<adbc::Connection> conn_;
  bool open_ = false;
  bool created_ = false;
  int64_t version_ = 0;
  std::vector<Column> columns_;
  std::vector<std::string> staged_;
  std::set<std::string> text_;  // staged text columns
  int64_t staged_rows_ = -1;
};

/// Merges source into the destination in one commit (PostgresTable::Merge).
arrow::Result<MergeResult> Merge(const Destination& dest,
                                 std::shared_ptr<arrow::Table> source,
                                 const MergeOptions& options);

}  // namespace inlet::pg
