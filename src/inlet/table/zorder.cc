#include "inlet/table/zorder.h"

#include <arrow/array/concatenate.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <numeric>

namespace inlet {

namespace {

// Each row's dense rank (0-based) in one column, and the number of distinct ranks.
arrow::Result<std::vector<uint64_t>> Ranks(const arrow::ChunkedArray& column,
                                           uint64_t* distinct) {
  std::shared_ptr<arrow::Array> values;
  if (column.num_chunks() == 1) {
    values = column.chunk(0);
  } else {
    ARROW_ASSIGN_OR_RAISE(values, arrow::Concatenate(column.chunks()));
  }
  arrow::compute::RankOptions options(arrow::compute::SortOrder::Ascending,
                                      arrow::compute::NullPlacement::AtEnd,
                                      arrow::compute::RankOptions::Dense);
  ARROW_ASSIGN_OR_RAISE(auto ranked,
                        arrow::compute::CallFunction("rank", {values}, &options));
  auto ranked_array = ranked.make_array();
  const auto& ranks = static_cast<const arrow::UInt64Array&>(*ranked_array);
  std::vector<uint64_t> out(ranks.length());
  uint64_t max = 0;
  for (int64_t i = 0; i < ranks.length(); ++i) {
    out[i] = ranks.Value(i) - 1;
    max = std::max(max, out[i]);
  }
  *distinct = ranks.length() == 0 ? 0 : max + 1;
  return out;
}

}  // namespace

arrow::Result<std::shared_ptr<arrow::UInt64Array>> ZOrderIndices(
    const arrow::Table& rows, const std::vector<std::string>& columns) {
  if (columns.empty() || columns.size() > 64) {
    return arrow::Status::Invalid("Z-order needs between 1 and 64 columns, got ",
                                  columns.size());
  }
  const int bits = static_cast<int>(64 / columns.size());
  const int64_t n = rows.num_rows();
  std::vector<std::vector<uint64_t>> scaled;
  for (const auto& name : columns) {
    auto column = rows.GetColumnByName(name);
    if (!column)
      return arrow::Status::Invalid("Z-order column '", name, "' is not in the table");
    if (!arrow::is_primitive(column->type()->id()) &&
        !arrow::is_base_binary_like(column->type()->id()) &&
        !arrow::is_decimal(column->type()->id())) {
      return arrow::Status::Invalid("Z-order column '", name, "' has type ",
                                    column->type()->ToString(),
                                    ", which cannot be ordered");
    }
    uint64_t distinct = 0;
    auto ranks = Ranks(*column, &distinct);
    if (!ranks.ok())
      return ranks.status().WithMessage("Z-order column '", name,
                                        "': ", ranks.status().message());
    // Spread the ranks over the column's bits, so that every column weighs the same.
    const unsigned __int128 levels = static_cast<unsigned __int128>(1) << bits;
    if (distinct > 1) {
      for (auto& r : *ranks) r = static_cast<uint64_t>(r * levels / distinct);
    }
    scaled.push_back(std::move(*ranks));
  }
  std::vector<uint64_t> z(n, 0);
  for (int b = bits - 1; b >= 0; --b) {
    for (const auto& ranks : scaled) {
      for (int64_t i = 0; i < n; ++i) z[i] = (z[i] << 1) | ((ranks[i] >> b) & 1);
    }
  }
  std::vector<uint64_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](uint64_t a, uint64_t b) { return z[a] < z[b]; });
  arrow::UInt64Builder builder;
  ARROW_RETURN_NOT_OK(builder.AppendValues(order));
  std::shared_ptr<arrow::UInt64Array> out;
  ARROW_RETURN_NOT_OK(builder.Finish(&out));
  return out;
}

}  // namespace inlet
