// DeltaTable::Optimize: small files of each partition packed into files of a target size
// (or a partition's rows rewritten in Z-order), committed with dataChange=false so that
// readers, the change data feed and concurrent appends see no change in rows.
#include <arrow/array.h>
#include <arrow/compute/api.h>
#include <arrow/table.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include "inlet/delta/transaction.h"
#include "inlet/status.h"
#include "inlet/table/optimize_plan.h"

namespace inlet::delta {

namespace {

std::string Describe(const Conjunction& where) {
  std::string out;
  for (const auto& p : where) out += (out.empty() ? "" : " AND ") + p.ToString();
  return out;
}

}  // namespace

arrow::Result<OptimizeResult> DeltaTable::Optimize(const OptimizeOptions& options) {
  return table::OptimizeWithRetries(options, [&] { return OptimizeOnce(options); });
}

arrow::Result<OptimizeResult> DeltaTable::OptimizeOnce(const OptimizeOptions& o) {
  const std::string& loc = location();
  ARROW_ASSIGN_OR_RAISE(auto latest, LoadSnapshot({}));
  ARROW_ASSIGN_OR_RAISE(
      auto tx, WriteTransaction::Begin(*this, store_, *latest->schema(), WriteOptions{},
                                       /*overwrites=*/false, latest));
  ARROW_ASSIGN_OR_RAISE(table::OptimizePlan plan, table::PlanOptimize(*tx, o));
  const std::vector<table::Bin>& bins = plan.bins;
  const int64_t target = plan.target;
  OptimizeResult result;
  result.before = plan.before;
  result.after = plan.before;
  result.partitions_optimized = plan.partitions;
  if (bins.empty()) return result;

  // Each bin's new files, so that a bin whose files a concurrent commit removed can be
  // dropped from the commit while the others go on.
  std::vector<std::vector<table::WrittenFile>> outputs;
  std::vector<int64_t> rows;
  for (const auto& bin : bins) {
    ARROW_ASSIGN_OR_RAISE(auto writer, tx->NewDataWriter(target));
    auto st = table::WriteBin(*tx, bin, o.zorder_by, writer.get());
    if (!st.ok()) return st.WithMessage("cannot optimize ", loc, ": ", st.message());
    rows.push_back(writer->rows_written());
    ARROW_ASSIGN_OR_RAISE(outputs.emplace_back(), writer->Finish());
  }
  std::vector<bool> dropped(bins.size(), false);
  auto assemble = [&](PendingCommit* commit) {
    commit->actions.adds.clear();
    commit->actions.removes.clear();
    for (size_t b = 0; b < bins.size(); ++b) {
      if (dropped[b]) continue;
      for (const table::DataFile* f : bins[b]) tx->Remove(*f, /*data_change=*/false);
      tx->Add(outputs[b], /*data_change=*/false);
    }
    if (commit->actions.commit_info) {  // set by the commit: keep its metrics true
      int64_t bytes = 0;
      for (const auto& a : commit->actions.adds) bytes += a.size;
      (*commit->actions.commit_info)["operationMetrics"]["numFiles"] =
          std::to_string(commit->actions.adds.size());
      (*commit->actions.commit_info)["operationMetrics"]["numRemovedFiles"] =
          std::to_string(commit->actions.removes.size());
      (*commit->actions.commit_info)["operationMetrics"]["numOutputBytes"] =
          std::to_string(bytes);
    }
  };
  PendingCommit& commit = tx->commit();
  assemble(&commit);
  commit.drop_removed = [&](const std::set<std::string>& removed) {
    for (size_t b = 0; b < bins.size(); ++b) {
      for (const table::DataFile* f : bins[b]) {
        const AddFile& add = tx->AddFileOf(*f);
        dropped[b] = dropped[b] || removed.count(FileKey(add.path, add.deletion_vector));
      }
    }
    assemble(&commit);
    return !commit.actions.removes.empty();
  };

  std::map<std::string, std::string> params;
  params["predicate"] =
      DumpJson(Json(o.where.empty() ? std::vector<std::string>{}
                                    : std::vector<std::string>{Describe(o.where)}));
  params["zOrderBy"] = DumpJson(Json(o.zorder_by));
  params["targetSize"] = std::to_string(target);
  CommitResult counts;
  for (int64_t n : rows) counts.rows_written += n;
  auto committed = tx->Commit("OPTIMIZE", params, counts);
  // The new files of bins that lost to a concurrent commit are certainly unreferenced,
  // and so are all of them when the whole commit did.
  bool lost = !committed.ok() && IsCommitConflict(committed.status());
  for (size_t b = 0; b < bins.size(); ++b) {
    if (!lost && !dropped[b]) continue;
    for (const auto& a : outputs[b])
      (void)store_->fs()->DeleteFile(store_->Resolve(a.path));
  }
  if (!committed.ok()) return committed.status();
  result.version = committed->version;
  std::set<PartitionValues> partitions_done;
  for (size_t b = 0; b < bins.size(); ++b) {
    if (dropped[b]) continue;
    result.rows += rows[b];
    partitions_done.insert(bins[b].front()->partition_values);
    for (const auto& a : outputs[b]) {
      ++result.files_added;
      result.after.bytes += a.size_bytes;
    }
    for (const table::DataFile* f : bins[b]) {
      ++result.files_removed;
      result.after.bytes -= f->size_bytes;
    }
  }
  result.partitions_optimized = static_cast<int64_t>(partitions_done.size());
  result.after.files += result.files_added - result.files_removed;
  return result;
}

}  // namespace inlet::delta
