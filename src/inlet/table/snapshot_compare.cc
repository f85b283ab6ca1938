#include "inlet/table/snapshot_compare.h"

#include "inlet/common/percent.h"

namespace inlet::table {

arrow::Status CheckDeleteShare(const std::string& location, int64_t leaving, int64_t rows,
                               double max_percent) {
  if (rows == 0 || leaving == 0) return arrow::Status::OK();
  double percent = 100.0 * static_cast<double>(leaving) / static_cast<double>(rows);
  if (percent <= max_percent) return arrow::Status::OK();
  return arrow::Status::Invalid(
      "merge into ", location, ": the extract would delete ", leaving, " of the table's ",
      rows, " rows (", FormatPercent(percent), "), more than the limit of ",
      FormatPercent(max_percent),
      " (max_delete_percent); an empty or truncated extract? Nothing was committed");
}

arrow::Status SnapshotCompare::Check(const MergeOptions& o, const arrow::Schema& input,
                                     const arrow::Schema& table) {
  if (!o.sequence_by.empty() || !o.delete_flag.empty() || !o.update_columns.empty() ||
      o.ignore_null_updates) {
    return arrow::Status::Invalid(
        "snapshot mode takes no sequence_by, delete flag, update_columns or "
        "ignore_null_updates");
  }
  if (o.missing_keys == MissingKeys::kSoftDelete) {
    auto field = input.GetFieldByName(o.soft_delete_column);
    if (o.soft_delete_column.empty() || !field ||
        field->type()->id() != arrow::Type::BOOL ||
        table.GetFieldIndex(o.soft_delete_column) < 0) {
      return arrow::Status::Invalid(
          "snapshot mode with soft deletes needs the boolean soft-delete column '",
          o.soft_delete_column, "' in the source and the table");
    }
  }
  return arrow::Status::OK();
}

std::vector<std::string> SnapshotCompare::Columns(const MergeOptions& o,
                                                  const arrow::Schema& input,
                                                  const Snapshot* base) {
  bool soft = o.missing_keys == MissingKeys::kSoftDelete;
  std::vector<std::string> columns;
  if (!base) return columns;
  for (const auto& f : base->schema()->fields()) {
    if (input.GetFieldIndex(f->name()) >= 0 &&
        !(soft && f->name() == o.soft_delete_column)) {
      columns.push_back(f->name());
    }
  }
  return columns;
}

arrow::Result<SnapshotCompare> SnapshotCompare::Make(const MergeOptions& o,
                                                     const arrow::Schema& input,
                                                     const Snapshot* base,
                                                     const MergeSource& src) {
  SnapshotCompare c;
  c.columns = Columns(o, input, base);
  ARROW_ASSIGN_OR_RAISE(c.source, HashRows(*src.rows, c.columns));
  c.changed.assign(src.rows->num_rows(), false);
  return c;
}

}  // namespace inlet::table
