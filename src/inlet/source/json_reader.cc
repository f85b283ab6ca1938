// JSON input (arrays and NDJSON) through Arrow's JSON reader, typed as CSV is (dates,
// instants, local times), in the file's column order; and where its errors are.
#include "inlet/source/json_reader.h"

#include <arrow/builder.h>
#include <arrow/io/memory.h>
#include <arrow/json/api.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <optional>
#include <regex>

#include "inlet/common/json.h"
#include "inlet/common/time.h"
#include "inlet/common/utf8.h"
#include "inlet/source/file_reader.h"  // IsCompressed

namespace inlet {

namespace {

constexpr int32_t kBlockSize = 32 << 20;

constexpr char kNotARecord[] = " where a record (a JSON object) was expected";

// The input as Arrow's JSON reader reads it, checked on the way: every top-level value
// must be an object (a record). Arrow 23 dereferences a null pointer on a top-level null
// (apache/arrow#47409, found by fuzz/json_files_fuzz.cc), and would otherwise take other
// values for records; this refuses them first, naming the line. A byte scan: the depth of
// brackets outside strings.
class RecordsOnly : public arrow::io::InputStream {
 public:
  explicit RecordsOnly(std::shared_ptr<arrow::io::InputStream> in) : in_(std::move(in)) {}
  arrow::Status Close() override { return in_->Close(); }
  bool closed() const override { return in_->closed(); }
  arrow::Result<int64_t> Tell() const override { return in_->Tell(); }
  arrow::Result<int64_t> Read(int64_t nbytes, void* out) override {
    ARROW_ASSIGN_OR_RAISE(int64_t n, in_->Read(nbytes, out));
    ARROW_RETURN_NOT_OK(Scan(static_cast<const uint8_t*>(out), n));
    return n;
  }
  arrow::Result<std::shared_ptr<arrow::Buffer>> Read(int64_t nbytes) override {
    ARROW_ASSIGN_OR_RAISE(auto buffer, in_->Read(nbytes));
    ARROW_RETURN_NOT_OK(Scan(buffer->data(), buffer->size()));
    return buffer;
  }

 private:
  arrow::Status Scan(const uint8_t* p, int64_t n) {
    for (int64_t i = 0; i < n; ++i, ++offset_) {
      uint8_t c = p[i];
      if (c == '\n') ++line_;
      if (in_string_) {
        if (escaped_) {
          escaped_ = false;
        } else if (c == '\\') {
          escaped_ = true;
        } else if (c == '"') {
          in_string_ = false;
        }
        continue;
      }
      switch (c) {
        case '"':
          in_string_ = true;
          break;
        case '{':
        case '[':
          if (depth_ == 0 && c == '[') return NotARecord("a list");
          ++depth_;
          break;
        case '}':
        case ']':
          if (depth_ == 0) return NotARecord("a stray '" + std::string(1, c) + "'");
          --depth_;
          break;
        case ' ':
        case '\t':
        case '\r':
        case '\n':
          break;
        default:
          // A UTF-8 byte order mark before the first record.
          if (offset_ < 3 && c == static_cast<uint8_t>("\xEF\xBB\xBF"[offset_])) break;
          if (depth_ == 0)
            return NotARecord(c == 'n' ? "null" : "a value that is not an object");
      }
      if (in_string_ && depth_ == 0) return NotARecord("a string");
    }
    return arrow::Status::OK();
  }
  arrow::Status NotARecord(const std::string& what) const {
    return arrow::Status::Invalid("line ", line_, ": ", what, kNotARecord);
  }

  std::shared_ptr<arrow::io::InputStream> in_;
  int64_t offset_ = 0, line_ = 1, depth_ = 0;
  bool in_string_ = false, escaped_ = false;
};

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenArrowJson(
    std::shared_ptr<arrow::io::InputStream> input, std::shared_ptr<arrow::Schema> types) {
  input = std::make_shared<RecordsOnly>(std::move(input));
  auto read = arrow::json::ReadOptions::Defaults();
  read.block_size = kBlockSize;
  auto parse = arrow::json::ParseOptions::Defaults();
  parse.newlines_in_values = true;
  if (types) {
    parse.explicit_schema = std::move(types);
    parse.unexpected_field_behavior = arrow::json::UnexpectedFieldBehavior::InferType;
  }
  ARROW_ASSIGN_OR_RAISE(
      auto reader, arrow::json::StreamingReader::Make(std::move(input), read, parse));
  return reader;
}

// Arrow's JSON reader takes string bytes as they are; tables hold UTF-8 only (Parquet's
// STRING, what every reader of the table expects). Invalid for text that is not, which
// the callers place ("line 7: malformed JSON": nlohmann's parser checks UTF-8).
arrow::Status CheckUtf8(const arrow::ArrayData& a) {
  if (a.type->id() == arrow::Type::STRING && a.length > 0) {
    const auto* offsets = a.GetValues<int32_t>(1);
    const uint8_t* bytes = a.buffers[2] ? a.buffers[2]->data() : nullptr;
    int64_t size = offsets[a.length] - offsets[0];
    if (size > 0 && !ValidUtf8(bytes + offsets[0], size))
      return arrow::Status::Invalid("malformed JSON: a string that is not UTF-8");
  }
  for (const auto& child : a.child_data) ARROW_RETURN_NOT_OK(CheckUtf8(*child));
  return arrow::Status::OK();
}

arrow::Status CheckUtf8(const arrow::RecordBatch& batch) {
  for (const auto& column : batch.column_data()) ARROW_RETURN_NOT_OK(CheckUtf8(*column));
  return arrow::Status::OK();
}

// What text that looks like a time is, as CSV infers it: a bare date is a date, a time
// with a zone ("Z", "+02:00") an instant (timestamp, UTC), one without a local time
// (timestamp_ntz).
enum class TimeText { kDate, kInstant, kLocal };

bool IsBareDate(std::string_view v) {
  return v.size() == 10 && v[4] == '-' && v[7] == '-';
}

bool HasZone(std::string_view v) {
  if (v.empty()) return false;
  if (v.back() == 'Z' || v.back() == 'z') return true;
  size_t t = v.find_first_of("Tt ");
  return t != std::string_view::npos &&
         v.find_first_of("+-", t) != std::string_view::npos;
}

// Converts text columns Arrow's JSON reader would have typed as zoneless timestamps, so
// that JSON reads as CSV does (each column's kind decided by its first batch).
class TimeTextReader : public arrow::RecordBatchReader {
 public:
  // forced: text columns to type as times whatever they hold (Arrow inferred them as
  // zoneless timestamps); the other text columns but those declared (their types are the
  // caller's) are typed as times when
  // every value of the first batch is one. order: the names in the order the output
  // keeps (the file's: an explicit schema puts its columns first).
  static arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> Make(
      std::shared_ptr<arrow::RecordBatchReader> reader,
      const std::vector<std::string>& forced, const std::set<std::string>& declared,
      const std::vector<std::string>& order) {
    auto out = std::shared_ptr<TimeTextReader>(new TimeTextReader(std::move(reader)));
    ARROW_RETURN_NOT_OK(out->reader_->ReadNext(&out->first_));
    if (out->first_) ARROW_RETURN_NOT_OK(CheckUtf8(*out->first_));
    arrow::FieldVector fields = out->reader_->schema()->fields();
    for (size_t c = 0; c < fields.size(); ++c) {
      const std::string& name = fields[c]->name();
      bool force = std::find(forced.begin(), forced.end(), name) != forced.end();
      if (fields[c]->type()->id() != arrow::Type::STRING) continue;
      if (!force && declared.count(name)) continue;
      std::optional<TimeText> kind =
          force ? std::optional<TimeText>(TimeText::kLocal) : std::nullopt;
      if (out->first_) {
        auto seen = Classify(static_cast<const arrow::StringArray&>(
            *out->first_->column(static_cast<int>(c))));
        if (seen) kind = seen;
      }
      if (!kind) continue;
      int i = static_cast<int>(c);
      out->kinds_.emplace_back(i, *kind);
      fields[i] = arrow::field(name, *kind == TimeText::kDate ? arrow::date32()
                                     : *kind == TimeText::kInstant
                                         ? arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")
                                         : arrow::timestamp(arrow::TimeUnit::MICRO));
    }
    // Output position -> input column.
    std::vector<bool> placed(fields.size(), false);
    arrow::FieldVector ordered;
    for (const auto& name : order) {
      int i = out->reader_->schema()->GetFieldIndex(name);
      if (i < 0 || placed[i]) continue;
      placed[i] = true;
      out->order_.push_back(i);
      ordered.push_back(fields[i]);
    }
    for (size_t i = 0; i < fields.size(); ++i) {
      if (placed[i]) continue;
      out->order_.push_back(static_cast<int>(i));
      ordered.push_back(fields[i]);
    }
    out->types_ = arrow::schema(fields);
    out->schema_ = arrow::schema(ordered);
    return out;
  }

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    std::shared_ptr<arrow::RecordBatch> batch;
    if (first_) {
      batch = std::move(first_);
    } else {
      ARROW_RETURN_NOT_OK(reader_->ReadNext(&batch));
      if (batch) ARROW_RETURN_NOT_OK(CheckUtf8(*batch));
    }
    if (!batch) {
      *out = nullptr;
      return arrow::Status::OK();
    }
    arrow::ArrayVector columns = batch->columns();
    for (const auto& [i, kind] : kinds_) {
      ARROW_ASSIGN_OR_RAISE(columns[i], Convert(*columns[i], kind, types_->field(i)));
    }
    arrow::ArrayVector ordered;
    for (int i : order_) ordered.push_back(columns[i]);
    *out = arrow::RecordBatch::Make(schema_, batch->num_rows(), std::move(ordered));
    return arrow::Status::OK();
  }

 private:
  explicit TimeTextReader(std::shared_ptr<arrow::RecordBatchReader> reader)
      : reader_(std::move(reader)) {}

  // What a column's values are when every one is a date or a time; nullopt otherwise (or
  // when all are null).
  static std::optional<TimeText> Classify(const arrow::StringArray& text) {
    bool any = false, dates = true, zoned = false;
    for (int64_t r = 0; r < text.length(); ++r) {
      if (text.IsNull(r)) continue;
      std::string_view v = text.GetView(r);
      any = true;
      if (IsBareDate(v)) {
        if (!ParseDate(v).ok()) return std::nullopt;
        continue;
      }
      if (v.size() < 16 || (v[10] != 'T' && v[10] != 't' && v[10] != ' ') ||
          !ParseTimestampMicros(v).ok()) {
        return std::nullopt;
      }
      dates = false;
      zoned = zoned || HasZone(v);
    }
    if (!any) return std::nullopt;
    return dates ? TimeText::kDate : zoned ? TimeText::kInstant : TimeText::kLocal;
  }

  static arrow::Result<std::shared_ptr<arrow::Array>> Convert(
      const arrow::Array& column, TimeText kind, const std::shared_ptr<arrow::Field>& f) {
    const auto& text = static_cast<const arrow::StringArray&>(column);
    auto what = [&](int64_t r) {
      return "column '" + f->name() + "', row " + std::to_string(r + 1) + ": '" +
             std::string(text.GetView(r)) + "'";
    };
    if (kind == TimeText::kDate) {
      arrow::Date32Builder b;
      ARROW_RETURN_NOT_OK(b.Reserve(text.length()));
      for (int64_t r = 0; r < text.length(); ++r) {
        if (text.IsNull(r)) {
          b.UnsafeAppendNull();
          continue;
        }
        auto day = ParseDate(text.GetView(r));
        if (!day.ok())
          return arrow::Status::Invalid(what(r),
                                        " is not a date like the column's first values");
        b.UnsafeAppend(*day);
      }
      return b.Finish();
    }
    arrow::TimestampBuilder b(f->type(), arrow::default_memory_pool());
    ARROW_RETURN_NOT_OK(b.Reserve(text.length()));
    for (int64_t r = 0; r < text.length(); ++r) {
      if (text.IsNull(r)) {
        b.UnsafeAppendNull();
        continue;
      }
      auto us = ParseTimestampMicros(text.GetView(r));
      if (!us.ok()) return arrow::Status::Invalid(what(r), " is not a timestamp");
      b.UnsafeAppend(*us);
    }
    return b.Finish();
  }

  std::shared_ptr<arrow::RecordBatchReader> reader_;
  std::shared_ptr<arrow::RecordBatch> first_;
  std::shared_ptr<arrow::Schema> types_;   // the input's columns, converted
  std::shared_ptr<arrow::Schema> schema_;  // in the output's order
  std::vector<int> order_;
  std::vector<std::pair<int, TimeText>> kinds_;
};

// The keys of the first record, in file order: an explicit schema puts its columns
// first, this puts them back. Empty when the first line is not one object.
std::vector<std::string> FirstRecordKeys(const InputOpener& open) {
  std::vector<std::string> keys;
  auto input = open();
  if (!input.ok()) return keys;
  auto head = (*input)->Read(1 << 20);
  if (!head.ok()) return keys;
  std::string_view text(reinterpret_cast<const char*>((*head)->data()), (*head)->size());
  size_t start = text.find_first_not_of(" \t\r\n");
  if (start == std::string_view::npos) return keys;
  size_t end = text.find('\n', start);
  auto first = nlohmann::ordered_json::parse(
      text.substr(start,
                  end == std::string_view::npos ? text.size() - start : end - start),
      nullptr, /*allow_exceptions=*/false);
  if (!first.is_object()) return keys;
  for (auto it = first.begin(); it != first.end(); ++it) keys.push_back(it.key());
  return keys;
}

}  // namespace

// NDJSON through Arrow's reader, with its types (types: declared ones). Text that is a
// date or time is typed as CSV types it (TimeTextReader): columns Arrow infers as
// zoneless timestamps (losing the zone) are read again as text for that; open gives the
// input anew.
arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenJsonLines(
    const InputOpener& open, std::shared_ptr<arrow::Schema> types,
    std::set<std::string> declared, bool file_order) {
  if (types) {
    for (const auto& f : types->fields()) declared.insert(f->name());
  }
  ARROW_ASSIGN_OR_RAISE(auto input, open());
  ARROW_ASSIGN_OR_RAISE(auto reader, OpenArrowJson(std::move(input), types));
  std::vector<std::string> times;
  for (const auto& f : reader->schema()->fields()) {
    if (!declared.count(f->name()) && f->type()->id() == arrow::Type::TIMESTAMP &&
        static_cast<const arrow::TimestampType&>(*f->type()).timezone().empty()) {
      times.push_back(f->name());
    }
  }
  std::vector<std::string> order =
      types && file_order ? FirstRecordKeys(open) : reader->schema()->field_names();
  if (!times.empty()) {
    arrow::FieldVector fields = types ? types->fields() : arrow::FieldVector{};
    for (const auto& name : times) fields.push_back(arrow::field(name, arrow::utf8()));
    ARROW_ASSIGN_OR_RAISE(input, open());
    ARROW_ASSIGN_OR_RAISE(reader, OpenArrowJson(std::move(input), arrow::schema(fields)));
  }
  return TimeTextReader::Make(std::move(reader), times, declared, order);
}

InputOpener BufferOpener(std::shared_ptr<arrow::Buffer> buffer) {
  return [buffer]() -> arrow::Result<std::shared_ptr<arrow::io::InputStream>> {
    return std::make_shared<arrow::io::BufferReader>(buffer);
  };
}

namespace {

// A JSON value's kind as Arrow's messages name it.
const char* KindName(const nlohmann::json& v) {
  if (v.is_number()) return "number";
  if (v.is_string()) return "string";
  if (v.is_boolean()) return "boolean";
  if (v.is_object()) return "object";
  if (v.is_array()) return "array";
  return "null";
}

// Arrow's "Column(/NAME) changed from A to B in row N" counts rows within a block from 0:
// this finds the record where NAME first holds a B.
std::string LocateTypeChange(const std::string& text, bool lines,
                             const std::string& arrow_message) {
  static const std::regex kChange(R"(Column\(/([^)]*)\) changed from (\w+) to (\w+))");
  std::smatch m;
  if (!std::regex_search(arrow_message, m, kChange)) return "";
  std::string column = m[1], from = m[2], to = m[3];
  auto describe = [&](const std::string& where) {
    return where + ", column '" + column + "': a " + to + " where earlier values are a " +
           from + " (declare the column's type in the schema, or fix the file)";
  };
  if (!lines) {
    auto doc = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!doc.is_array()) return "";
    for (size_t i = 0; i < doc.size(); ++i) {
      auto it = doc[i].find(column);
      if (it != doc[i].end() && KindName(*it) == to) {
        return describe("element " + std::to_string(i + 1));
      }
    }
    return "";
  }
  size_t line = 0, pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    ++line;
    auto record = nlohmann::json::parse(std::string_view(text.data() + pos, end - pos),
                                        nullptr, /*allow_exceptions=*/false);
    if (record.is_object()) {
      auto it = record.find(column);
      if (it != record.end() && KindName(*it) == to)
        return describe("line " + std::to_string(line));
    }
    pos = end + 1;
  }
  return "";
}

}  // namespace

std::string LocateJsonError(const std::string& path, const std::string& format,
                            const std::string& arrow_message) {
  auto compressed = IsCompressed(path);
  if (!compressed.ok() || *compressed) return "";  // its lines are not the file's bytes
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  return LocateJsonErrorInText(text, format, arrow_message);
}

std::string LocateJsonErrorInText(const std::string& text, const std::string& format,
                                  const std::string& arrow_message) {
  // The scan of RecordsOnly has placed its error already.
  if (arrow_message.find(kNotARecord) != std::string::npos) {
    size_t at = arrow_message.rfind("line ", arrow_message.find(kNotARecord));
    if (at != std::string::npos) return arrow_message.substr(at);
  }
  bool lines = format == "ndjson" ||
               text.find_first_not_of(" \t\r\n") == std::string::npos ||
               text[text.find_first_not_of(" \t\r\n")] != '[';
  if (lines) {
    size_t line = 0, pos = 0;
    while (pos <= text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      ++line;
      std::string_view l(text.data() + pos, end - pos);
      if (l.find_first_not_of(" \t\r") != std::string_view::npos &&
          !nlohmann::json::accept(l)) {
        return "line " + std::to_string(line) + ": malformed JSON";
      }
      pos = end + 1;
    }
    return LocateTypeChange(text, true, arrow_message);
  }
  try {
    nlohmann::json parsed = nlohmann::json::parse(text);  // throws at the malformed byte
    (void)parsed;
  } catch (const nlohmann::json::parse_error& e) {
    size_t line =
        1 + std::count(text.begin(), text.begin() + std::min(e.byte, text.size()), '\n');
    return "line " + std::to_string(line) + ": malformed JSON";
  } catch (const nlohmann::json::exception&) {
    return "a number too large for a double";  // out_of_range.406: no position is given
  }
  return LocateTypeChange(text, false, arrow_message);
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenJsonText(
    std::shared_ptr<arrow::Buffer> text, const std::string& name,
    const std::set<std::string>& declared, std::shared_ptr<arrow::Schema> types) {
  std::string_view view(reinterpret_cast<const char*>(text->data()), text->size());
  if (view.substr(0, 3) == "\xEF\xBB\xBF") view.remove_prefix(3);  // a UTF-8 BOM
  size_t first = view.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos || view[first] != '[') {
    return OpenJsonLines(BufferOpener(std::move(text)), types, declared);
  }
  // ordered_json keeps each object's keys in file order, so columns keep that order.
  nlohmann::ordered_json doc;
  try {
    // Without exceptions for malformed text; a number past a double's range still
    // throws (out_of_range.406, found by fuzzing).
    doc = nlohmann::ordered_json::parse(view, nullptr, /*allow_exceptions=*/false);
  } catch (const nlohmann::json::exception& e) {
    return arrow::Status::Invalid(name, ": invalid JSON (", e.what(), ")");
  }
  if (doc.is_discarded()) return arrow::Status::Invalid(name, ": invalid JSON");
  std::string lines;
  size_t i = 0;
  for (const auto& row : doc) {
    if (!row.is_object()) {
      return arrow::Status::Invalid(name, ": element ", i,
                                    " of the array is not an object");
    }
    lines += row.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    lines += '\n';
    ++i;
  }
  if (lines.empty()) return arrow::Status::Invalid(name, ": the JSON array is empty");
  return OpenJsonLines(BufferOpener(arrow::Buffer::FromString(std::move(lines))), types,
                       declared);
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> OpenDebeziumText(
    std::shared_ptr<arrow::Buffer> text, const std::string& name,
    const DebeziumOptions& options) {
  std::string_view view(reinterpret_cast<const char*>(text->data()), text->size());
  ARROW_ASSIGN_OR_RAISE(auto events, DecodeDebeziumFile(view, name, options));
  if (events.rows == 0) return arrow::Status::Invalid(name, ": no change events");
  return OpenJsonLines(BufferOpener(arrow::Buffer::FromString(std::move(events.ndjson))),
                       events.types, {}, /*file_order=*/false);
}

}  // namespace inlet
