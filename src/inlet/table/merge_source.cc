#include "inlet/table/merge_source.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <utility>

namespace inlet::table {

std::vector<bool> TrueRows(const std::shared_ptr<arrow::ChunkedArray>& column,
                           int64_t rows) {
  std::vector<bool> out(rows, false);
  if (!column || column->type()->id() != arrow::Type::BOOL) return out;
  int64_t row = 0;
  for (const auto& chunk : column->chunks()) {
    const auto& b = static_cast<const arrow::BooleanArray&>(*chunk);
    for (int64_t i = 0; i < b.length(); ++i, ++row) out[row] = b.IsValid(i) && b.Value(i);
  }
  return out;
}

namespace {

arrow::Result<std::vector<bool>> FlagColumn(const arrow::Table& source,
                                            const std::string& column, const char* what) {
  if (column.empty()) return std::vector<bool>(source.num_rows(), false);
  auto col = source.GetColumnByName(column);
  if (!col)
    return arrow::Status::Invalid("merge: ", what, " column '", column,
                                  "' is not in the source");
  if (col->type()->id() != arrow::Type::BOOL) {
    return arrow::Status::Invalid("merge: ", what, " column '", column,
                                  "' must be boolean, not ", col->type()->ToString());
  }
  return TrueRows(col, source.num_rows());
}

std::vector<int64_t> RowsWhere(const std::vector<bool>& flags, bool value) {
  std::vector<int64_t> out;
  for (size_t i = 0; i < flags.size(); ++i) {
    if (flags[i] == value) out.push_back(static_cast<int64_t>(i));
  }
  return out;
}

arrow::Result<std::shared_ptr<arrow::Table>> ConformTable(const arrow::Table& data,
                                                          const Transaction& tx) {
  arrow::TableBatchReader reader(data);
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  std::shared_ptr<arrow::RecordBatch> batch;
  while (true) {
    ARROW_RETURN_NOT_OK(reader.ReadNext(&batch));
    if (!batch) break;
    ARROW_ASSIGN_OR_RAISE(auto conformed, tx.Conform(*batch));
    batches.push_back(conformed);
  }
  return arrow::Table::FromRecordBatches(tx.schema(), batches);
}

arrow::Status CheckNoNulls(const arrow::Table& data,
                           const std::vector<std::string>& columns, const char* what) {
  for (const auto& k : columns) {
    auto col = data.GetColumnByName(k);
    if (!col)
      return arrow::Status::Invalid("merge: ", what, " column '", k,
                                    "' is not in the source");
    if (col->null_count() > 0) {
      return arrow::Status::Invalid("merge: ", what, " column '", k, "' has ",
                                    col->null_count(), " null values in the source");
    }
  }
  return arrow::Status::OK();
}

}  // namespace

arrow::Result<ConformedSource> ConformSource(const std::shared_ptr<arrow::Table>& source,
                                             const MergeOptions& o,
                                             const Transaction& tx) {
  ConformedSource out;
  ARROW_ASSIGN_OR_RAISE(auto flags, FlagColumn(*source, o.delete_flag, "delete flag"));
  ARROW_ASSIGN_OR_RAISE(auto truncates,
                        FlagColumn(*source, o.truncate_flag, "truncate flag"));
  std::shared_ptr<arrow::Table> data = source;
  for (const auto* flag : {&o.delete_flag, &o.truncate_flag}) {
    if (!flag->empty()) {
      ARROW_ASSIGN_OR_RAISE(data,
                            data->RemoveColumn(data->schema()->GetFieldIndex(*flag)));
    }
  }
  if (!o.truncate_flag.empty()) {
    // Truncate events carry no key: they leave the source, keeping the greatest sequence.
    auto rows = RowsWhere(truncates, true);
    if (!rows.empty()) {
      ARROW_ASSIGN_OR_RAISE(auto events, TakeRows(data, rows));
      ARROW_ASSIGN_OR_RAISE(events, ConformTable(*events, tx));
      ARROW_RETURN_NOT_OK(CheckNoNulls(*events, o.sequence_by, "sequence"));
      ARROW_ASSIGN_OR_RAISE(auto seqs, OrderedKeys(*events, o.sequence_by));
      out.truncate_at = *std::max_element(seqs.begin(), seqs.end());
      auto kept = RowsWhere(truncates, false);
      ARROW_ASSIGN_OR_RAISE(data, TakeRows(data, kept));
      std::vector<bool> kept_flags;
      for (int64_t i : kept) kept_flags.push_back(flags[i]);
      flags = std::move(kept_flags);
    }
  }
  ARROW_RETURN_NOT_OK(CheckNoNulls(*data, o.keys, "key"));
  ARROW_RETURN_NOT_OK(CheckNoNulls(*data, o.sequence_by, "sequence"));
  ARROW_ASSIGN_OR_RAISE(out.rows, ConformTable(*data, tx));
  out.deleted = std::move(flags);
  return out;
}

arrow::Result<MergeSource> IndexSource(ConformedSource conformed, const MergeOptions& o,
                                       KeyEncoder* encoder) {
  MergeSource out;
  out.truncate_at = std::move(conformed.truncate_at);
  std::shared_ptr<arrow::Table> rows = std::move(conformed.rows);
  std::vector<bool> flags = std::move(conformed.deleted);
  ARROW_ASSIGN_OR_RAISE(auto keys, encoder->Encode(*rows));
  if (o.mode == MergeMode::kDeleteInsert) {
    out.rows = rows;
    out.keys = std::move(keys);
    out.deleted = std::move(flags);
    out.late.assign(out.keys.size(), false);
    out.by_key.Reserve(out.keys.size());
    for (size_t i = 0; i < out.keys.size(); ++i)
      out.by_key.Emplace(out.keys[i], static_cast<int64_t>(i));
    return out;
  }
  // One row per key: the greatest sequence (or order_by value) wins, ties (and no order)
  // the later row. Changes at or before a truncate of the same source are dropped.
  std::vector<std::string> order;
  if (!o.sequence_by.empty()) {
    ARROW_ASSIGN_OR_RAISE(order, OrderedKeys(*rows, o.sequence_by));
  } else if (!o.order_by.empty()) {
    if (!rows->GetColumnByName(o.order_by)) {
      return arrow::Status::Invalid("merge: order_by column '", o.order_by,
                                    "' is not in the table");
    }
    ARROW_ASSIGN_OR_RAISE(order, OrderedKeys(*rows, {o.order_by}));
  }
  KeyIndex winner;
  winner.Reserve(keys.size());
  for (int64_t i = 0; i < rows->num_rows(); ++i) {
    if (i + 16 < rows->num_rows()) winner.Prefetch(keys[i + 16]);
    if (out.truncate_at && order[i] <= *out.truncate_at) continue;
    auto [row, inserted] = winner.Emplace(keys[i], i);
    if (!inserted && (order.empty() || order[i] >= order[*row])) *row = i;
  }
  std::vector<int64_t> kept;
  kept.reserve(winner.size());
  if (static_cast<int64_t>(winner.size()) == rows->num_rows()) {
    // Every row is its key's only one (and already maps to itself).
    for (int64_t i = 0; i < rows->num_rows(); ++i) kept.push_back(i);
  } else {
    for (int64_t i = 0; i < rows->num_rows(); ++i) {
      int64_t* row = winner.Find(keys[i]);
      if (row && *row == i) {
        *row = static_cast<int64_t>(kept.size());  // now: the row in out.rows
        kept.push_back(i);
      }
    }
  }
  out.duplicates = rows->num_rows() - static_cast<int64_t>(kept.size());
  ARROW_ASSIGN_OR_RAISE(out.rows, TakeRows(rows, kept));
  out.keys.reserve(kept.size());
  for (int64_t i : kept) {
    out.keys.push_back(keys[i]);
    out.deleted.push_back(flags[i]);
    if (!o.sequence_by.empty()) out.sequences.push_back(std::move(order[i]));
  }
  out.late.assign(kept.size(), false);
  out.by_key = std::move(winner);
  return out;
}

arrow::Result<MergeSource> PrepareSource(const std::shared_ptr<arrow::Table>& source,
                                         const MergeOptions& o, const Transaction& tx,
                                         KeyEncoder* encoder) {
  ARROW_ASSIGN_OR_RAISE(auto conformed, ConformSource(source, o, tx));
  return IndexSource(std::move(conformed), o, encoder);
}

}  // namespace inlet::table
