// inlet/io.h's WriteRecords.
#include <arrow/csv/writer.h>
#include <arrow/io/file.h>
#include <arrow/ipc/writer.h>
#include <parquet/arrow/writer.h>

#include "inlet/common/arrow_json.h"
#include "inlet/io.h"

namespace inlet {

namespace {

arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenSink(
    const std::string& path) {
  if (path.empty() || path == "-") return arrow::io::FileOutputStream::Open(1);
  return arrow::io::FileOutputStream::Open(path);
}

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
  ARROW_ASSIGN_OR_RAISE(auto sink, OpenSink(path));
  int64_t rows = 0;
  if (format == "csv") {
    ARROW_ASSIGN_OR_RAISE(auto writer, arrow::csv::MakeCSVWriter(sink, reader->schema()));
    ARROW_ASSIGN_OR_RAISE(rows, ForEachBatch(reader, [&](const arrow::RecordBatch& b) {
                            return writer->WriteRecordBatch(b);
                          }));
    ARROW_RETURN_NOT_OK(writer->Close());
  } else if (format == "ndjson") {
    ARROW_ASSIGN_OR_RAISE(rows, ForEachBatch(reader, [&](const arrow::RecordBatch& b) {
                            std::string text;
                            for (int64_t r = 0; r < b.num_rows(); ++r) {
                              Json row = Json::object();
                              for (int c = 0; c < b.num_columns(); ++c) {
                                row[b.schema()->field(c)->name()] =
                                    ArrowValueToJson(*b.column(c), r);
                              }
                              text += DumpJson(row);
                              text += '\n';
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
  if (!(path.empty() || path == "-")) ARROW_RETURN_NOT_OK(sink->Close());
  return rows;
}

}  // namespace inlet
