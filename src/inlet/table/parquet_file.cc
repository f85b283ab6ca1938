#include "inlet/table/parquet_file.h"

#include <arrow/array.h>
#include <arrow/buffer.h>
#include <arrow/io/interfaces.h>
#include <arrow/memory_pool.h>
#include <arrow/record_batch.h>
#include <arrow/util/bit_util.h>
#include <arrow/util/endian.h>
#include <parquet/column_reader.h>
#include <parquet/exception.h>
#include <parquet/file_reader.h>

#include <algorithm>
#include <cstring>
#include <utility>

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

namespace {

// A big-endian two's complement integer of 1 to 8 bytes, sign-extended.
inline int64_t BigEndianInt(const uint8_t* p, int width) {
  uint64_t x = 0;
  std::memcpy(&x, p, width);
  x = arrow::bit_util::FromBigEndian(x);  // p[0] is now the top byte
  return static_cast<int64_t>(x) >> (8 * (8 - width));
}

// One top-level decimal column stored as FIXED_LEN_BYTE_ARRAY, read across row groups
// with Parquet's column reader (whose values point into the page or its dictionary) and
// converted straight into Decimal128 values.
class DecimalColumn {
 public:
  DecimalColumn(parquet::ParquetFileReader* file, std::vector<int> row_groups, int leaf,
                std::shared_ptr<arrow::DataType> type)
      : file_(file),
        row_groups_(std::move(row_groups)),
        leaf_(leaf),
        type_(std::move(type)) {
    const auto* descr = file_->metadata()->schema()->Column(leaf_);
    width_ = descr->type_length();
    nullable_ = descr->max_definition_level() > 0;
    name_ = descr->path()->ToDotString();
  }

  arrow::Result<std::shared_ptr<arrow::Array>> Read(int64_t rows) {
    ARROW_ASSIGN_OR_RAISE(auto data, arrow::AllocateBuffer(rows * 16));
    std::shared_ptr<arrow::Buffer> validity;
    uint8_t* valid = nullptr;
    if (nullable_) {
      ARROW_ASSIGN_OR_RAISE(validity, arrow::AllocateBitmap(rows));
      valid = validity->mutable_data();
    }
    auto* out = reinterpret_cast<uint64_t*>(data->mutable_data());
    int64_t got = 0, nulls = 0;
    while (got < rows) {
      bool has_next = false;
      try {
        has_next = reader_ && reader_->HasNext();  // reads the next page's header
      } catch (const parquet::ParquetException& e) {
        return arrow::Status::IOError("column '", name_, "': ", e.what());
      }
      if (!has_next) {
        if (next_group_ >= row_groups_.size())
          return arrow::Status::IOError("column '", name_,
                                        "' holds fewer values than its row groups' rows");
        std::shared_ptr<parquet::ColumnReader> column;
        try {
          column = file_->RowGroup(row_groups_[next_group_++])->Column(leaf_);
        } catch (const parquet::ParquetException& e) {
          return arrow::Status::IOError("column '", name_, "': ", e.what());
        }
        reader_ = std::static_pointer_cast<parquet::FixedLenByteArrayReader>(column);
        continue;
      }
      // In small steps, so that the values are still in cache when converted.
      const int64_t want = std::min<int64_t>(rows - got, 8192);
      values_.resize(want);
      levels_.resize(want);
      int64_t values_read = 0, levels_read = 0;
      try {
        levels_read = reader_->ReadBatch(want, nullable_ ? levels_.data() : nullptr,
                                         nullptr, values_.data(), &values_read);
      } catch (const parquet::ParquetException& e) {
        return arrow::Status::IOError("column '", name_, "': ", e.what());
      }
      if (!nullable_) levels_read = values_read;
      if (levels_read <= 0)  // a page that claims values it does not give
        return arrow::Status::IOError("column '", name_, "': a page yields no values");
      // The values, dense, then (when some are null) moved to their rows from the last.
      ConvertAll(values_.data(), values_read, out + 2 * got);
      if (valid) {
        if (values_read == levels_read) {
          arrow::bit_util::SetBitsTo(valid, got, levels_read, true);
        } else {
          int64_t v = values_read;
          for (int64_t i = levels_read - 1; i >= 0; --i) {
            uint64_t* slot = out + 2 * (got + i);
            if (levels_[i] == 0) {
              arrow::bit_util::ClearBit(valid, got + i);
              slot[0] = slot[1] = 0;
              ++nulls;
            } else {
              arrow::bit_util::SetBit(valid, got + i);
              const uint64_t* from = out + 2 * (got + --v);
              slot[0] = from[0];
              slot[1] = from[1];
            }
          }
        }
      }
      got += levels_read;
    }
    return arrow::MakeArray(arrow::ArrayData::Make(
        type_, rows, {nulls > 0 ? validity : nullptr, std::move(data)}, nulls));
  }

 private:
  // Little-endian Decimal128 words (low, high) from width big-endian bytes each.
  template <int kWidth>
  static void ConvertWidth(const parquet::FixedLenByteArray* in, int64_t n,
                           uint64_t* out) {
    for (int64_t i = 0; i < n; ++i, out += 2) {
      const uint8_t* p = in[i].ptr;
      if constexpr (kWidth <= 8) {
        int64_t v = BigEndianInt(p, kWidth);
        out[0] = static_cast<uint64_t>(v);
        out[1] = static_cast<uint64_t>(v >> 63);
      } else {
        out[1] = static_cast<uint64_t>(BigEndianInt(p, kWidth - 8));
        uint64_t low;
        std::memcpy(&low, p + kWidth - 8, 8);
        out[0] = arrow::bit_util::FromBigEndian(low);
      }
    }
  }

  template <int... kWidths>
  void ConvertAs(std::integer_sequence<int, kWidths...>,
                 const parquet::FixedLenByteArray* in, int64_t n, uint64_t* out) const {
    ((width_ == kWidths + 1 ? ConvertWidth<kWidths + 1>(in, n, out) : void()), ...);
  }

  void ConvertAll(const parquet::FixedLenByteArray* in, int64_t n, uint64_t* out) const {
    ConvertAs(std::make_integer_sequence<int, 16>(), in, n, out);
  }

  parquet::ParquetFileReader* file_;
  std::vector<int> row_groups_;
  int leaf_;
  std::shared_ptr<arrow::DataType> type_;
  std::string name_;
  int width_ = 0;
  bool nullable_ = false;
  size_t next_group_ = 0;
  std::shared_ptr<parquet::FixedLenByteArrayReader> reader_;
  std::vector<parquet::FixedLenByteArray> values_;
  std::vector<int16_t> levels_;
};

// Arrow's batches of the other columns, with the decimal columns put in their places.
class WithDecimals : public arrow::RecordBatchReader {
 public:
  // Each output column: >= 0 Arrow's column of that index, < 0 decimal column -1 - i.
  WithDecimals(std::shared_ptr<arrow::Schema> schema,
               std::unique_ptr<arrow::RecordBatchReader> others,
               std::vector<DecimalColumn> decimals, std::vector<int> places, int64_t rows,
               int64_t batch_size)
      : schema_(std::move(schema)),
        others_(std::move(others)),
        decimals_(std::move(decimals)),
        places_(std::move(places)),
        left_(rows),
        batch_size_(batch_size) {}

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    std::shared_ptr<arrow::RecordBatch> batch;
    int64_t n = std::min(left_, batch_size_);
    if (others_) {
      ARROW_RETURN_NOT_OK(others_->ReadNext(&batch));
      n = batch ? batch->num_rows() : 0;
    }
    if (n == 0) {
      *out = nullptr;
      return arrow::Status::OK();
    }
    left_ -= n;
    arrow::ArrayVector columns;
    for (int place : places_) {
      if (place >= 0) {
        columns.push_back(batch->column(place));
      } else {
        ARROW_ASSIGN_OR_RAISE(auto column, decimals_[-1 - place].Read(n));
        columns.push_back(std::move(column));
      }
    }
    *out = arrow::RecordBatch::Make(schema_, n, std::move(columns));
    return arrow::Status::OK();
  }

 private:
  std::shared_ptr<arrow::Schema> schema_;
  std::unique_ptr<arrow::RecordBatchReader> others_;
  std::vector<DecimalColumn> decimals_;
  std::vector<int> places_;
  int64_t left_;
  int64_t batch_size_;
};

}  // namespace

arrow::Result<std::unique_ptr<arrow::RecordBatchReader>> ReadBatches(
    parquet::arrow::FileReader* file, std::vector<int> row_groups,
    std::vector<int> leaves) {
  parquet::ParquetFileReader* raw = file->parquet_reader();
  const auto& metadata = *raw->metadata();
  if (row_groups.empty()) {
    for (int i = 0; i < metadata.num_row_groups(); ++i) row_groups.push_back(i);
  }
  if (leaves.empty()) {
    for (int i = 0; i < metadata.num_columns(); ++i) leaves.push_back(i);
  }
  // The top-level fields in the order Arrow's reader gives them (of their first leaf in
  // leaves), and which are decimals stored as fixed-length byte arrays (up to 16 bytes:
  // Decimal128).
  const auto& manifest = file->manifest();
  const int n_fields = static_cast<int>(manifest.schema_fields.size());
  std::vector<int> top(metadata.num_columns(), -1);
  for (int i = 0; i < n_fields; ++i) {
    std::vector<int> under;
    CollectLeafIndices(manifest.schema_fields[i], &under);
    for (int leaf : under) top[leaf] = i;
  }
  arrow::FieldVector fields;
  std::vector<int> decimal_leaves, other_leaves, places;
  std::vector<bool> added(n_fields, false);
  int others = 0;
  for (int leaf : leaves) {
    if (leaf < 0 || leaf >= metadata.num_columns() || top[leaf] < 0)
      return file->GetRecordBatchReader(row_groups, leaves);  // Arrow's error
    const auto& f = manifest.schema_fields[top[leaf]];
    const auto* descr = metadata.schema()->Column(leaf);
    bool decimal = f.is_leaf() && f.field->type()->id() == arrow::Type::DECIMAL128 &&
                   descr->physical_type() == parquet::Type::FIXED_LEN_BYTE_ARRAY &&
                   descr->type_length() <= 16 && descr->max_repetition_level() == 0;
    if (!decimal) other_leaves.push_back(leaf);
    if (added[top[leaf]]) continue;
    added[top[leaf]] = true;
    fields.push_back(f.field);  // a non-decimal's is replaced by Arrow's below
    if (decimal) {
      places.push_back(-1 - static_cast<int>(decimal_leaves.size()));
      decimal_leaves.push_back(leaf);
    } else {
      places.push_back(others++);
    }
  }
  if (decimal_leaves.empty()) return file->GetRecordBatchReader(row_groups, leaves);
  std::unique_ptr<arrow::RecordBatchReader> other_reader;
  if (!other_leaves.empty()) {
    ARROW_ASSIGN_OR_RAISE(other_reader,
                          file->GetRecordBatchReader(row_groups, other_leaves));
    if (other_reader->schema()->num_fields() != others)
      return file->GetRecordBatchReader(row_groups, leaves);  // not as expected: Arrow's
    // Arrow's fields as it reads them (a struct pruned to the leaves asked for).
    for (size_t i = 0; i < places.size(); ++i) {
      if (places[i] >= 0) fields[i] = other_reader->schema()->field(places[i]);
    }
  }
  std::vector<DecimalColumn> decimals;
  for (int leaf : decimal_leaves)
    decimals.emplace_back(raw, row_groups, leaf,
                          fields[std::find(places.begin(), places.end(),
                                           -1 - static_cast<int>(decimals.size())) -
                                 places.begin()]
                              ->type());
  int64_t rows = 0;
  for (int rg : row_groups) {
    if (rg < 0 || rg >= metadata.num_row_groups())
      return file->GetRecordBatchReader(row_groups, leaves);  // Arrow's error
    rows += metadata.RowGroup(rg)->num_rows();
  }
  return std::make_unique<WithDecimals>(
      arrow::schema(fields, manifest.schema_metadata), std::move(other_reader),
      std::move(decimals), std::move(places), rows, file->properties().batch_size());
}

void CollectLeafIndices(const parquet::arrow::SchemaField& field, std::vector<int>* out) {
  if (field.is_leaf()) {
    out->push_back(field.column_index);
    return;
  }
  for (const auto& child : field.children) CollectLeafIndices(child, out);
}

}  // namespace inlet
