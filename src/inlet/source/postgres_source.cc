#include "inlet/source/postgres_source.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <arrow/extension_type.h>
#include <arrow/util/key_value_metadata.h>

#include <cctype>
#include <cinttypes>
#include <cstdio>
#include <set>

#include "inlet/common/redact.h"
#include "inlet/common/time.h"
#include "inlet/source/adbc.h"

namespace inlet {

namespace {

// PostgreSQL's earliest timestamp and date (4713 BC), in Arrow's units: anything below
// is infinity, which the driver wraps around to values far below.
constexpr int64_t kEarliestMicros = -210866803200000000LL;
constexpr int32_t kEarliestDays = -2440588;

std::string QuoteIdent(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string QuoteLiteral(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') out += '\'';
    out += c;
  }
  return out + "'";
}

std::string Metadata(const arrow::Field& f, const std::string& key) {
  if (!f.metadata()) return "";
  auto v = f.metadata()->Get(key);
  return v.ok() ? *v : "";
}

// The type a column has on the wire from the driver: an extension type's storage.
std::shared_ptr<arrow::DataType> Storage(const std::shared_ptr<arrow::DataType>& t) {
  if (t->id() != arrow::Type::EXTENSION) return t;
  return static_cast<const arrow::ExtensionType&>(*t).storage_type();
}

std::shared_ptr<arrow::Array> StorageArray(const std::shared_ptr<arrow::Array>& a) {
  if (a->type_id() != arrow::Type::EXTENSION) return a;
  return static_cast<const arrow::ExtensionArray&>(*a).storage();
}

// How one column (or list element) is read.
enum class Conversion {
  kAsIs,
  kDecimal,   // numeric's text to decimal128(precision, scale)
  kDouble,    // numeric's text to double
  kUuid,      // 16 bytes to the canonical text form
  kInterval,  // month_day_nano to ISO 8601 text
  kText,      // Arrow's text form (time of day: HH:MM:SS.ffffff, as Delta has no time)
  kList,      // a list whose elements convert
  kUnknown,   // a type without a mapping
};

struct ColumnPlan {
  std::string name;
  std::string pg_type;  // PostgreSQL's type name, for messages
  Conversion conversion = Conversion::kAsIs;
  std::shared_ptr<arrow::DataType> type;  // what the table gets
  std::unique_ptr<ColumnPlan> element;    // kList
  bool as_text = false;                   // cast to text in the query (unknown_types)
};

arrow::Result<ColumnPlan> PlanColumn(const arrow::Field& f,
                                     const PostgresSourceConfig& config) {
  ColumnPlan p;
  p.name = f.name();
  p.pg_type = Metadata(f, "POSTGRESQL:type");
  auto wire = Storage(f.type());
  p.type = wire;
  std::string extension = Metadata(f, "ARROW:extension:name");
  if (f.type()->id() == arrow::Type::EXTENSION)
    extension = static_cast<const arrow::ExtensionType&>(*f.type()).extension_name();
  if (p.pg_type == "numeric") {
    std::string mod = Metadata(f, "POSTGRESQL:typmod");
    int64_t typmod = mod.empty() ? -1 : std::strtoll(mod.c_str(), nullptr, 10);
    if (typmod < 4) {  // numeric without a precision
      switch (config.unconstrained_numeric) {
        case UnconstrainedNumeric::kDecimal:
          p.conversion = Conversion::kDecimal;
          p.type = arrow::decimal128(38, 18);
          break;
        case UnconstrainedNumeric::kString:
          p.type = arrow::utf8();
          break;
        case UnconstrainedNumeric::kDouble:
          p.conversion = Conversion::kDouble;
          p.type = arrow::float64();
          break;
      }
      return p;
    }
    int32_t precision = static_cast<int32_t>(((typmod - 4) >> 16) & 0xffff);
    int32_t scale = static_cast<int32_t>((typmod - 4) & 0xffff);
    if (precision > 38 || scale > precision) {
      return arrow::Status::Invalid(
          "column '", p.name, "' is numeric(", precision, ",", scale,
          "), wider than a table's decimals (38 digits): cast it in the query "
          "(::numeric(38,s), ::text or ::float8)");
    }
    p.conversion = Conversion::kDecimal;
    p.type = arrow::decimal128(precision, scale);
    return p;
  }
  if (extension == "arrow.opaque" || p.pg_type == "money") {
    p.conversion = Conversion::kUnknown;
    return p;
  }
  switch (wire->id()) {
    case arrow::Type::FIXED_SIZE_BINARY:
      if (p.pg_type != "uuid") break;
      p.conversion = Conversion::kUuid;
      p.type = arrow::utf8();
      return p;
    case arrow::Type::INTERVAL_MONTH_DAY_NANO:
      p.conversion = Conversion::kInterval;
      p.type = arrow::utf8();
      return p;
    case arrow::Type::TIME64:
      p.conversion = Conversion::kText;
      p.type = arrow::utf8();
      return p;
    case arrow::Type::LIST: {
      const auto& child = *static_cast<const arrow::ListType&>(*wire).value_field();
      ARROW_ASSIGN_OR_RAISE(auto element, PlanColumn(child, config));
      if (element.conversion == Conversion::kUnknown) {
        p.conversion = Conversion::kUnknown;
        return p;
      }
      if (element.conversion != Conversion::kAsIs ||
          !element.type->Equals(*child.type())) {
        p.conversion = Conversion::kList;
        p.type = arrow::list(arrow::field(child.name(), element.type));
        p.element = std::make_unique<ColumnPlan>(std::move(element));
      } else {
        p.type = arrow::list(arrow::field(child.name(), element.type));
      }
      return p;
    }
    case arrow::Type::STRING:
    case arrow::Type::LARGE_STRING:
    case arrow::Type::BINARY:
    case arrow::Type::LARGE_BINARY:
    case arrow::Type::BOOL:
    case arrow::Type::INT16:
    case arrow::Type::INT32:
    case arrow::Type::INT64:
    case arrow::Type::FLOAT:
    case arrow::Type::DOUBLE:
    case arrow::Type::DATE32:
    case arrow::Type::TIMESTAMP:
    case arrow::Type::STRUCT:
      return p;
    default:
      break;
  }
  p.conversion = Conversion::kUnknown;
  return p;
}

std::string UuidText(const uint8_t* b) {
  char out[37];
  std::snprintf(out, sizeof(out),
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
                b[12], b[13], b[14], b[15]);
  return out;
}

// ISO 8601: P1Y2M3DT4H5M6.5S (components keep PostgreSQL's signs; zero is PT0S).
std::string IntervalText(const arrow::MonthDayNanoIntervalType::MonthDayNanos& v) {
  std::string out = "P";
  int32_t years = v.months / 12, months = v.months % 12;
  if (years) out += std::to_string(years) + "Y";
  if (months) out += std::to_string(months) + "M";
  if (v.days) out += std::to_string(v.days) + "D";
  int64_t micros = v.nanoseconds / 1000;
  if (micros || out == "P") {
    out += "T";
    int64_t hours = micros / 3600000000LL;
    micros -= hours * 3600000000LL;
    int64_t minutes = micros / 60000000LL;
    micros -= minutes * 60000000LL;
    if (hours) out += std::to_string(hours) + "H";
    if (minutes) out += std::to_string(minutes) + "M";
    if (micros || (!hours && !minutes)) {
      bool negative = micros < 0;
      int64_t m = negative ? -micros : micros;
      char buf[48];
      std::snprintf(buf, sizeof(buf), "%s%" PRId64, negative ? "-" : "", m / 1000000);
      std::string seconds = buf;
      if (m % 1000000) {
        std::snprintf(buf, sizeof(buf), ".%06" PRId64, m % 1000000);
        std::string frac = buf;
        while (frac.back() == '0') frac.pop_back();
        seconds += frac;
      }
      out += seconds + "S";
    }
  }
  return out;
}

class PostgresSource : public BoundedSource {
 public:
  explicit PostgresSource(PostgresSourceConfig config) : config_(std::move(config)) {
    uri_ = config_.connection;
    if (!config_.password.empty()) {
      // libpq takes any connection keyword as a URI parameter.
      uri_ += (uri_.find('?') == std::string::npos ? "?" : "&");
      uri_ += "password=" + PercentEncode(config_.password);
    }
    name_ = RedactUri(config_.connection);
  }

  arrow::Result<SourceRead> Read(const Json&, const ReadRequest& request) const override {
    if (request.scope == SourceScope::kNew) {
      return arrow::Status::Invalid(
          "a postgres source has no record of which rows are new: use the watermark "
          "strategy (with a cursor column), full_refresh or snapshot_diff");
    }
    ARROW_ASSIGN_OR_RAISE(auto conn,
                          adbc::Connection::Open(uri_, name_, config_.password));
    // Timestamps compare and print in UTC whatever the server's default zone.
    ARROW_RETURN_NOT_OK(conn->Execute("SET TIME ZONE 'UTC'"));
    ARROW_RETURN_NOT_OK(conn->BeginSnapshot());
    std::string base;
    if (!config_.table.empty()) {
      ARROW_ASSIGN_OR_RAISE(std::string table, QuoteQualifiedName(config_.table));
      base = "SELECT * FROM " + table;
    } else {
      base = NestableQuery(config_.query);
    }
    ARROW_ASSIGN_OR_RAISE(auto described, conn->Describe(base));
    std::vector<ColumnPlan> plans;
    std::set<std::string> names;
    bool rewrite = false;
    for (const auto& f : described->fields()) {
      if (!names.insert(f->name()).second)
        return Failed("the query gives two columns named '" + f->name() +
                      "': name them apart (AS)");
      ARROW_ASSIGN_OR_RAISE(auto plan, Wrap(PlanColumn(*f, config_)));
      if (plan.conversion == Conversion::kUnknown) {
        if (config_.unknown_types == UnknownTypes::kFail) {
          return Failed("column '" + f->name() + "' has type " +
                        (plan.pg_type.empty() ? f->type()->ToString() : plan.pg_type) +
                        ", which inlet does not map: cast it in the query, or set "
                        "unknown_types: text to read such columns as text");
        }
        rewrite = true;
        plan.conversion = Conversion::kAsIs;
        plan.type = arrow::utf8();
        plan.as_text = true;
      }
      plans.push_back(std::move(plan));
    }
    ARROW_ASSIGN_OR_RAISE(std::string where, Where(request, *described));
    std::string sql = base;
    if (rewrite || !where.empty()) {
      std::string select;
      for (size_t i = 0; i < plans.size(); ++i) {
        std::string column = QuoteIdent(plans[i].name);
        select += (i ? ", " : "") + column +
                  (plans[i].as_text ? "::text AS " + column : std::string());
      }
      sql = "SELECT " + select + " FROM (" + base + ") AS inlet_source" + where;
    }
    ARROW_ASSIGN_OR_RAISE(auto reader, conn->Query(sql));
    std::vector<std::shared_ptr<arrow::Field>> fields;
    for (const auto& p : plans) fields.push_back(arrow::field(p.name, p.type));
    auto schema = arrow::schema(fields);
    std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
    int64_t rows = 0;
    while (true) {
      std::shared_ptr<arrow::RecordBatch> batch;
      auto st = reader->ReadNext(&batch);
      if (!st.ok()) return Failed("cannot read the rows: " + Hidden(st.message()));
      if (!batch) break;
      std::vector<std::shared_ptr<arrow::Array>> columns;
      for (size_t i = 0; i < plans.size(); ++i) {
        ARROW_ASSIGN_OR_RAISE(
            auto c, Convert(plans[i], batch->column(static_cast<int>(i)), rows));
        columns.push_back(std::move(c));
      }
      rows += batch->num_rows();
      batches.push_back(arrow::RecordBatch::Make(schema, batch->num_rows(), columns));
      if (request.on_part) request.on_part(0, 1, rows);
    }
    ARROW_RETURN_NOT_OK(conn->EndSnapshot());
    SourceRead read;
    read.parts = {config_.description};
    read.part_state = {Json::object()};
    if (rows == 0) {
      if (request.scope == SourceScope::kWholeExtract) {
        return Failed(
            "the extract has no rows: a load would empty the table (truncate it "
            "explicitly if that is meant)");
      }
      return read;  // nothing past the watermark
    }
    ARROW_ASSIGN_OR_RAISE(auto table, arrow::Table::FromRecordBatches(schema, batches));
    arrow::Int32Builder part;
    ARROW_RETURN_NOT_OK(part.AppendValues(std::vector<int32_t>(rows, 0)));
    ARROW_ASSIGN_OR_RAISE(auto part_array, part.Finish());
    ARROW_ASSIGN_OR_RAISE(
        read.rows,
        table->AddColumn(table->num_columns(), arrow::field(kPartColumn, arrow::int32()),
                         std::make_shared<arrow::ChunkedArray>(part_array)));
    return read;
  }

  void Mark(size_t, const PartMark&, SourceRead*) const override {}
  bool Advanced(const Json&, const Json&) const override { return false; }
  std::string Describe() const override { return config_.description; }

 private:
  arrow::Status Failed(const std::string& why) const {
    return arrow::Status::Invalid(config_.description, ": ", why);
  }

  template <class T>
  arrow::Result<T> Wrap(arrow::Result<T> r) const {
    if (r.ok()) return r;
    return Failed(r.status().message());
  }

  std::string Hidden(std::string text) const {
    if (config_.password.empty()) return text;
    for (size_t at; (at = text.find(config_.password)) != std::string::npos;)
      text.replace(at, config_.password.size(), "***");
    return text;
  }

  static std::string PercentEncode(const std::string& s) {
    static const char* hex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        out += static_cast<char>(c);
      } else {
        out += '%';
        out += hex[c >> 4];
        out += hex[c & 15];
      }
    }
    return out;
  }

  // The pushed-down cursor range: " WHERE ..." or empty.
  arrow::Result<std::string> Where(const ReadRequest& request,
                                   const arrow::Schema& described) const {
    if (!request.cursor_range) return std::string();
    const auto& r = *request.cursor_range;
    auto field = described.GetFieldByName(r.column);
    if (!field) {
      std::string columns;
      for (const auto& f : described.fields())
        columns += (columns.empty() ? "" : ", ") + f->name();
      return Failed("the cursor column '" + r.column + "' is not among its columns (" +
                    columns + ")");
    }
    auto type = Storage(field->type())->id();
    bool comparable = type == arrow::Type::TIMESTAMP || type == arrow::Type::DATE32 ||
                      type == arrow::Type::INT16 || type == arrow::Type::INT32 ||
                      type == arrow::Type::INT64;
    if (!comparable) return std::string();  // the strategy selects (or refuses) alone
    std::string column = "inlet_source." + QuoteIdent(r.column);
    std::vector<std::string> terms;
    if (r.from) terms.push_back(column + " >= " + QuoteLiteral(*r.from));
    if (r.to) terms.push_back(column + " < " + QuoteLiteral(*r.to));
    if (r.lowest) {
      std::string literal;
      if (r.kind == "timestamp" && type == arrow::Type::TIMESTAMP) {
        literal = QuoteLiteral(FormatTimestampPlain(*r.lowest));
      } else if (r.kind == "date" && type == arrow::Type::DATE32) {
        literal = QuoteLiteral(FormatDate(static_cast<int32_t>(*r.lowest)));
      } else if (r.kind == "integer" && type != arrow::Type::TIMESTAMP &&
                 type != arrow::Type::DATE32) {
        literal = std::to_string(*r.lowest);
      }
      if (!literal.empty()) terms.push_back(column + " >= " + literal);
    }
    if (terms.empty()) return std::string();
    std::string where;
    for (const auto& t : terms) where += (where.empty() ? "" : " AND ") + t;
    if (r.nulls) where = "(" + where + ") OR " + column + " IS NULL";
    return " WHERE " + where;
  }

  // One column of a batch as the table gets it. `first_row` numbers the batch's rows
  // for messages.
  arrow::Result<std::shared_ptr<arrow::Array>> Convert(
      const ColumnPlan& plan, const std::shared_ptr<arrow::Array>& column,
      int64_t first_row) const {
    auto a = StorageArray(column);
    auto bad = [&](int64_t i, const std::string& why) {
      return Failed("row " + std::to_string(first_row + i + 1) + ", column '" +
                    plan.name + "' (" + plan.pg_type + "): " + why);
    };
    switch (plan.conversion) {
      case Conversion::kAsIs:
        if (a->type_id() == arrow::Type::TIMESTAMP) {
          const auto& t = static_cast<const arrow::TimestampArray&>(*a);
          for (int64_t i = 0; i < t.length(); ++i)
            if (t.IsValid(i) && t.Value(i) < kEarliestMicros)
              return bad(i,
                         "infinity has no place in a table's timestamps: map it in "
                         "the query (CASE WHEN isfinite(...) ...)");
        } else if (a->type_id() == arrow::Type::DATE32) {
          const auto& d = static_cast<const arrow::Date32Array&>(*a);
          for (int64_t i = 0; i < d.length(); ++i)
            if (d.IsValid(i) && d.Value(i) < kEarliestDays)
              return bad(i,
                         "infinity has no place in a table's dates: map it in the "
                         "query (CASE WHEN isfinite(...) ...)");
        }
        if (!a->type()->Equals(*plan.type)) {
          // A list whose element type only lost its metadata.
          return a->View(plan.type);
        }
        return a;
      case Conversion::kDecimal: {
        // Arrow's cast from text wraps values too wide for the type around: each value
        // is parsed, rounded half up to the scale (unconstrained numeric), and checked.
        const auto& type = static_cast<const arrow::Decimal128Type&>(*plan.type);
        const auto& text = static_cast<const arrow::StringArray&>(*a);
        arrow::Decimal128Builder out(plan.type);
        ARROW_RETURN_NOT_OK(out.Reserve(text.length()));
        for (int64_t i = 0; i < text.length(); ++i) {
          if (text.IsNull(i)) {
            out.UnsafeAppendNull();
            continue;
          }
          arrow::Decimal128 v;
          int32_t precision = 0, scale = 0;
          std::string_view s = text.GetView(i);
          bool fits = arrow::Decimal128::FromString(s, &v, &precision, &scale).ok();
          if (fits && scale > type.scale()) {
            v = v.ReduceScaleBy(scale - type.scale(), /*round=*/true);
          } else if (fits && scale < type.scale()) {
            fits = precision - scale <= type.precision() - type.scale();
            if (fits) {
              auto wider = v.Rescale(scale, type.scale());
              fits = wider.ok();
              if (fits) v = *wider;
            }
          }
          if (!fits || !v.FitsInPrecision(type.precision()))
            return bad(i, "the value " + std::string(s) + " does not fit " +
                              plan.type->ToString() +
                              " (cast it in the query, or set unconstrained_numeric: "
                              "string)");
          out.UnsafeAppend(v);
        }
        return out.Finish();
      }
      case Conversion::kText:
      case Conversion::kDouble: {
        arrow::compute::CastOptions options =
            arrow::compute::CastOptions::Safe(plan.type);
        auto cast = arrow::compute::Cast(*a, plan.type, options);
        if (cast.ok()) return *cast;
        // Find the value that does not fit, to name it.
        const auto& text = static_cast<const arrow::StringArray&>(*a);
        for (int64_t i = 0; i < text.length(); ++i) {
          if (!text.IsValid(i)) continue;
          auto one = arrow::compute::Cast(*text.Slice(i, 1), plan.type, options);
          if (!one.ok())
            return bad(i,
                       "the value " + std::string(text.GetView(i)) + " does not fit " +
                           plan.type->ToString() +
                           (plan.pg_type == "numeric" ? " (cast it in the query, or set "
                                                        "unconstrained_numeric: string)"
                                                      : ""));
        }
        return Failed("column '" + plan.name + "': " + cast.status().message());
      }
      case Conversion::kUuid: {
        const auto& b = static_cast<const arrow::FixedSizeBinaryArray&>(*a);
        arrow::StringBuilder out;
        ARROW_RETURN_NOT_OK(out.Reserve(b.length()));
        for (int64_t i = 0; i < b.length(); ++i) {
          if (b.IsNull(i))
            ARROW_RETURN_NOT_OK(out.AppendNull());
          else
            ARROW_RETURN_NOT_OK(out.Append(UuidText(b.GetValue(i))));
        }
        return out.Finish();
      }
      case Conversion::kInterval: {
        const auto& v = static_cast<const arrow::MonthDayNanoIntervalArray&>(*a);
        arrow::StringBuilder out;
        ARROW_RETURN_NOT_OK(out.Reserve(v.length()));
        for (int64_t i = 0; i < v.length(); ++i) {
          if (v.IsNull(i))
            ARROW_RETURN_NOT_OK(out.AppendNull());
          else
            ARROW_RETURN_NOT_OK(out.Append(IntervalText(v.GetValue(i))));
        }
        return out.Finish();
      }
      case Conversion::kList: {
        const auto& list = static_cast<const arrow::ListArray&>(*a);
        ARROW_ASSIGN_OR_RAISE(auto values, Convert(*plan.element, list.values(), 0));
        return std::make_shared<arrow::ListArray>(
            plan.type, list.length(), list.value_offsets(), values, list.null_bitmap(),
            list.null_count(), list.offset());
      }
      case Conversion::kUnknown:
        break;
    }
    return Failed("column '" + plan.name + "' cannot be read");
  }

  PostgresSourceConfig config_;
  std::string uri_;
  std::string name_;
};

}  // namespace

arrow::Result<std::string> QuoteQualifiedName(const std::string& name) {
  std::string out;
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    std::string part =
        name.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (part.empty())
      return arrow::Status::Invalid("'", name, "' is not a table name (schema.table)");
    out += (out.empty() ? "" : ".") + QuoteIdent(part);
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return out;
}

std::string NestableQuery(const std::string& sql) {
  std::string out = sql;
  while (!out.empty() &&
         (std::isspace(static_cast<unsigned char>(out.back())) || out.back() == ';'))
    out.pop_back();
  return out;
}

arrow::Result<std::unique_ptr<BoundedSource>> OpenPostgresSource(
    const PostgresSourceConfig& config) {
  return std::unique_ptr<BoundedSource>(new PostgresSource(config));
}

}  // namespace inlet
