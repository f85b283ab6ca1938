#include "inlet/source/file_reader.h"

#include <arrow/csv/api.h>
#include <arrow/filesystem/localfs.h>
#include <arrow/io/file.h>
#include <arrow/io/memory.h>
#include <arrow/json/api.h>
#include <arrow/table.h>
#include <arrow/util/value_parsing.h>

#include "inlet/common/json.h"
#include "inlet/source/debezium.h"
#include "inlet/table/parquet_file.h"

namespace inlet {

namespace {

constexpr int32_t kBlockSize = 32 << 20;

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenCsv(
    const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(auto file, arrow::io::ReadableFile::Open(path));
  auto read = arrow::csv::ReadOptions::Defaults();
  read.block_size = kBlockSize;
  auto convert = arrow::csv::ConvertOptions::Defaults();
  convert.timestamp_parsers = {arrow::TimestampParser::MakeISO8601()};
  return arrow::csv::StreamingReader::Make(arrow::io::default_io_context(), file, read,
                                           arrow::csv::ParseOptions::Defaults(), convert);
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenJsonLines(
    std::shared_ptr<arrow::io::InputStream> input,
    std::shared_ptr<arrow::Schema> types = nullptr) {
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

// A JSON document holding an array of objects becomes NDJSON for Arrow's reader.
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenJson(
    const std::string& path) {
  ARROW_ASSIGN_OR_RAISE(auto file, arrow::io::ReadableFile::Open(path));
  ARROW_ASSIGN_OR_RAISE(int64_t size, file->GetSize());
  ARROW_ASSIGN_OR_RAISE(auto buffer, file->Read(size));
  return OpenJsonText(std::move(buffer), path);
}

// Debezium change events, decoded into flat rows typed by the events' schema.
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenDebezium(
    const std::string& path, const DebeziumOptions& options) {
  ARROW_ASSIGN_OR_RAISE(auto file, arrow::io::ReadableFile::Open(path));
  ARROW_ASSIGN_OR_RAISE(int64_t size, file->GetSize());
  ARROW_ASSIGN_OR_RAISE(auto buffer, file->Read(size));
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

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenOne(
    const std::string& path, const std::string& format) {
  std::string f = format.empty() ? FormatFromExtension(path) : format;
  arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> r;
  if (f == "csv") {
    r = OpenCsv(path);
  } else if (f == "json") {
    r = OpenJson(path);
  } else if (f == "ndjson") {
    ARROW_ASSIGN_OR_RAISE(auto file, arrow::io::ReadableFile::Open(path));
    r = OpenJsonLines(file);
  } else if (f == "parquet") {
    r = OpenParquet(path);
  } else if (f == "debezium") {
    r = OpenDebezium(path, {});
  } else {
    return arrow::Status::Invalid("input ", path, ": unknown format '", f,
                                  "' (use csv, json, ndjson, parquet or debezium)");
  }
  if (!r.ok()) return r.status().WithMessage("input ", path, ": ", r.status().message());
  return r;
}

// The error for an input file whose schema is not the first file's.
arrow::Status SchemaDiffers(const std::string& path, const arrow::Schema& schema,
                            const arrow::Schema& first) {
  return arrow::Status::Invalid("input ", path, ": schema ", schema.ToString(),
                                " differs from the first input's ", first.ToString());
}

class ConcatenatedInput : public arrow::RecordBatchReader {
 public:
  ConcatenatedInput(std::vector<std::string> paths, std::string format,
                    std::shared_ptr<arrow::RecordBatchReader> first)
      : paths_(std::move(paths)),
        format_(std::move(format)),
        current_(std::move(first)),
        schema_(current_->schema()) {}

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    while (true) {
      auto st = current_->ReadNext(out);
      if (!st.ok()) return st.WithMessage("input ", paths_[index_], ": ", st.message());
      if (*out) return arrow::Status::OK();
      if (++index_ >= paths_.size()) return arrow::Status::OK();
      ARROW_ASSIGN_OR_RAISE(current_, OpenOne(paths_[index_], format_));
      if (!current_->schema()->Equals(*schema_, /*check_metadata=*/false)) {
        return SchemaDiffers(paths_[index_], *current_->schema(), *schema_);
      }
    }
  }

 private:
  std::vector<std::string> paths_;
  std::string format_;
  std::shared_ptr<arrow::RecordBatchReader> current_;
  std::shared_ptr<arrow::Schema> schema_;
  size_t index_ = 0;
};

}  // namespace

std::string FormatFromExtension(const std::string& path) {
  auto ends = [&](const char* s) {
    std::string suffix(s);
    return path.size() >= suffix.size() &&
           path.compare(path.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends(".csv")) return "csv";
  if (ends(".ndjson") || ends(".jsonl")) return "ndjson";
  if (ends(".json")) return "json";
  if (ends(".parquet")) return "parquet";
  return "";
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenJsonText(
    std::shared_ptr<arrow::Buffer> text, const std::string& name) {
  std::string_view view(reinterpret_cast<const char*>(text->data()), text->size());
  size_t first = view.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || view[first] != '[') {
    return OpenJsonLines(std::make_shared<arrow::io::BufferReader>(std::move(text)));
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
  return OpenJsonLines(std::make_shared<arrow::io::BufferReader>(
      arrow::Buffer::FromString(std::move(lines))));
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenDebeziumText(
    std::shared_ptr<arrow::Buffer> text, const std::string& name,
    const DebeziumOptions& options) {
  std::string_view view(reinterpret_cast<const char*>(text->data()), text->size());
  ARROW_ASSIGN_OR_RAISE(auto events, DecodeDebeziumFile(view, name, options));
  if (events.rows == 0) return arrow::Status::Invalid(name, ": no change events");
  return OpenJsonLines(std::make_shared<arrow::io::BufferReader>(
                           arrow::Buffer::FromString(std::move(events.ndjson))),
                       events.types);
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenDebeziumFile(
    const std::string& path, const DebeziumOptions& options) {
  auto r = OpenDebezium(path, options);
  if (!r.ok()) return r.status().WithMessage("input ", path, ": ", r.status().message());
  return r;
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenInputFiles(
    const std::vector<std::string>& paths, const std::string& format) {
  if (paths.empty()) return arrow::Status::Invalid("no input files");
  ARROW_ASSIGN_OR_RAISE(auto first, OpenOne(paths[0], format));
  if (paths.size() == 1) return first;
  return std::make_shared<ConcatenatedInput>(paths, format, std::move(first));
}

arrow::Result<std::shared_ptr<arrow::Table>> ReadInputFiles(
    const std::vector<std::string>& paths, const std::string& format) {
  bool parquet = !paths.empty();
  for (const auto& p : paths)
    parquet = parquet && (format.empty() ? FormatFromExtension(p) : format) == "parquet";
  if (!parquet) {
    ARROW_ASSIGN_OR_RAISE(auto reader, OpenInputFiles(paths, format));
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
