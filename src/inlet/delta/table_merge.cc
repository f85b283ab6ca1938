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
#include "inlet/delta/tombstones.h"
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
  /// With sequence_by: each row's sequence (OrderedKeys bytes), and whether it is late.
  std::vector<std::string> sequences;
  std::vector<bool> late;
  /// The sequence of the source's last truncate, if it has one.
  std::optional<std::string> truncate_at;
  /// key -> row (for delete-insert, some row of that key: only presence matters).
  std::unordered_map<int64_t, int64_t> by_key;
  int64_t duplicates = 0;
};

arrow::Result<std::vector<bool>> FlagColumn(const arrow::Table& source, const std::string& column, const char* what) {
  std::vector<bool> out(source.num_rows(), false);
  if (column.empty()) return out;
  auto col = source.GetColumnByName(column);
  if (!col) return arrow::Status::Invalid("merge: ", what, " column '", column, "' is not in the source");
  if (col->type()->id() != arrow::Type::BOOL) {
    return arrow::Status::Invalid("merge: ", what, " column '", column, "' must be boolean, not ", col->type()->ToString());
  }
  int64_t row = 0;
  for (const auto& chunk : col->chunks()) {
    const auto& b = static_cast<const arrow::BooleanArray&>(*chunk);
    for (int64_t i = 0; i < b.length(); ++i, ++row) out[row] = b.IsValid(i) && b.Value(i);
  }
  return out;
}

std::vector<int64_t> RowsWhere(const std::vector<bool>& flags, bool value) {
  std::vector<int64_t> out;
  for (size_t i = 0; i < flags.size(); ++i) {
    if (flags[i] == value) out.push_back(static_cast<int64_t>(i));
  }
  return out;
}

arrow::Result<std::shared_ptr<arrow::Table>> ConformTable(const arrow::Table& data, const WriteTransaction& tx) {
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

arrow::Status CheckNoNulls(const arrow::Table& data, const std::vector<std::string>& columns, const char* what) {
  for (const auto& k : columns) {
    auto col = data.GetColumnByName(k);
    if (!col) return arrow::Status::Invalid("merge: ", what, " column '", k, "' is not in the source");
    if (col->null_count() > 0) {
      return arrow::Status::Invalid("merge: ", what, " column '", k, "' has ", col->null_count(), " null values in the source");
    }
  }
  return arrow::Status::OK();
}

arrow::Result<MergeSource> PrepareSource(const std::shared_ptr<arrow::Table>& source, const MergeOptions& o,
                                         WriteTransaction* tx, KeyEncoder* encoder) {
  MergeSource out;
  ARROW_ASSIGN_OR_RAISE(auto flags, FlagColumn(*source, o.delete_flag, "delete flag"));
  ARROW_ASSIGN_OR_RAISE(auto truncates, FlagColumn(*source, o.truncate_flag, "truncate flag"));
  std::shared_ptr<arrow::Table> data = source;
  for (const auto* flag : {&o.delete_flag, &o.truncate_flag}) {
    if (!flag->empty()) {
      ARROW_ASSIGN_OR_RAISE(data, data->RemoveColumn(data->schema()->GetFieldIndex(*flag)));
    }
  }
  if (!o.truncate_flag.empty()) {
    // Truncate events carry no key: they leave the source, keeping the greatest sequence.
    auto rows = RowsWhere(truncates, true);
    if (!rows.empty()) {
      ARROW_ASSIGN_OR_RAISE(auto events, TakeRows(data, rows));
      ARROW_ASSIGN_OR_RAISE(events, ConformTable(*events, *tx));
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
  ARROW_ASSIGN_OR_RAISE(auto rows, ConformTable(*data, *tx));
  ARROW_ASSIGN_OR_RAISE(auto keys, encoder->Encode(*rows));
  if (o.mode == MergeMode::kDeleteInsert) {
    out.rows = rows;
    out.keys = std::move(keys);
    out.deleted = std::move(flags);
    out.late.assign(out.keys.size(), false);
    out.by_key.reserve(out.keys.size());
    for (size_t i = 0; i < out.keys.size(); ++i) out.by_key.emplace(out.keys[i], static_cast<int64_t>(i));
    return out;
  }
  // One row per key: the greatest sequence (or order_by value) wins, ties (and no order)
  // the later row. Changes at or before a truncate of the same source are dropped.
  std::vector<std::string> order;
  if (!o.sequence_by.empty()) {
    ARROW_ASSIGN_OR_RAISE(order, OrderedKeys(*rows, o.sequence_by));
  } else if (!o.order_by.empty()) {
    if (!rows->GetColumnByName(o.order_by)) {
      return arrow::Status::Invalid("merge: order_by column '", o.order_by, "' is not in the table");
    }
    ARROW_ASSIGN_OR_RAISE(order, OrderedKeys(*rows, {o.order_by}));
  }
  std::unordered_map<int64_t, int64_t> winner;
  winner.reserve(keys.size());
  for (int64_t i = 0; i < rows->num_rows(); ++i) {
    if (out.truncate_at && order[i] <= *out.truncate_at) continue;
    auto [it, inserted] = winner.emplace(keys[i], i);
    if (!inserted && (order.empty() || order[i] >= order[it->second])) it->second = i;
  }
  std::vector<int64_t> kept;
  kept.reserve(winner.size());
  for (int64_t i = 0; i < rows->num_rows(); ++i) {
    auto it = winner.find(keys[i]);
    if (it != winner.end() && it->second == i) {
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
    if (!o.sequence_by.empty()) out.sequences.push_back(std::move(order[i]));
  }
  out.late.assign(kept.size(), false);
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

// The sequences (OrderedKeys bytes) of a file's rows: of every row when all is set (a
// truncate), else of the rows whose key the source has (empty strings elsewhere).
arrow::Result<std::vector<std::string>> RowSequences(const std::shared_ptr<arrow::Table>& rows,
                                                     const std::vector<int64_t>& keys,
                                                     const MergeSource& src, const std::vector<std::string>& sequence_by,
                                                     bool all) {
  if (sequence_by.empty()) return std::vector<std::string>();
  if (all) return OrderedKeys(*rows, sequence_by);
  std::vector<int64_t> matched;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (src.by_key.count(keys[i])) matched.push_back(static_cast<int64_t>(i));
  }
  std::vector<std::string> out(keys.size());
  if (matched.empty()) return out;
  ARROW_ASSIGN_OR_RAISE(auto taken, TakeRows(rows, matched));
  ARROW_ASSIGN_OR_RAISE(auto seqs, OrderedKeys(*taken, sequence_by));
  for (size_t j = 0; j < matched.size(); ++j) out[matched[j]] = std::move(seqs[j]);
  return out;
}

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
  bool sequenced = !o.sequence_by.empty();
  if (sequenced && o.mode != MergeMode::kUpsert) {
    return arrow::Status::Invalid("merge into ", location(), ": sequence_by needs upsert mode");
  }
  if (!o.truncate_flag.empty() && !sequenced) {
    return arrow::Status::Invalid("merge into ", location(), ": a truncate flag needs sequence_by");
  }
  std::shared_ptr<arrow::Schema> input = source->schema();
  for (const auto* flag : {&o.delete_flag, &o.truncate_flag}) {
    if (!flag->empty() && input->GetFieldIndex(*flag) >= 0) {
      ARROW_ASSIGN_OR_RAISE(input, input->RemoveField(input->GetFieldIndex(*flag)));
    }
  }
  bool changes_rows = o.mode != MergeMode::kInsertOnly;
  WriteOptions write = o.write;
  // Remembered deletes are a metadata domain of the commit (configured at the end).
  if (sequenced) write.domain_metadata[kTombstoneDomain] = "{}";
  ARROW_ASSIGN_OR_RAISE(auto tx, WriteTransaction::Begin(*this, store_, *input, write, changes_rows));
  KeyEncoder encoder(o.keys);
  ARROW_ASSIGN_OR_RAISE(MergeSource src, PrepareSource(source, o, tx.get(), &encoder));
  std::optional<Tombstones> tombstones;
  std::optional<std::string> truncate_at;  // a truncate this merge applies
  int64_t late = 0;
  if (sequenced) {
    ARROW_ASSIGN_OR_RAISE(tombstones, Tombstones::Load(store_, tx->base().get(), *tx->schema(), o.keys, o.sequence_by));
    if (src.truncate_at && (!tombstones->floor() || *src.truncate_at > *tombstones->floor())) {
      truncate_at = src.truncate_at;
      tombstones->RaiseFloor(*truncate_at);
    }
    const auto& floor = tombstones->floor();
    // Late: at or below a truncate already applied, or the key's last delete.
    ARROW_ASSIGN_OR_RAISE(auto deletes, tombstones->Find(&encoder, src.by_key));
    for (size_t i = 0; i < src.keys.size(); ++i) {
      auto d = deletes.find(src.keys[i]);
      if ((floor && src.sequences[i] <= *floor) ||
          (d != deletes.end() && src.sequences[i] <= d->second)) {
        src.late[i] = true;
        ++late;
      }
    }
  }
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
    // Partition pruning applies when every partition column is a key column; a truncate
    // reads every file.
    bool prune_partitions = !partitions.empty() && !truncate_at;
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
      if (!truncate_at && !key_is_partition && key_idx >= 0 && !file.stats.empty()) {
        auto stats = ParseJson(file.stats, "stats");
        if (stats.ok() && !range.MayOverlap(ReadColumnStats(*stats, {base.delta_schema().columns[key_idx].physical_name}, range.type()))) {
          continue;
        }
      }
      // Read the file and match its rows against the source keys.
      ++result.files_scanned;
      ARROW_ASSIGN_OR_RAISE(auto rows, ReadFile(store_, base, file, *tx));
      ARROW_ASSIGN_OR_RAISE(auto keys, encoder.Encode(*rows));
      ARROW_ASSIGN_OR_RAISE(auto sequences, RowSequences(rows, keys, src, o.sequence_by, truncate_at.has_value()));
      std::vector<int64_t> keep, target_rows, source_rows, deleted_rows;
      for (int64_t i = 0; i < rows->num_rows(); ++i) {
        if (truncate_at && sequences[i] <= *truncate_at) {
          deleted_rows.push_back(i);  // a newer change of its key, if any, is inserted
          ++result.rows_truncated;
          continue;
        }
        auto match = src.by_key.find(keys[i]);
        if (match == src.by_key.end()) {
          keep.push_back(i);
          continue;
        }
        found.insert(keys[i]);
        if (sequenced) {
          int64_t s = match->second;
          if (!src.late[s] && src.sequences[s] <= sequences[i]) {
            src.late[s] = true;
            ++late;
          }
          if (src.late[s]) {
            keep.push_back(i);
            continue;
          }
        }
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
  // rows flagged for deletion insert nothing, late rows nothing at all.
  std::vector<int64_t> inserts, deletes;
  for (int64_t i = 0; i < src.rows->num_rows(); ++i) {
    if (src.late[i]) continue;
    if (src.deleted[i]) {
      deletes.push_back(i);
    } else if (o.mode == MergeMode::kDeleteInsert || !found.count(src.keys[i])) {
      inserts.push_back(i);
    }
  }
  result.late_discarded = late;
  if (tombstones) {
    // Every applied delete is remembered, also of keys the table did not have: their
    // insert may still arrive, late.
    ARROW_ASSIGN_OR_RAISE(auto deleted, TakeRows(src.rows, deletes));
    ARROW_RETURN_NOT_OK(tombstones->Add(deleted));
    ARROW_ASSIGN_OR_RAISE(auto config, tombstones->Finish());
    tx->SetDomain(kTombstoneDomain, config);
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
