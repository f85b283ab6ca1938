#include "inlet/table/file_scan.h"

#include <arrow/array.h>
#include <arrow/array/concatenate.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <arrow/util/key_value_metadata.h>

#include <algorithm>

#include "inlet/table/parquet_file.h"

namespace inlet::table {

namespace {

std::optional<int64_t> FieldId(const arrow::Field& f) {
  if (!f.metadata()) return std::nullopt;
  auto v = f.metadata()->Get("PARQUET:field_id");
  if (!v.ok()) return std::nullopt;
  return std::strtoll(v->c_str(), nullptr, 10);
}

// Finds the file field that stores a logical field: by field id (kFieldId, when the
// field has one), else by physical name; files written without ids by physical name.
int MatchField(const arrow::FieldVector& file_fields, const StoredField& info,
               MatchBy mode) {
  const bool by_id = mode == MatchBy::kFieldId && info.field_id;
  for (size_t i = 0; i < file_fields.size(); ++i) {
    const auto& f = *file_fields[i];
    if (by_id) {
      if (FieldId(f) == info.field_id) return static_cast<int>(i);
    } else if (f.name() == info.physical_name) {
      return static_cast<int>(i);
    }
  }
  if (by_id) {
    for (size_t i = 0; i < file_fields.size(); ++i) {
      if (!FieldId(*file_fields[i]) && file_fields[i]->name() == info.physical_name)
        return static_cast<int>(i);
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
    const StoredField& info, MatchBy mode) {
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

class FileScanReader : public arrow::RecordBatchReader {
 public:
  FileScanReader(std::shared_ptr<const TableStore> store, std::vector<ScanFile> files,
                 std::vector<ScanColumn> columns, std::shared_ptr<arrow::Schema> output,
                 std::vector<BoundPredicate> filter, MatchBy mode, int64_t limit,
                 int64_t batch_size)
      : store_(std::move(store)),
        files_(std::move(files)),
        columns_(std::move(columns)),
        output_(std::move(output)),
        filter_(std::move(filter)),
        remaining_(limit),
        batch_size_(batch_size),
        mode_(mode) {}

  std::shared_ptr<arrow::Schema> schema() const override { return output_; }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    *out = nullptr;
    while (remaining_ != 0) {
      if (!current_) {
        if (next_file_ >= files_.size()) return arrow::Status::OK();
        ARROW_RETURN_NOT_OK(OpenFile(files_[next_file_++]));
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
  arrow::Status OpenFile(const ScanFile& file) {
    const std::string& path = file.path;
    file_path_ = file.name.empty() ? path : file.name;
    ARROW_ASSIGN_OR_RAISE(reader_, OpenParquetFile(store_->fs(), path, batch_size_));
    const auto& manifest = reader_->manifest();
    arrow::FieldVector file_fields;
    for (const auto& f : manifest.schema_fields) file_fields.push_back(f.field);
    std::vector<int> leaves;
    file_columns_.assign(columns_.size(), -1);
    constants_.assign(columns_.size(), nullptr);
    int position = 0;
    size_t constant = 0;
    for (size_t c = 0; c < columns_.size(); ++c) {
      if (columns_[c].constant || columns_[c].inherited) {
        std::shared_ptr<arrow::Scalar> value =
            constant < file.constants.size() ? file.constants[constant] : nullptr;
        ++constant;
        constants_[c] = value ? value : arrow::MakeNullScalar(columns_[c].field->type());
        if (columns_[c].constant) continue;
      }
      int idx = MatchField(file_fields, columns_[c].stored, mode_);
      if (idx < 0) continue;
      CollectLeafIndices(manifest.schema_fields[idx], &leaves);
      file_columns_[c] = position++;
    }
    deleted_.clear();
    if (file.deleted_rows) {
      auto rows = file.deleted_rows();
      if (!rows.ok()) {
        return rows.status().WithMessage("data file ", file_path_, ": ",
                                         rows.status().message());
      }
      deleted_ = std::move(*rows);
    }
    row_offset_ = 0;
    std::vector<int> row_groups(reader_->num_row_groups());
    for (size_t i = 0; i < row_groups.size(); ++i) row_groups[i] = static_cast<int>(i);
    if (leaves.empty()) {
      // Only constant columns (or none) are needed: rows come from the row counts.
      rows_only_ = reader_->parquet_reader()->metadata()->num_rows();
      current_ = std::make_shared<RowCountReader>(rows_only_, batch_size_);
      return arrow::Status::OK();
    }
    auto rb = ReadBatches(reader_.get(), row_groups, leaves);
    if (!rb.ok())
      return rb.status().WithMessage("cannot read data file ", file_path_, ": ",
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
      if (columns_[c].constant) {
        ARROW_ASSIGN_OR_RAISE(a, arrow::MakeArrayFromScalar(*constants_[c], n));
      } else if (file_columns_[c] < 0) {
        ARROW_ASSIGN_OR_RAISE(a, arrow::MakeArrayOfNull(field->type(), n));
      } else {
        auto conformed = Conform(raw.column(file_columns_[c]), field->type(),
                                 columns_[c].stored, mode_);
        if (!conformed.ok()) {
          return conformed.status().WithMessage("data file ", file_path_, ", column '",
                                                field->name(),
                                                "': ", conformed.status().message());
        }
        a = *conformed;
      }
      if (columns_[c].inherited) {
        ARROW_ASSIGN_OR_RAISE(
            a, Inherit(a, *constants_[c], columns_[c].plus_position, row_offset_));
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

  // An inherited column's values: its own where set, else the file's value (plus the
  // row's position in the file, the batch starting at first_row).
  static arrow::Result<std::shared_ptr<arrow::Array>> Inherit(
      const std::shared_ptr<arrow::Array>& stored, const arrow::Scalar& value,
      bool plus_position, int64_t first_row) {
    if (!value.is_valid || stored->null_count() == 0) return stored;
    if (stored->type_id() != arrow::Type::INT64 || value.type->id() != arrow::Type::INT64)
      return arrow::Status::Invalid("an inherited column must be a long");
    const auto& own = static_cast<const arrow::Int64Array&>(*stored);
    const int64_t base = static_cast<const arrow::Int64Scalar&>(value).value;
    arrow::Int64Builder b;
    ARROW_RETURN_NOT_OK(b.Reserve(own.length()));
    for (int64_t i = 0; i < own.length(); ++i) {
      b.UnsafeAppend(own.IsValid(i) ? own.Value(i)
                                    : base + (plus_position ? first_row + i : 0));
    }
    return b.Finish();
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
  std::vector<ScanFile> files_;
  std::vector<ScanColumn> columns_;
  std::shared_ptr<arrow::Schema> output_;
  std::vector<BoundPredicate> filter_;
  int64_t remaining_;
  int64_t batch_size_;
  MatchBy mode_;

  size_t next_file_ = 0;
  std::string file_path_;
  std::unique_ptr<parquet::arrow::FileReader> reader_;
  std::shared_ptr<arrow::RecordBatchReader> current_;
  std::vector<int> file_columns_;
  std::vector<std::shared_ptr<arrow::Scalar>> constants_;
  std::vector<uint64_t> deleted_;
  int64_t row_offset_ = 0;
  int64_t rows_only_ = 0;
};

}  // namespace

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> ScanFiles(
    std::shared_ptr<const TableStore> store, std::vector<ScanFile> files,
    std::vector<ScanColumn> columns, std::shared_ptr<arrow::Schema> output,
    std::vector<BoundPredicate> filter, MatchBy match, int64_t limit,
    int64_t batch_size) {
  return std::make_shared<FileScanReader>(std::move(store), std::move(files),
                                          std::move(columns), std::move(output),
                                          std::move(filter), match, limit, batch_size);
}

}  // namespace inlet::table
