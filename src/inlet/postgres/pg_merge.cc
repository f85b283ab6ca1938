// Merges into a PostgreSQL destination: the source staged by Commit::Stage, then SQL per
// merge mode (docs/pipelines.md, "PostgreSQL destination"). The lakehouse tables' merge
// (table/merge.cc) is the reference for what each mode does and counts.
#include <arrow/array.h>

#include <algorithm>
#include <iterator>
#include <optional>
#include <set>

#include "inlet/postgres/pg_commit.h"
#include "inlet/postgres/pg_merge_sql.h"
#include "inlet/postgres/pg_remembered.h"
#include "inlet/source/pg_text.h"
#include "inlet/status.h"

namespace inlet::pg {

namespace {

using pgtext::QuoteIdent;

// The staged rows ranked within their key by the merge's order (sequence_by, else
// order_by, nulls lowest; then input position): a later rank wins, and "earlier" means a
// lower rank.
constexpr char kRanked[] = "inlet_ranked";
constexpr char kRank[] = "__inlet_rank";
arrow::Status PartialUpsert(const MergeSql& m, const std::string& ranked,
                            const std::string& rank,
                            const std::map<std::string, std::string>& partial,
                            const Remembered* remembered, MergeResult* result) {
  const MergeOptions& o = m.options;
  Commit& commit = m.commit;
  std::string index;
  for (const auto& k : o.keys) index += QuoteIdent(k) + ", ";
  ARROW_RETURN_NOT_OK(
      commit.Run("CREATE INDEX ON " + ranked + " (" + index + rank + ")").status());
  ARROW_RETURN_NOT_OK(commit.Run("ANALYZE " + ranked).status());
  std::string deleted = o.delete_flag.empty()
                            ? std::string()
                            : " AND NOT EXISTS (SELECT 1 FROM " + ranked +
                                  " AS d WHERE d." + QuoteIdent(o.delete_flag) +
                                  m.SameKey("d", "w") + " AND d." + rank + " > s." +
                                  rank + " AND d." + rank + " < w." + rank + ")";
  for (const auto& [column, flag] : partial) {
    std::string c = QuoteIdent(column), g = QuoteIdent(flag);
    std::string set = c + ", " + g, values = "s." + c + ", TRUE";
    for (size_t i = 0; i < o.sequence_by.size(); ++i) {
      set += ", " + QuoteIdent(FromColumn(m.PartialIndex(partial, column), i));
      values += ", " + commit.Cast("s", o.sequence_by[i]);
    }
    // Not from a delete, nor from before one.
    std::string not_deleted =
        o.delete_flag.empty() ? ""
                              : " AND s." + QuoteIdent(o.delete_flag) + " IS NOT TRUE";
    std::string earlier = " FROM " + ranked + " AS s WHERE s." + g + m.SameKey("s", "w") +
                          " AND s." + rank + " < w." + rank + not_deleted + deleted;
    ARROW_RETURN_NOT_OK(commit
                            .Run("UPDATE " + std::string(kWinners) + " AS w SET (" + set +
                                 ") = (SELECT " + values + earlier + " ORDER BY s." +
                                 rank + " DESC LIMIT 1) WHERE w." + g +
                                 " IS NOT TRUE AND " + m.live + " AND EXISTS (SELECT 1" +
                                 earlier + ")")
                            .status());
  }
  if (remembered) ARROW_RETURN_NOT_OK(ForgetBeforeDeletes(m, *remembered, partial));
  const std::string t = m.dest.Target();
  std::string guard = o.sequence_by.empty() ? "" : " AND " + m.Older(m.WinnerSequence());
  std::string set = m.Set(partial, /*excluded=*/false);
  if (!set.empty()) {
    ARROW_ASSIGN_OR_RAISE(
        result->rows_updated,
        commit.Run("UPDATE " + t + " AS t SET " + set + " FROM " + kWinners +
                   " AS w WHERE " + commit.KeysMatch(o.keys, "t", "w") + " AND " +
                   m.live + guard));
  }
  ARROW_ASSIGN_OR_RAISE(
      result->rows_inserted,
      commit.Run("INSERT INTO " + t + " (" + m.Names() + ") SELECT " + m.Values("w") +
                 " FROM " + kWinners + " AS w WHERE " + m.live +
                 " AND NOT EXISTS (SELECT 1 FROM " + t + " AS t WHERE " +
                 commit.KeysMatch(o.keys, "t", "w") + ") ORDER BY w." + kOrdinal));
  return arrow::Status::OK();
}

// A snapshot merge: the extract is the table.
arrow::Status SnapshotDiff(const MergeSql& m, MergeResult* result) {
  const MergeOptions& o = m.options;
  Commit& commit = m.commit;
  const std::string t = m.dest.Target();
  ARROW_ASSIGN_OR_RAISE(int64_t distinct,
                        commit.Count("SELECT count(*) FROM (SELECT DISTINCT " +
                                     m.keys_sql + " FROM " + kStage + " AS s) AS d"));
  if (distinct != commit.staged_rows())
    return m.dest.Failed("the extract has " +
                         std::to_string(commit.staged_rows() - distinct) +
                         " rows whose key another row has: a snapshot diff needs one row "
                         "per key");
  ARROW_ASSIGN_OR_RAISE(result->rows_compared, commit.Count("SELECT count(*) FROM " + t));
  std::string missing = "NOT EXISTS (SELECT 1 FROM " + std::string(kStage) +
                        " AS s WHERE " + commit.KeysMatch(o.keys, "t", "s") + ")";
  int64_t gone = 0;
  if (o.missing_keys == MissingKeys::kDelete) {
    ARROW_ASSIGN_OR_RAISE(gone,
                          commit.Run("DELETE FROM " + t + " AS t WHERE " + missing));
    result->rows_deleted = gone;
  } else if (o.missing_keys == MissingKeys::kSoftDelete) {
    std::string soft = QuoteIdent(o.soft_delete_column);
    ARROW_ASSIGN_OR_RAISE(
        gone, commit.Run("UPDATE " + t + " AS t SET " + soft + " = TRUE WHERE t." + soft +
                         " IS NOT TRUE AND " + missing));
    result->rows_updated = gone;  // a soft delete rewrites the row, as Delta counts it
  }
  if (o.max_delete_percent && result->rows_compared > 0) {
    double percent =
        100.0 * static_cast<double>(gone) / static_cast<double>(result->rows_compared);
    if (percent > *o.max_delete_percent)
      return m.dest.Failed("the extract would delete " + std::to_string(gone) +
                           " of the table's " + std::to_string(result->rows_compared) +
                           " rows, more than strategy.max_delete_percent allows; an "
                           "empty or truncated extract? Nothing was committed");
  }
  std::string set, differs_t, differs_s;
  for (const auto& c : m.columns) {
    if (Contains(o.keys, c)) continue;
    set += (set.empty() ? "" : ", ") + QuoteIdent(c) + " = " + commit.Cast("s", c);
    differs_t +=
        (differs_t.empty() ? "" : ", ") + commit.Comparable("t." + QuoteIdent(c), c);
    differs_s +=
        (differs_s.empty() ? "" : ", ") + commit.Comparable(commit.Cast("s", c), c);
  }
  if (!set.empty()) {
    ARROW_ASSIGN_OR_RAISE(
        int64_t updated,
        commit.Run("UPDATE " + t + " AS t SET " + set + " FROM " + kStage +
                   " AS s WHERE " + commit.KeysMatch(o.keys, "t", "s") + " AND ROW(" +
                   differs_t + ") IS DISTINCT FROM ROW(" + differs_s + ")"));
    result->rows_updated += updated;
  }
  ARROW_ASSIGN_OR_RAISE(
      result->rows_inserted,
      commit.Run("INSERT INTO " + t + " (" + m.Names() + ") SELECT " + m.Values("s") +
                 " FROM " + kStage + " AS s WHERE NOT EXISTS (SELECT 1 FROM " + t +
                 " AS t WHERE " + commit.KeysMatch(o.keys, "t", "s") + ") ORDER BY s." +
                 kOrdinal));
  result->changed =
      result->rows_inserted + result->rows_updated + result->rows_deleted > 0;
  return arrow::Status::OK();
}

arrow::Result<MergeResult> FinishMerge(Commit& commit, const MergeOptions& options,
                                       MergeResult result) {
  const WriteOptions& w = options.write;
  CommitResult counts;
  counts.rows_written = result.rows_inserted + result.rows_updated;
  std::string operation = w.operation.empty() ? "MERGE" : w.operation;
  auto params = w.operation_parameters;
  params["mode"] = MergeModeName(options.mode);
  ARROW_ASSIGN_OR_RAISE(result.commit,
                        commit.Finish(w, operation, params, counts, options.dry_run));
  return result;
}

// The first staged row (from 1) where `condition` holds over s; nullopt when none does.
arrow::Result<std::optional<int64_t>> FirstRow(Commit& commit,
                                               const std::string& condition) {
  ARROW_ASSIGN_OR_RAISE(auto rows,
                        commit.Rows(std::string("SELECT min(s.") + kOrdinal + ") FROM " +
                                    kStage + " AS s WHERE " + condition));
  ARROW_ASSIGN_OR_RAISE(auto first, ColumnAs(*rows, 0, arrow::int64()));
  if (first->IsNull(0)) return std::nullopt;
  return static_cast<const arrow::Int64Array&>(*first).Value(0) + 1;
}

}  // namespace

arrow::Result<MergeResult> Merge(const Destination& dest,
                                 std::shared_ptr<arrow::Table> source,
                                 const MergeOptions& options) {
  // Sequence-guarded upserts need nothing remembered: the table's own sequence decides.
  // Deletes and truncates are remembered (Remembered), so that a late change does not
  // bring a deleted row back.
  const bool guarded = !options.sequence_by.empty();
  if (options.history.enabled)
    return WithKind(arrow::Status::NotImplemented(
                        dest.Describe(),
                        ": a PostgreSQL table keeps no history of versions (scd_type: 2) "
                        "yet: load it into Delta or Iceberg"),
                    ErrorKind::kUnsupportedFeature);
  if (guarded && options.mode != MergeMode::kUpsert)
    return dest.Failed("sequence-ordered changes are applied as upserts only");
  if (!options.truncate_flag.empty() && !guarded)
    return dest.Failed("truncates need the changes' sequence (sequence_by)");
  if (options.keys.empty()) return dest.Failed("a merge needs keys");
  for (const auto& k : options.keys)
    if (!source->schema()->GetFieldByName(k))
      return dest.Failed("the key column '" + k + "' is not among the rows' columns");
  const MergeMode mode = options.mode;
  const WriteOptions& w = options.write;
  // The flags are the source's, not the table's.
  std::set<std::string> flags;
  if (!options.delete_flag.empty()) {
    auto f = source->schema()->GetFieldByName(options.delete_flag);
    if (!f || f->type()->id() != arrow::Type::BOOL)
      return dest.Failed("no boolean delete flag column '" + options.delete_flag + "'");
    flags.insert(options.delete_flag);
  }
  std::string truncates;  // the staged truncate flag, quoted ("" without one)
  if (!options.truncate_flag.empty()) {
    if (auto f = source->schema()->GetFieldByName(options.truncate_flag)) {
      if (f->type()->id() != arrow::Type::BOOL)
        return dest.Failed("the truncate flag '" + options.truncate_flag +
                           "' is not boolean");
      flags.insert(options.truncate_flag);
      truncates = QuoteIdent(options.truncate_flag);
    }
  }
  // Columns some row did not give (a message lacking a field): such a row keeps the
  // table's value (upserts only; other modes ignore the flags).
  std::map<std::string, std::string> partial;
  for (const auto& [column, flag] : options.given_flags) {
    auto given = source->GetColumnByName(flag);
    if (!given) continue;
    if (given->type()->id() != arrow::Type::BOOL)
      return dest.Failed("the given flag '" + flag + "' is not boolean");
    flags.insert(flag);
    if (mode != MergeMode::kUpsert) continue;
    for (const auto& chunk : given->chunks()) {
      const auto& b = static_cast<const arrow::BooleanArray&>(*chunk);
      if (b.null_count() > 0 || b.true_count() != b.length()) partial[column] = flag;
    }
  }
  std::shared_ptr<arrow::Table> rows = source;
  for (const auto& flag : flags) {
    ARROW_ASSIGN_OR_RAISE(rows, rows->RemoveColumn(rows->schema()->GetFieldIndex(flag)));
  }
  Commit commit(dest);
  ARROW_RETURN_NOT_OK(commit.Start(w));
  // Staged first: a column the table gains locks it for no longer than the statements.
  // A table the merge creates has its keys as primary key where they are unique.
  const bool unique = mode == MergeMode::kUpsert || mode == MergeMode::kInsertOnly;
  ARROW_RETURN_NOT_OK(commit.Stage(std::make_shared<arrow::TableBatchReader>(source)));
  ARROW_RETURN_NOT_OK(commit.Prepare(*rows->schema(), w.merge_schema,
                                     unique ? options.keys : std::vector<std::string>{}));
  if (unique) ARROW_RETURN_NOT_OK(commit.RequireUnique(options.keys));
  // Null keys, and null sequences, are refused before anything changes.
  std::string null_key;
  for (const auto& k : options.keys)
    null_key +=
        (null_key.empty() ? "" : " OR ") + std::string("s.") + QuoteIdent(k) + " IS NULL";
  // Truncate events carry no key.
  const std::string change =
      truncates.empty() ? std::string("TRUE") : "s." + truncates + " IS NOT TRUE";
  ARROW_ASSIGN_OR_RAISE(auto first_null,
                        FirstRow(commit, "(" + null_key + ") AND " + change));
  if (first_null)
    return dest.Failed("row " + std::to_string(*first_null) +
                       " of the merge's source has a null key");
  for (const auto& c : options.sequence_by) {
    ARROW_ASSIGN_OR_RAISE(auto null_seq,
                          FirstRow(commit, "s." + QuoteIdent(c) + " IS NULL"));
    if (null_seq)
      return dest.Failed("row " + std::to_string(*null_seq) + ": the sequence column '" +
                         c + "' is null, so the change cannot be ordered");
  }
  MergeSql m{dest, commit, options, commit.staged(), "TRUE", ""};
  m.columns.erase(
      std::remove_if(m.columns.begin(), m.columns.end(),
                     [&](const std::string& c) { return flags.count(c) > 0; }),
      m.columns.end());
  // Keys as the table holds them: two staged keys one table key takes are one key.
  for (const auto& k : options.keys)
    m.keys_sql += (m.keys_sql.empty() ? "" : ", ") + commit.Cast("s", k);
  if (!options.delete_flag.empty())
    m.live = "w." + QuoteIdent(options.delete_flag) + " IS NOT TRUE";
  MergeResult result;
  if (mode == MergeMode::kSnapshot) {
    ARROW_RETURN_NOT_OK(SnapshotDiff(m, &result));
    if (!result.changed || options.dry_run) {
      ARROW_RETURN_NOT_OK(commit.Abandon());
      return result;
    }
    return FinishMerge(commit, options, std::move(result));
  }
  const std::string t = dest.Target();
  std::optional<Remembered> remembered;
  int64_t truncated = 0;  // rows a truncate deleted
  if (guarded) {
    // Remembered for this table by an earlier merge, or to remember now.
    const bool create = !options.delete_flag.empty() || !truncates.empty();
    ARROW_ASSIGN_OR_RAISE(remembered, Remembered::Prepare(m, create));
    if (remembered && !truncates.empty()) {
      ARROW_ASSIGN_OR_RAISE(truncated, remembered->Truncate(m, truncates));
    }
  }
  // Rows ranked by the merge's order, where an order other than the input's decides
  // which rows come before the winner (partial updates, deletes given again).
  std::vector<std::string> order_columns =
      guarded ? options.sequence_by
              : (options.order_by.empty() ? std::vector<std::string>{}
                                          : std::vector<std::string>{options.order_by});
  const bool earlier_rows = !partial.empty() || !options.delete_flag.empty();
  // Changes at or before this merge's truncate are dropped with it.
  const std::string before_truncate =
      remembered && !truncates.empty() ? " AND NOT " + remembered->BeforeTruncate(m, "s")
                                       : std::string();
  std::string ranked = kStage, rank = kOrdinal;
  if (earlier_rows && !order_columns.empty()) {
    std::string order;
    for (const auto& c : order_columns)
      order += commit.Ordered("s", c) + " ASC NULLS FIRST, ";
    ARROW_RETURN_NOT_OK(commit
                            .Run(std::string("CREATE TEMPORARY TABLE ") + kRanked +
                                 " AS SELECT s.*, row_number() OVER (PARTITION BY " +
                                 m.keys_sql + " ORDER BY " + order + "s." + kOrdinal +
                                 ") AS " + kRank + " FROM " + kStage + " AS s WHERE " +
                                 change + before_truncate)
                            .status());
    ranked = kRanked;
    rank = kRank;
  }
  // The winning row of each key: the greatest sequence_by or order_by, else the last
  // (with sequence_by, the sequence each partially given value came from beside it).
  std::string order = m.keys_sql;
  for (const auto& c : order_columns)
    order += ", " + commit.Ordered("s", c) + " DESC NULLS LAST";
  order += std::string(", s.") + kOrdinal + " DESC";
  std::string from;
  for (const auto& [column, flag] : partial)
    for (size_t i = 0; i < options.sequence_by.size(); ++i)
      from += ", " + commit.Cast("s", options.sequence_by[i]) + " AS " +
              QuoteIdent(FromColumn(m.PartialIndex(partial, column), i));
  const bool all_rows = mode == MergeMode::kDeleteInsert;
  ARROW_RETURN_NOT_OK(
      commit
          .Run(std::string("CREATE TEMPORARY TABLE ") + kWinners + " AS SELECT " +
               (all_rows ? std::string() : "DISTINCT ON (" + m.keys_sql + ") ") + "s.*" +
               from + " FROM " + ranked + " AS s WHERE " + change + before_truncate +
               " ORDER BY " + order)
          .status());
  ARROW_ASSIGN_OR_RAISE(int64_t winners,
                        commit.Count(std::string("SELECT count(*) FROM ") + kWinners));
  int64_t events = commit.staged_rows();  // the truncates apart
  if (!truncates.empty()) {
    ARROW_ASSIGN_OR_RAISE(events, commit.Count(std::string("SELECT count(*) FROM ") +
                                               kStage + " AS s WHERE " + change));
  }
  result.source_duplicates = all_rows ? 0 : events - winners;
  // Winners older than a remembered delete or truncate of their key are late.
  int64_t late = 0;
  if (remembered) {
    ARROW_ASSIGN_OR_RAISE(late, remembered->DropLate(m));
  }
  const std::string newer_than_row =
      guarded ? " AND " + m.Older(m.WinnerSequence()) : std::string();
  int64_t reborn = 0;
  if (mode == MergeMode::kUpsert && !options.delete_flag.empty()) {
    // A key deleted earlier in the source and given again starts afresh: its table row
    // goes, and its winning row is inserted (what it lacks is null, not the old value).
    // Counted as an update, as the lakehouse tables count it.
    ARROW_ASSIGN_OR_RAISE(
        reborn,
        commit.Run("DELETE FROM " + t + " AS t USING " + kWinners + " AS w WHERE " +
                   commit.KeysMatch(options.keys, "t", "w") + " AND " + m.live +
                   newer_than_row + " AND EXISTS (SELECT 1 FROM " + ranked +
                   " AS d WHERE d." + QuoteIdent(options.delete_flag) +
                   m.SameKey("d", "w") + " AND d." + rank + " < w." + rank + ")"));
  }
  if (mode == MergeMode::kDeleteInsert) {
    std::string names, match;
    for (const auto& k : options.keys) {
      names += (names.empty() ? "" : ", ") + QuoteIdent(k);
      match += (match.empty() ? "" : " AND ") + std::string("t.") + QuoteIdent(k) +
               " = s." + QuoteIdent(k);
    }
    ARROW_ASSIGN_OR_RAISE(
        result.rows_deleted,
        commit.Run("DELETE FROM " + t + " AS t USING (SELECT DISTINCT " + m.keys_sql +
                   " FROM " + kWinners + " AS s) AS s (" + names + ") WHERE " + match));
  } else if (mode == MergeMode::kUpsert && !options.delete_flag.empty()) {
    // Insert-only merges keep matched rows, delete flag or not. A sequence-ordered delete
    // applies over an older row only (a newer one makes it late), and is remembered.
    const std::string is_delete = "w." + QuoteIdent(options.delete_flag);
    if (guarded) {
      ARROW_ASSIGN_OR_RAISE(
          int64_t late_deletes,
          commit.Count(std::string("SELECT count(*) FROM ") + kWinners + " AS w JOIN " +
                       t + " AS t ON " + commit.KeysMatch(options.keys, "t", "w") +
                       " WHERE " + is_delete + " AND NOT " +
                       m.Older(m.WinnerSequence())));
      late += late_deletes;
    }
    ARROW_ASSIGN_OR_RAISE(
        result.rows_deleted,
        commit.Run("DELETE FROM " + t + " AS t USING " + kWinners + " AS w WHERE " +
                   commit.KeysMatch(options.keys, "t", "w") + " AND " + is_delete +
                   newer_than_row));
    if (remembered) ARROW_RETURN_NOT_OK(remembered->RecordDeletes(m, is_delete));
  }
  if (!partial.empty()) {
    ARROW_RETURN_NOT_OK(PartialUpsert(m, ranked, rank, partial,
                                      remembered ? &*remembered : nullptr, &result));
  } else {
    std::string conflict;
    for (const auto& k : options.keys)
      conflict += (conflict.empty() ? "" : ", ") + QuoteIdent(k);
    std::string insert = "INSERT INTO " + t + " AS t (" + m.Names() + ") SELECT " +
                         m.Values("w") + " FROM " + kWinners + " AS w WHERE " + m.live +
                         " ORDER BY w." + kOrdinal;
    if (mode == MergeMode::kDeleteInsert) {
      ARROW_ASSIGN_OR_RAISE(result.rows_inserted, commit.Run(insert));
    } else if (mode == MergeMode::kInsertOnly) {
      ARROW_ASSIGN_OR_RAISE(result.rows_inserted, commit.Run(insert + " ON CONFLICT (" +
                                                             conflict + ") DO NOTHING"));
    } else {
      std::string set = m.Set({}, /*excluded=*/true);
      std::string action = set.empty() ? "DO NOTHING" : "DO UPDATE SET " + set;
      if (guarded && !set.empty()) {
        std::vector<std::string> newer;
        for (const auto& c : options.sequence_by)
          newer.push_back("EXCLUDED." + QuoteIdent(c));
        action += " WHERE " + m.Older(newer);
      }
      // xmax is 0 on a row the INSERT wrote, and the locker's id on one it updated.
      ARROW_ASSIGN_OR_RAISE(
          auto counts,
          commit.Rows("WITH changed AS (" + insert + " ON CONFLICT (" + conflict + ") " +
                      action +
                      " RETURNING (t.xmax = 0) AS inserted) SELECT count(*) FILTER "
                      "(WHERE inserted), count(*) FILTER (WHERE NOT inserted) FROM "
                      "changed"));
      ARROW_ASSIGN_OR_RAISE(auto ins, ColumnAs(*counts, 0, arrow::int64()));
      ARROW_ASSIGN_OR_RAISE(auto upd, ColumnAs(*counts, 1, arrow::int64()));
      result.rows_inserted = static_cast<const arrow::Int64Array&>(*ins).Value(0);
      result.rows_updated = static_cast<const arrow::Int64Array&>(*upd).Value(0);
    }
  }
  if (guarded) {
    // Live winners that applied over no newer row were inserted or updated; the rest
    // were late, as were the winners dropped above.
    ARROW_ASSIGN_OR_RAISE(int64_t live,
                          commit.Count(std::string("SELECT count(*) FROM ") + kWinners +
                                       " AS w WHERE " + m.live));
    result.late_discarded =
        late + std::max<int64_t>(0, live - result.rows_inserted - result.rows_updated);
  }
  if (remembered) ARROW_RETURN_NOT_OK(remembered->Forget(m));
  result.rows_deleted += truncated;
  // Keys deleted and given again: updates, not inserts.
  result.rows_updated += reborn;
  result.rows_inserted -= std::min(reborn, result.rows_inserted);
  for (const char* temporary : {kWinners, kRanked, Remembered::kTruncate})
    ARROW_RETURN_NOT_OK(
        commit.Run(std::string("DROP TABLE IF EXISTS pg_temp.") + temporary).status());
  return FinishMerge(commit, options, std::move(result));
}

}  // namespace inlet::pg
