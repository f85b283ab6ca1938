#include "inlet/load/strategy.h"

#include <algorithm>
#include <set>
#include <tuple>
#include <unordered_map>

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <arrow/scalar.h>

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
    case arrow::Type::TIMESTAMP: return CursorKind::kTimestamp;
    case arrow::Type::DATE32: return CursorKind::kDate;
    case arrow::Type::INT8: case arrow::Type::INT16: case arrow::Type::INT32: case arrow::Type::INT64:
      return CursorKind::kInteger;
    default:
      return arrow::Status::Invalid("cursor column '", cursor, "' has type ", t.ToString(),
                                    "; a cursor must be a timestamp, date or integer column");
  }
}

// Cursor values as int64: microseconds, days or the integer itself.
int64_t ValueOf(const arrow::Scalar& s) {
  switch (s.type->id()) {
    case arrow::Type::TIMESTAMP: return static_cast<const arrow::TimestampScalar&>(s).value;
    case arrow::Type::DATE32: return static_cast<const arrow::Date32Scalar&>(s).value;
    case arrow::Type::INT8: return static_cast<const arrow::Int8Scalar&>(s).value;
    case arrow::Type::INT16: return static_cast<const arrow::Int16Scalar&>(s).value;
    case arrow::Type::INT32: return static_cast<const arrow::Int32Scalar&>(s).value;
    default: return static_cast<const arrow::Int64Scalar&>(s).value;
  }
}

const char* KindName(CursorKind kind) {
  switch (kind) {
    case CursorKind::kTimestamp: return "timestamp";
    case CursorKind::kDate: return "date";
    case CursorKind::kInteger: return "integer";
  }
  return "";
}

std::string TextOf(int64_t v, CursorKind kind) {
  switch (kind) {
    case CursorKind::kTimestamp: return FormatTimestampIso(v);
    case CursorKind::kDate: return FormatDate(static_cast<int32_t>(v));
    case CursorKind::kInteger: return std::to_string(v);
  }
  return "";
}

arrow::Result<int64_t> ParseCursorText(const std::string& text, const std::shared_ptr<arrow::DataType>& type,
                                       const std::string& what) {
  auto s = ScalarFromText(text, type);
  if (!s.ok()) return arrow::Status::Invalid(what, " '", text, "': ", s.status().message());
  return ValueOf(**s);
}

// The cursor column as int64 values (cast to microseconds for timestamps) and validity.
struct CursorValues {
  std::vector<int64_t> values;
  std::vector<bool> valid;
};

arrow::Result<CursorValues> ReadCursor(const std::shared_ptr<arrow::ChunkedArray>& column, CursorKind kind) {
  std::shared_ptr<arrow::DataType> target = kind == CursorKind::kTimestamp
      ? arrow::timestamp(arrow::TimeUnit::MICRO) : kind == CursorKind::kDate ? arrow::date32() : arrow::int64();
  std::shared_ptr<arrow::ChunkedArray> col = column;
  if (kind == CursorKind::kTimestamp) {
    // Drop the zone first: the stored values are UTC either way.
    const auto& tt = static_cast<const arrow::TimestampType&>(*column->type());
    ARROW_ASSIGN_OR_RAISE(arrow::Datum d, arrow::compute::Cast(column, arrow::timestamp(tt.unit())));
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

// The data columns (without the file index) of a source table.
std::vector<std::string> DataColumns(const arrow::Table& t) {
  std::vector<std::string> out;
  for (const auto& f : t.schema()->fields()) {
    if (f->name() != kFileIndexColumn) out.push_back(f->name());
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
  if (!column) return arrow::Status::Invalid("cursor column '", o.cursor, "' is not in the source data");
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
    auto idx_col = source->GetColumnByName(kFileIndexColumn);
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
          } else if (!out.file_max_cursor[f] || cursor.values[row] > *out.file_max_cursor[f]) {
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
    return arrow::Status::Invalid(nulls, " source rows have a null cursor '", o.cursor, "'",
                                  file.empty() ? "" : " (the first in " + file + ")",
                                  "; set strategy.null_cursor to include or exclude to load the others");
  }
  ARROW_ASSIGN_OR_RAISE(auto mask, MaskOf(n, [&](int64_t i) { return static_cast<bool>(keep[i]); }));
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
      ARROW_ASSIGN_OR_RAISE(auto more, ExistingKeys(*table, {{o.cursor, CompareOp::kIsNull, ""}}, o.keys, columns));
      existing.insert(more.begin(), more.end());
    }
    ARROW_ASSIGN_OR_RAISE(auto data, selected->SelectColumns([&] {
      std::vector<int> idx;
      for (const auto& c : columns) idx.push_back(selected->schema()->GetFieldIndex(c));
      return idx;
    }()));
    ARROW_ASSIGN_OR_RAISE(auto keys, RowKeys(*data, o.keys));
    ARROW_ASSIGN_OR_RAISE(auto fresh, MaskOf(selected->num_rows(), [&](int64_t i) { return !existing.count(keys[i]); }));
    ARROW_ASSIGN_OR_RAISE(auto deduped, SelectRows(selected, fresh));
    out.deduplicated = selected->num_rows() - deduped->num_rows();
    selected = deduped;
  }
  out.rows = selected;

  // The new watermark: the greatest cursor loaded (never moving back, never by a backfill).
  if (!backfill) {
    std::optional<int64_t> high = wm;
    for (int64_t i = 0; i < n; ++i) {
      if (keep[i] && cursor.valid[i] && (!high || cursor.values[i] > *high)) high = cursor.values[i];
    }
    if (high) out.watermark_after = TextOf(*high, kind);
    out.watermark_value = high;
  } else {
    out.watermark_after = watermark;
    out.watermark_value = wm;
  }
  return out;
}

// "(location="A", ts="2024-...")" for messages.
std::string DescribeKey(const arrow::Table& rows, int64_t row, const std::vector<std::string>& keys) {
  std::string out = "(";
  for (const auto& k : keys) {
    auto scalar = rows.GetColumnByName(k)->GetScalar(row);
    out += (out.size() > 1 ? ", " : "") + k + "=" + (scalar.ok() ? (*scalar)->ToString() : "?");
  }
  return out + ")";
}

arrow::Result<std::optional<int64_t>> LowestLoadable(const std::string& kind,
                                                     const std::optional<int64_t>& wm,
                                                     const WatermarkOptions& o) {
  if (!wm) return std::optional<int64_t>();
  int64_t lower = o.inclusive ? *wm : *wm + 1;
  if (o.lookback) {
    int64_t span = *o.lookback;
    if (kind == "integer" && o.lookback_has_unit) {
      return arrow::Status::Invalid("strategy.lookback: a duration with a unit needs a timestamp or date cursor; '",
                                    o.cursor, "' is an integer (use a plain number)");
    }
    if (kind == "timestamp" && !o.lookback_has_unit) span *= 1000000;
    if (kind == "date" && o.lookback_has_unit) span /= 86400000000LL;
    lower = std::min(lower, *wm - span + 1);
  }
  return std::optional<int64_t>(lower);
}

bool CanSkipFile(const FileMark& mark, int64_t size, int64_t mtime_ns,
                 const std::optional<int64_t>& lowest_loadable, NullCursorPolicy null_cursor) {
  if (mark.size != size || mark.mtime_ns != mtime_ns || !lowest_loadable) return false;
  if (mark.has_null && null_cursor == NullCursorPolicy::kInclude) return false;
  return !mark.max_cursor || *mark.max_cursor < *lowest_loadable;
}

arrow::Result<QualityResult> ApplyKeyGates(const std::shared_ptr<arrow::Table>& input,
                                           const QualityOptions& o,
                                           const std::vector<std::string>& file_names) {
  QualityResult out{input, 0, nullptr};
  if (input->num_rows() == 0 || o.keys.empty()) return out;
  if (o.duplicate_keys == RejectPolicy::kAllow && o.null_keys == RejectPolicy::kAllow) return out;
  std::vector<int64_t> null_key_of;  // per row: the key column index that is null, or -1
  null_key_of.assign(input->num_rows(), -1);
  for (size_t k = 0; k < o.keys.size(); ++k) {
    auto col = input->GetColumnByName(o.keys[k]);
    if (!col) return arrow::Status::Invalid("key column '", o.keys[k], "' is not in the source data");
    if (col->null_count() == 0) continue;
    int64_t row = 0;
    for (const auto& chunk : col->chunks()) {
      for (int64_t i = 0; i < chunk->length(); ++i, ++row) {
        if (chunk->IsNull(i) && null_key_of[row] < 0) null_key_of[row] = static_cast<int64_t>(k);
      }
    }
  }
  KeyEncoder encoder(o.keys);
  ARROW_ASSIGN_OR_RAISE(auto ids, encoder.Encode(*input));
  // Rows sharing a key (rows with a null key count as one group): the first row of each.
  int64_t first_null = -1;
  // Keys in strictly ascending order (an extract ordered by its key) cannot repeat: no
  // lookups are needed then.
  bool ascending = true;
  for (size_t i = 1; i < ids.size() && ascending; ++i) ascending = ids[i - 1] < ids[i];
  if (ascending && std::all_of(null_key_of.begin(), null_key_of.end(), [](int64_t k) { return k < 0; })) return out;
  KeyIndex first_id;
  first_id.Reserve(ids.size());
  auto first_of = [&](int64_t i) { return null_key_of[i] >= 0 ? first_null : *first_id.Find(ids[i]); };
  std::vector<int64_t> repeated;  // rows whose key came earlier
  for (int64_t i = 0; i < input->num_rows(); ++i) {
    bool seen_before;
    if (null_key_of[i] >= 0) {
      seen_before = first_null >= 0;
      if (!seen_before) first_null = i;
    } else {
      seen_before = !first_id.Emplace(ids[i], i).second;
    }
    if (seen_before) repeated.push_back(i);
  }
  // Identical rows sharing a key (overlapping snapshots of a source) are one row, not
  // duplicates to reject. Without keys, identical rows may be distinct events: all stay.
  std::vector<char> dropped(input->num_rows(), 0);
  if (o.duplicate_keys != RejectPolicy::kAllow && !repeated.empty()) {
    std::vector<int64_t> involved;  // the repeated rows and the first row of their keys
    for (int64_t i : repeated) {
      involved.push_back(first_of(i));
      involved.push_back(i);
    }
    std::sort(involved.begin(), involved.end());
    involved.erase(std::unique(involved.begin(), involved.end()), involved.end());
    ARROW_ASSIGN_OR_RAISE(auto some, TakeRows(input, involved));
    ARROW_ASSIGN_OR_RAISE(auto hashes, HashRows(*some, DataColumns(*input)));
    // (first row of the key, row hash): a repeat is an identical row of the same key.
    std::set<std::tuple<int64_t, uint64_t, uint64_t>> seen;
    for (size_t j = 0; j < involved.size(); ++j) {
      if (!seen.emplace(first_of(involved[j]), hashes[j].lo, hashes[j].hi).second) {
        dropped[involved[j]] = 1;
        ++out.deduplicated;
      }
    }
  }
  // The rows that stay, and why the others are rejected.
  std::shared_ptr<arrow::Table> rows = input;
  std::vector<int64_t> kept_rows;
  if (out.deduplicated > 0) {
    for (int64_t i = 0; i < input->num_rows(); ++i) {
      if (!dropped[i]) kept_rows.push_back(i);
    }
    ARROW_ASSIGN_OR_RAISE(rows, TakeRows(input, kept_rows));
  }
  auto original = [&](int64_t i) { return kept_rows.empty() ? i : kept_rows[i]; };
  out.accepted = rows;
  int64_t n = rows->num_rows();
  std::vector<std::string> reason(n);
  bool any_reason = false;
  if (o.null_keys != RejectPolicy::kAllow) {
    for (int64_t i = 0; i < n; ++i) {
      int64_t k = null_key_of[original(i)];
      if (k < 0) continue;
      if (o.null_keys == RejectPolicy::kFail) {
        std::string file = FileOfRow(*rows, i, file_names);
        return arrow::Status::Invalid("quality gate null_keys: a row has a null key column '", o.keys[k], "'",
                                      file.empty() ? "" : " (in " + file + ")");
      }
      reason[i] = "null key column '" + o.keys[k] + "'";
      any_reason = true;
    }
  }
  // Keys repeated within the run: the first occurrence stays.
  if (o.duplicate_keys != RejectPolicy::kAllow && !repeated.empty()) {
    std::unordered_map<int64_t, int64_t> first;
    for (int64_t i = 0; i < n; ++i) {
      int64_t r = original(i);
      if (!reason[i].empty() || null_key_of[r] >= 0) continue;
      auto [it, inserted] = first.emplace(ids[r], i);
      if (inserted) continue;
      if (o.duplicate_keys == RejectPolicy::kFail) {
        std::string file = FileOfRow(*rows, i, file_names);
        return arrow::Status::Invalid("quality gate duplicate_keys: key ", DescribeKey(*rows, i, o.keys),
                                      " occurs in rows with different values",
                                      file.empty() ? "" : " (again in " + file + ")");
      }
      reason[i] = "duplicate key";
      any_reason = true;
    }
  }
  if (!any_reason) return out;
  ARROW_ASSIGN_OR_RAISE(auto ok_mask, MaskOf(n, [&](int64_t i) { return reason[i].empty(); }));
  ARROW_ASSIGN_OR_RAISE(out.accepted, SelectRows(rows, ok_mask));
  if (out.accepted->num_rows() == n) return out;
  ARROW_ASSIGN_OR_RAISE(auto bad_mask, MaskOf(n, [&](int64_t i) { return !reason[i].empty(); }));
  ARROW_ASSIGN_OR_RAISE(auto rejected, SelectRows(rows, bad_mask));
  arrow::StringBuilder b;
  for (int64_t i = 0; i < n; ++i) {
    if (!reason[i].empty()) ARROW_RETURN_NOT_OK(b.Append(reason[i]));
  }
  ARROW_ASSIGN_OR_RAISE(auto reasons, b.Finish());
  ARROW_ASSIGN_OR_RAISE(out.rejected, rejected->AddColumn(rejected->num_columns(), arrow::field("_reject_reason", arrow::utf8()),
                                                          std::make_shared<arrow::ChunkedArray>(reasons)));
  return out;
}

}  // namespace inlet::load
