// Writing data files: rows grouped into Hive-style partition directories, Parquet files
// rolled at a target size, statistics gathered for each file.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <arrow/record_batch.h>
#include <arrow/result.h>

#include "inlet/delta/actions.h"
#include "inlet/storage/log_store.h"

namespace inlet::delta {

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
};

/// Not thread-safe: one writer per load.
class DataWriter {
 public:
  /// schema: the table's logical schema; batches passed to Write must match it.
  static arrow::Result<std::unique_ptr<DataWriter>> Make(std::shared_ptr<const TableStore> store,
                                                         std::shared_ptr<arrow::Schema> schema,
                                                         DataWriterOptions options);
  ~DataWriter();

  arrow::Status Write(const std::shared_ptr<arrow::RecordBatch>& batch);
  /// Closes every open file; later rows start new files (a merge keeps one output file per
  /// rewritten input file this way, so key ranges stay as narrow as they were).
  arrow::Status Flush();
  /// Closes every open file and returns the add actions (dataChange=true) for them.
  arrow::Result<std::vector<AddFile>> Finish();

  int64_t rows_written() const { return rows_written_; }

 private:
  struct OpenFile;
  DataWriter(std::shared_ptr<const TableStore> store, std::shared_ptr<arrow::Schema> schema,
             std::shared_ptr<arrow::Schema> data_schema, std::vector<int> partition_indexes,
             std::vector<int> data_indexes, DataWriterOptions options);

  /// The batch without its partition columns (data_schema_).
  std::shared_ptr<arrow::RecordBatch> DataColumns(const arrow::RecordBatch& batch) const;
  /// Writes rows of one partition (data columns only) to its open file.
  arrow::Status WritePartition(const std::string& key, const PartitionValues& values,
                               const std::shared_ptr<arrow::RecordBatch>& data);
  arrow::Result<std::unique_ptr<OpenFile>> StartFile(const PartitionValues& values);
  arrow::Status CloseFile(OpenFile* file);

  std::shared_ptr<const TableStore> store_;
  std::shared_ptr<arrow::Schema> schema_;
  std::shared_ptr<arrow::Schema> data_schema_;
  std::vector<int> partition_indexes_;
  std::vector<int> data_indexes_;
  DataWriterOptions options_;
  std::map<std::string, std::unique_ptr<OpenFile>> open_;
  std::vector<AddFile> done_;
  std::string write_id_;
  int file_counter_ = 0;
  int64_t rows_written_ = 0;
};

}  // namespace inlet::delta
