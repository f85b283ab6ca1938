#include "inlet/cli/output.h"

#include <arrow/csv/writer.h>
#include <arrow/ipc/writer.h>
#include <arrow/io/file.h>
#include <parquet/arrow/writer.h>

#include "inlet/common/arrow_json.h"

namespace inlet::cli {

namespace {

arrow::Result<std::shared_ptr<arrow::io::OutputStream>> OpenSink(const std::string& path) {
  if (path.empty() || path == "-") return arrow::io::FileOutputStream::Open(1);
  return arrow::io::FileOutputStream::Open(path);
}

}  // namespace

arrow::Result<int64_t> WriteOutput(arrow::RecordBatchReader* reader, const std::string& path,
                                   const std::string& format) {
  ARROW_ASSIGN_OR_RAISE(auto sink, OpenSink(path));
  int64_t rows = 0;
  std::shared_ptr<arrow::RecordBatch> batch;
  if (format == "csv") {
    ARROW_ASSIGN_OR_RAISE(auto writer, arrow::csv::MakeCSVWriter(sink, reader->schema()));
    while (true) {
      ARROW_RETURN_NOT_OK(reader->ReadNext(&batch));
      if (!batch) break;
      rows += batch->num_rows();
      ARROW_RETURN_NOT_OK(writer->WriteRecordBatch(*batch));
    }
    ARROW_RETURN_NOT_OK(writer->Close());
  } else if (format == "ndjson") {
    while (true) {
      ARROW_RETURN_NOT_OK(reader->ReadNext(&batch));
      if (!batch) break;
      std::string text;
      for (int64_t r = 0; r < batch->num_rows(); ++r) {
        Json row = Json::object();
        for (int c = 0; c < batch->num_columns(); ++c) {
          row[batch->schema()->field(c)->name()] = ArrowValueToJson(*batch->column(c), r);
        }
        text += DumpJson(row);
        text += '\n';
      }
      rows += batch->num_rows();
      ARROW_RETURN_NOT_OK(sink->Write(text));
    }
  } else if (format == "parquet") {
    ARROW_ASSIGN_OR_RAISE(auto writer, parquet::arrow::FileWriter::Open(
                                           *reader->schema(), arrow::default_memory_pool(), sink));
    while (true) {
      ARROW_RETURN_NOT_OK(reader->ReadNext(&batch));
      if (!batch) break;
      rows += batch->num_rows();
      ARROW_RETURN_NOT_OK(writer->WriteRecordBatch(*batch));
    }
    ARROW_RETURN_NOT_OK(writer->Close());
  } else {
    return arrow::Status::Invalid("unknown output format '", format, "' (use csv, ndjson or parquet)");
  }
  if (!(path.empty() || path == "-")) ARROW_RETURN_NOT_OK(sink->Close());
  return rows;
}

}  // namespace inlet::cli
