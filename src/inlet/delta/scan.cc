#include "inlet/delta/scan.h"

#include <arrow/array.h>
#include <arrow/array/concatenate.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <arrow/util/key_value_metadata.h>

#include <algorithm>

#include "inlet/common/uri.h"
#include "inlet/delta/deletion_vector.h"
#include "inlet/delta/features.h"
#include "inlet/delta/file_skipping.h"
#include "inlet/table/parquet_file.h"
#include "inlet/table/partition.h"

namespace inlet::delta {

std::string DataFilePath(const TableStore& store, const std::string& log_path) {
  std::string path = PercentDecode(log_path);
  if (path.rfind("file://", 0) == 0) return path.substr(7);
  if (path.rfind("file:", 0) == 0) return path.substr(5);
  // An absolute object-storage URI: the path in an S3 filesystem is bucket/key.
  if (path.rfind("s3://", 0) == 0) return path.substr(5);
  if (path.rfind("s3a://", 0) == 0) return path.substr(6);
  return store.Resolve(path);
}

namespace {

std::optional<int64_t> FieldId(const arrow::Field& f) {
  if (!f.metadata()) return std::nullopt;
  auto v = f.metadata()->Get("PARQUET:field_id");
  if (!v.ok()) return std::nullopt;
  return std::strtoll(v->c_str(), nullptr, 10);
}

// Finds the file field that stores a logical column: by field id (id mode), physical
// name (name mode) or name.
int MatchField(const arrow::FieldVector& file_fields, const ColumnInfo& info,
               ColumnMappingMode mode) {
  for (size_t i = 0; i < file_fields.size(); ++i) {
    const auto& f = *file_fields[i];
    if (mode == ColumnMappingMode::kId && info.field_id) {
      if (FieldId(f) == info.field_id) return static_cast<int>(i);
    } else if (f.name() == info.physical_name) {
      return static_cast<int>(i);
    }
  }
  if (mode == ColumnMappingMode::kId) {  // files written before the mapping was enabled
    for (size_t i = 0; i < file_fields.size(); ++i) {
      if (file_fields[i]->name() == info.physical_name) return static_cast<int>(i);
    }
  }
  return -1;
}

arrow::Result<std::shared_ptr<arrow::Array>> Compact(
    const std::shared_ptr<arrow::Array>& a) {
  if (a->offset() == 0) return a;
  return arrow::Concatenate({a});
}

// Converts an array read from a file to the logical type: renames nested fields, fills
// fields the file lacks with nulls, and casts narrower or differently encoded types.
arrow::Result<std::shared_ptr<arrow::Array>> Conform(
    std::shared_ptr<arrow::Array> array, const std::shared_ptr<arrow::DataType>& type,
    const ColumnInfo& info, ColumnMappingMode mode) {
  using arrow::Type;
  if (array->type()->Equals(*type)) return array;
  if (type->id() == Type::STRUCT && array->type_id() == Type::STRUCT) {
    ARROW_ASSIGN_OR_RAISE(array, Compact(array));
    const auto& s = static_cast<const arrow::StructArray&>(*array);
    arrow::ArrayVector children;
    for (int i = 0; i < type->num_fields(); ++i) {
      const auto& child_info = info.children[i];
      int idx = MatchField(s.struct_type()->fields(), child_info, mode);
      if (idx < 0) {
        ARROW_ASSIGN_OR_RAISE(auto nulls,
                              arrow::MakeArrayOfNull(type->field(i)->type(), s.length()));
        children.push_back(nulls);
      } else {
        ARROW_ASSIGN_OR_RAISE(
            auto c, Conform(s.field(idx), type->field(i)->type(), child_info, mode));
        children.push_back(c);
      }
    }
    return arrow::StructArray::Make(children, type->fields(), s.null_bitmap(),
                                    s.null_count());
  }
  if (type->id() == Type::LIST &&
      (array->type_id() == Type::LIST || array->type_id() == Type::LARGE_LIST)) {
    if (array->type_id() == Type::LARGE_LIST) {
      ARROW_ASSIGN_OR_RAISE(
          array, arrow::compute::Cast(*array, arrow::list(array->type()->field(0))));
    }
    ARROW_ASSIGN_OR_RAISE(array, Compact(array));
    const auto& l = static_cast<const arrow::ListArray&>(*array);
    const auto& value_type = static_cast<const arrow::ListType&>(*type).value_type();
    ARROW_ASSIGN_OR_RAISE(auto values,
                          Conform(l.values(), value_type, info.children.at(0), mode));
    auto data = l.data()->Copy();
    data->type = type;
    data->child_data = {values->data()};
    return arrow::MakeArray(data);
  }
  if (type->id() == Type::MAP && array->type_id() == Type::MAP) {
    ARROW_ASSIGN_OR_RAISE(array, Compact(array));
    const auto& m = static_cast<const arrow::MapArray&>(*array);
    const auto& mt = static_cast<const arrow::MapType&>(*type);
    ARROW_ASSIGN_OR_RAISE(auto keys,
                          Conform(m.keys(), mt.key_type(), info.children.at(0), mode));
    ARROW_ASSIGN_OR_RAISE(auto items,
                          Conform(m.items(), mt.item_type(), info.children.at(1), mode));
    ARROW_ASSIGN_OR_RAISE(
        auto entries, arrow::StructArray::Make({keys, items}, mt.value_type()->fields()));
    auto data = m.data()->Copy();
    data->type = type;
    data->child_data = {entries->data()};
    return arrow::MakeArray(data);
  }
  return arrow::compute::Cast(*array, type);
}

struct Column {
  std::shared_ptr<arrow::Field> field;  // logical
  const ColumnInfo* info;
  bool partition;
};

class DeltaScanReader : public arrow::RecordBatchReader {
 public:
  DeltaScanReader(std::shared_ptr<const TableStore> store,
                  std::shared_ptr<const TableState> state,
                  std::shared_ptr<const DeltaSchema> schema,
                  std::vector<const AddFile*> files, std::vector<Column> columns,
                  std::shared_ptr<arrow::Schema> output,
                  std::vector<BoundPredicate> filter, int64_t limit, int64_t batch_size)
      : store_(std::move(store)),
        state_(std::move(state)),
        schema_(std::move(schema)),
        files_(std::move(files)),
        columns_(std::move(columns)),
        output_(std::move(output)),
        filter_(std::move(filter)),
        remaining_(limit),
        batch_size_(batch_size),
        mode_(GetColumnMappingMode(state_->metadata)) {}

  std::shared_ptr<arrow::Schema> schema() const override { return output_; }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    *out = nullptr;
    while (remaining_ != 0) {
      if (!current_) {
        if (next_file_ >= files_.size()) return arrow::Status::OK();
        ARROW_RETURN_NOT_OK(OpenFile(*files_[next_file_++]));
      }
      std::shared_ptr<arrow::RecordBatch> raw;
      auto st = current_->ReadNext(&raw);
      if (!st.ok())
        return st.WithMessage("cannot read data file ", file_path_, ": ", st.message());
      if (!raw) {
        current_.reset();
        continue;
      }
      ARROW_ASSIGN_OR_RAISE(auto batch, Convert(*raw));
      if (batch->num_rows() == 0) continue;
      if (remaining_ > 0 && batch->num_rows() > remaining_)
        batch = batch->Slice(0, remaining_);
      if (remaining_ > 0) remaining_ -= batch->num_rows();
      *out = batch;
      return arrow::Status::OK();
    }
    return arrow::Status::OK();
  }

 private:
  arrow::Status OpenFile(const AddFile& file) {
    std::string path = DataFilePath(*store_, file.path);
    file_path_ = path;
    ARROW_ASSIGN_OR_RAISE(reader_, OpenParquetFile(store_->fs(), path, batch_size_));
    const auto& manifest = reader_->manifest();
    arrow::FieldVector file_fields;
    for (const auto& f : manifest.schema_fields) file_fields.push_back(f.field);
    std::vector<int> leaves;
    file_columns_.assign(columns_.size(), -1);
    int position = 0;
    for (size_t c = 0; c < columns_.size(); ++c) {
      if (columns_[c].partition) continue;
      int idx = MatchField(file_fields, *columns_[c].info, mode_);
      if (idx < 0) continue;
      CollectLeafIndices(manifest.schema_fields[idx], &leaves);
      file_columns_[c] = position++;
    }
    // Resolve partition values once per file.
    partition_scalars_.assign(columns_.size(), nullptr);
    for (size_t c = 0; c < columns_.size(); ++c) {
      if (!columns_[c].partition) continue;
      const auto& info = *columns_[c].info;
      auto it = file.partition_values.find(info.physical_name);
      if (it == file.partition_values.end()) it = file.partition_values.find(info.name);
      std::optional<std::string> text =
          it == file.partition_values.end() ? std::nullopt : it->second;
      ARROW_ASSIGN_OR_RAISE(
          partition_scalars_[c],
          ParsePartitionValue(text, columns_[c].field->type(), info.name));
    }
    deleted_.clear();
    if (file.deletion_vector) {
      auto rows = LoadDeletionVector(*store_, *file.deletion_vector);
      if (!rows.ok()) {
        return rows.status().WithMessage("data file ", path, ": ",
                                         rows.status().message());
      }
      deleted_ = std::move(*rows);
    }
    row_offset_ = 0;
    std::vector<int> row_groups(reader_->num_row_groups());
    for (size_t i = 0; i < row_groups.size(); ++i) row_groups[i] = static_cast<int>(i);
    if (leaves.empty()) {
      // Only partition columns (or none) are needed: rows come from the row counts.
      rows_only_ = reader_->parquet_reader()->metadata()->num_rows();
      current_ = std::make_shared<RowCountReader>(rows_only_, batch_size_);
      return arrow::Status::OK();
    }
    auto rb = reader_->GetRecordBatchReader(row_groups, leaves);
    if (!rb.ok())
      return rb.status().WithMessage("cannot read data file ", path, ": ",
                                     rb.status().message());
    current_ = std::move(*rb);
    return arrow::Status::OK();
  }

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Convert(
      const arrow::RecordBatch& raw) {
    int64_t n = raw.num_rows();
    arrow::ArrayVector arrays;
    arrow::FieldVector fields;
    for (size_t c = 0; c < columns_.size(); ++c) {
      const auto& field = columns_[c].field;
      std::shared_ptr<arrow::Array> a;
      if (columns_[c].partition) {
        ARROW_ASSIGN_OR_RAISE(a, arrow::MakeArrayFromScalar(*partition_scalars_[c], n));
      } else if (file_columns_[c] < 0) {
        ARROW_ASSIGN_OR_RAISE(a, arrow::MakeArrayOfNull(field->type(), n));
      } else {
        auto conformed = Conform(raw.column(file_columns_[c]), field->type(),
                                 *columns_[c].info, mode_);
        if (!conformed.ok()) {
          return conformed.status().WithMessage("data file ", file_path_, ", column '",
                                                field->name(),
                                                "': ", conformed.status().message());
        }
        a = *conformed;
      }
      arrays.push_back(a);
      fields.push_back(field);
    }
    auto batch = arrow::RecordBatch::Make(arrow::schema(fields), n, arrays);
    int64_t first_row = row_offset_;
    row_offset_ += n;
    if (!deleted_.empty()) {
      ARROW_ASSIGN_OR_RAISE(batch, DropDeleted(batch, first_row));
    }
    ARROW_ASSIGN_OR_RAISE(batch, FilterBatch(batch, filter_));
    // Project to the requested columns (filter columns may be extra).
    arrow::ArrayVector out;
    for (const auto& f : output_->fields())
      out.push_back(batch->GetColumnByName(f->name()));
    return arrow::RecordBatch::Make(output_, batch->num_rows(), out);
  }

  arrow::Result<std::shared_ptr<arrow::RecordBatch>> DropDeleted(
      const std::shared_ptr<arrow::RecordBatch>& batch, int64_t first_row) {
    int64_t n = batch->num_rows();
    auto lo = std::lower_bound(deleted_.begin(), deleted_.end(),
                               static_cast<uint64_t>(first_row));
    auto hi = std::lower_bound(lo, deleted_.end(), static_cast<uint64_t>(first_row + n));
    if (lo == hi) return batch;
    arrow::BooleanBuilder keep;
    ARROW_RETURN_NOT_OK(keep.Reserve(n));
    auto it = lo;
    for (int64_t i = 0; i < n; ++i) {
      bool deleted = it != hi && *it == static_cast<uint64_t>(first_row + i);
      if (deleted) ++it;
      keep.UnsafeAppend(!deleted);
    }
    ARROW_ASSIGN_OR_RAISE(auto mask, keep.Finish());
    ARROW_ASSIGN_OR_RAISE(arrow::Datum filtered, arrow::compute::Filter(batch, mask));
    return filtered.record_batch();
  }

  // Yields empty-column batches carrying only row counts.
  class RowCountReader : public arrow::RecordBatchReader {
   public:
    RowCountReader(int64_t rows, int64_t batch) : rows_(rows), batch_(batch) {}
    std::shared_ptr<arrow::Schema> schema() const override { return arrow::schema({}); }
    arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
      if (rows_ == 0) {
        *out = nullptr;
        return arrow::Status::OK();
      }
      int64_t n = std::min(rows_, batch_);
      rows_ -= n;
      *out = arrow::RecordBatch::Make(arrow::schema({}), n, arrow::ArrayVector{});
      return arrow::Status::OK();
    }

   private:
    int64_t rows_, batch_;
  };

  std::shared_ptr<const TableStore> store_;
  std::shared_ptr<const TableState> state_;
  std::shared_ptr<const DeltaSchema> schema_;
  std::vector<const AddFile*> files_;
  std::vector<Column> columns_;
  std::shared_ptr<arrow::Schema> output_;
  std::vector<BoundPredicate> filter_;
  int64_t remaining_;
  int64_t batch_size_;
  ColumnMappingMode mode_;

  size_t next_file_ = 0;
  std::string file_path_;
  std::unique_ptr<parquet::arrow::FileReader> reader_;
  std::shared_ptr<arrow::RecordBatchReader> current_;
  std::vector<int> file_columns_;
  std::vector<std::shared_ptr<arrow::Scalar>> partition_scalars_;
  std::vector<uint64_t> deleted_;
  int64_t row_offset_ = 0;
  int64_t rows_only_ = 0;
};

}  // namespace

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> ScanState(
    std::shared_ptr<const TableStore> store, std::shared_ptr<const TableState> state,
    std::shared_ptr<const DeltaSchema> schema, const ScanOptions& options) {
  const auto& logical = *schema->arrow_schema;
  ARROW_ASSIGN_OR_RAISE(auto filter, BindConjunction(options.filter, logical));
  // Output columns, then any filter column not among them.
  std::vector<std::string> names = options.columns;
  if (names.empty()) {
    for (const auto& f : logical.fields()) names.push_back(f->name());
  }
  arrow::FieldVector out_fields;
  std::vector<Column> columns;
  auto add_column = [&](const std::string& name, bool output) -> arrow::Status {
    int idx = schema->FindColumn(name);
    if (idx < 0) {
      return arrow::Status::Invalid("unknown column '", name,
                                    "' (table columns: ", logical.ToString(), ")");
    }
    const auto& field = logical.field(idx);
    for (const auto& c : columns) {
      if (c.field->name() == field->name()) {
        if (output) out_fields.push_back(field);
        return arrow::Status::OK();
      }
    }
    const auto& pcs = state->metadata.partition_columns;
    bool partition = std::find(pcs.begin(), pcs.end(), field->name()) != pcs.end();
    columns.push_back({field, &schema->columns[idx], partition});
    if (output) out_fields.push_back(field);
    return arrow::Status::OK();
  };
  for (const auto& n : names) ARROW_RETURN_NOT_OK(add_column(n, true));
  for (const auto& p : filter) ARROW_RETURN_NOT_OK(add_column(p.field->name(), false));
  ARROW_ASSIGN_OR_RAISE(auto files, SelectFiles(*state, *schema, filter));
  return std::make_shared<DeltaScanReader>(
      std::move(store), std::move(state), std::move(schema), std::move(files),
      std::move(columns), arrow::schema(out_fields), std::move(filter), options.limit,
      options.batch_size);
}

}  // namespace inlet::delta
