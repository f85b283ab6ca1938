// Identifying rows by key columns (or by every column), across tables and files.
#pragma once

#include <string>
#include <vector>

#include <arrow/result.h>
#include <arrow/table.h>

namespace inlet {

/// One string per row identifying it: the values of key_columns, or of every column when
/// key_columns is empty (a row hash). Equal rows give equal strings across tables whose
/// columns have the same types. Invalid names a missing key column.
arrow::Result<std::vector<std::string>> RowKeys(const arrow::Table& table,
                                                const std::vector<std::string>& key_columns);

}  // namespace inlet
