// inlet/io.h's WriteRecords.
#include <arrow/csv/writer.h>
#include <arrow/io/file.h>
#include <arrow/ipc/writer.h>
#include <parquet/arrow/writer.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "inlet/common/arrow_json.h"
#include "inlet/io.h"

namespace inlet {

namespace {

// Standard output as a stream that counts its own position, so that a pipe (which
// cannot seek) takes Parquet too.
class StandardOutput : public arrow::io::OutputStream {
 public:
  arrow::Status Close() override {
    closed_ = true;
    return arrow::Status::OK();
  }
  bool closed() const override { return closed_; }
  arrow::Result<int64_t> Tell() const override { return position_; }
  arrow::Status Write(const void* data, int64_t nbytes) override {
    const char* p = static_cast<const char*>(data);
    while (nbytes > 0) {
      ssize_t n = ::write(1, p, static_cast<size_t>(nbytes));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        return arrow::Status::IOError("cannot write to standard output: ",
                                      std::strerror(errno));
      }
      p += n;
      nbytes -= n;
      position_ += n;
    }
    return arrow::Status::OK();
  }

 private:
  int64_t position_ = 0;
  bool closed_ = false;
};

bool ToStandardOutput(const std::string& path) { return path.empty() || path == "-"; }

// Where a file's records are written until they are complete: a hidden file beside it,
// renamed over it on success, so that a failed write leaves no partial file.
std::string TemporaryOf(const std::string& path) {
  std::filesystem::path p(path);
  return (p.parent_path() /
          ("." + p.filename().string() + ".inlet-" + std::to_string(::getpid()) + ".tmp"))
      .string();
}

arrow::Result<int64_t> WriteTo(arrow::RecordBatchReader* reader,
                               std::shared_ptr<arrow::io::OutputStream> sink,
                               const std::string& format);

// Calls fn on every batch of reader; returns the number of rows.
template <typename Fn>
arrow::Result<int64_t> ForEachBatch(arrow::RecordBatchReader* reader, Fn&& fn) {
  int64_t rows = 0;
  while (true) {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(reader->ReadNext(&batch));
    if (!batch) return rows;
    rows += batch->num_rows();
    ARROW_RETURN_NOT_OK(fn(*batch));
  }
}

}  // namespace

arrow::Result<int64_t> WriteRecords(arrow::RecordBatchReader* reader,
                                    const std::string& path, const std::string& format) {
  if (format != "csv" && format != "ndjson" && format != "parquet") {
    return arrow::Status::Invalid("unknown output format '", format,
                                  "' (use csv, ndjson or parquet)");
  }
  if (ToStandardOutput(path)) {
    auto sink = std::make_shared<StandardOutput>();
    return WriteTo(reader, sink, format);
  }
  std::string temporary = TemporaryOf(path);
  auto opened = arrow::io::FileOutputStream::Open(temporary);
  if (!opened.ok()) {
    return arrow::Status::IOError("cannot write ", path, ": ", opened.status().message());
  }
  auto sink = *opened;
  auto rows = WriteTo(reader, sink, format);
  arrow::Status closed = sink->Close();
  if (rows.ok() && closed.ok()) {
    std::error_code ec;
    std::filesystem::rename(temporary, path, ec);
    if (!ec) return rows;
    closed = arrow::Status::IOError("cannot write ", path, ": ", ec.message());
  }
  std::error_code ignored;
  std::filesystem::remove(temporary, ignored);
  return rows.ok() ? closed : rows.status();
}

namespace {

arrow::Result<int64_t> WriteTo(arrow::RecordBatchReader* reader,
                               std::shared_ptr<arrow::io::OutputStream> sink,
                               const std::string& format) {
  int64_t rows = 0;
  if (format == "csv") {
    for (const auto& f : reader->schema()->fields()) {
      if (arrow::is_nested(f->type()->id())) {
        return arrow::Status::Invalid("column '", f->name(), "' (", f->type()->ToString(),
                                      ") cannot be written as CSV: use --output-format "
                                      "ndjson or parquet, or --columns without it");
      }
    }
    ARROW_ASSIGN_OR_RAISE(auto writer, arrow::csv::MakeCSVWriter(sink, reader->schema()));
    ARROW_ASSIGN_OR_RAISE(rows, ForEachBatch(reader, [&](const arrow::RecordBatch& b) {
                            return writer->WriteRecordBatch(b);
                          }));
    ARROW_RETURN_NOT_OK(writer->Close());
  } else if (format == "ndjson") {
    ARROW_ASSIGN_OR_RAISE(rows, ForEachBatch(reader, [&](const arrow::RecordBatch& b) {
                            // Keys in the columns' order (a Json object sorts them).
                            std::vector<std::string> keys;
                            for (const auto& f : b.schema()->fields())
                              keys.push_back(DumpJson(Json(f->name())) + ":");
                            std::string text;
                            for (int64_t r = 0; r < b.num_rows(); ++r) {
                              text += '{';
                              for (int c = 0; c < b.num_columns(); ++c) {
                                if (c > 0) text += ',';
                                text += keys[c];
                                text += DumpJson(ArrowValueToJson(*b.column(c), r));
                              }
                              text += "}\n";
                            }
                            return sink->Write(text);
                          }));
  } else {
    ARROW_ASSIGN_OR_RAISE(auto writer,
                          parquet::arrow::FileWriter::Open(
                              *reader->schema(), arrow::default_memory_pool(), sink));
    ARROW_ASSIGN_OR_RAISE(rows, ForEachBatch(reader, [&](const arrow::RecordBatch& b) {
                            return writer->WriteRecordBatch(b);
                          }));
    ARROW_RETURN_NOT_OK(writer->Close());
  }
  return rows;
}

}  // namespace

}  // namespace inlet
