#include "inlet/source/parquet_extract.h"

#include <arrow/array/concatenate.h>
#include <arrow/array/util.h>
#include <arrow/compute/api.h>

#include <utility>

#include "inlet/source/file_reader.h"
#include "inlet/table/parquet_file.h"

namespace inlet {

namespace {

constexpr int64_t kBatchRows = 64 * 1024;

class ParquetExtract : public arrow::RecordBatchReader {
 public:
  ParquetExtract(std::vector<SourceFile> files, DeclaredSchema declared,
                 std::shared_ptr<const SourceStore> store,
                 std::shared_ptr<arrow::Schema> schema)
      : files_(std::move(files)),
        declared_(std::move(declared)),
        store_(std::move(store)),
        schema_(std::move(schema)) {}

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    while (true) {
      if (!reader_) {
        if (next_ >= files_.size()) {
          *out = nullptr;
          return arrow::Status::OK();
        }
        const SourceFile& f = files_[next_++];
        path_ = f.path;
        row_ = 0;
        // Not pre-buffered: that would hold the file's compressed columns until its end.
        // Columns are decoded in parallel all the same.
        auto file = OpenParquetFile(store_->fs(), store_->FsPath(f.path), kBatchRows,
                                    ParquetReads::kSerial);
        if (!file.ok()) return Named(file.status());
        file_ = std::move(*file);
        file_->set_use_threads(true);
        auto reader = ReadBatches(file_.get());
        if (!reader.ok()) return Named(reader.status());
        reader_ = std::move(*reader);
      }
      std::shared_ptr<arrow::RecordBatch> batch;
      if (auto st = reader_->ReadNext(&batch); !st.ok()) return Named(st);
      if (!batch) {
        reader_.reset();
        file_.reset();
        continue;
      }
      ARROW_ASSIGN_OR_RAISE(*out, Shape(*batch, static_cast<int32_t>(next_ - 1)));
      row_ += batch->num_rows();
      return arrow::Status::OK();
    }
  }

 private:
  arrow::Status Named(const arrow::Status& st) const {
    return st.WithMessage("input ", path_, ": ", st.message());
  }

  // The batch in the extract's schema: declared columns converted, others widened, the
  // columns its file lacks null, and kPartColumn the file's number.
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Shape(
      const arrow::RecordBatch& batch, int32_t part) const {
    arrow::ArrayVector columns;
    for (const auto& field : schema_->fields()) {
      if (field->name() == kPartColumn) {
        ARROW_ASSIGN_OR_RAISE(
            auto number,
            arrow::MakeArrayFromScalar(arrow::Int32Scalar(part), batch.num_rows()));
        columns.push_back(number);
        continue;
      }
      auto column = batch.GetColumnByName(field->name());
      if (!column) {
        ARROW_ASSIGN_OR_RAISE(auto nulls,
                              arrow::MakeArrayOfNull(field->type(), batch.num_rows()));
        columns.push_back(nulls);
        continue;
      }
      if (column->type()->Equals(*field->type())) {
        columns.push_back(column);
        continue;
      }
      bool declared = false;
      for (const auto& d : declared_) declared = declared || d.first == field->name();
      if (declared) {
        ARROW_ASSIGN_OR_RAISE(
            auto converted,
            ConvertColumn(std::make_shared<arrow::ChunkedArray>(column), field->type(),
                          path_, "parquet", row_ + 1, field->name()));
        ARROW_ASSIGN_OR_RAISE(auto one, arrow::Concatenate(converted->chunks()));
        columns.push_back(one);
        continue;
      }
      auto cast = arrow::compute::Cast(*column, field->type());
      if (!cast.ok()) {
        return arrow::Status::Invalid("input ", path_, ": column '", field->name(), "' (",
                                      column->type()->ToString(), ") does not widen to ",
                                      field->type()->ToString(),
                                      " (declare the column's type in source.schema)");
      }
      columns.push_back(*cast);
    }
    return arrow::RecordBatch::Make(schema_, batch.num_rows(), std::move(columns));
  }

  std::vector<SourceFile> files_;
  DeclaredSchema declared_;
  std::shared_ptr<const SourceStore> store_;
  std::shared_ptr<arrow::Schema> schema_;
  size_t next_ = 0;
  std::string path_;  // of the file being read
  int64_t row_ = 0;   // rows read of it
  std::unique_ptr<parquet::arrow::FileReader> file_;
  std::shared_ptr<arrow::RecordBatchReader> reader_;
};

}  // namespace

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenParquetExtract(
    std::vector<SourceFile> files, DeclaredSchema declared,
    std::shared_ptr<const SourceStore> store) {
  if (files.empty()) return arrow::Status::Invalid("no source files to read");
  // The schema from the files' footers, unified as the tables of a read in memory are.
  // Declared columns take their types in each file first, as each file's table does.
  std::vector<std::shared_ptr<arrow::Schema>> schemas;
  for (const auto& f : files) {
    auto file = OpenParquetFile(store->fs(), store->FsPath(f.path), kBatchRows,
                                ParquetReads::kSerial);
    std::shared_ptr<arrow::Schema> schema;
    arrow::Status st = file.ok() ? (*file)->GetSchema(&schema) : file.status();
    if (!st.ok()) return st.WithMessage("input ", f.path, ": ", st.message());
    schema = schema->RemoveMetadata();
    for (const auto& [name, type] : declared) {
      if (int i = schema->GetFieldIndex(name); i >= 0) {
        ARROW_ASSIGN_OR_RAISE(schema, schema->SetField(i, arrow::field(name, type)));
      }
    }
    schemas.push_back(schema);
  }
  auto unified = arrow::UnifySchemas(schemas, arrow::Field::MergeOptions::Permissive());
  if (!unified.ok()) {
    return unified.status().WithMessage(
        "source files have incompatible columns: ", unified.status().message(),
        " (declare the column's type in source.schema)");
  }
  std::shared_ptr<arrow::Schema> schema = *unified;
  for (const auto& [name, type] : declared) {
    int i = schema->GetFieldIndex(name);
    if (i < 0) {
      ARROW_ASSIGN_OR_RAISE(
          schema, schema->AddField(schema->num_fields(), arrow::field(name, type)));
    } else {
      ARROW_ASSIGN_OR_RAISE(schema, schema->SetField(i, arrow::field(name, type)));
    }
  }
  ARROW_ASSIGN_OR_RAISE(
      schema,
      schema->AddField(schema->num_fields(), arrow::field(kPartColumn, arrow::int32())));
  return std::make_shared<ParquetExtract>(std::move(files), std::move(declared),
                                          std::move(store), std::move(schema));
}

}  // namespace inlet
