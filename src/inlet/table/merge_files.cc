#include "inlet/table/merge_files.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <unordered_set>
#include <utility>

#include "inlet/table/partition.h"
#include "inlet/table/row_keys.h"
#include "inlet/table/value.h"

namespace inlet::table {

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
    r.orderable_ = !r.values_.empty() &&
                   CompareScalars(*r.values_.front(), *r.values_.front()).has_value();
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
    auto it = std::lower_bound(values_.begin(), values_.end(), stats.min,
                               [](const auto& a, const auto& b) {
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
      case arrow::Type::INT8:
      case arrow::Type::INT16:
      case arrow::Type::INT32:
      case arrow::Type::INT64:
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

arrow::Result<Candidates> CandidateFiles(const Transaction& tx, const arrow::Table& rows,
                                         const std::vector<std::string>& keys,
                                         bool all_files) {
  Candidates out;
  const auto& partitions = tx.partition_columns();
  bool prune_partitions = !partitions.empty() && !all_files;
  for (const auto& p : partitions) {
    prune_partitions =
        prune_partitions && std::find(keys.begin(), keys.end(), p) != keys.end();
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
  bool key_is_partition =
      std::find(partitions.begin(), partitions.end(), keys.front()) != partitions.end();
  bool key_in_base = tx.base() && tx.base()->schema()->GetFieldIndex(keys.front()) >= 0;
  for (const auto& file : tx.files()) {
    if (prune_partitions) {
      PartitionValues pv;
      for (const auto& p : partitions) {
        auto it = file.partition_values.find(p);
        pv[p] = it == file.partition_values.end() || (it->second && it->second->empty())
                    ? std::nullopt
                    : it->second;
      }
      if (!source_partitions.count(pv)) continue;
      out.read_partitions.insert(file.partition_values);
    }
    if (!all_files && !key_is_partition && key_in_base &&
        !range.MayOverlap(tx.Statistics(file, keys.front()))) {
      continue;
    }
    out.files.push_back(&file);
  }
  return out;
}

ReplacedFiles TakeReplacedPartitions(const MergeOptions& o, const Transaction& tx,
                                     Candidates* candidates) {
  ReplacedFiles out;
  const auto& partitions = tx.partition_columns();
  if (o.mode != MergeMode::kDeleteInsert || partitions.empty() ||
      candidates->whole_table_read || tx.change_data_feed() ||
      std::set<std::string>(o.keys.begin(), o.keys.end()) !=
          std::set<std::string>(partitions.begin(), partitions.end())) {
    return out;
  }
  std::vector<const DataFile*> unknown;  // files without a row count: read as any other
  for (const DataFile* file : candidates->files) {
    std::optional<int64_t> rows = tx.RecordCount(*file);
    if (!rows) {
      unknown.push_back(file);
      continue;
    }
    out.rows += *rows - file->deleted_rows;
    out.files.push_back(file);
  }
  candidates->files = std::move(unknown);
  return out;
}

namespace {

// Batches waiting in a FileReadAhead: with 64K-row batches, 128K rows. Two keep the
// decoding ahead of the matching as well as four did (bench_iceberg_rows: same wall time)
// with two batches less in memory (25-35 MiB on the 24-column benchmark table).
constexpr size_t kReadAheadBatches = 2;

}  // namespace

FileReadAhead::FileReadAhead(const Transaction& tx, std::vector<const DataFile*> files,
                             std::vector<std::string> columns, bool with_lineage)
    : tx_(tx), files_(std::move(files)), schema_(tx.schema()) {
  if (with_lineage && columns.empty() && !tx.row_lineage().empty()) {
    arrow::FieldVector fields = schema_->fields();
    for (const auto& f : tx.row_lineage()) fields.push_back(f);
    schema_ = arrow::schema(fields);
  }
  if (!columns.empty()) {
    arrow::FieldVector fields;
    for (const auto& c : columns) {
      auto field = tx.schema()->GetFieldByName(c);
      if (!field) {
        invalid_ = arrow::Status::Invalid("column '", c, "' is not in the table");
        break;
      }
      fields.push_back(field);
      if (tx.base() && tx.base()->schema()->GetFieldIndex(c) >= 0)
        read_columns_.push_back(c);
    }
    if (invalid_.ok() && read_columns_.empty())
      invalid_ = arrow::Status::Invalid("none of the columns to read is in the table");
    schema_ = arrow::schema(fields);
  }
  batches_ = std::make_unique<ReadAhead<std::shared_ptr<arrow::RecordBatch>>>(
      [this] { return Produce(); }, kReadAheadBatches);
}

FileReadAhead::~FileReadAhead() = default;

arrow::Result<std::optional<std::shared_ptr<arrow::RecordBatch>>>
FileReadAhead::Produce() {
  ARROW_RETURN_NOT_OK(invalid_);
  if (!reader_) {
    if (next_file_ >= files_.size()) return std::nullopt;
    ARROW_ASSIGN_OR_RAISE(reader_, tx_.ReadFile(*files_[next_file_++], read_columns_));
  }
  std::shared_ptr<arrow::RecordBatch> batch;
  ARROW_RETURN_NOT_OK(reader_->ReadNext(&batch));
  if (!batch) {
    reader_.reset();
    return std::optional<std::shared_ptr<arrow::RecordBatch>>(
        nullptr);  // the end of the file
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

arrow::Status WriteRows(DataWriter* writer, const std::shared_ptr<arrow::Table>& rows,
                        const std::vector<int64_t>& keep) {
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
arrow::Status WriteChanges(DataWriter* cdc, const std::shared_ptr<arrow::Table>& rows,
                           const char* type) {
  if (!cdc || rows->num_rows() == 0) return arrow::Status::OK();
  arrow::StringBuilder b;
  for (int64_t i = 0; i < rows->num_rows(); ++i) ARROW_RETURN_NOT_OK(b.Append(type));
  ARROW_ASSIGN_OR_RAISE(auto col, b.Finish());
  ARROW_ASSIGN_OR_RAISE(
      auto with_type,
      rows->AddColumn(rows->num_columns(), arrow::field("_change_type", arrow::utf8()),
                      std::make_shared<arrow::ChunkedArray>(col)));
  return WriteTable(cdc, with_type);
}

namespace {

// A concurrent commit adding rows where this merge looked for keys (or where it adds
// rows) could add a key the merge inserts: those partitions are the commit's read scope.
void SetReadScope(Transaction* tx, Candidates candidates,
                  const std::vector<WrittenFile>& added) {
  if (!tx->base()) return;
  for (const auto& a : added) candidates.read_partitions.insert(a.partition_values);
  if (candidates.whole_table_read || tx->partition_columns().empty()) {
    tx->SetReadScope([](const PartitionValues&) { return true; });
  } else {
    tx->SetReadScope([read = std::move(candidates.read_partitions)](
                         const PartitionValues& v) { return read.count(v) > 0; });
  }
}

}  // namespace

arrow::Result<MergeWriters> OpenWriters(const Transaction& tx) {
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

arrow::Result<CommitResult> CommitMerge(Transaction* tx, MergeWriters writers,
                                        Candidates candidates,
                                        const std::vector<std::string>& keys,
                                        const std::string& mode, CommitResult counts) {
  return CommitChanges(tx, std::move(writers), std::move(candidates), "MERGE",
                       {{"mergeKeys", JoinNames(keys, ",")}, {"mode", mode}}, counts);
}

arrow::Result<CommitResult> CommitChanges(Transaction* tx, MergeWriters writers,
                                          Candidates candidates,
                                          const std::string& operation,
                                          std::map<std::string, std::string> parameters,
                                          CommitResult counts) {
  ARROW_ASSIGN_OR_RAISE(auto added, writers.data->Finish());
  if (writers.changes) {
    ARROW_ASSIGN_OR_RAISE(auto change_files, writers.changes->Finish());
    tx->AddChanges(change_files);
  }
  SetReadScope(tx, std::move(candidates), added);
  tx->Add(added);
  return tx->Commit(operation, std::move(parameters), counts);
}

std::string JoinNames(const std::vector<std::string>& names, const char* sep) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : sep) + n;
  return out;
}

}  // namespace inlet::table
