// Rows and counts for the unit tests of tables.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <memory>
#include <string>

#include "inlet/table.h"

namespace inlet::testing {

/// id: int64, p: string, v: double, the row type of most table tests.
std::shared_ptr<arrow::DataType> IdPartValueRow();

/// Rows of a struct type from a JSON array of objects, as one reader.
std::shared_ptr<arrow::RecordBatchReader> JsonRows(
    const std::shared_ptr<arrow::DataType>& row, const std::string& json);

/// The rows of the snapshot that satisfy where ("" for all).
int64_t CountRows(const Snapshot& snapshot, const std::string& where = "");

}  // namespace inlet::testing
