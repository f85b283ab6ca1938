#include "inlet/source/http_source.h"

#include <arrow/builder.h>
#include <arrow/compute/api.h>

#include <cinttypes>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "inlet/common/time.h"
#include "inlet/source/http_pages.h"
#include "inlet/source/json_rows.h"
#include "inlet/table/row_hash.h"
#include "inlet/time.h"

namespace inlet {

namespace {

// A cursor value as an API takes it in {watermark}: kind is "timestamp" (microseconds),
// "date" (days) or "integer".
std::string FormatCursor(const std::string& kind, int64_t value,
                         const std::string& format) {
  if (kind == "timestamp") {
    if (format == "unix") return std::to_string(value / 1000000 - (value % 1000000 < 0));
    if (format == "unix_ms") return std::to_string(value / 1000 - (value % 1000 < 0));
    std::string text = FormatTimestampPlain(value);
    text[10] = 'T';
    return text + "Z";
  }
  if (kind == "date") return FormatDate(static_cast<int32_t>(value));
  return std::to_string(value);
}

// Each page's body written under a directory of the run, for audit and replay.
class Archive {
 public:
  static arrow::Result<Archive> Open(const std::string& root) {
    Archive a;
    if (root.empty()) return a;
    std::string stamp = FormatTimestampPlain(NowMillis() * 1000);
    for (auto& c : stamp) c = (c == ' ' || c == ':') ? (c == ' ' ? 'T' : '-') : c;
    a.dir_ = std::filesystem::path(root) / (stamp + "Z");
    std::error_code ec;
    // A second run in the same millisecond gets its own directory.
    for (int i = 1; std::filesystem::exists(a.dir_, ec); ++i)
      a.dir_ = std::filesystem::path(root) / (stamp + "Z-" + std::to_string(i));
    std::filesystem::create_directories(a.dir_, ec);
    if (ec)
      return arrow::Status::IOError("cannot create the archive directory ",
                                    a.dir_.string(), ": ", ec.message());
    return a;
  }

  arrow::Status Write(int64_t page, const std::string& body) const {
    if (dir_.empty()) return arrow::Status::OK();
    char name[32];
    std::snprintf(name, sizeof(name), "page-%05" PRId64 ".json", page);
    auto path = dir_ / name;
    std::ofstream out(path, std::ios::binary);
    out.write(body.data(), static_cast<std::streamsize>(body.size()));
    out.close();
    if (!out)
      return arrow::Status::IOError("cannot write the archived page ", path.string());
    return arrow::Status::OK();
  }

 private:
  std::filesystem::path dir_;
};

class HttpSource : public BoundedSource {
 public:
  explicit HttpSource(HttpSourceConfig config) : config_(std::move(config)) {}

  arrow::Result<SourceRead> Read(const Json& position,
                                 const ReadRequest& request) const override {
    ARROW_ASSIGN_OR_RAISE(auto pager,
                          HttpPager::Make(config_, WatermarkValue(position, request)));
    JsonRows rows(RowOptions(request));
    ARROW_ASSIGN_OR_RAISE(Archive archive, Archive::Open(config_.archive_dir));
    arrow::Int32Builder part_of_row;
    int32_t page_index = 0;
    HttpPager::Callbacks callbacks;
    callbacks.on_page = [&](int64_t page, const std::string& body) {
      page_index = static_cast<int32_t>(page - 1);
      if (request.on_part && page > 1)
        request.on_part(static_cast<size_t>(page - 1), static_cast<size_t>(page - 1),
                        rows.rows());
      return archive.Write(page, body);
    };
    callbacks.on_record = [&](std::string_view record) {
      ARROW_RETURN_NOT_OK(rows.Append(record, MessageMeta{}));
      return part_of_row.Append(page_index);
    };
    if (config_.replay_dir.empty()) {
      ARROW_RETURN_NOT_OK(pager->Walk(callbacks));
    } else {
      ARROW_RETURN_NOT_OK(pager->Replay(config_.replay_dir, callbacks));
    }
    SourceRead read;
    read.parts = pager->pages();
    read.part_state.assign(read.parts.size(), Json::object());
    read.position = position;
    if (pager->records() == 0) {
      if (request.scope == SourceScope::kWholeExtract)
        return arrow::Status::Invalid(
            config_.description,
            ": the API gave no records: a load would empty the table (truncate it "
            "explicitly if that is meant)");
      return read;
    }
    ARROW_ASSIGN_OR_RAISE(auto table, rows.Finish(0));
    ARROW_ASSIGN_OR_RAISE(auto parts, part_of_row.Finish());
    ARROW_ASSIGN_OR_RAISE(
        table,
        table->AddColumn(table->num_columns(), arrow::field(kPartColumn, arrow::int32()),
                         std::make_shared<arrow::ChunkedArray>(parts)));
    if (request.scope == SourceScope::kWholeExtract) {
      ARROW_ASSIGN_OR_RAISE(std::string fingerprint, Fingerprint(*table));
      // The extract the table holds already: nothing to load.
      if (position.is_object() && position.value("api_extract", "") == fingerprint)
        return read;
      read.position = Json::object({{"api_extract", fingerprint}});
    } else if (request.scope == SourceScope::kNew &&
               !config_.incremental.cursor.empty()) {
      // An API's since-parameter is mostly inclusive: the records at the cursor loaded
      // last come again, and are left out here (as an exclusive parameter would).
      if (auto stored = StoredCursor(position)) {
        ARROW_ASSIGN_OR_RAISE(table, DropLoaded(std::move(table), *stored));
      }
      if (table->num_rows() == 0) return read;
      ARROW_ASSIGN_OR_RAISE(auto greatest, GreatestCursor(*table));
      if (greatest) read.position = Json::object({{"api_cursor", *greatest}});
    }
    read.rows = std::move(table);
    return read;
  }

  void Mark(size_t, const PartMark&, SourceRead*) const override {}

  bool Advanced(const Json& before, const Json& after) const override {
    return after.is_object() && !after.empty() && before != after;
  }

  std::string Describe() const override { return config_.description; }

 private:
  // What {watermark} stands for in this read.
  std::optional<std::string> WatermarkValue(const Json& position,
                                            const ReadRequest& request) const {
    const auto& inc = config_.incremental;
    if (request.cursor_range) {
      const auto& r = *request.cursor_range;
      if (r.from) {  // a backfill, from its start, in the form the API takes
        auto micros = ParseTimestampMicros(*r.from);
        if (micros.ok()) return FormatCursor("timestamp", *micros, inc.format);
        return *r.from;
      }
      // The watermark itself rather than the value just past it: an API's since-parameter
      // is mostly inclusive and second-grained, and the strategy drops what the table
      // holds already. A lookback reaches further back.
      if (r.lowest) {
        int64_t from = r.loaded ? std::min(*r.lowest, *r.loaded) : *r.lowest;
        return FormatCursor(r.kind, from, inc.format);
      }
      return inc.initial;
    }
    if (request.scope == SourceScope::kNew && !inc.cursor.empty()) {
      if (auto stored = StoredCursor(position)) return stored;
    }
    return inc.initial;
  }

  static std::optional<std::string> StoredCursor(const Json& position) {
    if (position.is_object() && position.contains("api_cursor") &&
        position["api_cursor"].is_string())
      return position["api_cursor"].get<std::string>();
    return std::nullopt;
  }

  // The cursor as the column holds it: the value {watermark} was formatted from.
  arrow::Result<std::shared_ptr<arrow::Scalar>> CursorScalar(
      const std::string& text, const std::shared_ptr<arrow::DataType>& type) const {
    const std::string& format = config_.incremental.format;
    if (type->id() == arrow::Type::TIMESTAMP) {
      int64_t micros = 0;
      if (format == "unix" || format == "unix_ms") {
        ARROW_ASSIGN_OR_RAISE(auto whole, arrow::Scalar::Parse(arrow::int64(), text));
        micros = static_cast<const arrow::Int64Scalar&>(*whole).value *
                 (format == "unix" ? 1000000 : 1000);
      } else {
        ARROW_ASSIGN_OR_RAISE(micros, ParseTimestampMicros(text));
      }
      const auto& ts = static_cast<const arrow::TimestampType&>(*type);
      int64_t v = ts.unit() == arrow::TimeUnit::SECOND  ? micros / 1000000
                  : ts.unit() == arrow::TimeUnit::MILLI ? micros / 1000
                  : ts.unit() == arrow::TimeUnit::NANO  ? micros * 1000
                                                        : micros;
      return std::make_shared<arrow::TimestampScalar>(v, type);
    }
    return arrow::Scalar::Parse(type, text);
  }

  // The rows whose cursor is past the one loaded last (and those without a cursor).
  arrow::Result<std::shared_ptr<arrow::Table>> DropLoaded(
      std::shared_ptr<arrow::Table> table, const std::string& stored) const {
    auto column = table->GetColumnByName(config_.incremental.cursor);
    if (!column) return table;  // GreatestCursor names the problem
    auto bound = CursorScalar(stored, column->type());
    if (!bound.ok()) {
      return arrow::Status::Invalid(
          config_.description, ": the cursor loaded last ('", stored,
          "') does not read as the records' ", config_.incremental.cursor, " (",
          column->type()->ToString(), "): ", bound.status().message());
    }
    namespace cp = arrow::compute;
    ARROW_ASSIGN_OR_RAISE(auto after, cp::CallFunction("greater", {column, *bound}));
    ARROW_ASSIGN_OR_RAISE(auto null, cp::CallFunction("is_null", {column}));
    ARROW_ASSIGN_OR_RAISE(auto keep, cp::CallFunction("or_kleene", {after, null}));
    ARROW_ASSIGN_OR_RAISE(auto kept, cp::Filter(table, keep));
    return kept.table();
  }

  JsonRowOptions RowOptions(const ReadRequest& request) const {
    JsonRowOptions o;
    o.declared = config_.decoding.schema;
    o.metadata = false;
    o.include_key = false;
    o.required = config_.message_schema.required;
    o.closed = config_.message_schema.closed;
    if (!config_.message_schema.enums.empty()) {
      o.check = [this](const MessageFields& f) {
        return CheckEnums(config_.message_schema, f);
      };
    }
    // A merge by key keeps the table's values of fields a record lacks.
    if (request.mark_given) o.given_prefix = kGivenPrefix;
    return o;
  }

  // The extract's identity whatever the order of its records: the sum of its rows'
  // hashes, with its columns and row count.
  arrow::Result<std::string> Fingerprint(const arrow::Table& table) const {
    std::vector<std::string> columns;
    std::string signature;
    for (const auto& f : table.schema()->fields()) {
      if (f->name() == kPartColumn || IsGivenFlag(f->name())) continue;
      columns.push_back(f->name());
      signature += f->name() + ":" + f->type()->ToString() + ",";
    }
    ARROW_ASSIGN_OR_RAISE(auto hashes, HashRows(table, columns));
    uint64_t lo = 0, hi = 0;
    for (const auto& h : hashes) {
      lo += h.lo;
      hi += h.hi;
    }
    uint64_t sig = std::hash<std::string>{}(signature);
    char text[80];
    std::snprintf(text, sizeof(text),
                  "%016" PRIx64 "%016" PRIx64 "-%016" PRIx64 "-%" PRId64, hi, lo, sig,
                  table.num_rows());
    return std::string(text);
  }

  // The greatest value of incremental.cursor among the records, as {watermark} sends it;
  // nullopt when every record's is null.
  arrow::Result<std::optional<std::string>> GreatestCursor(
      const arrow::Table& table) const {
    const std::string& name = config_.incremental.cursor;
    auto column = table.GetColumnByName(name);
    if (!column) {
      std::string fields;
      for (const auto& f : table.schema()->fields())
        if (f->name() != kPartColumn && !IsGivenFlag(f->name()))
          fields += (fields.empty() ? "" : ", ") + f->name();
      return arrow::Status::Invalid(config_.description, ": incremental.cursor '", name,
                                    "' is not a field of the records (they have ", fields,
                                    ")");
    }
    ARROW_ASSIGN_OR_RAISE(auto minmax, arrow::compute::MinMax(column));
    const auto& pair = minmax.scalar_as<arrow::StructScalar>();
    const auto& max = pair.value[1];
    if (!max || !max->is_valid) return std::nullopt;
    switch (max->type->id()) {
      case arrow::Type::TIMESTAMP: {
        const auto& type = static_cast<const arrow::TimestampType&>(*max->type);
        int64_t v = static_cast<const arrow::TimestampScalar&>(*max).value;
        int64_t per_micro = type.unit() == arrow::TimeUnit::SECOND  ? 1000000
                            : type.unit() == arrow::TimeUnit::MILLI ? 1000
                                                                    : 1;
        if (type.unit() == arrow::TimeUnit::NANO) v /= 1000;
        return FormatCursor("timestamp", v * per_micro, config_.incremental.format);
      }
      case arrow::Type::DATE32:
        return FormatCursor("date", static_cast<const arrow::Date32Scalar&>(*max).value,
                            config_.incremental.format);
      case arrow::Type::STRING:
        return static_cast<const arrow::StringScalar&>(*max).ToString();
      default:
        return max->ToString();
    }
  }

  HttpSourceConfig config_;
};

}  // namespace

arrow::Result<std::unique_ptr<BoundedSource>> OpenHttpSource(
    const HttpSourceConfig& config) {
  return std::unique_ptr<BoundedSource>(new HttpSource(config));
}

}  // namespace inlet
