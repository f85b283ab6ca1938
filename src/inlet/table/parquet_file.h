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

/// The leaf column indices under a schema field (what the reader's column selection
/// takes).
void CollectLeafIndices(const parquet::arrow::SchemaField& field, std::vector<int>* out);

}  // namespace inlet
