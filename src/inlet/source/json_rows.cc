#include "inlet/source/json_rows.h"

#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <arrow/util/decimal.h>
#include <simdjson.h>

#include <unordered_map>

#include "inlet/common/time.h"
#include "inlet/common/utf8.h"

namespace inlet {

namespace {

namespace od = simdjson::ondemand;

// What a column holds. Inferred columns take the kind of their first non-null value;
// declared ones convert every value to their type.
enum class Kind { kUnknown, kBool, kInt, kDouble, kString, kJson, kDeclared };

// One field of the message being decoded; views point into the parser's buffers, which
// live until the next message.
struct Field {
  std::string_view name;
  enum { kNull, kBool, kInt, kDouble, kString, kJson } type = kNull;
  bool b = false;
  int64_t i = 0;
  double d = 0;
  std::string_view
      text;  // string value, or the JSON text of an object/array, or a number's token
  size_t column = kNewColumn;  // its column, once checked
  bool repeated = false;  // a later field of the message has the same name (and wins)
  static constexpr size_t kNewColumn = static_cast<size_t>(-1);
};

// Column names are looked up by the fields' string views, without a copy.
struct NameHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

const char* TypeName(const Field& f) {
  switch (f.type) {
    case Field::kNull:
      return "null";
    case Field::kBool:
      return "a boolean";
    case Field::kInt:
      return "an integer";
    case Field::kDouble:
      return "a number";
    case Field::kString:
      return "a string";
    case Field::kJson:
      return "an object or array";
  }
  return "?";
}

const char* KindName(Kind k) {
  switch (k) {
    case Kind::kBool:
      return "boolean";
    case Kind::kInt:
      return "integer";
    case Kind::kDouble:
      return "number";
    case Kind::kString:
      return "string";
    case Kind::kJson:
      return "object or array";
    default:
      return "?";
  }
}

struct Column {
  std::string name;
  Kind kind = Kind::kUnknown;
  std::shared_ptr<arrow::DataType> type;  // declared
  bool required = false;
  std::unique_ptr<arrow::ArrayBuilder> builder;  // null while kUnknown
  int64_t pending_nulls = 0;                     // rows appended while kUnknown
  int64_t last_bytes = 0;  // value bytes of the last batch (strings)
  // With JsonRowOptions::given_prefix: the batch's rows whose message lacked the field.
  std::vector<int64_t> absent;
};

// The value bytes of a string array, to reserve for the next batch.
int64_t ValueBytes(const arrow::Array& a) {
  if (a.type_id() == arrow::Type::STRING || a.type_id() == arrow::Type::BINARY) {
    return static_cast<const arrow::BinaryArray&>(a).total_values_length();
  }
  return 0;
}

// Makes room for a batch like the last one: no regrowth (and its copies) while appending.
arrow::Status Reserve(arrow::ArrayBuilder* b, int64_t rows, int64_t bytes) {
  ARROW_RETURN_NOT_OK(b->Reserve(rows));
  if (bytes > 0) {
    if (b->type()->id() == arrow::Type::STRING)
      return static_cast<arrow::StringBuilder*>(b)->ReserveData(bytes);
    if (b->type()->id() == arrow::Type::BINARY)
      return static_cast<arrow::BinaryBuilder*>(b)->ReserveData(bytes);
  }
  return arrow::Status::OK();
}

std::shared_ptr<arrow::DataType> UtcMicros() {
  return arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
}

Kind KindOf(const Field& f) {
  switch (f.type) {
    case Field::kBool:
      return Kind::kBool;
    case Field::kInt:
      return Kind::kInt;
    case Field::kDouble:
      return Kind::kDouble;
    case Field::kString:
      return Kind::kString;
    case Field::kJson:
      return Kind::kJson;
    default:
      return Kind::kUnknown;
  }
}

std::shared_ptr<arrow::DataType> TypeOfKind(Kind k) {
  switch (k) {
    case Kind::kBool:
      return arrow::boolean();
    case Kind::kInt:
      return arrow::int64();
    case Kind::kDouble:
      return arrow::float64();
    default:
      return arrow::utf8();
  }
}

// Whether a value fits a declared type (without appending it); the problem otherwise.
std::string CheckDeclared(const Field& f, const arrow::DataType& type);

// Appends a non-null value to a declared column (CheckDeclared passed).
arrow::Status AppendDeclared(const Field& f, const arrow::DataType& type,
                             arrow::ArrayBuilder* b);

template <typename T>
bool InRange(int64_t v) {
  return v >= std::numeric_limits<T>::min() && v <= std::numeric_limits<T>::max();
}

arrow::Result<int64_t> TimestampOf(const Field& f) {
  if (f.type == Field::kInt) {  // epoch milliseconds
    int64_t us = 0;
    if (__builtin_mul_overflow(f.i, int64_t{1000}, &us))
      return arrow::Status::Invalid("epoch milliseconds ", f.i,
                                    " are out of a timestamp's range");
    return us;
  }
  if (f.type == Field::kString) return ParseTimestampMicros(f.text);
  return arrow::Status::Invalid(
      "expected a timestamp (ISO 8601 text or epoch milliseconds), got ", TypeName(f));
}

arrow::Result<int32_t> DateOf(const Field& f) {
  if (f.type == Field::kInt && InRange<int32_t>(f.i))
    return static_cast<int32_t>(f.i);  // days since 1970-01-01
  if (f.type != Field::kString) {
    return arrow::Status::Invalid(
        "expected a date (YYYY-MM-DD or days since 1970-01-01), got ", TypeName(f));
  }
  return ParseDate(f.text);
}

arrow::Result<arrow::Decimal128> DecimalOf(const Field& f,
                                           const arrow::Decimal128Type& t) {
  if (f.type != Field::kString && f.type != Field::kInt && f.type != Field::kDouble) {
    return arrow::Status::Invalid("expected a decimal, got ", TypeName(f));
  }
  arrow::Decimal128 value;
  int32_t precision = 0, scale = 0;
  ARROW_RETURN_NOT_OK(arrow::Decimal128::FromString(f.text, &value, &precision, &scale));
  if (scale != t.scale()) {
    auto rescaled = value.Rescale(scale, t.scale());
    if (!rescaled.ok())
      return arrow::Status::Invalid("'", f.text, "' does not fit ", t.ToString());
    value = *rescaled;
  }
  if (!value.FitsInPrecision(t.precision()))
    return arrow::Status::Invalid("'", f.text, "' does not fit ", t.ToString());
  return value;
}

std::string CheckDeclared(const Field& f, const arrow::DataType& type) {
  auto mismatch = [&](const char* want) {
    return std::string("expected ") + want + ", got " + TypeName(f);
  };
  switch (type.id()) {
    case arrow::Type::BOOL:
      return f.type == Field::kBool ? "" : mismatch("a boolean");
    case arrow::Type::INT8:
    case arrow::Type::INT16:
    case arrow::Type::INT32:
    case arrow::Type::INT64: {
      if (f.type != Field::kInt) return mismatch("an integer");
      bool ok = type.id() == arrow::Type::INT8    ? InRange<int8_t>(f.i)
                : type.id() == arrow::Type::INT16 ? InRange<int16_t>(f.i)
                : type.id() == arrow::Type::INT32 ? InRange<int32_t>(f.i)
                                                  : true;
      return ok ? "" : std::to_string(f.i) + " does not fit " + type.ToString();
    }
    case arrow::Type::FLOAT:
    case arrow::Type::DOUBLE:
      return f.type == Field::kInt || f.type == Field::kDouble ? ""
                                                               : mismatch("a number");
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
      return f.type == Field::kString || f.type == Field::kJson ? ""
                                                                : mismatch("a string");
    case arrow::Type::TIMESTAMP: {
      auto r = TimestampOf(f);
      return r.ok() ? "" : r.status().message();
    }
    case arrow::Type::DATE32: {
      auto r = DateOf(f);
      return r.ok() ? "" : r.status().message();
    }
    case arrow::Type::DECIMAL128: {
      auto r = DecimalOf(f, static_cast<const arrow::Decimal128Type&>(type));
      return r.ok() ? "" : r.status().message();
    }
    default:
      return "columns of type " + type.ToString() + " cannot be read from JSON messages";
  }
}

arrow::Status AppendDeclared(const Field& f, const arrow::DataType& type,
                             arrow::ArrayBuilder* b) {
  switch (type.id()) {
    case arrow::Type::BOOL:
      return static_cast<arrow::BooleanBuilder*>(b)->Append(f.b);
    case arrow::Type::INT8:
      return static_cast<arrow::Int8Builder*>(b)->Append(static_cast<int8_t>(f.i));
    case arrow::Type::INT16:
      return static_cast<arrow::Int16Builder*>(b)->Append(static_cast<int16_t>(f.i));
    case arrow::Type::INT32:
      return static_cast<arrow::Int32Builder*>(b)->Append(static_cast<int32_t>(f.i));
    case arrow::Type::INT64:
      return static_cast<arrow::Int64Builder*>(b)->Append(f.i);
    case arrow::Type::FLOAT:
      return static_cast<arrow::FloatBuilder*>(b)->Append(
          static_cast<float>(f.type == Field::kInt ? f.i : f.d));
    case arrow::Type::DOUBLE:
      return static_cast<arrow::DoubleBuilder*>(b)->Append(
          f.type == Field::kInt ? static_cast<double>(f.i) : f.d);
    case arrow::Type::STRING:
      return static_cast<arrow::StringBuilder*>(b)->Append(f.text);
    case arrow::Type::LARGE_STRING:
      return static_cast<arrow::LargeStringBuilder*>(b)->Append(f.text);
    case arrow::Type::TIMESTAMP: {
      ARROW_ASSIGN_OR_RAISE(int64_t us, TimestampOf(f));
      auto unit = static_cast<const arrow::TimestampType&>(type).unit();
      int64_t v = unit == arrow::TimeUnit::SECOND  ? us / 1000000
                  : unit == arrow::TimeUnit::MILLI ? us / 1000
                  : unit == arrow::TimeUnit::NANO  ? us * 1000
                                                   : us;
      return static_cast<arrow::TimestampBuilder*>(b)->Append(v);
    }
    case arrow::Type::DATE32: {
      ARROW_ASSIGN_OR_RAISE(int32_t days, DateOf(f));
      return static_cast<arrow::Date32Builder*>(b)->Append(days);
    }
    case arrow::Type::DECIMAL128: {
      ARROW_ASSIGN_OR_RAISE(
          auto v, DecimalOf(f, static_cast<const arrow::Decimal128Type&>(type)));
      return static_cast<arrow::Decimal128Builder*>(b)->Append(v);
    }
    default:
      return arrow::Status::NotImplemented("type ", type.ToString());
  }
}

arrow::Status AppendInferred(const Field& f, Kind kind, arrow::ArrayBuilder* b) {
  switch (kind) {
    case Kind::kBool:
      return static_cast<arrow::BooleanBuilder*>(b)->Append(f.b);
    case Kind::kInt:
      return static_cast<arrow::Int64Builder*>(b)->Append(f.i);
    case Kind::kDouble:
      return static_cast<arrow::DoubleBuilder*>(b)->Append(
          f.type == Field::kInt ? static_cast<double>(f.i) : f.d);
    default:
      return static_cast<arrow::StringBuilder*>(b)->Append(f.text);
  }
}

}  // namespace

struct JsonRows::Impl : MessageFields {
  JsonRowOptions options;
  od::parser parser;
  std::string buffer;  // the message, padded for simdjson
  std::vector<Column> columns;
  std::unordered_map<std::string, size_t, NameHash, std::equal_to<>> by_name;
  int64_t rows = 0;
  std::vector<Field> fields;
  std::vector<size_t>
      last_order;  // the column of each field of the last message, by position
  std::vector<uint64_t> seen;  // per column: the stamp of the last message that had it
  uint64_t message_stamp = 0;
  arrow::StringBuilder topic, key, headers;
  arrow::Int32Builder partition;
  arrow::Int64Builder offset;
  arrow::TimestampBuilder timestamp{UtcMicros(), arrow::default_memory_pool()};
  // The size of the last batch: the builders reserve it when the next one starts.
  int64_t last_rows = 0;
  int64_t last_topic_bytes = 0, last_key_bytes = 0, last_headers_bytes = 0;

  explicit Impl(JsonRowOptions o) : options(std::move(o)) {
    for (const auto& [name, type] : options.declared) {
      Column c;
      c.name = name;
      c.kind = Kind::kDeclared;
      c.type = type;
      c.required = std::find(options.required.begin(), options.required.end(), name) !=
                   options.required.end();
      c.builder = arrow::MakeBuilder(type).ValueOrDie();
      by_name.emplace(name, columns.size());
      columns.push_back(std::move(c));
    }
  }

  // The fields of a JSON object message, into `fields`.
  arrow::Status Parse(std::string_view value) {
    fields.clear();
    buffer.assign(value.data(), value.size());
    buffer.resize(value.size() + simdjson::SIMDJSON_PADDING);
    od::document doc;
    auto error = parser.iterate(buffer.data(), value.size(), buffer.size()).get(doc);
    od::object obj;
    if (!error) error = doc.get_object().get(obj);
    if (error == simdjson::INCORRECT_TYPE)
      return arrow::Status::Invalid("the message is not a JSON object");
    if (error)
      return arrow::Status::Invalid("malformed JSON: ", simdjson::error_message(error));
    for (auto member : obj) {
      Field f;
      if ((error = member.unescaped_key().get(f.name))) break;
      od::value v;
      if ((error = member.value().get(v))) break;
      od::json_type t;
      if ((error = v.type().get(t))) break;
      switch (t) {
        case od::json_type::null:
          f.type = Field::kNull;
          if ((error = v.is_null().error())) break;
          break;
        case od::json_type::boolean:
          f.type = Field::kBool;
          error = v.get_bool().get(f.b);
          break;
        case od::json_type::string:
          f.type = Field::kString;
          error = v.get_string().get(f.text);
          break;
        case od::json_type::number: {
          f.text = v.raw_json_token();
          while (!f.text.empty() && (f.text.back() == ' ' || f.text.back() == '\n' ||
                                     f.text.back() == '\t' || f.text.back() == '\r')) {
            f.text.remove_suffix(1);
          }
          od::number_type nt;
          if ((error = v.get_number_type().get(nt))) break;
          if (nt == od::number_type::signed_integer) {
            f.type = Field::kInt;
            error = v.get_int64().get(f.i);
          } else if (nt == od::number_type::floating_point_number) {
            f.type = Field::kDouble;
            error = v.get_double().get(f.d);
          } else {
            return arrow::Status::Invalid("field '", f.name, "': integer ", f.text,
                                          " is out of range");
          }
          break;
        }
        case od::json_type::object: {
          f.type = Field::kJson;
          od::object inner;
          if (!(error = v.get_object().get(inner))) error = inner.raw_json().get(f.text);
          break;
        }
        case od::json_type::array: {
          f.type = Field::kJson;
          od::array inner;
          if (!(error = v.get_array().get(inner))) error = inner.raw_json().get(f.text);
          break;
        }
      }
      if (error) break;
      fields.push_back(f);  // repeated names are resolved by Check
    }
    // Anything after the object is a structural token still in bounds.
    if (!error && !doc.current_location().error()) error = simdjson::TRAILING_CONTENT;
    if (error)
      return arrow::Status::Invalid("malformed JSON: ", simdjson::error_message(error));
    return arrow::Status::OK();
  }

  // The field of that name (the last one, of repeated names).
  const Field* Find(std::string_view name) const {
    for (auto f = fields.rbegin(); f != fields.rend(); ++f) {
      if (f->name == name) return &*f;
    }
    return nullptr;
  }

  bool Has(std::string_view name) const override {
    const Field* f = Find(name);
    return f && f->type != Field::kNull;
  }

  std::optional<std::string_view> String(std::string_view name) const override {
    const Field* f = Find(name);
    if (!f || f->type != Field::kString) return std::nullopt;
    return f->text;
  }

  // Rows [from, to) of the batch lacked the column's field.
  void MarkAbsent(Column* c, int64_t from, int64_t to) const {
    if (options.given_prefix.empty()) return;
    for (int64_t r = from; r < to; ++r) c->absent.push_back(r);
  }

  arrow::Status Declare(const std::string& name,
                        const std::shared_ptr<arrow::DataType>& type) {
    auto it = by_name.find(name);
    if (it == by_name.end()) {
      Column c;
      c.name = name;
      c.pending_nulls = rows;
      MarkAbsent(&c, 0, rows);
      it = by_name.emplace(name, columns.size()).first;
      columns.push_back(std::move(c));
    }
    Column& c = columns[it->second];
    if (c.kind != Kind::kUnknown) return arrow::Status::OK();
    c.kind = Kind::kDeclared;
    c.type = type;
    ARROW_ASSIGN_OR_RAISE(c.builder, arrow::MakeBuilder(type));
    ARROW_RETURN_NOT_OK(c.builder->AppendNulls(c.pending_nulls));
    c.pending_nulls = 0;
    return arrow::Status::OK();
  }

  arrow::Status ReserveBatch() {
    for (auto& c : columns) {
      if (c.builder)
        ARROW_RETURN_NOT_OK(Reserve(c.builder.get(), last_rows, c.last_bytes));
    }
    if (!options.metadata) return arrow::Status::OK();
    ARROW_RETURN_NOT_OK(Reserve(&topic, last_rows, last_topic_bytes));
    ARROW_RETURN_NOT_OK(Reserve(&partition, last_rows, 0));
    ARROW_RETURN_NOT_OK(Reserve(&offset, last_rows, 0));
    ARROW_RETURN_NOT_OK(Reserve(&timestamp, last_rows, 0));
    if (options.include_key)
      ARROW_RETURN_NOT_OK(Reserve(&key, last_rows, last_key_bytes));
    if (options.include_headers)
      ARROW_RETURN_NOT_OK(Reserve(&headers, last_rows, last_headers_bytes));
    return arrow::Status::OK();
  }

  // Finds every field's column: the one of the field in the same place in the last
  // message when the name matches (messages of a topic mostly list their fields in one
  // order), else by name. Of repeated names the last wins, as in most JSON readers.
  void FindColumns() {
    ++message_stamp;
    if (seen.size() < columns.size()) seen.resize(columns.size(), 0);
    for (size_t i = 0; i < fields.size(); ++i) {
      Field& f = fields[i];
      size_t guess = i < last_order.size() ? last_order[i] : Field::kNewColumn;
      if (guess < columns.size() && columns[guess].name == f.name) {
        f.column = guess;
      } else {
        auto it = by_name.find(f.name);
        f.column = it == by_name.end() ? Field::kNewColumn : it->second;
      }
      bool repeated = f.column != Field::kNewColumn && seen[f.column] == message_stamp;
      if (f.column == Field::kNewColumn || repeated) {
        for (size_t j = 0; j < i; ++j) {
          if (!fields[j].repeated && fields[j].name == f.name) fields[j].repeated = true;
        }
      }
      if (f.column != Field::kNewColumn) seen[f.column] = message_stamp;
    }
  }

  // Checks every field's value against its column; the columns that must widen from int
  // to double.
  arrow::Status Check(std::vector<size_t>* widen) {
    FindColumns();
    for (auto& f : fields) {
      if (f.column == Field::kNewColumn && options.closed && !f.repeated) {
        return arrow::Status::Invalid(
            "field '", f.name, "' is not in the schema (additionalProperties is false)");
      }
      if (f.repeated || f.type == Field::kNull || f.column == Field::kNewColumn) continue;
      const Column& c = columns[f.column];
      if (c.kind == Kind::kDeclared) {
        std::string problem = CheckDeclared(f, *c.type);
        if (!problem.empty())
          return arrow::Status::Invalid("field '", f.name, "': ", problem);
      } else if (c.kind != Kind::kUnknown && c.kind != KindOf(f)) {
        if (c.kind == Kind::kDouble && f.type == Field::kInt) continue;
        if (c.kind == Kind::kInt && f.type == Field::kDouble) {
          widen->push_back(f.column);
          continue;
        }
        return arrow::Status::Invalid("field '", f.name, "': expected ", KindName(c.kind),
                                      " (as in earlier messages), got ", TypeName(f));
      }
    }
    for (size_t i = 0; i < columns.size(); ++i) {
      if (!columns[i].required) continue;
      bool present = false;
      for (const auto& f : fields)
        present = present || (f.column == i && !f.repeated && f.type != Field::kNull);
      if (!present)
        return arrow::Status::Invalid("required field '", columns[i].name,
                                      "' is missing or null");
    }
    return arrow::Status::OK();
  }

  arrow::Status Widen(Column* c) {
    std::shared_ptr<arrow::Array> ints;
    ARROW_RETURN_NOT_OK(c->builder->Finish(&ints));
    ARROW_ASSIGN_OR_RAISE(auto doubles, arrow::compute::Cast(*ints, arrow::float64()));
    auto b = std::make_unique<arrow::DoubleBuilder>();
    ARROW_RETURN_NOT_OK(b->AppendArraySlice(*doubles->data(), 0, doubles->length()));
    c->builder = std::move(b);
    c->kind = Kind::kDouble;
    return arrow::Status::OK();
  }

  // Makes a kUnknown column's builder once its kind is known.
  arrow::Status Settle(Column* c, Kind kind) {
    c->kind = kind;
    c->builder = arrow::MakeBuilder(TypeOfKind(kind)).ValueOrDie();
    ARROW_RETURN_NOT_OK(c->builder->AppendNulls(c->pending_nulls));
    c->pending_nulls = 0;
    return arrow::Status::OK();
  }

  arrow::Status Apply(const MessageMeta& meta, const std::vector<size_t>& widen) {
    for (size_t i : widen) ARROW_RETURN_NOT_OK(Widen(&columns[i]));
    last_order.resize(fields.size());
    for (size_t i = 0; i < fields.size(); ++i) {
      Field& f = fields[i];
      if (f.repeated) continue;
      size_t idx = f.column;
      if (idx == Field::kNewColumn) {
        Column c;
        c.name = std::string(f.name);
        c.pending_nulls = rows;
        MarkAbsent(&c, 0, rows);
        idx = columns.size();
        by_name.emplace(c.name, idx);
        columns.push_back(std::move(c));
        seen.push_back(message_stamp);
      }
      last_order[i] = idx;
      Column& c = columns[idx];
      if (f.type == Field::kNull) {
        if (c.builder) {
          ARROW_RETURN_NOT_OK(c.builder->AppendNull());
        } else {
          ++c.pending_nulls;
        }
        continue;
      }
      if (c.kind == Kind::kUnknown) ARROW_RETURN_NOT_OK(Settle(&c, KindOf(f)));
      if (c.kind == Kind::kDeclared) {
        ARROW_RETURN_NOT_OK(AppendDeclared(f, *c.type, c.builder.get()));
      } else {
        ARROW_RETURN_NOT_OK(AppendInferred(f, c.kind, c.builder.get()));
      }
    }
    for (size_t i = 0; i < columns.size(); ++i) {
      if (seen[i] == message_stamp) continue;
      MarkAbsent(&columns[i], rows, rows + 1);
      if (columns[i].builder) {
        ARROW_RETURN_NOT_OK(columns[i].builder->AppendNull());
      } else {
        ++columns[i].pending_nulls;
      }
    }
    ++rows;
    if (!options.metadata) return arrow::Status::OK();
    ARROW_RETURN_NOT_OK(topic.Append(meta.topic));
    ARROW_RETURN_NOT_OK(partition.Append(meta.partition));
    ARROW_RETURN_NOT_OK(offset.Append(meta.offset));
    if (meta.timestamp_ms >= 0) {
      ARROW_RETURN_NOT_OK(timestamp.Append(meta.timestamp_ms * 1000));
    } else {
      ARROW_RETURN_NOT_OK(timestamp.AppendNull());
    }
    if (options.include_key) {
      // A key is bytes to Kafka: one that is not UTF-8 (an Avro or binary key) is
      // decoded with its malformed bytes as U+FFFD, as Kafka Connect's StringConverter
      // (Java's decoder) does.
      if (!meta.key) {
        ARROW_RETURN_NOT_OK(key.AppendNull());
      } else if (ValidUtf8(*meta.key)) {
        ARROW_RETURN_NOT_OK(key.Append(*meta.key));
      } else {
        ARROW_RETURN_NOT_OK(key.Append(Utf8Lossy(*meta.key)));
      }
    }
    if (options.include_headers) {
      ARROW_RETURN_NOT_OK(meta.headers_json ? headers.Append(*meta.headers_json)
                                            : headers.AppendNull());
    }
    return arrow::Status::OK();
  }
};

arrow::Status CheckEnums(const MessageSchema& schema, const MessageFields& fields) {
  for (const auto& [name, allowed] : schema.enums) {
    auto value = fields.String(name);
    if (value && !allowed.count(std::string(*value))) {
      return arrow::Status::Invalid("field '", name, "': '", *value,
                                    "' is not one of the schema's enum values");
    }
  }
  return arrow::Status::OK();
}

bool ReadableFromJson(const arrow::DataType& type) {
  switch (type.id()) {
    case arrow::Type::BOOL:
    case arrow::Type::INT8:
    case arrow::Type::INT16:
    case arrow::Type::INT32:
    case arrow::Type::INT64:
    case arrow::Type::FLOAT:
    case arrow::Type::DOUBLE:
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::TIMESTAMP:
    case arrow::Type::DATE32:
    case arrow::Type::DECIMAL128:
      return true;
    default:
      return false;
  }
}

JsonRows::JsonRows(JsonRowOptions options)
    : impl_(std::make_unique<Impl>(std::move(options))) {}
JsonRows::~JsonRows() = default;
JsonRows::JsonRows(JsonRows&&) noexcept = default;

arrow::Status JsonRows::Append(std::string_view value, const MessageMeta& meta) {
  ARROW_RETURN_NOT_OK(impl_->Parse(value));
  if (impl_->rows == 0 && impl_->last_rows > 0)
    ARROW_RETURN_NOT_OK(impl_->ReserveBatch());
  if (impl_->options.check) ARROW_RETURN_NOT_OK(impl_->options.check(*impl_));
  std::vector<size_t> widen;
  ARROW_RETURN_NOT_OK(impl_->Check(&widen));
  return impl_->Apply(meta, widen);
}

arrow::Status JsonRows::Declare(const std::string& name,
                                const std::shared_ptr<arrow::DataType>& type) {
  if (!ReadableFromJson(*type)) return arrow::Status::OK();
  return impl_->Declare(name, type);
}

int64_t JsonRows::rows() const { return impl_->rows; }

arrow::Status FinishedColumns::Add(const std::string& name,
                                   arrow::ArrayBuilder* builder) {
  std::shared_ptr<arrow::Array> a;
  ARROW_RETURN_NOT_OK(builder->Finish(&a));
  Add(name, std::move(a));
  return arrow::Status::OK();
}

void FinishedColumns::Add(const std::string& name, std::shared_ptr<arrow::Array> array) {
  fields_.push_back(arrow::field(name, array->type()));
  arrays_.push_back(std::move(array));
}

arrow::Status FinishedColumns::AddIngestedAt(int64_t at_us, int64_t rows) {
  arrow::TimestampBuilder ingested(UtcMicros(), arrow::default_memory_pool());
  ARROW_RETURN_NOT_OK(ingested.AppendValues(std::vector<int64_t>(rows, at_us)));
  return Add(kIngestedAtColumn, &ingested);
}

std::shared_ptr<arrow::Table> FinishedColumns::Table(int64_t rows) const {
  return arrow::Table::Make(arrow::schema(fields_), arrays_, rows);
}

arrow::Result<std::shared_ptr<arrow::Table>> JsonRows::Finish(int64_t ingested_at_us) {
  Impl& m = *impl_;
  FinishedColumns out;
  for (auto& c : m.columns) {
    if (!c.builder) {
      // Only nulls so far: a string column; its kind is still open for later messages.
      ARROW_ASSIGN_OR_RAISE(auto nulls,
                            arrow::MakeArrayOfNull(arrow::utf8(), c.pending_nulls));
      c.pending_nulls = 0;
      out.Add(c.name, std::move(nulls));
    } else {
      ARROW_RETURN_NOT_OK(out.Add(c.name, c.builder.get()));
    }
  }
  if (m.options.metadata) {
    ARROW_RETURN_NOT_OK(out.Add(kTopicColumn, &m.topic));
    ARROW_RETURN_NOT_OK(out.Add(kPartitionColumn, &m.partition));
    ARROW_RETURN_NOT_OK(out.Add(kOffsetColumn, &m.offset));
    ARROW_RETURN_NOT_OK(out.Add(kTimestampColumn, &m.timestamp));
    if (m.options.include_key) ARROW_RETURN_NOT_OK(out.Add(kKeyColumn, &m.key));
    if (m.options.include_headers)
      ARROW_RETURN_NOT_OK(out.Add(kHeadersColumn, &m.headers));
    ARROW_RETURN_NOT_OK(out.AddIngestedAt(ingested_at_us, m.rows));
  }
  for (auto& c : m.columns) {
    if (c.absent.empty()) continue;
    std::vector<bool> given(m.rows, true);
    for (int64_t r : c.absent) given[r] = false;
    arrow::BooleanBuilder flags;
    ARROW_RETURN_NOT_OK(flags.AppendValues(given));
    ARROW_RETURN_NOT_OK(out.Add(m.options.given_prefix + c.name, &flags));
    c.absent.clear();
  }
  auto table = out.Table(m.rows);
  // The string columns' sizes, for the next batch's reservation (columns in the order
  // added).
  int i = 0;
  auto bytes = [&]() { return ValueBytes(*table->column(i++)->chunk(0)); };
  for (auto& c : m.columns) c.last_bytes = bytes();
  if (m.options.metadata) {
    m.last_topic_bytes = bytes();
    i += 3;  // partition, offset, timestamp
    if (m.options.include_key) m.last_key_bytes = bytes();
    if (m.options.include_headers) m.last_headers_bytes = bytes();
  }
  m.last_rows = m.rows;
  m.rows = 0;
  return table;
}

}  // namespace inlet
