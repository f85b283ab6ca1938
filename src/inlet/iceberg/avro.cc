#include "inlet/iceberg/avro.h"

#include <arrow/status.h>
#include <arrow/util/compression.h>

#include <cstring>
#include <random>

#include "inlet/common/json.h"

namespace inlet::iceberg::avro {

namespace {

constexpr char kMagic[] = {'O', 'b', 'j', '\x01'};
constexpr size_t kSyncSize = 16;
// A block is written once it holds this many bytes (Java's default sync interval is
// 64 KiB).
constexpr size_t kBlockBytes = 64 * 1024;

// ---------------------------------------------------------------------------------------
// Schemas

struct Parser {
  std::map<std::string, NodePtr> named;

  arrow::Result<NodePtr> Parse(const Json& j, const std::string& ns) {
    if (j.is_string()) return Primitive(j.get<std::string>(), ns);
    if (j.is_array()) {
      auto node = std::make_shared<Node>();
      node->kind = Kind::kUnion;
      for (const auto& b : j) {
        ARROW_ASSIGN_OR_RAISE(auto branch, Parse(b, ns));
        node->branches.push_back(branch);
      }
      return node;
    }
    if (!j.is_object() || !j.contains("type"))
      return arrow::Status::Invalid("Avro schema: expected a type, got ", j.dump());
    const Json& type = j["type"];
    if (!type.is_string()) return Parse(type, ns);  // {"type": {...}} or a union
    std::string t = type.get<std::string>();
    auto node = std::make_shared<Node>();
    if (j.contains("logicalType") && j["logicalType"].is_string())
      node->logical_type = j["logicalType"].get<std::string>();
    auto full_name = [&]() {
      std::string name = j.value("name", "");
      std::string space = j.contains("namespace") && j["namespace"].is_string()
                              ? j["namespace"].get<std::string>()
                              : ns;
      if (name.find('.') != std::string::npos || space.empty()) return name;
      return space + "." + name;
    };
    if (t == "record" || t == "error") {
      node->kind = Kind::kRecord;
      node->name = full_name();
      std::string inner_ns = node->name.substr(
          0, node->name.rfind('.') == std::string::npos ? 0 : node->name.rfind('.'));
      named[node->name] = node;  // a record may refer to itself (not used by Iceberg)
      if (!j.contains("fields") || !j["fields"].is_array())
        return arrow::Status::Invalid("Avro schema: record ", node->name,
                                      " has no fields");
      for (const auto& f : j["fields"]) {
        Field field;
        if (!f.is_object() || !f.contains("name") || !f["name"].is_string() ||
            !f.contains("type"))
          return arrow::Status::Invalid("Avro schema: a field of record ", node->name,
                                        " has no name or type");
        field.name = f["name"].get<std::string>();
        ARROW_ASSIGN_OR_RAISE(field.node, Parse(f["type"], inner_ns));
        if (f.contains("field-id") && f["field-id"].is_number_integer())
          field.field_id = f["field-id"].get<int32_t>();
        node->fields.push_back(std::move(field));
      }
      return node;
    }
    if (t == "enum") {
      node->kind = Kind::kEnum;
      node->name = full_name();
      for (const auto& s : j.value("symbols", Json::array()))
        node->symbols.push_back(s.get<std::string>());
      named[node->name] = node;
      return node;
    }
    if (t == "fixed") {
      node->kind = Kind::kFixed;
      node->name = full_name();
      node->size = j.value("size", int64_t{0});
      named[node->name] = node;
      return node;
    }
    if (t == "array" || t == "map") {
      node->kind = t == "array" ? Kind::kArray : Kind::kMap;
      const char* key = t == "array" ? "items" : "values";
      if (!j.contains(key))
        return arrow::Status::Invalid("Avro schema: ", t, " without ", key);
      ARROW_ASSIGN_OR_RAISE(node->items, Parse(j[key], ns));
      if (j.contains("element-id") && j["element-id"].is_number_integer())
        node->element_id = j["element-id"].get<int32_t>();
      return node;
    }
    ARROW_ASSIGN_OR_RAISE(auto prim, Primitive(t, ns));
    auto copy = std::make_shared<Node>(*prim);
    copy->logical_type = node->logical_type;
    return copy;
  }

  arrow::Result<NodePtr> Primitive(const std::string& t, const std::string& ns) {
    static const std::map<std::string, Kind> kinds = {
        {"null", Kind::kNull},   {"boolean", Kind::kBoolean}, {"int", Kind::kInt},
        {"long", Kind::kLong},   {"float", Kind::kFloat},     {"double", Kind::kDouble},
        {"bytes", Kind::kBytes}, {"string", Kind::kString}};
    if (auto it = kinds.find(t); it != kinds.end()) {
      auto node = std::make_shared<Node>();
      node->kind = it->second;
      return node;
    }
    if (auto it = named.find(t); it != named.end()) return it->second;
    if (auto it = named.find(ns + "." + t); it != named.end()) return it->second;
    return arrow::Status::Invalid("Avro schema: unknown type '", t, "'");
  }
};

// ---------------------------------------------------------------------------------------
// Decoding

class Decoder {
 public:
  Decoder(std::string_view bytes, const std::string& what, size_t base)
      : bytes_(bytes), what_(what), base_(base) {}

  size_t pos() const { return pos_; }
  bool done() const { return pos_ >= bytes_.size(); }

  arrow::Status Corrupt(const std::string& why) const {
    return arrow::Status::Invalid("corrupt Avro file ", what_, " at byte ", base_ + pos_,
                                  ": ", why);
  }

  arrow::Result<int64_t> Long() {
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (pos_ >= bytes_.size()) return Corrupt("truncated number");
      uint8_t b = static_cast<uint8_t>(bytes_[pos_++]);
      v |= static_cast<uint64_t>(b & 0x7f) << shift;
      if (!(b & 0x80)) return static_cast<int64_t>((v >> 1) ^ (~(v & 1) + 1));
    }
    return Corrupt("number too long");
  }

  arrow::Result<std::string_view> Raw(int64_t n) {
    if (n < 0 || static_cast<uint64_t>(n) > bytes_.size() - pos_)
      return Corrupt("length " + std::to_string(n) + " past the end");
    std::string_view out = bytes_.substr(pos_, static_cast<size_t>(n));
    pos_ += static_cast<size_t>(n);
    return out;
  }

  arrow::Result<std::string_view> Bytes() {
    ARROW_ASSIGN_OR_RAISE(int64_t n, Long());
    return Raw(n);
  }

  arrow::Result<Value> Read(const Node& node) {
    switch (node.kind) {
      case Kind::kNull:
        return Value();
      case Kind::kBoolean: {
        ARROW_ASSIGN_OR_RAISE(auto b, Raw(1));
        return Value(b[0] != 0);
      }
      case Kind::kInt:
      case Kind::kLong: {
        ARROW_ASSIGN_OR_RAISE(int64_t v, Long());
        return Value(v);
      }
      case Kind::kEnum: {
        ARROW_ASSIGN_OR_RAISE(int64_t v, Long());
        if (v < 0 || v >= static_cast<int64_t>(node.symbols.size()))
          return Corrupt("enum index out of range");
        return Value(v);
      }
      case Kind::kFloat: {
        ARROW_ASSIGN_OR_RAISE(auto b, Raw(4));
        float f;
        std::memcpy(&f, b.data(), 4);
        return Value(static_cast<double>(f));
      }
      case Kind::kDouble: {
        ARROW_ASSIGN_OR_RAISE(auto b, Raw(8));
        double d;
        std::memcpy(&d, b.data(), 8);
        return Value(d);
      }
      case Kind::kBytes:
      case Kind::kString: {
        ARROW_ASSIGN_OR_RAISE(auto b, Bytes());
        return Value(std::string(b));
      }
      case Kind::kFixed: {
        ARROW_ASSIGN_OR_RAISE(auto b, Raw(node.size));
        return Value(std::string(b));
      }
      case Kind::kRecord: {
        Value::Items fields;
        fields.reserve(node.fields.size());
        for (const auto& f : node.fields) {
          ARROW_ASSIGN_OR_RAISE(auto v, Read(*f.node));
          fields.push_back(std::move(v));
        }
        return Value(std::move(fields));
      }
      case Kind::kArray: {
        Value::Items items;
        ARROW_RETURN_NOT_OK(Blocks([&]() -> arrow::Status {
          ARROW_ASSIGN_OR_RAISE(auto v, Read(*node.items));
          items.push_back(std::move(v));
          return arrow::Status::OK();
        }));
        return Value(std::move(items));
      }
      case Kind::kMap: {
        Value::Entries entries;
        ARROW_RETURN_NOT_OK(Blocks([&]() -> arrow::Status {
          ARROW_ASSIGN_OR_RAISE(auto k, Bytes());
          ARROW_ASSIGN_OR_RAISE(auto v, Read(*node.items));
          entries.emplace_back(std::string(k), std::move(v));
          return arrow::Status::OK();
        }));
        Value out;
        out.data = std::move(entries);
        return out;
      }
      case Kind::kUnion: {
        ARROW_ASSIGN_OR_RAISE(int64_t b, Long());
        if (b < 0 || b >= static_cast<int64_t>(node.branches.size()))
          return Corrupt("union branch " + std::to_string(b) + " out of range");
        return Read(*node.branches[static_cast<size_t>(b)]);
      }
    }
    return Corrupt("unknown type");
  }

 private:
  // Arrays and maps: blocks of items, each a count (negative: followed by a byte size),
  // ending with a count of 0.
  template <typename F>
  arrow::Status Blocks(F&& item) {
    for (;;) {
      ARROW_ASSIGN_OR_RAISE(int64_t n, Long());
      if (n == 0) return arrow::Status::OK();
      if (n < 0) {
        if (n == INT64_MIN) return Corrupt("block count out of range");
        n = -n;
        ARROW_RETURN_NOT_OK(Long().status());
      }
      if (static_cast<uint64_t>(n) > bytes_.size() - pos_)
        return Corrupt("block of " + std::to_string(n) + " items past the end");
      for (int64_t i = 0; i < n; ++i) ARROW_RETURN_NOT_OK(item());
    }
  }

  std::string_view bytes_;
  const std::string& what_;
  size_t base_;
  size_t pos_ = 0;
};

arrow::Result<std::string> Inflate(std::string_view in, const std::string& what) {
  arrow::util::GZipCodecOptions options;
  options.gzip_format = arrow::util::GZipFormat::DEFLATE;
  ARROW_ASSIGN_OR_RAISE(auto codec,
                        arrow::util::Codec::Create(arrow::Compression::GZIP, options));
  ARROW_ASSIGN_OR_RAISE(auto inflater, codec->MakeDecompressor());
  std::string out;
  size_t produced = 0;
  const auto* input = reinterpret_cast<const uint8_t*>(in.data());
  int64_t left = static_cast<int64_t>(in.size());
  out.resize(std::max<size_t>(in.size() * 4, 1024));
  // Manifests' blocks inflate to kilobytes or a few megabytes: a block that claims more
  // than this is damaged (or a deflate bomb), and is refused before it takes the memory.
  constexpr size_t kMaxInflated = 256u << 20;
  auto grow = [&]() -> arrow::Status {
    if (out.size() >= kMaxInflated)
      return arrow::Status::Invalid("corrupt Avro file ", what,
                                    ": a deflate block inflates past 256 MiB");
    out.resize(std::min(out.size() * 2, kMaxInflated));
    return arrow::Status::OK();
  };
  while (!inflater->IsFinished()) {
    if (produced == out.size()) ARROW_RETURN_NOT_OK(grow());
    auto r =
        inflater->Decompress(left, input, static_cast<int64_t>(out.size() - produced),
                             reinterpret_cast<uint8_t*>(out.data()) + produced);
    if (!r.ok())
      return arrow::Status::Invalid(
          "corrupt Avro file ", what,
          ": a deflate block does not inflate: ", r.status().message());
    input += r->bytes_read;
    left -= r->bytes_read;
    produced += static_cast<size_t>(r->bytes_written);
    if (r->bytes_read > 0 || r->bytes_written > 0) continue;
    // No progress: the block is cut short (its input is used up), or the output is full
    // (Arrow says need_more_output for either). Each turn moves on, grows the output
    // toward its cap or fails, so damaged input cannot spin here.
    if (left == 0 || !r->need_more_output)
      return arrow::Status::Invalid("corrupt Avro file ", what,
                                    ": a deflate block ends early");
    ARROW_RETURN_NOT_OK(grow());
  }
  out.resize(produced);
  return out;
}

arrow::Result<std::string> Unsnappy(std::string_view in, const std::string& what) {
  // The compressed block, then the CRC-32 of the uncompressed data (4 bytes).
  if (in.size() < 4)
    return arrow::Status::Invalid("corrupt Avro file ", what,
                                  ": a snappy block is too short");
  std::string_view data = in.substr(0, in.size() - 4);
  // Snappy's preamble: the uncompressed length as a varint.
  uint64_t length = 0;
  for (size_t i = 0, shift = 0; i < data.size() && shift < 35; ++i, shift += 7) {
    length |= static_cast<uint64_t>(static_cast<uint8_t>(data[i]) & 0x7f) << shift;
    if (!(static_cast<uint8_t>(data[i]) & 0x80)) break;
  }
  ARROW_ASSIGN_OR_RAISE(auto codec,
                        arrow::util::Codec::Create(arrow::Compression::SNAPPY));
  std::string out(length, '\0');
  auto n = codec->Decompress(
      static_cast<int64_t>(data.size()), reinterpret_cast<const uint8_t*>(data.data()),
      static_cast<int64_t>(length), reinterpret_cast<uint8_t*>(out.data()));
  if (!n.ok())
    return arrow::Status::Invalid(
        "corrupt Avro file ", what,
        ": a snappy block does not decompress: ", n.status().message());
  out.resize(static_cast<size_t>(*n));
  return out;
}

// ---------------------------------------------------------------------------------------
// Encoding

void PutLong(std::string* out, int64_t v) {
  uint64_t z = (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
  while (z >= 0x80) {
    out->push_back(static_cast<char>((z & 0x7f) | 0x80));
    z >>= 7;
  }
  out->push_back(static_cast<char>(z));
}

void PutBytes(std::string* out, std::string_view b) {
  PutLong(out, static_cast<int64_t>(b.size()));
  out->append(b);
}

const char* KindName(Kind k) {
  static const char* names[] = {"null",   "boolean", "int",    "long",  "float",
                                "double", "bytes",   "string", "fixed", "enum",
                                "record", "array",   "map",    "union"};
  return names[static_cast<int>(k)];
}

// Whether a value can be written as a node (for choosing a union's branch).
bool Fits(const Value& v, const Node& node) {
  switch (node.kind) {
    case Kind::kNull:
      return v.is_null();
    case Kind::kBoolean:
      return std::holds_alternative<bool>(v.data);
    case Kind::kInt:
    case Kind::kLong:
    case Kind::kEnum:
      return std::holds_alternative<int64_t>(v.data);
    case Kind::kFloat:
    case Kind::kDouble:
      return std::holds_alternative<double>(v.data) ||
             std::holds_alternative<int64_t>(v.data);
    case Kind::kBytes:
    case Kind::kString:
    case Kind::kFixed:
      return std::holds_alternative<std::string>(v.data);
    case Kind::kRecord:
    case Kind::kArray:
      return std::holds_alternative<Value::Items>(v.data);
    case Kind::kMap:
      return std::holds_alternative<Value::Entries>(v.data);
    case Kind::kUnion:
      return false;
  }
  return false;
}

arrow::Status Encode(const Value& v, const Node& node, const std::string& where,
                     std::string* out) {
  auto mismatch = [&]() {
    return arrow::Status::Invalid("Avro value for ", where.empty() ? "the record" : where,
                                  " does not fit type ", KindName(node.kind));
  };
  if (node.kind != Kind::kUnion && !Fits(v, node)) return mismatch();
  switch (node.kind) {
    case Kind::kNull:
      return arrow::Status::OK();
    case Kind::kBoolean:
      out->push_back(std::get<bool>(v.data) ? 1 : 0);
      return arrow::Status::OK();
    case Kind::kInt:
    case Kind::kLong:
    case Kind::kEnum:
      PutLong(out, std::get<int64_t>(v.data));
      return arrow::Status::OK();
    case Kind::kFloat: {
      float f = static_cast<float>(v.AsDouble());
      out->append(reinterpret_cast<const char*>(&f), 4);
      return arrow::Status::OK();
    }
    case Kind::kDouble: {
      double d = v.AsDouble();
      out->append(reinterpret_cast<const char*>(&d), 8);
      return arrow::Status::OK();
    }
    case Kind::kBytes:
    case Kind::kString:
      PutBytes(out, std::get<std::string>(v.data));
      return arrow::Status::OK();
    case Kind::kFixed: {
      const auto& s = std::get<std::string>(v.data);
      if (static_cast<int64_t>(s.size()) != node.size) return mismatch();
      out->append(s);
      return arrow::Status::OK();
    }
    case Kind::kRecord: {
      const auto& items = std::get<Value::Items>(v.data);
      if (items.size() != node.fields.size()) return mismatch();
      for (size_t i = 0; i < items.size(); ++i) {
        std::string sub =
            where.empty() ? node.fields[i].name : where + "." + node.fields[i].name;
        ARROW_RETURN_NOT_OK(Encode(items[i], *node.fields[i].node, sub, out));
      }
      return arrow::Status::OK();
    }
    case Kind::kArray: {
      const auto& items = std::get<Value::Items>(v.data);
      if (!items.empty()) {
        PutLong(out, static_cast<int64_t>(items.size()));
        for (const auto& item : items)
          ARROW_RETURN_NOT_OK(Encode(item, *node.items, where + "[]", out));
      }
      PutLong(out, 0);
      return arrow::Status::OK();
    }
    case Kind::kMap: {
      const auto& entries = std::get<Value::Entries>(v.data);
      if (!entries.empty()) {
        PutLong(out, static_cast<int64_t>(entries.size()));
        for (const auto& [k, item] : entries) {
          PutBytes(out, k);
          ARROW_RETURN_NOT_OK(Encode(item, *node.items, where + "[" + k + "]", out));
        }
      }
      PutLong(out, 0);
      return arrow::Status::OK();
    }
    case Kind::kUnion:
      for (size_t b = 0; b < node.branches.size(); ++b) {
        if (!Fits(v, *node.branches[b])) continue;
        PutLong(out, static_cast<int64_t>(b));
        return Encode(v, *node.branches[b], where, out);
      }
      return arrow::Status::Invalid("Avro value for ", where,
                                    " fits no branch of its union");
  }
  return mismatch();
}

}  // namespace

int Node::FieldIndex(std::string_view field_name) const {
  for (size_t i = 0; i < fields.size(); ++i)
    if (fields[i].name == field_name) return static_cast<int>(i);
  return -1;
}

arrow::Result<NodePtr> ParseSchema(const std::string& json) {
  ARROW_ASSIGN_OR_RAISE(auto j, ParseJson(json, "Avro schema"));
  Parser parser;
  try {
    return parser.Parse(j, "");
  } catch (const Json::exception& e) {
    return arrow::Status::Invalid("Avro schema: ", e.what());
  }
}

int64_t Value::AsInt(int64_t fallback) const {
  if (auto* i = std::get_if<int64_t>(&data)) return *i;
  return fallback;
}

double Value::AsDouble(double fallback) const {
  if (auto* d = std::get_if<double>(&data)) return *d;
  if (auto* i = std::get_if<int64_t>(&data)) return static_cast<double>(*i);
  return fallback;
}

bool Value::AsBool(bool fallback) const {
  if (auto* b = std::get_if<bool>(&data)) return *b;
  return fallback;
}

const std::string& Value::AsString() const {
  static const std::string kEmpty;
  if (auto* s = std::get_if<std::string>(&data)) return *s;
  return kEmpty;
}

const Value::Items& Value::AsItems() const {
  static const Items kNone;
  if (auto* items = std::get_if<Items>(&data)) return *items;
  return kNone;
}

arrow::Result<ContainerFile> ReadContainer(std::string_view bytes,
                                           const std::string& what) {
  Decoder header(bytes, what, 0);
  if (bytes.size() < 4 || std::memcmp(bytes.data(), kMagic, 4) != 0)
    return arrow::Status::Invalid("not an Avro file: ", what, " (no Obj\\x01 magic)");
  ARROW_RETURN_NOT_OK(header.Raw(4).status());
  ContainerFile file;
  auto meta_node = std::make_shared<Node>();
  meta_node->kind = Kind::kBytes;
  Node map;
  map.kind = Kind::kMap;
  map.items = meta_node;
  ARROW_ASSIGN_OR_RAISE(auto meta, header.Read(map));
  for (auto& [k, v] : std::get<Value::Entries>(meta.data))
    file.metadata[k] = v.AsString();
  ARROW_ASSIGN_OR_RAISE(auto sync, header.Raw(kSyncSize));
  file.schema_json = file.metadata["avro.schema"];
  auto schema = ParseSchema(file.schema_json);
  if (!schema.ok())
    return schema.status().WithMessage("Avro file ", what, ": ",
                                       schema.status().message());
  file.schema = *schema;
  std::string codec =
      file.metadata.count("avro.codec") ? file.metadata["avro.codec"] : "null";
  if (codec != "null" && codec != "deflate" && codec != "snappy")
    return arrow::Status::NotImplemented(
        "Avro file ", what, ": codec '", codec,
        "' is not supported (null, deflate, snappy are)");
  size_t offset = header.pos();
  while (offset < bytes.size()) {
    Decoder block(bytes.substr(offset), what, offset);
    ARROW_ASSIGN_OR_RAISE(int64_t count, block.Long());
    ARROW_ASSIGN_OR_RAISE(auto payload, block.Bytes());
    ARROW_ASSIGN_OR_RAISE(auto marker, block.Raw(kSyncSize));
    if (marker != sync) return block.Corrupt("sync marker does not match the header's");
    std::string inflated;
    if (codec == "deflate") {
      ARROW_ASSIGN_OR_RAISE(inflated, Inflate(payload, what));
      payload = inflated;
    } else if (codec == "snappy") {
      ARROW_ASSIGN_OR_RAISE(inflated, Unsnappy(payload, what));
      payload = inflated;
    }
    Decoder records(payload, what, offset);
    for (int64_t i = 0; i < count; ++i) {
      ARROW_ASSIGN_OR_RAISE(auto v, records.Read(*file.schema));
      file.records.push_back(std::move(v));
    }
    if (!records.done()) return block.Corrupt("a block has bytes after its records");
    offset += block.pos();
  }
  return file;
}

arrow::Result<std::unique_ptr<ContainerWriter>> ContainerWriter::Make(
    const std::string& schema_json, std::map<std::string, std::string> metadata,
    Codec codec) {
  std::unique_ptr<ContainerWriter> w(new ContainerWriter());
  ARROW_ASSIGN_OR_RAISE(w->schema_, ParseSchema(schema_json));
  w->codec_ = codec;
  metadata["avro.schema"] = schema_json;
  metadata["avro.codec"] = codec == Codec::kDeflate ? "deflate" : "null";
  thread_local std::mt19937_64 rng{std::random_device{}()};
  for (size_t i = 0; i < kSyncSize; ++i) w->sync_.push_back(static_cast<char>(rng()));
  w->out_.append(kMagic, 4);
  PutLong(&w->out_, static_cast<int64_t>(metadata.size()));
  for (const auto& [k, v] : metadata) {
    PutBytes(&w->out_, k);
    PutBytes(&w->out_, v);
  }
  PutLong(&w->out_, 0);
  w->out_.append(w->sync_);
  return w;
}

arrow::Status ContainerWriter::Append(const Value& record) {
  ARROW_RETURN_NOT_OK(Encode(record, *schema_, "", &block_));
  ++block_count_;
  if (block_.size() >= kBlockBytes) return FlushBlock();
  return arrow::Status::OK();
}

arrow::Status ContainerWriter::FlushBlock() {
  if (block_count_ == 0) return arrow::Status::OK();
  std::string payload;
  if (codec_ == Codec::kDeflate) {
    arrow::util::GZipCodecOptions options;
    options.gzip_format = arrow::util::GZipFormat::DEFLATE;
    ARROW_ASSIGN_OR_RAISE(auto codec,
                          arrow::util::Codec::Create(arrow::Compression::GZIP, options));
    const auto* in = reinterpret_cast<const uint8_t*>(block_.data());
    int64_t len = static_cast<int64_t>(block_.size());
    payload.resize(static_cast<size_t>(codec->MaxCompressedLen(len, in)));
    ARROW_ASSIGN_OR_RAISE(int64_t n,
                          codec->Compress(len, in, static_cast<int64_t>(payload.size()),
                                          reinterpret_cast<uint8_t*>(payload.data())));
    payload.resize(static_cast<size_t>(n));
  } else {
    payload = std::move(block_);
  }
  PutLong(&out_, block_count_);
  PutBytes(&out_, payload);
  out_.append(sync_);
  block_.clear();
  block_count_ = 0;
  return arrow::Status::OK();
}

arrow::Result<std::string> ContainerWriter::Finish() {
  ARROW_RETURN_NOT_OK(FlushBlock());
  return std::move(out_);
}

}  // namespace inlet::iceberg::avro
