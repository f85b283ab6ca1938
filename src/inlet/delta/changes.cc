// DeltaTable::Changes: the change data feed of a range of versions (PROTOCOL.md "Change
// Data Files"): a commit's cdc files when it has any, else its adds and removes.
#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/scalar.h>

#include "inlet/delta/delta_table.h"
#include "inlet/delta/log_replay.h"
#include "inlet/delta/log_segment.h"
#include "inlet/delta/scan.h"

namespace inlet::delta {

namespace {

struct ChangeFile {
  AddFile file;      // the file to read (cdc files as AddFile without stats)
  std::string type;  // fixed change type, or empty: the file has a _change_type column
  int64_t version = 0;
  int64_t timestamp_ms = 0;
};

class ChangesReader : public arrow::RecordBatchReader {
 public:
  ChangesReader(std::shared_ptr<const TableStore> store,
                std::shared_ptr<DeltaSnapshot> end, std::vector<ChangeFile> files)
      : store_(std::move(store)), end_(std::move(end)), files_(std::move(files)) {
    arrow::FieldVector fields = end_->schema()->fields();
    fields.push_back(arrow::field("_change_type", arrow::utf8()));
    fields.push_back(arrow::field("_commit_version", arrow::int64()));
    fields.push_back(arrow::field("_commit_timestamp",
                                  arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")));
    schema_ = arrow::schema(fields);
    // The schema that reads a change data file: the table's columns plus _change_type.
    cdc_schema_ = std::make_shared<DeltaSchema>(end_->delta_schema());
    arrow::FieldVector cdc_fields = end_->schema()->fields();
    cdc_fields.push_back(arrow::field("_change_type", arrow::utf8()));
    cdc_schema_->arrow_schema = arrow::schema(cdc_fields);
    cdc_schema_->columns.push_back(
        ColumnInfo{"_change_type", "_change_type", std::nullopt, Json::object(), {}});
  }

  std::shared_ptr<arrow::Schema> schema() const override { return schema_; }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    *out = nullptr;
    while (true) {
      if (!current_) {
        if (next_ >= files_.size()) return arrow::Status::OK();
        const ChangeFile& f = files_[next_++];
        current_file_ = &f;
        auto one = std::make_shared<TableState>();
        one->version = f.version;
        one->protocol = end_->state().protocol;
        one->metadata = end_->state().metadata;
        one->files = {f.file};
        auto schema = f.type.empty()
                          ? std::shared_ptr<const DeltaSchema>(cdc_schema_)
                          : std::make_shared<const DeltaSchema>(end_->delta_schema());
        auto reader = ScanState(store_, one, schema, ScanOptions{});
        if (!reader.ok()) {
          return reader.status().WithMessage("changes of version ", f.version, ": ",
                                             reader.status().message());
        }
        current_ = *reader;
      }
      std::shared_ptr<arrow::RecordBatch> batch;
      auto st = current_->ReadNext(&batch);
      if (!st.ok())
        return st.WithMessage("changes of version ", current_file_->version, ": ",
                              st.message());
      if (!batch) {
        current_.reset();
        continue;
      }
      ARROW_ASSIGN_OR_RAISE(*out, Decorate(*batch, *current_file_));
      return arrow::Status::OK();
    }
  }

 private:
  arrow::Result<std::shared_ptr<arrow::RecordBatch>> Decorate(const arrow::RecordBatch& b,
                                                              const ChangeFile& f) {
    int64_t n = b.num_rows();
    arrow::ArrayVector cols;
    for (int i = 0; i < end_->schema()->num_fields(); ++i) cols.push_back(b.column(i));
    if (f.type.empty()) {
      cols.push_back(b.GetColumnByName("_change_type"));
    } else {
      ARROW_ASSIGN_OR_RAISE(auto t,
                            arrow::MakeArrayFromScalar(arrow::StringScalar(f.type), n));
      cols.push_back(t);
    }
    ARROW_ASSIGN_OR_RAISE(auto v,
                          arrow::MakeArrayFromScalar(arrow::Int64Scalar(f.version), n));
    cols.push_back(v);
    ARROW_ASSIGN_OR_RAISE(
        auto ts,
        arrow::MakeArrayFromScalar(
            arrow::TimestampScalar(f.timestamp_ms * 1000,
                                   schema_->field(schema_->num_fields() - 1)->type()),
            n));
    cols.push_back(ts);
    return arrow::RecordBatch::Make(schema_, n, cols);
  }

  std::shared_ptr<const TableStore> store_;
  std::shared_ptr<DeltaSnapshot> end_;
  std::vector<ChangeFile> files_;
  std::shared_ptr<arrow::Schema> schema_;
  std::shared_ptr<DeltaSchema> cdc_schema_;
  size_t next_ = 0;
  const ChangeFile* current_file_ = nullptr;
  std::shared_ptr<arrow::RecordBatchReader> current_;
};

}  // namespace

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> DeltaTable::Changes(
    int64_t from_version, std::optional<int64_t> to_version, bool file_level) const {
  ARROW_ASSIGN_OR_RAISE(auto listing, ListLog(*store_));
  SnapshotSpec end_spec;
  end_spec.version = to_version;
  ARROW_ASSIGN_OR_RAISE(auto end, LoadSnapshot(end_spec));
  int64_t to = end->version();
  if (from_version < 0 || from_version > to) {
    return arrow::Status::Invalid("changes of ", location(), ": --from-version ",
                                  from_version, " is outside 0..", to);
  }
  // Whether the change data feed was on at each version: from the metadata before the
  // range, then each commit's own.
  bool feed = false;
  if (!file_level && from_version > 0) {
    SnapshotSpec before;
    before.version = from_version - 1;
    auto snapshot = LoadSnapshot(before);
    if (snapshot.ok()) {
      feed =
          (*snapshot)->state().metadata.Property("delta.enableChangeDataFeed") == "true";
    }
  }
  std::vector<ChangeFile> files;
  for (const auto& c : listing.commits) {
    if (c.version < from_version || c.version > to) continue;
    ARROW_ASSIGN_OR_RAISE(auto actions, ReadCommit(*store_, c.version));
    if (actions.metadata)
      feed = actions.metadata->Property("delta.enableChangeDataFeed") == "true";
    if (!file_level && !feed) {
      return arrow::Status::Invalid(
          "changes of ", location(), ": version ", c.version,
          " was written without the change data feed (delta.enableChangeDataFeed), so "
          "its row-level changes were not recorded; enable it for later versions "
          "(inlet write --property delta.enableChangeDataFeed=true), or pass "
          "--file-level to read each version's added files as inserts and removed files "
          "as deletes (rows of a rewritten file then show as deleted and inserted "
          "again)");
    }
    int64_t ts =
        GetIntOr(actions.commit_info.value_or(Json::object()), "timestamp", c.mtime_ms);
    if (auto ict = CommitTimestamp(actions, c); ict != c.mtime_ms) ts = ict;
    if (!actions.cdcs.empty()) {
      for (const auto& cdc : actions.cdcs) {
        AddFile f;
        f.path = cdc.path;
        f.partition_values = cdc.partition_values;
        f.size = cdc.size;
        files.push_back({f, "", c.version, ts});
      }
      continue;
    }
    for (const auto& a : actions.adds) {
      if (a.data_change) files.push_back({a, "insert", c.version, ts});
    }
    for (const auto& r : actions.removes) {
      if (!r.data_change) continue;
      AddFile f;
      f.path = r.path;
      f.partition_values = r.partition_values;
      f.size = r.size.value_or(0);
      f.deletion_vector = r.deletion_vector;
      files.push_back({f, "delete", c.version, ts});
    }
  }
  std::vector<int64_t> present;
  for (const auto& c : listing.commits) present.push_back(c.version);
  if (present.empty() || present.front() > from_version) {
    return arrow::Status::Invalid("changes of ", location(), ": version ", from_version,
                                  " is no longer in the log");
  }
  return std::make_shared<ChangesReader>(store_, std::move(end), std::move(files));
}

}  // namespace inlet::delta
