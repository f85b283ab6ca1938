#include "inlet/delta/checkpoint_reader.h"

#include <arrow/table.h>

#include "inlet/common/arrow_json.h"
#include "inlet/common/uri.h"
#include "inlet/table/parquet_file.h"

namespace inlet::delta {

namespace {

// Top-level checkpoint columns a snapshot needs (remove: the tombstones vacuum keeps);
// everything else (commitInfo, cdc, stats_parsed inside add) is not read.
constexpr const char* kActionColumns[] = {"add", "remove", "metaData", "protocol", "txn",
                                          "domainMetadata", "sidecar", "checkpointMetadata"};

void Merge(ActionSet&& from, ActionSet* into) {
  if (from.protocol) into->protocol = std::move(from.protocol);
  if (from.metadata) into->metadata = std::move(from.metadata);
  for (auto& a : from.adds) into->adds.push_back(std::move(a));
  for (auto& r : from.removes) into->removes.push_back(std::move(r));
  for (auto& t : from.txns) into->txns.push_back(std::move(t));
  for (auto& d : from.domains) into->domains.push_back(std::move(d));
  for (auto& s : from.sidecars) into->sidecars.push_back(std::move(s));
  if (from.checkpoint_metadata_version) {
    into->checkpoint_metadata_version = from.checkpoint_metadata_version;
  }
}

arrow::Result<ActionSet> ReadParquetActions(const TableStore& store, const std::string& rel) {
  ARROW_ASSIGN_OR_RAISE(auto reader, OpenParquetFile(store.fs(), store.Resolve(rel)));
  const auto& manifest = reader->manifest();
  std::vector<int> leaves;
  std::vector<std::string> names;
  for (const auto& field : manifest.schema_fields) {
    for (const char* want : kActionColumns) {
      if (field.field->name() != want) continue;
      if (field.field->name() == std::string("add")) {
        // Skip add.stats_parsed / partitionValues_parsed: large, and "stats" suffices.
        for (const auto& child : field.children) {
          const auto& n = child.field->name();
          if (n != "stats_parsed" && n != "partitionValues_parsed") {
            CollectLeafIndices(child, &leaves);
          }
        }
      } else {
        CollectLeafIndices(field, &leaves);
      }
      names.push_back(want);
    }
  }
  std::shared_ptr<arrow::Table> table;
  ARROW_RETURN_NOT_OK(reader->ReadTable(leaves, &table));
  ARROW_ASSIGN_OR_RAISE(table, table->CombineChunks());
  ActionSet out;
  std::string what = "checkpoint " + rel;
  for (int c = 0; c < table->num_columns(); ++c) {
    const std::string& kind = table->field(c)->name();
    const auto& column = *table->column(c)->chunk(0);
    for (int64_t i = 0; i < column.length(); ++i) {
      if (column.IsNull(i)) continue;
      Json action = Json::object();
      action[kind] = ArrowValueToJson(column, i, /*skip_null_fields=*/true);
      ARROW_RETURN_NOT_OK(ParseActionObject(action, what, &out));
    }
  }
  return out;
}

arrow::Result<ActionSet> ReadOneFile(const TableStore& store, const std::string& rel) {
  if (rel.size() > 5 && rel.compare(rel.size() - 5, 5, ".json") == 0) {
    ARROW_ASSIGN_OR_RAISE(auto buffer, store.ReadFile(rel));
    return ParseActions(std::string_view(reinterpret_cast<const char*>(buffer->data()),
                                         buffer->size()),
                        rel);
  }
  return ReadParquetActions(store, rel);
}

}  // namespace

arrow::Result<ActionSet> ReadCheckpoint(const TableStore& store, const Checkpoint& checkpoint) {
  ActionSet out;
  for (const auto& f : checkpoint.files) {
    std::string rel = std::string(kLogDir) + "/" + f.name;
    ARROW_ASSIGN_OR_RAISE(auto part, ReadOneFile(store, rel));
    Merge(std::move(part), &out);
  }
  // A V2 checkpoint may keep its file actions in sidecars.
  std::vector<Sidecar> sidecars = std::move(out.sidecars);
  out.sidecars.clear();
  for (const auto& s : sidecars) {
    std::string rel = std::string(kLogDir) + "/_sidecars/" + PercentDecode(s.path);
    ARROW_ASSIGN_OR_RAISE(auto part, ReadParquetActions(store, rel));
    Merge(std::move(part), &out);
  }
  if (!out.protocol || !out.metadata) {
    return arrow::Status::Invalid("checkpoint ", checkpoint.files.front().name,
                                  " lacks a ", out.protocol ? "metaData" : "protocol",
                                  " action");
  }
  return out;
}

}  // namespace inlet::delta
