// The watermark strategy's row selection: the source rows past the watermark (or inside a
// lookback or backfill range), de-duplicated against the table, and the marks that let
// later runs skip unchanged files below it. It sees tables only through inlet/table.h.
#pragma once

#include <arrow/result.h>
#include <arrow/table.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "inlet/source/source.h"
#include "inlet/table.h"

namespace inlet::load {

enum class NullCursorPolicy { kFail, kInclude, kExclude };

struct WatermarkOptions {
  std::string cursor;
  bool inclusive = false;
  /// Re-read span behind the watermark: microseconds when lookback_has_unit, else a plain
  /// number (seconds for timestamp cursors, days for dates, a count for integers).
  std::optional<int64_t> lookback;
  bool lookback_has_unit = false;
  /// Rows newer than now - safety_margin_us wait for a later run (timestamp cursors).
  std::optional<int64_t> safety_margin_us;
  NullCursorPolicy null_cursor = NullCursorPolicy::kFail;
  /// Identify rows for de-duplication against the table; empty: the whole row.
  std::vector<std::string> keys;
  /// A backfill: load from <= cursor < to, leaving the watermark alone.
  std::optional<std::string> backfill_from;
  std::optional<std::string> backfill_to;
  int64_t now_us = 0;
};

struct Selection {
  std::shared_ptr<arrow::Table> rows;
  int64_t skipped_watermark = 0;
  int64_t deduplicated = 0;
  std::optional<std::string> watermark_after;
  /// The cursor's kind ("timestamp", "date" or "integer") and the new watermark as int64:
  /// microseconds for timestamps, days for dates, the integer itself.
  std::string cursor_kind;
  std::optional<int64_t> watermark_value;
  /// Per source file (by the file-index column): max cursor and whether it had nulls.
  std::vector<std::optional<int64_t>> file_max_cursor;
  std::vector<bool> file_has_null;
};

/// The smallest cursor value (int64 form) a non-backfill run can load given the
/// watermark, or nullopt when any value can. Fails for a lookback unit an integer cursor
/// cannot take.
arrow::Result<std::optional<int64_t>> LowestLoadable(
    const std::string& cursor_kind, const std::optional<int64_t>& watermark_value,
    const WatermarkOptions& options);

/// Whether a part (file) an earlier run marked, and that has not changed since, may be
/// skipped now: every cursor value it holds is below lowest_loadable, and no null cursor
/// is loaded.
bool CanSkipPart(const PartMark& mark, const std::optional<int64_t>& lowest_loadable,
                 NullCursorPolicy null_cursor);

/// Selects the source rows beyond the watermark (see docs/pipelines.md). table is the
/// destination's current snapshot (null when it does not exist yet); file_names names the
/// files by the source's file-index column for messages.
arrow::Result<Selection> SelectByWatermark(const std::shared_ptr<arrow::Table>& source,
                                           const WatermarkOptions& options,
                                           const std::optional<std::string>& watermark,
                                           const Snapshot* table,
                                           const std::vector<std::string>& file_names);

}  // namespace inlet::load
