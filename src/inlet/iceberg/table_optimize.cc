// IcebergTable::Optimize: small files of each partition packed into files of the target
// size (or a partition's rows rewritten in Z-order) by the engine's planner, committed as
// a "replace" snapshot, which changes no rows: readers and incremental readers of
// appended data see nothing new. The commit validates that no concurrent snapshot removed
// a file it rewrites (or added delete files); when one did, it plans again.
#include <chrono>
#include <set>

#include "inlet/iceberg/iceberg_table.h"
#include "inlet/iceberg/transaction.h"
#include "inlet/status.h"
#include "inlet/table/optimize_plan.h"

namespace inlet::iceberg {

arrow::Result<OptimizeResult> IcebergTable::Optimize(const OptimizeOptions& options) {
  return table::OptimizeWithRetries(options, [&] { return OptimizeOnce(options); });
}

arrow::Result<OptimizeResult> IcebergTable::OptimizeOnce(const OptimizeOptions& o) {
  ARROW_ASSIGN_OR_RAISE(auto latest, GetSnapshot({}));
  ARROW_ASSIGN_OR_RAISE(
      auto tx, IcebergWriteTransaction::Begin(*this, *latest->schema(), WriteOptions{},
                                              /*overwrites=*/false));
  ARROW_ASSIGN_OR_RAISE(table::OptimizePlan plan, table::PlanOptimize(*tx, o));
  OptimizeResult result;
  result.before = plan.before;
  result.after = plan.before;
  result.partitions_optimized = plan.partitions;
  if (plan.bins.empty()) return result;

  std::vector<table::WrittenFile> written;
  for (const auto& bin : plan.bins) {
    ARROW_ASSIGN_OR_RAISE(auto writer, tx->NewDataWriter(plan.target));
    auto st = table::WriteBin(*tx, bin, o.zorder_by, writer.get());
    if (!st.ok())
      return st.WithMessage("cannot optimize ", location(), ": ", st.message());
    result.rows += writer->rows_written();
    ARROW_ASSIGN_OR_RAISE(auto files, writer->Finish());
    for (const table::DataFile* f : bin) {
      tx->Remove(*f, /*data_change=*/false);
      ++result.files_removed;
      result.after.bytes -= f->size_bytes;
    }
    tx->Add(files, /*data_change=*/false);
    for (const auto& f : files) {
      ++result.files_added;
      result.after.bytes += f.size_bytes;
    }
    written.insert(written.end(), files.begin(), files.end());
  }
  std::map<std::string, std::string> params;
  params["target-size"] = std::to_string(plan.target);
  CommitResult counts;
  counts.rows_written = result.rows;
  auto committed = tx->Commit("OPTIMIZE", params, counts);
  if (!committed.ok()) {
    // Files of a commit that certainly did not happen are unreferenced.
    if (IsCommitConflict(committed.status()))
      for (const auto& f : written)
        (void)tx->store()->fs()->DeleteFile(tx->store()->Resolve(f.path));
    return committed.status();
  }
  result.version = committed->version;
  result.after.files += result.files_added - result.files_removed;
  return result;
}

}  // namespace inlet::iceberg
