// Opening Parquet data files and locating columns in them.
#pragma once

#include <arrow/filesystem/filesystem.h>
#include <arrow/result.h>
#include <parquet/arrow/reader.h>
#include <parquet/arrow/schema.h>

#include <memory>
#include <string>
#include <vector>

namespace inlet {

/// How a Parquet file is read: kParallel decodes columns on Arrow's thread pool and
/// coalesces reads ahead (what large files and object stores want); kSerial does neither,
/// which saves starting the pools for a small local file.
enum class ParquetReads { kParallel, kSerial };

/// Opens a Parquet file for Arrow reads: INT96 timestamps coerced to microseconds,
/// batches of batch_size rows. Errors name the file.
arrow::Result<std::unique_ptr<parquet::arrow::FileReader>> OpenParquetFile(
    const std::shared_ptr<arrow::fs::FileSystem>& fs, const std::string& path,
    int64_t batch_size = 64 * 1024, ParquetReads reads = ParquetReads::kParallel);

/// Batches of the row groups and leaf columns of file (all when empty), as
/// FileReader::GetRecordBatchReader gives them (the same schema, rows and values), except
/// that top-level decimal columns stored as fixed-length byte arrays are decoded here:
/// Arrow's reader appends such values one by one to a fixed-size binary builder and then
/// converts every value, several times the work of converting the page's values
/// straight into the decimal array (docs/architecture.md, "Reading Parquet").
arrow::Result<std::unique_ptr<arrow::RecordBatchReader>> ReadBatches(
    parquet::arrow::FileReader* file, std::vector<int> row_groups = {},
    std::vector<int> leaves = {});

/// The leaf column indices under a schema field (what the reader's column selection
/// takes).
void CollectLeafIndices(const parquet::arrow::SchemaField& field, std::vector<int>* out);

}  // namespace inlet
