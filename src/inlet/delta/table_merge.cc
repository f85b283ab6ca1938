// DeltaTable::Merge: upsert / insert-only / delete-insert by key, copy-on-write. Only the
// files that can hold a source key are read (partition values, key statistics), one at a
// time, and only those holding one are rewritten.
#include <algorithm>
#include <set>
#include <unordered_map>
#include <unordered_set>

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <arrow/table.h>

#include "inlet/delta/partition.h"
#include "inlet/delta/scan.h"
#include "inlet/delta/stats.h"
#include "inlet/delta/transaction.h"
#include "inlet/table/row_keys.h"
#include "inlet/table/value.h"

namespace inlet::delta {

namespace {

// The source after de-duplication, conformed to the table schema.
struct MergeSource {
  std::shared_ptr<arrow::Table> rows;           // table schema
  std::vector<int64_t> keys;                    // key id of each row (see KeyEncoder)
  std::vector<bool> deleted;                    // delete flag per row
  /// key -> row (for delete-insert, some row of that key: only presence matters).
  std::unordered_map<int64_t, int64_t> by_key;
  int64_t duplicates = 0;
};

arrow::Result<std::vector<bool>> DeleteFlags(const arrow::Table& source, const std::string& column) {
  std::vector<bool> out(source.num_rows(), false);
  if (column.empty()) return out;
  auto col = source.GetColumnByName(column);
  if (!col) return arrow::Status::Invalid("merge: delete flag column '", column, "' is not in the source");
  if (col->type()->id() != arrow::Type::BOOL) {
    return arrow::Status::Invalid("merge: delete flag column '", column, "' must be boolean, not ", col->type()->ToString());
  }
  int64_t row = 0;
  for (const auto& chunk : col->chunks()) {
    const auto& b = static_cast<const arrow::BooleanArray&>(*chunk);
    for (int64_t i = 0; i < b.length(); ++i, ++row) out[row] = b.IsValid(i) && b.Value(i);
  }
  return out;
}

arrow::Result<MergeSource> PrepareSource(const std::shared_ptr<arrow::Table>& source, const MergeOptions& o,
                                         WriteTransaction* tx, KeyEncoder* encoder) {
  MergeSource out;
  ARROW_ASSIGN_OR_RAISE(auto flags, DeleteFlags(*source, o.delete_flag));
  std::shared_ptr<arrow::Table> data = source;
  if (!o.delete_flag.empty()) {
    ARROW_ASSIGN_OR_RAISE(data, data->RemoveColumn(data->schema()->GetFieldIndex(o.delete_flag)));
  }
  for (const auto& k : o.keys) {
    auto col = data->GetColumnByName(k);
    if (!col) return arrow::Status::Invalid("merge: key column '", k, "' is not in the source");
    if (col->null_count() > 0) return arrow::Status::Invalid("merge: key column '", k, "' has ", col->null_count(), " null values in the source");
  }
  // Conform to the table schema, batch by batch.
  arrow::TableBatchReader reader(*data);
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  std::shared_ptr<arrow::RecordBatch> batch;
  while (true) {
    ARROW_RETURN_NOT_OK(reader.ReadNext(&batch));
    if (!batch) break;
    ARROW_ASSIGN_OR_RAISE(auto conformed, tx->Conform(*batch));
    batches.push_back(conformed);
  }
  ARROW_ASSIGN_OR_RAISE(auto rows, arrow::Table::FromRecordBatches(tx->schema(), batches));
  ARROW_ASSIGN_OR_RAISE(auto keys, encoder->Encode(*rows));
  if (o.mode == MergeMode::kDeleteInsert) {
    out.rows = rows;
    out.keys = std::move(keys);
    out.deleted = std::move(flags);
    out.by_key.reserve(out.keys.size());
    for (size_t i = 0; i < out.keys.size(); ++i) out.by_key.emplace(out.keys[i], static_cast<int64_t>(i));
    return out;
  }
  // One row per key: the greatest order_by value wins, ties (and no order_by) the later row.
  std::shared_ptr<arrow::ChunkedArray> order;
  if (!o.order_by.empty()) {
    order = rows->GetColumnByName(o.order_by);
    if (!order) return arrow::Status::Invalid("merge: order_by column '", o.order_by, "' is not in the table");
  }
  std::unordered_map<int64_t, int64_t> winner;
  winner.reserve(keys.size());
  for (int64_t i = 0; i < rows->num_rows(); ++i) {
    auto [it, inserted] = winner.emplace(keys[i], i);
    if (inserted) continue;
    bool later_wins = true;
    if (order) {
      ARROW_ASSIGN_OR_RAISE(auto a, order->GetScalar(i));
      ARROW_ASSIGN_OR_RAISE(auto b, order->GetScalar(it->second));
      auto c = CompareScalars(*a, *b);
      later_wins = !a->is_valid ? false : (!b->is_valid || !c || *c >= 0);
    }
    if (later_wins) it->second = i;
  }
  std::vector<int64_t> kept;
  kept.reserve(winner.size());
  for (int64_t i = 0; i < rows->num_rows(); ++i) {
    auto it = winner.find(keys[i]);
    if (it->second == i) {
      it->second = static_cast<int64_t>(kept.size());  // now: the row in out.rows
      kept.push_back(i);
    }
  }
  out.duplicates = rows->num_rows() - static_cast<int64_t>(kept.size());
  ARROW_ASSIGN_OR_RAISE(out.rows, TakeRows(rows, kept));
  out.keys.reserve(kept.size());
  for (int64_t i : kept) {
    out.keys.push_back(keys[i]);
    out.deleted.push_back(flags[i]);
  }
  out.by_key = std::move(winner);
  return out;
}

// Sorted values of the first key column, for pruning files by their min/max statistics.
class KeyRange {
 public:
  static arrow::Result<KeyRange> Make(const arrow::Table& rows, const std::string& key) {
    KeyRange r;
    auto col = rows.GetColumnByName(key);
    auto type = col->type();
    r.type_ = type;
    if (IsIntegerLike(*type)) {
      // Integers compare as int64, without a scalar per value.
      ARROW_ASSIGN_OR_RAISE(auto wide, arrow::compute::Cast(col, arrow::int64()));
      for (const auto& chunk : wide.chunked_array()->chunks()) {
        const auto& a = static_cast<const arrow::Int64Array&>(*chunk);
        for (int64_t i = 0; i < a.length(); ++i) {
          if (a.IsValid(i)) r.ints_.push_back(a.Value(i));
        }
      }
      std::sort(r.ints_.begin(), r.ints_.end());
      r.integer_ = true;
      return r;
    }
    for (int64_t i = 0; i < col->length(); ++i) {
      ARROW_ASSIGN_OR_RAISE(auto s, col->GetScalar(i));
      r.values_.push_back(s);
    }
    std::sort(r.values_.begin(), r.values_.end(), [](const auto& a, const auto& b) {
      auto c = CompareScalars(*a, *b);
      return c && *c < 0;
    });
    r.orderable_ = !r.values_.empty() && CompareScalars(*r.values_.front(), *r.values_.front()).has_value();
    return r;
  }

  /// False only when no source key lies within [min, max].
  bool MayOverlap(const ColumnStats& stats) const {
    if (!stats.min || !stats.max) return true;
    if (integer_) {
      auto lo = AsInt64(stats.min), hi = AsInt64(stats.max);
      if (!lo || !hi) return true;
      auto it = std::lower_bound(ints_.begin(), ints_.end(), *lo);
      return it != ints_.end() && *it <= *hi;
    }
    if (!orderable_) return true;
    auto it = std::lower_bound(values_.begin(), values_.end(), stats.min, [](const auto& a, const auto& b) {
      auto c = CompareScalars(*a, *b);
      return c && *c < 0;
    });
    if (it == values_.end()) return false;
    auto c = CompareScalars(**it, *stats.max);
    return !c || *c <= 0;
  }

  const std::shared_ptr<arrow::DataType>& type() const { return type_; }

 private:
  static bool IsIntegerLike(const arrow::DataType& t) {
    switch (t.id()) {
      case arrow::Type::INT8: case arrow::Type::INT16: case arrow::Type::INT32: case arrow::Type::INT64:
        return true;
      default:
        return false;
    }
  }

  static std::optional<int64_t> AsInt64(const std::shared_ptr<arrow::Scalar>& s) {
    auto cast = arrow::compute::Cast(arrow::Datum(s), arrow::int64());
    if (!cast.ok() || !cast->scalar()->is_valid) return std::nullopt;
    return static_cast<const arrow::Int64Scalar&>(*cast->scalar()).value;
  }

  std::shared_ptr<arrow::DataType> type_;
  std::vector<std::shared_ptr<arrow::Scalar>> values_;
  std::vector<int64_t> ints_;
  bool integer_ = false;
  bool orderable_ = false;
};

// The rows of one live file, conformed to the transaction's schema (which may have gained
// columns from the source).
arrow::Result<std::shared_ptr<arrow::Table>> ReadFile(const std::shared_ptr<const TableStore>& store,
                                                      const DeltaSnapshot& base, const AddFile& file,
                                                      const WriteTransaction& tx) {
  auto one = std::make_shared<TableState>();
  one->version = base.state().version;
  one->protocol = base.state().protocol;
  one->metadata = base.state().metadata;
  one->files = {file};
  auto schema = std::make_shared<const DeltaSchema>(base.delta_schema());
  ARROW_ASSIGN_OR_RAISE(auto reader, ScanState(store, one, schema, ScanOptions{}));
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  while (true) {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(reader->ReadNext(&batch));
    if (!batch) break;
    ARROW_ASSIGN_OR_RAISE(auto conformed, tx.Conform(*batch));
    batches.push_back(conformed);
  }
  return arrow::Table::FromRecordBatches(tx.schema(), batches);
}

// Matched target rows updated with their source rows, column by column.
arrow::Result<std::shared_ptr<arrow::Table>> UpdatedRows(const std::shared_ptr<arrow::Table>& target,
                                                         const std::vector<int64_t>& target_rows,
                                                         const std::shared_ptr<arrow::Table>& source,
                                                         const std::vector<int64_t>& source_rows,
                                                         const MergeOptions& o) {
  ARROW_ASSIGN_OR_RAISE(auto t, TakeRows(target, target_rows));
  ARROW_ASSIGN_OR_RAISE(auto s, TakeRows(source, source_rows));
  arrow::ChunkedArrayVector columns;
  for (int c = 0; c < t->num_columns(); ++c) {
    const std::string& name = t->field(c)->name();
    bool is_key = std::find(o.keys.begin(), o.keys.end(), name) != o.keys.end();
    bool updated = !is_key && (o.update_columns.empty() ||
                               std::find(o.update_columns.begin(), o.update_columns.end(), name) != o.update_columns.end());
    if (!updated) {
      columns.push_back(t->column(c));
    } else if (o.ignore_null_updates) {
      ARROW_ASSIGN_OR_RAISE(arrow::Datum d, arrow::compute::CallFunction("coalesce", {s->column(c), t->column(c)}));
      columns.push_back(d.chunked_array());
    } else {
      columns.push_back(s->column(c));
    }
  }
  return arrow::Table::Make(t->schema(), columns, t->num_rows());
}

arrow::Status WriteTable(DataWriter* writer, const std::shared_ptr<arrow::Table>& rows) {
  arrow::TableBatchReader reader(*rows);
  std::shared_ptr<arrow::RecordBatch> batch;
  while (true) {
    ARROW_RETURN_NOT_OK(reader.ReadNext(&batch));
    if (!batch) return arrow::Status::OK();
    ARROW_RETURN_NOT_OK(writer->Write(batch));
  }
}

// Writes rows to the change data writer with _change_type = type.
arrow::Status WriteChanges(DataWriter* cdc, const std::shared_ptr<arrow::Table>& rows, const char* type) {
  if (!cdc || rows->num_rows() == 0) return arrow::Status::OK();
  arrow::StringBuilder b;
  for (int64_t i = 0; i < rows->num_rows(); ++i) ARROW_RETURN_NOT_OK(b.Append(type));
  ARROW_ASSIGN_OR_RAISE(auto col, b.Finish());
  ARROW_ASSIGN_OR_RAISE(auto with_type, rows->AddColumn(rows->num_columns(), arrow::field("_change_type", arrow::utf8()),
                                                        std::make_shared<arrow::ChunkedArray>(col)));
  return WriteTable(cdc, with_type);
}

const char* ModeName(MergeMode m) {
  switch (m) {
    case MergeMode::kUpsert: return "upsert";
    case MergeMode::kInsertOnly: return "insert_only";
    case MergeMode::kDeleteInsert: return "delete_insert";
  }
  return "?";
}

}  // namespace

arrow::Result<MergeResult> DeltaTable::Merge(std::shared_ptr<arrow::Table> source, const MergeOptions& o) {
  if (o.keys.empty()) return arrow::Status::Invalid("merge into ", location(), ": no key columns given");
  std::shared_ptr<arrow::Schema> input = source->schema();
  if (!o.delete_flag.empty() && input->GetFieldIndex(o.delete_flag) >= 0) {
    ARROW_ASSIGN_OR_RAISE(input, input->RemoveField(input->GetFieldIndex(o.delete_flag)));
  }
  bool changes_rows = o.mode != MergeMode::kInsertOnly;
  ARROW_ASSIGN_OR_RAISE(auto tx, WriteTransaction::Begin(*this, store_, *input, o.write, changes_rows));
  KeyEncoder encoder(o.keys);
  ARROW_ASSIGN_OR_RAISE(MergeSource src, PrepareSource(source, o, tx.get(), &encoder));
  ARROW_ASSIGN_OR_RAISE(auto writer, tx->NewDataWriter());
  // With a change data feed every change of this commit also goes to cdc files.
  std::unique_ptr<DataWriter> cdc;
  if (tx->change_data_feed()) {
    ARROW_ASSIGN_OR_RAISE(cdc, tx->NewChangeDataWriter());
  }
  MergeResult result;
  result.source_duplicates = src.duplicates;
  std::unordered_set<int64_t> found;  // source keys that matched a table row
  std::set<PartitionValues> read_partitions;
  bool whole_table_read = false;

  if (tx->base()) {
    const auto& base = *tx->base();
    const auto& partitions = base.state().metadata.partition_columns;
    // Partition pruning applies when every partition column is a key column.
    bool prune_partitions = !partitions.empty();
    for (const auto& p : partitions) {
      prune_partitions = prune_partitions && std::find(o.keys.begin(), o.keys.end(), p) != o.keys.end();
    }
    std::set<PartitionValues> source_partitions;
    if (prune_partitions) {
      ARROW_ASSIGN_OR_RAISE(auto part_keys, RowKeys(*src.rows, partitions));
      std::unordered_set<std::string> seen;
      for (int64_t i = 0; i < src.rows->num_rows(); ++i) {
        if (!seen.insert(part_keys[i]).second) continue;
        PartitionValues pv;
        for (const auto& p : partitions) {
          ARROW_ASSIGN_OR_RAISE(auto scalar, src.rows->GetColumnByName(p)->GetScalar(i));
          ARROW_ASSIGN_OR_RAISE(pv[p], SerializePartitionValue(*scalar));
        }
        source_partitions.insert(pv);
      }
    } else {
      whole_table_read = true;
    }
    ARROW_ASSIGN_OR_RAISE(auto range, KeyRange::Make(*src.rows, o.keys.front()));
    int key_idx = base.delta_schema().FindColumn(o.keys.front());
    bool key_is_partition = std::find(partitions.begin(), partitions.end(), o.keys.front()) != partitions.end();
    for (const auto& file : base.state().files) {
      if (prune_partitions) {
        PartitionValues pv;
        for (const auto& p : partitions) {
          auto it = file.partition_values.find(p);
          pv[p] = it == file.partition_values.end() || (it->second && it->second->empty()) ? std::nullopt : it->second;
        }
        if (!source_partitions.count(pv)) continue;
        read_partitions.insert(file.partition_values);
      }
      if (!key_is_partition && key_idx >= 0 && !file.stats.empty()) {
        auto stats = ParseJson(file.stats, "stats");
        if (stats.ok() && !range.MayOverlap(ReadColumnStats(*stats, {base.delta_schema().columns[key_idx].physical_name}, range.type()))) {
          continue;
        }
      }
      // Read the file and match its rows against the source keys.
      ++result.files_scanned;
      ARROW_ASSIGN_OR_RAISE(auto rows, ReadFile(store_, base, file, *tx));
      ARROW_ASSIGN_OR_RAISE(auto keys, encoder.Encode(*rows));
      std::vector<int64_t> keep, target_rows, source_rows, deleted_rows;
      for (int64_t i = 0; i < rows->num_rows(); ++i) {
        auto match = src.by_key.find(keys[i]);
        if (match == src.by_key.end()) {
          keep.push_back(i);
          continue;
        }
        found.insert(keys[i]);
        if (o.mode == MergeMode::kInsertOnly) {
          keep.push_back(i);
        } else if (o.mode == MergeMode::kDeleteInsert) {
          deleted_rows.push_back(i);
        } else {
          int64_t s = match->second;
          if (src.deleted[s]) {
            deleted_rows.push_back(i);
          } else {
            target_rows.push_back(i);
            source_rows.push_back(s);
          }
        }
      }
      if (static_cast<int64_t>(keep.size()) == rows->num_rows()) continue;  // nothing changes
      ++result.files_rewritten;
      result.rows_deleted += static_cast<int64_t>(deleted_rows.size());
      ARROW_ASSIGN_OR_RAISE(auto unchanged, TakeRows(rows, keep));
      ARROW_RETURN_NOT_OK(WriteTable(writer.get(), unchanged));
      if (!target_rows.empty()) {
        ARROW_ASSIGN_OR_RAISE(auto updated, UpdatedRows(rows, target_rows, src.rows, source_rows, o));
        ARROW_RETURN_NOT_OK(WriteTable(writer.get(), updated));
        result.rows_updated += updated->num_rows();
        if (cdc) {
          ARROW_ASSIGN_OR_RAISE(auto before, TakeRows(rows, target_rows));
          ARROW_RETURN_NOT_OK(WriteChanges(cdc.get(), before, "update_preimage"));
          ARROW_RETURN_NOT_OK(WriteChanges(cdc.get(), updated, "update_postimage"));
        }
      }
      if (cdc && !deleted_rows.empty()) {
        ARROW_ASSIGN_OR_RAISE(auto gone, TakeRows(rows, deleted_rows));
        ARROW_RETURN_NOT_OK(WriteChanges(cdc.get(), gone, "delete"));
      }
      result.commit.rows_written += static_cast<int64_t>(keep.size() + target_rows.size());
      tx->Remove(file);
      // One output file per rewritten file: key ranges stay narrow for the next merge, and
      // no more than one file's rows are buffered.
      ARROW_RETURN_NOT_OK(writer->Flush());
    }
  }

  // Inserts: source rows whose key the table did not have (all rows for delete-insert);
  // rows flagged for deletion insert nothing.
  std::vector<int64_t> inserts;
  for (int64_t i = 0; i < src.rows->num_rows(); ++i) {
    if (src.deleted[i]) continue;
    if (o.mode == MergeMode::kDeleteInsert || !found.count(src.keys[i])) inserts.push_back(i);
  }
  ARROW_ASSIGN_OR_RAISE(auto new_rows, TakeRows(src.rows, inserts));
  ARROW_RETURN_NOT_OK(WriteTable(writer.get(), new_rows));
  ARROW_RETURN_NOT_OK(WriteChanges(cdc.get(), new_rows, "insert"));
  result.rows_inserted = new_rows->num_rows();
  result.commit.rows_written += new_rows->num_rows();

  PendingCommit& commit = tx->commit();
  ARROW_ASSIGN_OR_RAISE(commit.actions.adds, writer->Finish());
  if (cdc) {
    ARROW_ASSIGN_OR_RAISE(auto change_files, cdc->Finish());
    tx->AddChangeFiles(change_files);
  }
  if (tx->base()) {
    // A concurrent commit adding rows where this merge looked for keys could add a key
    // this merge inserts again: that conflicts.
    for (const auto& a : commit.actions.adds) read_partitions.insert(a.partition_values);
    if (whole_table_read || tx->metadata().partition_columns.empty()) {
      commit.reads_partition = [](const PartitionValues&) { return true; };
    } else {
      commit.reads_partition = [read_partitions](const PartitionValues& v) { return read_partitions.count(v) > 0; };
    }
  }
  Json params = Json::object();
  std::string keys;
  for (const auto& k : o.keys) keys += (keys.empty() ? "" : ",") + k;
  params["mergeKeys"] = keys;
  params["mode"] = ModeName(o.mode);
  ARROW_ASSIGN_OR_RAISE(result.commit, tx->Commit("MERGE", params, result.commit));
  return result;
}

}  // namespace inlet::delta
