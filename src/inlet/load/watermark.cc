#include "inlet/load/watermark.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <arrow/scalar.h>

#include <algorithm>
#include <set>
#include <tuple>
#include <unordered_map>

#include "inlet/common/time.h"
#include "inlet/load/rows.h"
#include "inlet/source/file_source.h"
#include "inlet/table/row_hash.h"
#include "inlet/table/value.h"

namespace inlet::load {

namespace {

enum class CursorKind { kTimestamp, kDate, kInteger };

arrow::Result<CursorKind> KindOf(const arrow::DataType& t, const std::string& cursor) {
  switch (t.id()) {
    case arrow::Type::TIMESTAMP:
      return CursorKind::kTimestamp;
    case arrow::Type::DATE32:
      return CursorKind::kDate;
    case arrow::Type::INT8:
    case arrow::Type::INT16:
    case arrow::Type::INT32:
    case arrow::Type::INT64:
      return CursorKind::kInteger;
    default:
      return arrow::Status::Invalid(
          "cursor column '", cursor, "' has type ", t.ToString(),
          "; a cursor must be a timestamp, date or integer column");
  }
}

// Cursor values as int64: microseconds, days or the integer itself.
int64_t ValueOf(const arrow::Scalar& s) {
  switch (s.type->id()) {
    case arrow::Type::TIMESTAMP:
      return static_cast<const arrow::TimestampScalar&>(s).value;
    case arrow::Type::DATE32:
      return static_cast<const arrow::Date32Scalar&>(s).value;
    case arrow::Type::INT8:
      return static_cast<const arrow::Int8Scalar&>(s).value;
    case arrow::Type::INT16:
      return static_cast<const arrow::Int16Scalar&>(s).value;
    case arrow::Type::INT32:
      return static_cast<const arrow::Int32Scalar&>(s).value;
    default:
      return static_cast<const arrow::Int64Scalar&>(s).value;
  }
}

const char* KindName(CursorKind kind) {
  switch (kind) {
    case CursorKind::kTimestamp:
      return "timestamp";
    case CursorKind::kDate:
      return "date";
    case CursorKind::kInteger:
      return "integer";
  }
  return "";
}

std::string TextOf(int64_t v, CursorKind kind) {
  switch (kind) {
    case CursorKind::kTimestamp:
      return FormatTimestampIso(v);
    case CursorKind::kDate:
      return FormatDate(static_cast<int32_t>(v));
    case CursorKind::kInteger:
      return std::to_string(v);
  }
  return "";
}

arrow::Result<int64_t> ParseCursorText(const std::string& text,
                                       const std::shared_ptr<arrow::DataType>& type,
                                       const std::string& what) {
  auto s = ScalarFromText(text, type);
  if (!s.ok())
    return arrow::Status::Invalid(what, " '", text, "': ", s.status().message());
  return ValueOf(**s);
}

// The cursor column as int64 values (cast to microseconds for timestamps) and validity.
struct CursorValues {
  std::vector<int64_t> values;
  std::vector<bool> valid;
};

arrow::Result<CursorValues> ReadCursor(const std::shared_ptr<arrow::ChunkedArray>& column,
                                       CursorKind kind) {
  std::shared_ptr<arrow::DataType> target = kind == CursorKind::kTimestamp
                                                ? arrow::timestamp(arrow::TimeUnit::MICRO)
                                            : kind == CursorKind::kDate ? arrow::date32()
                                                                        : arrow::int64();
  std::shared_ptr<arrow::ChunkedArray> col = column;
  if (kind == CursorKind::kTimestamp) {
    // Drop the zone first: the stored values are UTC either way.
    const auto& tt = static_cast<const arrow::TimestampType&>(*column->type());
    ARROW_ASSIGN_OR_RAISE(arrow::Datum d,
                          arrow::compute::Cast(column, arrow::timestamp(tt.unit())));
    col = d.chunked_array();
  }
  ARROW_ASSIGN_OR_RAISE(arrow::Datum casted, arrow::compute::Cast(col, target));
  CursorValues out;
  for (const auto& chunk : casted.chunked_array()->chunks()) {
    // Dates widen to int64 days; timestamps are viewed as their int64 microseconds.
    std::shared_ptr<arrow::Array> values;
    if (kind == CursorKind::kDate) {
      ARROW_ASSIGN_OR_RAISE(auto days, chunk->View(arrow::int32()));
      ARROW_ASSIGN_OR_RAISE(values, arrow::compute::Cast(*days, arrow::int64()));
    } else {
      ARROW_ASSIGN_OR_RAISE(values, chunk->View(arrow::int64()));
    }
    const auto& ints = static_cast<const arrow::Int64Array&>(*values);
    for (int64_t i = 0; i < ints.length(); ++i) {
      bool ok = ints.IsValid(i);
      out.valid.push_back(ok);
      out.values.push_back(ok ? ints.Value(i) : 0);
    }
  }
  return out;
}

}  // namespace

arrow::Result<Selection> SelectByWatermark(const std::shared_ptr<arrow::Table>& source,
                                           const WatermarkOptions& o,
                                           const std::optional<std::string>& watermark,
                                           const Snapshot* table,
                                           const std::vector<std::string>& file_names) {
  auto column = source->GetColumnByName(o.cursor);
  if (!column)
    return arrow::Status::Invalid("cursor column '", o.cursor,
                                  "' is not in the source data");
  ARROW_ASSIGN_OR_RAISE(CursorKind kind, KindOf(*column->type(), o.cursor));
  ARROW_ASSIGN_OR_RAISE(CursorValues cursor, ReadCursor(column, kind));
  auto type = column->type();
  bool backfill = o.backfill_from || o.backfill_to;

  // The half-open or closed range of cursor values to load.
  std::optional<int64_t> lower, upper;  // lower inclusive, upper inclusive
  std::optional<int64_t> wm;
  if (watermark) {
    ARROW_ASSIGN_OR_RAISE(wm, ParseCursorText(*watermark, type, "stored watermark"));
  }
  if (backfill) {
    if (o.backfill_from) {
      ARROW_ASSIGN_OR_RAISE(lower, ParseCursorText(*o.backfill_from, type, "--from"));
    }
    if (o.backfill_to) {
      ARROW_ASSIGN_OR_RAISE(int64_t to, ParseCursorText(*o.backfill_to, type, "--to"));
      upper = to - 1;
    }
  } else {
    ARROW_ASSIGN_OR_RAISE(lower, LowestLoadable(KindName(kind), wm, o));
  }
  if (!backfill && o.safety_margin_us && kind == CursorKind::kTimestamp) {
    upper = o.now_us - *o.safety_margin_us;
  }

  Selection out;
  out.cursor_kind = KindName(kind);
  int64_t n = source->num_rows();
  {
    // Per-file cursor marks, for skipping unchanged files in later runs.
    auto idx_col = source->GetColumnByName(kPartColumn);
    out.file_max_cursor.assign(file_names.size(), std::nullopt);
    out.file_has_null.assign(file_names.size(), false);
    if (idx_col) {
      int64_t row = 0;
      for (const auto& chunk : idx_col->chunks()) {
        const auto& idx = static_cast<const arrow::Int32Array&>(*chunk);
        for (int64_t i = 0; i < idx.length(); ++i, ++row) {
          size_t f = static_cast<size_t>(idx.Value(i));
          if (f >= file_names.size()) continue;
          if (!cursor.valid[row]) {
            out.file_has_null[f] = true;
          } else if (!out.file_max_cursor[f] ||
                     cursor.values[row] > *out.file_max_cursor[f]) {
            out.file_max_cursor[f] = cursor.values[row];
          }
        }
      }
    }
  }
  int64_t nulls = 0, first_null = -1;
  std::vector<bool> keep(n, false);
  for (int64_t i = 0; i < n; ++i) {
    if (!cursor.valid[i]) {
      ++nulls;
      if (first_null < 0) first_null = i;
      keep[i] = o.null_cursor == NullCursorPolicy::kInclude && !backfill;
      continue;
    }
    int64_t v = cursor.values[i];
    keep[i] = (!lower || v >= *lower) && (!upper || v <= *upper);
    if (!keep[i]) ++out.skipped_watermark;
  }
  if (nulls > 0 && o.null_cursor == NullCursorPolicy::kFail) {
    std::string file = FileOfRow(*source, first_null, file_names);
    return arrow::Status::Invalid(
        nulls, " source rows have a null cursor '", o.cursor, "'",
        file.empty() ? "" : " (the first in " + file + ")",
        "; set strategy.null_cursor to include or exclude to load the others");
  }
  ARROW_ASSIGN_OR_RAISE(auto mask,
                        MaskOf(n, [&](int64_t i) { return static_cast<bool>(keep[i]); }));
  ARROW_ASSIGN_OR_RAISE(auto selected, SelectRows(source, mask));

  // Rows in ranges the table may already hold are de-duplicated against it.
  bool overlaps = backfill || (wm && (o.inclusive || o.lookback));
  bool null_rows = nulls > 0 && o.null_cursor == NullCursorPolicy::kInclude;
  if (table && (overlaps || null_rows) && selected->num_rows() > 0) {
    std::vector<std::string> columns = DataColumns(*selected);
    std::unordered_set<std::string> existing;
    if (overlaps) {
      Conjunction filter;
      if (lower) filter.push_back({o.cursor, CompareOp::kGe, TextOf(*lower, kind)});
      if (upper) filter.push_back({o.cursor, CompareOp::kLe, TextOf(*upper, kind)});
      ARROW_ASSIGN_OR_RAISE(existing, ExistingKeys(*table, filter, o.keys, columns));
    }
    if (null_rows) {
      ARROW_ASSIGN_OR_RAISE(
          auto more,
          ExistingKeys(*table, {{o.cursor, CompareOp::kIsNull, ""}}, o.keys, columns));
      existing.insert(more.begin(), more.end());
    }
    ARROW_ASSIGN_OR_RAISE(auto data, selected->SelectColumns([&] {
      std::vector<int> idx;
      for (const auto& c : columns) idx.push_back(selected->schema()->GetFieldIndex(c));
      return idx;
    }()));
    ARROW_ASSIGN_OR_RAISE(auto keys, RowKeys(*data, o.keys));
    ARROW_ASSIGN_OR_RAISE(auto fresh, MaskOf(selected->num_rows(), [&](int64_t i) {
                            return !existing.count(keys[i]);
                          }));
    ARROW_ASSIGN_OR_RAISE(auto deduped, SelectRows(selected, fresh));
    out.deduplicated = selected->num_rows() - deduped->num_rows();
    selected = deduped;
  }
  out.rows = selected;

  // The new watermark: the greatest cursor loaded (never moving back, never by a
  // backfill).
  if (!backfill) {
    std::optional<int64_t> high = wm;
    for (int64_t i = 0; i < n; ++i) {
      if (keep[i] && cursor.valid[i] && (!high || cursor.values[i] > *high))
        high = cursor.values[i];
    }
    if (high) out.watermark_after = TextOf(*high, kind);
    out.watermark_value = high;
  } else {
    out.watermark_after = watermark;
    out.watermark_value = wm;
  }
  return out;
}

arrow::Result<std::optional<int64_t>> LowestLoadable(const std::string& kind,
                                                     const std::optional<int64_t>& wm,
                                                     const WatermarkOptions& o) {
  if (!wm) return std::optional<int64_t>();
  int64_t lower = o.inclusive ? *wm : *wm + 1;
  if (o.lookback) {
    int64_t span = *o.lookback;
    if (kind == "integer" && o.lookback_has_unit) {
      return arrow::Status::Invalid(
          "strategy.lookback: a duration with a unit needs a timestamp or date cursor; '",
          o.cursor, "' is an integer (use a plain number)");
    }
    if (kind == "timestamp" && !o.lookback_has_unit) span *= 1000000;
    if (kind == "date" && o.lookback_has_unit) span /= 86400000000LL;
    lower = std::min(lower, *wm - span + 1);
  }
  return std::optional<int64_t>(lower);
}

bool CanSkipPart(const PartMark& mark, const std::optional<int64_t>& lowest_loadable,
                 NullCursorPolicy null_cursor) {
  if (!lowest_loadable) return false;
  if (mark.has_null && null_cursor == NullCursorPolicy::kInclude) return false;
  return !mark.max_cursor || *mark.max_cursor < *lowest_loadable;
}

}  // namespace inlet::load
