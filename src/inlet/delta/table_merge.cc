// DeltaTable::Merge: upsert / insert-only / delete-insert by key, copy-on-write. Only the
// files that can hold a source key are read (partition values, key statistics), one at a
// time, and only those holding one are rewritten.
#include <algorithm>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <arrow/table.h>

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
using merge::ReadFile;
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
    if (src.by_key.count(keys[i])) matched.push_back(static_cast<int64_t>(i));
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
  std::unordered_set<int64_t> found;  // source keys that matched a table row

  Candidates candidates;
  if (tx->base()) {
    const auto& base = *tx->base();
    ARROW_ASSIGN_OR_RAISE(candidates, CandidateFiles(base, src, o.keys, truncate_at.has_value()));
    for (const AddFile* file_ptr : candidates.files) {
      const AddFile& file = *file_ptr;
      // Read the file and match its rows against the source keys.
      ++result.files_scanned;
      ARROW_ASSIGN_OR_RAISE(auto rows, ReadFile(store_, base, file, *tx));
      ARROW_ASSIGN_OR_RAISE(auto keys, encoder.Encode(*rows));
      ARROW_ASSIGN_OR_RAISE(auto sequences, RowSequences(rows, keys, src, o.sequence_by, truncate_at.has_value()));
      std::vector<int64_t> keep, target_rows, source_rows, deleted_rows;
      for (int64_t i = 0; i < rows->num_rows(); ++i) {
        if (truncate_at && sequences[i] <= *truncate_at) {
          deleted_rows.push_back(i);  // a newer change of its key, if any, is inserted
          ++result.rows_truncated;
          continue;
        }
        auto match = src.by_key.find(keys[i]);
        if (match == src.by_key.end()) {
          keep.push_back(i);
          continue;
        }
        found.insert(keys[i]);
        if (sequenced) {
          int64_t s = match->second;
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
          int64_t s = match->second;
          if (src.deleted[s]) {
            deleted_rows.push_back(i);
          } else {
            target_rows.push_back(i);
            source_rows.push_back(s);
          }
        }
      }
      if (static_cast<int64_t>(keep.size()) == rows->num_rows()) continue;  // nothing changes
      ++result.files_rewritten;
      result.rows_deleted += static_cast<int64_t>(deleted_rows.size());
      ARROW_RETURN_NOT_OK(WriteRows(writer, rows, keep));
      if (!target_rows.empty()) {
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
      result.commit.rows_written += static_cast<int64_t>(keep.size() + target_rows.size());
      tx->Remove(file);
      // One output file per rewritten file: key ranges stay narrow for the next merge, and
      // no more than one file's rows are buffered.
      ARROW_RETURN_NOT_OK(writer->Flush());
    }
  }

  // Inserts: source rows whose key the table did not have (all rows for delete-insert);
  // rows flagged for deletion insert nothing, late rows nothing at all.
  std::vector<int64_t> inserts, deletes;
  for (int64_t i = 0; i < src.rows->num_rows(); ++i) {
    if (src.late[i]) continue;
    if (src.deleted[i]) {
      deletes.push_back(i);
    } else if (o.mode == MergeMode::kDeleteInsert || !found.count(src.keys[i])) {
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
  ARROW_ASSIGN_OR_RAISE(auto new_rows, TakeRows(src.rows, inserts));
  ARROW_RETURN_NOT_OK(WriteTable(writer, new_rows));
  ARROW_RETURN_NOT_OK(WriteChanges(cdc, new_rows, "insert"));
  result.rows_inserted = new_rows->num_rows();
  result.commit.rows_written += new_rows->num_rows();

  ARROW_ASSIGN_OR_RAISE(result.commit, CommitMerge(tx.get(), std::move(writers), std::move(candidates), o.keys,
                                                   ModeName(o.mode), result.commit));
  return result;
}

}  // namespace inlet::delta