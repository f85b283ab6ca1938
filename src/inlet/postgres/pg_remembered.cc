#include "inlet/postgres/pg_remembered.h"

#include <arrow/array.h>

#include "inlet/common/json.h"
#include "inlet/source/pg_text.h"

namespace inlet::pg {

using pgtext::QuoteIdent;

// The sequence columns of alias, in order and collated for comparison: a.s1, a.s2.
std::string Remembered::Sequence(const MergeSql& m, const std::string& alias) {
  std::string out;
  for (const auto& c : m.options.sequence_by)
    out += (out.empty() ? "" : ", ") + m.commit.Collated(alias + "." + QuoteIdent(c), c);
  return out;
}

// ROW(alias's sequence) >= ROW(newer): what a remembered delete (never null) makes
// late.
std::string Remembered::AtOrAfter(const MergeSql& m, const std::string& alias,
                                  const std::vector<std::string>& newer) {
  std::string n;
  for (const auto& s : newer) n += (n.empty() ? "" : ", ") + s;
  return "ROW(" + Sequence(m, alias) + ") >= ROW(" + n + ")";
}

// The deletes table's name (at most 63 bytes: PostgreSQL would cut it, and two tables
// could share one).
arrow::Result<std::string> Remembered::TableName(const Destination& dest,
                                                 const std::string& oid) {
  std::string name = dest.config().state_table + "_deletes_" + oid;
  if (name.size() > 63)
    return dest.Failed("the table of remembered deletes, " + name +
                       ", would be longer than PostgreSQL's 63 bytes: shorten "
                       "destination.state_table");
  return dest.DeletesTable(oid);
}

// What the table remembers, checked against this merge's keys and sequence; none when
// nothing is remembered and create is false.
arrow::Result<std::optional<Remembered>> Remembered::Prepare(const MergeSql& m,
                                                             bool create) {
  const Destination& dest = m.dest;
  Commit& commit = m.commit;
  const MergeOptions& o = m.options;
  Remembered r;
  ARROW_ASSIGN_OR_RAISE(int64_t oid,
                        commit.Count("SELECT " + dest.Regclass() + "::oid::bigint"));
  ARROW_ASSIGN_OR_RAISE(r.deletes, TableName(dest, std::to_string(oid)));
  std::vector<std::string> want;  // the deletes table's columns
  for (const auto& k : o.keys) {
    r.keys += (r.keys.empty() ? "" : ", ") + QuoteIdent(k);
    want.push_back(k);
  }
  for (const auto& c : o.sequence_by) {
    if (Contains(o.keys, c)) continue;
    r.sequence += (r.sequence.empty() ? "" : ", ") + QuoteIdent(c);
    want.push_back(c);
  }
  // Its columns and primary key as they are (none: no table).
  ARROW_ASSIGN_OR_RAISE(
      auto has,
      commit.Rows("SELECT a.attname::text, a.attnum = ANY(i.indkey) FROM "
                  "pg_attribute a JOIN pg_index i ON i.indrelid = a.attrelid "
                  "AND i.indisprimary WHERE a.attrelid = to_regclass(" +
                  pgtext::QuoteLiteral(r.deletes) +
                  ") AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"));
  ARROW_ASSIGN_OR_RAISE(
      auto document, commit.Rows("SELECT document FROM " + dest.StateTable() +
                                 " WHERE table_name = " + dest.Key() + " AND app_id = '" +
                                 kApp + "' AND document IS NOT NULL"));
  std::string sequence_names;
  for (const auto& c : o.sequence_by)
    sequence_names += (sequence_names.empty() ? "" : ", ") + c;
  if (has->num_rows() > 0) {
    ARROW_ASSIGN_OR_RAISE(auto names, ColumnAs(*has, 0, arrow::utf8()));
    ARROW_ASSIGN_OR_RAISE(auto in_key, ColumnAs(*has, 1, arrow::boolean()));
    std::vector<std::string> got, key;
    for (int64_t i = 0; i < has->num_rows(); ++i) {
      got.push_back(static_cast<const arrow::StringArray&>(*names).GetString(i));
      if (static_cast<const arrow::BooleanArray&>(*in_key).Value(i))
        key.push_back(got.back());
    }
    if (got != want || key != o.keys)
      return dest.Failed("the deletes remembered in " + r.deletes +
                         " are by other keys or sequence columns than this merge's (" +
                         sequence_names + "): drop that table to forget them");
  }
  if (document->num_rows() > 0) {
    ARROW_ASSIGN_OR_RAISE(auto text, ColumnAs(*document, 0, arrow::utf8()));
    auto doc = ParseJson(static_cast<const arrow::StringArray&>(*text).GetView(0),
                         "the remembered truncate");
    std::vector<std::string> recorded;
    if (doc.ok() && doc->is_object() && doc->contains("sequence_by") &&
        (*doc)["sequence_by"].is_array())
      for (const auto& v : (*doc)["sequence_by"])
        recorded.push_back(v.is_string() ? v.get<std::string>() : "");
    if (recorded != o.sequence_by)
      return dest.Failed(
          "the truncate remembered for the table is by other sequence "
          "columns than this merge's (" +
          sequence_names + ")");
  }
  if (has->num_rows() == 0 && document->num_rows() == 0 && !create)
    return std::optional<Remembered>();
  if (has->num_rows() == 0) {
    std::string columns;
    for (const auto& c : want) columns += (columns.empty() ? "" : ", ") + QuoteIdent(c);
    ARROW_RETURN_NOT_OK(commit
                            .Run("CREATE TABLE " + r.deletes + " AS SELECT " + columns +
                                 " FROM " + dest.Target() + " WITH NO DATA")
                            .status());
    ARROW_RETURN_NOT_OK(
        commit.Run("ALTER TABLE " + r.deletes + " ADD PRIMARY KEY (" + r.keys + ")")
            .status());
  }
  std::string values;
  for (size_t i = 0; i < o.sequence_by.size(); ++i) {
    const Column* c = commit.Find(o.sequence_by[i]);
    if (!c) return dest.Failed("no sequence column '" + o.sequence_by[i] + "'");
    values += (i ? ", " : "") +
              std::string("CAST(document::json -> 'truncated_before' ->> ") +
              std::to_string(i) + " AS " + c->type + ")";
  }
  r.marker = "(SELECT " + values + " FROM " + dest.StateTable() +
             " WHERE table_name = " + dest.Key() + " AND app_id = '" + kApp +
             "' AND document IS NOT NULL)";
  return std::optional<Remembered>(std::move(r));
}

// The staged truncates: the latest (kept in kTruncate: the changes staged at or before
// it are dropped, BeforeTruncate), when newer than the truncate remembered, deletes the
// rows and the deletes at or before it, and is remembered. The rows it deleted.
arrow::Result<int64_t> Remembered::Truncate(const MergeSql& m,
                                            const std::string& flag) const {
  Commit& commit = m.commit;
  const MergeOptions& o = m.options;
  std::string cast, order, names;
  for (const auto& c : o.sequence_by) {
    cast += (cast.empty() ? "" : ", ") + commit.Cast("s", c) + " AS " + QuoteIdent(c);
    order += (order.empty() ? "" : ", ") + commit.Ordered("s", c) + " DESC";
    names += (names.empty() ? "" : ", ") + QuoteIdent(c);
  }
  ARROW_RETURN_NOT_OK(commit
                          .Run(std::string("CREATE TEMPORARY TABLE ") + kTruncate +
                               " AS SELECT " + cast + " FROM " + kStage +
                               " AS s WHERE s." + flag + " ORDER BY " + order +
                               " LIMIT 1")
                          .status());
  std::string x = Sequence(m, "x");
  ARROW_ASSIGN_OR_RAISE(
      int64_t newer,
      commit.Count(std::string("SELECT count(*) FROM ") + kTruncate +
                   " AS x WHERE NOT COALESCE(ROW(" + x + ") <= " + marker + ", FALSE)"));
  if (newer == 0) return 0;
  // Rows at or before it go (a null sequence is older than any).
  std::vector<std::string> truncated;
  for (const auto& c : o.sequence_by)
    truncated.push_back("(SELECT " + QuoteIdent(c) + " FROM " + kTruncate + ")");
  ARROW_ASSIGN_OR_RAISE(int64_t deleted,
                        commit.Run("DELETE FROM " + m.dest.Target() + " AS t WHERE " +
                                   m.Older(truncated, "t", "<=")));
  ARROW_RETURN_NOT_OK(commit
                          .Run("DELETE FROM " + deletes + " AS d WHERE ROW(" +
                               Sequence(m, "d") + ") <= (SELECT " + names + " FROM " +
                               kTruncate + ")")
                          .status());
  std::string json, by;
  for (const auto& c : o.sequence_by) {
    json += (json.empty() ? "" : ", ") + std::string("x.") + QuoteIdent(c);
    by += (by.empty() ? "" : ", ") + pgtext::QuoteLiteral(c);
  }
  ARROW_RETURN_NOT_OK(
      commit
          .Run("INSERT INTO " + m.dest.StateTable() +
               " (table_name, app_id, document) SELECT " + m.dest.Key() + ", '" + kApp +
               "', json_build_object('sequence_by', json_build_array(" + by +
               "), 'truncated_before', json_build_array(" + json + "))::text FROM " +
               kTruncate +
               " AS x ON CONFLICT (table_name, app_id) DO UPDATE SET document = "
               "EXCLUDED.document, updated_at = now()")
          .status());
  return deleted;
}

// Whether a staged change (alias) is at or before this merge's truncate: dropped, as
// the lakehouse tables drop it (table/merge_source.cc), not counted late.
std::string Remembered::BeforeTruncate(const MergeSql& m,
                                       const std::string& alias) const {
  std::string s, names;
  for (const auto& c : m.options.sequence_by) {
    s += (s.empty() ? "" : ", ") + m.commit.Collated(m.commit.Cast(alias, c), c);
    names += (names.empty() ? "" : ", ") + QuoteIdent(c);
  }
  return "COALESCE(ROW(" + s + ") <= (SELECT " + names + " FROM " + kTruncate +
         "), FALSE)";
}

// Whether the sequence `newer` (never null) is at or before the remembered truncate or
// the key's remembered delete (w: the row whose key it is).
std::string Remembered::Late(const MergeSql& m, const std::vector<std::string>& newer,
                             const std::string& w) const {
  std::string n;
  for (const auto& s : newer) n += (n.empty() ? "" : ", ") + s;
  return "(COALESCE(ROW(" + n + ") <= " + marker + ", FALSE) OR EXISTS (SELECT 1 FROM " +
         deletes + " AS d WHERE " + m.commit.KeysMatch(m.options.keys, "d", w) + " AND " +
         AtOrAfter(m, "d", newer) + "))";
}

// Drops the winners a remembered delete or truncate makes late; how many.
arrow::Result<int64_t> Remembered::DropLate(const MergeSql& m) const {
  return m.commit.Run(std::string("DELETE FROM ") + kWinners + " AS w WHERE " +
                      Late(m, m.WinnerSequence(), "w"));
}

// Remembers the winning deletes whose key the table no longer has (a delete older
// than the table's row is late, and leaves nothing to remember).
arrow::Status Remembered::RecordDeletes(const MergeSql& m,
                                        const std::string& is_delete) const {
  std::string values;
  for (const auto& k : m.options.keys)
    values += (values.empty() ? "" : ", ") + m.commit.Cast("w", k);
  std::string set, excluded;
  for (const auto& c : m.options.sequence_by) {
    if (Contains(m.options.keys, c)) continue;
    values += ", " + m.commit.Cast("w", c);
    set += (set.empty() ? "" : ", ") + QuoteIdent(c);
    excluded += (excluded.empty() ? "" : ", ") + std::string("EXCLUDED.") + QuoteIdent(c);
  }
  std::string columns = keys + (sequence.empty() ? "" : ", " + sequence);
  std::string action = set.empty() ? std::string("DO NOTHING")
                                   : "DO UPDATE SET (" + set + ") = ROW(" + excluded +
                                         ") WHERE ROW(" + Sequence(m, "d") + ") < ROW(" +
                                         Sequence(m, "EXCLUDED") + ")";
  return m.commit
      .Run("INSERT INTO " + deletes + " AS d (" + columns + ") SELECT " + values +
           " FROM " + kWinners + " AS w WHERE " + is_delete +
           " AND NOT EXISTS (SELECT 1 FROM " + m.dest.Target() + " AS t WHERE " +
           m.commit.KeysMatch(m.options.keys, "t", "w") + ") ON CONFLICT (" + keys +
           ") " + action)
      .status();
}

// Forgets the deletes a newer live winner supersedes.
arrow::Status Remembered::Forget(const MergeSql& m) const {
  std::string w;
  for (const auto& s : m.WinnerSequence()) w += (w.empty() ? "" : ", ") + s;
  return m.commit
      .Run("DELETE FROM " + deletes + " AS d USING " + kWinners + " AS w WHERE " +
           m.commit.KeysMatch(m.options.keys, "d", "w") + " AND " + m.live + " AND ROW(" +
           Sequence(m, "d") + ") < ROW(" + w + ")")
      .status();
}

// A value a winner took from an earlier row at or before the key's remembered delete or
// the remembered truncate is not the row's (as the lakehouse tables' SequenceGuard
// clears it): the winner lacks it again.
arrow::Status ForgetBeforeDeletes(const MergeSql& m, const Remembered& r,
                                  const std::map<std::string, std::string>& partial) {
  for (const auto& [column, flag] : partial) {
    std::vector<std::string> from = m.WinnerSequence(m.PartialIndex(partial, column));
    ARROW_RETURN_NOT_OK(m.commit
                            .Run(std::string("UPDATE ") + kWinners + " AS w SET " +
                                 QuoteIdent(column) + " = NULL, " + QuoteIdent(flag) +
                                 " = FALSE WHERE w." + QuoteIdent(flag) + " AND " +
                                 r.Late(m, from, "w"))
                            .status());
  }
  return arrow::Status::OK();
}

}  // namespace inlet::pg
