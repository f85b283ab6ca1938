#include "inlet/table/parquet_file.h"

#include <arrow/io/interfaces.h>
#include <arrow/memory_pool.h>
#include <parquet/exception.h>
#include <parquet/file_reader.h>

namespace inlet {

arrow::Result<std::unique_ptr<parquet::arrow::FileReader>> OpenParquetFile(
    const std::shared_ptr<arrow::fs::FileSystem>& fs, const std::string& path,
    int64_t batch_size, ParquetReads reads) {
  auto input = fs->OpenInputFile(path);
  if (!input.ok()) {
    return arrow::Status::IOError("cannot open data file ", path, ": ",
                                  input.status().message());
  }
  parquet::ArrowReaderProperties props;
  props.set_coerce_int96_timestamp_unit(arrow::TimeUnit::MICRO);
  props.set_batch_size(batch_size);
  props.set_pre_buffer(reads == ParquetReads::kParallel);
  props.set_use_threads(reads == ParquetReads::kParallel);
  std::unique_ptr<parquet::ParquetFileReader> raw;
  try {
    raw = parquet::ParquetFileReader::Open(*input);
  } catch (const parquet::ParquetException& e) {
    return arrow::Status::IOError("cannot read Parquet file ", path, ": ", e.what());
  }
  auto reader = parquet::arrow::FileReader::Make(arrow::default_memory_pool(),
                                                 std::move(raw), props);
  if (!reader.ok()) {
    return arrow::Status::IOError("cannot read Parquet file ", path, ": ",
                                  reader.status().message());
  }
  return reader;
}

void CollectLeafIndices(const parquet::arrow::SchemaField& field, std::vector<int>* out) {
  if (field.is_leaf()) {
    out->push_back(field.column_index);
    return;
  }
  for (const auto& child : field.children) CollectLeafIndices(child, out);
}

}  // namespace inlet
