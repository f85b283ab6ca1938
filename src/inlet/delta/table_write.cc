// DeltaTable::Write: conform the input to the table schema, write data files, and commit
// adds (and removes, for overwrites) in one version.
#include <algorithm>
#include <cctype>
#include <set>

#include <arrow/array.h>
#include <arrow/compute/api.h>
#include <arrow/status.h>

#include "inlet/common/fault.h"
#include "inlet/common/prefetch.h"
#include "inlet/common/time.h"
#include "inlet/common/uuid.h"
#include "inlet/delta/checkpoint_writer.h"
#include "inlet/delta/commit.h"
#include "inlet/delta/data_writer.h"
#include "inlet/delta/delta_table.h"
#include "inlet/delta/features.h"
#include "inlet/delta/log_segment.h"
#include "inlet/delta/partition.h"
#include "inlet/status.h"
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

// Checks that input can be written into a table of schema `table`; errors name the column.
arrow::Status CheckInputSchema(const arrow::Schema& input, const arrow::Schema& table,
                               const std::string& location) {
  for (const auto& f : input.fields()) {
    int idx = FindInput(table, f->name());
    if (idx < 0) {
      return arrow::Status::Invalid("cannot write to ", location, ": column '", f->name(),
                                    "' is not in the table schema ", table.ToString());
    }
    const auto& target = table.field(idx)->type();
    ARROW_ASSIGN_OR_RAISE(auto normalized, ToDeltaCompatible(f->type(), f->name()));
    if (!IsSafeWidening(*normalized, *target)) {
      return arrow::Status::TypeError("cannot write to ", location, ": column '", f->name(),
                                      "' has type ", f->type()->ToString(),
                                      ", which does not fit the table's type ",
                                      target->ToString());
    }
  }
  for (const auto& f : table.fields()) {
    if (!f->nullable() && FindInput(input, f->name()) < 0) {
      return arrow::Status::Invalid("cannot write to ", location, ": non-nullable column '",
                                    f->name(), "' is missing from the input");
    }
  }
  return arrow::Status::OK();
}

// Reorders, casts and null-fills one input batch to the table schema.
arrow::Result<std::shared_ptr<arrow::RecordBatch>> ConformBatch(const arrow::RecordBatch& batch,
                                                                const std::shared_ptr<arrow::Schema>& table) {
  arrow::ArrayVector columns;
  for (const auto& f : table->fields()) {
    int idx = FindInput(*batch.schema(), f->name());
    if (idx < 0) {
      ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(f->type(), batch.num_rows()));
      columns.push_back(nulls);
      continue;
    }
    auto column = batch.column(idx);
    if (!column->type()->Equals(*f->type())) {
      auto cast = arrow::compute::Cast(*column, f->type());
      if (!cast.ok()) {
        return cast.status().WithMessage("column '", f->name(), "': ", cast.status().message());
      }
      column = *cast;
    }
    if (!f->nullable() && column->null_count() > 0) {
      return arrow::Status::Invalid("column '", f->name(), "' is not nullable but the input has ",
                                    column->null_count(), " null values");
    }
    columns.push_back(column);
  }
  return arrow::RecordBatch::Make(table, batch.num_rows(), columns);
}

// The table schema plus (nullable) input columns it lacks, for schema evolution.
arrow::Result<std::shared_ptr<arrow::Schema>> MergeNewColumns(const arrow::Schema& input,
                                                              const std::shared_ptr<arrow::Schema>& table) {
  arrow::FieldVector fields = table->fields();
  for (const auto& f : input.fields()) {
    if (FindInput(*table, f->name()) >= 0) continue;
    ARROW_ASSIGN_OR_RAISE(auto type, ToDeltaCompatible(f->type(), f->name()));
    fields.push_back(arrow::field(f->name(), type, /*nullable=*/true));
  }
  return arrow::schema(fields);
}

RemoveFile ToRemove(const AddFile& a, int64_t now) {
  RemoveFile r;
  r.path = a.path;
  r.deletion_timestamp = now;
  r.data_change = true;
  r.extended_file_metadata = true;
  r.partition_values = a.partition_values;
  r.size = a.size;
  r.deletion_vector = a.deletion_vector;
  return r;
}

// Whether partition values satisfy every (partition-column) predicate.
bool PartitionSatisfies(const PartitionValues& values, const std::vector<BoundPredicate>& preds) {
  for (const auto& p : preds) {
    auto it = values.find(p.field->name());
    std::optional<std::string> text = it == values.end() ? std::nullopt : it->second;
    auto value = ParsePartitionValue(text, p.field->type(), p.field->name());
    if (!value.ok() || !Satisfies(p, **value)) return false;
  }
  return true;
}

std::string ModeName(WriteMode mode) {
  switch (mode) {
    case WriteMode::kAppend: return "Append";
    case WriteMode::kOverwrite: return "Overwrite";
    case WriteMode::kOverwritePartitions: return "Overwrite";
  }
  return "Append";
}

int64_t IntProperty(const Metadata& m, const std::string& key, int64_t fallback) {
  auto v = m.Property(key);
  if (!v) return fallback;
  char* end = nullptr;
  long long n = std::strtoll(v->c_str(), &end, 10);
  return (end && *end == '\0' && !v->empty()) ? n : fallback;
}

// A new table's protocol and metadata from the input schema and options.
arrow::Result<std::pair<Protocol, Metadata>> NewTable(const arrow::Schema& input,
                                                      const WriteOptions& options,
                                                      std::shared_ptr<arrow::Schema>* table_schema) {
  ARROW_RETURN_NOT_OK(ValidateTableProperties(options.properties));
  ARROW_ASSIGN_OR_RAISE(*table_schema, ToDeltaCompatible(input));
  std::set<std::string> seen;
  for (const auto& f : (*table_schema)->fields()) {
    if (!seen.insert(Lower(f->name())).second) {
      return arrow::Status::Invalid("column names must be unique ignoring case: '", f->name(), "'");
    }
  }
  for (const auto& pc : options.partition_by) {
    auto f = (*table_schema)->GetFieldByName(pc);
    if (!f) return arrow::Status::Invalid("partition column '", pc, "' is not in the input");
    if (f->type()->id() == arrow::Type::STRUCT || f->type()->id() == arrow::Type::LIST ||
        f->type()->id() == arrow::Type::MAP) {
      return arrow::Status::Invalid("partition column '", pc, "' must have a primitive type");
    }
  }
  if (!options.partition_by.empty() &&
      options.partition_by.size() == static_cast<size_t>((*table_schema)->num_fields())) {
    return arrow::Status::Invalid("a table needs at least one column that is not a partition column");
  }
  Metadata m;
  m.id = NewUuid();
  ARROW_ASSIGN_OR_RAISE(m.schema_string, SerializeDeltaSchema(**table_schema));
  m.partition_columns = options.partition_by;
  m.configuration = options.properties;
  m.created_time = NowMillis();
  return std::make_pair(MinimalProtocol(**table_schema, options.properties), std::move(m));
}

}  // namespace

arrow::Result<CommitResult> DeltaTable::Write(std::shared_ptr<arrow::RecordBatchReader> data,
                                              const WriteOptions& options) {
  const std::string& location = store_->location();
  std::shared_ptr<DeltaSnapshot> snapshot;
  {
    auto listing = ListLog(*store_);
    if (listing.ok()) {
      if (options.read_version && *options.read_version < 0) {
        return CommitConflict("cannot write to " + location + ": the table was created concurrently");
      }
      SnapshotSpec base;
      if (options.read_version) base.version = *options.read_version;
      ARROW_ASSIGN_OR_RAISE(snapshot, LoadSnapshot(base));
    } else if (!listing.status().IsIOError()) {
      return listing.status();
    } else if (options.read_version && *options.read_version >= 0) {
      return arrow::Status::IOError("cannot write to ", location, ": the table has disappeared");
    }
  }
  PendingCommit commit;
  std::shared_ptr<arrow::Schema> table_schema;
  std::vector<std::string> partition_columns;
  Metadata metadata;
  if (snapshot) {
    const auto& state = snapshot->state();
    auto writable = CheckWritable(state.protocol, state.metadata, snapshot->delta_schema());
    if (!writable.ok()) return writable.WithMessage("cannot write to ", location, ": ", writable.message());
    if (options.mode != WriteMode::kAppend && state.metadata.Property("delta.appendOnly") == "true") {
      return arrow::Status::Invalid("cannot overwrite ", location, ": the table is append-only (delta.appendOnly=true)");
    }
    table_schema = snapshot->schema();
    metadata = state.metadata;
    if (options.merge_schema) {
      ARROW_ASSIGN_OR_RAISE(auto merged, MergeNewColumns(*data->schema(), table_schema));
      if (merged->num_fields() != table_schema->num_fields()) {
        table_schema = merged;
        ARROW_ASSIGN_OR_RAISE(metadata.schema_string, SerializeDeltaSchema(*table_schema));
        commit.actions.metadata = metadata;
      }
    }
    ARROW_RETURN_NOT_OK(CheckInputSchema(*data->schema(), *table_schema, location));
    if (!options.domain_metadata.empty() || !options.remove_domains.empty()) {
      Protocol upgraded = WithWriterFeature(state.protocol, "domainMetadata");
      if (upgraded.min_writer_version != state.protocol.min_writer_version ||
          upgraded.writer_features != state.protocol.writer_features) {
        commit.actions.protocol = upgraded;
      }
    }
    for (const auto& domain : options.remove_domains) {
      if (state.domains.count(domain)) commit.actions.domains.push_back(DomainMetadata{domain, "", true});
    }
  } else {
    if (options.mode == WriteMode::kOverwrite && !options.replace_where.empty()) {
      return arrow::Status::Invalid("cannot replace rows of ", location, ": there is no table yet");
    }
    auto created = NewTable(*data->schema(), options, &table_schema);
    if (!created.ok()) return created.status().WithMessage("cannot create ", location, ": ", created.status().message());
    commit.actions.protocol = created->first;
    if (!options.domain_metadata.empty()) {
      commit.actions.protocol = WithWriterFeature(created->first, "domainMetadata");
    }
    commit.actions.metadata = created->second;
    metadata = created->second;
    ARROW_RETURN_NOT_OK(store_->CreateDir(kLogDir));
  }
  partition_columns = metadata.partition_columns;

  // Bind the replace predicate before writing anything.
  std::vector<BoundPredicate> replace;
  if (!options.replace_where.empty()) {
    if (options.mode != WriteMode::kOverwrite) {
      return arrow::Status::Invalid("replace_where needs overwrite mode");
    }
    ARROW_ASSIGN_OR_RAISE(replace, BindConjunction(options.replace_where, *table_schema));
    for (const auto& p : replace) {
      if (std::find(partition_columns.begin(), partition_columns.end(), p.field->name()) ==
          partition_columns.end()) {
        return arrow::Status::NotImplemented("replace_where on '", p.field->name(),
                                             "': only partition columns are supported");
      }
    }
  }

  DataWriterOptions wopts;
  wopts.partition_columns = partition_columns;
  wopts.target_file_size = IntProperty(metadata, "delta.targetFileSize", options.target_file_size);
  wopts.compression = metadata.Property("delta.parquet.compression.codec").value_or(options.compression);
  wopts.num_indexed_cols = static_cast<int>(IntProperty(metadata, "delta.dataSkippingNumIndexedCols", 32));
  ARROW_ASSIGN_OR_RAISE(auto writer, DataWriter::Make(store_, table_schema, wopts));
  // Decoding the input overlaps encoding the output.
  data = Prefetch(std::move(data));
  while (true) {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(data->ReadNext(&batch));
    if (!batch) break;
    auto conformed = ConformBatch(*batch, table_schema);
    if (!conformed.ok()) {
      return conformed.status().WithMessage("cannot write to ", location, ": ", conformed.status().message());
    }
    ARROW_RETURN_NOT_OK(writer->Write(*conformed));
  }
  ARROW_ASSIGN_OR_RAISE(commit.actions.adds, writer->Finish());
  CrashPoint("write.after_data_files");

  int64_t now = NowMillis();
  CommitResult result;
  result.rows_written = writer->rows_written();
  result.files_added = static_cast<int64_t>(commit.actions.adds.size());
  std::set<PartitionValues> touched;
  for (const auto& a : commit.actions.adds) {
    result.bytes_written += a.size;
    touched.insert(a.partition_values);
  }
  result.partitions_touched = static_cast<int64_t>(touched.size());

  if (snapshot && options.mode != WriteMode::kAppend) {
    std::set<PartitionValues> written;
    for (const auto& a : commit.actions.adds) written.insert(a.partition_values);
    if (!replace.empty()) {
      for (const auto& a : commit.actions.adds) {
        if (!PartitionSatisfies(a.partition_values, replace)) {
          return arrow::Status::Invalid("cannot write to ", location,
                                        ": input rows fall outside the replace predicate (file ",
                                        a.path, ")");
        }
      }
      commit.reads_partition = [replace](const PartitionValues& v) { return PartitionSatisfies(v, replace); };
    } else if (options.mode == WriteMode::kOverwritePartitions && !partition_columns.empty()) {
      commit.reads_partition = [written](const PartitionValues& v) { return written.count(v) > 0; };
    } else {
      commit.reads_partition = [](const PartitionValues&) { return true; };
    }
    for (const auto& f : snapshot->state().files) {
      if (commit.reads_partition(f.partition_values)) commit.actions.removes.push_back(ToRemove(f, now));
    }
  }
  result.files_removed = static_cast<int64_t>(commit.actions.removes.size());

  if (options.app_transaction) {
    commit.actions.txns.push_back(Txn{options.app_transaction->app_id, options.app_transaction->version, now});
  }
  for (const auto& [domain, config] : options.domain_metadata) {
    commit.actions.domains.push_back(DomainMetadata{domain, config, false});
  }
  Json& info = commit.actions.commit_info.emplace(Json::object());
  Json params = Json::object();
  params["mode"] = ModeName(options.mode);
  params["partitionBy"] = DumpJson(Json(partition_columns));
  if (!options.replace_where.empty()) {
    std::string pred;
    for (const auto& p : options.replace_where) pred += (pred.empty() ? "" : " AND ") + p.ToString();
    params["predicate"] = pred;
  }
  for (const auto& [k, v] : options.operation_parameters) params[k] = v;
  info["operation"] =
      !options.operation.empty() ? options.operation : (snapshot ? "WRITE" : "CREATE TABLE AS SELECT");
  info["operationParameters"] = params;
  info["operationMetrics"] = {
      {"numFiles", std::to_string(result.files_added)},
      {"numOutputRows", std::to_string(result.rows_written)},
      {"numOutputBytes", std::to_string(result.bytes_written)},
      {"numRemovedFiles", std::to_string(result.files_removed)}};
  info["txnId"] = NewUuid();

  int64_t read_version = snapshot ? snapshot->version() : -1;
  auto version = CommitWithRetries(*store_, read_version, commit, options.max_commit_attempts,
                                   &result.attempts);
  if (!version.ok()) {
    return version.status().WithMessage("cannot commit to ", location, ": ", version.status().message());
  }
  result.version = *version;

  int64_t interval = IntProperty(metadata, "delta.checkpointInterval", kDefaultCheckpointInterval);
  if (interval > 0 && result.version > 0 && result.version % interval == 0) {
    // A checkpoint only speeds up reads; the commit stands whether or not it succeeds.
    auto listing = ListLog(*store_);
    if (listing.ok()) {
      auto state = LoadState(*store_, *listing, result.version);
      if (state.ok()) (void)WriteCheckpoint(*store_, *state);
    }
  }
  return result;
}

}  // namespace inlet::delta
