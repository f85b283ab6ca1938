// table::Write: conform the input to the table schema, write data files, and commit them
// (with the removal of the files they replace, for overwrites) in one transaction.
#include <arrow/compute/api.h>
#include <arrow/table.h>
#include <arrow/util/byte_size.h>

#include <set>

#include "inlet/common/prefetch.h"
#include "inlet/table/merge.h"
#include "inlet/table/partition.h"
#include "inlet/table/value.h"

namespace inlet::table {

namespace {

// Which partitions an overwrite replaces: those replace_where selects, those the new rows
// fall in (dynamic partition overwrite), or the whole table.
arrow::Result<std::function<bool(const PartitionValues&)>> ReplacedPartitions(
    const WriteOptions& options, const std::vector<BoundPredicate>& replace,
    const std::vector<WrittenFile>& written, const Transaction& tx) {
  if (!replace.empty()) {
    for (const auto& f : written) {
      if (!PartitionSatisfies(f.partition_values, replace)) {
        return arrow::Status::Invalid(
            "cannot write to ", tx.location(),
            ": input rows fall outside the replace predicate (file ", f.path, ")");
      }
    }
    return std::function<bool(const PartitionValues&)>(
        [replace](const PartitionValues& v) { return PartitionSatisfies(v, replace); });
  }
  if (options.mode == WriteMode::kOverwritePartitions && tx.partitioned()) {
    std::set<PartitionValues> partitions;
    for (const auto& f : written) partitions.insert(f.partition_values);
    return std::function<bool(const PartitionValues&)>(
        [partitions](const PartitionValues& v) { return partitions.count(v) > 0; });
  }
  return std::function<bool(const PartitionValues&)>(
      [](const PartitionValues&) { return true; });
}

// The rows in `order`. Arrow places the nulls of every key at one end: a key whose nulls
// come first is sorted after an is-null key, descending, of its own.
arrow::Result<std::shared_ptr<arrow::Table>> SortRows(
    const std::vector<std::shared_ptr<arrow::RecordBatch>>& batches,
    const std::vector<SortKey>& order) {
  ARROW_ASSIGN_OR_RAISE(auto rows, arrow::Table::FromRecordBatches(batches));
  arrow::FieldVector fields;
  arrow::ChunkedArrayVector columns;
  std::vector<arrow::compute::SortKey> keys;
  for (const auto& k : order) {
    auto column = rows->GetColumnByName(k.column);
    if (!column)
      return arrow::Status::Invalid("the sort order names column '", k.column,
                                    "', which the rows lack");
    if (k.transform && column->num_chunks() > 0) {
      arrow::ArrayVector chunks;
      for (const auto& chunk : column->chunks()) {
        ARROW_ASSIGN_OR_RAISE(auto t, k.transform(chunk));
        chunks.push_back(std::move(t));
      }
      ARROW_ASSIGN_OR_RAISE(column, arrow::ChunkedArray::Make(std::move(chunks)));
    }
    const auto direction = k.ascending ? arrow::compute::SortOrder::Ascending
                                       : arrow::compute::SortOrder::Descending;
    // Nulls go where the key says, and NaN is greater than every other value (Iceberg's
    // sort order): explicit keys, since Arrow puts NaN with the nulls.
    ARROW_ASSIGN_OR_RAISE(auto is_null, arrow::compute::IsNull(column));
    std::string null_name = "__null_" + std::to_string(fields.size());
    fields.push_back(arrow::field(null_name, arrow::boolean()));
    columns.push_back(is_null.chunked_array());
    keys.emplace_back(null_name, k.nulls_first ? arrow::compute::SortOrder::Descending
                                               : arrow::compute::SortOrder::Ascending);
    if (arrow::is_floating(column->type()->id())) {
      ARROW_ASSIGN_OR_RAISE(auto nan, arrow::compute::IsNan(column));
      ARROW_ASSIGN_OR_RAISE(auto valid, arrow::compute::IsValid(column));
      // A null's NaN test is null: false (Kleene logic) puts it among the values.
      ARROW_ASSIGN_OR_RAISE(auto is_nan,
                            arrow::compute::CallFunction("and_kleene", {nan, valid}));
      std::string nan_name = "__nan_" + std::to_string(fields.size());
      fields.push_back(arrow::field(nan_name, arrow::boolean()));
      columns.push_back(is_nan.chunked_array());
      keys.emplace_back(nan_name, direction);
    }
    std::string name = "__key_" + std::to_string(fields.size());
    fields.push_back(arrow::field(name, column->type()));
    columns.push_back(column);
    keys.emplace_back(name, direction);
  }
  auto key_table = arrow::Table::Make(arrow::schema(fields), columns, rows->num_rows());
  arrow::compute::SortOptions options(keys, arrow::compute::NullPlacement::AtEnd);
  ARROW_ASSIGN_OR_RAISE(auto indices,
                        arrow::compute::SortIndices(arrow::Datum(key_table), options));
  ARROW_ASSIGN_OR_RAISE(auto taken, arrow::compute::Take(rows, indices));
  return taken.table();
}

}  // namespace

arrow::Result<CommitResult> Write(const Writable& table,
                                  std::shared_ptr<arrow::RecordBatchReader> data,
                                  const WriteOptions& options) {
  const std::string& location = table.location();
  bool overwrites = options.mode != WriteMode::kAppend;
  if (!options.replace_where.empty() && options.mode != WriteMode::kOverwrite) {
    return arrow::Status::Invalid("replace_where needs overwrite mode");
  }
  ARROW_ASSIGN_OR_RAISE(auto tx, table.Begin(*data->schema(), options, overwrites));
  if (!tx->base() && !options.replace_where.empty()) {
    return arrow::Status::Invalid("cannot replace rows of ", location,
                                  ": there is no table yet");
  }

  // Bind the replace predicate before writing anything.
  std::vector<BoundPredicate> replace;
  if (!options.replace_where.empty()) {
    ARROW_ASSIGN_OR_RAISE(replace, BindConjunction(options.replace_where, *tx->schema()));
    if (auto column = NonPartitionColumn(replace, tx->partition_columns())) {
      return arrow::Status::NotImplemented("replace_where on '", *column,
                                           "': only partition columns are supported");
    }
  }

  ARROW_ASSIGN_OR_RAISE(auto writer, tx->NewDataWriter());
  // Decoding the input overlaps encoding the output.
  data = Prefetch(std::move(data));
  const auto order = tx->WriteOrder();
  // With a sort order, rows are held until they fill a run, and each run is sorted and
  // written to files of its own (Flush closes them), so every file is sorted and memory
  // does not grow with the input (Spark sorts each write task's rows the same way).
  std::vector<std::shared_ptr<arrow::RecordBatch>> held;
  int64_t held_bytes = 0;
  auto write_run = [&]() -> arrow::Status {
    if (held.empty()) return arrow::Status::OK();
    ARROW_ASSIGN_OR_RAISE(auto sorted, SortRows(held, order));
    held.clear();
    held_bytes = 0;
    arrow::TableBatchReader reader(*sorted);
    std::shared_ptr<arrow::RecordBatch> batch;
    while (true) {
      ARROW_RETURN_NOT_OK(reader.ReadNext(&batch));
      if (!batch) break;
      ARROW_RETURN_NOT_OK(writer->Write(batch));
    }
    return writer->Flush();
  };
  while (true) {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(data->ReadNext(&batch));
    if (!batch) break;
    ARROW_ASSIGN_OR_RAISE(auto conformed, tx->Conform(*batch));
    if (order.empty()) {
      ARROW_RETURN_NOT_OK(writer->Write(conformed));
      continue;
    }
    // What the batch's rows occupy (a slice of a larger batch counts only its rows).
    auto bytes = arrow::util::ReferencedBufferSize(*conformed);
    held_bytes += bytes.ok() ? *bytes : arrow::util::TotalBufferSize(*conformed);
    held.push_back(std::move(conformed));
    if (held_bytes >= options.sort_run_bytes) ARROW_RETURN_NOT_OK(write_run());
  }
  ARROW_RETURN_NOT_OK(write_run());
  ARROW_ASSIGN_OR_RAISE(auto written, writer->Finish());
  // Every file holds a slice of one sorted run: each is sorted.
  for (auto& w : written) w.sorted = !order.empty();
  CommitResult result;
  result.rows_written = writer->rows_written();

  if (tx->base() && overwrites) {
    ARROW_ASSIGN_OR_RAISE(auto replaced,
                          ReplacedPartitions(options, replace, written, *tx));
    for (const auto& f : tx->files()) {
      if (replaced(f.partition_values)) tx->Remove(f);
    }
    tx->SetReadScope(std::move(replaced));
  }
  tx->Add(written);

  std::map<std::string, std::string> params;
  params["mode"] = overwrites ? "Overwrite" : "Append";
  if (options.mode == WriteMode::kOverwritePartitions)
    params["partitionOverwriteMode"] = "dynamic";
  if (!options.replace_where.empty()) {
    std::string pred;
    for (const auto& p : options.replace_where)
      pred += (pred.empty() ? "" : " AND ") + p.ToString();
    params["predicate"] = pred;
  }
  return tx->Commit(tx->base() ? "WRITE" : "CREATE TABLE AS SELECT", params, result);
}

}  // namespace inlet::table
