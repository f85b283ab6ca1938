#include "inlet/load/snapshot_diff.h"

#include <unordered_map>
#include <unordered_set>

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>

#include "inlet/load/rows.h"
#include "inlet/table/row_keys.h"

namespace inlet::load {

namespace {

constexpr char kDeleteFlag[] = "__inlet_delete";

}  // namespace

arrow::Result<SnapshotDiff> DiffSnapshot(const std::shared_ptr<arrow::Table>& extract, const Snapshot& table,
                                         const DiffOptions& o) {
  SnapshotDiff d;
  d.delete_flag = kDeleteFlag;
  ARROW_ASSIGN_OR_RAISE(auto reader, table.Scan({}));
  ARROW_ASSIGN_OR_RAISE(auto current, arrow::Table::FromRecordBatchReader(reader.get()));
  d.table_rows = current->num_rows();
  // Compare on the table's columns both sides have (never the soft-delete flag).
  std::vector<std::string> compared;
  for (const auto& f : current->schema()->fields()) {
    if (f->name() != o.soft_delete_column && extract->schema()->GetFieldByName(f->name())) compared.push_back(f->name());
  }
  ARROW_ASSIGN_OR_RAISE(auto cur_keys, RowKeys(*current, o.keys));
  ARROW_ASSIGN_OR_RAISE(auto cur_hash, RowKeys(*current, compared));
  ARROW_ASSIGN_OR_RAISE(auto new_keys, RowKeys(*extract, o.keys));
  ARROW_ASSIGN_OR_RAISE(auto new_hash, RowKeys(*extract, compared));
  std::unordered_map<std::string, int64_t> by_key;
  for (int64_t i = 0; i < current->num_rows(); ++i) by_key.emplace(cur_keys[i], i);
  bool soft = o.missing == MissingKeys::kSoftDelete;
  std::shared_ptr<arrow::ChunkedArray> soft_col = soft ? current->GetColumnByName(o.soft_delete_column) : nullptr;
  auto soft_deleted = [&](int64_t row) -> bool {
    if (!soft_col) return false;
    auto s = soft_col->GetScalar(row);
    return s.ok() && (*s)->is_valid && static_cast<const arrow::BooleanScalar&>(**s).value;
  };

  std::vector<int64_t> changed;
  std::unordered_set<std::string> present;
  for (int64_t i = 0; i < extract->num_rows(); ++i) {
    present.insert(new_keys[i]);
    auto it = by_key.find(new_keys[i]);
    if (it == by_key.end()) {
      ++d.inserts;
      changed.push_back(i);
    } else if (cur_hash[it->second] != new_hash[i] || soft_deleted(it->second)) {
      ++d.updates;  // changed values, or a soft-deleted key that came back
      changed.push_back(i);
    }
  }
  std::vector<int64_t> missing;
  if (o.missing != MissingKeys::kKeep) {
    for (int64_t i = 0; i < current->num_rows(); ++i) {
      if (!present.count(cur_keys[i]) && !soft_deleted(i)) missing.push_back(i);
    }
  }
  d.deletes = static_cast<int64_t>(missing.size());
  d.changed_percent = 100.0 * static_cast<double>(d.inserts + d.updates + d.deletes) /
                      static_cast<double>(std::max<int64_t>(d.table_rows, 1));

  ARROW_ASSIGN_OR_RAISE(auto upserts, TakeRows(extract, changed));
  ARROW_ASSIGN_OR_RAISE(upserts, SetBoolColumn(upserts, kDeleteFlag, false));
  ARROW_ASSIGN_OR_RAISE(auto gone, TakeRows(current, missing));
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
