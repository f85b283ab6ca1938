#include "inlet/iceberg/manifest.h"

#include <arrow/status.h>

#include <cctype>
#include <cmath>
#include <cstdio>

#include "inlet/common/json.h"
#include "inlet/iceberg/values.h"

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
    e.spec_id = manifest.partition_spec_id;
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
  // Row lineage (spec "First Row ID Inheritance"): a live data file without a first row
  // id takes the manifest's plus the rows of the files before it that took one; in a
  // manifest without one (written before an upgrade to v3) there are none.
  if (manifest.content == ManifestContent::kData) {
    std::optional<int64_t> next = manifest.first_row_id;
    for (auto& e : out) {
      if (!next) {
        e.file.first_row_id.reset();
      } else if (e.status != EntryStatus::kDeleted && !e.file.first_row_id) {
        e.file.first_row_id = *next;
        *next += e.file.record_count;
      }
    }
  }
  return out;
}

}  // namespace inlet::iceberg

// ---------------------------------------------------------------------------------------
// Writing

namespace inlet::iceberg {

namespace {

Json Optional(Json type) { return Json::array({"null", std::move(type)}); }

Json FieldJson(const char* name, int32_t id, Json type, bool optional) {
  Json f = {{"name", name}, {"field-id", id}, {"type", optional ? Optional(type) : type}};
  if (optional) f["default"] = nullptr;
  return f;
}

// An int-keyed map as Iceberg writes it: an array of key-value records.
Json IntMap(int32_t key_id, int32_t value_id, Json value_type) {
  return Json{
      {"type", "array"},
      {"logicalType", "map"},
      {"items",
       {{"type", "record"},
        {"name", "k" + std::to_string(key_id) + "_v" + std::to_string(value_id)},
        {"fields",
         Json::array(
             {{{"name", "key"}, {"type", "int"}, {"field-id", key_id}},
              {{"name", "value"}, {"type", value_type}, {"field-id", value_id}}})}}}};
}

// A name Avro accepts ([A-Za-z_][A-Za-z0-9_]*), made as Java's
// AvroSchemaUtil.makeCompatibleName makes it: another character becomes "_x" and its hex
// code (readers match partition fields by field id, not name).
std::string AvroName(const std::string& name) {
  std::string out;
  for (size_t i = 0; i < name.size(); ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    bool ok = std::isalpha(c) || c == '_' || (i > 0 && std::isdigit(c));
    if (ok) {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "_x%X", c);
      out += hex;
    }
  }
  return out.empty() ? "_" : out;
}

int DecimalBytes(int precision) {
  // The fewest bytes whose two's complement holds 10^precision - 1.
  for (int n = 1; n <= 16; ++n) {
    double max = std::pow(2.0, 8 * n - 1) - 1;
    if (max >= std::pow(10.0, precision) - 1) return n;
  }
  return 16;
}

arrow::Result<Json> PartitionAvroType(const arrow::DataType& type,
                                      const std::string& name) {
  switch (type.id()) {
    case arrow::Type::BOOL:
      return Json("boolean");
    case arrow::Type::INT32:
      return Json("int");
    case arrow::Type::INT64:
      return Json("long");
    case arrow::Type::FLOAT:
      return Json("float");
    case arrow::Type::DOUBLE:
      return Json("double");
    case arrow::Type::DATE32:
      return Json{{"type", "int"}, {"logicalType", "date"}};
    case arrow::Type::TIME64:
      return Json{{"type", "long"}, {"logicalType", "time-micros"}};
    case arrow::Type::TIMESTAMP: {
      const auto& t = static_cast<const arrow::TimestampType&>(type);
      bool nanos = t.unit() == arrow::TimeUnit::NANO;
      return Json{{"type", "long"},
                  {"logicalType", nanos ? "timestamp-nanos" : "timestamp-micros"},
                  {"adjust-to-utc", !t.timezone().empty()}};
    }
    case arrow::Type::STRING:
      return Json("string");
    case arrow::Type::BINARY:
      return Json("bytes");
    case arrow::Type::FIXED_SIZE_BINARY: {
      int size = static_cast<const arrow::FixedSizeBinaryType&>(type).byte_width();
      return Json{{"type", "fixed"}, {"name", "fixed_" + AvroName(name)}, {"size", size}};
    }
    case arrow::Type::DECIMAL128: {
      const auto& d = static_cast<const arrow::Decimal128Type&>(type);
      return Json{{"type", "fixed"},
                  {"name", "decimal_" + AvroName(name)},
                  {"size", DecimalBytes(d.precision())},
                  {"logicalType", "decimal"},
                  {"precision", d.precision()},
                  {"scale", d.scale()}};
    }
    case arrow::Type::EXTENSION:
      return Json{{"type", "fixed"},
                  {"name", "uuid_" + AvroName(name)},
                  {"size", 16},
                  {"logicalType", "uuid"}};
    default:
      return arrow::Status::NotImplemented("partition values of type ", type.ToString());
  }
}

std::string ManifestEntrySchema(const Json& partition_fields, int format_version) {
  Json data_file_fields = Json::array({
      FieldJson("content", 134, "int", false),
      FieldJson("file_path", 100, "string", false),
      FieldJson("file_format", 101, "string", false),
      FieldJson("partition", 102,
                Json{{"type", "record"}, {"name", "r102"}, {"fields", partition_fields}},
                false),
      FieldJson("record_count", 103, "long", false),
      FieldJson("file_size_in_bytes", 104, "long", false),
      FieldJson("column_sizes", 108, IntMap(117, 118, "long"), true),
      FieldJson("value_counts", 109, IntMap(119, 120, "long"), true),
      FieldJson("null_value_counts", 110, IntMap(121, 122, "long"), true),
      FieldJson("nan_value_counts", 137, IntMap(138, 139, "long"), true),
      FieldJson("lower_bounds", 125, IntMap(126, 127, "bytes"), true),
      FieldJson("upper_bounds", 128, IntMap(129, 130, "bytes"), true),
      FieldJson("key_metadata", 131, "bytes", true),
      FieldJson("split_offsets", 132,
                Json{{"type", "array"}, {"items", "long"}, {"element-id", 133}}, true),
      FieldJson("equality_ids", 135,
                Json{{"type", "array"}, {"items", "int"}, {"element-id", 136}}, true),
      FieldJson("sort_order_id", 140, "int", true),
  });
  if (format_version >= 3)
    data_file_fields.push_back(FieldJson("first_row_id", 142, "long", true));
  data_file_fields.push_back(FieldJson("referenced_data_file", 143, "string", true));
  if (format_version >= 3) {
    data_file_fields.push_back(FieldJson("content_offset", 144, "long", true));
    data_file_fields.push_back(FieldJson("content_size_in_bytes", 145, "long", true));
  }
  Json schema = {
      {"type", "record"},
      {"name", "manifest_entry"},
      {"fields", Json::array({FieldJson("status", 0, "int", false),
                              FieldJson("snapshot_id", 1, "long", true),
                              FieldJson("sequence_number", 3, "long", true),
                              FieldJson("file_sequence_number", 4, "long", true),
                              FieldJson("data_file", 2,
                                        Json{{"type", "record"},
                                             {"name", "r2"},
                                             {"fields", data_file_fields}},
                                        false)})}};
  return schema.dump();
}

std::string ManifestFileSchema(int format_version) {
  Json summary = {
      {"type", "record"},
      {"name", "r508"},
      {"fields", Json::array({FieldJson("contains_null", 509, "boolean", false),
                              FieldJson("contains_nan", 518, "boolean", true),
                              FieldJson("lower_bound", 510, "bytes", true),
                              FieldJson("upper_bound", 511, "bytes", true)})}};
  Json schema = {
      {"type", "record"},
      {"name", "manifest_file"},
      {"fields",
       Json::array(
           {FieldJson("manifest_path", 500, "string", false),
            FieldJson("manifest_length", 501, "long", false),
            FieldJson("partition_spec_id", 502, "int", false),
            FieldJson("content", 517, "int", false),
            FieldJson("sequence_number", 515, "long", false),
            FieldJson("min_sequence_number", 516, "long", false),
            FieldJson("added_snapshot_id", 503, "long", false),
            FieldJson("added_files_count", 504, "int", false),
            FieldJson("existing_files_count", 505, "int", false),
            FieldJson("deleted_files_count", 506, "int", false),
            FieldJson("added_rows_count", 512, "long", false),
            FieldJson("existing_rows_count", 513, "long", false),
            FieldJson("deleted_rows_count", 514, "long", false),
            FieldJson("partitions", 507,
                      Json{{"type", "array"}, {"items", summary}, {"element-id", 508}},
                      true),
            FieldJson("key_metadata", 519, "bytes", true)})}};
  if (format_version >= 3)
    schema["fields"].push_back(FieldJson("first_row_id", 520, "long", true));
  return schema.dump();
}

avro::Value Opt(const std::optional<int64_t>& v) {
  return v ? avro::Value(*v) : avro::Value();
}

avro::Value IntLongMap(const std::map<int32_t, int64_t>& m) {
  if (m.empty()) return avro::Value();
  avro::Value::Items items;
  for (const auto& [k, v] : m)
    items.push_back(avro::Value::Items{avro::Value(k), avro::Value(v)});
  return avro::Value(std::move(items));
}

avro::Value IntBytesMap(const std::map<int32_t, std::string>& m) {
  if (m.empty()) return avro::Value();
  avro::Value::Items items;
  for (const auto& [k, v] : m)
    items.push_back(avro::Value::Items{avro::Value(k), avro::Value(v)});
  return avro::Value(std::move(items));
}

}  // namespace

namespace {

arrow::Result<std::shared_ptr<arrow::Scalar>> PartitionScalarOf(
    const avro::Value& v, const std::shared_ptr<arrow::DataType>& type) {
  if (v.is_null()) return arrow::MakeNullScalar(type);
  auto mismatch = [&]() {
    return arrow::Status::Invalid("a partition value does not fit type ",
                                  type->ToString());
  };
  if (const auto* n = std::get_if<int64_t>(&v.data)) {
    switch (type->id()) {
      case arrow::Type::INT32:
        return std::make_shared<arrow::Int32Scalar>(static_cast<int32_t>(*n));
      case arrow::Type::DATE32:
        return std::make_shared<arrow::Date32Scalar>(static_cast<int32_t>(*n));
      case arrow::Type::INT64:
        return std::make_shared<arrow::Int64Scalar>(*n);
      case arrow::Type::TIME64:
        return std::make_shared<arrow::Time64Scalar>(*n, type);
      case arrow::Type::TIMESTAMP:
        return std::make_shared<arrow::TimestampScalar>(*n, type);
      default:
        return mismatch();
    }
  }
  if (const auto* s = std::get_if<std::string>(&v.data)) {
    if (type->id() == arrow::Type::STRING)
      return std::make_shared<arrow::StringScalar>(*s);
    return FromSingleValue(*s, type);  // bytes, fixed, uuid, decimal (big-endian)
  }
  if (const auto* b = std::get_if<bool>(&v.data)) {
    if (type->id() != arrow::Type::BOOL) return mismatch();
    return std::make_shared<arrow::BooleanScalar>(*b);
  }
  if (const auto* d = std::get_if<double>(&v.data)) {
    if (type->id() == arrow::Type::FLOAT)
      return std::make_shared<arrow::FloatScalar>(static_cast<float>(*d));
    if (type->id() == arrow::Type::DOUBLE)
      return std::make_shared<arrow::DoubleScalar>(*d);
  }
  return mismatch();
}

}  // namespace

arrow::Result<std::shared_ptr<arrow::Scalar>> PartitionScalar(
    const avro::Value& v, const std::shared_ptr<arrow::DataType>& type,
    const std::string& file, const std::string& field) {
  auto out = PartitionScalarOf(v, type);
  if (!out.ok())
    return out.status().WithMessage("data file ", file, ": partition field '", field,
                                    "': ", out.status().message());
  return out;
}

arrow::Result<avro::Value> PartitionAvroValue(const arrow::Scalar& value) {
  if (!value.is_valid) return avro::Value();
  switch (value.type->id()) {
    case arrow::Type::BOOL:
      return avro::Value(static_cast<const arrow::BooleanScalar&>(value).value);
    case arrow::Type::INT32:
      return avro::Value(static_cast<const arrow::Int32Scalar&>(value).value);
    case arrow::Type::INT64:
      return avro::Value(static_cast<const arrow::Int64Scalar&>(value).value);
    case arrow::Type::DATE32:
      return avro::Value(static_cast<const arrow::Date32Scalar&>(value).value);
    case arrow::Type::TIME64:
      return avro::Value(static_cast<const arrow::Time64Scalar&>(value).value);
    case arrow::Type::TIMESTAMP:
      return avro::Value(static_cast<const arrow::TimestampScalar&>(value).value);
    case arrow::Type::FLOAT:
      return avro::Value(
          static_cast<double>(static_cast<const arrow::FloatScalar&>(value).value));
    case arrow::Type::DOUBLE:
      return avro::Value(static_cast<const arrow::DoubleScalar&>(value).value);
    case arrow::Type::DECIMAL128: {
      const auto& d = static_cast<const arrow::Decimal128Type&>(*value.type);
      ARROW_ASSIGN_OR_RAISE(auto minimal, ToSingleValue(value));
      // Sign-extended to the fixed size.
      size_t size = static_cast<size_t>(DecimalBytes(d.precision()));
      char fill =
          (!minimal.empty() && (static_cast<uint8_t>(minimal[0]) & 0x80)) ? '\xff' : '\0';
      return avro::Value(std::string(size - std::min(size, minimal.size()), fill) +
                         minimal);
    }
    default: {
      ARROW_ASSIGN_OR_RAISE(auto bytes, ToSingleValue(value));
      return avro::Value(std::move(bytes));
    }
  }
}

arrow::Result<std::string> WriteManifest(const ManifestContext& context,
                                         const std::vector<EntryToWrite>& entries) {
  Json partition_fields = Json::array();
  for (const auto& [name, id, type] : context.partition) {
    ARROW_ASSIGN_OR_RAISE(auto avro_type, PartitionAvroType(*type, name));
    partition_fields.push_back(FieldJson("", id, avro_type, true));
    partition_fields.back()["name"] = AvroName(name);
  }
  std::map<std::string, std::string> meta = {
      {"schema", context.schema_json},
      {"schema-id", std::to_string(context.schema_id)},
      {"partition-spec", context.spec_fields_json},
      {"partition-spec-id", std::to_string(context.spec_id)},
      {"format-version", std::to_string(context.format_version)},
      {"content", context.content == ManifestContent::kData ? "data" : "deletes"}};
  const bool v3 = context.format_version >= 3;
  ARROW_ASSIGN_OR_RAISE(
      auto writer,
      avro::ContainerWriter::Make(
          ManifestEntrySchema(partition_fields, context.format_version), meta));
  for (const auto& e : entries) {
    const DataFile& f = e.file;
    avro::Value::Items partition;
    for (const auto& v : e.partition) {
      if (!v) {
        partition.emplace_back();
        continue;
      }
      ARROW_ASSIGN_OR_RAISE(auto av, PartitionAvroValue(*v));
      partition.push_back(std::move(av));
    }
    avro::Value::Items split;
    for (int64_t o : f.split_offsets) split.emplace_back(o);
    avro::Value::Items equality;
    for (int32_t id : f.equality_ids) equality.emplace_back(id);
    avro::Value::Items data_file = {
        avro::Value(static_cast<int32_t>(f.content)),
        avro::Value(f.file_path),
        avro::Value(f.file_format),
        avro::Value(std::move(partition)),
        avro::Value(f.record_count),
        avro::Value(f.file_size_in_bytes),
        IntLongMap(f.column_sizes),
        IntLongMap(f.value_counts),
        IntLongMap(f.null_value_counts),
        IntLongMap(f.nan_value_counts),
        IntBytesMap(f.lower_bounds),
        IntBytesMap(f.upper_bounds),
        avro::Value(),
        split.empty() ? avro::Value() : avro::Value(std::move(split)),
        equality.empty() ? avro::Value() : avro::Value(std::move(equality)),
        f.sort_order_id ? avro::Value(*f.sort_order_id) : avro::Value()};
    // New data files leave first_row_id null (inherited); carried ones keep theirs.
    if (v3) data_file.push_back(Opt(f.first_row_id));
    data_file.push_back(f.referenced_data_file ? avro::Value(*f.referenced_data_file)
                                               : avro::Value());
    if (v3) {
      data_file.push_back(Opt(f.content_offset));
      data_file.push_back(Opt(f.content_size_in_bytes));
    }
    ARROW_RETURN_NOT_OK(writer->Append(avro::Value::Items{
        avro::Value(static_cast<int32_t>(e.status)), Opt(e.snapshot_id),
        Opt(e.sequence_number), Opt(e.file_sequence_number),
        avro::Value(std::move(data_file))}));
  }
  return writer->Finish();
}

int64_t AssignFirstRowIds(std::vector<ManifestFile>* manifests, int64_t next_row_id) {
  for (auto& m : *manifests) {
    if (m.content != ManifestContent::kData || m.first_row_id) continue;
    m.first_row_id = next_row_id;
    next_row_id += m.added_rows + m.existing_rows;
  }
  return next_row_id;
}

arrow::Result<std::string> WriteManifestList(const std::vector<ManifestFile>& manifests,
                                             int64_t snapshot_id,
                                             std::optional<int64_t> parent_snapshot_id,
                                             int64_t sequence_number, int format_version,
                                             std::optional<int64_t> first_row_id) {
  std::map<std::string, std::string> meta = {
      {"snapshot-id", std::to_string(snapshot_id)},
      {"parent-snapshot-id",
       parent_snapshot_id ? std::to_string(*parent_snapshot_id) : "null"},
      {"sequence-number", std::to_string(sequence_number)},
      {"format-version", std::to_string(format_version)}};
  if (format_version >= 3 && first_row_id)
    meta["first-row-id"] = std::to_string(*first_row_id);
  ARROW_ASSIGN_OR_RAISE(
      auto writer, avro::ContainerWriter::Make(ManifestFileSchema(format_version), meta));
  for (const auto& m : manifests) {
    avro::Value::Items summaries;
    for (const auto& s : m.partitions) {
      summaries.push_back(avro::Value::Items{
          avro::Value(s.contains_null),
          s.contains_nan ? avro::Value(*s.contains_nan) : avro::Value(),
          s.lower_bound ? avro::Value(*s.lower_bound) : avro::Value(),
          s.upper_bound ? avro::Value(*s.upper_bound) : avro::Value()});
    }
    avro::Value::Items entry{avro::Value(m.path),
                             avro::Value(m.length),
                             avro::Value(m.partition_spec_id),
                             avro::Value(static_cast<int32_t>(m.content)),
                             avro::Value(m.sequence_number),
                             avro::Value(m.min_sequence_number),
                             avro::Value(m.added_snapshot_id),
                             avro::Value(m.added_files),
                             avro::Value(m.existing_files),
                             avro::Value(m.deleted_files),
                             avro::Value(m.added_rows),
                             avro::Value(m.existing_rows),
                             avro::Value(m.deleted_rows),
                             avro::Value(std::move(summaries)),
                             avro::Value()};
    if (format_version >= 3) entry.push_back(Opt(m.first_row_id));
    ARROW_RETURN_NOT_OK(writer->Append(avro::Value(std::move(entry))));
  }
  return writer->Finish();
}

}  // namespace inlet::iceberg
