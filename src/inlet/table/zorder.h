// Z-order (Morton order) of rows by several columns, for clustering data files so that
// statistics on each of the columns prune files.
#pragma once

#include <arrow/array.h>
#include <arrow/result.h>
#include <arrow/table.h>

#include <memory>
#include <string>
#include <vector>

namespace inlet {

/// The positions of rows in Z-order of `columns`: each column's values are ranked (dense,
/// nulls last), the ranks scaled to 64/n bits, and their bits interleaved, most
/// significant first. Ties keep input order. Fails with Invalid naming a column that is
/// missing or cannot be ordered (nested types).
arrow::Result<std::shared_ptr<arrow::UInt64Array>> ZOrderIndices(
    const arrow::Table& rows, const std::vector<std::string>& columns);

}  // namespace inlet
