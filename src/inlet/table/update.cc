// table::ChangeRows: Table::Delete and Table::Update, rows chosen by a predicate.
//
// The live files are pruned by partition values and column statistics. A delete whose
// predicates are all on partition columns removes the files of the selected partitions
// unread (their row counts come from the statistics), unless the change data feed needs
// each deleted row. Every other candidate is read a batch at a time: a file with no
// selected row stays as it is; one with some is rewritten without them (copy-on-write) or
// keeps them marked deleted (a table that writes deletion vectors). An update writes the
// selected rows' new versions as new rows, through the partitioned writer, so a row whose
// partition column changes moves to its new partition.
#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>

#include <algorithm>

#include "inlet/table/merge.h"
#include "inlet/table/merge_files.h"
#include "inlet/table/row_keys.h"

namespace inlet::table {

namespace {

using Assignments = std::vector<std::pair<std::string, std::optional<std::string>>>;

// The scalars an update sets, by column; errors name the column.
arrow::Result<std::vector<std::pair<int, std::shared_ptr<arrow::Scalar>>>> BindSet(
    const Assignments& set, const arrow::Schema& schema, const std::string& where) {
  std::vector<std::pair<int, std::shared_ptr<arrow::Scalar>>> out;
  for (const auto& [column, value] : set) {
    int idx = schema.GetFieldIndex(column);
    if (idx < 0) {
      return arrow::Status::Invalid("update of ", where, ": the table has no column '",
                                    column, "'");
    }
    for (const auto& [other, unused] : out) {
      if (other == idx)
        return arrow::Status::Invalid("update of ", where, ": column '", column,
                                      "' is set twice");
    }
    const auto& field = schema.field(idx);
    if (!value) {
      if (!field->nullable()) {
        return arrow::Status::Invalid("update of ", where, ": column '", column,
                                      "' cannot be null");
      }
      out.emplace_back(idx, arrow::MakeNullScalar(field->type()));
      continue;
    }
    auto bound = BindConjunction({Predicate{column, CompareOp::kEq, *value}}, schema);
    if (!bound.ok()) {
      return bound.status().WithMessage("update of ", where, ": cannot set '", column,
                                        "' (", field->type()->ToString(), ") to '",
                                        *value, "': ", bound.status().message());
    }
    out.emplace_back(idx, (*bound)[0].literal);
  }
  return out;
}

// Whether a file's partition values satisfy the partition predicates (all of them:
// true), and whether its statistics may hold a row satisfying the others.
struct FileMatch {
  bool may_match = true;
  bool every_row = false;  // every predicate is on a partition column, and holds
};

arrow::Result<FileMatch> MatchFile(const Transaction& tx, const DataFile& file,
                                   const std::vector<BoundPredicate>& preds) {
  FileMatch m;
  m.every_row = true;
  const auto& parts = tx.partition_columns();
  for (const auto& p : preds) {
    const std::string& column = p.field->name();
    if (std::find(parts.begin(), parts.end(), column) != parts.end()) {
      auto it = file.partition_values.find(column);
      std::optional<std::string> text =
          it == file.partition_values.end() ? std::nullopt : it->second;
      ARROW_ASSIGN_OR_RAISE(auto value,
                            ParsePartitionValue(text, p.field->type(), column));
      if (!Satisfies(p, *value)) return FileMatch{false, false};
      // Satisfies keeps a file whose order it cannot tell (a NaN): it is read, not taken
      // whole.
      bool known = p.op == CompareOp::kIsNull || p.op == CompareOp::kIsNotNull ||
                   CompareScalars(*value, *p.literal).has_value();
      m.every_row = m.every_row && known;
      continue;
    }
    m.every_row = false;
    if (!MayMatch(p, tx.Statistics(file, column))) return FileMatch{false, false};
  }
  return m;
}

// The positions of batch's rows that the predicates select.
arrow::Result<std::vector<int64_t>> Selected(const arrow::RecordBatch& batch,
                                             const std::vector<BoundPredicate>& preds) {
  ARROW_ASSIGN_OR_RAISE(arrow::Datum mask, MatchBatch(batch, preds));
  auto array = mask.make_array();
  const auto& b = static_cast<const arrow::BooleanArray&>(*array);
  std::vector<int64_t> out;
  for (int64_t i = 0; i < b.length(); ++i) {
    if (b.IsValid(i) && b.Value(i)) out.push_back(i);
  }
  return out;
}

// The positions of [0, n) not in `taken` (ascending).
std::vector<int64_t> Others(int64_t n, const std::vector<int64_t>& taken) {
  std::vector<int64_t> out;
  out.reserve(n - static_cast<int64_t>(taken.size()));
  size_t t = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (t < taken.size() && taken[t] == i) {
      ++t;
    } else {
      out.push_back(i);
    }
  }
  return out;
}

std::string PredicateText(const RowChangeOptions& o) {
  if (o.where.empty()) return "true";
  std::string out;
  for (const auto& p : o.where) out += (out.empty() ? "" : " AND ") + p.ToString();
  return out;
}

}  // namespace

arrow::Result<MergeResult> ChangeRows(const Writable& table, const RowChangeOptions& o,
                                      const Assignments* set) {
  const bool update = set != nullptr;
  const std::string& location = table.location();
  const char* what = update ? "update of " : "delete from ";
  if (o.where.empty() && !o.every_row) {
    return arrow::Status::Invalid(what, location,
                                  ": no predicate; say that every row is meant");
  }
  if (update && set->empty())
    return arrow::Status::Invalid(what, location, ": no column to set");
  SnapshotSpec spec;
  spec.version = o.write.read_version;
  ARROW_ASSIGN_OR_RAISE(auto snapshot, table.GetSnapshot(spec));
  ARROW_ASSIGN_OR_RAISE(auto tx, table.Begin(*snapshot->schema(), o.write, true));
  auto bound = BindConjunction(o.where, *tx->schema());
  if (!bound.ok()) {
    return bound.status().WithMessage(what, location, ": ", bound.status().message());
  }
  const std::vector<BoundPredicate>& preds = *bound;
  std::vector<std::pair<int, std::shared_ptr<arrow::Scalar>>> assignments;
  if (update) {
    ARROW_ASSIGN_OR_RAISE(assignments, BindSet(*set, *tx->schema(), location));
  }

  MergeResult result;
  Candidates candidates;
  bool cdc = tx->change_data_feed();
  std::vector<const DataFile*> removed_unread;
  for (const DataFile& file : tx->files()) {
    ARROW_ASSIGN_OR_RAISE(FileMatch m, MatchFile(*tx, file, preds));
    if (!m.may_match) continue;
    candidates.read_partitions.insert(file.partition_values);
    auto records = tx->RecordCount(file);
    if (!update && m.every_row && !cdc && records) {
      removed_unread.push_back(&file);
      result.rows_deleted += *records - file.deleted_rows;
      continue;
    }
    candidates.files.push_back(&file);
  }
  // A predicate on other columns than the partition columns may select rows anywhere.
  const auto& parts = tx->partition_columns();
  for (const auto& p : preds) {
    if (std::find(parts.begin(), parts.end(), p.field->name()) == parts.end())
      candidates.whole_table_read = true;
  }
  if (preds.empty()) candidates.whole_table_read = true;
  result.files_rewritten = static_cast<int64_t>(removed_unread.size());

  MergeWriters writers;
  if (!o.dry_run) {
    ARROW_ASSIGN_OR_RAISE(writers, OpenWriters(*tx));
    for (const DataFile* file : removed_unread) tx->Remove(*file);
  }
  DataWriter* writer = writers.data.get();
  DataWriter* changes = writers.changes.get();
  const bool marks = tx->marks_deleted_rows();
  FileReadAhead reads(*tx, candidates.files, {}, /*with_lineage=*/!marks);
  for (const DataFile* file : candidates.files) {
    ++result.files_scanned;
    bool changed = false;
    std::vector<std::shared_ptr<arrow::Table>> held;  // copy-on-write, before a change
    std::vector<int64_t> marked;                      // merge-on-read: file positions
    int64_t offset = 0;
    while (true) {
      ARROW_ASSIGN_OR_RAISE(auto batch, reads.NextBatch());
      if (!batch) break;
      ARROW_ASSIGN_OR_RAISE(std::vector<int64_t> selected, Selected(*batch, preds));
      int64_t batch_offset = offset;
      offset += batch->num_rows();
      ARROW_ASSIGN_OR_RAISE(auto rows, arrow::Table::FromRecordBatches({batch}));
      if (selected.empty()) {
        if (!marks && changed && !o.dry_run) {
          ARROW_RETURN_NOT_OK(WriteTable(writer, rows));
          result.commit.rows_written += rows->num_rows();
        } else if (!marks && !changed && !o.dry_run) {
          held.push_back(rows);
        }
        continue;
      }
      changed = true;
      int64_t n = static_cast<int64_t>(selected.size());
      (update ? result.rows_updated : result.rows_deleted) += n;
      if (o.dry_run) continue;
      if (marks) {
        for (int64_t i : selected) marked.push_back(batch_offset + i);
      } else {
        for (const auto& h : held) {
          ARROW_RETURN_NOT_OK(WriteTable(writer, h));
          result.commit.rows_written += h->num_rows();
        }
        held.clear();
        auto kept = Others(rows->num_rows(), selected);
        ARROW_RETURN_NOT_OK(WriteRows(writer, rows, kept));
        result.commit.rows_written += static_cast<int64_t>(kept.size());
      }
      // The changed rows are new rows (without row lineage).
      ARROW_ASSIGN_OR_RAISE(auto plain, WithoutLineage(*tx, rows));
      ARROW_ASSIGN_OR_RAISE(auto before, TakeRows(plain, selected));
      if (!update) {
        ARROW_RETURN_NOT_OK(WriteChanges(changes, before, "delete"));
        continue;
      }
      std::shared_ptr<arrow::Table> after = before;
      for (const auto& [idx, value] : assignments) {
        ARROW_ASSIGN_OR_RAISE(auto array, arrow::MakeArrayFromScalar(*value, n));
        ARROW_ASSIGN_OR_RAISE(
            after, after->SetColumn(idx, after->field(idx),
                                    std::make_shared<arrow::ChunkedArray>(array)));
      }
      ARROW_RETURN_NOT_OK(WriteTable(writer, after));
      result.commit.rows_written += n;
      ARROW_RETURN_NOT_OK(WriteChanges(changes, before, "update_preimage"));
      ARROW_RETURN_NOT_OK(WriteChanges(changes, after, "update_postimage"));
    }
    if (!changed) continue;
    ++(marks ? result.files_marked : result.files_rewritten);
    if (o.dry_run) continue;
    if (marks) {
      ARROW_RETURN_NOT_OK(tx->MarkDeleted(*file, offset, std::move(marked)));
    } else {
      tx->Remove(*file);
      ARROW_RETURN_NOT_OK(writer->Flush());
    }
  }
  result.changed = result.rows_deleted + result.rows_updated > 0;
  if (o.dry_run || !result.changed) {
    if (!o.dry_run) {
      // Nothing selected: nothing to commit (the writers wrote nothing).
      ARROW_RETURN_NOT_OK(writers.data->Finish().status());
      if (writers.changes) ARROW_RETURN_NOT_OK(writers.changes->Finish().status());
    }
    result.commit.version = -1;
    return result;
  }
  ARROW_ASSIGN_OR_RAISE(result.commit,
                        CommitChanges(tx.get(), std::move(writers), std::move(candidates),
                                      update ? "UPDATE" : "DELETE",
                                      {{"predicate", PredicateText(o)}}, result.commit));
  return result;
}

}  // namespace inlet::table
