// What a sequence-ordered merge into a PostgreSQL table remembers beyond its rows
// (pg_merge.cc): the PostgreSQL form of the lakehouse tables' tombstones.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "inlet/postgres/pg_merge_sql.h"

namespace inlet::pg {

// What a sequence-ordered merge remembers beyond the rows, so that a change older than a
// delete or a truncate does not bring a row back (the lakehouse tables' tombstones,
// table/tombstones.h): each deleted key's latest delete in a table beside the table,
// <state_table>_deletes_<oid> (the keys and the sequence columns, in the table's types;
// the keys its primary key), and the latest truncate's sequence in the state table (app
// "inlet.tombstones": {"sequence_by": [...], "truncated_before": [...]}). A change
// applies only when it is newer than both.
struct Remembered {
  static constexpr char kApp[] = "inlet.tombstones";
  static constexpr char kTruncate[] = "inlet_truncate";  // this merge's truncate (a row)
  std::string deletes;   // the table of deletes, qualified
  std::string keys;      // the key columns, quoted
  std::string sequence;  // the sequence columns that are not keys, quoted (may be empty)
  std::string marker;    // the truncate's sequence: a row subquery (no row: none)

  // The sequence columns of alias, in order, collated for comparison: a.s1, a.s2.
  static std::string Sequence(const MergeSql& m, const std::string& alias);

  // ROW(alias's sequence) >= ROW(newer): what a remembered delete (never null) makes
  // late.
  static std::string AtOrAfter(const MergeSql& m, const std::string& alias,
                               const std::vector<std::string>& newer);

  // The deletes table's name (at most 63 bytes: PostgreSQL would cut it, and two tables
  // could share one).
  static arrow::Result<std::string> TableName(const Destination& dest,
                                              const std::string& oid);

  // What the table remembers, checked against this merge's keys and sequence; none when
  // nothing is remembered and create is false.
  static arrow::Result<std::optional<Remembered>> Prepare(const MergeSql& m, bool create);

  // The staged truncates: the latest (kept in kTruncate: the changes staged at or before
  // it are dropped, BeforeTruncate), when newer than the truncate remembered, deletes the
  // rows and the deletes at or before it, and is remembered. The rows it deleted.
  arrow::Result<int64_t> Truncate(const MergeSql& m, const std::string& flag) const;

  // Whether a staged change (alias) is at or before this merge's truncate: dropped, as
  // the lakehouse tables drop it (table/merge_source.cc), not counted late.
  std::string BeforeTruncate(const MergeSql& m, const std::string& alias) const;

  // Whether the sequence `newer` (never null) is at or before the remembered truncate or
  // the key's remembered delete (w: the row whose key it is).
  std::string Late(const MergeSql& m, const std::vector<std::string>& newer,
                   const std::string& w) const;

  // Drops the winners a remembered delete or truncate makes late; how many.
  arrow::Result<int64_t> DropLate(const MergeSql& m) const;

  // Remembers the winning deletes whose key the table no longer has (a delete older
  // than the table's row is late, and leaves nothing to remember).
  arrow::Status RecordDeletes(const MergeSql& m, const std::string& is_delete) const;

  // Forgets the deletes a newer live winner supersedes.
  arrow::Status Forget(const MergeSql& m) const;
};

// A value a winner took from an earlier row at or before the key's remembered delete or
// the remembered truncate is not the row's (as the lakehouse tables' SequenceGuard
// clears it): the winner lacks it again.
arrow::Status ForgetBeforeDeletes(const MergeSql& m, const Remembered& r,
                                  const std::map<std::string, std::string>& partial);

}  // namespace inlet::pg
