#include "inlet/delta/transaction.h"

#include <arrow/array.h>
#include <arrow/compute/api.h>
#include <arrow/status.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "inlet/common/fault.h"
#include "inlet/common/prefetch.h"
#include "inlet/common/time.h"
#include "inlet/common/uri.h"
#include "inlet/common/uuid.h"
#include "inlet/delta/app_documents.h"
#include "inlet/delta/checkpoint_writer.h"
#include "inlet/delta/commit.h"
#include "inlet/delta/delta_table.h"
#include "inlet/delta/features.h"
#include "inlet/delta/log_segment.h"
#include "inlet/delta/maintenance.h"
#include "inlet/delta/scan.h"
#include "inlet/delta/stats.h"
#include "inlet/status.h"
#include "inlet/table/partition.h"
#include "inlet/table/row_bitmap.h"
#include "inlet/table/value.h"

namespace inlet::delta {

namespace {

constexpr int kDefaultCheckpointInterval = 10;

std::string Lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

int FindInput(const arrow::Schema& input, const std::string& name) {
  int idx = input.GetFieldIndex(name);
  if (idx >= 0) return idx;
  for (int i = 0; i < input.num_fields(); ++i) {
    if (Lower(input.field(i)->name()) == Lower(name)) return i;
  }
  return -1;
}

arrow::Status InputSchemaFits(const arrow::Schema& input, const arrow::Schema& table,
                              const std::string& location) {
  for (const auto& f : input.fields()) {
    int idx = FindInput(table, f->name());
    if (idx < 0) {
      return arrow::Status::Invalid("cannot write to ", location, ": column '", f->name(),
                                    "' is not in the table schema ", table.ToString());
    }
    const auto& target = table.field(idx)->type();
    if (f->type()->id() == arrow::Type::NA) continue;  // nulls fit any (nullable) column
    ARROW_ASSIGN_OR_RAISE(auto normalized, ToDeltaCompatible(f->type(), f->name()));
    if (!IsSafeWidening(*normalized, *target)) {
      return arrow::Status::TypeError("cannot write to ", location, ": column '",
                                      f->name(), "' has type ", f->type()->ToString(),
                                      ", which does not fit the table's type ",
                                      target->ToString());
    }
  }
  for (const auto& f : table.fields()) {
    if (!f->nullable() && FindInput(input, f->name()) < 0) {
      return arrow::Status::Invalid("cannot write to ", location,
                                    ": non-nullable column '", f->name(),
                                    "' is missing from the input");
    }
  }
  return arrow::Status::OK();
}

// Checks that input can be written into a table of schema `table`; errors name the column
// and are schema mismatches.
arrow::Status CheckInputSchema(const arrow::Schema& input, const arrow::Schema& table,
                               const std::string& location) {
  return WithKind(InputSchemaFits(input, table, location), ErrorKind::kSchemaMismatch);
}

// Reorders, casts and null-fills one input batch to the table schema.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> ConformBatch(
    const arrow::RecordBatch& batch, const std::shared_ptr<arrow::Schema>& table) {
  arrow::ArrayVector columns;
  for (const auto& f : table->fields()) {
    int idx = FindInput(*batch.schema(), f->name());
    if (idx < 0) {
      ARROW_ASSIGN_OR_RAISE(auto nulls,
                            arrow::MakeArrayOfNull(f->type(), batch.num_rows()));
      columns.push_back(nulls);
      continue;
    }
    auto column = batch.column(idx);
    if (!column->type()->Equals(*f->type())) {
      auto cast = CastToTableType(column, f->type());
      if (!cast.ok()) {
        return cast.status().WithMessage("column '", f->name(),
                                         "': ", cast.status().message());
      }
      column = *cast;
    }
    if (!f->nullable() && column->null_count() > 0) {
      return arrow::Status::Invalid("column '", f->name(),
                                    "' is not nullable but the input has ",
                                    column->null_count(), " null values");
    }
    columns.push_back(column);
  }
  return arrow::RecordBatch::Make(table, batch.num_rows(), columns);
}

// The table schema plus (nullable) input columns it lacks, for schema evolution.
arrow::Result<std::shared_ptr<arrow::Schema>> MergeNewColumns(
    const arrow::Schema& input, const std::shared_ptr<arrow::Schema>& table) {
  arrow::FieldVector fields = table->fields();
  for (const auto& f : input.fields()) {
    if (FindInput(*table, f->name()) >= 0) continue;
    ARROW_ASSIGN_OR_RAISE(auto type, ToDeltaCompatible(f->type(), f->name()));
    fields.push_back(arrow::field(f->name(), type, /*nullable=*/true));
  }
  return arrow::schema(fields);
}

int64_t IntProperty(const Metadata& m, const std::string& key, int64_t fallback) {
  auto v = m.Property(key);
  if (!v) return fallback;
  char* end = nullptr;
  long long n = std::strtoll(v->c_str(), &end, 10);
  return (end && *end == '\0' && !v->empty()) ? n : fallback;
}

// A new table's protocol and metadata from the input schema and options.
arrow::Result<std::pair<Protocol, Metadata>> NewTable(
    const arrow::Schema& input, const WriteOptions& options,
    std::shared_ptr<arrow::Schema>* table_schema) {
  ARROW_RETURN_NOT_OK(ValidateTableProperties(options.properties));
  ARROW_RETURN_NOT_OK(CheckStateStorage(options.properties));
  ARROW_ASSIGN_OR_RAISE(*table_schema, ToDeltaCompatible(input));
  std::set<std::string> seen;
  for (const auto& f : (*table_schema)->fields()) {
    if (!seen.insert(Lower(f->name())).second) {
      return arrow::Status::Invalid("column names must be unique ignoring case: '",
                                    f->name(), "'");
    }
  }
  for (const auto& pc : options.partition_by) {
    auto f = (*table_schema)->GetFieldByName(pc);
    if (!f)
      return arrow::Status::Invalid("partition column '", pc, "' is not in the input");
    if (f->type()->id() == arrow::Type::STRUCT || f->type()->id() == arrow::Type::LIST ||
        f->type()->id() == arrow::Type::MAP) {
      return arrow::Status::Invalid("partition column '", pc,
                                    "' must have a primitive type");
    }
  }
  if (!options.partition_by.empty() &&
      options.partition_by.size() == static_cast<size_t>((*table_schema)->num_fields())) {
    return arrow::Status::Invalid(
        "a table needs at least one column that is not a partition column");
  }
  Metadata m;
  m.id = NewUuid();
  ARROW_ASSIGN_OR_RAISE(m.schema_string, SerializeDeltaSchema(**table_schema));
  m.partition_columns = options.partition_by;
  m.configuration = options.properties;
  m.created_time = NowMillis();
  return std::make_pair(MinimalProtocol(**table_schema, options.properties),
                        std::move(m));
}

// The snapshot a write is based on (options.read_version, or the latest); null when there
// is no table yet.
arrow::Result<std::shared_ptr<DeltaSnapshot>> LoadBase(const DeltaTable& table,
                                                       const TableStore& store,
                                                       const WriteOptions& options) {
  const std::string& location = store.location();
  auto listing = ListLog(store, ListDetail::kNames);
  if (listing.ok()) {
    if (options.read_version && *options.read_version < 0) {
      return CommitConflict("cannot write to " + location +
                            ": the table was created concurrently");
    }
    SnapshotSpec spec;
    if (options.read_version) spec.version = *options.read_version;
    return table.LoadSnapshot(spec, &*listing);
  }
  if (!IsTableNotFound(listing.status())) return listing.status();
  if (options.read_version && *options.read_version >= 0) {
    return arrow::Status::IOError("cannot write to ", location,
                                  ": the table has disappeared");
  }
  return nullptr;
}

std::string Joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

bool SameProtocol(const Protocol& a, const Protocol& b) {
  return a.min_reader_version == b.min_reader_version &&
         a.min_writer_version == b.min_writer_version &&
         a.reader_features == b.reader_features && a.writer_features == b.writer_features;
}

// p, raised to what `needed` (a new table's minimal protocol) asks for.
Protocol Raised(Protocol p, const Protocol& needed) {
  if (needed.min_writer_version < 7) {
    if (p.min_writer_version < 7) {
      p.min_writer_version = std::max(p.min_writer_version, needed.min_writer_version);
    } else if (needed.min_writer_version >= 4) {
      p = WithWriterFeature(p, "changeDataFeed");
    }
    return p;
  }
  for (const auto& f : needed.reader_features.value_or(std::vector<std::string>{})) {
    if (p.HasReaderFeature(f)) continue;
    if (p.min_reader_version < 3) {
      // Legacy reader version 2 implies column mapping.
      std::vector<std::string> implied;
      if (p.min_reader_version == 2) implied.push_back("columnMapping");
      p.min_reader_version = 3;
      p.reader_features = implied;
    }
    p.reader_features->push_back(f);
  }
  for (const auto& f : needed.writer_features.value_or(std::vector<std::string>{}))
    p = WithWriterFeature(p, f);
  return p;
}

}  // namespace

// Sets the properties that differ from the table's, raising the protocol as they need.
arrow::Status WriteTransaction::UpdateProperties(
    const TableState& state, const std::map<std::string, std::string>& properties,
    const std::string& location, WriteTransaction* tx) {
  std::map<std::string, std::string> changed;
  for (const auto& [key, value] : properties) {
    if (state.metadata.Property(key) != value) changed[key] = value;
  }
  if (changed.empty()) return arrow::Status::OK();
  auto valid = ValidateTableProperties(properties);
  if (!valid.ok())
    return valid.WithMessage("cannot alter ", location, ": ", valid.message());
  if (changed.count("delta.columnMapping.mode")) {
    return arrow::Status::Invalid(
        "cannot alter ", location,
        ": delta.columnMapping.mode is chosen when a table is created");
  }
  for (const auto& [key, value] : changed) tx->metadata_.configuration[key] = value;
  auto safe = CheckStateStorage(tx->metadata_.configuration);
  if (!safe.ok())
    return safe.WithMessage("cannot alter ", location, ": ", safe.message());
  tx->commit_.actions.metadata = tx->metadata_;
  Protocol current = tx->commit_.actions.protocol.value_or(state.protocol);
  Protocol raised =
      Raised(current, MinimalProtocol(*tx->schema_, tx->metadata_.configuration));
  if (!SameProtocol(raised, state.protocol)) tx->commit_.actions.protocol = raised;
  return arrow::Status::OK();
}

arrow::Result<std::unique_ptr<WriteTransaction>> WriteTransaction::Begin(
    const DeltaTable& table, std::shared_ptr<const TableStore> store,
    const arrow::Schema& input, const WriteOptions& options, bool overwrites,
    std::shared_ptr<DeltaSnapshot> base) {
  std::unique_ptr<WriteTransaction> tx(new WriteTransaction(store, options));
  const std::string& location = store->location();
  if (base) {
    tx->base_ = std::move(base);
  } else {
    ARROW_ASSIGN_OR_RAISE(tx->base_, LoadBase(table, *store, options));
  }
  PendingCommit& commit = tx->commit_;
  if (tx->base_) {
    const auto& state = tx->base_->state();
    auto writable =
        CheckWritable(state.protocol, state.metadata, tx->base_->delta_schema());
    if (!writable.ok())
      return writable.WithMessage("cannot write to ", location, ": ", writable.message());
    if (overwrites && state.metadata.Property("delta.appendOnly") == "true") {
      return arrow::Status::Invalid("cannot change rows of ", location,
                                    ": the table is append-only (delta.appendOnly=true)");
    }
    tx->schema_ = tx->base_->schema();
    tx->metadata_ = state.metadata;
    if (options.merge_schema) {
      ARROW_ASSIGN_OR_RAISE(auto merged, MergeNewColumns(input, tx->schema_));
      if (merged->num_fields() != tx->schema_->num_fields()) {
        tx->schema_ = merged;
        ARROW_ASSIGN_OR_RAISE(tx->metadata_.schema_string,
                              SerializeDeltaSchema(*tx->schema_));
        commit.actions.metadata = tx->metadata_;
      }
    }
    ARROW_RETURN_NOT_OK(CheckInputSchema(input, *tx->schema_, location));
    if (!options.partition_by.empty() &&
        options.partition_by != state.metadata.partition_columns) {
      return arrow::Status::Invalid(
          "cannot write to ", location, ": the table is partitioned by [",
          Joined(state.metadata.partition_columns), "], not [",
          Joined(options.partition_by),
          "]; an existing table's partitioning does not change (write a new table)");
    }
    if (options.update_properties) {
      ARROW_RETURN_NOT_OK(
          UpdateProperties(state, options.properties, location, tx.get()));
    }
  } else {
    auto created = NewTable(input, options, &tx->schema_);
    if (!created.ok())
      return created.status().WithMessage("cannot create ", location, ": ",
                                          created.status().message());
    commit.actions.protocol = created->first;
    commit.actions.metadata = created->second;
    tx->metadata_ = created->second;
    // _delta_log/ is created by the first commit (Commit): a create that fails before it
    // leaves no empty log behind.
    ARROW_RETURN_NOT_OK(store->CreateRoot());
  }
  return tx;
}

arrow::Result<std::shared_ptr<arrow::RecordBatch>> WriteTransaction::Conform(
    const arrow::RecordBatch& batch, const std::shared_ptr<arrow::Schema>& to) const {
  auto conformed = ConformBatch(batch, to);
  if (!conformed.ok()) {
    return WithKind(conformed.status(), ErrorKind::kSchemaMismatch)
        .WithMessage("cannot write to ", location(), ": ", conformed.status().message());
  }
  return conformed;
}

int64_t WriteTransaction::target_file_size() const {
  return IntProperty(metadata_, "delta.targetFileSize", options_.target_file_size);
}

namespace {

// What the data and change data files of a table share: partitioning, file size, codec
// and integer encoding (kIntegerEncodingProperty).
table::DataWriterOptions TableWriterOptions(const Metadata& metadata,
                                            const WriteOptions& options,
                                            int64_t target_file_size) {
  table::DataWriterOptions wopts;
  wopts.partition_columns = metadata.partition_columns;
  wopts.target_file_size = target_file_size;
  wopts.compression =
      metadata.Property("delta.parquet.compression.codec").value_or(options.compression);
  wopts.integer_encoding =
      metadata.Property(kIntegerEncodingProperty).value_or("delta") == "plain"
          ? table::IntegerEncoding::kPlain
          : table::IntegerEncoding::kDeltaBinaryPacked;
  return wopts;
}

}  // namespace

arrow::Result<std::unique_ptr<table::DataWriter>> WriteTransaction::NewDataWriter(
    std::optional<int64_t> target_file_size) const {
  table::DataWriterOptions wopts = TableWriterOptions(
      metadata_, options_, target_file_size.value_or(this->target_file_size()));
  wopts.num_indexed_cols =
      static_cast<int>(IntProperty(metadata_, "delta.dataSkippingNumIndexedCols", 32));
  return table::DataWriter::Make(store_, schema_, wopts);
}

bool WriteTransaction::change_data_feed() const {
  auto v = metadata_.Property("delta.enableChangeDataFeed");
  return v && (*v == "true" || *v == "TRUE" || *v == "True");
}

arrow::Result<std::unique_ptr<table::DataWriter>> WriteTransaction::NewChangeDataWriter()
    const {
  table::DataWriterOptions wopts =
      TableWriterOptions(metadata_, options_, target_file_size());
  wopts.num_indexed_cols = 0;  // change data files carry no statistics
  wopts.directory = "_change_data";
  wopts.file_prefix = "cdc";
  return table::DataWriter::Make(store_, change_schema(), wopts);
}

bool WriteTransaction::marks_deleted_rows() const {
  return base_ && WritesDeletionVectors(base_->state().protocol, base_->state().metadata);
}

// Made on first use: a blind append never lists the files it does not touch.
const std::vector<table::DataFile>& WriteTransaction::files() const {
  if (files_ || !base_) return files_ ? *files_ : kNoFiles;
  const auto& adds = base_->state().files;
  std::vector<table::DataFile> out;
  out.reserve(adds.size());
  for (size_t i = 0; i < adds.size(); ++i) {
    table::DataFile f;
    f.path = adds[i].path;
    f.partition_values = adds[i].partition_values;
    f.size_bytes = adds[i].size;
    f.has_deletes = adds[i].deletion_vector.has_value();
    f.deleted_rows = f.has_deletes ? adds[i].deletion_vector->cardinality : 0;
    f.index = i;
    out.push_back(std::move(f));
  }
  files_ = std::move(out);
  return *files_;
}

ColumnStats WriteTransaction::Statistics(const table::DataFile& file,
                                         const std::string& column) const {
  const AddFile& add = AddFileOf(file);
  int idx = base_->delta_schema().FindColumn(column);
  auto field = base_->schema()->GetFieldByName(column);
  if (add.stats.empty() || idx < 0 || !field) return ColumnStats{};
  auto stats = ParseJson(add.stats, "stats");
  if (!stats.ok()) return ColumnStats{};
  return ReadColumnStats(*stats, {base_->delta_schema().columns[idx].physical_name},
                         field->type());
}

std::optional<int64_t> WriteTransaction::RecordCount(const table::DataFile& file) const {
  const AddFile& add = AddFileOf(file);
  auto stats = ParseJson(add.stats, "stats");
  if (add.stats.empty() || !stats.ok() || !stats->contains("numRecords"))
    return std::nullopt;
  return GetIntOr(*stats, "numRecords", 0);
}

arrow::Result<std::shared_ptr<arrow::RecordBatchReader>> WriteTransaction::ReadFile(
    const table::DataFile& file, const std::vector<std::string>& columns) const {
  ScanOptions options;
  options.columns = columns;
  auto one = std::make_shared<TableState>();
  one->version = base_->state().version;
  one->protocol = base_->state().protocol;
  one->metadata = base_->state().metadata;
  one->files = {AddFileOf(file)};
  auto schema = std::make_shared<const DeltaSchema>(base_->delta_schema());
  return ScanState(store_, one, schema, options);
}

AddFile ToAddFile(const table::WrittenFile& file, bool data_change) {
  AddFile add;
  add.path = PercentEncodePath(file.path);
  add.partition_values = file.partition_values;
  add.size = file.size_bytes;
  add.modification_time = file.modification_time_ms;
  add.data_change = data_change;
  add.stats = StatsJson(file.statistics);
  return add;
}

void WriteTransaction::Add(const std::vector<table::WrittenFile>& files,
                           bool data_change) {
  for (const auto& f : files) commit_.actions.adds.push_back(ToAddFile(f, data_change));
}

void WriteTransaction::AddChanges(const std::vector<table::WrittenFile>& files) {
  for (const auto& f : files) {
    commit_.actions.cdcs.push_back(
        CdcFile{PercentEncodePath(f.path), f.partition_values, f.size_bytes});
  }
}

void WriteTransaction::Remove(const table::DataFile& file, bool data_change) {
  commit_.actions.removes.push_back(ToRemove(AddFileOf(file), NowMillis()));
  commit_.actions.removes.back().data_change = data_change;
}

arrow::Status WriteTransaction::MarkDeleted(const table::DataFile& file,
                                            int64_t rows_read,
                                            std::vector<int64_t> positions) {
  const AddFile& add = AddFileOf(file);
  std::vector<uint64_t> before;
  if (add.deletion_vector) {
    ARROW_ASSIGN_OR_RAISE(before, LoadDeletionVector(*store_, *add.deletion_vector));
  }
  std::vector<uint64_t> now = table::FilePositions(positions, before);
  std::vector<uint64_t> all;
  all.reserve(before.size() + now.size());
  std::merge(before.begin(), before.end(), now.begin(), now.end(),
             std::back_inserter(all));
  Remove(file);
  if (static_cast<int64_t>(all.size()) == rows_read + static_cast<int64_t>(before.size()))
    return arrow::Status::OK();
  AddFile out = add;
  out.data_change = true;
  if (!deletion_vectors_) deletion_vectors_.emplace();
  out.deletion_vector = deletion_vectors_->Add(all);
  if (!out.stats.empty()) {
    // Bounds over every row of the file, the deleted ones included, are not tight.
    Json stats = ParseJson(out.stats, "stats").ValueOr(Json());
    if (stats.is_object()) {
      stats["tightBounds"] = false;
      out.stats = DumpJson(stats);
    }
  }
  marked_.push_back(std::move(out));
  return arrow::Status::OK();
}

arrow::Status WriteTransaction::RecordDocuments(int64_t now) {
  const TableState* base = base_ ? &base_->state() : nullptr;
  auto& actions = commit_.actions;
  bool needs_domains = false;
  for (const auto& [app, state] : options_.app_states) {
    if (!state.document) continue;
    // Another writer may have set properties that let the pointer expire.
    auto safe = CheckStateStorage(metadata_.configuration);
    if (!safe.ok())
      return safe.WithMessage("cannot commit to ", location(), ": ", safe.message());
    ARROW_RETURN_NOT_OK(RecordDocument(*store_, base, metadata_, app, state.document, now,
                                       &actions, &needs_domains));
  }
  for (const auto& app : options_.clear_app_documents) {
    ARROW_RETURN_NOT_OK(RecordDocument(*store_, base, metadata_, app, std::nullopt, now,
                                       &actions, &needs_domains));
  }
  if (needs_domains) {
    // Domain metadata needs the domainMetadata writer feature: the commit adds it to the
    // protocol it leaves (the base's, or the one it already changes).
    if (!base && !actions.protocol) return arrow::Status::OK();
    const Protocol& before = actions.protocol ? *actions.protocol : base->protocol;
    Protocol upgraded = WithWriterFeature(before, "domainMetadata");
    if (!SameProtocol(upgraded, before)) actions.protocol = upgraded;
  }
  return arrow::Status::OK();
}

arrow::Result<CommitResult> WriteTransaction::Commit(
    const std::string& operation, std::map<std::string, std::string> parameters,
    CommitResult result) {
  if (deletion_vectors_) {
    auto st = deletion_vectors_->Write(*store_);
    if (!st.ok())
      return st.WithMessage("cannot commit to ", location(), ": ", st.message());
  }
  CrashPoint("write.after_data_files");
  int64_t now = NowMillis();
  auto& actions = commit_.actions;
  for (auto& a : marked_) actions.adds.push_back(std::move(a));
  marked_.clear();
  result.files_added = static_cast<int64_t>(actions.adds.size());
  result.files_removed = static_cast<int64_t>(actions.removes.size());
  std::set<PartitionValues> touched;
  for (const auto& a : actions.adds) {
    result.bytes_written += a.size;
    touched.insert(a.partition_values);
  }
  result.partitions_touched = static_cast<int64_t>(touched.size());
  // An application's number is a txn; its document goes where the table keeps them
  // (delta/app_documents.h), written before the commit when that is a file.
  ARROW_RETURN_NOT_OK(RecordDocuments(now));
  for (const auto& [app, state] : options_.app_states) {
    if (state.version) actions.txns.push_back(Txn{app, *state.version, now});
  }
  Json& info = actions.commit_info.emplace(Json::object());
  Json params = Json::object();
  for (const auto& [k, v] : parameters) params[k] = v;
  params["partitionBy"] = DumpJson(Json(metadata_.partition_columns));
  for (const auto& [k, v] : options_.operation_parameters) params[k] = v;
  info["operation"] = !options_.operation.empty() ? options_.operation : operation;
  info["operationParameters"] = params;
  info["operationMetrics"] = {{"numFiles", std::to_string(result.files_added)},
                              {"numOutputRows", std::to_string(result.rows_written)},
                              {"numOutputBytes", std::to_string(result.bytes_written)},
                              {"numRemovedFiles", std::to_string(result.files_removed)}};
  info["txnId"] = NewUuid();

  int64_t read_version = base_ ? base_->version() : -1;
  if (!base_) ARROW_RETURN_NOT_OK(store_->CreateDir(kLogDir));
  auto version = CommitWithRetries(*store_, read_version, commit_,
                                   options_.max_commit_attempts, &result.attempts);
  if (!version.ok()) {
    return version.status().WithMessage("cannot commit to ", location(), ": ",
                                        version.status().message());
  }
  result.version = *version;
  int64_t interval =
      IntProperty(metadata_, "delta.checkpointInterval", kDefaultCheckpointInterval);
  if (interval > 0 && result.version > 0 && result.version % interval == 0) {
    // A checkpoint only speeds up reads, and expired log files only take space: the
    // commit stands whether or not they succeed.
    auto listing = ListLog(*store_, ListDetail::kNames);
    if (listing.ok()) {
      auto state = LoadState(*store_, *listing, result.version);
      if (state.ok() && WriteCheckpoint(*store_, *state).ok()) {
        (void)CleanupExpiredLogs(*store_, state->metadata, NowMillis());
      }
    }
  }
  return result;
}

}  // namespace inlet::delta
