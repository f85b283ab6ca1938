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
#include "inlet/table/file_scan.h"
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

table::StoredField Stored(const ColumnInfo& info) {
  table::StoredField out;
  out.physical_name = info.physical_name;
  out.field_id = info.field_id;
  for (const auto& c : info.children) out.children.push_back(Stored(c));
  return out;
}

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
  std::vector<table::ScanColumn> columns;
  std::vector<const ColumnInfo*> infos;
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
    columns.push_back({field, Stored(schema->columns[idx]), partition});
    infos.push_back(&schema->columns[idx]);
    if (output) out_fields.push_back(field);
    return arrow::Status::OK();
  };
  for (const auto& n : names) ARROW_RETURN_NOT_OK(add_column(n, true));
  for (const auto& p : filter) ARROW_RETURN_NOT_OK(add_column(p.field->name(), false));
  ARROW_ASSIGN_OR_RAISE(auto selected, SelectFiles(*state, *schema, filter));
  // Each file with its partition values (parsed once) and its deletion vector (loaded
  // when the reader reaches it).
  std::vector<table::ScanFile> files;
  files.reserve(selected.size());
  for (const AddFile* add : selected) {
    table::ScanFile f;
    f.path = DataFilePath(*store, add->path);
    for (size_t c = 0; c < columns.size(); ++c) {
      if (!columns[c].constant) continue;
      const auto& info = *infos[c];
      auto it = add->partition_values.find(info.physical_name);
      if (it == add->partition_values.end()) it = add->partition_values.find(info.name);
      std::optional<std::string> text =
          it == add->partition_values.end() ? std::nullopt : it->second;
      auto value = ParsePartitionValue(text, columns[c].field->type(), info.name);
      if (!value.ok())
        return value.status().WithMessage("data file ", f.path, ": ",
                                          value.status().message());
      f.constants.push_back(*value);
    }
    if (add->deletion_vector) {
      f.deleted_rows = [store, state, dv = *add->deletion_vector]() {
        return LoadDeletionVector(*store, dv);
      };
    }
    files.push_back(std::move(f));
  }
  auto match = GetColumnMappingMode(state->metadata) == ColumnMappingMode::kId
                   ? table::MatchBy::kFieldId
                   : table::MatchBy::kName;
  return table::ScanFiles(std::move(store), std::move(files), std::move(columns),
                          arrow::schema(out_fields), std::move(filter), match,
                          options.limit, options.batch_size);
}

}  // namespace inlet::delta
