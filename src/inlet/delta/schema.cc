#include "inlet/delta/schema.h"

#include <arrow/status.h>
#include <arrow/type.h>

#include <cctype>
#include <cstdio>

namespace inlet::delta {

namespace {

arrow::Result<std::shared_ptr<arrow::DataType>> ParseType(const Json& type,
                                                          const std::string& path,
                                                          ColumnInfo* info);

arrow::Result<std::shared_ptr<arrow::DataType>> ParsePrimitive(const std::string& name,
                                                               const std::string& path) {
  if (name == "string") return arrow::utf8();
  if (name == "long") return arrow::int64();
  if (name == "integer") return arrow::int32();
  if (name == "short") return arrow::int16();
  if (name == "byte") return arrow::int8();
  if (name == "float") return arrow::float32();
  if (name == "double") return arrow::float64();
  if (name == "boolean") return arrow::boolean();
  if (name == "binary") return arrow::binary();
  if (name == "date") return arrow::date32();
  if (name == "timestamp") return arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
  if (name == "timestamp_ntz") return arrow::timestamp(arrow::TimeUnit::MICRO);
  if (name == "decimal") return arrow::decimal128(10, 0);
  int p = 0, s = 0;
  if (std::sscanf(name.c_str(), "decimal(%d,%d)", &p, &s) == 2 ||
      std::sscanf(name.c_str(), "decimal(%d, %d)", &p, &s) == 2) {
    if (p < 1 || p > 38 || s < 0 || s > p) {
      return arrow::Status::Invalid("column '", path, "': invalid decimal type '", name,
                                    "'");
    }
    return arrow::decimal128(p, s);
  }
  return arrow::Status::NotImplemented("column '", path, "': unsupported Delta type '",
                                       name, "'");
}

arrow::Result<std::shared_ptr<arrow::Field>> ParseField(const Json& f,
                                                        const std::string& prefix,
                                                        ColumnInfo* info) {
  ARROW_ASSIGN_OR_RAISE(info->name, GetString(f, "name", "schema field"));
  std::string path = prefix.empty() ? info->name : prefix + "." + info->name;
  info->metadata = f.value("metadata", Json::object());
  info->physical_name = info->name;
  if (auto it = info->metadata.find("delta.columnMapping.physicalName");
      it != info->metadata.end() && it->is_string()) {
    info->physical_name = it->get<std::string>();
  }
  if (auto it = info->metadata.find("delta.columnMapping.id");
      it != info->metadata.end() && it->is_number_integer()) {
    info->field_id = it->get<int64_t>();
  }
  auto type_it = f.find("type");
  if (type_it == f.end()) {
    return arrow::Status::Invalid("schema field '", path, "' has no type");
  }
  ARROW_ASSIGN_OR_RAISE(auto type, ParseType(*type_it, path, info));
  return arrow::field(info->name, type, GetBoolOr(f, "nullable", true));
}

arrow::Result<std::shared_ptr<arrow::DataType>> ParseType(const Json& type,
                                                          const std::string& path,
                                                          ColumnInfo* info) {
  if (type.is_string() && type.get<std::string>() == "variant") {
    // Unshredded variant: a struct of two binaries, as Parquet stores it.
    info->children.push_back(
        ColumnInfo{"metadata", "metadata", std::nullopt, Json::object(), {}});
    info->children.push_back(
        ColumnInfo{"value", "value", std::nullopt, Json::object(), {}});
    return arrow::struct_({arrow::field("metadata", arrow::binary(), false),
                           arrow::field("value", arrow::binary(), false)});
  }
  if (type.is_string()) return ParsePrimitive(type.get<std::string>(), path);
  if (!type.is_object())
    return arrow::Status::Invalid("column '", path, "': malformed type");
  std::string kind = GetStringOr(type, "type", "");
  if (kind == "struct") {
    arrow::FieldVector fields;
    auto fs = type.find("fields");
    if (fs != type.end() && fs->is_array()) {
      for (const auto& f : *fs) {
        ColumnInfo child;
        ARROW_ASSIGN_OR_RAISE(auto field, ParseField(f, path, &child));
        fields.push_back(field);
        info->children.push_back(std::move(child));
      }
    }
    return arrow::struct_(fields);
  }
  if (kind == "array") {
    ColumnInfo element{"element", "element", std::nullopt, Json::object(), {}};
    auto et = type.find("elementType");
    if (et == type.end())
      return arrow::Status::Invalid("column '", path, "': array without elementType");
    ARROW_ASSIGN_OR_RAISE(auto value_type, ParseType(*et, path + ".element", &element));
    info->children.push_back(std::move(element));
    return arrow::list(
        arrow::field("element", value_type, GetBoolOr(type, "containsNull", true)));
  }
  if (kind == "map") {
    ColumnInfo key{"key", "key", std::nullopt, Json::object(), {}};
    ColumnInfo value{"value", "value", std::nullopt, Json::object(), {}};
    auto kt = type.find("keyType");
    auto vt = type.find("valueType");
    if (kt == type.end() || vt == type.end()) {
      return arrow::Status::Invalid("column '", path, "': map without keyType/valueType");
    }
    ARROW_ASSIGN_OR_RAISE(auto key_type, ParseType(*kt, path + ".key", &key));
    ARROW_ASSIGN_OR_RAISE(auto value_type, ParseType(*vt, path + ".value", &value));
    info->children.push_back(std::move(key));
    info->children.push_back(std::move(value));
    return std::make_shared<arrow::MapType>(
        arrow::field("key", key_type, false),
        arrow::field("value", value_type, GetBoolOr(type, "valueContainsNull", true)));
  }
  return arrow::Status::NotImplemented("column '", path, "': unsupported Delta type '",
                                       DumpJson(type), "'");
}

arrow::Result<Json> TypeToJson(const arrow::DataType& type, const std::string& path);

arrow::Result<Json> FieldToJson(const arrow::Field& field, const std::string& prefix) {
  std::string path = prefix.empty() ? field.name() : prefix + "." + field.name();
  ARROW_ASSIGN_OR_RAISE(Json type, TypeToJson(*field.type(), path));
  return Json{{"name", field.name()},
              {"type", type},
              {"nullable", field.nullable()},
              {"metadata", Json::object()}};
}

arrow::Result<Json> TypeToJson(const arrow::DataType& type, const std::string& path) {
  switch (type.id()) {
    case arrow::Type::STRUCT: {
      Json fields = Json::array();
      for (const auto& f : type.fields()) {
        ARROW_ASSIGN_OR_RAISE(Json fj, FieldToJson(*f, path));
        fields.push_back(std::move(fj));
      }
      return Json{{"type", "struct"}, {"fields", fields}};
    }
    case arrow::Type::LIST: {
      const auto& lt = static_cast<const arrow::ListType&>(type);
      ARROW_ASSIGN_OR_RAISE(Json et, TypeToJson(*lt.value_type(), path + ".element"));
      return Json{{"type", "array"},
                  {"elementType", et},
                  {"containsNull", lt.value_field()->nullable()}};
    }
    case arrow::Type::MAP: {
      const auto& mt = static_cast<const arrow::MapType&>(type);
      ARROW_ASSIGN_OR_RAISE(Json kt, TypeToJson(*mt.key_type(), path + ".key"));
      ARROW_ASSIGN_OR_RAISE(Json vt, TypeToJson(*mt.item_type(), path + ".value"));
      return Json{{"type", "map"},
                  {"keyType", kt},
                  {"valueType", vt},
                  {"valueContainsNull", mt.item_field()->nullable()}};
    }
    default: {
      std::string name = DeltaTypeName(type);
      if (name.empty()) {
        return arrow::Status::TypeError("column '", path, "': Arrow type ",
                                        type.ToString(), " has no Delta equivalent");
      }
      return Json(name);
    }
  }
}

}  // namespace

int DeltaSchema::FindColumn(const std::string& name) const {
  const auto& fields = arrow_schema->fields();
  for (size_t i = 0; i < fields.size(); ++i) {
    if (fields[i]->name() == name) return static_cast<int>(i);
  }
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  std::string target = lower(name);
  for (size_t i = 0; i < fields.size(); ++i) {
    if (lower(fields[i]->name()) == target) return static_cast<int>(i);
  }
  return -1;
}

arrow::Result<DeltaSchema> ParseDeltaSchema(const std::string& schema_string) {
  if (schema_string.empty())
    return arrow::Status::Invalid("the table's metaData has no schemaString");
  ARROW_ASSIGN_OR_RAISE(Json j, ParseJson(schema_string, "metaData.schemaString"));
  if (GetStringOr(j, "type", "") != "struct") {
    return arrow::Status::Invalid("metaData.schemaString is not a struct type");
  }
  DeltaSchema out;
  arrow::FieldVector fields;
  try {
    for (const auto& f : j.value("fields", Json::array())) {
      ColumnInfo info;
      ARROW_ASSIGN_OR_RAISE(auto field, ParseField(f, "", &info));
      fields.push_back(field);
      out.columns.push_back(std::move(info));
    }
  } catch (const Json::exception& e) {
    return arrow::Status::Invalid("metaData.schemaString: malformed schema: ", e.what());
  }
  out.arrow_schema = arrow::schema(fields);
  return out;
}

arrow::Result<std::string> SerializeDeltaSchema(const arrow::Schema& schema) {
  Json fields = Json::array();
  for (const auto& f : schema.fields()) {
    ARROW_ASSIGN_OR_RAISE(Json fj, FieldToJson(*f, ""));
    fields.push_back(std::move(fj));
  }
  return DumpJson(Json{{"type", "struct"}, {"fields", fields}});
}

std::string DeltaTypeName(const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::STRING:
      return "string";
    case arrow::Type::INT64:
      return "long";
    case arrow::Type::INT32:
      return "integer";
    case arrow::Type::INT16:
      return "short";
    case arrow::Type::INT8:
      return "byte";
    case arrow::Type::FLOAT:
      return "float";
    case arrow::Type::DOUBLE:
      return "double";
    case arrow::Type::BOOL:
      return "boolean";
    case arrow::Type::BINARY:
      return "binary";
    case arrow::Type::DATE32:
      return "date";
    case arrow::Type::TIMESTAMP: {
      const auto& ts = static_cast<const arrow::TimestampType&>(type);
      return ts.timezone().empty() ? "timestamp_ntz" : "timestamp";
    }
    case arrow::Type::DECIMAL128: {
      const auto& d = static_cast<const arrow::Decimal128Type&>(type);
      return "decimal(" + std::to_string(d.precision()) + "," +
             std::to_string(d.scale()) + ")";
    }
    case arrow::Type::STRUCT:
      return "struct";
    case arrow::Type::LIST:
      return "array";
    case arrow::Type::MAP:
      return "map";
    default:
      return "";
  }
}

arrow::Result<std::shared_ptr<arrow::DataType>> ToDeltaCompatible(
    const std::shared_ptr<arrow::DataType>& type, const std::string& column) {
  using arrow::Type;
  switch (type->id()) {
    case Type::LARGE_STRING:
    case Type::STRING_VIEW:
      return arrow::utf8();
    case Type::LARGE_BINARY:
    case Type::BINARY_VIEW:
    case Type::FIXED_SIZE_BINARY:
      return arrow::binary();
    case Type::UINT8:
      return arrow::int16();
    case Type::UINT16:
      return arrow::int32();
    case Type::UINT32:
      return arrow::int64();
    case Type::HALF_FLOAT:
      return arrow::float32();
    case Type::DATE64:
      return arrow::date32();
    case Type::NA:
      return arrow::utf8();  // an all-null column: string is the safe guess
    case Type::TIMESTAMP: {
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
      return ToDeltaCompatible(
          static_cast<const arrow::DictionaryType&>(*type).value_type(), column);
    case Type::STRUCT: {
      arrow::FieldVector fields;
      for (const auto& f : type->fields()) {
        ARROW_ASSIGN_OR_RAISE(auto t,
                              ToDeltaCompatible(f->type(), column + "." + f->name()));
        fields.push_back(arrow::field(f->name(), t, f->nullable()));
      }
      return arrow::struct_(fields);
    }
    case Type::LIST:
    case Type::LARGE_LIST:
    case Type::LIST_VIEW:
    case Type::LARGE_LIST_VIEW:
    case Type::FIXED_SIZE_LIST: {
      const auto& vf = static_cast<const arrow::BaseListType&>(*type).value_field();
      ARROW_ASSIGN_OR_RAISE(auto t, ToDeltaCompatible(vf->type(), column + ".element"));
      return arrow::list(arrow::field("element", t, vf->nullable()));
    }
    case Type::MAP: {
      const auto& mt = static_cast<const arrow::MapType&>(*type);
      ARROW_ASSIGN_OR_RAISE(auto k, ToDeltaCompatible(mt.key_type(), column + ".key"));
      ARROW_ASSIGN_OR_RAISE(auto v, ToDeltaCompatible(mt.item_type(), column + ".value"));
      return std::make_shared<arrow::MapType>(
          arrow::field("key", k, false),
          arrow::field("value", v, mt.item_field()->nullable()));
    }
    case Type::STRING:
    case Type::BINARY:
    case Type::BOOL:
    case Type::INT8:
    case Type::INT16:
    case Type::INT32:
    case Type::INT64:
    case Type::FLOAT:
    case Type::DOUBLE:
    case Type::DATE32:
      return type;
    default:
      return arrow::Status::TypeError("column '", column, "': type ", type->ToString(),
                                      " cannot be stored in a Delta table");
  }
}

arrow::Result<std::shared_ptr<arrow::Schema>> ToDeltaCompatible(
    const arrow::Schema& schema) {
  arrow::FieldVector fields;
  for (const auto& f : schema.fields()) {
    ARROW_ASSIGN_OR_RAISE(auto t, ToDeltaCompatible(f->type(), f->name()));
    fields.push_back(arrow::field(f->name(), t, f->nullable()));
  }
  return arrow::schema(fields);
}

bool IsSafeWidening(const arrow::DataType& from, const arrow::DataType& to) {
  using arrow::Type;
  if (from.Equals(to, /*check_metadata=*/false)) return true;
  auto rank = [](Type::type t) {
    switch (t) {
      case Type::INT8:
        return 1;
      case Type::INT16:
        return 2;
      case Type::INT32:
        return 3;
      case Type::INT64:
        return 4;
      default:
        return 0;
    }
  };
  if (rank(from.id()) && rank(to.id())) return rank(from.id()) <= rank(to.id());
  if (rank(from.id()) && rank(from.id()) <= 3 && to.id() == Type::DOUBLE) return true;
  if (from.id() == Type::FLOAT && to.id() == Type::DOUBLE) return true;
  if (from.id() == Type::DECIMAL128 && to.id() == Type::DECIMAL128) {
    const auto& f = static_cast<const arrow::Decimal128Type&>(from);
    const auto& t = static_cast<const arrow::Decimal128Type&>(to);
    return t.scale() >= f.scale() &&
           t.precision() - t.scale() >= f.precision() - f.scale();
  }
  if (from.id() == Type::STRUCT && to.id() == Type::STRUCT) {
    // Every input field must exist in the target and widen safely; missing ones are null.
    for (const auto& f : from.fields()) {
      auto t = static_cast<const arrow::StructType&>(to).GetFieldByName(f->name());
      if (!t || !IsSafeWidening(*f->type(), *t->type())) return false;
    }
    return true;
  }
  if (from.id() == Type::LIST && to.id() == Type::LIST) {
    return IsSafeWidening(*static_cast<const arrow::ListType&>(from).value_type(),
                          *static_cast<const arrow::ListType&>(to).value_type());
  }
  if (from.id() == Type::MAP && to.id() == Type::MAP) {
    const auto& f = static_cast<const arrow::MapType&>(from);
    const auto& t = static_cast<const arrow::MapType&>(to);
    return IsSafeWidening(*f.key_type(), *t.key_type()) &&
           IsSafeWidening(*f.item_type(), *t.item_type());
  }
  return false;
}

}  // namespace inlet::delta
