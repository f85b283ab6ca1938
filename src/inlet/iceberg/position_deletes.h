// Writing position delete files (spec "Position Delete Files"): the merge-on-read form of
// a row-level change on format version 2 tables. inlet writes one file per data file it
// marks (file-scoped: the manifest entry names the data file in referenced_data_file), so
// that the delete file goes with its data file when that is rewritten or compacted.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <string>
#include <vector>

#include "inlet/storage/table_store.h"

namespace inlet::iceberg {

/// The reserved field ids of a position delete file's columns.
inline constexpr int32_t kDeleteFilePathId = 2147483546;
inline constexpr int32_t kDeletePosId = 2147483545;

/// Writes the Parquet position delete file `rel` (relative to the store's root) deleting
/// `positions` (ascending) of the data file `data_file` (its URI as manifests name it).
/// Returns the file's size in bytes.
arrow::Result<int64_t> WritePositionDeleteFile(const TableStore& store,
                                               const std::string& rel,
                                               const std::string& data_file,
                                               const std::vector<uint64_t>& positions);

}  // namespace inlet::iceberg
