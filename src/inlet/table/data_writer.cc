#include "inlet/table/data_writer.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <arrow/io/interfaces.h>
#include <arrow/type_traits.h>
#include <arrow/util/bit_util.h>
#include <arrow/util/bitmap_ops.h>
#include <arrow/util/byte_size.h>
#include <arrow/util/compression.h>
#include <parquet/arrow/schema.h>
#include <parquet/arrow/writer.h>
#include <parquet/metadata.h>
#include <parquet/properties.h>
#include <parquet/statistics.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>

#include "inlet/common/fault.h"
#include "inlet/common/mutex.h"
#include "inlet/common/time.h"
#include "inlet/common/uuid.h"
#include "inlet/table/partition.h"

namespace inlet::table {

namespace {

// An I/O error names the data file: Arrow's says only "Error writing bytes to file
// ([errno 28] No space left on device)".
arrow::Status NamingFile(arrow::Status st, const TableStore& store,
                         const std::string& rel) {
  if (st.ok()) return st;
  return st.WithMessage("cannot write ", store.location(), "/", rel, ": ", st.message());
}

// Decimals of precision up to 18 are stored as INT32 (up to 9) or INT64
// (enable_store_decimal_as_integer). Arrow's writer narrows each 16-byte value through
// Decimal128::ToInteger, out-of-line range checks per value that took about 5% of the CPU
// of rewriting a table with nine such columns. Narrowed here in one pass, they are
// written as the integers they are stored as: WriteRecordBatch takes any array of the
// column's physical type, and the file's schema, with its DECIMAL annotation, still comes
// from the table's. A valid value that does not fit leaves the column to Arrow, and its
// error.
template <typename Int>
arrow::Result<std::shared_ptr<arrow::Array>> NarrowDecimal(
    const arrow::Decimal128Array& column) {
  const int64_t n = column.length();
  ARROW_ASSIGN_OR_RAISE(auto values, arrow::AllocateBuffer(n * sizeof(Int)));
  auto* out = reinterpret_cast<Int*>(values->mutable_data());
  // Little-endian halves: the low 64 bits, then the high.
  const auto* in = reinterpret_cast<const uint64_t*>(column.raw_values());
  bool all_fit = true;
  for (int64_t i = 0; i < n; ++i) {
    const auto low = static_cast<int64_t>(in[2 * i]);
    out[i] = static_cast<Int>(low);
    all_fit &= in[2 * i + 1] == static_cast<uint64_t>(low >> 63) &&
               static_cast<int64_t>(out[i]) == low;
  }
  if (!all_fit) {
    // Values under nulls are never written: only a valid one that does not fit counts.
    for (int64_t i = 0; i < n; ++i) {
      const auto low = static_cast<int64_t>(in[2 * i]);
      if (column.IsValid(i) && (in[2 * i + 1] != static_cast<uint64_t>(low >> 63) ||
                                static_cast<int64_t>(out[i]) != low)) {
        return nullptr;
      }
    }
  }
  std::shared_ptr<arrow::Buffer> validity;
  if (column.null_count() > 0) {
    ARROW_ASSIGN_OR_RAISE(validity, arrow::internal::CopyBitmap(
                                        arrow::default_memory_pool(),
                                        column.null_bitmap_data(), column.offset(), n));
  }
  return arrow::MakeArray(
      arrow::ArrayData::Make(arrow::CTypeTraits<Int>::type_singleton(), n,
                             {validity, std::move(values)}, column.null_count()));
}

// The batch with its top-level INT32- and INT64-stored decimal columns as integers.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> NarrowDecimals(
    const std::shared_ptr<arrow::RecordBatch>& batch,
    const parquet::SchemaDescriptor& file_schema) {
  const parquet::schema::GroupNode& root = *file_schema.group_node();
  std::shared_ptr<arrow::RecordBatch> out = batch;
  for (int i = 0; i < batch->num_columns() && i < root.field_count(); ++i) {
    const auto& column = *batch->column(i);
    const auto& node = *root.field(i);
    if (column.type_id() != arrow::Type::DECIMAL128 || !node.is_primitive()) continue;
    auto physical =
        static_cast<const parquet::schema::PrimitiveNode&>(node).physical_type();
    std::shared_ptr<arrow::Array> narrowed;
    const auto& decimals = static_cast<const arrow::Decimal128Array&>(column);
    if (physical == parquet::Type::INT32) {
      ARROW_ASSIGN_OR_RAISE(narrowed, NarrowDecimal<int32_t>(decimals));
    } else if (physical == parquet::Type::INT64) {
      ARROW_ASSIGN_OR_RAISE(narrowed, NarrowDecimal<int64_t>(decimals));
    }
    if (!narrowed) continue;
    // The batch's schema is left as it is: only the column writers see the arrays.
    auto columns = out->columns();
    columns[i] = std::move(narrowed);
    out = arrow::RecordBatch::Make(out->schema(), out->num_rows(), std::move(columns));
  }
  return out;
}

}  // namespace

struct DataWriter::OpenFile {
  std::string rel_path;
  PartitionValues values;
  std::shared_ptr<arrow::io::OutputStream> sink;
  std::unique_ptr<parquet::arrow::FileWriter> writer;
  /// Uncompressed bytes of the row group being buffered.
  int64_t buffered = 0;
};

namespace {

arrow::Result<arrow::Compression::type> Codec(const std::string& name) {
  std::string n;
  for (char c : name) n += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (n == "none" || n == "uncompressed") return arrow::Compression::UNCOMPRESSED;
  ARROW_ASSIGN_OR_RAISE(auto codec, arrow::util::Codec::GetCompressionType(n));
  if (!arrow::util::Codec::IsAvailable(codec)) {
    return arrow::Status::NotImplemented("compression codec '", name,
                                         "' is not available");
  }
  return codec;
}

std::string CodecSuffix(arrow::Compression::type c) {
  switch (c) {
    case arrow::Compression::UNCOMPRESSED:
      return "";
    case arrow::Compression::SNAPPY:
      return ".snappy";
    case arrow::Compression::GZIP:
      return ".gz";
    case arrow::Compression::LZ4:
      return ".lz4";
    case arrow::Compression::ZSTD:
      return ".zstd";
    case arrow::Compression::BROTLI:
      return ".br";
    default:
      return "";
  }
}

// High-cardinality columns give up on dictionary encoding after 256 KiB of dictionary
// instead of Parquet's 1 MiB: most of their encoding cost is spent building a dictionary
// that is then discarded.
constexpr int64_t kDictionaryPageLimit = 256 * 1024;
// How many of the first rows are looked at for columns whose dictionary would overflow.
constexpr int64_t kProbeRows = 64 * 1024;

std::shared_ptr<parquet::WriterProperties> FileProperties(
    arrow::Compression::type codec, const std::set<std::string>& plain_columns,
    const std::set<std::string>& delta_columns) {
  parquet::WriterProperties::Builder builder;
  // Columns known to overflow their dictionary are written without one from the start:
  // such pages compress at least as well as a dictionary followed by a fallback tail, for
  // less work.
  for (const auto& path : plain_columns) builder.disable_dictionary(path);
  // Without a dictionary (or after giving up on it), integers are written as bit-packed
  // deltas rather than plain values.
  for (const auto& path : delta_columns)
    builder.encoding(path, parquet::Encoding::DELTA_BINARY_PACKED);
  return builder.compression(codec)
      ->max_row_group_length(1024 * 1024)
      // INT32/INT64 for precision <= 18, as Spark writes them.
      ->enable_store_decimal_as_integer()
      ->dictionary_pagesize_limit(kDictionaryPageLimit)
      ->created_by("inlet")
      ->build();
}

// Whether a written column chunk gave up on its dictionary: it has a dictionary page and
// data pages of another encoding (the writer fell back when the dictionary grew too big).
bool FellBackFromDictionary(const parquet::ColumnChunkMetaData& chunk) {
  if (!chunk.has_dictionary_page()) return false;
  for (const auto& s : chunk.encoding_stats()) {
    bool data_page = s.page_type == parquet::PageType::DATA_PAGE ||
                     s.page_type == parquet::PageType::DATA_PAGE_V2;
    bool dictionary = s.encoding == parquet::Encoding::RLE_DICTIONARY ||
                      s.encoding == parquet::Encoding::PLAIN_DICTIONARY;
    if (data_page && !dictionary && s.count > 0) return true;
  }
  return false;
}

// The Parquet schema files of this Arrow schema get.
arrow::Result<std::shared_ptr<parquet::SchemaDescriptor>> ParquetSchema(
    const arrow::Schema& schema, arrow::Compression::type codec) {
  std::shared_ptr<parquet::SchemaDescriptor> descr;
  ARROW_RETURN_NOT_OK(parquet::arrow::ToParquetSchema(
      &schema, *FileProperties(codec, {}, {}),
      *parquet::default_arrow_writer_properties(), &descr));
  return descr;
}

// The dotted paths of the INT32 and INT64 leaves of a Parquet schema.
std::set<std::string> IntegerLeaves(const parquet::SchemaDescriptor& descr) {
  std::set<std::string> out;
  for (int i = 0; i < descr.num_columns(); ++i) {
    auto type = descr.Column(i)->physical_type();
    if (type == parquet::Type::INT32 || type == parquet::Type::INT64)
      out.insert(descr.Column(i)->path()->ToDotString());
  }
  return out;
}

// The bytes one value takes written plain (and in a dictionary page) for this physical
// type: 0 for booleans, which have no dictionary; -1 for byte arrays, whose values vary.
int64_t PlainValueWidth(const parquet::ColumnDescriptor& leaf) {
  switch (leaf.physical_type()) {
    case parquet::Type::INT32:
    case parquet::Type::FLOAT:
      return 4;
    case parquet::Type::INT64:
    case parquet::Type::DOUBLE:
      return 8;
    case parquet::Type::INT96:
      return 12;
    case parquet::Type::FIXED_LEN_BYTE_ARRAY:
      return leaf.type_length();
    case parquet::Type::BYTE_ARRAY:
      return -1;
    default:
      return 0;
  }
}

// The bytes of these values written plain (each byte array with a 4-byte length), nulls
// left out. Nullopt for array types not measured here.
std::optional<int64_t> PlainBytes(const arrow::Array& values, int64_t width) {
  int64_t n = values.length() - values.null_count();
  if (width > 0) return n * width;
  switch (values.type_id()) {
    case arrow::Type::STRING:
    case arrow::Type::BINARY:
      return static_cast<const arrow::BinaryArray&>(values).total_values_length() + 4 * n;
    case arrow::Type::LARGE_STRING:
    case arrow::Type::LARGE_BINARY:
      return static_cast<const arrow::LargeBinaryArray&>(values).total_values_length() +
             4 * n;
    default:
      return std::nullopt;
  }
}

// A dictionary pays only when it and the indices into it take fewer bytes than the values
// written plain: parquet-mr's rule (DictionaryValuesWriter.isCompressionSatisfying), and
// DuckDB's writer has its like. A column that fails it is written plain, which is smaller
// and both faster to encode and to decode. It is judged on at least this many values.
constexpr int64_t kMinJudgedValues = 16 * 1024;

// Whether a dictionary for these values would overflow its page or not pay: values and
// distinct count non-null values, and the byte counts are of the pages' values.
bool DictionaryDoesNotPay(int64_t values, int64_t distinct, int64_t dictionary_bytes,
                          int64_t plain_bytes) {
  if (dictionary_bytes >= kDictionaryPageLimit) return true;
  if (values < kMinJudgedValues) return false;
  uint64_t largest_index = static_cast<uint64_t>(std::max<int64_t>(distinct - 1, 0));
  int64_t index_bits = std::max(1, arrow::bit_util::NumRequiredBits(largest_index));
  return dictionary_bytes + values * index_bits / 8 >= plain_bytes;
}

// Whether a written column chunk's dictionary did not pay: its pages took at least the
// bytes of its values written plain (fixed-width types only; the chunk's metadata does
// not tell the plain size of byte arrays).
bool DictionaryDidNotPay(const parquet::ColumnChunkMetaData& chunk,
                         const parquet::ColumnDescriptor& leaf) {
  int64_t width = PlainValueWidth(leaf);
  if (!chunk.has_dictionary_page() || width <= 0) return false;
  auto stats = chunk.statistics();
  int64_t values =
      chunk.num_values() - (stats && stats->HasNullCount() ? stats->null_count() : 0);
  return values >= kMinJudgedValues && chunk.total_uncompressed_size() >= values * width;
}

// The number of distinct non-null values of an array of a fixed-width type, counted by a
// 64-bit hash of each value (among a probe's 64K values a collision is as good as
// impossible) in a flat set: many times faster than Arrow's Unique, which builds the
// distinct values. Nullopt for other types.
std::optional<int64_t> CountDistinct(const arrow::Array& values) {
  const auto* type = dynamic_cast<const arrow::FixedWidthType*>(values.type().get());
  if (!type || type->bit_width() % 8 != 0 || values.data()->buffers.size() < 2 ||
      !values.data()->buffers[1]) {
    return std::nullopt;
  }
  const int64_t width = type->bit_width() / 8;
  const uint8_t* data = values.data()->buffers[1]->data() + values.offset() * width;
  size_t capacity = 16;
  while (capacity < 2 * static_cast<size_t>(values.length())) capacity *= 2;
  std::vector<uint64_t> slots(capacity, 0);  // 0: empty (a hash of 0 counts as 1)
  int64_t distinct = 0;
  for (int64_t i = 0; i < values.length(); ++i) {
    if (values.IsNull(i)) continue;
    uint64_t h = 0x9E3779B97F4A7C15ULL;
    for (int64_t b = 0; b < width; b += 8) {
      uint64_t word = 0;
      std::memcpy(&word, data + i * width + b, std::min<int64_t>(8, width - b));
      h = (h ^ word) * 0xBF58476D1CE4E5B9ULL;
      h ^= h >> 31;
    }
    h = h ? h : 1;
    for (size_t slot = h & (capacity - 1);; slot = (slot + 1) & (capacity - 1)) {
      if (slots[slot] == h) break;
      if (slots[slot] == 0) {
        slots[slot] = h;
        ++distinct;
        break;
      }
    }
  }
  return distinct;
}

// The distinct non-null values of a sample of a column: how many, and the bytes of a
// dictionary page holding them. Nullopt for array types not measured here.
struct DistinctValues {
  int64_t count;
  int64_t dictionary_bytes;
};
arrow::Result<std::optional<DistinctValues>> DistinctValuesOf(
    const std::shared_ptr<arrow::Array>& sample, int64_t width) {
  if (width > 0) {
    if (std::optional<int64_t> count = CountDistinct(*sample))
      return DistinctValues{*count, *count * width};
  }
  ARROW_ASSIGN_OR_RAISE(auto unique, arrow::compute::Unique(sample));
  ARROW_ASSIGN_OR_RAISE(arrow::Datum dropped, arrow::compute::DropNull(unique));
  std::shared_ptr<arrow::Array> non_null = dropped.make_array();
  std::optional<int64_t> bytes = PlainBytes(*non_null, width);
  if (!bytes) return std::nullopt;
  return DistinctValues{non_null->length(), *bytes};
}

}  // namespace

arrow::Status DataWriter::ProbeDictionaries(const arrow::RecordBatch& batch) {
  // A column whose first rows already hold more distinct bytes than a dictionary page may
  // would give up on its dictionary after them anyway, and one whose dictionary would not
  // pay is better off without: both are written without one from the start.
  const parquet::SchemaDescriptor& descr = *parquet_schema_;
  int64_t rows = std::min<int64_t>(batch.num_rows(), kProbeRows);
  for (int i = 0; i < descr.num_columns(); ++i) {
    const parquet::ColumnDescriptor& leaf = *descr.Column(i);
    if (leaf.path()->ToDotVector().size() != 1) continue;  // top-level columns only
    std::string name = leaf.path()->ToDotString();
    int64_t width = PlainValueWidth(leaf);
    std::shared_ptr<arrow::Array> column = batch.GetColumnByName(name);
    if (width == 0 || !column || column->type_id() == arrow::Type::DICTIONARY) continue;
    std::shared_ptr<arrow::Array> sample = column->Slice(0, rows);
    int64_t values = rows - sample->null_count();
    bool may_overflow = width < 0 || values * width >= kDictionaryPageLimit;
    if (!may_overflow && values < kMinJudgedValues) continue;
    ARROW_ASSIGN_OR_RAISE(std::optional<DistinctValues> distinct,
                          DistinctValuesOf(sample, width));
    std::optional<int64_t> plain_bytes = PlainBytes(*sample, width);
    if (distinct && plain_bytes &&
        DictionaryDoesNotPay(values, distinct->count, distinct->dictionary_bytes,
                             *plain_bytes)) {
      plain_columns_.insert(name);
    }
  }
  return arrow::Status::OK();
}

DataWriter::DataWriter(std::shared_ptr<const TableStore> store,
                       std::shared_ptr<arrow::Schema> schema,
                       std::shared_ptr<arrow::Schema> data_schema,
                       std::vector<int> partition_indexes, std::vector<int> data_indexes,
                       DataWriterOptions options)
    : store_(std::move(store)),
      schema_(std::move(schema)),
      data_schema_(std::move(data_schema)),
      partition_indexes_(std::move(partition_indexes)),
      data_indexes_(std::move(data_indexes)),
      options_(std::move(options)),
      write_id_(NewUuid()) {}

// A writer dropped unfinished (a failed load) writes nothing more.
DataWriter::~DataWriter() { (void)StopBackground(/*discard=*/true); }

arrow::Result<std::unique_ptr<DataWriter>> DataWriter::Make(
    std::shared_ptr<const TableStore> store, std::shared_ptr<arrow::Schema> schema,
    DataWriterOptions options) {
  std::vector<int> partition_indexes, data_indexes;
  if (!options.derived_partitions.empty()) {
    if (!options.partition_columns.empty() || !options.derive)
      return arrow::Status::Invalid("derived partitions replace partition columns");
    // The derived arrays follow the schema's columns in the batches WriteNow groups.
    for (size_t i = 0; i < options.derived_partitions.size(); ++i) {
      partition_indexes.push_back(schema->num_fields() + static_cast<int>(i));
      options.partition_columns.push_back(options.derived_partitions[i]->name());
    }
  }
  for (const auto& pc : options.partition_columns) {
    if (!options.derived_partitions.empty()) break;
    int idx = schema->GetFieldIndex(pc);
    if (idx < 0)
      return arrow::Status::Invalid("partition column '", pc, "' is not in the schema");
    partition_indexes.push_back(idx);
  }
  arrow::FieldVector data_fields;
  for (int i = 0; i < schema->num_fields(); ++i) {
    if (std::find(partition_indexes.begin(), partition_indexes.end(), i) ==
        partition_indexes.end()) {
      data_indexes.push_back(i);
      data_fields.push_back(schema->field(i));
    }
  }
  auto data_schema = arrow::schema(data_fields);
  ARROW_ASSIGN_OR_RAISE(auto codec, Codec(options.compression));
  ARROW_ASSIGN_OR_RAISE(auto parquet_schema, ParquetSchema(*data_schema, codec));
  bool delta_integers = options.integer_encoding == IntegerEncoding::kDeltaBinaryPacked;
  std::unique_ptr<DataWriter> writer(
      new DataWriter(std::move(store), schema, std::move(data_schema), partition_indexes,
                     data_indexes, std::move(options)));
  if (delta_integers) writer->delta_columns_ = IntegerLeaves(*parquet_schema);
  writer->parquet_schema_ = std::move(parquet_schema);
  return writer;
}

// The background thread's work: batches to write, or a flush (null), in order.
// The encoding thread of WriteInBackground and its queue: batches to write, null for a
// flush.
struct DataWriter::Background {
  static constexpr size_t kDepth = 2;  // batches waiting at most
  std::thread thread;
  Mutex mu;
  CondVar changed{&mu};
  std::deque<std::shared_ptr<arrow::RecordBatch>> queue GUARDED_BY(mu);
  bool closing GUARDED_BY(mu) = false;
  arrow::Status status GUARDED_BY(mu);  // the first error
};

void DataWriter::WriteInBackground() {
  if (background_) return;
  background_ = std::make_unique<Background>();
  background_->thread = std::thread([this] { EncodeInBackground(); });
}

void DataWriter::EncodeInBackground() {
  Background& bg = *background_;
  MutexLock lock(&bg.mu);
  while (true) {
    bg.changed.Wait([&]() REQUIRES(bg.mu) { return !bg.queue.empty() || bg.closing; });
    if (bg.queue.empty()) return;
    std::shared_ptr<arrow::RecordBatch> item = bg.queue.front();
    // Encoding runs unlocked: the caller queues the next batch meanwhile. Only this
    // thread writes files while the background runs.
    bg.mu.Unlock();
    arrow::Status st = item ? WriteNow(item) : FlushNow();
    bg.mu.Lock();
    bg.queue.pop_front();
    if (!st.ok()) {
      bg.status = st;
      bg.closing = true;
      bg.queue.clear();  // nothing after an error is written
    }
    bg.changed.NotifyAll();
  }
}

arrow::Status DataWriter::Enqueue(std::shared_ptr<arrow::RecordBatch> item) {
  Background& bg = *background_;
  MutexLock lock(&bg.mu);
  bg.changed.Wait([&]() REQUIRES(bg.mu) {
    return bg.queue.size() < Background::kDepth || !bg.status.ok();
  });
  ARROW_RETURN_NOT_OK(bg.status);
  bg.queue.push_back(std::move(item));
  bg.changed.NotifyAll();
  return arrow::Status::OK();
}

arrow::Status DataWriter::StopBackground(bool discard) {
  if (!background_) return arrow::Status::OK();
  Background& bg = *background_;
  {
    MutexLock lock(&bg.mu);
    bg.closing = true;
    if (discard)
      bg.queue.erase(bg.queue.begin() + (bg.queue.empty() ? 0 : 1), bg.queue.end());
    bg.changed.NotifyAll();
  }
  bg.thread.join();
  arrow::Status st;
  {
    MutexLock lock(&bg.mu);
    st = bg.status;
  }
  background_.reset();
  return st;
}

arrow::Status DataWriter::Write(const std::shared_ptr<arrow::RecordBatch>& input) {
  if (input->num_rows() == 0) return arrow::Status::OK();
  std::shared_ptr<arrow::RecordBatch> batch = input;
  if (options_.optional_trailing_columns > 0 &&
      batch->num_columns() + options_.optional_trailing_columns ==
          schema_->num_fields()) {
    auto columns = batch->columns();
    for (int i = batch->num_columns(); i < schema_->num_fields(); ++i) {
      ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(schema_->field(i)->type(),
                                                               batch->num_rows()));
      columns.push_back(std::move(nulls));
    }
    batch = arrow::RecordBatch::Make(schema_, batch->num_rows(), std::move(columns));
  }
  rows_written_ += batch->num_rows();
  if (background_) return Enqueue(batch);
  return WriteNow(batch);
}

arrow::Status DataWriter::WriteNow(const std::shared_ptr<arrow::RecordBatch>& input) {
  if (!probed_) {
    ARROW_RETURN_NOT_OK(ProbeDictionaries(*input));
    probed_ = true;
  }
  std::shared_ptr<arrow::RecordBatch> batch = input;
  if (options_.derive) {
    ARROW_ASSIGN_OR_RAISE(auto derived, options_.derive(*input));
    auto columns = input->columns();
    auto fields = input->schema()->fields();
    for (size_t i = 0; i < derived.size(); ++i) {
      columns.push_back(derived[i]);
      fields.push_back(options_.derived_partitions[i]);
    }
    batch = arrow::RecordBatch::Make(arrow::schema(fields), input->num_rows(), columns);
  }
  if (partition_indexes_.empty()) return WritePartition("", {}, DataColumns(*batch));

  // Group rows by their partition values: dictionary-encode each partition column and
  // combine the codes (null = the code after the dictionary).
  int64_t n = batch->num_rows();
  std::vector<int64_t> codes(n, 0);
  std::vector<std::shared_ptr<arrow::Array>> dictionaries;
  std::vector<std::shared_ptr<arrow::Array>> indices;
  int64_t stride = 1;
  for (int idx : partition_indexes_) {
    ARROW_ASSIGN_OR_RAISE(arrow::Datum enc,
                          arrow::compute::DictionaryEncode(batch->column(idx)));
    auto dict = std::static_pointer_cast<arrow::DictionaryArray>(enc.make_array());
    ARROW_ASSIGN_OR_RAISE(auto ind,
                          arrow::compute::Cast(*dict->indices(), arrow::int64()));
    const auto& ind64 = static_cast<const arrow::Int64Array&>(*ind);
    int64_t size = dict->dictionary()->length() + 1;
    for (int64_t r = 0; r < n; ++r) {
      int64_t code = ind64.IsNull(r) ? size - 1 : ind64.Value(r);
      codes[r] += code * stride;
    }
    stride *= size;
    dictionaries.push_back(dict->dictionary());
    indices.push_back(ind);
  }
  std::unordered_map<int64_t, std::vector<int64_t>> groups;
  std::vector<int64_t> order;
  for (int64_t r = 0; r < n; ++r) {
    auto [it, inserted] = groups.try_emplace(codes[r]);
    if (inserted) order.push_back(codes[r]);
    it->second.push_back(r);
  }
  for (int64_t code : order) {
    const auto& rows = groups[code];
    PartitionValues values;
    std::string key;
    for (size_t p = 0; p < partition_indexes_.size(); ++p) {
      const auto& ind = static_cast<const arrow::Int64Array&>(*indices[p]);
      std::optional<std::string> text;
      if (!ind.IsNull(rows[0])) {
        ARROW_ASSIGN_OR_RAISE(auto scalar,
                              dictionaries[p]->GetScalar(ind.Value(rows[0])));
        ARROW_ASSIGN_OR_RAISE(text, SerializePartitionValue(
                                        *scalar, options_.empty_partition_value_is_null));
      }
      key += text ? "v" + *text : std::string("n");
      key += '\x1f';
      values[options_.partition_columns[p]] = text;
    }
    // Only the data columns are copied (the partition columns are not written).
    std::shared_ptr<arrow::RecordBatch> part = DataColumns(*batch);
    if (rows.size() != static_cast<size_t>(n)) {
      arrow::Int64Builder b;
      ARROW_RETURN_NOT_OK(b.AppendValues(rows));
      ARROW_ASSIGN_OR_RAISE(auto take_idx, b.Finish());
      ARROW_ASSIGN_OR_RAISE(arrow::Datum taken, arrow::compute::Take(part, take_idx));
      part = taken.record_batch();
    }
    ARROW_RETURN_NOT_OK(WritePartition(key, values, part));
  }
  return arrow::Status::OK();
}

std::shared_ptr<arrow::RecordBatch> DataWriter::DataColumns(
    const arrow::RecordBatch& batch) const {
  arrow::ArrayVector columns;
  for (int idx : data_indexes_) columns.push_back(batch.column(idx));
  return arrow::RecordBatch::Make(data_schema_, batch.num_rows(), columns);
}

arrow::Status DataWriter::WritePartition(
    const std::string& key, const PartitionValues& values,
    const std::shared_ptr<arrow::RecordBatch>& data) {
  const int64_t n = data->num_rows();
  // Sizes are estimated from the table's types, as before narrowing.
  ARROW_ASSIGN_OR_RAISE(int64_t bytes, arrow::util::ReferencedBufferSize(*data));
  ARROW_ASSIGN_OR_RAISE(auto narrowed, NarrowDecimals(data, *parquet_schema_));
  // A batch much larger than the target goes in slices, so that files roll near it.
  const int64_t target = options_.target_file_size;
  const int64_t chunk = std::max<int64_t>(target / 4, 64 * 1024);
  const int64_t slice_rows = (bytes > chunk && n > 1)
                                 ? std::max<int64_t>(1, n * chunk / bytes)
                                 : std::max<int64_t>(n, 1);
  for (int64_t offset = 0; offset < n; offset += slice_rows) {
    auto it = open_.find(key);
    if (it != open_.end() && it->second->buffered >= target) {
      // A row group holds about a file's worth of uncompressed bytes at most. Once it is
      // flushed (only when more rows follow, so no row group is empty), the stream
      // position tells the file size.
      OpenFile* full = it->second.get();
      ARROW_RETURN_NOT_OK(
          NamingFile(full->writer->NewBufferedRowGroup(), *store_, full->rel_path));
      full->buffered = 0;
      ARROW_ASSIGN_OR_RAISE(int64_t written, full->sink->Tell());  // no I/O
      if (written >= target) {
        ARROW_RETURN_NOT_OK(CloseFile(full));
        open_.erase(it);
        it = open_.end();
      }
    }
    if (it == open_.end()) {
      ARROW_ASSIGN_OR_RAISE(auto file, StartFile(values));
      it = open_.emplace(key, std::move(file)).first;
    }
    OpenFile* file = it->second.get();
    int64_t length = std::min(slice_rows, n - offset);
    FaultStep();
    ARROW_RETURN_NOT_OK(
        NamingFile(file->writer->WriteRecordBatch(*narrowed->Slice(offset, length)),
                   *store_, file->rel_path));
    file->buffered += bytes * length / n;
  }
  return arrow::Status::OK();
}

arrow::Result<std::unique_ptr<DataWriter::OpenFile>> DataWriter::StartFile(
    const PartitionValues& values) {
  ARROW_ASSIGN_OR_RAISE(auto codec, Codec(options_.compression));
  auto file = std::make_unique<OpenFile>();
  file->values = values;
  std::string dir = PartitionDirectory(options_.partition_columns, values);
  if (!options_.directory.empty())
    dir = dir.empty() ? options_.directory : options_.directory + "/" + dir;
  char name[128];
  std::snprintf(name, sizeof(name), "%s-%05d-%s-c000%s.parquet",
                options_.file_prefix.c_str(), file_counter_++, write_id_.c_str(),
                CodecSuffix(codec).c_str());
  file->rel_path = dir.empty() ? name : dir + "/" + name;
  std::string path = store_->Resolve(file->rel_path);
  if (!dir.empty()) ARROW_RETURN_NOT_OK(store_->CreateDir(dir));
  FaultStep();
  auto sink = store_->fs()->OpenOutputStream(path);
  ARROW_RETURN_NOT_OK(NamingFile(sink.status(), *store_, file->rel_path));
  file->sink = std::move(*sink);
  auto props = FileProperties(codec, plain_columns_, delta_columns_);
  auto arrow_props =
      parquet::ArrowWriterProperties::Builder().set_use_threads(true)->build();
  // Opening writes the file's magic bytes: a full disk can stop it already.
  auto writer = parquet::arrow::FileWriter::Open(
      *data_schema_, arrow::default_memory_pool(), file->sink, props, arrow_props);
  ARROW_RETURN_NOT_OK(NamingFile(writer.status(), *store_, file->rel_path));
  file->writer = std::move(*writer);
  return file;
}

arrow::Status DataWriter::CloseFile(OpenFile* file) {
  ARROW_RETURN_NOT_OK(NamingFile(file->writer->Close(), *store_, file->rel_path));
  ARROW_ASSIGN_OR_RAISE(int64_t size, file->sink->Tell());
  ARROW_RETURN_NOT_OK(NamingFile(file->sink->Close(), *store_, file->rel_path));
  FaultStep();
  WrittenFile written;
  written.path = file->rel_path;
  written.partition_values = file->values;
  written.size_bytes = size;
  written.modification_time_ms = NowMillis();
  // The Parquet writer already computed every column's bounds and null counts.
  const parquet::FileMetaData& metadata = *file->writer->metadata();
  written.statistics =
      StatisticsFromParquet(metadata, *data_schema_, options_.num_indexed_cols);
  // A column whose dictionary overflowed or did not pay here is written without one in
  // the next files.
  for (int g = 0; g < metadata.num_row_groups(); ++g) {
    auto group = metadata.RowGroup(g);
    for (int c = 0; c < group->num_columns(); ++c) {
      auto chunk = group->ColumnChunk(c);
      if (FellBackFromDictionary(*chunk) ||
          DictionaryDidNotPay(*chunk, *metadata.schema()->Column(c))) {
        plain_columns_.insert(chunk->path_in_schema()->ToDotString());
      }
    }
  }
  done_.push_back(std::move(written));
  return arrow::Status::OK();
}

arrow::Status DataWriter::Flush() {
  if (background_) return Enqueue(nullptr);
  return FlushNow();
}

arrow::Status DataWriter::FlushNow() {
  for (auto& [key, file] : open_) ARROW_RETURN_NOT_OK(CloseFile(file.get()));
  open_.clear();
  return arrow::Status::OK();
}

arrow::Result<std::vector<WrittenFile>> DataWriter::Finish() {
  ARROW_RETURN_NOT_OK(StopBackground(/*discard=*/false));
  ARROW_RETURN_NOT_OK(FlushNow());
  return std::move(done_);
}

}  // namespace inlet::table
