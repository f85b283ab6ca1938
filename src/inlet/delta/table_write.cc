// DeltaTable::Write: conform the input to the table schema, write data files, and commit
// adds (and removes, for overwrites) in one version.
#include <set>

#include "inlet/common/prefetch.h"
#include "inlet/delta/partition.h"
#include "inlet/delta/transaction.h"
#include "inlet/table/value.h"

namespace inlet::delta {

arrow::Result<CommitResult> DeltaTable::Write(std::shared_ptr<arrow::RecordBatchReader> data,
                                              const WriteOptions& options) {
  const std::string& location = store_->location();
  bool overwrites = options.mode != WriteMode::kAppend;
  if (!options.replace_where.empty() && options.mode != WriteMode::kOverwrite) {
    return arrow::Status::Invalid("replace_where needs overwrite mode");
  }
  ARROW_ASSIGN_OR_RAISE(auto tx, WriteTransaction::Begin(*this, store_, *data->schema(), options, overwrites));
  if (!tx->base() && !options.replace_where.empty()) {
    return arrow::Status::Invalid("cannot replace rows of ", location, ": there is no table yet");
  }
  const auto& partition_columns = tx->metadata().partition_columns;

  // Bind the replace predicate before writing anything.
  std::vector<BoundPredicate> replace;
  if (!options.replace_where.empty()) {
    ARROW_ASSIGN_OR_RAISE(replace, BindConjunction(options.replace_where, *tx->schema()));
    if (auto column = NonPartitionColumn(replace, partition_columns)) {
      return arrow::Status::NotImplemented("replace_where on '", *column, "': only partition columns are supported");
    }
  }

  ARROW_ASSIGN_OR_RAISE(auto writer, tx->NewDataWriter());
  // Decoding the input overlaps encoding the output.
  data = Prefetch(std::move(data));
  while (true) {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(data->ReadNext(&batch));
    if (!batch) break;
    ARROW_ASSIGN_OR_RAISE(auto conformed, tx->Conform(*batch));
    ARROW_RETURN_NOT_OK(writer->Write(conformed));
  }
  PendingCommit& commit = tx->commit();
  ARROW_ASSIGN_OR_RAISE(commit.actions.adds, writer->Finish());
  CommitResult result;
  result.rows_written = writer->rows_written();

  if (tx->base() && overwrites) {
    std::set<PartitionValues> written;
    for (const auto& a : commit.actions.adds) written.insert(a.partition_values);
    if (!replace.empty()) {
      for (const auto& a : commit.actions.adds) {
        if (!PartitionSatisfies(a.partition_values, replace)) {
          return arrow::Status::Invalid("cannot write to ", location,
                                        ": input rows fall outside the replace predicate (file ",
                                        a.path, ")");
        }
      }
      commit.reads_partition = [replace](const PartitionValues& v) { return PartitionSatisfies(v, replace); };
    } else if (options.mode == WriteMode::kOverwritePartitions && !partition_columns.empty()) {
      commit.reads_partition = [written](const PartitionValues& v) { return written.count(v) > 0; };
    } else {
      commit.reads_partition = [](const PartitionValues&) { return true; };
    }
    for (const auto& f : tx->base()->state().files) {
      if (commit.reads_partition(f.partition_values)) tx->Remove(f);
    }
  }

  Json params = Json::object();
  params["mode"] = overwrites ? "Overwrite" : "Append";
  if (options.mode == WriteMode::kOverwritePartitions) params["partitionOverwriteMode"] = "dynamic";
  if (!options.replace_where.empty()) {
    std::string pred;
    for (const auto& p : options.replace_where) pred += (pred.empty() ? "" : " AND ") + p.ToString();
    params["predicate"] = pred;
  }
  return tx->Commit(tx->base() ? "WRITE" : "CREATE TABLE AS SELECT", params, result);
}

}  // namespace inlet::delta
