// Writing data files: rows grouped into Hive-style partition directories, Parquet files
// rolled at a target size, statistics gathered for each file. What it writes it describes
// in format-neutral terms (WrittenFile), from which each table format makes its own
// records (Delta Lake: add actions).
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "inlet/storage/table_store.h"
#include "inlet/table/file_stats.h"
#include "inlet/table/partition.h"

namespace parquet {
class SchemaDescriptor;
}  // namespace parquet

namespace inlet::table {

/// A data file the writer wrote.
struct WrittenFile {
  /// Relative to the table root, as on storage (not URI-encoded).
  std::string path;
  PartitionValues partition_values;
  int64_t size_bytes = 0;
  /// When the file was closed, in milliseconds since the epoch.
  int64_t modification_time_ms = 0;
  /// The row count, and the statistics of the first num_indexed_cols leaf columns.
  FileStatistics statistics;
  /// Whether the file's rows are in the transaction's WriteOrder.
  bool sorted = false;
};

/// How integer columns without a dictionary are encoded.
enum class IntegerEncoding {
  /// DELTA_BINARY_PACKED (Parquet's delta encoding, unrelated to Delta Lake): bit-packed
  /// deltas, smaller and faster to encode and decode than plain values under the codec.
  /// Every current reader reads it (Spark 3.3+, delta-rs, DuckDB, Trino, parquet-mr).
  kDeltaBinaryPacked,
  /// PLAIN, for readers older than those.
  kPlain,
};

struct DataWriterOptions {
  std::vector<std::string> partition_columns;
  int64_t target_file_size = 128LL * 1024 * 1024;
  std::string compression = "zstd";
  /// Leaf columns with statistics; negative for all.
  int num_indexed_cols = 32;
  /// A directory (relative to the table root) that files go under, e.g. "_change_data".
  std::string directory;
  /// File name prefix ("part" for data files, "cdc" for change data).
  std::string file_prefix = "part";
  /// The encoding of integer columns (INT32 and INT64 leaves: integers, dates,
  /// timestamps, decimals of precision up to 18) written without a dictionary.
  IntegerEncoding integer_encoding = IntegerEncoding::kDeltaBinaryPacked;
  /// Hidden partitioning (Iceberg's transforms): partition values computed from each
  /// batch by `derive`, one array per field of `derived_partitions`, instead of
  /// partition columns of the schema. Every column of the schema is then written, and
  /// the directories and WrittenFile::partition_values use the derived fields' names.
  /// partition_columns must be empty.
  arrow::FieldVector derived_partitions;
  /// Whether an empty string (or binary) partition value is written as null, as Delta
  /// Lake's protocol reads it; Iceberg keeps '' apart from null.
  bool empty_partition_value_is_null = true;
  std::function<arrow::Result<arrow::ArrayVector>(const arrow::RecordBatch&)> derive;
  /// The schema's last columns that a batch may lack (Iceberg v3's row lineage, which
  /// only rows moved unchanged carry): written null in the rows of such batches.
  int optional_trailing_columns = 0;
};

/// Not thread-safe: one writer per load, called from one thread (which may hand the
/// encoding to a thread of the writer, see WriteInBackground).
class DataWriter {
 public:
  /// schema: the table's logical schema; batches passed to Write must match it (or lack
  /// only its optional trailing columns).
  static arrow::Result<std::unique_ptr<DataWriter>> Make(
      std::shared_ptr<const TableStore> store, std::shared_ptr<arrow::Schema> schema,
      DataWriterOptions options);
  ~DataWriter();

  /// From now on Write and Flush hand their work to a thread of the writer's own and
  /// return (waiting only while two batches are queued), so that encoding overlaps the
  /// caller's work. A failure is returned by the next call, and nothing after it is
  /// written.
  void WriteInBackground();

  arrow::Status Write(const std::shared_ptr<arrow::RecordBatch>& batch);
  /// Closes every open file; later rows start new files (a merge keeps one output file
  /// per rewritten input file this way, so key ranges stay as narrow as they were).
  arrow::Status Flush();
  /// Closes every open file and returns every file written.
  arrow::Result<std::vector<WrittenFile>> Finish();

  int64_t rows_written() const { return rows_written_; }

 private:
  struct OpenFile;
  struct Background;
  DataWriter(std::shared_ptr<const TableStore> store,
             std::shared_ptr<arrow::Schema> schema,
             std::shared_ptr<arrow::Schema> data_schema,
             std::vector<int> partition_indexes, std::vector<int> data_indexes,
             DataWriterOptions options);

  arrow::Status WriteNow(const std::shared_ptr<arrow::RecordBatch>& batch);
  arrow::Status FlushNow();
  /// The background thread: encodes the queued batches and flushes in order.
  void EncodeInBackground();
  /// Queues a batch (null: a flush) for the background thread.
  arrow::Status Enqueue(std::shared_ptr<arrow::RecordBatch> item);
  /// Ends the background thread once it has done its queue (or, with discard, the item in
  /// hand only); its first error, if any.
  arrow::Status StopBackground(bool discard);
  /// The batch without its partition columns (data_schema_).
  std::shared_ptr<arrow::RecordBatch> DataColumns(const arrow::RecordBatch& batch) const;
  /// Writes rows of one partition (data columns only) to its open file.
  arrow::Status WritePartition(const std::string& key, const PartitionValues& values,
                               const std::shared_ptr<arrow::RecordBatch>& data);
  arrow::Result<std::unique_ptr<OpenFile>> StartFile(const PartitionValues& values);
  arrow::Status CloseFile(OpenFile* file);
  /// Finds the columns whose dictionary the first batch already overflows.
  arrow::Status ProbeDictionaries(const arrow::RecordBatch& batch);

  std::shared_ptr<const TableStore> store_;
  std::shared_ptr<arrow::Schema> schema_;
  std::shared_ptr<arrow::Schema> data_schema_;
  std::shared_ptr<parquet::SchemaDescriptor>
      parquet_schema_;  // of data_schema_ in the files
  std::vector<int> partition_indexes_;
  std::vector<int> data_indexes_;
  DataWriterOptions options_;
  std::map<std::string, std::unique_ptr<OpenFile>> open_;
  std::vector<WrittenFile> done_;
  /// Leaf columns (dotted paths) written without a dictionary: theirs overflowed before.
  std::set<std::string> plain_columns_;
  /// Leaf columns written DELTA_BINARY_PACKED when not dictionary-encoded
  /// (integer_encoding).
  std::set<std::string> delta_columns_;
  bool probed_ = false;
  std::unique_ptr<Background> background_;
  std::string write_id_;
  int file_counter_ = 0;
  int64_t rows_written_ = 0;
};

}  // namespace inlet::table
