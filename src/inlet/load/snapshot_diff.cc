#include "inlet/load/snapshot_diff.h"

#include <algorithm>
#include <unordered_map>

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>

#include "inlet/load/rows.h"
#include "inlet/table/row_hash.h"
#include "inlet/table/row_keys.h"

namespace inlet::load {

namespace {

constexpr char kDeleteFlag[] = "__inlet_delete";

}  // namespace

arrow::Result<SnapshotDiff> DiffSnapshot(const std::shared_ptr<arrow::Table>& extract, const Snapshot& table,
                                         const DiffOptions& o) {
  SnapshotDiff d;
  d.delete_flag = kDeleteFlag;
  // Compare on the table's columns both sides have (never the soft-delete flag), the
  // extract's values cast to the table's types.
  const auto& table_schema = table.schema();
  std::vector<std::string> compared;
  arrow::FieldVector fields;
  arrow::ChunkedArrayVector columns;
  for (const auto& f : table_schema->fields()) {
    auto column = extract->GetColumnByName(f->name());
    if (f->name() == o.soft_delete_column || !column) continue;
    if (!column->type()->Equals(*f->type())) {
      auto cast = arrow::compute::Cast(column, f->type());
      if (!cast.ok()) return cast.status().WithMessage("column '", f->name(), "': ", cast.status().message());
      column = cast->chunked_array();
    }
    compared.push_back(f->name());
    fields.push_back(f);
    columns.push_back(column);
  }
  for (const auto& k : o.keys) {
    if (std::find(compared.begin(), compared.end(), k) == compared.end()) {
      return arrow::Status::Invalid("key column '", k, "' is not in both the extract and the table");
    }
  }
  auto typed = arrow::Table::Make(arrow::schema(fields), columns, extract->num_rows());
  KeyEncoder encoder(o.keys);
  ARROW_ASSIGN_OR_RAISE(auto new_keys, encoder.Encode(*typed));
  ARROW_ASSIGN_OR_RAISE(auto new_hash, HashRows(*typed, compared));
  // The extract's rows by key: the first row of each key, and the next row of the same key
  // after each row (-1 after the last), so that every extract row of a key is found.
  KeyIndex first_row;
  first_row.Reserve(new_keys.size());
  std::vector<int64_t> next_row(new_keys.size(), -1);
  std::unordered_map<int64_t, int64_t> last_row;  // of a repeated key (rare): first row -> last
  for (size_t i = 0; i < new_keys.size(); ++i) {
    int64_t row = static_cast<int64_t>(i);
    auto [first, inserted] = first_row.Emplace(new_keys[i], row);
    if (inserted) continue;
    auto [last, fresh] = last_row.try_emplace(*first, *first);
    next_row[last->second] = row;
    last->second = row;
  }

  // The table, one batch at a time: only the rows whose key left the extract are kept.
  bool soft = o.missing == MissingKeys::kSoftDelete;
  std::vector<char> matched(extract->num_rows(), 0), changed_flag(extract->num_rows(), 0);
  std::vector<std::shared_ptr<arrow::Table>> gone_parts;
  ARROW_ASSIGN_OR_RAISE(auto reader, table.Scan({}));
  while (true) {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(reader->ReadNext(&batch));
    if (!batch) break;
    d.table_rows += batch->num_rows();
    ARROW_ASSIGN_OR_RAISE(auto rows, arrow::Table::FromRecordBatches({batch}));
    ARROW_ASSIGN_OR_RAISE(auto keys, encoder.Encode(*rows));
    ARROW_ASSIGN_OR_RAISE(auto hashes, HashRows(*batch, compared));
    std::shared_ptr<arrow::BooleanArray> soft_flags;
    if (soft) {
      auto col = batch->GetColumnByName(o.soft_delete_column);
      if (col && col->type()->id() == arrow::Type::BOOL) soft_flags = std::static_pointer_cast<arrow::BooleanArray>(col);
    }
    std::vector<int64_t> missing;
    for (int64_t i = 0; i < batch->num_rows(); ++i) {
      bool soft_deleted = soft_flags && soft_flags->IsValid(i) && soft_flags->Value(i);
      const int64_t* first = first_row.Find(keys[i]);
      if (!first) {
        if (o.missing != MissingKeys::kKeep && !soft_deleted) missing.push_back(i);
        continue;
      }
      // Every extract row of the key (normally one) is matched against the table row.
      for (int64_t e = *first; e >= 0; e = next_row[e]) {
        matched[e] = 1;
        if (new_hash[e] != hashes[i] || soft_deleted) changed_flag[e] = 1;  // or a soft-deleted key came back
      }
    }
    if (!missing.empty()) {
      ARROW_ASSIGN_OR_RAISE(auto gone_part, TakeRows(rows, missing));
      gone_parts.push_back(gone_part);
    }
  }
  std::vector<int64_t> changed;
  for (int64_t i = 0; i < extract->num_rows(); ++i) {
    if (!matched[i]) {
      ++d.inserts;
      changed.push_back(i);
    } else if (changed_flag[i]) {
      ++d.updates;
      changed.push_back(i);
    }
  }
  std::shared_ptr<arrow::Table> gone;
  if (gone_parts.empty()) {
    ARROW_ASSIGN_OR_RAISE(gone, arrow::Table::MakeEmpty(table_schema));
  } else {
    ARROW_ASSIGN_OR_RAISE(gone, arrow::ConcatenateTables(gone_parts));
  }
  d.deletes = gone->num_rows();
  d.changed_percent = 100.0 * static_cast<double>(d.inserts + d.updates + d.deletes) /
                      static_cast<double>(std::max<int64_t>(d.table_rows, 1));

  ARROW_ASSIGN_OR_RAISE(auto upserts, TakeRows(extract, changed));
  ARROW_ASSIGN_OR_RAISE(upserts, SetBoolColumn(upserts, kDeleteFlag, false));
  if (soft) {
    ARROW_ASSIGN_OR_RAISE(upserts, SetBoolColumn(upserts, o.soft_delete_column, false));
    ARROW_ASSIGN_OR_RAISE(gone, SetBoolColumn(gone, o.soft_delete_column, true));
    ARROW_ASSIGN_OR_RAISE(gone, SetBoolColumn(gone, kDeleteFlag, false));
  } else {
    ARROW_ASSIGN_OR_RAISE(gone, SetBoolColumn(gone, kDeleteFlag, true));
  }
  // Both sides to one schema: the extract's columns, then any table column it lacks.
  auto options = arrow::ConcatenateTablesOptions::Defaults();
  options.unify_schemas = true;
  options.field_merge_options = arrow::Field::MergeOptions::Permissive();
  ARROW_ASSIGN_OR_RAISE(d.changes, arrow::ConcatenateTables({upserts, gone}, options));
  return d;
}

}  // namespace inlet::load
