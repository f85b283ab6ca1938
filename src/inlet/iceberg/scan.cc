// IcebergSnapshot::Scan: planning (manifests, column-metric pruning, deletes.h)
// and the format-neutral file scan (table/file_scan.h) matching columns by field id.
#include <arrow/array.h>
#include <arrow/compute/api.h>
#include <arrow/table.h>
#include <parquet/arrow/reader.h>

#include <algorithm>
#include <map>
#include <set>

#include "inlet/iceberg/deletes.h"
#include "inlet/iceberg/iceberg_table.h"
#include "inlet/iceberg/values.h"
#include "inlet/table/file_scan.h"
#include "inlet/table/parquet_file.h"
#include "inlet/table/value.h"

namespace inlet::iceberg {

namespace {

table::StoredField Stored(const arrow::Field& f) {
  table::StoredField out;
  out.physical_name = f.name();
  if (auto id = FieldId(f)) out.field_id = *id;
  const auto& type = *f.type();
  if (type.id() == arrow::Type::MAP) {
    const auto& m = static_cast<const arrow::MapType&>(type);
    out.children = {Stored(*m.key_field()), Stored(*m.item_field())};
  } else {
    for (const auto& c : type.fields()) out.children.push_back(Stored(*c));
  }
  return out;
}

bool IsPrimitive(const arrow::DataType& t) {
  return t.id() != arrow::Type::STRUCT && t.id() != arrow::Type::LIST &&
         t.id() != arrow::Type::MAP;
}

// False only when a data file's column metrics prove that no row satisfies a predicate.
bool MayHold(const DataFile& file, const std::vector<BoundPredicate>& preds,
             const arrow::Schema& with_ids) {
  for (const auto& p : preds) {
    auto field = with_ids.GetFieldByName(p.field->name());
    if (!field || !IsPrimitive(*field->type())) continue;
    auto id = FieldId(*field);
    if (!id) continue;
    ColumnStats stats;
    stats.num_records = file.record_count;
    if (auto it = file.null_value_counts.find(*id); it != file.null_value_counts.end())
      stats.null_count = it->second;
    // NaN is never a bound: with NaN values the bounds do not cover every row.
    if (auto it = file.nan_value_counts.find(*id);
        it != file.nan_value_counts.end() && it->second > 0) {
      if (!MayMatch(p, stats)) return false;
      continue;
    }
    if (auto it = file.lower_bounds.find(*id); it != file.lower_bounds.end()) {
      auto v = FromSingleValue(it->second, p.field->type());
      if (v.ok()) stats.min = *v;
    }
    if (auto it = file.upper_bounds.find(*id); it != file.upper_bounds.end()) {
      // A string upper bound may be truncated (and then incremented): still an upper
      // bound. Lower bounds are prefixes: still lower bounds.
      auto v = FromSingleValue(it->second, p.field->type());
      if (v.ok()) stats.max = *v;
    }
    if (!MayMatch(p, stats)) return false;
  }
  return true;
}

}  // namespace

arrow::Result<std::vector<ManifestEntry>> IcebergSnapshot::LiveEntries(
    bool data, bool deletes) const {
  std::vector<ManifestEntry> out;
  if (!snapshot_) return out;
  ARROW_ASSIGN_OR_RAISE(auto list_bytes, ReadWhole(*store_, snapshot_->manifest_list));
  ARROW_ASSIGN_OR_RAISE(auto manifests,
                        ReadManifestList(list_bytes, snapshot_->manifest_list));
  for (const auto& m : manifests) {
    bool is_data = m.content == ManifestContent::kData;
    if ((is_data && !data) || (!is_data && !deletes)) continue;
    ARROW_ASSIGN_OR_RAISE(auto bytes, ReadWhole(*store_, m.path));
    ARROW_ASSIGN_OR_RAISE(auto entries, ReadManifest(bytes, m.path, m));
    for (auto& e : entries) {
      if (e.status == EntryStatus::kDeleted) continue;
      out.push_back(std::move(e));
    }
  }
  return out;
}

arrow::Result<std::shared_ptr<arrow::Table>> IcebergSnapshot::ReadDataFile(
    const ManifestEntry& entry,
    std::function<arrow::Result<std::vector<uint64_t>>()> deleted) const {
  const auto& with_ids = *iceberg_schema_->arrow_schema;
  std::vector<table::ScanColumn> columns;
  for (int i = 0; i < schema_->num_fields(); ++i)
    columns.push_back({schema_->field(i), Stored(*with_ids.field(i)), false});
  table::ScanFile f;
  f.path = FilePath(*store_, entry.file.file_path);
  f.name = entry.file.file_path;
  f.deleted_rows = std::move(deleted);
  ARROW_ASSIGN_OR_RAISE(auto reader,
                        table::ScanFiles(store_, {f}, std::move(columns), schema_, {},
                                         table::MatchBy::kFieldId, -1, 64 * 1024));
  return reader->ToTable();
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> IcebergSnapshot::Scan(
    const ScanOptions& options) const {
  ARROW_ASSIGN_OR_RAISE(auto filter, BindConjunction(options.filter, *schema_));
  std::vector<std::string> names = options.columns;
  if (names.empty()) {
    for (const auto& f : schema_->fields()) names.push_back(f->name());
  }
  const auto& with_ids = *iceberg_schema_->arrow_schema;
  arrow::FieldVector out_fields;
  std::vector<table::ScanColumn> columns;
  auto add_column = [&](const std::string& name, bool output) -> arrow::Status {
    int idx = schema_->GetFieldIndex(name);
    if (idx < 0) {
      return arrow::Status::Invalid("unknown column '", name,
                                    "' (table columns: ", schema_->ToString(), ")");
    }
    const auto& field = schema_->field(idx);
    bool have = std::any_of(columns.begin(), columns.end(), [&](const auto& c) {
      return c.field->name() == field->name();
    });
    if (!have) columns.push_back({field, Stored(*with_ids.field(idx)), false});
    if (output) out_fields.push_back(field);
    return arrow::Status::OK();
  };
  for (const auto& n : names) ARROW_RETURN_NOT_OK(add_column(n, true));
  for (const auto& p : filter) ARROW_RETURN_NOT_OK(add_column(p.field->name(), false));

  ARROW_ASSIGN_OR_RAISE(auto entries, LiveEntries(/*data=*/true, /*deletes=*/true));
  std::vector<const ManifestEntry*> data;
  std::vector<ManifestEntry> deletes;
  for (auto& e : entries) {
    if (e.file.content == FileContent::kData) {
      if (e.file.file_format != "PARQUET" && e.file.file_format != "parquet")
        return arrow::Status::NotImplemented("data file ", e.file.file_path, " is ",
                                             e.file.file_format,
                                             ": inlet reads Parquet data files only");
      if (MayHold(e.file, filter, with_ids)) data.push_back(&e);
    } else {
      deletes.push_back(e);
    }
  }
  std::shared_ptr<DeleteIndex> index;
  if (!deletes.empty()) {
    auto made = DeleteIndex::Make(store_, *metadata_, iceberg_schema_->arrow_schema,
                                  std::move(deletes), data);
    if (!made.ok())
      return made.status().WithMessage("cannot read ", store_->location(),
                                       " at snapshot ", snapshot_id(), ": ",
                                       made.status().message());
    index = *made;
  }
  std::vector<table::ScanFile> files;
  files.reserve(data.size());
  for (const auto* e : data) {
    table::ScanFile f;
    f.path = FilePath(*store_, e->file.file_path);
    f.name = e->file.file_path;
    if (index) f.deleted_rows = index->For(*e);
    files.push_back(std::move(f));
  }
  return table::ScanFiles(store_, std::move(files), std::move(columns),
                          arrow::schema(out_fields), std::move(filter),
                          table::MatchBy::kFieldId, options.limit, options.batch_size);
}

}  // namespace inlet::iceberg
