#include "inlet/iceberg/schema.h"

#include <arrow/extension/uuid.h>
#include <arrow/type.h>
#include <arrow/util/key_value_metadata.h>

#include <cstdio>
#include <cstdlib>
#include <map>

namespace inlet::iceberg {

std::shared_ptr<arrow::Field> WithId(std::shared_ptr<arrow::Field> f, int32_t id) {
  return f->WithMetadata(arrow::key_value_metadata({kFieldIdKey}, {std::to_string(id)}));
}

namespace {

arrow::Result<std::shared_ptr<arrow::DataType>> ParseType(const Json& j,
                                                          const std::string& where);

arrow::Result<std::shared_ptr<arrow::Field>> ParseField(const Json& f,
                                                        const std::string& parent) {
  if (!f.is_object() || !f.contains("id") || !f["id"].is_number_integer() ||
      !f.contains("name") || !f["name"].is_string() || !f.contains("type")) {
    return arrow::Status::Invalid("Iceberg schema: a field of ",
                                  parent.empty() ? "the schema" : parent,
                                  " lacks an id, a name or a type: ", f.dump());
  }
  std::string name = f["name"].get<std::string>();
  std::string where = parent.empty() ? name : parent + "." + name;
  ARROW_ASSIGN_OR_RAISE(auto type, ParseType(f["type"], where));
  bool required = f.value("required", false);
  return WithId(arrow::field(name, type, !required), f["id"].get<int32_t>());
}

arrow::Result<std::shared_ptr<arrow::DataType>> ParsePrimitive(const std::string& t,
                                                               const std::string& where) {
  static const std::map<std::string, std::shared_ptr<arrow::DataType>> kTypes = {
      {"boolean", arrow::boolean()},
      {"int", arrow::int32()},
      {"long", arrow::int64()},
      {"float", arrow::float32()},
      {"double", arrow::float64()},
      {"date", arrow::date32()},
      {"time", arrow::time64(arrow::TimeUnit::MICRO)},
      {"timestamp", arrow::timestamp(arrow::TimeUnit::MICRO)},
      {"timestamptz", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")},
      {"timestamp_ns", arrow::timestamp(arrow::TimeUnit::NANO)},
      {"timestamptz_ns", arrow::timestamp(arrow::TimeUnit::NANO, "UTC")},
      {"string", arrow::utf8()},
      {"uuid", arrow::extension::uuid()},
      {"binary", arrow::binary()}};
  if (auto it = kTypes.find(t); it != kTypes.end()) return it->second;
  int p = 0, s = 0, l = 0;
  char end = 0;
  if (std::sscanf(t.c_str(), "decimal(%d ,%d %c", &p, &s, &end) == 3 && end == ')' &&
      p >= 1 && p <= 38 && s >= 0 && s <= p) {
    return arrow::decimal128(p, s);
  }
  if (std::sscanf(t.c_str(), "fixed[%d%c", &l, &end) == 2 && end == ']' && l > 0)
    return arrow::fixed_size_binary(l);
  return arrow::Status::NotImplemented("Iceberg schema: column '", where, "' has type '",
                                       t, "', which inlet does not read");
}

arrow::Result<std::shared_ptr<arrow::DataType>> ParseType(const Json& j,
                                                          const std::string& where) {
  if (j.is_string()) return ParsePrimitive(j.get<std::string>(), where);
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string())
    return arrow::Status::Invalid("Iceberg schema: column '", where,
                                  "' has a malformed type: ", j.dump());
  std::string kind = j["type"].get<std::string>();
  if (kind == "struct") {
    arrow::FieldVector fields;
    for (const auto& f : j.value("fields", Json::array())) {
      ARROW_ASSIGN_OR_RAISE(auto field, ParseField(f, where));
      fields.push_back(field);
    }
    return arrow::struct_(fields);
  }
  if (kind == "list") {
    if (!j.contains("element-id") || !j.contains("element"))
      return arrow::Status::Invalid("Iceberg schema: list '", where,
                                    "' lacks element-id or element");
    ARROW_ASSIGN_OR_RAISE(auto element, ParseType(j["element"], where + ".element"));
    bool required = j.value("element-required", false);
    return arrow::list(WithId(arrow::field("element", element, !required),
                              j["element-id"].get<int32_t>()));
  }
  if (kind == "map") {
    if (!j.contains("key-id") || !j.contains("value-id") || !j.contains("key") ||
        !j.contains("value"))
      return arrow::Status::Invalid("Iceberg schema: map '", where,
                                    "' lacks key-id, value-id, key or value");
    ARROW_ASSIGN_OR_RAISE(auto key, ParseType(j["key"], where + ".key"));
    ARROW_ASSIGN_OR_RAISE(auto value, ParseType(j["value"], where + ".value"));
    bool required = j.value("value-required", false);
    return std::make_shared<arrow::MapType>(
        WithId(arrow::field("key", key, false), j["key-id"].get<int32_t>()),
        WithId(arrow::field("value", value, !required), j["value-id"].get<int32_t>()));
  }
  return arrow::Status::NotImplemented("Iceberg schema: column '", where, "' has type '",
                                       kind, "', which inlet does not read");
}

arrow::Result<Json> TypeToJson(const arrow::DataType& type, const std::string& where);

arrow::Result<int32_t> RequireId(const arrow::Field& f, const std::string& where) {
  auto id = FieldId(f);
  if (!id) return arrow::Status::Invalid("Iceberg schema: field '", where, "' has no id");
  return *id;
}

arrow::Result<Json> FieldToJson(const arrow::Field& f, const std::string& parent) {
  std::string where = parent.empty() ? f.name() : parent + "." + f.name();
  ARROW_ASSIGN_OR_RAISE(int32_t id, RequireId(f, where));
  ARROW_ASSIGN_OR_RAISE(auto type, TypeToJson(*f.type(), where));
  return Json{
      {"id", id}, {"name", f.name()}, {"required", !f.nullable()}, {"type", type}};
}

arrow::Result<Json> TypeToJson(const arrow::DataType& type, const std::string& where) {
  switch (type.id()) {
    case arrow::Type::STRUCT: {
      Json fields = Json::array();
      for (const auto& f : type.fields()) {
        ARROW_ASSIGN_OR_RAISE(auto j, FieldToJson(*f, where));
        fields.push_back(std::move(j));
      }
      return Json{{"type", "struct"}, {"fields", fields}};
    }
    case arrow::Type::LIST: {
      const auto& e = static_cast<const arrow::ListType&>(type).value_field();
      ARROW_ASSIGN_OR_RAISE(int32_t id, RequireId(*e, where + ".element"));
      ARROW_ASSIGN_OR_RAISE(auto t, TypeToJson(*e->type(), where + ".element"));
      return Json{{"type", "list"},
                  {"element-id", id},
                  {"element", t},
                  {"element-required", !e->nullable()}};
    }
    case arrow::Type::MAP: {
      const auto& m = static_cast<const arrow::MapType&>(type);
      ARROW_ASSIGN_OR_RAISE(int32_t kid, RequireId(*m.key_field(), where + ".key"));
      ARROW_ASSIGN_OR_RAISE(int32_t vid, RequireId(*m.item_field(), where + ".value"));
      ARROW_ASSIGN_OR_RAISE(auto k, TypeToJson(*m.key_type(), where + ".key"));
      ARROW_ASSIGN_OR_RAISE(auto v, TypeToJson(*m.item_type(), where + ".value"));
      return Json{{"type", "map"}, {"key-id", kid},
                  {"key", k},      {"value-id", vid},
                  {"value", v},    {"value-required", !m.item_field()->nullable()}};
    }
    default: {
      std::string name = TypeName(type);
      if (name.empty())
        return arrow::Status::TypeError("column '", where, "': type ", type.ToString(),
                                        " has no Iceberg type");
      return Json(name);
    }
  }
}

// Assigns ids to a type's nested fields (each struct's fields first, then their
// children).
arrow::Result<std::shared_ptr<arrow::DataType>> FreshIds(
    const std::shared_ptr<arrow::DataType>& type, int32_t* next) {
  switch (type->id()) {
    case arrow::Type::STRUCT: {
      std::vector<int32_t> ids;
      for (size_t i = 0; i < type->fields().size(); ++i) ids.push_back((*next)++);
      arrow::FieldVector fields;
      for (size_t i = 0; i < type->fields().size(); ++i) {
        const auto& f = type->fields()[i];
        ARROW_ASSIGN_OR_RAISE(auto t, FreshIds(f->type(), next));
        fields.push_back(WithId(arrow::field(f->name(), t, f->nullable()), ids[i]));
      }
      return arrow::struct_(fields);
    }
    case arrow::Type::LIST: {
      const auto& e = static_cast<const arrow::ListType&>(*type).value_field();
      int32_t id = (*next)++;
      ARROW_ASSIGN_OR_RAISE(auto t, FreshIds(e->type(), next));
      return arrow::list(WithId(arrow::field("element", t, e->nullable()), id));
    }
    case arrow::Type::MAP: {
      const auto& m = static_cast<const arrow::MapType&>(*type);
      int32_t kid = (*next)++, vid = (*next)++;
      ARROW_ASSIGN_OR_RAISE(auto k, FreshIds(m.key_type(), next));
      ARROW_ASSIGN_OR_RAISE(auto v, FreshIds(m.item_type(), next));
      return std::make_shared<arrow::MapType>(
          WithId(arrow::field("key", k, false), kid),
          WithId(arrow::field("value", v, m.item_field()->nullable()), vid));
    }
    default:
      return type;
  }
}

arrow::FieldVector Children(const arrow::DataType& type);

void Highest(const arrow::Field& f, int32_t* max) {
  if (auto id = FieldId(f)) *max = std::max(*max, *id);
  for (const auto& c : Children(*f.type())) Highest(*c, max);
}

// A type's child fields as Iceberg sees them: a map's key and value, not Arrow's entries
// struct.
arrow::FieldVector Children(const arrow::DataType& type) {
  if (type.id() == arrow::Type::MAP) {
    const auto& m = static_cast<const arrow::MapType&>(type);
    return {m.key_field(), m.item_field()};
  }
  return type.fields();
}

std::shared_ptr<arrow::Field> Find(const arrow::FieldVector& fields, int32_t id,
                                   const std::string& prefix, std::string* path) {
  for (const auto& f : fields) {
    std::string here = prefix.empty() ? f->name() : prefix + "." + f->name();
    if (FieldId(*f) == id) {
      if (path) *path = here;
      return f;
    }
    if (auto found = Find(Children(*f->type()), id, here, path)) return found;
  }
  return nullptr;
}

}  // namespace

std::optional<int32_t> FieldId(const arrow::Field& field) {
  if (!field.metadata()) return std::nullopt;
  auto v = field.metadata()->Get(kFieldIdKey);
  if (!v.ok()) return std::nullopt;
  char* end = nullptr;
  long id = std::strtol(v->c_str(), &end, 10);
  if (end == v->c_str() || *end != '\0') return std::nullopt;
  return static_cast<int32_t>(id);
}

arrow::Result<Schema> ParseSchema(const Json& j) {
  if (!j.is_object() || j.value("type", "") != "struct" || !j.contains("fields") ||
      !j["fields"].is_array())
    return arrow::Status::Invalid("Iceberg schema: expected a struct with fields");
  Schema out;
  if (j.contains("schema-id") && j["schema-id"].is_number_integer())
    out.schema_id = j["schema-id"].get<int32_t>();
  arrow::FieldVector fields;
  for (const auto& f : j["fields"]) {
    ARROW_ASSIGN_OR_RAISE(auto field, ParseField(f, ""));
    fields.push_back(field);
  }
  out.arrow_schema = arrow::schema(fields);
  if (j.contains("identifier-field-ids") && j["identifier-field-ids"].is_array()) {
    for (const auto& id : j["identifier-field-ids"])
      if (id.is_number_integer()) out.identifier_field_ids.push_back(id.get<int32_t>());
  }
  return out;
}

arrow::Result<Json> SchemaToJson(const Schema& schema) {
  Json fields = Json::array();
  for (const auto& f : schema.arrow_schema->fields()) {
    ARROW_ASSIGN_OR_RAISE(auto j, FieldToJson(*f, ""));
    fields.push_back(std::move(j));
  }
  return Json{{"type", "struct"},
              {"schema-id", schema.schema_id},
              {"identifier-field-ids", schema.identifier_field_ids},
              {"fields", fields}};
}

std::string TypeName(const arrow::DataType& type) {
  using arrow::Type;
  if (type.id() == Type::EXTENSION) {
    const auto& ext = static_cast<const arrow::ExtensionType&>(type);
    return ext.extension_name() == "arrow.uuid" ? "uuid" : "";
  }
  switch (type.id()) {
    case Type::BOOL:
      return "boolean";
    case Type::INT32:
      return "int";
    case Type::INT64:
      return "long";
    case Type::FLOAT:
      return "float";
    case Type::DOUBLE:
      return "double";
    case Type::DATE32:
      return "date";
    case Type::TIME64:
      return "time";
    case Type::TIMESTAMP: {
      const auto& ts = static_cast<const arrow::TimestampType&>(type);
      std::string name = ts.timezone().empty() ? "timestamp" : "timestamptz";
      return ts.unit() == arrow::TimeUnit::NANO ? name + "_ns" : name;
    }
    case Type::STRING:
      return "string";
    case Type::BINARY:
      return "binary";
    case Type::FIXED_SIZE_BINARY:
      return "fixed[" +
             std::to_string(
                 static_cast<const arrow::FixedSizeBinaryType&>(type).byte_width()) +
             "]";
    case Type::DECIMAL128: {
      const auto& d = static_cast<const arrow::Decimal128Type&>(type);
      return "decimal(" + std::to_string(d.precision()) + ", " +
             std::to_string(d.scale()) + ")";
    }
    case Type::STRUCT:
      return "struct";
    case Type::LIST:
      return "list";
    case Type::MAP:
      return "map";
    default:
      return "";
  }
}

arrow::Result<std::shared_ptr<arrow::DataType>> ToIcebergCompatible(
    const std::shared_ptr<arrow::DataType>& type, const std::string& column) {
  using arrow::Type;
  switch (type->id()) {
    case Type::LARGE_STRING:
    case Type::STRING_VIEW:
    case Type::NA:  // an all-null column: string is the safe guess
      return arrow::utf8();
    case Type::LARGE_BINARY:
    case Type::BINARY_VIEW:
      return arrow::binary();
    case Type::INT8:
    case Type::INT16:
    case Type::UINT8:
    case Type::UINT16:
      return arrow::int32();
    case Type::UINT32:
      return arrow::int64();
    case Type::HALF_FLOAT:
      return arrow::float32();
    case Type::DATE64:
      return arrow::date32();
    case Type::TIME32:
    case Type::TIME64:
      return arrow::time64(arrow::TimeUnit::MICRO);
    case Type::TIMESTAMP: {
      // Microseconds: timestamp_ns is a format-version 3 type, which v2 readers refuse.
      const auto& ts = static_cast<const arrow::TimestampType&>(*type);
      return ts.timezone().empty() ? arrow::timestamp(arrow::TimeUnit::MICRO)
                                   : arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
    }
    case Type::DECIMAL32:
    case Type::DECIMAL64:
    case Type::DECIMAL128: {
      const auto& d = static_cast<const arrow::DecimalType&>(*type);
      return arrow::decimal128(d.precision(), d.scale());
    }
    case Type::DICTIONARY:
      return ToIcebergCompatible(
          static_cast<const arrow::DictionaryType&>(*type).value_type(), column);
    case Type::STRUCT: {
      arrow::FieldVector fields;
      for (const auto& f : type->fields()) {
        ARROW_ASSIGN_OR_RAISE(auto t,
                              ToIcebergCompatible(f->type(), column + "." + f->name()));
        fields.push_back(arrow::field(f->name(), t, f->nullable(), f->metadata()));
      }
      return arrow::struct_(fields);
    }
    case Type::LIST:
    case Type::LARGE_LIST:
    case Type::LIST_VIEW:
    case Type::LARGE_LIST_VIEW:
    case Type::FIXED_SIZE_LIST: {
      const auto& vf = static_cast<const arrow::BaseListType&>(*type).value_field();
      ARROW_ASSIGN_OR_RAISE(auto t, ToIcebergCompatible(vf->type(), column + ".element"));
      return arrow::list(arrow::field("element", t, vf->nullable(), vf->metadata()));
    }
    case Type::MAP: {
      const auto& mt = static_cast<const arrow::MapType&>(*type);
      ARROW_ASSIGN_OR_RAISE(auto k, ToIcebergCompatible(mt.key_type(), column + ".key"));
      ARROW_ASSIGN_OR_RAISE(auto v,
                            ToIcebergCompatible(mt.item_type(), column + ".value"));
      return std::make_shared<arrow::MapType>(
          arrow::field("key", k, false, mt.key_field()->metadata()),
          arrow::field("value", v, mt.item_field()->nullable(),
                       mt.item_field()->metadata()));
    }
    case Type::EXTENSION:
      if (static_cast<const arrow::ExtensionType&>(*type).extension_name() ==
          "arrow.uuid")
        return type;
      return ToIcebergCompatible(
          static_cast<const arrow::ExtensionType&>(*type).storage_type(), column);
    case Type::STRING:
    case Type::BINARY:
    case Type::FIXED_SIZE_BINARY:
    case Type::BOOL:
    case Type::INT32:
    case Type::INT64:
    case Type::FLOAT:
    case Type::DOUBLE:
    case Type::DATE32:
      return type;
    default:
      return arrow::Status::TypeError("column '", column, "': type ", type->ToString(),
                                      " cannot be stored in an Iceberg table");
  }
}

arrow::Result<std::shared_ptr<arrow::Schema>> AssignFreshIds(const arrow::Schema& input,
                                                             int32_t* last_column_id) {
  arrow::FieldVector compatible;
  for (const auto& f : input.fields()) {
    ARROW_ASSIGN_OR_RAISE(auto t, ToIcebergCompatible(f->type(), f->name()));
    compatible.push_back(arrow::field(f->name(), t, f->nullable()));
  }
  int32_t next = *last_column_id + 1;
  ARROW_ASSIGN_OR_RAISE(auto as_struct, FreshIds(arrow::struct_(compatible), &next));
  *last_column_id = next - 1;
  return arrow::schema(as_struct->fields());
}

int32_t HighestFieldId(const arrow::Schema& schema) {
  int32_t max = 0;
  for (const auto& f : schema.fields()) Highest(*f, &max);
  return max;
}

std::shared_ptr<arrow::Field> FindFieldById(const arrow::Schema& schema, int32_t id,
                                            std::string* path) {
  return Find(schema.fields(), id, "", path);
}

}  // namespace inlet::iceberg
