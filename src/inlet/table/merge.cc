// table::Merge: upsert / insert-only / delete-insert / snapshot diff by key, and
// sequence- guarded changes. Only the files that can hold a source key are read
// (partition values, key statistics), a batch at a time. A file holding one is rewritten
// (copy-on-write) or, when the table marks deleted rows, keeps its data and gets its
// changed rows marked deleted (merge-on-read).
#include "inlet/table/merge.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <arrow/table.h>

#include <algorithm>
#include <cctype>
#include <set>
#include <unordered_map>

#include "inlet/table/extract_spill.h"
#include "inlet/table/merge_files.h"
#include "inlet/table/merge_source.h"
#include "inlet/table/row_hash.h"
#include "inlet/table/row_keys.h"
#include "inlet/table/snapshot_compare.h"
#include "inlet/table/tombstones.h"
#include "inlet/table/value.h"

namespace inlet::table {

namespace {

// The sequences (OrderedKeys bytes) of a file's rows: of every row when all is set (a
// truncate), else of the rows with a source row (matches[i] >= 0; empty strings
// elsewhere).
arrow::Result<std::vector<std::string>> RowSequences(
    const std::shared_ptr<arrow::Table>& rows, const std::vector<int64_t>& matches,
    const std::vector<std::string>& sequence_by, bool all) {
  if (sequence_by.empty()) return std::vector<std::string>();
  if (all) return OrderedKeys(*rows, sequence_by);
  std::vector<int64_t> matched;
  for (size_t i = 0; i < matches.size(); ++i) {
    if (matches[i] >= 0) matched.push_back(static_cast<int64_t>(i));
  }
  std::vector<std::string> out(matches.size());
  if (matched.empty()) return out;
  // Only the sequence columns of the matched rows are copied (OrderedKeys names one that
  // is missing).
  std::vector<int> columns;
  for (const auto& c : sequence_by) {
    if (int i = rows->schema()->GetFieldIndex(c); i >= 0) columns.push_back(i);
  }
  ARROW_ASSIGN_OR_RAISE(auto sequence_columns, rows->SelectColumns(columns));
  ARROW_ASSIGN_OR_RAISE(auto taken, TakeRows(sequence_columns, matched));
  ARROW_ASSIGN_OR_RAISE(auto seqs, OrderedKeys(*taken, sequence_by));
  for (size_t j = 0; j < matched.size(); ++j) out[matched[j]] = std::move(seqs[j]);
  return out;
}

// Matched target rows updated with their source rows, column by column.
arrow::Result<std::shared_ptr<arrow::Table>> UpdatedRows(
    const std::shared_ptr<arrow::Table>& target, const std::vector<int64_t>& target_rows,
    const std::shared_ptr<arrow::Table>& source, const std::vector<int64_t>& source_rows,
    const MergeSource& src, const MergeOptions& o) {
  const auto& given = src.given;
  ARROW_ASSIGN_OR_RAISE(auto t, TakeRows(target, target_rows));
  ARROW_ASSIGN_OR_RAISE(auto s, TakeRows(source, source_rows));
  // A folded value applies only when the row it came from is newer than the table's.
  std::vector<std::string> target_sequences;
  if (!src.given_from.empty()) {
    ARROW_ASSIGN_OR_RAISE(target_sequences, OrderedKeys(*t, o.sequence_by));
  }
  arrow::ChunkedArrayVector columns;
  for (int c = 0; c < t->num_columns(); ++c) {
    const std::string& name = t->field(c)->name();
    bool is_key = std::find(o.keys.begin(), o.keys.end(), name) != o.keys.end();
    bool updated = !is_key && (o.update_columns.empty() ||
                               std::find(o.update_columns.begin(), o.update_columns.end(),
                                         name) != o.update_columns.end());
    auto flags = given.find(name);
    if (!updated) {
      columns.push_back(t->column(c));
    } else if (flags != given.end()) {
      // Given values replace the table's; where the source lacked the column, the table's
      // stays.
      arrow::BooleanBuilder mask;
      ARROW_RETURN_NOT_OK(mask.Reserve(static_cast<int64_t>(source_rows.size())));
      auto from = src.given_from.find(name);
      for (size_t j = 0; j < source_rows.size(); ++j) {
        int64_t r = source_rows[j];
        bool newer =
            from == src.given_from.end() || from->second[r] > target_sequences[j];
        mask.UnsafeAppend(flags->second[r] && newer);
      }
      ARROW_ASSIGN_OR_RAISE(auto mask_array, mask.Finish());
      auto m = std::make_shared<arrow::ChunkedArray>(mask_array);
      ARROW_ASSIGN_OR_RAISE(
          arrow::Datum d,
          arrow::compute::CallFunction("if_else", {m, s->column(c), t->column(c)}));
      if (o.ignore_null_updates) {
        ARROW_ASSIGN_OR_RAISE(
            d, arrow::compute::CallFunction("coalesce", {d, t->column(c)}));
      }
      columns.push_back(d.chunked_array());
    } else if (o.ignore_null_updates) {
      ARROW_ASSIGN_OR_RAISE(
          arrow::Datum d,
          arrow::compute::CallFunction("coalesce", {s->column(c), t->column(c)}));
      columns.push_back(d.chunked_array());
    } else {
      columns.push_back(s->column(c));
    }
  }
  return arrow::Table::Make(t->schema(), columns, t->num_rows());
}

// rows with column set to null where `where` is true.
arrow::Result<std::shared_ptr<arrow::Table>> NullWhere(
    const std::shared_ptr<arrow::Table>& rows, const std::string& column,
    const std::vector<bool>& where) {
  int idx = rows->schema()->GetFieldIndex(column);
  arrow::BooleanBuilder mask;
  ARROW_RETURN_NOT_OK(mask.AppendValues(where));
  ARROW_ASSIGN_OR_RAISE(auto m, mask.Finish());
  auto values = rows->column(idx);
  ARROW_ASSIGN_OR_RAISE(arrow::Datum d,
                        arrow::compute::CallFunction(
                            "if_else", {std::make_shared<arrow::ChunkedArray>(m),
                                        arrow::MakeNullScalar(values->type()), values}));
  return rows->SetColumn(idx, rows->field(idx), d.chunked_array());
}

// An upsert whose source lacks some of the table's columns is a partial update: a matched
// row keeps the table's values for them (a new key's row gets nulls). They leave the
// columns the upsert updates. Names match as the input is conformed: exactly, else
// ignoring case.
void KeepAbsentColumns(const arrow::Schema& input, const arrow::Schema& table,
                       MergeOptions* o) {
  auto present = [&](const std::string& name) {
    return !MatchingName(input, name).empty();
  };
  bool any_absent = false;
  for (const auto& f : table.fields()) any_absent = any_absent || !present(f->name());
  if (!any_absent) return;
  std::vector<std::string> updated;
  for (const auto& f : table.fields()) {
    bool asked = o->update_columns.empty() ||
                 std::find(o->update_columns.begin(), o->update_columns.end(),
                           f->name()) != o->update_columns.end();
    if (asked && present(f->name())) updated.push_back(f->name());
  }
  // A key column is never updated, so the keys alone stand for "no column": a source of
  // keys only changes nothing of a matched row.
  o->update_columns = updated.empty() ? o->keys : updated;
}

// What guards a change stream's events by sequence: the table's remembered deletes and
// truncate floor. Load marks the source's late rows (at or below the floor, or the key's
// last delete) and takes up a truncate of the source that is newer than the floor.
struct SequenceGuard {
  std::optional<Tombstones> tombstones;
  std::optional<std::string> truncate_at;  // a truncate this merge applies
  int64_t late = 0;                        // source rows marked late

  static arrow::Result<SequenceGuard> Load(const Transaction& tx, const MergeOptions& o,
                                           KeyEncoder* encoder, MergeSource* src) {
    SequenceGuard g;
    ARROW_ASSIGN_OR_RAISE(
        g.tombstones, Tombstones::Load(tx.store(), tx.base().get(), *tx.schema(), o.keys,
                                       o.sequence_by));
    if (src->truncate_at &&
        (!g.tombstones->floor() || *src->truncate_at > *g.tombstones->floor())) {
      g.truncate_at = src->truncate_at;
      g.tombstones->RaiseFloor(*g.truncate_at);
    }
    const auto& floor = g.tombstones->floor();
    ARROW_ASSIGN_OR_RAISE(auto deletes, g.tombstones->Find(encoder, src->by_key));
    for (size_t i = 0; i < src->keys.size(); ++i) {
      auto d = deletes.find(src->keys[i]);
      if ((floor && src->sequences[i] <= *floor) ||
          (d != deletes.end() && src->sequences[i] <= d->second)) {
        src->late[i] = true;
        ++g.late;
      }
    }
    // A value folded from a row at or before the key's remembered delete (or the floor)
    // is not the row's: a new row has null there, a row inserted since keeps its own.
    for (auto& [column, from] : src->given_from) {
      auto& given = src->given[column];
      std::vector<bool> clear(src->keys.size(), false);
      bool any = false;
      for (size_t i = 0; i < src->keys.size(); ++i) {
        if (src->late[i] || !given[i] || from[i].empty()) continue;
        auto d = deletes.find(src->keys[i]);
        if ((floor && from[i] <= *floor) ||
            (d != deletes.end() && from[i] <= d->second)) {
          given[i] = false;
          from[i].clear();
          clear[i] = any = true;
        }
      }
      if (!any) continue;
      ARROW_ASSIGN_OR_RAISE(src->rows, NullWhere(src->rows, column, clear));
    }
    return g;
  }
};

// Where the rows of a table batch go, as ascending positions in it.
struct RowFates {
  std::vector<int64_t> keep;  // unchanged
  std::vector<int64_t>
      target_rows;  // replaced, each by the source row at the same index of
  std::vector<int64_t> source_rows;  // source_rows
  std::vector<int64_t> deleted_rows;
  std::vector<int64_t>
      soft_rows;  // of keys that left a snapshot's extract: kept, marked soft-deleted
};

// Matches table rows against the merge's source, a batch at a time. Marks the source rows
// found (and, with sequences, those that turn out late; for a snapshot, those that
// differ) and counts truncated rows and late changes.
class RowMatcher {
 public:
  RowMatcher(const MergeOptions& o, KeyEncoder* encoder, MergeSource* src,
             SnapshotCompare* compare, const std::optional<std::string>& truncate_at,
             std::vector<bool>* found, std::vector<int32_t>* updated, int64_t* late,
             MergeResult* result)
      : options_(o),
        encoder_(*encoder),
        src_(*src),
        compare_(compare),
        truncate_at_(truncate_at),
        found_(*found),
        updated_(*updated),
        late_(*late),
        result_(*result) {}

  arrow::Result<RowFates> Match(const std::shared_ptr<arrow::Table>& rows) {
    const MergeOptions& o = options_;
    MergeSource& src = src_;
    bool snapshot = compare_ != nullptr;
    bool sequenced = !o.sequence_by.empty();
    ARROW_ASSIGN_OR_RAISE(auto keys, encoder_.Encode(*rows));
    std::vector<int64_t> matches =
        src.by_key.FindAll(keys);  // the source row of each row's key, or -1
    ARROW_ASSIGN_OR_RAISE(auto sequences, RowSequences(rows, matches, o.sequence_by,
                                                       truncate_at_.has_value()));
    std::vector<RowHash> hashes;
    std::vector<bool> soft_deleted, given;
    if (snapshot) {
      result_.rows_compared += rows->num_rows();
      if (compare_->table) {
        given = compare_->table->Given(keys);
      } else {
        ARROW_ASSIGN_OR_RAISE(hashes, HashRows(*rows, compare_->columns));
      }
      if (o.missing_keys == MissingKeys::kSoftDelete) {
        soft_deleted =
            TrueRows(rows->GetColumnByName(o.soft_delete_column), rows->num_rows());
      }
    }
    RowFates f;
    for (int64_t i = 0; i < rows->num_rows(); ++i) {
      if (truncate_at_ && sequences[i] <= *truncate_at_) {
        f.deleted_rows.push_back(i);  // a newer change of its key, if any, is inserted
        ++result_.rows_truncated;
        continue;
      }
      int64_t s = matches[i];
      bool was_soft_deleted = !soft_deleted.empty() && soft_deleted[i];
      if (s < 0) {
        if (!given.empty() && given[i]) {
          f.keep.push_back(i);  // the extract's row equals it
        } else if (snapshot && o.missing_keys == MissingKeys::kDelete) {
          f.deleted_rows.push_back(i);
        } else if (snapshot && o.missing_keys == MissingKeys::kSoftDelete &&
                   !was_soft_deleted) {
          f.soft_rows.push_back(i);
        } else {
          f.keep.push_back(i);
        }
        continue;
      }
      if (snapshot && found_[s]) {
        // The table held the key more than once: after a snapshot it holds the
        // extract's row once.
        f.deleted_rows.push_back(i);
        continue;
      }
      found_[s] = true;
      if (snapshot) {
        // Equal rows stay; a changed row (or a soft-deleted one whose key came back) is
        // replaced by its source row.
        if (!compare_->table && hashes[i] == compare_->source[s] && !was_soft_deleted) {
          f.keep.push_back(i);
        } else {
          compare_->changed[s] = true;
          f.target_rows.push_back(i);
          f.source_rows.push_back(s);
        }
        continue;
      }
      if (sequenced) {
        if (!src.late[s] && src.sequences[s] <= sequences[i]) {
          src.late[s] = true;
          ++late_;
        }
        if (src.late[s]) {
          f.keep.push_back(i);
          continue;
        }
      }
      if (o.mode == MergeMode::kInsertOnly) {
        f.keep.push_back(i);
      } else if (o.mode == MergeMode::kDeleteInsert || src.deleted[s]) {
        f.deleted_rows.push_back(i);
      } else {
        f.target_rows.push_back(i);
        f.source_rows.push_back(s);
        ++updated_[s];
      }
    }
    return f;
  }

 private:
  const MergeOptions& options_;
  KeyEncoder& encoder_;
  MergeSource& src_;
  SnapshotCompare* compare_;  // null but for a snapshot
  const std::optional<std::string>& truncate_at_;
  std::vector<bool>& found_;
  std::vector<int32_t>& updated_;  // how many table rows each source row updates
  int64_t& late_;
  MergeResult& result_;
};

// Writes what the changed batches of candidate files leave, for a merge that writes.
class ChangedBatchWriter {
 public:
  // marks: merge-on-read (the file keeps its rows, the changed ones marked deleted).
  // updates_are_source_rows: updated rows are their source rows, written with the
  // inserts.
  ChangedBatchWriter(const MergeOptions& o, const Transaction& tx, const MergeSource& src,
                     DataWriter* writer, DataWriter* cdc, bool marks,
                     bool updates_are_source_rows, CommitResult* counts)
      : options_(o),
        tx_(tx),
        src_(src),
        writer_(writer),
        cdc_(cdc),
        marks_(marks),
        updates_are_source_rows_(updates_are_source_rows),
        counts_(*counts) {}

  // Copy-on-write: the batch's kept rows. Merge-on-read: the positions in the file (the
  // batch starting at offset) of its deleted rows, and of its rows written again,
  // changed. Then the soft-deleted rows flagged, the updated rows (unless they are source
  // rows), and with a change data feed the images of each change. Kept rows keep their
  // row lineage; changed rows are new rows.
  arrow::Status Write(const std::shared_ptr<arrow::Table>& read, const RowFates& fates,
                      int64_t offset, std::vector<int64_t>* deleted,
                      std::vector<int64_t>* replaced) {
    const auto& [keep, target_rows, source_rows, deleted_rows, soft_rows] = fates;
    ARROW_ASSIGN_OR_RAISE(auto rows, WithoutLineage(tx_, read));
    if (marks_) {
      for (int64_t i : deleted_rows) deleted->push_back(offset + i);
      std::vector<int64_t> changed;
      std::merge(target_rows.begin(), target_rows.end(), soft_rows.begin(),
                 soft_rows.end(), std::back_inserter(changed));
      for (int64_t i : changed) replaced->push_back(offset + i);
    } else {
      ARROW_RETURN_NOT_OK(WriteRows(writer_, read, keep));
      counts_.rows_written += static_cast<int64_t>(keep.size());
    }
    if (!soft_rows.empty()) {
      ARROW_ASSIGN_OR_RAISE(auto before, TakeRows(rows, soft_rows));
      ARROW_ASSIGN_OR_RAISE(auto after,
                            SetBoolColumn(before, options_.soft_delete_column, true));
      ARROW_RETURN_NOT_OK(WriteTable(writer_, after));
      counts_.rows_written += after->num_rows();
      ARROW_RETURN_NOT_OK(WriteChanges(cdc_, before, "update_preimage"));
      ARROW_RETURN_NOT_OK(WriteChanges(cdc_, after, "update_postimage"));
    }
    if (!updates_are_source_rows_ && !target_rows.empty()) {
      ARROW_ASSIGN_OR_RAISE(auto updated, UpdatedRows(rows, target_rows, src_.rows,
                                                      source_rows, src_, options_));
      ARROW_RETURN_NOT_OK(WriteTable(writer_, updated));
      counts_.rows_written += updated->num_rows();
      if (cdc_) {
        ARROW_ASSIGN_OR_RAISE(auto before, TakeRows(rows, target_rows));
        ARROW_RETURN_NOT_OK(WriteChanges(cdc_, before, "update_preimage"));
        ARROW_RETURN_NOT_OK(WriteChanges(cdc_, updated, "update_postimage"));
      }
    }
    if (cdc_ && !deleted_rows.empty()) {
      ARROW_ASSIGN_OR_RAISE(auto gone, TakeRows(rows, deleted_rows));
      ARROW_RETURN_NOT_OK(WriteChanges(cdc_, gone, "delete"));
    }
    return arrow::Status::OK();
  }

 private:
  const MergeOptions& options_;
  const Transaction& tx_;
  const MergeSource& src_;
  DataWriter* writer_;
  DataWriter* cdc_;
  bool marks_;
  bool updates_are_source_rows_;
  CommitResult& counts_;
};

// A snapshot merge's source rows are in memory (source) or streamed (extract).
arrow::Result<MergeResult> MergeInput(const Writable& table,
                                      std::shared_ptr<arrow::Table> source,
                                      std::shared_ptr<arrow::RecordBatchReader> extract,
                                      const MergeOptions& options) {
  const std::string& location = table.location();
  MergeOptions o = options;  // the columns an upsert updates depend on the source
  if (o.keys.empty())
    return arrow::Status::Invalid("merge into ", location, ": no key columns given");
  if (o.history.enabled) return MergeHistory(table, std::move(source), o);
  bool sequenced = !o.sequence_by.empty();
  if (sequenced && o.mode != MergeMode::kUpsert) {
    return arrow::Status::Invalid("merge into ", location,
                                  ": sequence_by needs upsert mode");
  }
  if (!o.truncate_flag.empty() && !sequenced) {
    return arrow::Status::Invalid("merge into ", location,
                                  ": a truncate flag needs sequence_by");
  }
  // Every row of an extract is live.
  bool soft_flags = o.mode == MergeMode::kSnapshot &&
                    o.missing_keys == MissingKeys::kSoftDelete &&
                    !o.soft_delete_column.empty();
  auto live = [&](std::shared_ptr<arrow::Table> rows) {
    return soft_flags ? SetBoolColumn(rows, o.soft_delete_column, false)
                      : arrow::Result<std::shared_ptr<arrow::Table>>(std::move(rows));
  };
  std::shared_ptr<arrow::Schema> source_schema =
      source ? source->schema() : extract->schema();
  if (soft_flags) {
    auto given = source_schema->GetFieldByName(o.soft_delete_column);
    if (given && given->type()->id() != arrow::Type::BOOL) {
      return arrow::Status::Invalid("merge into ", location, ": the soft-delete column '",
                                    o.soft_delete_column, "' must be boolean, not ",
                                    given->type()->ToString());
    }
    ARROW_ASSIGN_OR_RAISE(auto none, arrow::Table::MakeEmpty(source_schema));
    ARROW_ASSIGN_OR_RAISE(none, live(none));
    source_schema = none->schema();
    if (source) {
      ARROW_ASSIGN_OR_RAISE(source, live(source));
    }
  }
  ARROW_ASSIGN_OR_RAISE(std::shared_ptr<arrow::Schema> input,
                        WithoutFlags(*source_schema, o));
  bool changes_rows = o.mode != MergeMode::kInsertOnly;
  WriteOptions write = o.write;
  // Remembered deletes are an application document of the commit (set at the end).
  if (sequenced) write.app_states[kTombstoneApp].document = "{}";
  ARROW_ASSIGN_OR_RAISE(auto tx, table.Begin(*input, write, changes_rows));
  // A column to update that the table lacks would update nothing, silently.
  for (const auto& c : o.update_columns) {
    if (tx->schema()->GetFieldIndex(c) < 0) {
      return arrow::Status::Invalid("merge into ", location, ": update column '", c,
                                    "' is not a column of the table");
    }
  }
  if (o.mode == MergeMode::kUpsert) KeepAbsentColumns(*input, *tx->schema(), &o);
  bool snapshot = o.mode == MergeMode::kSnapshot;
  if (snapshot)
    ARROW_RETURN_NOT_OK(SnapshotCompare::Check(o, *source_schema, *tx->schema()));
  // With a change data feed every change of this commit also goes to cdc files. A dry run
  // writes nothing.
  MergeWriters writers;
  if (!o.dry_run) {
    ARROW_ASSIGN_OR_RAISE(writers, OpenWriters(*tx));
  }
  DataWriter* writer = writers.data.get();
  DataWriter* cdc = writers.changes.get();
  int64_t repeats = 0;  // identical rows of a key that a streamed extract repeated
  if (extract && (tx->change_data_feed() || !tx->base())) {
    // The images of updated rows need the extract's rows at hand; a new table has no
    // columns to compare rows by.
    ARROW_ASSIGN_OR_RAISE(
        source, ReadExtract(extract.get(), o.keys,
                            soft_flags ? o.soft_delete_column : std::string(), location,
                            &repeats));
    ARROW_ASSIGN_OR_RAISE(source, live(source));
    extract.reset();
  }
  // Merge-on-read: changed rows are marked deleted, their new versions written as new
  // rows.
  bool marks = tx->base() && tx->marks_deleted_rows();
  // When the source replaces every column and no change data is written, the new version
  // of a matched row is its source row: an upsert writes it with the inserts at the end,
  // as slices of the source, instead of gathering source rows for each file it rewrites.
  bool source_rows_replace =
      !cdc && o.update_columns.empty() && !o.ignore_null_updates && o.given_flags.empty();
  bool updates_are_source_rows =
      source_rows_replace && (o.mode == MergeMode::kUpsert || snapshot);
  // Merge-on-read then takes nothing from a matched target row: its keys and sequences
  // are all it reads (a snapshot compares every column).
  bool keys_only = marks && source_rows_replace && !snapshot;
  std::vector<std::string> match_columns = o.keys;
  for (const auto& c : o.sequence_by) {
    if (std::find(match_columns.begin(), match_columns.end(), c) == match_columns.end())
      match_columns.push_back(c);
  }

  // The files that can hold a source key are found from the conformed source (duplicate
  // keys and all), and start being read while the source's keys are indexed. A snapshot
  // finds the keys missing from the extract, and a truncate removes older rows: both read
  // every file. A snapshot streaming its extract hashes the table's rows first
  // (TableRows): the extract's rows equal to theirs, most of it, are then neither spilled
  // nor indexed, and the table is read again, for its keys alone when it marks deleted
  // rows (every column when files are rewritten). A table holding a key twice is compared
  // as it is read instead.
  // A streamed extract is conformed batch by batch below: here its (empty) schema.
  if (extract) {
    ARROW_ASSIGN_OR_RAISE(source, arrow::Table::MakeEmpty(source_schema));
  }
  ARROW_ASSIGN_OR_RAISE(ConformedSource conformed, ConformSource(source, o, *tx));
  Candidates candidates;
  ReplacedFiles replaced;  // whole partitions a delete-insert replaces: not read
  std::optional<FileReadAhead> reads;
  KeyEncoder encoder(o.keys);
  // (Only when the table has every column of the extract: its rows equal on the compared
  // columns are then equal rows.)
  bool hash_table_first =
      snapshot && extract && !soft_flags && o.missing_keys != MissingKeys::kSoftDelete;
  for (const auto& f : input->fields()) {
    if (hash_table_first && tx->base()->schema()->GetFieldIndex(f->name()) < 0)
      hash_table_first = false;
  }
  std::optional<TableRows> table_rows;
  if (tx->base()) {
    ARROW_ASSIGN_OR_RAISE(candidates,
                          CandidateFiles(*tx, *conformed.rows, o.keys,
                                         conformed.truncate_at.has_value() || snapshot));
    replaced = TakeReplacedPartitions(o, *tx, &candidates);
    if (hash_table_first) {
      int64_t expected = 0;  // live rows, as far as the files' statistics say
      for (const DataFile* f : candidates.files)
        expected +=
            std::max<int64_t>(0, tx->RecordCount(*f).value_or(0) - f->deleted_rows);
      FileReadAhead all(*tx, candidates.files);
      ARROW_ASSIGN_OR_RAISE(
          table_rows,
          TableRows::Read(&all, candidates.files.size(),
                          SnapshotCompare::Columns(o, *source_schema, tx->base().get()),
                          expected, &encoder));
    } else {
      reads.emplace(*tx, candidates.files,
                    keys_only ? match_columns : std::vector<std::string>{},
                    /*with_lineage=*/!marks);
    }
  }
  ARROW_ASSIGN_OR_RAISE(MergeSource src, IndexSource(std::move(conformed), o, &encoder));
  std::optional<SnapshotCompare> compare;
  if (snapshot) {
    ARROW_ASSIGN_OR_RAISE(
        compare, SnapshotCompare::Make(o, *source_schema, tx->base().get(), src));
  }
  std::unique_ptr<ExtractSpill> spill;
  if (extract) {
    auto conform = [&](const std::shared_ptr<arrow::RecordBatch>& batch)
        -> arrow::Result<std::shared_ptr<arrow::Table>> {
      ARROW_ASSIGN_OR_RAISE(auto rows, arrow::Table::FromRecordBatches({batch}));
      ARROW_ASSIGN_OR_RAISE(rows, live(rows));
      ARROW_ASSIGN_OR_RAISE(ConformedSource c, ConformSource(rows, o, *tx));
      return c.rows;
    };
    ARROW_ASSIGN_OR_RAISE(
        spill, ExtractSpill::Make(extract.get(), conform, o.keys, compare->columns,
                                  soft_flags ? o.soft_delete_column : std::string(),
                                  location, &encoder, &src.by_key, &compare->source,
                                  hash_table_first ? &table_rows : nullptr));
    src.duplicates = spill->duplicates();
    if (hash_table_first && tx->base()) {
      // The table again: its keys alone when its rows were hashed and it marks deleted
      // rows; every column when files are rewritten, or when its rows were not hashed
      // (a key held twice: compared as read).
      if (table_rows) compare->table = &*table_rows;
      reads.emplace(*tx, candidates.files,
                    table_rows && marks ? match_columns : std::vector<std::string>{},
                    /*with_lineage=*/!marks);
    }
    src.late.assign(spill->rows(), false);
    src.deleted.assign(spill->rows(), false);
    compare->changed.assign(spill->rows(), false);
  }
  const int64_t source_rows = spill ? spill->rows() : src.rows->num_rows();
  SequenceGuard guard;
  if (sequenced) {
    ARROW_ASSIGN_OR_RAISE(guard, SequenceGuard::Load(*tx, o, &encoder, &src));
  }
  std::optional<Tombstones>& tombstones = guard.tombstones;
  const std::optional<std::string>& truncate_at = guard.truncate_at;
  int64_t& late = guard.late;
  MergeResult result;
  result.source_duplicates = src.duplicates + repeats;
  result.rows_deleted = replaced.rows;
  result.files_rewritten = static_cast<int64_t>(replaced.files.size());
  if (!o.dry_run) {
    for (const DataFile* file : replaced.files) tx->Remove(*file);
  }
  // Source rows whose key matched a table row (each key has one row, but for
  // delete-insert, which inserts every row anyway).
  std::vector<bool> found(source_rows, false);
  std::vector<int32_t> updated(source_rows, 0);

  int64_t source_updates = 0;  // updates written with the inserts, as source rows
  int64_t soft_deleted = 0;    // rows whose key left a snapshot's extract, kept flagged
  // A copy-on-write rewrite holds the batches read before a file's first change.
  bool holds = !marks && !o.dry_run;
  if (reads) {
    RowMatcher matcher(o, &encoder, &src, compare ? &*compare : nullptr, truncate_at,
                       &found, &updated, &late, &result);
    ChangedBatchWriter changes(o, *tx, src, writer, cdc, marks, updates_are_source_rows,
                               &result.commit);
    for (const DataFile* file_ptr : candidates.files) {
      const DataFile& file = *file_ptr;
      ++result.files_scanned;
      // The file's rows come a batch at a time, each matched against the source keys. A
      // copy-on-write rewrite holds the batches read before the file's first change (a
      // file without one is not written at all), and then streams.
      bool file_changed = false;
      std::vector<std::shared_ptr<arrow::Table>> held;
      std::vector<int64_t> file_deleted,
          file_replaced;   // positions in the file (merge-on-read)
      int64_t offset = 0;  // of the batch in the file
      while (true) {
        ARROW_ASSIGN_OR_RAISE(auto batch, reads->NextBatch());
        if (!batch) break;
        ARROW_ASSIGN_OR_RAISE(auto rows, arrow::Table::FromRecordBatches({batch}));
        ARROW_ASSIGN_OR_RAISE(RowFates fates, matcher.Match(rows));
        int64_t batch_offset = offset;
        offset += rows->num_rows();
        bool batch_changed = static_cast<int64_t>(fates.keep.size()) < rows->num_rows();
        if (!batch_changed && (!holds || !file_changed)) {
          if (holds) held.push_back(rows);  // written if the file turns out to change
          continue;
        }
        for (const auto& h : held) {
          ARROW_RETURN_NOT_OK(WriteTable(writer, h));
          result.commit.rows_written += h->num_rows();
        }
        held.clear();
        file_changed = true;
        result.rows_deleted += static_cast<int64_t>(fates.deleted_rows.size());
        result.rows_updated +=
            static_cast<int64_t>(fates.target_rows.size() + fates.soft_rows.size());
        soft_deleted += static_cast<int64_t>(fates.soft_rows.size());
        // The new versions of matched rows may be their source rows, written with the
        // inserts.
        if (updates_are_source_rows)
          source_updates += static_cast<int64_t>(fates.target_rows.size());
        if (!o.dry_run) {
          ARROW_RETURN_NOT_OK(
              changes.Write(rows, fates, batch_offset, &file_deleted, &file_replaced));
        }
      }
      if (!file_changed) continue;  // nothing changes
      ++(marks ? result.files_marked : result.files_rewritten);
      if (o.dry_run) continue;
      if (marks) {
        std::vector<int64_t> positions;
        positions.reserve(file_deleted.size() + file_replaced.size());
        std::merge(file_deleted.begin(), file_deleted.end(), file_replaced.begin(),
                   file_replaced.end(), std::back_inserter(positions));
        ARROW_RETURN_NOT_OK(tx->MarkDeleted(file, offset, std::move(positions)));
      } else {
        tx->Remove(file);
        // One output file per rewritten file: key ranges stay narrow for the next merge.
        ARROW_RETURN_NOT_OK(writer->Flush());
      }
    }
  }

  // Inserts: source rows whose key the table did not have (all rows for delete-insert,
  // and for an upsert whose updates are source rows; for a snapshot the rows that
  // changed); rows flagged for deletion insert nothing, late rows nothing at all.
  bool all_rows = o.mode == MergeMode::kDeleteInsert || updates_are_source_rows;
  std::vector<int64_t> inserts, deletes;
  for (int64_t i = 0; i < source_rows; ++i) {
    if (src.late[i] && updates_are_source_rows && updated[i] > 0) {
      // A key the table held more than once, with a newer copy later in the table than
      // the rows this source row was to replace: it turned out late, so those rows are
      // gone for the newer copy, not updated.
      result.rows_updated -= updated[i];
      result.rows_deleted += updated[i];
      source_updates -= updated[i];
    }
    if (src.late[i] || (snapshot && found[i] && !compare->changed[i])) continue;
    if (spill && spill->skipped(i)) continue;  // a repeat of an earlier row
    if (src.deleted[i]) {
      deletes.push_back(i);
    } else if (all_rows || !found[i]) {
      inserts.push_back(i);
      // A key the table held more than once: every row of it is updated, as SQL's MERGE
      // updates each target row a source row matches, so an upsert whose updates are
      // source rows writes the row once for each.
      if (updates_are_source_rows && o.mode == MergeMode::kUpsert)
        inserts.insert(inserts.end(), std::max(updated[i] - 1, 0), i);
    }
  }
  result.late_discarded = late;
  int64_t written = static_cast<int64_t>(inserts.size());
  result.rows_inserted = written - source_updates;
  result.changed = result.files_rewritten + result.files_marked > 0 || written > 0;
  if (snapshot && o.max_delete_percent) {
    ARROW_RETURN_NOT_OK(CheckDeleteShare(location, result.rows_deleted + soft_deleted,
                                         result.rows_compared, *o.max_delete_percent));
  }
  if (o.dry_run) return result;
  if (tombstones) {
    // Every applied delete is remembered, also of keys the table did not have: their
    // insert may still arrive, late.
    ARROW_ASSIGN_OR_RAISE(auto deleted, TakeRows(src.rows, deletes));
    ARROW_RETURN_NOT_OK(tombstones->Add(deleted));
    ARROW_ASSIGN_OR_RAISE(auto config, tombstones->Finish());
    tx->SetAppDocument(kTombstoneApp, config);
  }
  if (cdc) {
    ARROW_ASSIGN_OR_RAISE(auto new_rows, TakeRows(src.rows, inserts));
    ARROW_RETURN_NOT_OK(WriteTable(writer, new_rows));
    ARROW_RETURN_NOT_OK(WriteChanges(cdc, new_rows, "insert"));
  } else if (spill) {
    ARROW_RETURN_NOT_OK(spill->WriteRows(writer, inserts));
  } else {
    ARROW_RETURN_NOT_OK(
        WriteRows(writer, src.rows, inserts));  // runs as slices, not copies
  }
  result.commit.rows_written += written;
  if (snapshot && !result.changed)
    return result;  // the table already holds the extract: no commit

  ARROW_ASSIGN_OR_RAISE(result.commit,
                        CommitMerge(tx.get(), std::move(writers), std::move(candidates),
                                    o.keys, MergeModeName(o.mode), result.commit));
  return result;
}

}  // namespace

arrow::Result<MergeResult> Merge(const Writable& table,
                                 std::shared_ptr<arrow::Table> source,
                                 const MergeOptions& options) {
  return MergeInput(table, std::move(source), nullptr, options);
}

arrow::Result<MergeResult> MergeExtract(const Writable& table,
                                        std::shared_ptr<arrow::RecordBatchReader> extract,
                                        const MergeOptions& options) {
  if (options.mode != MergeMode::kSnapshot || options.history.enabled) {
    ARROW_ASSIGN_OR_RAISE(auto rows, extract->ToTable());
    return Merge(table, std::move(rows), options);
  }
  return MergeInput(table, nullptr, std::move(extract), options);
}

}  // namespace inlet::table
