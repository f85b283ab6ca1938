#include "inlet/iceberg/manifest.h"

#include <arrow/status.h>

namespace inlet::iceberg {

namespace {

// A record's field by name, with its schema node; null when the schema lacks it or the
// value is null.
struct Rec {
  const avro::Node* node;
  const avro::Value* value;

  const avro::Value* Get(std::string_view name) const {
    int i = node->FieldIndex(name);
    if (i < 0) return nullptr;
    const auto& items = value->AsItems();
    if (static_cast<size_t>(i) >= items.size() || items[i].is_null()) return nullptr;
    return &items[i];
  }
  // The record schema of a (possibly nullable) record field.
  const avro::Node* NodeOf(std::string_view name) const {
    int i = node->FieldIndex(name);
    if (i < 0) return nullptr;
    const avro::Node* n = node->fields[i].node.get();
    if (n->kind == avro::Kind::kUnion) {
      for (const auto& b : n->branches)
        if (b->kind != avro::Kind::kNull) return b.get();
    }
    return n;
  }
  int64_t Int(std::string_view name, int64_t fallback = 0) const {
    const auto* v = Get(name);
    return v ? v->AsInt(fallback) : fallback;
  }
  std::optional<int64_t> OptInt(std::string_view name) const {
    const auto* v = Get(name);
    if (!v) return std::nullopt;
    return v->AsInt();
  }
};

arrow::Status Missing(const std::string& what, const char* field) {
  return arrow::Status::Invalid("Iceberg manifest ", what, ": an entry lacks ", field);
}

// An int-keyed map written as an array of {key, value} records (or an Avro map).
template <typename V, typename F>
void ReadIntMap(const avro::Value* v, std::map<int32_t, V>* out, F&& convert) {
  if (!v) return;
  if (const auto* items = std::get_if<avro::Value::Items>(&v->data)) {
    for (const auto& kv : *items) {
      const auto& pair = kv.AsItems();
      if (pair.size() != 2) continue;
      (*out)[static_cast<int32_t>(pair[0].AsInt())] = convert(pair[1]);
    }
  } else if (const auto* entries = std::get_if<avro::Value::Entries>(&v->data)) {
    for (const auto& [k, item] : *entries)
      (*out)[static_cast<int32_t>(std::strtol(k.c_str(), nullptr, 10))] = convert(item);
  }
}

}  // namespace

arrow::Result<std::vector<ManifestFile>> ReadManifestList(std::string_view bytes,
                                                          const std::string& what) {
  ARROW_ASSIGN_OR_RAISE(auto file, avro::ReadContainer(bytes, what));
  if (file.schema->kind != avro::Kind::kRecord)
    return arrow::Status::Invalid("Iceberg manifest list ", what,
                                  ": not a record schema");
  std::vector<ManifestFile> out;
  for (const auto& record : file.records) {
    Rec r{file.schema.get(), &record};
    ManifestFile m;
    const auto* path = r.Get("manifest_path");
    if (!path)
      return arrow::Status::Invalid("Iceberg manifest list ", what,
                                    ": an entry lacks manifest_path");
    m.path = path->AsString();
    m.length = r.Int("manifest_length");
    m.partition_spec_id = static_cast<int32_t>(r.Int("partition_spec_id"));
    m.content = static_cast<ManifestContent>(r.Int("content", 0));
    m.sequence_number = r.Int("sequence_number", 0);
    m.min_sequence_number = r.Int("min_sequence_number", 0);
    m.added_snapshot_id = r.Int("added_snapshot_id");
    m.added_files =
        static_cast<int32_t>(r.Int("added_files_count", r.Int("added_data_files_count")));
    m.existing_files = static_cast<int32_t>(
        r.Int("existing_files_count", r.Int("existing_data_files_count")));
    m.deleted_files = static_cast<int32_t>(
        r.Int("deleted_files_count", r.Int("deleted_data_files_count")));
    m.added_rows = r.Int("added_rows_count");
    m.existing_rows = r.Int("existing_rows_count");
    m.deleted_rows = r.Int("deleted_rows_count");
    if (const auto* parts = r.Get("partitions")) {
      const avro::Node* list = r.NodeOf("partitions");
      const avro::Node* summary = list && list->items ? list->items.get() : nullptr;
      for (const auto& p : parts->AsItems()) {
        if (!summary) break;
        Rec s{summary, &p};
        FieldSummary fs;
        if (const auto* v = s.Get("contains_null")) fs.contains_null = v->AsBool();
        if (const auto* v = s.Get("contains_nan")) fs.contains_nan = v->AsBool();
        if (const auto* v = s.Get("lower_bound")) fs.lower_bound = v->AsString();
        if (const auto* v = s.Get("upper_bound")) fs.upper_bound = v->AsString();
        m.partitions.push_back(std::move(fs));
      }
    }
    m.first_row_id = r.OptInt("first_row_id");
    out.push_back(std::move(m));
  }
  return out;
}

arrow::Result<std::vector<ManifestEntry>> ReadManifest(std::string_view bytes,
                                                       const std::string& what,
                                                       const ManifestFile& manifest) {
  ARROW_ASSIGN_OR_RAISE(auto file, avro::ReadContainer(bytes, what));
  if (file.schema->kind != avro::Kind::kRecord)
    return arrow::Status::Invalid("Iceberg manifest ", what, ": not a record schema");
  std::vector<ManifestEntry> out;
  out.reserve(file.records.size());
  for (const auto& record : file.records) {
    Rec r{file.schema.get(), &record};
    ManifestEntry e;
    const auto* status = r.Get("status");
    if (!status) return Missing(what, "status");
    e.status = static_cast<EntryStatus>(status->AsInt());
    // Inheritance: an added entry without them takes the manifest's.
    auto snapshot = r.OptInt("snapshot_id");
    auto sequence = r.OptInt("sequence_number");
    auto file_sequence = r.OptInt("file_sequence_number");
    e.snapshot_id = snapshot.value_or(manifest.added_snapshot_id);
    e.sequence_number =
        sequence.value_or(e.status == EntryStatus::kAdded ? manifest.sequence_number : 0);
    e.file_sequence_number = file_sequence.value_or(
        e.status == EntryStatus::kAdded ? manifest.sequence_number : e.sequence_number);
    const auto* data = r.Get("data_file");
    const avro::Node* data_node = r.NodeOf("data_file");
    if (!data || !data_node) return Missing(what, "data_file");
    Rec d{data_node, data};
    DataFile& f = e.file;
    f.content = static_cast<FileContent>(d.Int("content", 0));
    const auto* path = d.Get("file_path");
    if (!path) return Missing(what, "data_file.file_path");
    f.file_path = path->AsString();
    if (const auto* v = d.Get("file_format")) f.file_format = v->AsString();
    if (const auto* v = d.Get("partition")) f.partition = v->AsItems();
    f.record_count = d.Int("record_count");
    f.file_size_in_bytes = d.Int("file_size_in_bytes");
    auto as_int = [](const avro::Value& v) { return v.AsInt(); };
    auto as_bytes = [](const avro::Value& v) { return v.AsString(); };
    ReadIntMap(d.Get("column_sizes"), &f.column_sizes, as_int);
    ReadIntMap(d.Get("value_counts"), &f.value_counts, as_int);
    ReadIntMap(d.Get("null_value_counts"), &f.null_value_counts, as_int);
    ReadIntMap(d.Get("nan_value_counts"), &f.nan_value_counts, as_int);
    ReadIntMap(d.Get("lower_bounds"), &f.lower_bounds, as_bytes);
    ReadIntMap(d.Get("upper_bounds"), &f.upper_bounds, as_bytes);
    if (const auto* v = d.Get("split_offsets"))
      for (const auto& o : v->AsItems()) f.split_offsets.push_back(o.AsInt());
    if (const auto* v = d.Get("equality_ids"))
      for (const auto& o : v->AsItems())
        f.equality_ids.push_back(static_cast<int32_t>(o.AsInt()));
    if (auto v = d.OptInt("sort_order_id")) f.sort_order_id = static_cast<int32_t>(*v);
    if (const auto* v = d.Get("referenced_data_file"))
      f.referenced_data_file = v->AsString();
    f.content_offset = d.OptInt("content_offset");
    f.content_size_in_bytes = d.OptInt("content_size_in_bytes");
    f.first_row_id = d.OptInt("first_row_id");
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace inlet::iceberg
