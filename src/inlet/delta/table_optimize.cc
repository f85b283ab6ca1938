// DeltaTable::Optimize: small files of each partition packed into files of a target size
// (or a partition's rows rewritten in Z-order), committed with dataChange=false so that
// readers, the change data feed and concurrent appends see no change in rows.
#include <algorithm>
#include <chrono>
#include <map>
#include <set>

#include <arrow/array.h>
#include <arrow/compute/api.h>
#include <arrow/table.h>

#include "inlet/common/retry.h"
#include "inlet/delta/merge_support.h"
#include "inlet/delta/partition.h"
#include "inlet/delta/scan.h"
#include "inlet/delta/transaction.h"
#include "inlet/status.h"
#include "inlet/table/zorder.h"

namespace inlet::delta {

namespace {

using Bin = std::vector<const AddFile*>;

// Packs a partition's small files into bins of about target bytes, smallest first. Files
// at least target large stay unless they carry a deletion vector (rewriting drops the
// deleted rows); a bin of one file without one would gain nothing and is left out.
std::vector<Bin> PackBins(const std::vector<const AddFile*>& files, int64_t target) {
  Bin small;
  for (const AddFile* f : files) {
    if (f->size < target || f->deletion_vector) small.push_back(f);
  }
  std::sort(small.begin(), small.end(), [](const AddFile* a, const AddFile* b) {
    return a->size != b->size ? a->size < b->size : a->path < b->path;
  });
  std::vector<Bin> bins;
  Bin bin;
  int64_t bytes = 0;
  auto close = [&] {
    if (bin.size() > 1 || (bin.size() == 1 && bin[0]->deletion_vector)) bins.push_back(bin);
    bin.clear();
    bytes = 0;
  };
  for (const AddFile* f : small) {
    if (!bin.empty() && bytes + f->size > target) close();
    bin.push_back(f);
    bytes += f->size;
  }
  close();
  return bins;
}

// The rows of a bin's files (deleted rows dropped), streamed one file at a time.
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> ReadBin(const std::shared_ptr<const TableStore>& store,
                                                                 const DeltaSnapshot& base, const Bin& bin) {
  auto state = std::make_shared<TableState>();
  state->version = base.state().version;
  state->protocol = base.state().protocol;
  state->metadata = base.state().metadata;
  for (const AddFile* f : bin) state->files.push_back(*f);
  auto schema = std::make_shared<const DeltaSchema>(base.delta_schema());
  return ScanState(store, state, schema, ScanOptions{});
}

arrow::Status WriteBin(const std::shared_ptr<const TableStore>& store, const DeltaSnapshot& base, const Bin& bin,
                       const std::vector<std::string>& zorder_by, DataWriter* writer) {
  ARROW_ASSIGN_OR_RAISE(auto reader, ReadBin(store, base, bin));
  if (zorder_by.empty()) {
    while (true) {
      std::shared_ptr<arrow::RecordBatch> batch;
      ARROW_RETURN_NOT_OK(reader->ReadNext(&batch));
      if (!batch) break;
      ARROW_RETURN_NOT_OK(writer->Write(batch));
    }
  } else {
    // Z-order needs the partition's rows together.
    ARROW_ASSIGN_OR_RAISE(auto rows, reader->ToTable());
    ARROW_ASSIGN_OR_RAISE(auto order, ZOrderIndices(*rows, zorder_by));
    ARROW_ASSIGN_OR_RAISE(auto sorted, arrow::compute::Take(arrow::Datum(rows), arrow::Datum(order)));
    ARROW_RETURN_NOT_OK(merge::WriteTable(writer, sorted.table()));
  }
  return writer->Flush();
}

std::string Describe(const Conjunction& where) {
  std::string out;
  for (const auto& p : where) out += (out.empty() ? "" : " AND ") + p.ToString();
  return out;
}

}  // namespace

arrow::Result<OptimizeResult> DeltaTable::Optimize(const OptimizeOptions& options) {
  auto start = std::chrono::steady_clock::now();
  int attempts = 0;
  // A concurrent commit removed files being compacted: plan again from the new version.
  auto result = RetryOnConflict(std::max(1, options.max_attempts) - 1, [&] {
    ++attempts;
    return OptimizeOnce(options);
  });
  if (!result.ok()) return result.status();
  result->attempts = attempts;
  result->duration_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
  return result;
}

arrow::Result<OptimizeResult> DeltaTable::OptimizeOnce(const OptimizeOptions& o) {
  const std::string& loc = location();
  if (o.target_size < 0) return arrow::Status::Invalid("cannot optimize ", loc, ": the target size must be positive");
  ARROW_ASSIGN_OR_RAISE(auto latest, LoadSnapshot({}));
  ARROW_ASSIGN_OR_RAISE(auto tx, WriteTransaction::Begin(*this, store_, *latest->schema(), WriteOptions{},
                                                         /*overwrites=*/false, latest));
  const DeltaSnapshot& base = *tx->base();
  const auto& partition_columns = tx->metadata().partition_columns;
  auto is_partition = [&](const std::string& name) {
    return std::find(partition_columns.begin(), partition_columns.end(), name) != partition_columns.end();
  };
  std::string partitioning = partition_columns.empty()
                                 ? " (the table is not partitioned)"
                                 : " (partition columns: " + merge::JoinNames(partition_columns, ", ") + ")";
  std::vector<BoundPredicate> where;
  if (!o.where.empty()) {
    auto bound = BindConjunction(o.where, *tx->schema());
    if (!bound.ok()) return bound.status().WithMessage("cannot optimize ", loc, ": ", bound.status().message());
    where = std::move(*bound);
    if (auto column = NonPartitionColumn(where, partition_columns)) {
      return arrow::Status::Invalid("cannot optimize ", loc, ": the predicate may only use partition columns, and '",
                                    *column, "' is not one", partitioning);
    }
  }
  for (const auto& name : o.zorder_by) {
    if (tx->schema()->GetFieldIndex(name) < 0) {
      return arrow::Status::Invalid("cannot optimize ", loc, ": Z-order column '", name, "' is not in the table");
    }
    if (is_partition(name)) {
      return arrow::Status::Invalid("cannot optimize ", loc, ": Z-order column '", name,
                                    "' is a partition column (each file holds one value of it already)");
    }
  }
  const int64_t target = o.target_size > 0 ? o.target_size : tx->target_file_size();

  OptimizeResult result;
  std::map<PartitionValues, std::vector<const AddFile*>> partitions;
  for (const auto& f : base.state().files) {
    ++result.before.files;
    result.before.bytes += f.size;
    if (where.empty() || PartitionSatisfies(f.partition_values, where)) partitions[f.partition_values].push_back(&f);
  }
  result.after = result.before;
  std::vector<Bin> bins;
  for (const auto& [values, files] : partitions) {
    size_t before = bins.size();
    if (!o.zorder_by.empty()) {
      bins.push_back(files);
    } else {
      for (auto& bin : PackBins(files, target)) bins.push_back(std::move(bin));
    }
    if (bins.size() > before) ++result.partitions_optimized;
  }
  if (bins.empty()) return result;

  // Each bin's new files, so that a bin whose files a concurrent commit removed can be
  // dropped from the commit while the others go on.
  std::vector<std::vector<AddFile>> outputs;
  std::vector<int64_t> rows;
  for (const auto& bin : bins) {
    ARROW_ASSIGN_OR_RAISE(auto writer, tx->NewDataWriter(target));
    auto st = WriteBin(store_, base, bin, o.zorder_by, writer.get());
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
      for (const AddFile* f : bins[b]) tx->Remove(*f, /*data_change=*/false);
      for (AddFile a : outputs[b]) {
        a.data_change = false;
        commit->actions.adds.push_back(std::move(a));
      }
    }
    if (commit->actions.commit_info) {  // set by the commit: keep its metrics true
      int64_t bytes = 0;
      for (const auto& a : commit->actions.adds) bytes += a.size;
      (*commit->actions.commit_info)["operationMetrics"]["numFiles"] = std::to_string(commit->actions.adds.size());
      (*commit->actions.commit_info)["operationMetrics"]["numRemovedFiles"] =
          std::to_string(commit->actions.removes.size());
      (*commit->actions.commit_info)["operationMetrics"]["numOutputBytes"] = std::to_string(bytes);
    }
  };
  PendingCommit& commit = tx->commit();
  assemble(&commit);
  commit.drop_removed = [&](const std::set<std::string>& removed) {
    for (size_t b = 0; b < bins.size(); ++b) {
      for (const AddFile* f : bins[b]) dropped[b] = dropped[b] || removed.count(FileKey(f->path, f->deletion_vector));
    }
    assemble(&commit);
    return !commit.actions.removes.empty();
  };

  Json params = Json::object();
  params["predicate"] = DumpJson(Json(o.where.empty() ? std::vector<std::string>{} : std::vector<std::string>{Describe(o.where)}));
  params["zOrderBy"] = DumpJson(Json(o.zorder_by));
  params["targetSize"] = std::to_string(target);
  CommitResult counts;
  for (int64_t n : rows) counts.rows_written += n;
  auto committed = tx->Commit("OPTIMIZE", params, counts);
  // The new files of bins that lost to a concurrent commit are certainly unreferenced, and
  // so are all of them when the whole commit did.
  bool lost = !committed.ok() && IsCommitConflict(committed.status());
  for (size_t b = 0; b < bins.size(); ++b) {
    if (!lost && !dropped[b]) continue;
    for (const auto& a : outputs[b]) (void)store_->fs()->DeleteFile(DataFilePath(*store_, a.path));
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
      result.after.bytes += a.size;
    }
    for (const AddFile* f : bins[b]) {
      ++result.files_removed;
      result.after.bytes -= f->size;
    }
  }
  result.partitions_optimized = static_cast<int64_t>(partitions_done.size());
  result.after.files += result.files_added - result.files_removed;
  return result;
}

}  // namespace inlet::delta
