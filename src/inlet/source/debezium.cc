#include "inlet/source/debezium.h"

#include <arrow/type.h>
#include <arrow/util/decimal.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "inlet/common/time.h"

namespace inlet {

namespace {

using OJson = nlohmann::ordered_json;

// Source fields that place an event in its database's change stream.
const char* const kPositionFields[] = {
    "ts_ms", "lsn",  "txId",       "file",       "pos",
    "row",   "gtid", "commit_lsn", "change_lsn", "event_serial_no",
    "scn",   "ord"};

enum class Conversion { kNone, kMillis, kMicros, kNanos, kDecimal };

struct FieldType {
  std::shared_ptr<arrow::DataType> type;
  Conversion conversion = Conversion::kNone;
  int32_t scale = 0;
};

std::shared_ptr<arrow::DataType> UtcMicros() {
  return arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
}

// The Arrow type of a Connect schema field; nullopt leaves the type to inference.
std::optional<FieldType> TypeOf(const OJson& field) {
  std::string type = field.value("type", "");
  std::string name = field.contains("name") && field["name"].is_string()
                         ? field["name"].get<std::string>()
                         : "";
  if (name == "io.debezium.time.Date" || name == "org.apache.kafka.connect.data.Date")
    return FieldType{arrow::date32()};
  if (name == "io.debezium.time.Timestamp" ||
      name == "org.apache.kafka.connect.data.Timestamp") {
    return FieldType{UtcMicros(), Conversion::kMillis};
  }
  if (name == "io.debezium.time.MicroTimestamp")
    return FieldType{UtcMicros(), Conversion::kMicros};
  if (name == "io.debezium.time.NanoTimestamp")
    return FieldType{UtcMicros(), Conversion::kNanos};
  if (name == "io.debezium.time.ZonedTimestamp") return FieldType{UtcMicros()};
  if (name == "org.apache.kafka.connect.data.Decimal") {
    const auto& params =
        field.contains("parameters") ? field["parameters"] : OJson::object();
    auto number = [&](const char* key, int32_t fallback) {
      if (!params.contains(key)) return fallback;
      const auto& v = params[key];
      if (v.is_number_integer()) return v.get<int32_t>();
      if (v.is_string())
        return static_cast<int32_t>(std::atoi(v.get<std::string>().c_str()));
      return fallback;
    };
    int32_t scale = number("scale", 0);
    int32_t precision = std::max(number("connect.decimal.precision", 38), scale);
    if (precision > 38) return std::nullopt;
    return FieldType{arrow::decimal128(precision, scale), Conversion::kDecimal, scale};
  }
  if (!name.empty() && name.rfind("io.debezium.", 0) == 0)
    return std::nullopt;  // other logical types
  static const std::map<std::string, std::shared_ptr<arrow::DataType>> primitives = {
      {"int8", arrow::int8()},       {"int16", arrow::int16()},
      {"int32", arrow::int32()},     {"int64", arrow::int64()},
      {"float32", arrow::float32()}, {"float64", arrow::float64()},
      {"float", arrow::float32()},   {"double", arrow::float64()},
      {"boolean", arrow::boolean()}, {"string", arrow::utf8()}};
  auto it = primitives.find(type);
  if (it == primitives.end()) return std::nullopt;
  return FieldType{it->second};
}

arrow::Result<std::string> Base64Decode(const std::string& text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+' || c == '-') return 62;
    if (c == '/' || c == '_') return 63;
    return -1;
  };
  // Java's encoder, which Kafka Connect's JSON converter uses, always pads.
  if (text.size() % 4 != 0) return arrow::Status::Invalid("bad base64 '", text, "'");
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    int v = value(c);
    if (v < 0) return arrow::Status::Invalid("bad base64 '", text, "'");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

// A value in the form Arrow's JSON reader takes for the field's type.
arrow::Result<OJson> Convert(const OJson& v, const FieldType& t) {
  if (v.is_null()) return v;
  switch (t.conversion) {
    case Conversion::kNone:
      return v;
    case Conversion::kMillis:
    case Conversion::kMicros:
    case Conversion::kNanos: {
      if (!v.is_number_integer()) return v;
      int64_t n = v.get<int64_t>();
      int64_t micros = t.conversion == Conversion::kMillis  ? n * 1000
                       : t.conversion == Conversion::kNanos ? n / 1000
                                                            : n;
      return OJson(FormatTimestampIso(micros));
    }
    case Conversion::kDecimal: {
      if (!v.is_string()) return v;
      ARROW_ASSIGN_OR_RAISE(auto bytes, Base64Decode(v.get<std::string>()));
      if (bytes.empty() || bytes.size() > 16)
        return arrow::Status::Invalid("bad decimal '", v.get<std::string>(), "'");
      ARROW_ASSIGN_OR_RAISE(auto d, arrow::Decimal128::FromBigEndian(
                                        reinterpret_cast<const uint8_t*>(bytes.data()),
                                        static_cast<int32_t>(bytes.size())));
      return OJson(d.ToString(t.scale));
    }
  }
  return v;
}

// The fields of the struct schema named `name` inside an envelope's schema (or the schema
// itself when name is empty).
const OJson* StructFields(const OJson& schema, const std::string& name) {
  if (name.empty())
    return schema.contains("fields") && schema["fields"].is_array() ? &schema["fields"]
                                                                    : nullptr;
  if (!schema.contains("fields") || !schema["fields"].is_array()) return nullptr;
  for (const auto& f : schema["fields"]) {
    if (f.value("field", "") == name && f.contains("fields") && f["fields"].is_array())
      return &f["fields"];
  }
  return nullptr;
}

// A change event's envelope; a truncate's has neither image.
bool IsEnvelope(const OJson& payload) {
  if (!payload.is_object() || !payload.contains("op")) return false;
  if (payload.contains("after") || payload.contains("before")) return true;
  return payload["op"] == "t" && payload.contains("source");
}

class Decoder {
 public:
  Decoder(std::string what, const DebeziumOptions& options) : what_(std::move(what)) {
    if (options.decimals != DecimalHandling::kPrecise) return;
    for (const auto& [name, type] : options.declared) {
      if (type->id() == arrow::Type::DECIMAL128) {
        int32_t scale = static_cast<const arrow::Decimal128Type&>(*type).scale();
        declared_decimals_.emplace(name, FieldType{type, Conversion::kDecimal, scale});
      }
    }
  }

  arrow::Status Add(std::string_view text, int64_t number) {
    ARROW_ASSIGN_OR_RAISE(auto row, Flatten(text, number));
    if (row) Append(*row);
    return arrow::Status::OK();
  }

  arrow::Status AddDocument(const OJson& doc, int64_t number) {
    ARROW_ASSIGN_OR_RAISE(auto row, FlattenDocument(doc, number));
    if (row) Append(*row);
    return arrow::Status::OK();
  }

  arrow::Result<std::optional<std::string>> Flatten(std::string_view text,
                                                    int64_t number) {
    if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return std::nullopt;
    OJson doc = OJson::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return Error(number, "malformed JSON");
    return FlattenDocument(doc, number);
  }

  arrow::Result<std::optional<std::string>> FlattenDocument(const OJson& doc,
                                                            int64_t number) {
    if (doc.is_null()) return std::nullopt;  // a Kafka tombstone
    if (!doc.is_object()) return Error(number, "not a JSON object");
    const OJson* payload = &doc;
    const OJson* schema = nullptr;
    if (doc.contains("payload") && doc.contains("schema")) {
      payload = &doc["payload"];
      schema = &doc["schema"];
      if (payload->is_null()) return std::nullopt;
    }
    OJson row = OJson::object();
    if (IsEnvelope(*payload)) {
      const auto& op = (*payload)["op"];
      if (!op.is_string()) return Error(number, "'op' is not a string");
      std::string image = op.get<std::string>() == "d" ? "before" : "after";
      const OJson& values = payload->contains(image) ? (*payload)[image] : OJson();
      if (!values.is_null() && !values.is_object())
        return Error(number, "'" + image + "' is not an object");
      if (schema) ARROW_RETURN_NOT_OK(LearnTypes(StructFields(*schema, image), ""));
      if (values.is_object()) {
        for (const auto& [k, v] : values.items()) {
          ARROW_ASSIGN_OR_RAISE(row[k], Typed(k, v, number));
        }
      }
      row["__op"] = op;
      Learn("__op", FieldType{arrow::utf8()});
      if (payload->contains("ts_ms")) {
        row["__ts_ms"] = (*payload)["ts_ms"];
        Learn("__ts_ms", FieldType{arrow::int64()});
      }
      if (payload->contains("source") && (*payload)["source"].is_object()) {
        const auto& source = (*payload)["source"];
        if (schema)
          ARROW_RETURN_NOT_OK(LearnTypes(StructFields(*schema, "source"), "__source_"));
        for (const char* f : kPositionFields) {
          if (source.contains(f) && !source[f].is_object() && !source[f].is_array()) {
            std::string name = std::string("__source_") + f;
            ARROW_ASSIGN_OR_RAISE(row[name], Typed(name, source[f], number));
          }
        }
      }
    } else {
      if (!payload->is_object()) return Error(number, "the payload is not a JSON object");
      if (schema) ARROW_RETURN_NOT_OK(LearnTypes(StructFields(*schema, ""), ""));
      for (const auto& [k, v] : payload->items()) {
        ARROW_ASSIGN_OR_RAISE(row[k], Typed(k, v, number));
      }
    }
    return row.dump(-1, ' ', false, OJson::error_handler_t::replace);
  }

  const DebeziumDecoder::Types& types() const { return learned_; }

  DecodedEvents Finish() {
    if (!learned_.empty()) {
      arrow::FieldVector fields;
      for (const auto& [name, type] : learned_)
        fields.push_back(arrow::field(name, type));
      out_.types = arrow::schema(fields);
    }
    return std::move(out_);
  }

 private:
  void Append(const std::string& row) {
    out_.ndjson += row;
    out_.ndjson += '\n';
    ++out_.rows;
  }

  arrow::Status Error(int64_t number, const std::string& problem) const {
    if (what_.empty()) return arrow::Status::Invalid(problem);
    return arrow::Status::Invalid(what_, ": message ", number, ": ", problem);
  }

  void Learn(const std::string& name, FieldType t) {
    auto type = t.type;
    if (types_.emplace(name, std::move(t)).second)
      learned_.emplace_back(name, std::move(type));
  }

  // Types of a struct's fields; of the source struct (prefix set), of its position fields
  // only.
  arrow::Status LearnTypes(const OJson* fields, const std::string& prefix) {
    if (!fields) return arrow::Status::OK();
    for (const auto& f : *fields) {
      std::string name = f.value("field", "");
      if (name.empty()) continue;
      if (!prefix.empty() &&
          std::find(std::begin(kPositionFields), std::end(kPositionFields), name) ==
              std::end(kPositionFields)) {
        continue;
      }
      if (auto t = TypeOf(f)) Learn(prefix + name, *t);
    }
    return arrow::Status::OK();
  }

  arrow::Result<OJson> Typed(const std::string& name, const OJson& v,
                             int64_t number) const {
    auto it = types_.find(name);
    if (it != types_.end()) {
      auto converted = Convert(v, it->second);
      if (!converted.ok())
        return Error(number, "field '" + name + "': " + converted.status().message());
      return converted;
    }
    // No schema part typed it: a declared decimal sent as text is base64 (precise mode);
    // its decimal text goes on to the declared-type conversion.
    auto declared = declared_decimals_.find(name);
    if (declared == declared_decimals_.end() || !v.is_string()) return v;
    auto converted = Convert(v, declared->second);
    if (!converted.ok()) {
      return Error(number, "field '" + name + "': " + converted.status().message() +
                               " (source.decimal_handling is precise, Debezium's "
                               "default: decimals come as base64 "
                               "bytes; set it to string or double to match the "
                               "connector's decimal.handling.mode)");
    }
    return converted;
  }

  std::string what_;
  DecodedEvents out_;
  std::map<std::string, FieldType> types_;
  DebeziumDecoder::Types learned_;  // the columns types_ has, in first-seen order
  std::map<std::string, FieldType> declared_decimals_;
};

}  // namespace

class DebeziumDecoder::Impl : public Decoder {
 public:
  using Decoder::Decoder;
};

DebeziumDecoder::DebeziumDecoder(std::string what, const DebeziumOptions& options)
    : impl_(std::make_unique<Impl>(std::move(what), options)) {}
DebeziumDecoder::~DebeziumDecoder() = default;
DebeziumDecoder::DebeziumDecoder(DebeziumDecoder&&) noexcept = default;

arrow::Result<std::optional<std::string>> DebeziumDecoder::Flatten(
    std::string_view message, int64_t number) {
  return impl_->Flatten(message, number);
}

const DebeziumDecoder::Types& DebeziumDecoder::types() const { return impl_->types(); }

arrow::Result<DecodedEvents> DecodeDebeziumEvents(
    const std::vector<std::string_view>& messages, const std::string& what,
    const DebeziumOptions& options) {
  Decoder d(what, options);
  for (size_t i = 0; i < messages.size(); ++i)
    ARROW_RETURN_NOT_OK(d.Add(messages[i], static_cast<int64_t>(i) + 1));
  return d.Finish();
}

arrow::Result<DecodedEvents> DecodeDebeziumFile(std::string_view text,
                                                const std::string& what,
                                                const DebeziumOptions& options) {
  size_t first = text.find_first_not_of(" \t\r\n");
  Decoder d(what, options);
  if (first != std::string_view::npos && text[first] == '[') {
    OJson doc = OJson::parse(text, nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) return arrow::Status::Invalid(what, ": malformed JSON");
    int64_t n = 0;
    for (const auto& m : doc) ARROW_RETURN_NOT_OK(d.AddDocument(m, ++n));
    return d.Finish();
  }
  size_t pos = 0;
  int64_t line = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    ARROW_RETURN_NOT_OK(d.Add(text.substr(pos, end - pos), ++line));
    pos = end + 1;
  }
  return d.Finish();
}

}  // namespace inlet
