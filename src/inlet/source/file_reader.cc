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

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenCsv(
    const std::string& path, const CsvOptions& csv,
    const std::set<std::string>& declared) {
  ARROW_ASSIGN_OR_RAISE(auto input, OpenTextInput(path));
  CsvSettings settings = CsvSettingsFor(csv, path);
  settings.read.block_size = kBlockSize;
  // Declared columns are read as text, and converted with errors naming their lines.
  for (const auto& name : declared) settings.convert.column_types[name] = arrow::utf8();
  return arrow::csv::StreamingReader::Make(arrow::io::default_io_context(), input,
                                           settings.read, settings.parse,
                                           settings.convert);
}

using InputOpener =
    std::function<arrow::Result<std::shared_ptr<arrow::io::InputStream>>()>;

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenArrowJson(
    std::shared_ptr<arrow::io::InputStream> input, std::shared_ptr<arrow::Schema> types) {
  auto read = arrow::json::ReadOptions::Defaults();
  read.block_size = kBlockSize;
  auto parse = arrow::json::ParseOptions::Defaults();
  parse.newlines_in_values = true;
  if (types) {
    parse.explicit_schema = std::move(types);
    parse.unexpected_field_behavior = arrow::json::UnexpectedFieldBehavior::InferType;
  }
  ARROW_ASSIGN_OR_RAISE(
      auto reader, arrow::json::StreamingReader::Make(std::move(input), read, parse));
  return reader;
}

// What text that looks like a time is, as CSV infers it: a bare date is a date, a time
// with a zone ("Z", "+02:00") an instant (timestamp, UTC), one without a local time
// (timestamp_ntz).
enum class TimeText { kDate, kInstant, kLocal };

bool IsBareDate(std::string_view v) {
  return v.size() == 10 && v[4] == '-' && v[7] == '-';
}

bool HasZone(std::string_view v) {
  if (v.empty()) return false;
  if (v.back() == 'Z' || v.back() == 'z') return true;
  size_t t = v.find_first_of("Tt ");
  return t != std::string_view::npos &&
         v.find_first_of("+-", t) != std::string_view::npos;
}

// Converts text columns Arrow's JSON reader would have typed as zoneless timestamps, so
// that JSON reads as CSV does (each column's kind decided by its first batch).
class TimeTextReader : public arrow::RecordBatchReader {
 public:
  // forced: text columns to type as times whatever they hold (Arrow inferred them as
  // zoneless timestamps); the other text columns but those declared (their types are the
  // caller's) are typed as times when
  // every value of the first batch is one. order: the names in the order the output
  // keeps (the file's: an explicit schema puts its columns first).
  static arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Make(
      std::shared_ptr<arrow::RecordBatchReader> reader,
      const std::vector<std::string>& forced, const std::set<std::string>& declared,
      const std::vector<std::string>& order) {
    auto out = std::shared_ptr<TimeTextReader>(new TimeTextReader(std::move(reader)));
    ARROW_RETURN_NOT_OK(out->reader_->ReadNext(&out->first_));
    arrow::FieldVector fields = out->reader_->schema()->fields();
    for (size_t c = 0; c < fields.size(); ++c) {
      const std::string& name = fields[c]->name();
      bool force = std::find(forced.begin(), forced.end(), name) != forced.end();
      if (fields[c]->type()->id() != arrow::Type::STRING) continue;
      if (!force && declared.count(name)) continue;
      std::optional<TimeText> kind =
          force ? std::optional<TimeText>(TimeText::kLocal) : std::nullopt;
      if (out->first_) {
        auto seen = Classify(static_cast<const arrow::StringArray&>(
            *out->first_->column(static_cast<int>(c))));
        if (seen) kind = seen;
      }
      if (!kind) continue;
      int i = static_cast<int>(c);
      out->kinds_.emplace_back(i, *kind);
      fields[i] = arrow::field(name, *kind == TimeText::kDate ? arrow::date32()
                                     : *kind == TimeText::kInstant
                                         ? arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")
                                         : arrow::timestamp(arrow::TimeUnit::MICRO));
    }
    // Output position -> input column.
    std::vector<bool> placed(fields.size(), false);
    arrow::FieldVector ordered;
    for (const auto& name : order) {
      int i = out->reader_->schema()->GetFieldIndex(name);
      if (i < 0 || placed[i]) continue;
      placed[i] = true;
      out->order_.push_back(i);
      ordered.push_back(fields[i]);
    }
    for (size_t i = 0; i < fields.size(); ++i) {
      if (placed[i]) continue;
      out->order_.push_back(static_cast<int>(i));
      ordered.push_back(fields[i]);
    }
    out->types_ = arrow::schema(fields);
    out->schema_ = arrow::schema(ordered);
    return out;
  }

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    std::shared_ptr<arrow::RecordBatch> batch;
    if (first_) {
      batch = std::move(first_);
    } else {
      ARROW_RETURN_NOT_OK(reader_->ReadNext(&batch));
    }
    if (!batch) {
      *out = nullptr;
      return arrow::Status::OK();
    }
    arrow::ArrayVector columns = batch->columns();
    for (const auto& [i, kind] : kinds_) {
      ARROW_ASSIGN_OR_RAISE(columns[i], Convert(*columns[i], kind, types_->field(i)));
    }
    arrow::ArrayVector ordered;
    for (int i : order_) ordered.push_back(columns[i]);
    *out = arrow::RecordBatch::Make(schema_, batch->num_rows(), std::move(ordered));
    return arrow::Status::OK();
  }

 private:
  explicit TimeTextReader(std::shared_ptr<arrow::RecordBatchReader> reader)
      : reader_(std::move(reader)) {}

  // What a column's values are when every one is a date or a time; nullopt otherwise (or
  // when all are null).
  static std::optional<TimeText> Classify(const arrow::StringArray& text) {
    bool any = false, dates = true, zoned = false;
    for (int64_t r = 0; r < text.length(); ++r) {
      if (text.IsNull(r)) continue;
      std::string_view v = text.GetView(r);
      any = true;
      if (IsBareDate(v)) {
        if (!ParseDate(v).ok()) return std::nullopt;
        continue;
      }
      if (v.size() < 16 || (v[10] != 'T' && v[10] != 't' && v[10] != ' ') ||
          !ParseTimestampMicros(v).ok()) {
        return std::nullopt;
      }
      dates = false;
      zoned = zoned || HasZone(v);
    }
    if (!any) return std::nullopt;
    return dates ? TimeText::kDate : zoned ? TimeText::kInstant : TimeText::kLocal;
  }

  static arrow::Result<std::shared_ptr<arrow::Array>> Convert(
      const arrow::Array& column, TimeText kind, const std::shared_ptr<arrow::Field>& f) {
    const auto& text = static_cast<const arrow::StringArray&>(column);
    auto what = [&](int64_t r) {
      return "column '" + f->name() + "', row " + std::to_string(r + 1) + ": '" +
             std::string(text.GetView(r)) + "'";
    };
    if (kind == TimeText::kDate) {
      arrow::Date32Builder b;
      ARROW_RETURN_NOT_OK(b.Reserve(text.length()));
      for (int64_t r = 0; r < text.length(); ++r) {
        if (text.IsNull(r)) {
          b.UnsafeAppendNull();
          continue;
        }
        auto day = ParseDate(text.GetView(r));
        if (!day.ok())
          return arrow::Status::Invalid(what(r),
                                        " is not a date like the column's first values");
        b.UnsafeAppend(*day);
      }
      return b.Finish();
    }
    arrow::TimestampBuilder b(f->type(), arrow::default_memory_pool());
    ARROW_RETURN_NOT_OK(b.Reserve(text.length()));
    for (int64_t r = 0; r < text.length(); ++r) {
      if (text.IsNull(r)) {
        b.UnsafeAppendNull();
        continue;
      }
      auto us = ParseTimestampMicros(text.GetView(r));
      if (!us.ok()) return arrow::Status::Invalid(what(r), " is not a timestamp");
      b.UnsafeAppend(*us);
    }
    return b.Finish();
  }

  std::shared_ptr<arrow::RecordBatchReader> reader_;
  std::shared_ptr<arrow::RecordBatch> first_;
  std::shared_ptr<arrow::Schema> types_;   // the input's columns, converted
  std::shared_ptr<arrow::Schema> schema_;  // in the output's order
  std::vector<int> order_;
  std::vector<std::pair<int, TimeText>> kinds_;
};

// The keys of the first record, in file order: an explicit schema puts its columns
// first, this puts them back. Empty when the first line is not one object.
std::vector<std::string> FirstRecordKeys(const InputOpener& open) {
  std::vector<std::string> keys;
  auto input = open();
  if (!input.ok()) return keys;
  auto head = (*input)->Read(1 << 20);
  if (!head.ok()) return keys;
  std::string_view text(reinterpret_cast<const char*>((*head)->data()), (*head)->size());
  size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return keys;
  size_t end = text.find('\n', start);
  auto first = nlohmann::ordered_json::parse(
      text.substr(start,
                  end == std::string_view::npos ? text.size() - start : end - start),
      nullptr, /*allow_exceptions=*/false);
  if (!first.is_object()) return keys;
  for (auto it = first.begin(); it != first.end(); ++it) keys.push_back(it.key());
  return keys;
}

// NDJSON through Arrow's reader, with its types (types: declared ones). Text that is a
// date or time is typed as CSV types it (TimeTextReader): columns Arrow infers as
// zoneless timestamps (losing the zone) are read again as text for that; open gives the
// input anew.
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenJsonLines(
    const InputOpener& open, std::shared_ptr<arrow::Schema> types = nullptr,
    std::set<std::string> declared = {}, bool file_order = true) {
  if (types) {
    for (const auto& f : types->fields()) declared.insert(f->name());
  }
  ARROW_ASSIGN_OR_RAISE(auto input, open());
  ARROW_ASSIGN_OR_RAISE(auto reader, OpenArrowJson(std::move(input), types));
  std::vector<std::string> times;
  for (const auto& f : reader->schema()->fields()) {
    if (!declared.count(f->name()) && f->type()->id() == arrow::Type::TIMESTAMP &&
        static_cast<const arrow::TimestampType&>(*f->type()).timezone().empty()) {
      times.push_back(f->name());
    }
  }
  std::vector<std::string> order =
      types && file_order ? FirstRecordKeys(open) : reader->schema()->field_names();
  if (!times.empty()) {
    arrow::FieldVector fields = types ? types->fields() : arrow::FieldVector{};
    for (const auto& name : times) fields.push_back(arrow::field(name, arrow::utf8()));
    ARROW_ASSIGN_OR_RAISE(input, open());
    ARROW_ASSIGN_OR_RAISE(reader, OpenArrowJson(std::move(input), arrow::schema(fields)));
  }
  return TimeTextReader::Make(std::move(reader), times, declared, order);
}

InputOpener BufferOpener(std::shared_ptr<arrow::Buffer> buffer) {
  return [buffer]() -> arrow::Result<std::shared_ptr<arrow::io::InputStream>> {
    return std::make_shared<arrow::io::BufferReader>(buffer);
  };
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
  ARROW_ASSIGN_OR_RAISE(auto reader, file->GetRecordBatchReader());
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
    const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(auto file, arrow::io::ReadableFile::Open(path));
  ARROW_ASSIGN_OR_RAISE(auto head, file->ReadAt(0, 4));
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

arrow::Result<std::shared_ptr<arrow::io::InputStream>> Decompressed(
    const std::string& path, std::shared_ptr<arrow::io::InputStream> raw) {
  ARROW_ASSIGN_OR_RAISE(auto compression, CompressionOf(path));
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

// Arrow's JSON errors count rows within a block; this finds the real line of the first
// malformed JSON value, reading the file again (only on the error path).
namespace {

// A JSON value's kind as Arrow's messages name it.
const char* KindName(const nlohmann::json& v) {
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  if (v.is_boolean()) return "boolean";
  if (v.is_object()) return "object";
  if (v.is_array()) return "array";
  return "null";
}

// Arrow's "Column(/NAME) changed from A to B in row N" counts rows within a block from 0:
// this finds the record where NAME first holds a B.
std::string LocateTypeChange(const std::string& text, bool lines,
                             const std::string& arrow_message) {
  static const std::regex kChange(R"(Column\(/([^)]*)\) changed from (\w+) to (\w+))");
  std::smatch m;
  if (!std::regex_search(arrow_message, m, kChange)) return "";
  std::string column = m[1], from = m[2], to = m[3];
  auto describe = [&](const std::string& where) {
    return where + ", column '" + column + "': a " + to + " where earlier values are a " +
           from + " (declare the column's type in the schema, or fix the file)";
  };
  if (!lines) {
    auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_array()) return "";
    for (size_t i = 0; i < doc.size(); ++i) {
      auto it = doc[i].find(column);
      if (it != doc[i].end() && KindName(*it) == to) {
        return describe("element " + std::to_string(i + 1));
      }
    }
    return "";
  }
  size_t line = 0, pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    ++line;
    auto record = nlohmann::json::parse(std::string_view(text.data() + pos, end - pos),
                                        nullptr, /*allow_exceptions=*/false);
    if (record.is_object()) {
      auto it = record.find(column);
      if (it != record.end() && KindName(*it) == to)
        return describe("line " + std::to_string(line));
    }
    pos = end + 1;
  }
  return "";
}

}  // namespace

std::string LocateJsonError(const std::string& path, const std::string& format,
                            const std::string& arrow_message) {
  auto compressed = IsCompressed(path);
  if (!compressed.ok() || *compressed) return "";  // its lines are not the file's bytes
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  bool lines = format == "ndjson" ||
               text.find_first_not_of(" \t\r\n") == std::string::npos ||
               text[text.find_first_not_of(" \t\r\n")] != '[';
  if (lines) {
    size_t line = 0, pos = 0;
    while (pos <= text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      ++line;
      std::string_view l(text.data() + pos, end - pos);
      if (l.find_first_not_of(" \t\r") != std::string_view::npos &&
          !nlohmann::json::accept(l)) {
        return "line " + std::to_string(line) + ": malformed JSON";
      }
      pos = end + 1;
    }
    return LocateTypeChange(text, true, arrow_message);
  }
  try {
    nlohmann::json parsed = nlohmann::json::parse(text);  // throws at the malformed byte
    (void)parsed;
  } catch (const nlohmann::json::parse_error& e) {
    size_t line =
        1 + std::count(text.begin(), text.begin() + std::min(e.byte, text.size()), '\n');
    return "line " + std::to_string(line) + ": malformed JSON";
  }
  return LocateTypeChange(text, false, arrow_message);
}

// Where row i of what was read is, for messages: a line of a CSV or NDJSON file (the
// first row read is on first_line), a row otherwise.
std::string Place(const std::string& format, int64_t first_line, int64_t i) {
  if (format == "csv" || format == "ndjson")
    return "line " + std::to_string(first_line + i);
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

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenJsonText(
    std::shared_ptr<arrow::Buffer> text, const std::string& name,
    const std::set<std::string>& declared, std::shared_ptr<arrow::Schema> types) {
  std::string_view view(reinterpret_cast<const char*>(text->data()), text->size());
  size_t first = view.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || view[first] != '[') {
    return OpenJsonLines(BufferOpener(std::move(text)), types, declared);
  }
  // ordered_json keeps each object's keys in file order, so columns keep that order.
  nlohmann::ordered_json doc =
      nlohmann::ordered_json::parse(view, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return arrow::Status::Invalid(name, ": invalid JSON");
  std::string lines;
  size_t i = 0;
  for (const auto& row : doc) {
    if (!row.is_object()) {
      return arrow::Status::Invalid(name, ": element ", i,
                                    " of the array is not an object");
    }
    lines += row.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    lines += '\n';
    ++i;
  }
  if (lines.empty()) return arrow::Status::Invalid(name, ": the JSON array is empty");
  return OpenJsonLines(BufferOpener(arrow::Buffer::FromString(std::move(lines))), types,
                       declared);
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenDebeziumText(
    std::shared_ptr<arrow::Buffer> text, const std::string& name,
    const DebeziumOptions& options) {
  std::string_view view(reinterpret_cast<const char*>(text->data()), text->size());
  ARROW_ASSIGN_OR_RAISE(auto events, DecodeDebeziumFile(view, name, options));
  if (events.rows == 0) return arrow::Status::Invalid(name, ": no change events");
  return OpenJsonLines(BufferOpener(arrow::Buffer::FromString(std::move(events.ndjson))),
                       events.types, {}, /*file_order=*/false);
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
