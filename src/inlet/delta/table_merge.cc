// DeltaTable::Merge: upsert / insert-only / delete-insert by key. Only the files that can
// hold a source key are read (partition values, key statistics), one at a time. A file
// holding one is rewritten (copy-on-write) or, when the table writes deletion vectors,
// keeps its data and gets its changed rows marked deleted (merge-on-read).
#include <algorithm>
#include <set>
#include <unordered_map>

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <arrow/table.h>

#include "inlet/delta/deletion_vector.h"
#include "inlet/delta/features.h"
#include "inlet/delta/merge_support.h"
#include "inlet/delta/tombstones.h"
#include "inlet/delta/transaction.h"
#include "inlet/table/row_keys.h"
#include "inlet/table/value.h"

namespace inlet::delta {

namespace {

using merge::CandidateFiles;
using merge::CommitMerge;
using merge::Candidates;
using merge::MergeSource;
using merge::OpenWriters;
using merge::PrepareSource;
using merge::FileReadAhead;
using merge::WriteChanges;
using merge::WriteRows;
using merge::WriteTable;

// The sequences (OrderedKeys bytes) of a file's rows: of every row when all is set (a
// truncate), else of the rows whose key the source has (empty strings elsewhere).
arrow::Result<std::vector<std::string>> RowSequences(const std::shared_ptr<arrow::Table>& rows,
                                                     const std::vector<int64_t>& keys,
                                                     const MergeSource& src, const std::vector<std::string>& sequence_by,
                                                     bool all) {
  if (sequence_by.empty()) return std::vector<std::string>();
  if (all) return OrderedKeys(*rows, sequence_by);
  std::vector<int64_t> matched;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (src.by_key.Contains(keys[i])) matched.push_back(static_cast<int64_t>(i));
  }
  std::vector<std::string> out(keys.size());
  if (matched.empty()) return out;
  ARROW_ASSIGN_OR_RAISE(auto taken, TakeRows(rows, matched));
  ARROW_ASSIGN_OR_RAISE(auto seqs, OrderedKeys(*taken, sequence_by));
  for (size_t j = 0; j < matched.size(); ++j) out[matched[j]] = std::move(seqs[j]);
  return out;
}

// Matched target rows updated with their source rows, column by column.
arrow::Result<std::shared_ptr<arrow::Table>> UpdatedRows(const std::shared_ptr<arrow::Table>& target,
                                                         const std::vector<int64_t>& target_rows,
                                                         const std::shared_ptr<arrow::Table>& source,
                                                         const std::vector<int64_t>& source_rows,
                                                         const MergeOptions& o) {
  ARROW_ASSIGN_OR_RAISE(auto t, TakeRows(target, target_rows));
  ARROW_ASSIGN_OR_RAISE(auto s, TakeRows(source, source_rows));
  arrow::ChunkedArrayVector columns;
  for (int c = 0; c < t->num_columns(); ++c) {
    const std::string& name = t->field(c)->name();
    bool is_key = std::find(o.keys.begin(), o.keys.end(), name) != o.keys.end();
    bool updated = !is_key && (o.update_columns.empty() ||
                               std::find(o.update_columns.begin(), o.update_columns.end(), name) != o.update_columns.end());
    if (!updated) {
      columns.push_back(t->column(c));
    } else if (o.ignore_null_updates) {
      ARROW_ASSIGN_OR_RAISE(arrow::Datum d, arrow::compute::CallFunction("coalesce", {s->column(c), t->column(c)}));
      columns.push_back(d.chunked_array());
    } else {
      columns.push_back(s->column(c));
    }
  }
  return arrow::Table::Make(t->schema(), columns, t->num_rows());
}

const char* ModeName(MergeMode m) {
  switch (m) {
    case MergeMode::kUpsert: return "upsert";
    case MergeMode::kInsertOnly: return "insert_only";
    case MergeMode::kDeleteInsert: return "delete_insert";
  }
  return "?";
}

}  // namespace

arrow::Result<MergeResult> DeltaTable::Merge(std::shared_ptr<arrow::Table> source, const MergeOptions& o) {
  if (o.keys.empty()) return arrow::Status::Invalid("merge into ", location(), ": no key columns given");
  if (o.history.enabled) return MergeHistory(std::move(source), o);
  bool sequenced = !o.sequence_by.empty();
  if (sequenced && o.mode != MergeMode::kUpsert) {
    return arrow::Status::Invalid("merge into ", location(), ": sequence_by needs upsert mode");
  }
  if (!o.truncate_flag.empty() && !sequenced) {
    return arrow::Status::Invalid("merge into ", location(), ": a truncate flag needs sequence_by");
  }
  std::shared_ptr<arrow::Schema> input = source->schema();
  for (const auto* flag : {&o.delete_flag, &o.truncate_flag}) {
    if (!flag->empty() && input->GetFieldIndex(*flag) >= 0) {
      ARROW_ASSIGN_OR_RAISE(input, input->RemoveField(input->GetFieldIndex(*flag)));
    }
  }
  bool changes_rows = o.mode != MergeMode::kInsertOnly;
  WriteOptions write = o.write;
  // Remembered deletes are a metadata domain of the commit (configured at the end).
  if (sequenced) write.domain_metadata[kTombstoneDomain] = "{}";
  ARROW_ASSIGN_OR_RAISE(auto tx, WriteTransaction::Begin(*this, store_, *input, write, changes_rows));
  KeyEncoder encoder(o.keys);
  ARROW_ASSIGN_OR_RAISE(MergeSource src, PrepareSource(source, o, tx.get(), &encoder));
  std::optional<Tombstones> tombstones;
  std::optional<std::string> truncate_at;  // a truncate this merge applies
  int64_t late = 0;
  if (sequenced) {
    ARROW_ASSIGN_OR_RAISE(tombstones, Tombstones::Load(store_, tx->base().get(), *tx->schema(), o.keys, o.sequence_by));
    if (src.truncate_at && (!tombstones->floor() || *src.truncate_at > *tombstones->floor())) {
      truncate_at = src.truncate_at;
      tombstones->RaiseFloor(*truncate_at);
    }
    const auto& floor = tombstones->floor();
    // Late: at or below a truncate already applied, or the key's last delete.
    ARROW_ASSIGN_OR_RAISE(auto deletes, tombstones->Find(&encoder, src.by_key));
    for (size_t i = 0; i < src.keys.size(); ++i) {
      auto d = deletes.find(src.keys[i]);
      if ((floor && src.sequences[i] <= *floor) ||
          (d != deletes.end() && src.sequences[i] <= d->second)) {
        src.late[i] = true;
        ++late;
      }
    }
  }
  // With a change data feed every change of this commit also goes to cdc files.
  ARROW_ASSIGN_OR_RAISE(auto writers, OpenWriters(*tx));
  DataWriter* writer = writers.data.get();
  DataWriter* cdc = writers.changes.get();
  MergeResult result;
  result.source_duplicates = src.duplicates;
  // Source rows whose key matched a table row (each key has one row, but for delete-insert,
  // which inserts every row anyway).
  std::vector<bool> found(src.rows->num_rows(), false);
  // Merge-on-read: changed rows are marked deleted, their new versions written as new rows.
  std::optional<DeletionVectorFile> dvs;
  std::vector<AddFile> dv_adds;
  if (tx->base() && WritesDeletionVectors(tx->base()->state().protocol, tx->base()->state().metadata)) dvs.emplace();
  // When the source replaces every column and no change data is written, the new version
  // of a matched row is its source row: an upsert writes it with the inserts at the end, as
  // slices of the source, instead of gathering source rows for each file it rewrites.
  bool source_rows_replace = !cdc && o.update_columns.empty() && !o.ignore_null_updates;
  bool updates_are_source_rows = source_rows_replace && o.mode == MergeMode::kUpsert;
  // Merge-on-read then takes nothing from a matched target row: its keys and sequences are
  // all it reads.
  bool keys_only = dvs && source_rows_replace;
  std::vector<std::string> match_columns = o.keys;
  for (const auto& c : o.sequence_by) {
    if (std::find(match_columns.begin(), match_columns.end(), c) == match_columns.end()) match_columns.push_back(c);
  }

  Candidates candidates;
  if (tx->base()) {
    const auto& base = *tx->base();
    ARROW_ASSIGN_OR_RAISE(candidates, CandidateFiles(base, src, o.keys, truncate_at.has_value()));
    FileReadAhead reads(store_, base, candidates.files, *tx,
                        keys_only ? match_columns : std::vector<std::string>{});
    for (const AddFile* file_ptr : candidates.files) {
      const AddFile& file = *file_ptr;
      // Read the file and match its rows against the source keys.
      ++result.files_scanned;
      ARROW_ASSIGN_OR_RAISE(auto rows, reads.Next());
      ARROW_ASSIGN_OR_RAISE(auto keys, encoder.Encode(*rows));
      ARROW_ASSIGN_OR_RAISE(auto sequences, RowSequences(rows, keys, src, o.sequence_by, truncate_at.has_value()));
      std::vector<int64_t> keep, target_rows, source_rows, deleted_rows;
      for (int64_t i = 0; i < rows->num_rows(); ++i) {
        if (truncate_at && sequences[i] <= *truncate_at) {
          deleted_rows.push_back(i);  // a newer change of its key, if any, is inserted
          ++result.rows_truncated;
          continue;
        }
        const int64_t* match = src.by_key.Find(keys[i]);
        if (!match) {
          keep.push_back(i);
          continue;
        }
        found[*match] = true;
        if (sequenced) {
          int64_t s = *match;
          if (!src.late[s] && src.sequences[s] <= sequences[i]) {
            src.late[s] = true;
            ++late;
          }
          if (src.late[s]) {
            keep.push_back(i);
            continue;
          }
        }
        if (o.mode == MergeMode::kInsertOnly) {
          keep.push_back(i);
        } else if (o.mode == MergeMode::kDeleteInsert) {
          deleted_rows.push_back(i);
        } else {
          int64_t s = *match;
          if (src.deleted[s]) {
            deleted_rows.push_back(i);
          } else {
            target_rows.push_back(i);
            source_rows.push_back(s);
          }
        }
      }
      if (static_cast<int64_t>(keep.size()) == rows->num_rows()) continue;  // nothing changes
      result.rows_deleted += static_cast<int64_t>(deleted_rows.size());
      if (dvs) {
        ++result.files_marked;
        ARROW_ASSIGN_OR_RAISE(auto marked, merge::MarkDeleted(*store_, file, rows->num_rows(), deleted_rows,
                                                              target_rows, &*dvs));
        if (marked) dv_adds.push_back(std::move(*marked));
      } else {
        ++result.files_rewritten;
        ARROW_RETURN_NOT_OK(WriteRows(writer, rows, keep));
        result.commit.rows_written += static_cast<int64_t>(keep.size());
      }
      if (updates_are_source_rows) {
        // The new versions of these rows are their source rows, written with the inserts.
        result.rows_updated += static_cast<int64_t>(target_rows.size());
      } else if (!target_rows.empty()) {
        ARROW_ASSIGN_OR_RAISE(auto updated, UpdatedRows(rows, target_rows, src.rows, source_rows, o));
        ARROW_RETURN_NOT_OK(WriteTable(writer, updated));
        result.rows_updated += updated->num_rows();
        if (cdc) {
          ARROW_ASSIGN_OR_RAISE(auto before, TakeRows(rows, target_rows));
          ARROW_RETURN_NOT_OK(WriteChanges(cdc, before, "update_preimage"));
          ARROW_RETURN_NOT_OK(WriteChanges(cdc, updated, "update_postimage"));
        }
      }
      if (cdc && !deleted_rows.empty()) {
        ARROW_ASSIGN_OR_RAISE(auto gone, TakeRows(rows, deleted_rows));
        ARROW_RETURN_NOT_OK(WriteChanges(cdc, gone, "delete"));
      }
      if (!updates_are_source_rows) result.commit.rows_written += static_cast<int64_t>(target_rows.size());
      tx->Remove(file);
      // One output file per rewritten file: key ranges stay narrow for the next merge, and
      // no more than one file's rows are buffered.
      if (!dvs) ARROW_RETURN_NOT_OK(writer->Flush());
    }
  }

  // Inserts: source rows whose key the table did not have (all rows for delete-insert, and
  // for an upsert whose updates are source rows); rows flagged for deletion insert
  // nothing, late rows nothing at all.
  bool all_rows = o.mode == MergeMode::kDeleteInsert || updates_are_source_rows;
  std::vector<int64_t> inserts, deletes;
  for (int64_t i = 0; i < src.rows->num_rows(); ++i) {
    if (src.late[i]) continue;
    if (src.deleted[i]) {
      deletes.push_back(i);
    } else if (all_rows || !found[i]) {
      inserts.push_back(i);
    }
  }
  result.late_discarded = late;
  if (tombstones) {
    // Every applied delete is remembered, also of keys the table did not have: their
    // insert may still arrive, late.
    ARROW_ASSIGN_OR_RAISE(auto deleted, TakeRows(src.rows, deletes));
    ARROW_RETURN_NOT_OK(tombstones->Add(deleted));
    ARROW_ASSIGN_OR_RAISE(auto config, tombstones->Finish());
    tx->SetDomain(kTombstoneDomain, config);
  }
  if (cdc) {
    ARROW_ASSIGN_OR_RAISE(auto new_rows, TakeRows(src.rows, inserts));
    ARROW_RETURN_NOT_OK(WriteTable(writer, new_rows));
    ARROW_RETURN_NOT_OK(WriteChanges(cdc, new_rows, "insert"));
  } else {
    ARROW_RETURN_NOT_OK(WriteRows(writer, src.rows, inserts));  // runs as slices, not copies
  }
  int64_t written = static_cast<int64_t>(inserts.size());
  result.rows_inserted = written - (updates_are_source_rows ? result.rows_updated : 0);
  result.commit.rows_written += written;

  if (dvs) {
    auto st = dvs->Write(*store_);
    if (!st.ok()) return st.WithMessage("merge into ", location(), ": ", st.message());
  }
  ARROW_ASSIGN_OR_RAISE(result.commit, CommitMerge(tx.get(), std::move(writers), std::move(candidates), o.keys,
                                                   ModeName(o.mode), result.commit, std::move(dv_adds)));
  return result;
}

}  // namespace inlet::delta