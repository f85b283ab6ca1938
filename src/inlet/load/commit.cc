#include "inlet/load/commit.h"

#include <algorithm>

#include "inlet/common/percent.h"
#include "inlet/status.h"

namespace inlet::load {

arrow::Result<std::shared_ptr<Snapshot>> LatestSnapshot(const Table& table) {
  auto snapshot = table.GetSnapshot({});
  if (snapshot.ok()) return *snapshot;
  if (IsTableNotFound(snapshot.status())) return std::shared_ptr<Snapshot>();
  return snapshot.status();
}

WriteOptions WriteOptionsOf(const CommitSpec& spec, WriteMode mode) {
  WriteOptions w;
  w.mode = mode;
  w.partition_by = spec.partition_by;
  w.sort_by = spec.sort_by;
  if (spec.sort_run_bytes) w.sort_run_bytes = *spec.sort_run_bytes;
  w.properties = spec.properties;
  w.app_states = spec.app_states;
  w.merge_schema = spec.merge_schema;
  w.read_version = spec.read_version;
  w.operation = spec.operation;
  w.operation_parameters = spec.parameters;
  return w;
}

MergeOptions MergeOptionsOf(const TableChange& change, const CommitSpec& spec) {
  MergeOptions m = change.merge_options;
  m.write = WriteOptionsOf(spec, WriteMode::kAppend);
  m.write.operation = spec.merge_operation;
  return m;
}

arrow::Result<MergeResult> CommitLoad(Table& table, std::shared_ptr<arrow::Table> rows,
                                      const TableChange& change, const CommitSpec& spec,
                                      bool dry_run) {
  if (change.merge) {
    MergeOptions m = MergeOptionsOf(change, spec);
    m.dry_run = dry_run;
    return table.Merge(std::move(rows), m);
  }
  MergeResult result;
  result.rows_inserted = rows->num_rows();
  if (dry_run) return result;
  auto reader = std::make_shared<arrow::TableBatchReader>(rows);
  if (spec.batch_size) reader->set_chunksize(*spec.batch_size);
  ARROW_ASSIGN_OR_RAISE(result.commit,
                        table.Write(reader, WriteOptionsOf(spec, change.mode)));
  return result;
}

arrow::Status CheckOverwrite(const Snapshot* table, int64_t new_rows,
                             const TableChange& change) {
  if (change.merge || change.mode != WriteMode::kOverwrite ||
      !change.max_delete_percent || !table) {
    return arrow::Status::OK();
  }
  std::optional<int64_t> rows = table->RowCount();
  if (!rows || *rows == 0 || new_rows >= *rows) return arrow::Status::OK();
  double percent =
      100.0 * static_cast<double>(*rows - new_rows) / static_cast<double>(*rows);
  if (percent <= *change.max_delete_percent) return arrow::Status::OK();
  return arrow::Status::Invalid(
      "the extract has ", new_rows, " rows where the table has ", *rows,
      ": replacing it would delete ", FormatPercent(percent),
      " of them, more than strategy.max_delete_percent (",
      FormatPercent(*change.max_delete_percent),
      ") allows; an empty or truncated extract? Nothing was committed (set "
      "max_delete_percent: 100 to load it anyway)");
}

double ChangedPercent(const MergeResult& m) {
  return 100.0 * static_cast<double>(m.rows_inserted + m.rows_updated + m.rows_deleted) /
         static_cast<double>(std::max<int64_t>(m.rows_compared, 1));
}

}  // namespace inlet::load
