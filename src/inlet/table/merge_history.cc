// table::MergeHistory: change data kept as history (slowly changing dimension type 2).
//
// Every key the source touches has its history rebuilt from all of its changes: the
// table's versions of the key (each stands for the change at its valid_from and, when the
// version was updated in place, the change at its own sequence), the key's remembered
// deletes, and the source's events. Sorted by sequence, consecutive upserts with equal
// tracked values form one version (valid from the first, holding the last one's values)
// that ends at the next change; a delete ends it with no successor. Because the result
// depends only on the set of changes, a late change lands where its sequence puts it,
// whatever the arrival order. Versions that come out unchanged stay where they are; the
// files holding the others are rewritten (copy-on-write), and the new versions are
// appended.
#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <arrow/table.h>

#include <algorithm>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <unordered_map>

#include "inlet/table/merge.h"
#include "inlet/table/merge_files.h"
#include "inlet/table/merge_source.h"
#include "inlet/table/row_hash.h"
#include "inlet/table/row_keys.h"
#include "inlet/table/tombstones.h"

namespace inlet::table {

namespace {

bool Contains(const std::vector<std::string>& names, const std::string& name) {
  return std::find(names.begin(), names.end(), name) != names.end();
}

// The type of valid_from and valid_to: the sequence column's, or a struct of them.
arrow::Result<std::shared_ptr<arrow::DataType>> RangeType(
    const arrow::Schema& schema, const std::vector<std::string>& sequence_by) {
  arrow::FieldVector fields;
  for (const auto& name : sequence_by) {
    auto f = schema.GetFieldByName(name);
    if (!f)
      return arrow::Status::Invalid("the sequence column '", name,
                                    "' is not in the source");
    fields.push_back(arrow::field(name, f->type()));
  }
  if (fields.size() == 1) return fields[0]->type();
  return arrow::struct_(fields);
}

// The sequence columns of a table, as a table of just them (schema: sequence_schema).
arrow::Result<std::shared_ptr<arrow::Table>> SequenceColumns(
    const arrow::Table& rows, const std::shared_ptr<arrow::Schema>& sequence_schema) {
  arrow::ChunkedArrayVector columns;
  for (const auto& f : sequence_schema->fields())
    columns.push_back(rows.GetColumnByName(f->name()));
  return arrow::Table::Make(sequence_schema, columns, rows.num_rows());
}

// A valid_from or valid_to column split into the sequence columns (schema:
// sequence_schema).
arrow::Result<std::shared_ptr<arrow::Table>> SplitRange(
    const std::shared_ptr<arrow::ChunkedArray>& range,
    const std::shared_ptr<arrow::Schema>& sequence_schema) {
  if (sequence_schema->num_fields() == 1)
    return arrow::Table::Make(sequence_schema, {range}, range->length());
  std::vector<arrow::ArrayVector> parts(sequence_schema->num_fields());
  for (const auto& chunk : range->chunks()) {
    const auto& s = static_cast<const arrow::StructArray&>(*chunk);
    for (int f = 0; f < sequence_schema->num_fields(); ++f) {
      ARROW_ASSIGN_OR_RAISE(auto field, s.GetFlattenedField(f));
      parts[f].push_back(field);
    }
  }
  arrow::ChunkedArrayVector columns;
  for (int f = 0; f < sequence_schema->num_fields(); ++f) {
    columns.push_back(std::make_shared<arrow::ChunkedArray>(
        parts[f], sequence_schema->field(f)->type()));
  }
  return arrow::Table::Make(sequence_schema, columns, range->length());
}

// The sequence columns joined into one valid_from/valid_to array (one chunk).
arrow::Result<std::shared_ptr<arrow::Array>> JoinRange(
    const std::shared_ptr<arrow::Table>& sequences) {
  ARROW_ASSIGN_OR_RAISE(auto combined, sequences->CombineChunks());
  arrow::ArrayVector arrays;
  for (const auto& c : combined->columns()) {
    if (c->num_chunks() == 0) {
      ARROW_ASSIGN_OR_RAISE(auto empty, arrow::MakeEmptyArray(c->type()));
      arrays.push_back(empty);
    } else {
      arrays.push_back(c->chunk(0));
    }
  }
  if (arrays.size() == 1) return arrays[0];
  ARROW_ASSIGN_OR_RAISE(auto s,
                        arrow::StructArray::Make(arrays, sequences->schema()->fields()));
  return s;
}

enum class Kind : uint8_t { kUpsert, kDelete };

// One change of a key.
struct Event {
  int64_t key = 0;
  std::string sequence;  // OrderedKeys bytes
  Kind kind = Kind::kUpsert;
  int64_t row = -1;          // upserts: the row holding its values (Timeline::rows)
  int64_t sequence_row = 0;  // the row holding its sequence values (Timeline::sequences)
  int64_t version = -1;  // a table version's events: the version (Timeline::history row)
  bool starts_version = false;  // the event at that version's valid_from
  bool ends_version = false;    // the event whose values the version holds
  int64_t source_row = -1;  // source events: their row in the source (ties: later wins)
};

// A version of the rebuilt history: valid from `first`, holding `last`'s values, until
// `next` (none: current).
struct Version {
  const Event* first;
  const Event* last;
  const Event* next;
};

// The columns (of the table: not keys, sequences or history columns) that some source
// change lacks: column -> per source row, whether it was given. A column the source does
// not have at all is given by no row.
std::map<std::string, std::vector<bool>> NotGiven(const arrow::Schema& table,
                                                  const arrow::Schema& source,
                                                  const MergeOptions& o,
                                                  const MergeSource& src) {
  const HistoryOptions& h = o.history;
  std::map<std::string, std::vector<bool>> out;
  for (const auto& f : table.fields()) {
    const std::string& n = f->name();
    if (Contains(o.keys, n) || Contains(o.sequence_by, n) || n == h.valid_from ||
        n == h.valid_to || n == h.is_current)
      continue;
    if (auto flags = src.given.find(n); flags != src.given.end()) {
      out[n] = flags->second;
    } else if (MatchingName(source, n).empty()) {
      out[n] = std::vector<bool>(src.rows->num_rows(), false);
    }
  }
  return out;
}

// rows with each source upsert's columns it was not given taken from the key's previous
// upsert (by sequence; none after a delete, or before the first: its own null).
arrow::Result<std::shared_ptr<arrow::Table>> FillNotGiven(
    std::shared_ptr<arrow::Table> rows, const std::vector<Event>& events,
    const std::map<std::string, std::vector<bool>>& not_given) {
  for (const auto& [column, given] : not_given) {
    std::vector<int64_t> from(rows->num_rows());
    for (int64_t i = 0; i < rows->num_rows(); ++i) from[i] = i;
    bool filled = false;
    int64_t previous = -1;  // the key's previous upsert's row
    for (size_t k = 0; k < events.size(); ++k) {
      const Event& e = events[k];
      bool same_key = k > 0 && events[k - 1].key == e.key;
      if (!same_key) previous = -1;
      // Of the events at one sequence the rebuild keeps the first (the table's, else the
      // latest source row); the others are replays or duplicates and fill nothing.
      if (same_key && events[k - 1].sequence == e.sequence) continue;
      if (e.kind == Kind::kDelete) {
        previous = -1;
        continue;
      }
      if (e.source_row >= 0 && !given[e.source_row]) {
        // A duplicate at the same sequence that gave the column comes first (as an
        // upsert's batch folds), then the key's previous version.
        int64_t source = previous >= 0 ? from[previous] : -1;
        for (size_t j = k + 1; j < events.size() && events[j].key == e.key &&
                               events[j].sequence == e.sequence;
             ++j) {
          const Event& d = events[j];
          if (d.kind == Kind::kUpsert && d.source_row >= 0 && given[d.source_row]) {
            source = d.row;
            break;
          }
        }
        if (source >= 0) {
          from[e.row] = source;
          filled = true;
        }
      }
      previous = e.row;
    }
    if (!filled) continue;
    arrow::Int64Builder take;
    ARROW_RETURN_NOT_OK(take.AppendValues(from));
    ARROW_ASSIGN_OR_RAISE(auto indices, take.Finish());
    int idx = rows->schema()->GetFieldIndex(column);
    ARROW_ASSIGN_OR_RAISE(arrow::Datum values,
                          arrow::compute::Take(rows->column(idx), indices));
    ARROW_ASSIGN_OR_RAISE(rows,
                          rows->SetColumn(idx, rows->field(idx), values.chunked_array()));
  }
  return rows;
}

// Per row of sequences (the first `table_rows` of them: the rows holding values, the
// table's versions, their first changes and the source's upserts), whether its marker
// column is 0: a row copied from a snapshot.
arrow::Result<std::vector<bool>> SnapshotCopies(const arrow::Table& sequences,
                                                const std::string& marker,
                                                int64_t table_rows) {
  auto column = sequences.GetColumnByName(marker);
  if (!column)
    return arrow::Status::Invalid("the snapshot marker '", marker,
                                  "' is not a sequence column");
  ARROW_ASSIGN_OR_RAISE(arrow::Datum as_int,
                        arrow::compute::Cast(column, arrow::int64()));
  std::vector<bool> out(table_rows, false);
  int64_t i = 0;
  for (const auto& chunk : as_int.chunked_array()->chunks()) {
    const auto& a = static_cast<const arrow::Int64Array&>(*chunk);
    for (int64_t j = 0; j < a.length() && i < table_rows; ++j, ++i)
      out[i] = a.IsValid(j) && a.Value(j) == 0;
    if (i >= table_rows) break;
  }
  return out;
}

// Removes from events (sorted by key and sequence) the source's changes ordered before
// their key's latest row copied from a snapshot, a version of the table or an upsert of
// the source alike, so that the result does not depend on the batches (copied: per row
// holding values); returns how many.
int64_t DropBeforeCopies(std::vector<Event>* events, const std::vector<bool>& copied) {
  int64_t dropped = 0;
  std::vector<Event> kept;
  kept.reserve(events->size());
  for (size_t i = 0; i < events->size();) {
    size_t end = i;
    std::optional<std::string> floor;
    for (; end < events->size() && (*events)[end].key == (*events)[i].key; ++end) {
      const Event& e = (*events)[end];
      bool starts = e.version >= 0 ? e.starts_version
                                   : e.source_row >= 0 && e.kind == Kind::kUpsert;
      if (starts && copied[e.sequence_row]) floor = e.sequence;
    }
    for (size_t k = i; k < end; ++k) {
      Event& e = (*events)[k];
      if (floor && e.source_row >= 0 && e.sequence < *floor) {
        ++dropped;
        continue;
      }
      kept.push_back(std::move(e));
    }
    i = end;
  }
  *events = std::move(kept);
  return dropped;
}

}  // namespace

arrow::Result<MergeResult> MergeHistory(const Writable& table,
                                        std::shared_ptr<arrow::Table> source,
                                        const MergeOptions& o) {
  const HistoryOptions& h = o.history;
  const std::string& where = table.location();
  if (o.sequence_by.empty())
    return arrow::Status::Invalid("merge into ", where, ": history needs sequence_by");
  if (o.mode != MergeMode::kUpsert || !o.order_by.empty() || o.ignore_null_updates ||
      !o.update_columns.empty()) {
    return arrow::Status::Invalid(
        "merge into ", where,
        ": history takes upserts and deletes only (no merge mode, order_by, "
        "ignore_null_updates or update_columns)");
  }
  std::vector<std::string> history_columns = {h.valid_from, h.valid_to, h.is_current};
  for (size_t i = 0; i < history_columns.size(); ++i) {
    const auto& name = history_columns[i];
    if (name.empty())
      return arrow::Status::Invalid("merge into ", where,
                                    ": a history column name is empty");
    if (std::find(history_columns.begin() + i + 1, history_columns.end(), name) !=
        history_columns.end()) {
      return arrow::Status::Invalid("merge into ", where, ": history column '", name,
                                    "' is named twice");
    }
    if (source->schema()->GetFieldIndex(name) >= 0) {
      return arrow::Status::Invalid("merge into ", where, ": the source has a column '",
                                    name,
                                    "', which the history keeps itself (rename it, or "
                                    "name the history columns otherwise)");
    }
  }
  for (const auto& name : h.track_columns) {
    if (Contains(o.keys, name) || Contains(o.sequence_by, name)) {
      return arrow::Status::Invalid("merge into ", where, ": tracked column '", name,
                                    "' is a key or sequence column");
    }
    if (source->schema()->GetFieldIndex(name) < 0) {
      return arrow::Status::Invalid("merge into ", where, ": tracked column '", name,
                                    "' is not in the source");
    }
  }

  // The table: the source's columns and the history columns.
  ARROW_ASSIGN_OR_RAISE(auto source_columns, WithoutFlags(*source->schema(), o));
  arrow::FieldVector input_fields = source_columns->fields();
  ARROW_ASSIGN_OR_RAISE(auto range_type, RangeType(*source->schema(), o.sequence_by));
  input_fields.push_back(arrow::field(h.valid_from, range_type));
  input_fields.push_back(arrow::field(h.valid_to, range_type));
  input_fields.push_back(arrow::field(h.is_current, arrow::boolean()));
  WriteOptions write = o.write;
  write.app_states[kTombstoneApp].document = "{}";
  auto begun = table.Begin(arrow::Schema(input_fields), write, true);
  if (!begun.ok()) {
    // The usual cause: a table without the history columns.
    auto snapshot = table.GetSnapshot({});
    if (snapshot.ok() && (*snapshot)->schema()->GetFieldIndex(h.valid_from) < 0) {
      return arrow::Status::Invalid(
          "merge into ", where, ": the table has no history column '", h.valid_from,
          "'; a history table is created by its first history merge");
    }
    return begun.status();
  }
  auto tx = std::move(*begun);
  const auto& schema = tx->schema();
  arrow::FieldVector sequence_fields;
  for (const auto& name : o.sequence_by)
    sequence_fields.push_back(schema->GetFieldByName(name));
  auto sequence_schema = arrow::schema(sequence_fields);
  ARROW_ASSIGN_OR_RAISE(range_type, RangeType(*schema, o.sequence_by));
  for (const auto& name : {h.valid_from, h.valid_to}) {
    auto f = schema->GetFieldByName(name);
    if (!f->type()->Equals(*range_type)) {
      return arrow::Status::Invalid(
          "merge into ", where, ": history column '", name, "' has type ",
          f->type()->ToString(), ", but the sequence (", JoinNames(o.sequence_by, ", "),
          ") needs ", range_type->ToString());
    }
  }
  if (!schema->GetFieldByName(h.is_current)->type()->Equals(*arrow::boolean())) {
    return arrow::Status::Invalid("merge into ", where, ": history column '",
                                  h.is_current, "' is not boolean");
  }
  std::vector<std::string> tracked = h.track_columns;
  if (tracked.empty()) {
    for (const auto& f : schema->fields()) {
      const auto& n = f->name();
      if (!Contains(o.keys, n) && !Contains(o.sequence_by, n) &&
          !Contains(history_columns, n))
        tracked.push_back(n);
    }
  }

  // The source: every event (no de-duplication), keys and sequences checked.
  MergeOptions all_events = o;
  all_events.mode = MergeMode::kDeleteInsert;
  KeyEncoder encoder(o.keys);
  ARROW_ASSIGN_OR_RAISE(MergeSource src,
                        PrepareSource(source, all_events, *tx, &encoder));
  if (src.truncate_at) {
    return arrow::Status::Invalid(
        "merge into ", where,
        ": truncate events cannot be applied to a history (SCD type 2)");
  }
  ARROW_ASSIGN_OR_RAISE(auto tombstones, Tombstones::Load(tx->store(), tx->base().get(),
                                                          *schema, o.keys, o.sequence_by,
                                                          /*every_delete=*/true));
  ARROW_ASSIGN_OR_RAISE(auto remembered, tombstones.FindAll(&encoder, src.by_key));

  // Pass 1: the table's versions of the touched keys, and where they are.
  MergeResult result;
  Candidates candidates;
  std::vector<std::shared_ptr<arrow::Table>> history_parts;
  std::vector<std::pair<size_t, int64_t>>
      places;  // (candidate file, row in it) per version
  if (tx->base()) {
    ARROW_ASSIGN_OR_RAISE(candidates, CandidateFiles(*tx, *src.rows, o.keys, false));
    FileReadAhead reads(*tx, candidates.files);
    for (size_t f = 0; f < candidates.files.size(); ++f) {
      ++result.files_scanned;
      ARROW_ASSIGN_OR_RAISE(auto rows, reads.Next());
      ARROW_ASSIGN_OR_RAISE(auto keys, encoder.Encode(*rows));
      std::vector<int64_t> matches = src.by_key.FindAll(keys);
      std::vector<int64_t> matched;
      for (size_t i = 0; i < keys.size(); ++i) {
        if (matches[i] >= 0) matched.push_back(static_cast<int64_t>(i));
      }
      if (matched.empty()) continue;
      ARROW_ASSIGN_OR_RAISE(auto taken, TakeRows(rows, matched));
      history_parts.push_back(taken);
      for (int64_t i : matched) places.emplace_back(f, i);
    }
  }
  std::shared_ptr<arrow::Table> history;
  if (history_parts.empty()) {
    ARROW_ASSIGN_OR_RAISE(history, arrow::Table::MakeEmpty(schema));
  } else {
    ARROW_ASSIGN_OR_RAISE(history, arrow::ConcatenateTables(history_parts));
  }
  const int64_t n_history = history->num_rows();

  // The rows holding values: the versions as they are, the versions as their first change
  // (sequence columns set to valid_from; only for versions updated in place since), and
  // the source's upserts. The sequences: those rows', then the deletes' (remembered,
  // source).
  ARROW_ASSIGN_OR_RAISE(
      auto from_split,
      SplitRange(history->GetColumnByName(h.valid_from), sequence_schema));
  ARROW_ASSIGN_OR_RAISE(
      auto to_split, SplitRange(history->GetColumnByName(h.valid_to), sequence_schema));
  ARROW_ASSIGN_OR_RAISE(auto from_seq, OrderedKeys(*from_split, o.sequence_by));
  ARROW_ASSIGN_OR_RAISE(auto to_seq, OrderedKeys(*to_split, o.sequence_by));
  ARROW_ASSIGN_OR_RAISE(auto last_seq, OrderedKeys(*history, o.sequence_by));
  ARROW_ASSIGN_OR_RAISE(auto history_keys, encoder.Encode(*history));
  std::vector<bool> to_null(n_history), stored_current(n_history);
  {
    auto to = history->GetColumnByName(h.valid_to);
    ARROW_ASSIGN_OR_RAISE(
        auto current,
        arrow::compute::Cast(history->GetColumnByName(h.is_current), arrow::boolean()));
    int64_t i = 0;
    for (const auto& chunk : to->chunks()) {
      for (int64_t j = 0; j < chunk->length(); ++j, ++i) to_null[i] = chunk->IsNull(j);
    }
    i = 0;
    for (const auto& chunk : current.chunked_array()->chunks()) {
      const auto& b = static_cast<const arrow::BooleanArray&>(*chunk);
      for (int64_t j = 0; j < b.length(); ++j, ++i)
        stored_current[i] = b.IsValid(j) && b.Value(j);
    }
  }
  std::vector<int64_t>
      split;  // versions updated in place: their first change is a row too
  for (int64_t v = 0; v < n_history; ++v) {
    if (from_seq[v] != last_seq[v]) split.push_back(v);
  }
  ARROW_ASSIGN_OR_RAISE(auto firsts, TakeRows(history, split));
  {
    ARROW_ASSIGN_OR_RAISE(auto split_from, TakeRows(from_split, split));
    for (int c = 0; c < split_from->num_columns(); ++c) {
      int idx = schema->GetFieldIndex(split_from->field(c)->name());
      ARROW_ASSIGN_OR_RAISE(
          firsts, firsts->SetColumn(idx, schema->field(idx), split_from->column(c)));
    }
  }
  std::vector<int64_t> upsert_rows, delete_rows;
  for (int64_t i = 0; i < src.rows->num_rows(); ++i)
    (src.deleted[i] ? delete_rows : upsert_rows).push_back(i);
  ARROW_ASSIGN_OR_RAISE(auto upserts, TakeRows(src.rows, upsert_rows));
  ARROW_ASSIGN_OR_RAISE(auto source_deletes, TakeRows(src.rows, delete_rows));
  ARROW_ASSIGN_OR_RAISE(auto rows, arrow::ConcatenateTables({history, firsts, upserts}));
  ARROW_ASSIGN_OR_RAISE(auto remembered_seq,
                        SequenceColumns(*remembered, sequence_schema));
  ARROW_ASSIGN_OR_RAISE(auto deletes_seq,
                        SequenceColumns(*source_deletes, sequence_schema));
  ARROW_ASSIGN_OR_RAISE(auto rows_seq, SequenceColumns(*rows, sequence_schema));
  ARROW_ASSIGN_OR_RAISE(
      auto sequences, arrow::ConcatenateTables({rows_seq, remembered_seq, deletes_seq}));
  ARROW_ASSIGN_OR_RAISE(auto sequence_bytes, OrderedKeys(*sequences, o.sequence_by));
  ARROW_ASSIGN_OR_RAISE(auto remembered_keys, encoder.Encode(*remembered));

  // The events.
  std::vector<Event> events;
  events.reserve(sequences->num_rows() + 1);
  const int64_t n_firsts = firsts->num_rows(), n_upserts = upserts->num_rows();
  auto upsert = [&](int64_t row, int64_t key) {
    Event e;
    e.key = key;
    e.row = e.sequence_row = row;
    e.sequence = sequence_bytes[row];
    return e;
  };
  for (int64_t v = 0; v < n_history; ++v) {
    Event e = upsert(v, history_keys[v]);
    e.version = v;
    e.ends_version = true;
    e.starts_version = from_seq[v] == last_seq[v];
    events.push_back(std::move(e));
  }
  for (int64_t j = 0; j < n_firsts; ++j) {
    Event e = upsert(n_history + j, history_keys[split[j]]);
    e.version = split[j];
    e.starts_version = true;
    events.push_back(std::move(e));
  }
  for (int64_t j = 0; j < n_upserts; ++j) {
    Event e = upsert(n_history + n_firsts + j, src.keys[upsert_rows[j]]);
    e.source_row = upsert_rows[j];
    events.push_back(std::move(e));
  }
  int64_t base_row = rows->num_rows();
  for (int64_t j = 0; j < remembered->num_rows(); ++j) {
    Event e;
    e.key = remembered_keys[j];
    e.kind = Kind::kDelete;
    e.sequence_row = base_row + j;
    e.sequence = sequence_bytes[e.sequence_row];
    events.push_back(std::move(e));
  }
  base_row += remembered->num_rows();
  for (size_t j = 0; j < delete_rows.size(); ++j) {
    Event e;
    e.key = src.keys[delete_rows[j]];
    e.kind = Kind::kDelete;
    e.sequence_row = base_row + static_cast<int64_t>(j);
    e.sequence = sequence_bytes[e.sequence_row];
    e.source_row = delete_rows[j];
    events.push_back(std::move(e));
  }
  // By key and sequence; at one sequence the table's event first, then the later source
  // row.
  auto rank = [](const Event& e) {
    return e.source_row < 0 ? std::make_pair(0, e.sequence_row)
                            : std::make_pair(1, -e.source_row);
  };
  std::sort(events.begin(), events.end(), [&](const Event& a, const Event& b) {
    if (a.key != b.key) return a.key < b.key;
    if (a.sequence != b.sequence) return a.sequence < b.sequence;
    return rank(a) < rank(b);
  });

  // A version copied from a snapshot shows every change of its key ordered before it:
  // the source's such changes are late.
  if (!h.snapshot_marker.empty()) {
    auto copied = SnapshotCopies(*sequences, h.snapshot_marker, rows->num_rows());
    if (!copied.ok())
      return copied.status().WithMessage("merge into ", where, ": ",
                                         copied.status().message());
    result.late_discarded += DropBeforeCopies(&events, *copied);
  }

  // A source change lacking columns holds the key's previous version's values for them.
  ARROW_ASSIGN_OR_RAISE(
      rows, FillNotGiven(rows, events, NotGiven(*schema, *source_columns, o, src)));
  ARROW_ASSIGN_OR_RAISE(auto tracked_values, HashRows(*rows, tracked));

  // Rebuild each key's versions.
  std::vector<Version> versions;
  std::vector<const Event*> applied_deletes;
  int64_t closed_by_delete = 0;
  for (size_t i = 0; i < events.size();) {
    size_t end = i;
    while (end < events.size() && events[end].key == events[i].key) ++end;
    std::optional<Version> open;
    const Event* previous = nullptr;
    for (size_t k = i; k < end; ++k) {
      const Event& e = events[k];
      if (previous && previous->sequence == e.sequence) {
        // The same change again: a replay of one the table has, or a duplicate in the
        // source.
        if (e.source_row >= 0)
          (previous->source_row >= 0 ? result.source_duplicates
                                     : result.late_discarded)++;
        continue;
      }
      previous = &e;
      if (e.kind == Kind::kDelete) {
        if (e.source_row >= 0) applied_deletes.push_back(&e);
        if (open) {
          versions.push_back(Version{open->first, open->last, &e});
          open.reset();
          if (e.source_row >= 0) ++closed_by_delete;
        }
        continue;
      }
      if (open && tracked_values[open->last->row] == tracked_values[e.row]) {
        open->last =
            &e;  // only untracked columns change: the version is updated in place
        continue;
      }
      if (open) versions.push_back(Version{open->first, open->last, &e});
      open = Version{&e, &e, nullptr};
    }
    if (open) versions.push_back(*open);
    i = end;
  }
  // A version of the table stays when it comes out unchanged.
  std::vector<bool> kept(n_history, false);
  std::vector<const Version*> written;
  for (const auto& v : versions) {
    int64_t t = v.last->version;
    bool same = t >= 0 && v.last->ends_version && v.first->version == t &&
                v.first->starts_version &&
                (v.next ? !to_null[t] && v.next->sequence == to_seq[t] : to_null[t]) &&
                stored_current[t] == !v.next;
    if (same) {
      kept[t] = true;
    } else {
      written.push_back(&v);
    }
  }

  // The new versions: the last change's values, valid from the first change to the next.
  std::vector<int64_t> take, from_rows, to_rows;
  arrow::BooleanBuilder current;
  ARROW_RETURN_NOT_OK(current.Reserve(static_cast<int64_t>(written.size())));
  arrow::Int64Builder to_index;
  for (const Version* v : written) {
    take.push_back(v->last->row);
    from_rows.push_back(v->first->sequence_row);
    ARROW_RETURN_NOT_OK(v->next ? to_index.Append(v->next->sequence_row)
                                : to_index.AppendNull());
    current.UnsafeAppend(v->next == nullptr);
  }
  ARROW_ASSIGN_OR_RAISE(auto out, TakeRows(rows, take));
  {
    ARROW_ASSIGN_OR_RAISE(auto range, JoinRange(sequences));
    arrow::Int64Builder from_index;
    ARROW_RETURN_NOT_OK(from_index.AppendValues(from_rows));
    ARROW_ASSIGN_OR_RAISE(auto from_idx, from_index.Finish());
    ARROW_ASSIGN_OR_RAISE(auto to_idx, to_index.Finish());
    ARROW_ASSIGN_OR_RAISE(auto from, arrow::compute::Take(*range, *from_idx));
    ARROW_ASSIGN_OR_RAISE(auto to, arrow::compute::Take(*range, *to_idx));
    ARROW_ASSIGN_OR_RAISE(auto is_current, current.Finish());
    std::vector<std::pair<std::string, std::shared_ptr<arrow::Array>>> set = {
        {h.valid_from, from}, {h.valid_to, to}, {h.is_current, is_current}};
    for (const auto& [name, array] : set) {
      int idx = schema->GetFieldIndex(name);
      ARROW_ASSIGN_OR_RAISE(out,
                            out->SetColumn(idx, schema->field(idx),
                                           std::make_shared<arrow::ChunkedArray>(array)));
    }
  }

  std::map<size_t, std::vector<int64_t>> replaced;  // candidate file -> rows replaced
  std::vector<int64_t> replaced_versions;
  for (int64_t v = 0; v < n_history; ++v) {
    if (kept[v]) continue;
    replaced[places[v].first].push_back(places[v].second);
    replaced_versions.push_back(v);
  }
  result.rows_updated = static_cast<int64_t>(replaced_versions.size());
  result.rows_inserted = out->num_rows() - result.rows_updated;
  result.rows_deleted = closed_by_delete;
  result.files_rewritten = static_cast<int64_t>(replaced.size());
  result.changed = out->num_rows() > 0 || !replaced.empty();
  if (o.dry_run) return result;

  // Pass 2: rewrite the files holding versions that changed; then add the new versions.
  // With a change data feed every change of this commit also goes to cdc files.
  ARROW_ASSIGN_OR_RAISE(auto writers, OpenWriters(*tx));
  DataWriter* writer = writers.data.get();
  DataWriter* cdc = writers.changes.get();
  std::vector<const DataFile*> rewritten;
  for (const auto& [f, gone] : replaced) rewritten.push_back(candidates.files[f]);
  FileReadAhead rewrites(*tx, rewritten, {}, /*with_lineage=*/true);
  for (auto& [f, gone] : replaced) {
    const DataFile& file = *candidates.files[f];
    ARROW_ASSIGN_OR_RAISE(auto file_rows, rewrites.Next());
    std::sort(gone.begin(), gone.end());
    std::vector<int64_t> keep;
    for (int64_t i = 0, g = 0; i < file_rows->num_rows(); ++i) {
      if (g < static_cast<int64_t>(gone.size()) && gone[g] == i) {
        ++g;
      } else {
        keep.push_back(i);
      }
    }
    ARROW_RETURN_NOT_OK(WriteRows(writer, file_rows, keep));
    ARROW_RETURN_NOT_OK(writer->Flush());
    result.commit.rows_written += static_cast<int64_t>(keep.size());
    tx->Remove(file);
  }
  ARROW_RETURN_NOT_OK(WriteTable(writer, out));
  result.commit.rows_written += out->num_rows();
  if (cdc) {
    // A replaced version and the new version from its valid_from are an update's images.
    ARROW_ASSIGN_OR_RAISE(auto before, TakeRows(history, replaced_versions));
    ARROW_RETURN_NOT_OK(WriteChanges(cdc, before, "update_preimage"));
    std::map<std::pair<int64_t, std::string>, bool> replaced_starts;
    for (int64_t v : replaced_versions)
      replaced_starts[{history_keys[v], from_seq[v]}] = true;
    std::vector<int64_t> post, inserted;
    for (size_t j = 0; j < written.size(); ++j) {
      const Event* first = written[j]->first;
      bool update = replaced_starts.count({first->key, first->sequence}) > 0;
      (update ? post : inserted).push_back(static_cast<int64_t>(j));
    }
    ARROW_ASSIGN_OR_RAISE(auto post_rows, TakeRows(out, post));
    ARROW_ASSIGN_OR_RAISE(auto inserted_rows, TakeRows(out, inserted));
    ARROW_RETURN_NOT_OK(WriteChanges(cdc, post_rows, "update_postimage"));
    ARROW_RETURN_NOT_OK(WriteChanges(cdc, inserted_rows, "insert"));
  }

  // Every applied delete of the source is remembered.
  std::vector<int64_t> remember;
  for (const Event* e : applied_deletes) remember.push_back(e->source_row);
  std::sort(remember.begin(), remember.end());
  ARROW_ASSIGN_OR_RAISE(auto remembered_now, TakeRows(src.rows, remember));
  ARROW_RETURN_NOT_OK(tombstones.Add(remembered_now));
  ARROW_ASSIGN_OR_RAISE(auto config, tombstones.Finish());
  tx->SetAppDocument(kTombstoneApp, config);

  ARROW_ASSIGN_OR_RAISE(result.commit,
                        CommitMerge(tx.get(), std::move(writers), std::move(candidates),
                                    o.keys, "history", result.commit));
  return result;
}

}  // namespace inlet::table
