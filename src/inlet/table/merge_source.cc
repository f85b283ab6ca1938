#include "inlet/table/merge_source.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <cctype>
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

// Whether row a of a key's rows comes after row b: the greater order (sequence or
// order_by), ties the later row; without an order, the later row.
bool After(const std::vector<std::string>& order, int64_t a, int64_t b) {
  if (!order.empty() && order[a] != order[b]) return order[a] > order[b];
  return a > b;
}

// A winning row's columns it was not given, filled from its key's latest earlier row that
// gave them; not across a delete of the key (its row is new: what it lacks is null).
// rows and kept as IndexSource has them; row_of: each row's kept position (-1: none).
arrow::Result<std::shared_ptr<arrow::Table>> FoldGiven(
    std::shared_ptr<arrow::Table> out, const arrow::Table& rows,
    const std::vector<int64_t>& kept, const std::vector<int64_t>& row_of,
    const std::vector<bool>& deleted, const std::vector<std::string>& order,
    std::map<std::string, std::vector<bool>>* given,
    std::map<std::string, std::vector<std::string>>* origins) {
  const int64_t n = static_cast<int64_t>(kept.size());
  std::vector<int64_t> last_delete(n, -1);
  for (int64_t i = 0; i < rows.num_rows(); ++i) {
    int64_t r = row_of[i];
    if (r < 0 || !deleted[i]) continue;
    if (last_delete[r] < 0 || After(order, i, last_delete[r])) last_delete[r] = i;
  }
  for (auto& [column, flags] : *given) {
    std::vector<int64_t> best(n, -1);
    for (int64_t i = 0; i < rows.num_rows(); ++i) {
      int64_t r = row_of[i];
      if (r < 0 || !flags[i] || deleted[i]) continue;
      if (last_delete[r] >= 0 && !After(order, i, last_delete[r])) continue;
      if (best[r] < 0 || After(order, i, best[r])) best[r] = i;
    }
    arrow::Int64Builder take;
    ARROW_RETURN_NOT_OK(take.Reserve(n));
    std::vector<bool> folded(n);
    for (int64_t r = 0; r < n; ++r) {
      if (best[r] >= 0) {
        take.UnsafeAppend(best[r]);
      } else if (last_delete[r] >= 0 && !deleted[kept[r]]) {
        take.UnsafeAppendNull();  // a new row after a delete
      } else {
        take.UnsafeAppend(kept[r]);
      }
      folded[r] = best[r] >= 0 || last_delete[r] >= 0;
    }
    if (origins) {
      auto& from = (*origins)[column];
      from.assign(n, std::string());
      for (int64_t r = 0; r < n; ++r) {
        // A new row after a delete has its null from the winning row itself.
        if (best[r] >= 0) {
          from[r] = order[best[r]];
        } else if (folded[r]) {
          from[r] = order[kept[r]];
        }
      }
    }
    ARROW_ASSIGN_OR_RAISE(auto indices, take.Finish());
    int idx = out->schema()->GetFieldIndex(column);
    ARROW_ASSIGN_OR_RAISE(arrow::Datum values,
                          arrow::compute::Take(rows.GetColumnByName(column), indices));
    ARROW_ASSIGN_OR_RAISE(out,
                          out->SetColumn(idx, out->field(idx), values.chunked_array()));
    flags = std::move(folded);
  }
  return out;
}

}  // namespace

std::string MatchingName(const arrow::Schema& schema, const std::string& name) {
  if (schema.GetFieldIndex(name) >= 0) return name;
  auto lower = [](std::string s) {
    for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  for (const auto& f : schema.fields()) {
    if (lower(f->name()) == lower(name)) return f->name();
  }
  return "";
}

arrow::Result<std::shared_ptr<arrow::Schema>> WithoutFlags(const arrow::Schema& source,
                                                           const MergeOptions& o) {
  std::vector<std::string> flags = {o.delete_flag, o.truncate_flag};
  for (const auto& [column, flag] : o.given_flags) flags.push_back(flag);
  arrow::FieldVector fields;
  for (const auto& f : source.fields()) {
    if (std::find(flags.begin(), flags.end(), f->name()) == flags.end())
      fields.push_back(f);
  }
  return arrow::schema(fields, source.metadata());
}

arrow::Result<ConformedSource> ConformSource(const std::shared_ptr<arrow::Table>& source,
                                             const MergeOptions& o,
                                             const Transaction& tx) {
  ConformedSource out;
  ARROW_ASSIGN_OR_RAISE(auto flags, FlagColumn(*source, o.delete_flag, "delete flag"));
  ARROW_ASSIGN_OR_RAISE(auto truncates,
                        FlagColumn(*source, o.truncate_flag, "truncate flag"));
  // Given flags of columns the table has (a flag of a key never applies: keys are not
  // updated).
  for (const auto& [column, flag] : o.given_flags) {
    std::string name = MatchingName(*tx.schema(), column);
    if (name.empty() || std::find(o.keys.begin(), o.keys.end(), name) != o.keys.end())
      continue;
    ARROW_ASSIGN_OR_RAISE(out.given[name], FlagColumn(*source, flag, "given flag"));
  }
  std::shared_ptr<arrow::Table> data = source;
  ARROW_ASSIGN_OR_RAISE(auto kept_columns, WithoutFlags(*source->schema(), o));
  if (kept_columns->num_fields() < source->num_columns()) {
    std::vector<int> indices;
    for (const auto& f : kept_columns->fields())
      indices.push_back(source->schema()->GetFieldIndex(f->name()));
    ARROW_ASSIGN_OR_RAISE(data, source->SelectColumns(indices));
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
      auto keep = [&kept](std::vector<bool>* v) {
        std::vector<bool> kept_values;
        for (int64_t i : kept) kept_values.push_back((*v)[i]);
        *v = std::move(kept_values);
      };
      keep(&flags);
      for (auto& [column, given] : out.given) keep(&given);
    }
  }
  ARROW_RETURN_NOT_OK(CheckNoNulls(*data, o.keys, "key"));
  ARROW_RETURN_NOT_OK(CheckNoNulls(*data, o.sequence_by, "sequence"));
  ARROW_ASSIGN_OR_RAISE(out.rows, ConformTable(*data, tx));
  // A value not given is null (a new key's row has nothing there).
  for (const auto& [column, given] : out.given) {
    if (std::find(given.begin(), given.end(), false) == given.end()) continue;
    arrow::BooleanBuilder mask;
    ARROW_RETURN_NOT_OK(mask.AppendValues(given));
    ARROW_ASSIGN_OR_RAISE(auto m, mask.Finish());
    int idx = out.rows->schema()->GetFieldIndex(column);
    auto values = out.rows->column(idx);
    ARROW_ASSIGN_OR_RAISE(
        arrow::Datum d, arrow::compute::CallFunction(
                            "if_else", {std::make_shared<arrow::ChunkedArray>(m), values,
                                        arrow::MakeNullScalar(values->type())}));
    ARROW_ASSIGN_OR_RAISE(
        out.rows, out.rows->SetColumn(idx, out.rows->field(idx), d.chunked_array()));
  }
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
    out.given = std::move(conformed.given);
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
  if (!conformed.given.empty()) {
    std::vector<int64_t> row_of(rows->num_rows(), -1);
    for (int64_t i = 0; i < rows->num_rows(); ++i) {
      if (out.truncate_at && order[i] <= *out.truncate_at) continue;
      if (int64_t* row = winner.Find(keys[i])) row_of[i] = *row;
    }
    out.given = std::move(conformed.given);
    ARROW_ASSIGN_OR_RAISE(
        out.rows, FoldGiven(out.rows, *rows, kept, row_of, flags, order, &out.given,
                            o.sequence_by.empty() ? nullptr : &out.given_from));
  }
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
