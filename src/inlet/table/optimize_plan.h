// Planning a compaction, whatever the table format: which live files of which partitions
// go together into new files (bin-packing, or a whole partition for Z-order), and writing
// each group's rows. The format commits the result (Delta Lake: delta/table_optimize.cc),
// dropping the groups a concurrent commit took files from.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "inlet/table.h"
#include "inlet/table/data_writer.h"
#include "inlet/table/transaction.h"

namespace inlet::table {

/// Files compacted together into one set of new files.
using Bin = std::vector<const DataFile*>;

/// Packs a partition's small files into bins of about target bytes, smallest first. Files
/// at least target large stay unless they carry deletes (rewriting drops the deleted
/// rows); a bin of one file without deletes would gain nothing and is left out.
std::vector<Bin> PackBins(const std::vector<const DataFile*>& files, int64_t target);

struct OptimizePlan {
  std::vector<Bin> bins;
  /// The size files are packed to.
  int64_t target = 0;
  /// The table's live files.
  FileCounts before;
  /// Partitions with a bin.
  int64_t partitions = 0;
};

/// The bins of an optimize of tx's base: the files of the partitions options.where
/// selects (it may name partition columns only), packed (or, with zorder_by, whole
/// partitions). Invalid names a predicate column or Z-order column that does not fit.
arrow::Result<OptimizePlan> PlanOptimize(const Transaction& tx,
                                         const OptimizeOptions& options);

/// Runs `once` (an optimize planned on the latest version) again while it loses to a
/// concurrent commit, up to options.max_attempts times in all; the result records the
/// attempts and the whole duration.
arrow::Result<OptimizeResult> OptimizeWithRetries(
    const OptimizeOptions& options,
    const std::function<arrow::Result<OptimizeResult>()>& once);

/// Writes a bin's rows (deleted rows dropped; sorted along the Z-order curve of zorder_by
/// when given, which holds the bin's rows in memory) to writer, and flushes it.
arrow::Status WriteBin(const Transaction& tx, const Bin& bin,
                       const std::vector<std::string>& zorder_by, DataWriter* writer);

}  // namespace inlet::table
