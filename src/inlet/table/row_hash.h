// 128-bit hashes of rows, for comparing rows by value (snapshot diff, history tracking)
// without materialising them as strings.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/table.h>

#include <cstdint>
#include <string>
#include <vector>

namespace inlet {

struct RowHash {
  uint64_t lo = 0;
  uint64_t hi = 0;
  bool operator==(const RowHash& o) const { return lo == o.lo && hi == o.hi; }
  bool operator!=(const RowHash& o) const { return !(*this == o); }
};

/// One hash per row of the values in columns (in that order; a null hashes apart from
/// every value). Rows with equal values in columns of equal types hash equal, across
/// tables; rows that differ collide with probability about 2^-128. Fixed-width values
/// hash their bytes, strings and binaries their bytes and length; nested values their
/// JSON form. Invalid names a missing column.
arrow::Result<std::vector<RowHash>> HashRows(const arrow::Table& table,
                                             const std::vector<std::string>& columns);
arrow::Result<std::vector<RowHash>> HashRows(const arrow::RecordBatch& batch,
                                             const std::vector<std::string>& columns);

}  // namespace inlet
