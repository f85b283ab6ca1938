#include "inlet/source/file_reader.h"

#include <arrow/array/concatenate.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <arrow/csv/api.h>
#include <arrow/filesystem/localfs.h>
#include <arrow/io/compressed.h>
#include <arrow/io/file.h>
#include <arrow/io/memory.h>
#include <arrow/json/api.h>
#include <arrow/table.h>
#include <arrow/util/compression.h>
#include <arrow/util/value_parsing.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <mutex>
#include <optional>
#include <regex>
#include <set>

#include "inlet/common/json.h"
#include "inlet/common/time.h"
#include "inlet/source/debezium.h"
#include "inlet/table/parquet_file.h"

namespace inlet {

namespace {

constexpr int32_t kBlockSize = 32 << 20;

}  // namespace

bool FieldCountError(const arrow::Status& st) {
  const std::string& m = st.message();
  return m.find("Expected ") != std::string::npos &&
         m.find(" columns, got ") != std::string::npos;
}

std::string LocateCsvRow(const std::string& path, CsvSettings settings) {
  struct BadRow {
    int64_t line = -1;  // 1-based, the header counted
    int32_t expected = 0, actual = 0;
  };
  auto bad = std::make_shared<BadRow>();
  settings.read.use_threads = false;
  settings.parse.invalid_row_handler = [bad](const arrow::csv::InvalidRow& row) {
    if (bad->line < 0) *bad = {row.number, row.expected_columns, row.actual_columns};
    return arrow::csv::InvalidRowResult::Error;
  };
  auto input = OpenTextInput(path);
  if (!input.ok()) return "";
  auto reader =
      arrow::csv::StreamingReader::Make(arrow::io::default_io_context(), *input,
                                        settings.read, settings.parse, settings.convert);
  std::shared_ptr<arrow::RecordBatch> batch;
  while (reader.ok() && bad->line < 0 && (*reader)->ReadNext(&batch).ok() && batch) {
  }
  if (bad->line < 0) return "";
  // Arrow counts CSV records: a quoted field may span lines, and blank lines are not
  // counted.
  return "row " + std::to_string(bad->line) + " (the header counted): expected " +
         std::to_string(bad->expected) + " fields, got " + std::to_string(bad->actual);
}

namespace {

// A CSV reader whose errors name the line of a row with the wrong number of fields.
class CsvReader : public arrow::RecordBatchReader {
 public:
  CsvReader(std::shared_ptr<arrow::RecordBatchReader> reader, std::string path,
            CsvSettings settings)
      : reader_(std::move(reader)),
        path_(std::move(path)),
        settings_(std::move(settings)) {}
  std::shared_ptr<arrow::Schema> schema() const override { return reader_->schema(); }
  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* batch) override {
    arrow::Status st = reader_->ReadNext(batch);
    if (st.ok() || !FieldCountError(st)) return st;
    std::string where = LocateCsvRow(path_, settings_);
    if (where.empty()) return st;
    return arrow::Status::Invalid("input ", path_, ": ", where, " (", st.message(), ")");
  }
  arrow::Status Close() override { return reader_->Close(); }

 private:
  std::shared_ptr<arrow::RecordBatchReader> reader_;
  std::string path_;
  CsvSettings settings_;
};

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenCsv(
    const std::string& path, const CsvOptions& csv,
    const std::set<std::string>& declared) {
  ARROW_ASSIGN_OR_RAISE(auto input, OpenTextInput(path));
  CsvSettings settings = CsvSettingsFor(csv, path);
  settings.read.block_size = kBlockSize;
  // Declared columns are read as text, and converted with errors naming their lines.
  for (const auto& name : declared) settings.convert.column_types[name] = arrow::utf8();
  auto reader =
      arrow::csv::StreamingReader::Make(arrow::io::default_io_context(), input,
                                        settings.read, settings.parse, settings.convert);
  if (!reader.ok()) {
    if (!FieldCountError(reader.status())) return reader.status();
    std::string where = LocateCsvRow(path, settings);
    if (where.empty()) return reader.status();
    return arrow::Status::Invalid(where, " (", reader.status().message(), ")");
  }
  return std::make_shared<CsvReader>(*reader, path, std::move(settings));
}

// A JSON document holding an array of objects becomes NDJSON for Arrow's reader.
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenJson(
    const std::string& path, const std::shared_ptr<arrow::Schema>& types) {
  ARROW_ASSIGN_OR_RAISE(auto input, OpenTextInput(path));
  ARROW_ASSIGN_OR_RAISE(auto buffer, ReadAll(*input));
  return OpenJsonText(std::move(buffer), path, {}, types);
}

// Debezium change events, decoded into flat rows typed by the events' schema.
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenDebezium(
    const std::string& path, const DebeziumOptions& options) {
  ARROW_ASSIGN_OR_RAISE(auto input, OpenTextInput(path));
  ARROW_ASSIGN_OR_RAISE(auto buffer, ReadAll(*input));
  return OpenDebeziumText(std::move(buffer), path, options);
}

// Keeps the FileReader alive as long as its batch reader.
class ParquetInput : public arrow::RecordBatchReader {
 public:
  ParquetInput(std::unique_ptr<parquet::arrow::FileReader> file,
               std::shared_ptr<arrow::RecordBatchReader> reader)
      : file_(std::move(file)), reader_(std::move(reader)) {}
  std::shared_ptr<arrow::Schema> schema() const override { return reader_->schema(); }
  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    return reader_->ReadNext(out);
  }

 private:
  std::unique_ptr<parquet::arrow::FileReader> file_;
  std::shared_ptr<arrow::RecordBatchReader> reader_;
};

// Rows per batch of a Parquet input read a batch at a time.
constexpr int64_t kParquetBatchRows = 128 * 1024;

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenParquet(
    const std::string& path) {
  auto fs = std::make_shared<arrow::fs::LocalFileSystem>();
  ARROW_ASSIGN_OR_RAISE(auto file, OpenParquetFile(fs, path, kParquetBatchRows));
  ARROW_ASSIGN_OR_RAISE(auto reader, ReadBatches(file.get()));
  return std::make_shared<ParquetInput>(std::move(file), std::move(reader));
}

// A JSON input whose errors name the line of the first malformed value (Arrow's count
// rows within a block, from 0).
class JsonInput : public arrow::RecordBatchReader {
 public:
  JsonInput(std::string path, std::string format,
            std::shared_ptr<arrow::RecordBatchReader> reader)
      : path_(std::move(path)), format_(std::move(format)), reader_(std::move(reader)) {}
  std::shared_ptr<arrow::Schema> schema() const override { return reader_->schema(); }
  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    auto st = reader_->ReadNext(out);
    if (st.ok()) return st;
    std::string where = LocateJsonError(path_, format_, st.message());
    return where.empty() ? st : arrow::Status::Invalid("input ", path_, ": ", where);
  }

 private:
  std::string path_, format_;
  std::shared_ptr<arrow::RecordBatchReader> reader_;
};

// A file's batches with the declared columns converted to their types (CSV reads them
// as text) and those the file lacks added as nulls; errors name the file's line.
class TypedInput : public arrow::RecordBatchReader {
 public:
  TypedInput(std::string path, std::string format, int64_t first_line,
             const DeclaredColumns& declared,
             std::shared_ptr<arrow::RecordBatchReader> reader)
      : path_(std::move(path)),
        format_(std::move(format)),
        first_line_(first_line),
        declared_(declared),
        reader_(std::move(reader)) {
    arrow::FieldVector fields = reader_->schema()->fields();
    for (const auto& [name, type] : declared_) {
      int i = reader_->schema()->GetFieldIndex(name);
      if (i >= 0) {
        fields[i] = arrow::field(name, type);
      } else {
        fields.push_back(arrow::field(name, type));
      }
    }
    schema_ = arrow::schema(fields);
  }

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(reader_->ReadNext(&batch));
    if (!batch) {
      *out = nullptr;
      return arrow::Status::OK();
    }
    arrow::ArrayVector columns = batch->columns();
    for (const auto& [name, type] : declared_) {
      int i = batch->schema()->GetFieldIndex(name);
      if (i < 0) {
        ARROW_ASSIGN_OR_RAISE(auto nulls,
                              arrow::MakeArrayOfNull(type, batch->num_rows()));
        columns.push_back(nulls);
        continue;
      }
      ARROW_ASSIGN_OR_RAISE(
          auto converted, ConvertColumn(std::make_shared<arrow::ChunkedArray>(columns[i]),
                                        type, path_, format_, first_line_ + rows_, name));
      columns[i] = converted->chunk(0);
    }
    rows_ += batch->num_rows();
    *out = arrow::RecordBatch::Make(schema_, batch->num_rows(), std::move(columns));
    return arrow::Status::OK();
  }

 private:
  std::string path_, format_;
  int64_t first_line_;
  DeclaredColumns declared_;
  std::shared_ptr<arrow::RecordBatchReader> reader_;
  std::shared_ptr<arrow::Schema> schema_;
  int64_t rows_ = 0;
};

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenUntyped(
    const std::string& path, const std::string& format, const CsvOptions& csv,
    const DeclaredColumns& declared) {
  std::string f = format.empty() ? FormatFromExtension(path) : format;
  std::set<std::string> names;
  for (const auto& [name, type] : declared) names.insert(name);
  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> r;
  if (f == "csv") {
    r = OpenCsv(path, csv, names);
  } else if (f == "json" || f == "ndjson") {
    // Declared columns are parsed as their types (JSON numbers and strings alike).
    std::shared_ptr<arrow::Schema> types;
    if (!declared.empty()) {
      arrow::FieldVector fields;
      for (const auto& [name, type] : declared)
        fields.push_back(arrow::field(name, type));
      types = arrow::schema(fields);
    }
    if (f == "json") {
      r = OpenJson(path, types);
    } else {
      r = OpenJsonLines([path]() { return OpenTextInput(path); }, types);
    }
  } else if (f == "parquet") {
    r = OpenParquet(path);
  } else if (f == "debezium") {
    r = OpenDebezium(path, {});
  } else {
    return arrow::Status::Invalid("input ", path, ": unknown format '", f,
                                  "' (use csv, json, ndjson, parquet or debezium)");
  }
  if (!r.ok()) {
    std::string where = f == "json" || f == "ndjson"
                            ? LocateJsonError(path, f, r.status().message())
                            : std::string();
    if (!where.empty()) return arrow::Status::Invalid("input ", path, ": ", where);
    return r.status().WithMessage("input ", path, ": ", r.status().message());
  }
  if (f == "json" || f == "ndjson") {
    return std::make_shared<JsonInput>(path, f, std::move(*r));
  }
  return r;
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenOne(
    const std::string& path, const std::string& format, const CsvOptions& csv,
    const DeclaredColumns& declared = {}) {
  ARROW_ASSIGN_OR_RAISE(auto reader, OpenUntyped(path, format, csv, declared));
  if (declared.empty()) return reader;
  std::string f = format.empty() ? FormatFromExtension(path) : format;
  int64_t first_line = f == "csv" && csv.header ? 2 : 1;
  return std::make_shared<TypedInput>(path, f, first_line, declared, std::move(reader));
}

// The error for an input file whose schema is not the first file's.
arrow::Status SchemaDiffers(const std::string& path, const arrow::Schema& schema,
                            const arrow::Schema& first) {
  return arrow::Status::Invalid("input ", path, ": schema ", schema.ToString(),
                                " differs from the first input's ", first.ToString());
}

class ConcatenatedInput : public arrow::RecordBatchReader {
 public:
  ConcatenatedInput(std::vector<std::string> paths, std::string format, CsvOptions csv,
                    DeclaredColumns declared,
                    std::shared_ptr<arrow::RecordBatchReader> first)
      : paths_(std::move(paths)),
        format_(std::move(format)),
        csv_(std::move(csv)),
        declared_(std::move(declared)),
        current_(std::move(first)),
        schema_(current_->schema()) {}

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    while (true) {
      auto st = current_->ReadNext(out);
      if (!st.ok()) {
        if (st.message().rfind("input " + paths_[index_] + ": ", 0) == 0) return st;
        return st.WithMessage("input ", paths_[index_], ": ", st.message());
      }
      if (*out) return arrow::Status::OK();
      if (++index_ >= paths_.size()) return arrow::Status::OK();
      ARROW_ASSIGN_OR_RAISE(current_, OpenOne(paths_[index_], format_, csv_, declared_));
      if (!current_->schema()->Equals(*schema_, /*check_metadata=*/false)) {
        return SchemaDiffers(paths_[index_], *current_->schema(), *schema_);
      }
    }
  }

 private:
  std::vector<std::string> paths_;
  std::string format_;
  CsvOptions csv_;
  DeclaredColumns declared_;
  std::shared_ptr<arrow::RecordBatchReader> current_;
  std::shared_ptr<arrow::Schema> schema_;
  size_t index_ = 0;
};

}  // namespace

namespace {

bool EndsWith(std::string_view text, std::string_view suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

std::string Lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

// The name without a compression suffix, lower case.
std::string PlainName(const std::string& path) {
  std::string name = Lower(path);
  for (const char* suffix : {".gz", ".gzip", ".zst", ".zstd"}) {
    if (EndsWith(name, suffix)) return name.substr(0, name.size() - std::strlen(suffix));
  }
  return name;
}

// The codec of a compressed file, by its first bytes; nullopt for plain text.
arrow::Result<std::optional<arrow::Compression::type>> CompressionOf(
    const std::string& path, arrow::io::RandomAccessFile& file) {
  ARROW_ASSIGN_OR_RAISE(auto head, file.ReadAt(0, 4));
  const uint8_t* b = head->data();
  if (head->size() >= 2 && b[0] == 0x1f && b[1] == 0x8b) return arrow::Compression::GZIP;
  if (head->size() >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
    return arrow::Compression::ZSTD;
  std::string name = Lower(path);
  if (EndsWith(name, ".gz") || EndsWith(name, ".gzip") || EndsWith(name, ".zst") ||
      EndsWith(name, ".zstd")) {
    return arrow::Status::Invalid(
        "input ", path,
        ": its name says compressed, but its bytes are not gzip "
        "or zstd");
  }
  return std::nullopt;
}

// Codecs outlive every stream that uses them.
arrow::Result<arrow::util::Codec*> CodecFor(arrow::Compression::type type) {
  static std::mutex mutex;
  static std::map<arrow::Compression::type, std::unique_ptr<arrow::util::Codec>> codecs;
  std::lock_guard<std::mutex> lock(mutex);
  auto& codec = codecs[type];
  if (!codec) {
    ARROW_ASSIGN_OR_RAISE(codec, arrow::util::Codec::Create(type));
  }
  return codec.get();
}

}  // namespace

std::string FormatFromExtension(const std::string& path) {
  std::string name = PlainName(path);
  if (EndsWith(name, ".csv") || EndsWith(name, ".tsv")) return "csv";
  if (EndsWith(name, ".ndjson") || EndsWith(name, ".jsonl")) return "ndjson";
  if (EndsWith(name, ".json")) return "json";
  if (EndsWith(name, ".parquet")) return "parquet";
  return "";
}

arrow::Result<std::optional<arrow::Compression::type>> CompressionOf(
    const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(auto file, arrow::io::ReadableFile::Open(path));
  return CompressionOf(path, *file);
}

arrow::Result<std::shared_ptr<arrow::io::InputStream>> Decompressed(
    const std::string& path, std::shared_ptr<arrow::io::InputStream> raw) {
  ARROW_ASSIGN_OR_RAISE(auto file, arrow::io::ReadableFile::Open(path));
  return Decompressed(path, *file, std::move(raw));
}

arrow::Result<std::shared_ptr<arrow::io::InputStream>> Decompressed(
    const std::string& path, arrow::io::RandomAccessFile& file,
    std::shared_ptr<arrow::io::InputStream> raw) {
  ARROW_ASSIGN_OR_RAISE(auto compression, CompressionOf(path, file));
  if (!compression) return raw;
  ARROW_ASSIGN_OR_RAISE(auto* codec, CodecFor(*compression));
  ARROW_ASSIGN_OR_RAISE(auto stream,
                        arrow::io::CompressedInputStream::Make(codec, std::move(raw)));
  return stream;
}

arrow::Result<std::shared_ptr<arrow::io::InputStream>> OpenTextInput(
    const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(auto file, arrow::io::ReadableFile::Open(path));
  return Decompressed(path, std::move(file));
}

arrow::Result<bool> IsCompressed(const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(auto compression, CompressionOf(path));
  return compression.has_value();
}

arrow::Result<bool> IsCompressed(const std::string& path,
                                 arrow::io::RandomAccessFile& file) {
  ARROW_ASSIGN_OR_RAISE(auto compression, CompressionOf(path, file));
  return compression.has_value();
}

arrow::Result<std::shared_ptr<arrow::Buffer>> ReadAll(arrow::io::InputStream& input) {
  std::vector<std::shared_ptr<arrow::Buffer>> parts;
  int64_t total = 0;
  while (true) {
    ARROW_ASSIGN_OR_RAISE(auto chunk, input.Read(8 << 20));
    if (chunk->size() == 0) break;
    total += chunk->size();
    parts.push_back(std::move(chunk));
  }
  if (parts.size() == 1) return parts[0];
  ARROW_ASSIGN_OR_RAISE(auto out, arrow::AllocateBuffer(total));
  int64_t at = 0;
  for (const auto& p : parts) {
    std::memcpy(out->mutable_data() + at, p->data(), static_cast<size_t>(p->size()));
    at += p->size();
  }
  return std::shared_ptr<arrow::Buffer>(std::move(out));
}

CsvSettings CsvSettingsFor(const CsvOptions& csv, const std::string& path) {
  CsvSettings s{arrow::csv::ReadOptions::Defaults(), arrow::csv::ParseOptions::Defaults(),
                arrow::csv::ConvertOptions::Defaults()};
  s.convert.timestamp_parsers = {arrow::TimestampParser::MakeISO8601()};
  s.parse.delimiter =
      csv.delimiter.value_or(EndsWith(PlainName(path), ".tsv") ? '\t' : ',');
  s.parse.quote_char = csv.quote;
  if (csv.escape) {
    s.parse.escaping = true;
    s.parse.escape_char = *csv.escape;
  }
  s.read.autogenerate_column_names = !csv.header;
  if (csv.null_values) {
    s.convert.null_values = *csv.null_values;
    s.convert.strings_can_be_null = true;
    s.convert.quoted_strings_can_be_null = false;
  }
  return s;
}

// Where row i of what was read is, for messages: a line of a CSV or NDJSON file (the
// first row read is on first_line), a row otherwise.
std::string Place(const std::string& format, int64_t first_line, int64_t i) {
  if (format == "csv" || format == "ndjson")
    return "line " + std::to_string(first_line + i);
  if (format == "parquet") return "row " + std::to_string(first_line + i);
  return "row " + std::to_string(i + 1);
}

arrow::Result<std::shared_ptr<arrow::ChunkedArray>> ConvertColumn(
    const std::shared_ptr<arrow::ChunkedArray>& column,
    const std::shared_ptr<arrow::DataType>& type, const std::string& file,
    const std::string& format, int64_t first_line, const std::string& name) {
  if (column->type()->Equals(*type)) return column;
  ARROW_ASSIGN_OR_RAISE(auto array, arrow::Concatenate(column->chunks()));
  bool is_text = array->type_id() == arrow::Type::STRING ||
                 array->type_id() == arrow::Type::LARGE_STRING;
  if (type->id() == arrow::Type::TIMESTAMP && is_text) {
    ARROW_ASSIGN_OR_RAISE(array, arrow::compute::Cast(*array, arrow::utf8()));
    const auto& strings = static_cast<const arrow::StringArray&>(*array);
    arrow::TimestampBuilder b(type, arrow::default_memory_pool());
    ARROW_RETURN_NOT_OK(b.Reserve(strings.length()));
    for (int64_t i = 0; i < strings.length(); ++i) {
      if (strings.IsNull(i)) {
        b.UnsafeAppendNull();
        continue;
      }
      auto us = ParseTimestampMicros(strings.GetView(i));
      if (!us.ok()) {
        return arrow::Status::Invalid(file, ": ", Place(format, first_line, i),
                                      ", column '", name, "': ", us.status().message());
      }
      b.UnsafeAppend(*us);
    }
    ARROW_ASSIGN_OR_RAISE(auto out, b.Finish());
    return std::make_shared<arrow::ChunkedArray>(out);
  }
  auto cast = arrow::compute::Cast(*array, type);
  if (cast.ok()) return std::make_shared<arrow::ChunkedArray>(*cast);
  // Find the first value that does not convert, to name it.
  for (int64_t i = 0; i < array->length(); ++i) {
    auto slice = array->Slice(i, 1);
    if (!arrow::compute::Cast(*slice, type).ok()) {
      auto scalar = array->GetScalar(i);
      return arrow::Status::Invalid(file, ": ", Place(format, first_line, i),
                                    ", column '", name, "': value ",
                                    scalar.ok() ? (*scalar)->ToString() : "?",
                                    " is not a valid ", type->ToString());
    }
  }
  return cast.status().WithMessage(file, ", column '", name,
                                   "': ", cast.status().message());
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenDebeziumFile(
    const std::string& path, const DebeziumOptions& options) {
  auto r = OpenDebezium(path, options);
  if (!r.ok()) return r.status().WithMessage("input ", path, ": ", r.status().message());
  return r;
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenInputFiles(
    const std::vector<std::string>& paths, const std::string& format,
    const CsvOptions& csv, const DeclaredColumns& declared) {
  if (paths.empty()) return arrow::Status::Invalid("no input files");
  ARROW_ASSIGN_OR_RAISE(auto first, OpenOne(paths[0], format, csv, declared));
  if (paths.size() == 1) return first;
  return std::make_shared<ConcatenatedInput>(paths, format, csv, declared,
                                             std::move(first));
}

arrow::Result<std::shared_ptr<arrow::Table>> ReadInputFiles(
    const std::vector<std::string>& paths, const std::string& format,
    const CsvOptions& csv, const DeclaredColumns& declared) {
  bool parquet = !paths.empty() && declared.empty();
  for (const auto& p : paths)
    parquet = parquet && (format.empty() ? FormatFromExtension(p) : format) == "parquet";
  if (!parquet) {
    ARROW_ASSIGN_OR_RAISE(auto reader, OpenInputFiles(paths, format, csv, declared));
    return arrow::Table::FromRecordBatchReader(reader.get());
  }
  // Parquet files are read whole: each column chunk is decoded in one go, the columns in
  // parallel, without growing a batch's buffers again and again.
  auto fs = std::make_shared<arrow::fs::LocalFileSystem>();
  std::vector<std::shared_ptr<arrow::Table>> tables;
  for (const auto& path : paths) {
    std::shared_ptr<arrow::Table> t;
    auto file = OpenParquetFile(fs, path, kParquetBatchRows);
    arrow::Status st = file.ok() ? (*file)->ReadTable(&t) : file.status();
    if (!st.ok()) return st.WithMessage("input ", path, ": ", st.message());
    if (!tables.empty() &&
        !t->schema()->Equals(*tables[0]->schema(), /*check_metadata=*/false)) {
      return SchemaDiffers(path, *t->schema(), *tables[0]->schema());
    }
    tables.push_back(std::move(t));
  }
  return arrow::ConcatenateTables(tables);
}

}  // namespace inlet
