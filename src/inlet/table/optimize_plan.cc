#include "inlet/table/optimize_plan.h"

#include <arrow/compute/api.h>
#include <arrow/table.h>

#include <algorithm>
#include <chrono>
#include <map>

#include "inlet/status.h"
#include "inlet/table/merge_files.h"
#include "inlet/table/partition.h"
#include "inlet/table/value.h"
#include "inlet/table/zorder.h"

namespace inlet::table {

std::vector<Bin> PackBins(const std::vector<const DataFile*>& files, int64_t target) {
  Bin small;
  for (const DataFile* f : files) {
    if (f->size_bytes < target || f->has_deletes) small.push_back(f);
  }
  std::sort(small.begin(), small.end(), [](const DataFile* a, const DataFile* b) {
    return a->size_bytes != b->size_bytes ? a->size_bytes < b->size_bytes
                                          : a->path < b->path;
  });
  std::vector<Bin> bins;
  Bin bin;
  int64_t bytes = 0;
  auto close = [&] {
    if (bin.size() > 1 || (bin.size() == 1 && bin[0]->has_deletes)) bins.push_back(bin);
    bin.clear();
    bytes = 0;
  };
  for (const DataFile* f : small) {
    if (!bin.empty() && bytes + f->size_bytes > target) close();
    bin.push_back(f);
    bytes += f->size_bytes;
  }
  close();
  return bins;
}

namespace {

// The predicate of options.where, bound; it may use partition columns only.
arrow::Result<std::vector<BoundPredicate>> PartitionFilter(const Transaction& tx,
                                                           const OptimizeOptions& o) {
  const std::string& loc = tx.location();
  const auto& partition_columns = tx.partition_columns();
  std::string partitioning =
      !partition_columns.empty()
          ? " (partition columns: " + JoinNames(partition_columns, ", ") + ")"
      : tx.partitioned()
          ? " (the table's partitions are transforms of its columns, hidden, which a "
            "predicate cannot name yet: optimize without --where compacts each partition)"
          : " (the table is not partitioned)";
  std::vector<BoundPredicate> where;
  if (o.where.empty()) return where;
  auto bound = BindConjunction(o.where, *tx.schema());
  if (!bound.ok())
    return bound.status().WithMessage("cannot optimize ", loc, ": ",
                                      bound.status().message());
  where = std::move(*bound);
  if (auto column = NonPartitionColumn(where, partition_columns)) {
    return arrow::Status::Invalid("cannot optimize ", loc,
                                  ": the predicate may only use partition columns, and '",
                                  *column, "' is not one", partitioning);
  }
  return where;
}

arrow::Status CheckZOrderColumns(const Transaction& tx, const OptimizeOptions& o) {
  const auto& partition_columns = tx.partition_columns();
  for (const auto& name : o.zorder_by) {
    if (tx.schema()->GetFieldIndex(name) < 0) {
      return arrow::Status::Invalid("cannot optimize ", tx.location(),
                                    ": Z-order column '", name, "' is not in the table");
    }
    if (std::find(partition_columns.begin(), partition_columns.end(), name) !=
        partition_columns.end()) {
      return arrow::Status::Invalid(
          "cannot optimize ", tx.location(), ": Z-order column '", name,
          "' is a partition column (each file holds one value of it already)");
    }
  }
  return arrow::Status::OK();
}

}  // namespace

arrow::Result<OptimizePlan> PlanOptimize(const Transaction& tx,
                                         const OptimizeOptions& o) {
  if (o.target_size < 0) {
    return arrow::Status::Invalid("cannot optimize ", tx.location(),
                                  ": the target size must be positive");
  }
  ARROW_ASSIGN_OR_RAISE(auto where, PartitionFilter(tx, o));
  ARROW_RETURN_NOT_OK(CheckZOrderColumns(tx, o));
  OptimizePlan plan;
  plan.target = o.target_size > 0 ? o.target_size : tx.target_file_size();
  std::map<PartitionValues, std::vector<const DataFile*>> partitions;
  for (const auto& f : tx.files()) {
    ++plan.before.files;
    plan.before.bytes += f.size_bytes;
    if (where.empty() || PartitionSatisfies(f.partition_values, where))
      partitions[f.partition_values].push_back(&f);
  }
  for (const auto& [values, files] : partitions) {
    size_t before = plan.bins.size();
    if (!o.zorder_by.empty()) {
      plan.bins.push_back(files);
    } else {
      for (auto& bin : PackBins(files, plan.target)) plan.bins.push_back(std::move(bin));
    }
    if (plan.bins.size() > before) ++plan.partitions;
  }
  return plan;
}

arrow::Status WriteBin(const Transaction& tx, const Bin& bin,
                       const std::vector<std::string>& zorder_by, DataWriter* writer) {
  if (zorder_by.empty()) {
    // One file at a time.
    for (const DataFile* f : bin) {
      ARROW_ASSIGN_OR_RAISE(auto reader, tx.ReadFile(*f, {}));
      while (true) {
        std::shared_ptr<arrow::RecordBatch> batch;
        ARROW_RETURN_NOT_OK(reader->ReadNext(&batch));
        if (!batch) break;
        ARROW_RETURN_NOT_OK(writer->Write(batch));
      }
    }
  } else {
    // Z-order needs the partition's rows together.
    std::vector<std::shared_ptr<arrow::Table>> tables;
    for (const DataFile* f : bin) {
      ARROW_ASSIGN_OR_RAISE(auto reader, tx.ReadFile(*f, {}));
      ARROW_ASSIGN_OR_RAISE(auto t, reader->ToTable());
      tables.push_back(std::move(t));
    }
    ARROW_ASSIGN_OR_RAISE(auto rows, arrow::ConcatenateTables(tables));
    ARROW_ASSIGN_OR_RAISE(auto order, ZOrderIndices(*rows, zorder_by));
    ARROW_ASSIGN_OR_RAISE(auto sorted,
                          arrow::compute::Take(arrow::Datum(rows), arrow::Datum(order)));
    ARROW_RETURN_NOT_OK(WriteTable(writer, sorted.table()));
  }
  return writer->Flush();
}

arrow::Result<OptimizeResult> OptimizeWithRetries(
    const OptimizeOptions& options,
    const std::function<arrow::Result<OptimizeResult>()>& once) {
  auto start = std::chrono::steady_clock::now();
  int attempts = 0;
  // A concurrent commit removed files being compacted: plan again from the new version.
  auto result = RetryOnConflict(std::max(1, options.max_attempts) - 1, [&] {
    ++attempts;
    return once();
  });
  if (!result.ok()) return result.status();
  result->attempts = attempts;
  result->duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::steady_clock::now() - start)
                            .count();
  return result;
}

}  // namespace inlet::table
