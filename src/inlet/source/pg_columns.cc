#include "inlet/source/pg_columns.h"

#include <arrow/array/concatenate.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <arrow/extension_type.h>
#include <arrow/util/key_value_metadata.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "inlet/source/pg_text.h"
#include "inlet/source/postgres_source.h"

namespace inlet::pgcol {

namespace {

// PostgreSQL's earliest timestamp and date (4713 BC), in Arrow's units: anything below
// is infinity, which the driver wraps around to values far below.
constexpr int64_t kEarliestMicros = -210866803200000000LL;
constexpr int32_t kEarliestDays = -2440588;

using pgtext::DecimalOfText;

std::shared_ptr<arrow::Array> StorageArray(const std::shared_ptr<arrow::Array>& a) {
  if (a->type_id() != arrow::Type::EXTENSION) return a;
  return static_cast<const arrow::ExtensionArray&>(*a).storage();
}

std::string UuidText(const uint8_t* b) {
  char out[37];
  std::snprintf(out, sizeof(out),
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11],
                b[12], b[13], b[14], b[15]);
  return out;
}

// The text `text(values, i)` of each value, nulls kept.
template <typename Values, typename Text>
arrow::Result<std::shared_ptr<arrow::Array>> TextOf(const Values& values, Text text) {
  arrow::StringBuilder out;
  ARROW_RETURN_NOT_OK(out.Reserve(values.length()));
  for (int64_t i = 0; i < values.length(); ++i) {
    if (values.IsNull(i))
      ARROW_RETURN_NOT_OK(out.AppendNull());
    else
      ARROW_RETURN_NOT_OK(out.Append(text(values, i)));
  }
  return out.Finish();
}

// ConvertColumn, `row_of` giving the table row (from 0) of each value of `column` (a
// list's element: the row of its list).
arrow::Result<std::shared_ptr<arrow::Array>> Convert(
    const ColumnPlan& plan, const std::shared_ptr<arrow::Array>& column,
    const std::function<int64_t(int64_t)>& row_of) {
  auto a = StorageArray(column);
  auto bad = [&](int64_t i, const std::string& why) {
    return arrow::Status::Invalid("row " + std::to_string(row_of(i) + 1) + ", column '" +
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
      const auto& type = static_cast<const arrow::Decimal128Type&>(*plan.type);
      const auto& text = static_cast<const arrow::StringArray&>(*a);
      arrow::Decimal128Builder out(plan.type);
      ARROW_RETURN_NOT_OK(out.Reserve(text.length()));
      for (int64_t i = 0; i < text.length(); ++i) {
        if (text.IsNull(i)) {
          out.UnsafeAppendNull();
          continue;
        }
        std::string_view s = text.GetView(i);
        auto v = DecimalOfText(s, type.precision(), type.scale());
        if (!v) {
          return bad(i, "the value " + std::string(s) + " does not fit " +
                            plan.type->ToString() +
                            (plan.unconstrained ? " (cast it in the query, or set "
                                                  "unconstrained_numeric: string)"
                                                : " (cast it in the query)"));
        }
        out.UnsafeAppend(*v);
      }
      return out.Finish();
    }
    case Conversion::kText:
    case Conversion::kDouble: {
      arrow::compute::CastOptions options = arrow::compute::CastOptions::Safe(plan.type);
      auto cast = arrow::compute::Cast(*a, plan.type, options);
      if (cast.ok()) return *cast;
      // Find the value that does not fit, to name it.
      const auto& text = static_cast<const arrow::StringArray&>(*a);
      for (int64_t i = 0; i < text.length(); ++i) {
        if (!text.IsValid(i)) continue;
        auto one = arrow::compute::Cast(*text.Slice(i, 1), plan.type, options);
        if (!one.ok())
          return bad(i, "the value " + std::string(text.GetView(i)) + " does not fit " +
                            plan.type->ToString() +
                            (plan.pg_type == "numeric" ? " (cast it in the query, or set "
                                                         "unconstrained_numeric: string)"
                                                       : ""));
      }
      return arrow::Status::Invalid("column '" + plan.name +
                                    "': " + cast.status().message());
    }
    case Conversion::kUuid:
      return TextOf(static_cast<const arrow::FixedSizeBinaryArray&>(*a),
                    [](const auto& b, int64_t i) { return UuidText(b.GetValue(i)); });
    case Conversion::kInterval:
      return TextOf(static_cast<const arrow::MonthDayNanoIntervalArray&>(*a),
                    [](const auto& v, int64_t i) {
                      auto x = v.GetValue(i);
                      return pgtext::IntervalText(x.months, x.days, x.nanoseconds / 1000);
                    });
    case Conversion::kList: {
      const auto& list = static_cast<const arrow::ListArray&>(*a);
      const int32_t* offsets = list.raw_value_offsets();
      const int64_t n = list.length();
      auto element_row = [&](int64_t j) {
        int64_t r = std::upper_bound(offsets, offsets + n + 1, j) - offsets - 1;
        return row_of(std::clamp<int64_t>(r, 0, n > 0 ? n - 1 : 0));
      };
      ARROW_ASSIGN_OR_RAISE(auto values,
                            Convert(*plan.element, list.values(),
                                    std::function<int64_t(int64_t)>(element_row)));
      return std::make_shared<arrow::ListArray>(
          plan.type, list.length(), list.value_offsets(), values, list.null_bitmap(),
          list.null_count(), list.offset());
    }
    case Conversion::kUnknown:
      break;
  }
  return arrow::Status::Invalid("column '" + plan.name + "' cannot be read");
}

}  // namespace

std::string Metadata(const arrow::Field& f, const std::string& key) {
  if (!f.metadata()) return "";
  auto v = f.metadata()->Get(key);
  return v.ok() ? *v : "";
}

std::shared_ptr<arrow::DataType> Storage(const std::shared_ptr<arrow::DataType>& t) {
  if (t->id() != arrow::Type::EXTENSION) return t;
  return static_cast<const arrow::ExtensionType&>(*t).storage_type();
}

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
      p.unconstrained = true;
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
    // PostgreSQL 15 packs the scale in 11 bits, signed (numeric(3,-2) rounds to
    // hundreds).
    int32_t precision = static_cast<int32_t>(((typmod - 4) >> 16) & 0xffff);
    int32_t scale = static_cast<int32_t>((((typmod - 4) & 0x7ff) ^ 1024) - 1024);
    if (precision > 38 || scale > precision || scale < 0) {
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
      element.name = p.name;  // messages name the column
      if (element.conversion == Conversion::kUnknown) {
        p.conversion = Conversion::kUnknown;
        return p;
      }
      // Timestamps and dates are checked for infinity element by element.
      bool checked = element.type->id() == arrow::Type::TIMESTAMP ||
                     element.type->id() == arrow::Type::DATE32;
      if (element.conversion != Conversion::kAsIs || checked ||
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

arrow::Result<std::shared_ptr<arrow::Schema>> WithArrayTypmods(
    adbc::Connection& conn, const std::string& table_name,
    std::shared_ptr<arrow::Schema> described) {
  ARROW_ASSIGN_OR_RAISE(std::string table, QuoteQualifiedName(table_name));
  ARROW_ASSIGN_OR_RAISE(
      auto reader,
      conn.Query("SELECT attname::text, atttypmod::text FROM pg_attribute WHERE "
                 "attrelid = " +
                 pgtext::QuoteLiteral(table) +
                 "::regclass AND attnum > 0 AND NOT attisdropped AND atttypmod >= 4 "
                 "AND atttypid = 'numeric[]'::regtype"));
  ARROW_ASSIGN_OR_RAISE(auto rows, reader->ToTable());
  ARROW_ASSIGN_OR_RAISE(rows, rows->CombineChunks());
  if (rows->num_rows() == 0) return described;
  auto names = std::static_pointer_cast<arrow::StringArray>(rows->column(0)->chunk(0));
  auto mods = std::static_pointer_cast<arrow::StringArray>(rows->column(1)->chunk(0));
  arrow::FieldVector fields = described->fields();
  for (int64_t r = 0; r < rows->num_rows(); ++r) {
    int i = described->GetFieldIndex(names->GetString(r));
    if (i < 0 || Storage(fields[i]->type())->id() != arrow::Type::LIST) continue;
    auto list = std::static_pointer_cast<arrow::ListType>(Storage(fields[i]->type()));
    auto child = list->value_field();
    std::string had = Metadata(*child, "POSTGRESQL:typmod");
    if (Metadata(*child, "POSTGRESQL:type") != "numeric" ||
        (!had.empty() && std::strtoll(had.c_str(), nullptr, 10) >= 4))
      continue;
    auto meta = child->metadata() ? child->metadata()->Copy()
                                  : std::make_shared<arrow::KeyValueMetadata>();
    ARROW_RETURN_NOT_OK(meta->Set("POSTGRESQL:typmod", mods->GetString(r)));
    fields[i] = fields[i]->WithType(arrow::list(child->WithMetadata(meta)));
  }
  return arrow::schema(fields, described->metadata());
}

arrow::Result<std::shared_ptr<arrow::Array>> ConvertColumn(
    const ColumnPlan& plan, const std::shared_ptr<arrow::Array>& column,
    int64_t first_row) {
  return Convert(plan, column, [first_row](int64_t i) { return first_row + i; });
}

}  // namespace inlet::pgcol
