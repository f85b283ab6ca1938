// Quality gates on the rows a load writes: identical rows folded, and null or repeated
// keys failed or quarantined.
#pragma once

#include <arrow/result.h>
#include <arrow/table.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "inlet/table.h"

namespace inlet::load {

enum class RejectPolicy { kFail, kQuarantine, kAllow };

struct QualityOptions {
  std::vector<std::string> keys;
  RejectPolicy null_keys = RejectPolicy::kFail;
  RejectPolicy duplicate_keys = RejectPolicy::kFail;
};

struct QualityResult {
  std::shared_ptr<arrow::Table> accepted;
  /// Rows dropped because an identical row (every column equal) came earlier in the run.
  int64_t deduplicated = 0;
  /// Rejected rows with a trailing string column _reject_reason; null when none.
  std::shared_ptr<arrow::Table> rejected;
};

/// With keys: drops rows identical to an earlier row of the run (unless duplicate_keys is
/// allow), then applies the key gates: null keys, and keys repeated with different values
/// (the first occurrence is kept). A gate set to fail fails with Invalid naming the key
/// and file. Without keys, every row passes.
arrow::Result<QualityResult> ApplyKeyGates(const std::shared_ptr<arrow::Table>& rows,
                                           const QualityOptions& options,
                                           const std::vector<std::string>& file_names);

}  // namespace inlet::load
