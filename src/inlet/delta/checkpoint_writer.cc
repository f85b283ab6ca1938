#include "inlet/delta/checkpoint_writer.h"

#include <arrow/builder.h>
#include <arrow/io/memory.h>
#include <arrow/table.h>
#include <parquet/arrow/writer.h>

#include <cstdio>

#include "inlet/common/arrow_json.h"
#include "inlet/common/fault.h"
#include "inlet/common/time.h"
#include "inlet/delta/maintenance.h"

namespace inlet::delta {

namespace {

std::shared_ptr<arrow::DataType> StringMapType() {
  return arrow::map(arrow::utf8(), arrow::utf8());
}

std::shared_ptr<arrow::DataType> DvType() {
  return arrow::struct_({arrow::field("storageType", arrow::utf8()),
                         arrow::field("pathOrInlineDv", arrow::utf8()),
                         arrow::field("offset", arrow::int32()),
                         arrow::field("sizeInBytes", arrow::int32()),
                         arrow::field("cardinality", arrow::int64())});
}

// The checkpoint schema Spark writes (PROTOCOL.md "Checkpoint Schema").
std::shared_ptr<arrow::Schema> CheckpointSchema() {
  using arrow::field;
  auto strings = arrow::list(arrow::field("element", arrow::utf8()));
  return arrow::schema({
      field("txn", arrow::struct_({field("appId", arrow::utf8()),
                                   field("version", arrow::int64()),
                                   field("lastUpdated", arrow::int64())})),
      field("add",
            arrow::struct_(
                {field("path", arrow::utf8()), field("partitionValues", StringMapType()),
                 field("size", arrow::int64()), field("modificationTime", arrow::int64()),
                 field("dataChange", arrow::boolean()), field("tags", StringMapType()),
                 field("deletionVector", DvType()), field("baseRowId", arrow::int64()),
                 field("defaultRowCommitVersion", arrow::int64()),
                 field("clusteringProvider", arrow::utf8()),
                 field("stats", arrow::utf8())})),
      field("remove",
            arrow::struct_(
                {field("path", arrow::utf8()), field("deletionTimestamp", arrow::int64()),
                 field("dataChange", arrow::boolean()),
                 field("extendedFileMetadata", arrow::boolean()),
                 field("partitionValues", StringMapType()), field("size", arrow::int64()),
                 field("deletionVector", DvType())})),
      field("metaData",
            arrow::struct_(
                {field("id", arrow::utf8()), field("name", arrow::utf8()),
                 field("description", arrow::utf8()),
                 field("format", arrow::struct_({field("provider", arrow::utf8()),
                                                 field("options", StringMapType())})),
                 field("schemaString", arrow::utf8()), field("partitionColumns", strings),
                 field("configuration", StringMapType()),
                 field("createdTime", arrow::int64())})),
      field("protocol", arrow::struct_({field("minReaderVersion", arrow::int32()),
                                        field("minWriterVersion", arrow::int32()),
                                        field("readerFeatures", strings),
                                        field("writerFeatures", strings)})),
      field("domainMetadata", arrow::struct_({field("domain", arrow::utf8()),
                                              field("configuration", arrow::utf8()),
                                              field("removed", arrow::boolean())})),
  });
}

// One row per action: the action's column holds it, every other column is null.
class RowAppender {
 public:
  explicit RowAppender(std::shared_ptr<arrow::Schema> schema)
      : schema_(std::move(schema)) {}

  arrow::Status Init() {
    for (const auto& f : schema_->fields()) {
      ARROW_ASSIGN_OR_RAISE(auto b, arrow::MakeBuilder(f->type()));
      builders_.push_back(std::move(b));
    }
    return arrow::Status::OK();
  }

  arrow::Status Append(const std::string& column, const Json& action) {
    for (int i = 0; i < schema_->num_fields(); ++i) {
      if (schema_->field(i)->name() == column) {
        ARROW_RETURN_NOT_OK(AppendJson(action, builders_[i].get()));
      } else {
        ARROW_RETURN_NOT_OK(builders_[i]->AppendNull());
      }
    }
    return arrow::Status::OK();
  }

  arrow::Result<std::shared_ptr<arrow::Table>> Finish() {
    arrow::ArrayVector arrays;
    for (auto& b : builders_) {
      ARROW_ASSIGN_OR_RAISE(auto a, b->Finish());
      arrays.push_back(a);
    }
    return arrow::Table::Make(schema_, arrays);
  }

 private:
  std::shared_ptr<arrow::Schema> schema_;
  std::vector<std::unique_ptr<arrow::ArrayBuilder>> builders_;
};

}  // namespace

arrow::Result<int64_t> WriteCheckpoint(const TableStore& store, const TableState& state) {
  RowAppender rows(CheckpointSchema());
  ARROW_RETURN_NOT_OK(rows.Init());
  ARROW_RETURN_NOT_OK(rows.Append("protocol", ToJson(state.protocol)));
  ARROW_RETURN_NOT_OK(rows.Append("metaData", ToJson(state.metadata)));
  for (const auto& [id, t] : state.txns)
    ARROW_RETURN_NOT_OK(rows.Append("txn", ToJson(t)));
  for (const auto& [d, dm] : state.domains) {
    ARROW_RETURN_NOT_OK(rows.Append("domainMetadata", ToJson(dm)));
  }
  for (const auto& f : state.files) {
    Json add = ToJson(f);
    add["dataChange"] = false;  // checkpoint adds describe state, not changes
    ARROW_RETURN_NOT_OK(rows.Append("add", add));
  }
  // Removes stay in checkpoints until they expire, so that vacuum (ours or another
  // engine's) keeps the files older versions still read.
  int64_t cutoff =
      NowMillis() -
      DeletedFileRetention(state.metadata).ValueOr(kDefaultDeletedFileRetentionMs);
  for (const auto& r : state.tombstones) {
    if (r.deletion_timestamp.value_or(0) <= cutoff) continue;
    Json remove = ToJson(r);
    remove["dataChange"] = false;
    ARROW_RETURN_NOT_OK(rows.Append("remove", remove));
  }
  ARROW_ASSIGN_OR_RAISE(auto table, rows.Finish());

  ARROW_ASSIGN_OR_RAISE(auto sink, arrow::io::BufferOutputStream::Create());
  auto props = parquet::WriterProperties::Builder()
                   .compression(arrow::Compression::SNAPPY)
                   ->build();
  ARROW_RETURN_NOT_OK(parquet::arrow::WriteTable(*table, arrow::default_memory_pool(),
                                                 sink, 1024 * 1024, props));
  ARROW_ASSIGN_OR_RAISE(auto buffer, sink->Finish());
  char name[64];
  std::snprintf(name, sizeof(name), "_delta_log/%020lld.checkpoint.parquet",
                static_cast<long long>(state.version));
  ARROW_RETURN_NOT_OK(store.PutReplace(name, buffer->ToString()));
  CrashPoint("checkpoint.before_last_checkpoint");
  Json last = {{"version", state.version},
               {"size", table->num_rows()},
               {"sizeInBytes", buffer->size()},
               {"numOfAddFiles", static_cast<int64_t>(state.files.size())}};
  ARROW_RETURN_NOT_OK(store.PutReplace("_delta_log/_last_checkpoint", DumpJson(last)));
  return buffer->size();
}

}  // namespace inlet::delta
