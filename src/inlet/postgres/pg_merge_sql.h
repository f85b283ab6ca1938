// The SQL one PostgreSQL merge's statements share (pg_merge.cc, and the deletes it
// remembers, pg_remembered.cc).
#pragma once

#include <algorithm>
#include <iterator>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "inlet/postgres/pg_commit.h"
#include "inlet/source/pg_text.h"

namespace inlet::pg {

// With sequence_by: per partially given column, the sequence its value came from.
// (Named by position: a name of PostgreSQL's is at most 63 bytes.)
inline std::string FromColumn(size_t column, size_t i) {
  return "__inlet_from_" + std::to_string(column) + "_" + std::to_string(i);
}

inline bool Contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// The pieces of SQL one merge's statements share.
struct MergeSql {
  const Destination& dest;
  Commit& commit;
  const MergeOptions& options;
  std::vector<std::string> columns;  // the table's columns among the staged ones
  std::string live;                  // "w is not a delete"
  std::string keys_sql;              // the staged keys, as the table's types

  // The table's columns, quoted; and the staged rows' values of `alias` for them.
  std::string Names() const {
    std::string out;
    for (const auto& c : columns)
      out += (out.empty() ? "" : ", ") + pgtext::QuoteIdent(c);
    return out;
  }
  std::string Values(const std::string& alias) const {
    std::string out;
    for (const auto& c : columns)
      out += (out.empty() ? "" : ", ") + commit.Cast(alias, c);
    return out;
  }
  // Keys compared as the table holds them, as the winners were chosen.
  std::string SameKey(const std::string& a, const std::string& b) const {
    std::string out;
    for (const auto& k : options.keys)
      out += " AND " + commit.Cast(a, k) + " = " + commit.Cast(b, k);
    return out;
  }
  // The position of a partially given column among them (its FromColumn names).
  size_t PartialIndex(const std::map<std::string, std::string>& partial,
                      const std::string& column) const {
    return static_cast<size_t>(std::distance(partial.begin(), partial.find(column)));
  }
  // ROW(alias.s...) is older than ROW(newer...) (never null): a change applies only
  // over such a row. Column by column, a null is older than any value (as the lakehouse
  // tables order sequences, table/row_keys.h): each column is preceded by whether it is
  // set. Text compares by its bytes, as there (Commit::Collated).
  std::string Older(const std::vector<std::string>& newer, const std::string& alias = "t",
                    const char* op = "<") const {
    std::string t, n;
    for (size_t i = 0; i < options.sequence_by.size(); ++i) {
      std::string c = alias + "." + pgtext::QuoteIdent(options.sequence_by[i]);
      t += (i ? ", " : "") + c + " IS NOT NULL, " +
           commit.Collated(c, options.sequence_by[i]);
      n += (i ? ", " : "") + std::string("TRUE, ") + newer[i];
    }
    return "(ROW(" + t + ") " + op + " ROW(" + n + "))";
  }
  // The winner's sequence; or (column: a partially given column's position) the
  // sequence its value came from. Collated: for comparisons only.
  std::vector<std::string> WinnerSequence(std::optional<size_t> column = {}) const {
    std::vector<std::string> out;
    for (size_t i = 0; i < options.sequence_by.size(); ++i)
      out.push_back(
          commit.Collated(!column ? commit.Cast("w", options.sequence_by[i])
                                  : "w." + pgtext::QuoteIdent(FromColumn(*column, i)),
                          options.sequence_by[i]));
    return out;
  }
  // SET of an update from w (the winners), for the columns a match takes.
  std::string Set(const std::map<std::string, std::string>& partial,
                  bool excluded) const {
    std::string set;
    for (const auto& c : columns) {
      if (Contains(options.keys, c)) continue;
      if (!options.update_columns.empty() && !Contains(options.update_columns, c))
        continue;
      std::string value =
          excluded ? "EXCLUDED." + pgtext::QuoteIdent(c) : commit.Cast("w", c);
      if (options.ignore_null_updates)
        value = "COALESCE(" + value + ", t." + pgtext::QuoteIdent(c) + ")";
      if (auto p = partial.find(c); p != partial.end()) {
        std::string given = "w." + pgtext::QuoteIdent(p->second);
        if (!options.sequence_by.empty())
          given += " AND " + Older(WinnerSequence(PartialIndex(partial, c)));
        value = "CASE WHEN " + given + " THEN " + value + " ELSE t." +
                pgtext::QuoteIdent(c) + " END";
      }
      set += (set.empty() ? "" : ", ") + pgtext::QuoteIdent(c) + " = " + value;
    }
    return set;
  }
};

// An upsert some of whose rows lack columns (`partial`: column -> its given flag), once
// the deletes are applied. Each key's winning row first takes, for a column it lacks, the
// value of the key's latest earlier row that gave it (not across a delete of the key);
// then matched rows are updated, keeping the table's value where the winner still lacks
// one (or, with sequence_by, where the value is older than the table's row), and new keys
// inserted (null where not given). Two statements, not INSERT ... ON CONFLICT, whose
// EXCLUDED row cannot say what was given.

}  // namespace inlet::pg
