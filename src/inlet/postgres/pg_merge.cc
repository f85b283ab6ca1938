#include <arrow/array.h>

#include <algorithm>
#include <set>

#include "inlet/postgres/pg_commit.h"
#include "inlet/source/pg_text.h"
#include "inlet/status.h"

namespace inlet::pg {

namespace {

using pgtext::QuoteIdent;

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

// An upsert some of whose rows lack columns (`partial`: column -> its given flag), once
// the deletes are applied. Each key's winning row first takes, for a column it lacks, the
// latest earlier value of its key that was given (not across a delete of the key); then
// matched rows are updated, keeping the table's value where the winner still lacks one,
// and new keys inserted (null where not given). Two statements, not INSERT ... ON
// CONFLICT, whose EXCLUDED row cannot say what was given.
arrow::Status PartialUpsert(const Destination& dest, Commit& commit,
                            const MergeOptions& options,
                            const std::vector<std::string>& columns,
                            const std::map<std::string, std::string>& partial,
                            int64_t winners, MergeResult* result) {
  const std::string t = dest.Target();
  std::string index;
  for (const auto& k : options.keys) index += QuoteIdent(k) + ", ";
  ARROW_RETURN_NOT_OK(
      commit.Run(std::string("CREATE INDEX ON ") + kStage + " (" + index + kOrdinal + ")")
          .status());
  ARROW_RETURN_NOT_OK(commit.Run(std::string("ANALYZE ") + kStage).status());
  auto same_key = [&](const std::string& a, const std::string& b) {
    std::string out;
    for (const auto& k : options.keys)
      out += (out.empty() ? "" : " AND ") + a + "." + QuoteIdent(k) + " = " + b + "." +
             QuoteIdent(k);
    return out;
  };
  std::string deleted = options.delete_flag.empty()
                            ? std::string()
                            : " AND NOT EXISTS (SELECT 1 FROM " + std::string(kStage) +
                                  " AS d WHERE " + same_key("d", "w") + " AND d." +
                                  QuoteIdent(options.delete_flag) + " AND d." + kOrdinal +
                                  " > s." + kOrdinal + " AND d." + kOrdinal + " < w." +
                                  kOrdinal + ")";
  std::string live = options.delete_flag.empty()
                         ? std::string("TRUE")
                         : "w." + QuoteIdent(options.delete_flag) + " IS NOT TRUE";
  for (const auto& [column, flag] : partial) {
    std::string c = QuoteIdent(column), g = QuoteIdent(flag);
    std::string earlier = " FROM " + std::string(kStage) + " AS s WHERE " +
                          same_key("s", "w") + " AND s." + g + " AND s." + kOrdinal +
                          " < w." + kOrdinal + deleted;
    ARROW_RETURN_NOT_OK(commit
                            .Run("UPDATE " + std::string(kWinners) + " AS w SET (" + c +
                                 ", " + g + ") = (SELECT s." + c + ", TRUE" + earlier +
                                 " ORDER BY s." + kOrdinal + " DESC LIMIT 1) WHERE w." +
                                 g + " IS NOT TRUE AND " + live +
                                 " AND EXISTS (SELECT 1" + earlier + ")")
                            .status());
  }
  std::string set;
  for (const auto& c : columns) {
    if (std::find(options.keys.begin(), options.keys.end(), c) != options.keys.end())
      continue;
    if (!options.update_columns.empty() &&
        std::find(options.update_columns.begin(), options.update_columns.end(), c) ==
            options.update_columns.end())
      continue;
    std::string value = commit.Cast("w", c);
    if (options.ignore_null_updates)
      value = "COALESCE(" + value + ", t." + QuoteIdent(c) + ")";
    if (auto p = partial.find(c); p != partial.end())
      value = "CASE WHEN w." + QuoteIdent(p->second) + " THEN " + value + " ELSE t." +
              QuoteIdent(c) + " END";
    set += (set.empty() ? "" : ", ") + QuoteIdent(c) + " = " + value;
  }
  std::string guard;
  if (!options.sequence_by.empty()) {
    std::string older, newer;
    for (const auto& c : options.sequence_by) {
      older += (older.empty() ? "" : ", ") + std::string("t.") + QuoteIdent(c);
      newer += (newer.empty() ? "" : ", ") + commit.Cast("w", c);
    }
    guard = " AND (ROW(" + older + ") < ROW(" + newer + ") OR t." +
            QuoteIdent(options.sequence_by[0]) + " IS NULL)";
  }
  if (!set.empty()) {
    ARROW_ASSIGN_OR_RAISE(
        result->rows_updated,
        commit.Run("UPDATE " + t + " AS t SET " + set + " FROM " + kWinners +
                   " AS w WHERE " + commit.KeysMatch(options.keys, "t", "w") + " AND " +
                   live + guard));
  }
  std::string names, values;
  for (const auto& c : columns) {
    names += (names.empty() ? "" : ", ") + QuoteIdent(c);
    values += (values.empty() ? "" : ", ") + commit.Cast("w", c);
  }
  ARROW_ASSIGN_OR_RAISE(
      result->rows_inserted,
      commit.Run("INSERT INTO " + t + " (" + names + ") SELECT " + values + " FROM " +
                 kWinners + " AS w WHERE " + live + " AND NOT EXISTS (SELECT 1 FROM " +
                 t + " AS t WHERE " + commit.KeysMatch(options.keys, "t", "w") +
                 ") ORDER BY w." + kOrdinal));
  if (!options.sequence_by.empty()) {
    int64_t live_winners = winners - result->rows_deleted;
    result->late_discarded =
        std::max<int64_t>(0, live_winners - result->rows_inserted - result->rows_updated);
  }
  return arrow::Status::OK();
}

}  // namespace

arrow::Result<MergeResult> Merge(const Destination& dest,
                                 std::shared_ptr<arrow::Table> source,
                                 const MergeOptions& options) {
  // Sequence-guarded upserts without deletes need nothing remembered: the table's own
  // sequence decides. Deletes would need remembering (a late update must not bring a
  // deleted row back), which only the lakehouse tables do so far.
  const bool guarded = !options.sequence_by.empty();
  if (options.history.enabled || !options.truncate_flag.empty() ||
      (guarded && (!options.delete_flag.empty() || options.mode != MergeMode::kUpsert)))
    return WithKind(
        arrow::Status::NotImplemented(dest.Describe(), ": a PostgreSQL table ",
                                      "does not remember deletes for sequence-ordered "
                                      "changes yet (the cdc strategy, "
                                      "or a merge with order_by and a delete flag): load "
                                      "them into Delta or Iceberg, "
                                      "or set stale_rows: apply"),
        ErrorKind::kUnsupportedFeature);
  if (options.keys.empty()) return dest.Failed("a merge needs keys");
  for (const auto& k : options.keys)
    if (!source->schema()->GetFieldByName(k))
      return dest.Failed("the key column '" + k + "' is not among the rows' columns");
  const MergeMode mode = options.mode;
  const WriteOptions& w = options.write;
  Commit commit(dest);
  ARROW_RETURN_NOT_OK(commit.Start(w));
  // The delete flag is the source's, not the table's.
  // The flags are the source's, not the table's.
  std::set<std::string> flags;
  if (!options.delete_flag.empty()) {
    if (!source->schema()->GetFieldByName(options.delete_flag))
      return dest.Failed("no delete flag column '" + options.delete_flag + "'");
    flags.insert(options.delete_flag);
  }
  // Columns some row did not give (a message lacking a field): such a row keeps the
  // table's value (upserts only; other modes ignore the flags).
  std::map<std::string, std::string> partial;
  for (const auto& [column, flag] : options.given_flags) {
    auto given = source->GetColumnByName(flag);
    if (!given) continue;
    flags.insert(flag);
    if (mode != MergeMode::kUpsert) continue;
    for (const auto& chunk : given->chunks()) {
      const auto& b = static_cast<const arrow::BooleanArray&>(*chunk);
      bool all = b.null_count() == 0 && b.true_count() == b.length();
      if (!all) partial[column] = flag;
    }
  }
  std::shared_ptr<arrow::Table> rows = source;
  for (const auto& flag : flags) {
    ARROW_ASSIGN_OR_RAISE(rows, rows->RemoveColumn(rows->schema()->GetFieldIndex(flag)));
  }
  ARROW_RETURN_NOT_OK(commit.Prepare(*rows->schema(), w.merge_schema, options.keys));
  if (mode == MergeMode::kUpsert || mode == MergeMode::kInsertOnly)
    ARROW_RETURN_NOT_OK(commit.RequireUnique(options.keys));
  ARROW_RETURN_NOT_OK(commit.Stage(std::make_shared<arrow::TableBatchReader>(source)));
  // Null keys are refused before anything changes.
  std::string null_key;
  for (const auto& k : options.keys)
    null_key +=
        (null_key.empty() ? "" : " OR ") + std::string("s.") + QuoteIdent(k) + " IS NULL";
  ARROW_ASSIGN_OR_RAISE(auto nulls,
                        commit.Rows(std::string("SELECT min(s.") + kOrdinal + ") FROM " +
                                    kStage + " AS s WHERE " + null_key));
  ARROW_ASSIGN_OR_RAISE(auto first_null, ColumnAs(*nulls, 0, arrow::int64()));
  if (first_null->IsValid(0)) {
    return dest.Failed(
        "row " +
        std::to_string(static_cast<const arrow::Int64Array&>(*first_null).Value(0) + 1) +
        " of the merge's source has a null key");
  }
  std::string flag = options.delete_flag.empty() ? std::string()
                                                 : "w." + QuoteIdent(options.delete_flag);
  std::string keys_sql;
  for (const auto& k : options.keys)
    keys_sql += (keys_sql.empty() ? "" : ", ") + std::string("s.") + QuoteIdent(k);
  MergeResult result;
  std::vector<std::string> columns = commit.staged();
  columns.erase(std::remove_if(columns.begin(), columns.end(),
                               [&](const std::string& c) { return flags.count(c) > 0; }),
                columns.end());
  auto list = [&](const std::string& alias, bool cast) {
    std::string out;
    for (const auto& c : columns)
      out += (out.empty() ? "" : ", ") + (cast ? commit.Cast(alias, c) : QuoteIdent(c));
    return out;
  };
  std::string t = dest.Target();
  if (mode == MergeMode::kSnapshot) {
    // The extract is the table: one row per key.
    ARROW_ASSIGN_OR_RAISE(int64_t distinct,
                          commit.Count("SELECT count(*) FROM (SELECT DISTINCT " +
                                       keys_sql + " FROM " + kStage + " AS s) AS d"));
    if (distinct != commit.staged_rows())
      return dest.Failed(
          "the extract has " + std::to_string(commit.staged_rows() - distinct) +
          " rows whose key another row has: a snapshot diff needs one row per "
          "key");
    ARROW_ASSIGN_OR_RAISE(result.rows_compared,
                          commit.Count("SELECT count(*) FROM " + t));
    std::string missing = "NOT EXISTS (SELECT 1 FROM " + std::string(kStage) +
                          " AS s WHERE " + commit.KeysMatch(options.keys, "t", "s") + ")";
    if (options.missing_keys == MissingKeys::kDelete) {
      ARROW_ASSIGN_OR_RAISE(result.rows_deleted,
                            commit.Run("DELETE FROM " + t + " AS t WHERE " + missing));
    } else if (options.missing_keys == MissingKeys::kSoftDelete) {
      std::string soft = QuoteIdent(options.soft_delete_column);
      ARROW_ASSIGN_OR_RAISE(
          result.rows_deleted,
          commit.Run("UPDATE " + t + " AS t SET " + soft + " = TRUE WHERE t." + soft +
                     " IS NOT TRUE AND " + missing));
    }
    if (options.max_delete_percent && result.rows_compared > 0) {
      double percent = 100.0 * static_cast<double>(result.rows_deleted) /
                       static_cast<double>(result.rows_compared);
      if (percent > *options.max_delete_percent)
        return dest.Failed(
            "the extract would delete " + std::to_string(result.rows_deleted) +
            " of the table's " + std::to_string(result.rows_compared) +
            " rows, more than strategy.max_delete_percent allows; an empty or "
            "truncated extract? Nothing was committed");
    }
    std::string set, differs_t, differs_s;
    for (const auto& c : columns) {
      bool key =
          std::find(options.keys.begin(), options.keys.end(), c) != options.keys.end();
      if (key) continue;
      set += (set.empty() ? "" : ", ") + QuoteIdent(c) + " = " + commit.Cast("s", c);
      differs_t +=
          (differs_t.empty() ? "" : ", ") + commit.Comparable("t." + QuoteIdent(c), c);
      differs_s +=
          (differs_s.empty() ? "" : ", ") + commit.Comparable(commit.Cast("s", c), c);
    }
    if (!set.empty()) {
      ARROW_ASSIGN_OR_RAISE(
          result.rows_updated,
          commit.Run("UPDATE " + t + " AS t SET " + set + " FROM " + kStage +
                     " AS s WHERE " + commit.KeysMatch(options.keys, "t", "s") +
                     " AND ROW(" + differs_t + ") IS DISTINCT FROM ROW(" + differs_s +
                     ")"));
    }
    ARROW_ASSIGN_OR_RAISE(
        result.rows_inserted,
        commit.Run("INSERT INTO " + t + " (" + list("", false) + ") SELECT " +
                   list("s", true) + " FROM " + kStage +
                   " AS s WHERE NOT EXISTS "
                   "(SELECT 1 FROM " +
                   t + " AS t WHERE " + commit.KeysMatch(options.keys, "t", "s") +
                   ") ORDER BY s." + kOrdinal));
    result.changed = result.rows_inserted + result.rows_updated + result.rows_deleted > 0;
    if (!result.changed || options.dry_run) {
      ARROW_RETURN_NOT_OK(commit.Abandon());
      return result;
    }
  } else {
    // The winning row of each key: the greatest order_by, else the last.
    std::string order = keys_sql;
    if (guarded) {
      for (const auto& c : options.sequence_by)
        order += ", s." + QuoteIdent(c) + " DESC NULLS LAST";
    } else if (!options.order_by.empty()) {
      order += ", s." + QuoteIdent(options.order_by) + " DESC NULLS LAST";
    }
    order += std::string(", s.") + kOrdinal + " DESC";
    const bool all_rows = mode == MergeMode::kDeleteInsert;
    ARROW_RETURN_NOT_OK(
        commit
            .Run(std::string("CREATE TEMPORARY TABLE ") + kWinners + " AS SELECT " +
                 (all_rows ? std::string("") : "DISTINCT ON (" + keys_sql + ") ") +
                 "s.* FROM " + kStage + " AS s ORDER BY " + order)
            .status());
    ARROW_ASSIGN_OR_RAISE(int64_t winners,
                          commit.Count(std::string("SELECT count(*) FROM ") + kWinners));
    result.source_duplicates = all_rows ? 0 : commit.staged_rows() - winners;
    std::string live = flag.empty() ? "TRUE" : flag + " IS NOT TRUE";
    int64_t reborn = 0;
    if (mode == MergeMode::kUpsert && !flag.empty()) {
      // A key deleted earlier in the source and given again starts afresh: its table row
      // goes, and its winning row is inserted (what it lacks is null, not the old value).
      std::string same_key;
      for (const auto& k : options.keys)
        same_key += " AND d." + QuoteIdent(k) + " = w." + QuoteIdent(k);
      ARROW_ASSIGN_OR_RAISE(
          reborn, commit.Run("DELETE FROM " + t + " AS t USING " + kWinners +
                             " AS w WHERE " + commit.KeysMatch(options.keys, "t", "w") +
                             " AND " + live + " AND EXISTS (SELECT 1 FROM " + kStage +
                             " AS d WHERE d." + QuoteIdent(options.delete_flag) +
                             same_key + " AND d." + kOrdinal + " < w." + kOrdinal + ")"));
    }
    if (mode == MergeMode::kDeleteInsert) {
      ARROW_ASSIGN_OR_RAISE(
          result.rows_deleted,
          commit.Run("DELETE FROM " + t + " AS t USING (SELECT DISTINCT " + keys_sql +
                     " FROM " + kWinners + " AS s) AS s WHERE " +
                     commit.KeysMatch(options.keys, "t", "s")));
    } else if (!flag.empty()) {
      ARROW_ASSIGN_OR_RAISE(
          result.rows_deleted,
          commit.Run("DELETE FROM " + t + " AS t USING " + kWinners + " AS w WHERE " +
                     commit.KeysMatch(options.keys, "t", "w") + " AND " + flag));
    }
    if (!partial.empty()) {
      ARROW_RETURN_NOT_OK(
          PartialUpsert(dest, commit, options, columns, partial, winners, &result));
      result.rows_deleted += reborn;
      ARROW_RETURN_NOT_OK(commit.Run(std::string("DROP TABLE ") + kWinners).status());
      return FinishMerge(commit, options, std::move(result));
    }
    std::string insert = "INSERT INTO " + t + " AS t (" + list("", false) + ") SELECT " +
                         list("w", true) + " FROM " + kWinners + " AS w WHERE " + live +
                         " ORDER BY w." + kOrdinal;
    std::string conflict;
    for (const auto& k : options.keys)
      conflict += (conflict.empty() ? "" : ", ") + QuoteIdent(k);
    if (mode == MergeMode::kDeleteInsert) {
      ARROW_ASSIGN_OR_RAISE(result.rows_inserted, commit.Run(insert));
    } else if (mode == MergeMode::kInsertOnly) {
      ARROW_ASSIGN_OR_RAISE(result.rows_inserted, commit.Run(insert + " ON CONFLICT (" +
                                                             conflict + ") DO NOTHING"));
    } else {
      std::string set;
      for (const auto& c : columns) {
        if (std::find(options.keys.begin(), options.keys.end(), c) != options.keys.end())
          continue;
        if (!options.update_columns.empty() &&
            std::find(options.update_columns.begin(), options.update_columns.end(), c) ==
                options.update_columns.end())
          continue;
        std::string value = "EXCLUDED." + QuoteIdent(c);
        if (options.ignore_null_updates)
          value = "COALESCE(" + value + ", t." + QuoteIdent(c) + ")";
        set += (set.empty() ? "" : ", ") + QuoteIdent(c) + " = " + value;
      }
      std::string action = set.empty() ? "DO NOTHING" : "DO UPDATE SET " + set;
      if (guarded && !set.empty()) {
        // A change applies only over an older (or unsequenced) row.
        std::string older, newer;
        for (const auto& c : options.sequence_by) {
          older += (older.empty() ? "" : ", ") + std::string("t.") + QuoteIdent(c);
          newer += (newer.empty() ? "" : ", ") + std::string("EXCLUDED.") + QuoteIdent(c);
        }
        action += " WHERE ROW(" + older + ") < ROW(" + newer + ") OR t." +
                  QuoteIdent(options.sequence_by[0]) + " IS NULL";
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
      if (guarded)
        result.late_discarded = winners - result.rows_inserted - result.rows_updated;
    }
    result.rows_deleted += reborn;
    ARROW_RETURN_NOT_OK(commit.Run(std::string("DROP TABLE ") + kWinners).status());
  }
  return FinishMerge(commit, options, std::move(result));
}

}  // namespace inlet::pg
