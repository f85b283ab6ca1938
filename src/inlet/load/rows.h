// Row-level helpers for loads: derived partition columns, row keys, and selecting rows.
#pragma once

#include <arrow/compute/api.h>
#include <arrow/result.h>
#include <arrow/table.h>

#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "inlet/table.h"
#include "inlet/table/row_keys.h"

namespace inlet::load {

/// A partition column derived from a timestamp or date column (transform year, month, day
/// or hour, in UTC), or a plain column (transform empty).
struct DerivedColumn {
  std::string name;
  std::string source;
  std::string transform;
};

/// Adds (or replaces) the derived columns. Invalid names a missing source column or one
/// that is not a timestamp/date.
arrow::Result<std::shared_ptr<arrow::Table>> AddDerivedColumns(
    std::shared_ptr<arrow::Table> table, const std::vector<DerivedColumn>& columns);

/// The keys (as RowKeys) of the table's rows matching filter.
arrow::Result<std::unordered_set<std::string>> ExistingKeys(
    const Snapshot& snapshot, const Conjunction& filter,
    const std::vector<std::string>& key_columns, const std::vector<std::string>& columns);

/// The rows where mask is true.
arrow::Result<std::shared_ptr<arrow::Table>> SelectRows(
    const std::shared_ptr<arrow::Table>& table, const arrow::Datum& mask);

/// The source file of a row, by the file-index column of ReadSourceFiles (names indexes
/// it); empty when unknown.
std::string FileOfRow(const arrow::Table& t, int64_t row,
                      const std::vector<std::string>& names);

/// Where a row came from, for messages: "FILE row N", N counting that file's rows from 1
/// (a file's rows are contiguous); "row N" of the table when the file is unknown.
std::string PlaceOfRow(const arrow::Table& t, int64_t row,
                       const std::vector<std::string>& names);

/// The data columns of a source table: every column but the file index.
std::vector<std::string> DataColumns(const arrow::Table& t);

/// A boolean mask from a per-row predicate.
arrow::Result<arrow::Datum> MaskOf(int64_t rows,
                                   const std::function<bool(int64_t)>& keep);

}  // namespace inlet::load
