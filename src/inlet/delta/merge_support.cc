#include "inlet/delta/merge_support.h"

#include <algorithm>
#include <unordered_set>
#include <utility>

#include <arrow/array.h>
#include <arrow/compute/api.h>
#include <arrow/builder.h>

#include "inlet/delta/partition.h"
#include "inlet/delta/scan.h"
#include "inlet/delta/stats.h"
#include "inlet/table/value.h"

namespace inlet::delta::merge {

std::vector<bool> TrueRows(const std::shared_ptr<arrow::ChunkedArray>& column, int64_t rows) {
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

arrow::Result<std::vector<bool>> FlagColumn(const arrow::Table& source, const std::string& column, const char* what) {
  if (column.empty()) return std::vector<bool>(source.num_rows(), false);
  auto col = source.GetColumnByName(column);
  if (!col) return arrow::Status::Invalid("merge: ", what, " column '", column, "' is not in the source");
  if (col->type()->id() != arrow::Type::BOOL) {
    return arrow::Status::Invalid("merge: ", what, " column '", column, "' must be boolean, not ", col->type()->ToString());
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

}  // namespace

arrow::Result<ConformedSource> ConformSource(const std::shared_ptr<arrow::Table>& source, const MergeOptions& o,
                                             const WriteTransaction& tx) {
  ConformedSource out;
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

arrow::Result<MergeSource> IndexSource(ConformedSource conformed, const MergeOptions& o, KeyEncoder* encoder) {
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
    for (size_t i = 0; i < out.keys.size(); ++i) out.by_key.Emplace(out.keys[i], static_cast<int64_t>(i));
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

arrow::Result<MergeSource> PrepareSource(const std::shared_ptr<arrow::Table>& source, const MergeOptions& o,
                                         const WriteTransaction& tx, KeyEncoder* encoder) {
  ARROW_ASSIGN_OR_RAISE(auto conformed, ConformSource(source, o, tx));
  return IndexSource(std::move(conformed), o, encoder);
}


namespace {

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
      RadixSort(&r.ints_);
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

}  // namespace

arrow::Result<Candidates> CandidateFiles(const DeltaSnapshot& base, const arrow::Table& rows,
                                         const std::vector<std::string>& keys, bool all_files) {
  Candidates out;
  const auto& partitions = base.state().metadata.partition_columns;
  bool prune_partitions = !partitions.empty() && !all_files;
  for (const auto& p : partitions) {
    prune_partitions = prune_partitions && std::find(keys.begin(), keys.end(), p) != keys.end();
  }
  std::set<PartitionValues> source_partitions;
  if (prune_partitions) {
    ARROW_ASSIGN_OR_RAISE(auto part_keys, RowKeys(rows, partitions));
    std::unordered_set<std::string> seen;
    for (int64_t i = 0; i < rows.num_rows(); ++i) {
      if (!seen.insert(part_keys[i]).second) continue;
      PartitionValues pv;
      for (const auto& p : partitions) {
        ARROW_ASSIGN_OR_RAISE(auto scalar, rows.GetColumnByName(p)->GetScalar(i));
        ARROW_ASSIGN_OR_RAISE(pv[p], SerializePartitionValue(*scalar));
      }
      source_partitions.insert(pv);
    }
  } else {
    out.whole_table_read = true;
  }
  ARROW_ASSIGN_OR_RAISE(auto range, KeyRange::Make(rows, keys.front()));
  int key_idx = base.delta_schema().FindColumn(keys.front());
  bool key_is_partition = std::find(partitions.begin(), partitions.end(), keys.front()) != partitions.end();
  for (const auto& file : base.state().files) {
    if (prune_partitions) {
      PartitionValues pv;
      for (const auto& p : partitions) {
        auto it = file.partition_values.find(p);
        pv[p] = it == file.partition_values.end() || (it->second && it->second->empty()) ? std::nullopt : it->second;
      }
      if (!source_partitions.count(pv)) continue;
      out.read_partitions.insert(file.partition_values);
    }
    if (!all_files && !key_is_partition && key_idx >= 0 && !file.stats.empty()) {
      auto stats = ParseJson(file.stats, "stats");
      if (stats.ok() && !range.MayOverlap(ReadColumnStats(*stats, {base.delta_schema().columns[key_idx].physical_name}, range.type()))) {
        continue;
      }
    }
    out.files.push_back(&file);
  }
  return out;
}

ReplacedFiles TakeReplacedPartitions(const MergeOptions& o, const WriteTransaction& tx, Candidates* candidates) {
  ReplacedFiles out;
  const auto& partitions = tx.metadata().partition_columns;
  if (o.mode != MergeMode::kDeleteInsert || partitions.empty() || candidates->whole_table_read ||
      tx.change_data_feed() || std::set<std::string>(o.keys.begin(), o.keys.end()) !=
                                   std::set<std::string>(partitions.begin(), partitions.end())) {
    return out;
  }
  std::vector<const AddFile*> unknown;  // files without a row count: read as any other
  for (const AddFile* file : candidates->files) {
    auto stats = ParseJson(file->stats, "stats");
    if (file->stats.empty() || !stats.ok() || !stats->contains("numRecords")) {
      unknown.push_back(file);
      continue;
    }
    int64_t rows = GetIntOr(*stats, "numRecords", 0);
    if (file->deletion_vector) rows -= file->deletion_vector->cardinality;
    out.rows += rows;
    out.files.push_back(file);
  }
  candidates->files = std::move(unknown);
  return out;
}

namespace {

// Batches waiting in a FileReadAhead: with 64K-row batches, a quarter million rows.
constexpr size_t kReadAheadBatches = 4;

}  // namespace

FileReadAhead::FileReadAhead(std::shared_ptr<const TableStore> store, const DeltaSnapshot& base,
                             std::vector<const AddFile*> files, const WriteTransaction& tx,
                             std::vector<std::string> columns)
    : store_(std::move(store)), base_(base), files_(std::move(files)), tx_(tx), schema_(tx.schema()) {
  if (!columns.empty()) {
    arrow::FieldVector fields;
    for (const auto& c : columns) {
      auto field = tx.schema()->GetFieldByName(c);
      if (!field) {
        invalid_ = arrow::Status::Invalid("column '", c, "' is not in the table");
        break;
      }
      fields.push_back(field);
      if (base.schema()->GetFieldIndex(c) >= 0) read_columns_.push_back(c);
    }
    if (invalid_.ok() && read_columns_.empty()) invalid_ = arrow::Status::Invalid("none of the columns to read is in the table");
    schema_ = arrow::schema(fields);
  }
  batches_ = std::make_unique<ReadAhead<std::shared_ptr<arrow::RecordBatch>>>([this] { return Produce(); },
                                                                               kReadAheadBatches);
}

FileReadAhead::~FileReadAhead() = default;

arrow::Result<std::optional<std::shared_ptr<arrow::RecordBatch>>> FileReadAhead::Produce() {
  ARROW_RETURN_NOT_OK(invalid_);
  if (!reader_) {
    if (next_file_ >= files_.size()) return std::nullopt;
    ScanOptions options;
    options.columns = read_columns_;
    auto one = std::make_shared<TableState>();
    one->version = base_.state().version;
    one->protocol = base_.state().protocol;
    one->metadata = base_.state().metadata;
    one->files = {*files_[next_file_++]};
    auto schema = std::make_shared<const DeltaSchema>(base_.delta_schema());
    ARROW_ASSIGN_OR_RAISE(reader_, ScanState(store_, one, schema, options));
  }
  std::shared_ptr<arrow::RecordBatch> batch;
  ARROW_RETURN_NOT_OK(reader_->ReadNext(&batch));
  if (!batch) {
    reader_.reset();
    return std::optional<std::shared_ptr<arrow::RecordBatch>>(nullptr);  // the end of the file
  }
  ARROW_ASSIGN_OR_RAISE(batch, tx_.Conform(*batch, schema_));
  return batch;
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> FileReadAhead::NextBatch() {
  ARROW_ASSIGN_OR_RAISE(auto batch, batches_->Next());
  if (!batch) return arrow::Status::Invalid("no file left to read");
  return *batch;
}

arrow::Result<std::shared_ptr<arrow::Table>> FileReadAhead::Next() {
  std::vector<std::shared_ptr<arrow::RecordBatch>> batches;
  while (true) {
    ARROW_ASSIGN_OR_RAISE(auto batch, NextBatch());
    if (!batch) break;
    batches.push_back(std::move(batch));
  }
  return arrow::Table::FromRecordBatches(schema_, batches);
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

arrow::Status WriteRows(DataWriter* writer, const std::shared_ptr<arrow::Table>& rows, const std::vector<int64_t>& keep) {
  // Long runs go as zero-copy slices; the rest is gathered (copied) a bounded batch at a
  // time: a writer call per short run would cost more than the copy.
  constexpr int64_t kBatch = 64 * 1024;
  std::vector<int64_t> pending;
  auto flush = [&]() -> arrow::Status {
    if (pending.empty()) return arrow::Status::OK();
    ARROW_ASSIGN_OR_RAISE(auto taken, TakeRows(rows, pending));
    pending.clear();
    return WriteTable(writer, taken);
  };
  size_t i = 0;
  while (i < keep.size()) {
    size_t j = i + 1;
    while (j < keep.size() && keep[j] == keep[j - 1] + 1) ++j;
    int64_t run = static_cast<int64_t>(j - i);
    if (run >= kBatch) {
      ARROW_RETURN_NOT_OK(flush());
      ARROW_RETURN_NOT_OK(WriteTable(writer, rows->Slice(keep[i], run)));
    } else {
      pending.insert(pending.end(), keep.begin() + i, keep.begin() + j);
      if (static_cast<int64_t>(pending.size()) >= kBatch) ARROW_RETURN_NOT_OK(flush());
    }
    i = j;
  }
  return flush();
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

namespace {

// A concurrent commit adding rows where this merge looked for keys (or where it adds rows)
// could add a key the merge inserts: those partitions are the commit's read scope.
void SetReadScope(WriteTransaction* tx, Candidates candidates) {
  if (!tx->base()) return;
  PendingCommit& commit = tx->commit();
  for (const auto& a : commit.actions.adds) candidates.read_partitions.insert(a.partition_values);
  if (candidates.whole_table_read || tx->metadata().partition_columns.empty()) {
    commit.reads_partition = [](const PartitionValues&) { return true; };
  } else {
    commit.reads_partition = [read = std::move(candidates.read_partitions)](const PartitionValues& v) {
      return read.count(v) > 0;
    };
  }
}

}  // namespace

arrow::Result<MergeWriters> OpenWriters(const WriteTransaction& tx) {
  MergeWriters w;
  // Encoding overlaps matching keys and gathering the rows of the next file.
  ARROW_ASSIGN_OR_RAISE(w.data, tx.NewDataWriter());
  w.data->WriteInBackground();
  if (tx.change_data_feed()) {
    ARROW_ASSIGN_OR_RAISE(w.changes, tx.NewChangeDataWriter());
    w.changes->WriteInBackground();
  }
  return w;
}

arrow::Result<std::optional<AddFile>> MarkDeleted(const TableStore& store, const AddFile& file, int64_t rows_read,
                                                  const std::vector<int64_t>& deleted,
                                                  const std::vector<int64_t>& updated, DeletionVectorFile* dvs) {
  std::vector<uint64_t> before;
  if (file.deletion_vector) {
    ARROW_ASSIGN_OR_RAISE(before, LoadDeletionVector(store, *file.deletion_vector));
  }
  std::vector<int64_t> logical;
  logical.reserve(deleted.size() + updated.size());
  std::merge(deleted.begin(), deleted.end(), updated.begin(), updated.end(), std::back_inserter(logical));
  // A row's position in the file: its position as read plus the rows deleted before it.
  std::vector<uint64_t> now;
  now.reserve(logical.size());
  size_t j = 0;
  for (int64_t l : logical) {
    uint64_t p = static_cast<uint64_t>(l) + j;
    while (j < before.size() && before[j] <= p) p = static_cast<uint64_t>(l) + ++j;
    now.push_back(p);
  }
  std::vector<uint64_t> all;
  all.reserve(before.size() + now.size());
  std::merge(before.begin(), before.end(), now.begin(), now.end(), std::back_inserter(all));
  if (static_cast<int64_t>(all.size()) == rows_read + static_cast<int64_t>(before.size())) return std::nullopt;
  AddFile out = file;
  out.data_change = true;
  out.deletion_vector = dvs->Add(all);
  if (!out.stats.empty()) {
    // Bounds over every row of the file, the deleted ones included, are not tight.
    Json stats = ParseJson(out.stats, "stats").ValueOr(Json());
    if (stats.is_object()) {
      stats["tightBounds"] = false;
      out.stats = DumpJson(stats);
    }
  }
  return out;
}

arrow::Result<CommitResult> CommitMerge(WriteTransaction* tx, MergeWriters writers, Candidates candidates,
                                        const std::vector<std::string>& keys, const std::string& mode,
                                        CommitResult counts, std::vector<AddFile> marked) {
  ARROW_ASSIGN_OR_RAISE(tx->commit().actions.adds, writers.data->Finish());
  for (auto& a : marked) tx->commit().actions.adds.push_back(std::move(a));
  if (writers.changes) {
    ARROW_ASSIGN_OR_RAISE(auto change_files, writers.changes->Finish());
    tx->AddChangeFiles(change_files);
  }
  SetReadScope(tx, std::move(candidates));
  Json params = Json::object();
  params["mergeKeys"] = JoinNames(keys, ",");
  params["mode"] = mode;
  return tx->Commit("MERGE", params, counts);
}

std::string JoinNames(const std::vector<std::string>& names, const char* sep) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : sep) + n;
  return out;
}

}  // namespace inlet::delta::merge
