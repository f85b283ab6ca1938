#include "inlet/delta/delta_table.h"

#include <arrow/status.h>
#include <arrow/type.h>

#include <algorithm>

#include "inlet/common/time.h"
#include "inlet/delta/app_documents.h"
#include "inlet/delta/features.h"
#include "inlet/delta/log_segment.h"
#include "inlet/delta/scan.h"
#include "inlet/delta/transaction.h"
#include "inlet/status.h"
#include "inlet/table/merge.h"

namespace inlet::delta {

arrow::Result<std::shared_ptr<DeltaSnapshot>> DeltaSnapshot::Make(
    std::shared_ptr<const TableStore> store, TableState state) {
  auto readable = CheckReadable(state.protocol);
  if (!readable.ok()) {
    return readable.WithMessage("cannot read ", store->location(), " at version ",
                                state.version, ": ", readable.message());
  }
  auto schema = ParseDeltaSchema(state.metadata.schema_string);
  if (!schema.ok()) {
    return schema.status().WithMessage("cannot read ", store->location(), " at version ",
                                       state.version, ": ", schema.status().message());
  }
  return std::shared_ptr<DeltaSnapshot>(new DeltaSnapshot(
      std::move(store), std::make_shared<const TableState>(std::move(state)),
      std::make_shared<const DeltaSchema>(std::move(*schema))));
}

TableInfo DeltaSnapshot::Info() const {
  TableInfo info;
  info.format = "delta";
  info.location = store_->location();
  info.version = state_->version;
  info.timestamp_ms = state_->timestamp_ms;
  info.schema = schema_->arrow_schema;
  for (const auto& f : info.schema->fields())
    info.type_names.push_back(DeltaTypeName(*f->type()));
  info.partition_columns = state_->metadata.partition_columns;
  info.id = state_->metadata.id;
  info.name = state_->metadata.name;
  info.description = state_->metadata.description;
  info.snapshot_id = snapshot_id();
  info.properties = state_->metadata.configuration;
  info.num_files = static_cast<int64_t>(state_->files.size());
  for (const auto& f : state_->files) info.size_bytes += f.size;
  const Protocol& p = state_->protocol;
  Json details = {
      {"min_reader_version", p.min_reader_version},
      {"min_writer_version", p.min_writer_version},
      {"reader_features", p.reader_features.value_or(std::vector<std::string>{})},
      {"writer_features", p.writer_features.value_or(std::vector<std::string>{})}};
  info.format_details = DumpJson(details);
  return info;
}

std::optional<int64_t> DeltaSnapshot::RowCount() const {
  int64_t rows = 0;
  for (const auto& f : state_->files) {
    auto stats = ParseJson(f.stats, "stats");
    if (f.stats.empty() || !stats.ok() || !stats->contains("numRecords"))
      return std::nullopt;
    rows += GetIntOr(*stats, "numRecords", 0);
    if (f.deletion_vector) rows -= f.deletion_vector->cardinality;
  }
  return rows;
}

// An application's number is its txn's version; its document is where the table keeps
// documents (delta/app_documents.h).
std::optional<int64_t> DeltaSnapshot::AppVersion(const std::string& app_id) const {
  auto it = state_->txns.find(app_id);
  if (it == state_->txns.end()) return std::nullopt;
  return it->second.version;
}

arrow::Result<std::optional<std::string>> DeltaSnapshot::AppDocument(
    const std::string& app_id) const {
  return ReadDocument(*store_, *state_, app_id);
}

bool DeltaSnapshot::HasAppDocument(const std::string& app_id) const {
  return DocumentPointer(*state_, app_id).has_value();
}

arrow::Result<std::map<std::string, std::string>> DeltaSnapshot::AppDocuments(
    const std::string& prefix) const {
  return ReadDocuments(*store_, *state_, prefix);
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> DeltaSnapshot::Scan(
    const ScanOptions& options) const {
  return ScanState(store_, state_, schema_, options);
}

arrow::Result<std::shared_ptr<DeltaTable>> DeltaTable::Open(
    const std::string& uri, bool must_exist, const StorageOptions& storage) {
  ARROW_ASSIGN_OR_RAISE(auto store, TableStore::Make(uri, storage));
  if (must_exist) {
    // One lookup instead of a listing (loading a snapshot lists the log anyway); an empty
    // log fails there with the same "not a Delta table".
    ARROW_ASSIGN_OR_RAISE(auto log, store->fs()->GetFileInfo(store->Resolve(kLogDir)));
    if (log.type() != arrow::fs::FileType::Directory) {
      return TableNotFound("not a Delta table: " + store->location() +
                           " (no _delta_log)");
    }
  }
  return std::shared_ptr<DeltaTable>(new DeltaTable(std::move(store)));
}

arrow::Result<std::unique_ptr<table::Transaction>> DeltaTable::Begin(
    const arrow::Schema& input, const WriteOptions& options, bool changes_rows) const {
  if (!options.sort_by.empty())
    return arrow::Status::Invalid(
        "cannot write to ", location(),
        ": a Delta table has no sort order (sort_by is Iceberg's)");
  ARROW_ASSIGN_OR_RAISE(
      auto tx, WriteTransaction::Begin(*this, store_, input, options, changes_rows));
  return tx;
}

arrow::Result<CommitResult> DeltaTable::Write(
    std::shared_ptr<arrow::RecordBatchReader> data, const WriteOptions& options) {
  return table::Write(*this, std::move(data), options);
}

arrow::Result<MergeResult> DeltaTable::Merge(std::shared_ptr<arrow::Table> source,
                                             const MergeOptions& options) {
  return table::Merge(*this, std::move(source), options);
}

arrow::Result<MergeResult> DeltaTable::MergeExtract(
    std::shared_ptr<arrow::RecordBatchReader> extract, const MergeOptions& options) {
  return table::MergeExtract(*this, std::move(extract), options);
}

arrow::Result<MergeResult> DeltaTable::Delete(const RowChangeOptions& options) {
  return table::ChangeRows(*this, options, nullptr);
}

arrow::Result<MergeResult> DeltaTable::Update(const UpdateOptions& options) {
  return table::ChangeRows(*this, options, &options.set);
}

arrow::Result<std::shared_ptr<Snapshot>> DeltaTable::GetSnapshot(
    const SnapshotSpec& spec) const {
  if (spec.ref) {
    return arrow::Status::Invalid(
        "cannot read ", location(), " at '", *spec.ref,
        "': a Delta table has versions and timestamps, not named references");
  }
  ARROW_ASSIGN_OR_RAISE(auto snapshot, LoadSnapshot(spec));
  return snapshot;
}

arrow::Result<std::shared_ptr<DeltaSnapshot>> DeltaTable::LoadSnapshot(
    const SnapshotSpec& spec, const LogListing* listed) const {
  // Travelling by time needs every commit's file time; loading a version needs names
  // only.
  std::optional<LogListing> own;
  if (!listed || spec.timestamp_ms) {
    ARROW_ASSIGN_OR_RAISE(own, ListLog(*store_, spec.timestamp_ms ? ListDetail::kFull
                                                                  : ListDetail::kNames));
    listed = &*own;
  }
  const LogListing& listing = *listed;
  std::optional<int64_t> version = spec.version;
  if (!version && spec.timestamp_ms) {
    ARROW_ASSIGN_OR_RAISE(version, VersionAt(listing, *spec.timestamp_ms));
  }
  auto state = LoadState(*store_, listing, version);
  if (!state.ok()) {
    return state.status().WithMessage(
        "cannot load ", store_->location(),
        version ? " at version " + std::to_string(*version) : "", ": ",
        state.status().message());
  }
  return DeltaSnapshot::Make(store_, std::move(*state));
}

arrow::Result<int64_t> DeltaTable::VersionAt(const LogListing& listing,
                                             int64_t timestamp_ms) const {
  if (listing.commits.empty()) {
    return arrow::Status::Invalid("no commits to travel in ", store_->location());
  }
  // Commit times are file times unless In-Commit Timestamps are on; they are made
  // strictly increasing, as Spark does, so that every timestamp selects one version.
  ARROW_ASSIGN_OR_RAISE(auto latest, LoadState(*store_, listing, std::nullopt));
  bool ict = latest.metadata.Property("delta.enableInCommitTimestamps") == "true";
  int64_t ict_from = 0;
  if (auto v = latest.metadata.Property("delta.inCommitTimestampEnablementVersion")) {
    ict_from = std::strtoll(v->c_str(), nullptr, 10);
  }
  int64_t found = -1;
  int64_t prev = INT64_MIN;
  for (const auto& c : listing.commits) {
    int64_t ts = c.mtime_ms;
    if (ict && c.version >= ict_from) {
      ARROW_ASSIGN_OR_RAISE(auto actions, ReadCommit(*store_, c.version));
      ts = CommitTimestamp(actions, c);
    }
    if (prev != INT64_MIN && ts <= prev) ts = prev + 1;
    prev = ts;
    if (ts <= timestamp_ms) found = c.version;
  }
  if (found < 0) {
    return arrow::Status::Invalid(
        "timestamp ", FormatTimestampMillisIso(timestamp_ms),
        " is before the earliest available version of ", store_->location(), " (version ",
        listing.commits.front().version, " at ",
        FormatTimestampMillisIso(listing.commits.front().mtime_ms), ")");
  }
  return found;
}

arrow::Result<std::vector<HistoryEntry>> DeltaTable::History(int64_t limit) const {
  ARROW_ASSIGN_OR_RAISE(auto listing, ListLog(*store_));
  std::vector<HistoryEntry> out;
  for (auto it = listing.commits.rbegin(); it != listing.commits.rend(); ++it) {
    if (limit >= 0 && static_cast<int64_t>(out.size()) >= limit) break;
    ARROW_ASSIGN_OR_RAISE(auto actions, ReadCommit(*store_, it->version));
    HistoryEntry e;
    e.version = it->version;
    e.timestamp_ms = CommitTimestamp(actions, *it);
    Json info = actions.commit_info.value_or(Json::object());
    e.operation = GetStringOr(info, "operation", "");
    e.commit_info_json = DumpJson(info);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace inlet::delta
