#include "inlet/delta/checkpoint_reader.h"

#include <arrow/array.h>
#include <arrow/table.h>

#include "inlet/common/arrow_json.h"
#include "inlet/common/uri.h"
#include "inlet/table/parquet_file.h"

namespace inlet::delta {

namespace {

// Top-level checkpoint columns a snapshot needs (remove: the tombstones vacuum keeps);
// everything else (commitInfo, cdc, stats_parsed inside add) is not read.
constexpr const char* kActionColumns[] = {
    "add", "remove",         "metaData", "protocol",
    "txn", "domainMetadata", "sidecar",  "checkpointMetadata"};

void Merge(ActionSet&& from, ActionSet* into) {
  if (from.protocol) into->protocol = std::move(from.protocol);
  if (from.metadata) into->metadata = std::move(from.metadata);
  for (auto& a : from.adds) into->adds.push_back(std::move(a));
  for (auto& r : from.removes) into->removes.push_back(std::move(r));
  for (auto& t : from.txns) into->txns.push_back(std::move(t));
  for (auto& d : from.domains) into->domains.push_back(std::move(d));
  for (auto& s : from.sidecars) into->sidecars.push_back(std::move(s));
  if (from.checkpoint_metadata_version) {
    into->checkpoint_metadata_version = from.checkpoint_metadata_version;
  }
}

// Typed access to the add and remove columns, which hold nearly every row of a
// checkpoint: decoding them straight from Arrow avoids building a JSON object per file.
// Any column whose type differs from the protocol's (string, long, boolean,
// map<string,string>, struct) returns false, and the caller falls back to the generic
// JSON path.
class FileActionColumn {
 public:
  explicit FileActionColumn(const arrow::StructArray& column) : column_(column) {}

  bool DecodeAdds(std::vector<AddFile>* out) const {
    bool ok = true;
    const arrow::Array* path = Child("path", Want::kString, &ok);
    const arrow::Array* pv = Child("partitionValues", Want::kStringMap, &ok);
    const arrow::Array* size = Child("size", Want::kInt, &ok);
    const arrow::Array* mtime = Child("modificationTime", Want::kInt, &ok);
    const arrow::Array* change = Child("dataChange", Want::kBool, &ok);
    const arrow::Array* stats = Child("stats", Want::kString, &ok);
    const arrow::Array* tags = Child("tags", Want::kStringMap, &ok);
    const arrow::Array* dv = Child("deletionVector", Want::kStruct, &ok);
    const arrow::Array* row_id = Child("baseRowId", Want::kInt, &ok);
    const arrow::Array* row_version = Child("defaultRowCommitVersion", Want::kInt, &ok);
    const arrow::Array* clustering = Child("clusteringProvider", Want::kString, &ok);
    if (!ok || !path) return false;
    for (int64_t i = 0; i < column_.length(); ++i) {
      if (column_.IsNull(i)) continue;
      if (path->IsNull(i)) return false;  // the JSON path reports the missing path
      AddFile a;
      a.path = std::string(*Str(*path, i));
      if (pv)
        Map(*pv, i, [&](std::string k, std::optional<std::string> v) {
          a.partition_values[k] = std::move(v);
        });
      a.size = Int(size, i).value_or(0);
      a.modification_time = Int(mtime, i).value_or(0);
      a.data_change = Bool(change, i).value_or(true);
      if (stats && !stats->IsNull(i)) a.stats = std::string(*Str(*stats, i));
      if (tags) {
        Map(*tags, i, [&](std::string k, std::optional<std::string> v) {
          if (v) a.tags[k] = std::move(*v);
        });
      }
      if (dv && !Dv(*dv, i, &a.deletion_vector)) return false;
      a.base_row_id = Int(row_id, i);
      a.default_row_commit_version = Int(row_version, i);
      if (clustering && !clustering->IsNull(i))
        a.clustering_provider = std::string(*Str(*clustering, i));
      out->push_back(std::move(a));
    }
    return true;
  }

  bool DecodeRemoves(std::vector<RemoveFile>* out) const {
    bool ok = true;
    const arrow::Array* path = Child("path", Want::kString, &ok);
    const arrow::Array* ts = Child("deletionTimestamp", Want::kInt, &ok);
    const arrow::Array* change = Child("dataChange", Want::kBool, &ok);
    const arrow::Array* extended = Child("extendedFileMetadata", Want::kBool, &ok);
    const arrow::Array* pv = Child("partitionValues", Want::kStringMap, &ok);
    const arrow::Array* size = Child("size", Want::kInt, &ok);
    const arrow::Array* dv = Child("deletionVector", Want::kStruct, &ok);
    if (!ok || !path) return false;
    for (int64_t i = 0; i < column_.length(); ++i) {
      if (column_.IsNull(i)) continue;
      if (path->IsNull(i)) return false;
      RemoveFile r;
      r.path = std::string(*Str(*path, i));
      r.deletion_timestamp = Int(ts, i);
      r.data_change = Bool(change, i).value_or(true);
      r.extended_file_metadata = Bool(extended, i).value_or(false);
      if (pv)
        Map(*pv, i, [&](std::string k, std::optional<std::string> v) {
          r.partition_values[k] = std::move(v);
        });
      r.size = Int(size, i);
      if (dv && !Dv(*dv, i, &r.deletion_vector)) return false;
      out->push_back(std::move(r));
    }
    return true;
  }

 private:
  enum class Want { kString, kInt, kBool, kStringMap, kStruct };

  // The named child of a struct column, or null when absent; clears *ok when it is
  // present with another type than wanted.
  static const arrow::Array* StructChild(const arrow::StructArray& s,
                                         const std::string& name, Want want, bool* ok) {
    int i = s.struct_type()->GetFieldIndex(name);
    if (i < 0) return nullptr;
    const arrow::Array* a = s.field(i).get();
    bool typed = false;
    switch (want) {
      case Want::kString:
        typed = IsString(*a);
        break;
      case Want::kInt:
        typed = a->type_id() == arrow::Type::INT64 || a->type_id() == arrow::Type::INT32;
        break;
      case Want::kBool:
        typed = a->type_id() == arrow::Type::BOOL;
        break;
      case Want::kStringMap:
        typed = a->type_id() == arrow::Type::MAP &&
                IsString(*static_cast<const arrow::MapArray*>(a)->keys()) &&
                IsString(*static_cast<const arrow::MapArray*>(a)->items());
        break;
      case Want::kStruct:
        typed = a->type_id() == arrow::Type::STRUCT;
        break;
    }
    *ok = *ok && typed;
    return a;
  }
  const arrow::Array* Child(const std::string& name, Want want, bool* ok) const {
    return StructChild(column_, name, want, ok);
  }
  static bool IsString(const arrow::Array& a) {
    return a.type_id() == arrow::Type::STRING;
  }

  static std::optional<std::string_view> Str(const arrow::Array& a, int64_t i) {
    if (a.IsNull(i)) return std::nullopt;
    return static_cast<const arrow::StringArray&>(a).GetView(i);
  }
  static std::optional<int64_t> Int(const arrow::Array* a, int64_t i) {
    if (!a || a->IsNull(i)) return std::nullopt;
    if (a->type_id() == arrow::Type::INT32)
      return static_cast<const arrow::Int32Array*>(a)->Value(i);
    return static_cast<const arrow::Int64Array*>(a)->Value(i);
  }
  static std::optional<bool> Bool(const arrow::Array* a, int64_t i) {
    if (!a || a->IsNull(i)) return std::nullopt;
    return static_cast<const arrow::BooleanArray*>(a)->Value(i);
  }
  template <typename F>
  static void Map(const arrow::Array& a, int64_t i, F&& put) {
    if (a.IsNull(i)) return;
    const auto& m = static_cast<const arrow::MapArray&>(a);
    const auto& keys = *m.keys();
    const auto& items = *m.items();
    for (int64_t j = m.value_offset(i); j < m.value_offset(i + 1); ++j) {
      auto v = Str(items, j);
      put(std::string(Str(keys, j).value_or("")),
          v ? std::optional<std::string>(std::string(*v)) : std::nullopt);
    }
  }
  static bool Dv(const arrow::Array& a, int64_t i,
                 std::optional<DeletionVectorDescriptor>* out) {
    if (a.IsNull(i)) return true;
    const auto& s = static_cast<const arrow::StructArray&>(a);
    bool ok = true;
    const arrow::Array* type = StructChild(s, "storageType", Want::kString, &ok);
    const arrow::Array* path = StructChild(s, "pathOrInlineDv", Want::kString, &ok);
    const arrow::Array* offset = StructChild(s, "offset", Want::kInt, &ok);
    const arrow::Array* size = StructChild(s, "sizeInBytes", Want::kInt, &ok);
    const arrow::Array* card = StructChild(s, "cardinality", Want::kInt, &ok);
    if (!ok || !type || !path || !size || !card) return false;
    auto t = Str(*type, i);
    auto p = Str(*path, i);
    auto n = Int(size, i);
    auto c = Int(card, i);
    if (!t || !p || !n || !c) return false;  // the JSON path reports the missing field
    DeletionVectorDescriptor dv;
    dv.storage_type = std::string(*t);
    dv.path_or_inline_dv = std::string(*p);
    if (auto o = Int(offset, i)) dv.offset = static_cast<int32_t>(*o);
    dv.size_in_bytes = static_cast<int32_t>(*n);
    dv.cardinality = *c;
    *out = std::move(dv);
    return true;
  }

  const arrow::StructArray& column_;
};

arrow::Result<ActionSet> ReadParquetActions(const TableStore& store,
                                            const std::string& rel) {
  // Most checkpoints are one row group: decoding it on the thread pool costs more
  // (starting the pools) than it saves, unless the file is remote or large.
  ARROW_ASSIGN_OR_RAISE(
      auto reader,
      OpenParquetFile(store.fs(), store.Resolve(rel), 64 * 1024,
                      store.local() ? ParquetReads::kSerial : ParquetReads::kParallel));
  if (reader->parquet_reader()->metadata()->num_row_groups() > 1)
    reader->set_use_threads(true);
  const auto& manifest = reader->manifest();
  std::vector<int> leaves;
  std::vector<std::string> names;
  for (const auto& field : manifest.schema_fields) {
    for (const char* want : kActionColumns) {
      if (field.field->name() != want) continue;
      if (field.field->name() == std::string("add")) {
        // Skip add.stats_parsed / partitionValues_parsed: large, and "stats" suffices.
        for (const auto& child : field.children) {
          const auto& n = child.field->name();
          if (n != "stats_parsed" && n != "partitionValues_parsed") {
            CollectLeafIndices(child, &leaves);
          }
        }
      } else {
        CollectLeafIndices(field, &leaves);
      }
      names.push_back(want);
    }
  }
  std::shared_ptr<arrow::Table> table;
  ARROW_RETURN_NOT_OK(reader->ReadTable(leaves, &table));
  ARROW_ASSIGN_OR_RAISE(table, table->CombineChunks());
  ActionSet out;
  std::string what = "checkpoint " + rel;
  for (int c = 0; c < table->num_columns(); ++c) {
    const std::string& kind = table->field(c)->name();
    const auto& column = *table->column(c)->chunk(0);
    if (column.type_id() == arrow::Type::STRUCT) {
      FileActionColumn typed(static_cast<const arrow::StructArray&>(column));
      size_t adds = out.adds.size(), removes = out.removes.size();
      if (kind == "add" && typed.DecodeAdds(&out.adds)) continue;
      if (kind == "remove" && typed.DecodeRemoves(&out.removes)) continue;
      out.adds.resize(adds);
      out.removes.resize(removes);
    }
    for (int64_t i = 0; i < column.length(); ++i) {
      if (column.IsNull(i)) continue;
      Json action = Json::object();
      action[kind] = ArrowValueToJson(column, i, /*skip_null_fields=*/true);
      ARROW_RETURN_NOT_OK(ParseActionObject(action, what, &out));
    }
  }
  return out;
}

arrow::Result<ActionSet> ReadOneFile(const TableStore& store, const std::string& rel) {
  if (rel.size() > 5 && rel.compare(rel.size() - 5, 5, ".json") == 0) {
    ARROW_ASSIGN_OR_RAISE(auto buffer, store.ReadFile(rel));
    return ParseActions(
        std::string_view(reinterpret_cast<const char*>(buffer->data()), buffer->size()),
        rel);
  }
  return ReadParquetActions(store, rel);
}

}  // namespace

arrow::Result<ActionSet> ReadCheckpoint(const TableStore& store,
                                        const Checkpoint& checkpoint) {
  ActionSet out;
  for (const auto& f : checkpoint.files) {
    std::string rel = std::string(kLogDir) + "/" + f.name;
    ARROW_ASSIGN_OR_RAISE(auto part, ReadOneFile(store, rel));
    Merge(std::move(part), &out);
  }
  // A V2 checkpoint may keep its file actions in sidecars.
  std::vector<Sidecar> sidecars = std::move(out.sidecars);
  out.sidecars.clear();
  for (const auto& s : sidecars) {
    std::string rel = std::string(kLogDir) + "/_sidecars/" + PercentDecode(s.path);
    ARROW_ASSIGN_OR_RAISE(auto part, ReadParquetActions(store, rel));
    Merge(std::move(part), &out);
  }
  if (!out.protocol || !out.metadata) {
    return arrow::Status::Invalid("checkpoint ", checkpoint.files.front().name,
                                  " lacks a ", out.protocol ? "metaData" : "protocol",
                                  " action");
  }
  return out;
}

}  // namespace inlet::delta
