#include "inlet/delta/actions.h"

#include <arrow/status.h>

#include <algorithm>

#include "inlet/common/uri.h"

namespace inlet::delta {

namespace {

std::map<std::string, std::string> StringMap(const Json& obj) {
  std::map<std::string, std::string> out;
  if (!obj.is_object()) return out;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (it.value().is_string()) {
      out[it.key()] = it.value().get<std::string>();
    } else if (!it.value().is_null()) {
      out[it.key()] = DumpJson(it.value());
    }
  }
  return out;
}

PartitionValues PartitionValuesFromJson(const Json& obj) {
  PartitionValues out;
  if (!obj.is_object()) return out;
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    if (it.value().is_string()) {
      out[it.key()] = it.value().get<std::string>();
    } else if (it.value().is_null()) {
      out[it.key()] = std::nullopt;
    } else {
      out[it.key()] = DumpJson(it.value());
    }
  }
  return out;
}

Json PartitionValuesToJson(const PartitionValues& values) {
  Json out = Json::object();
  for (const auto& [k, v] : values) out[k] = v ? Json(*v) : Json(nullptr);
  return out;
}

std::optional<std::vector<std::string>> FeatureList(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_array()) return std::nullopt;
  std::vector<std::string> out;
  for (const auto& v : *it) {
    if (v.is_string()) out.push_back(v.get<std::string>());
  }
  return out;
}

std::optional<int64_t> OptInt(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || !it->is_number_integer()) return std::nullopt;
  return it->get<int64_t>();
}

arrow::Result<std::optional<DeletionVectorDescriptor>> DvFromJson(const Json& obj,
                                                                  std::string_view what) {
  auto it = obj.find("deletionVector");
  if (it == obj.end() || it->is_null()) return std::nullopt;
  DeletionVectorDescriptor dv;
  ARROW_ASSIGN_OR_RAISE(dv.storage_type, GetString(*it, "storageType", what));
  ARROW_ASSIGN_OR_RAISE(dv.path_or_inline_dv, GetString(*it, "pathOrInlineDv", what));
  if (auto off = OptInt(*it, "offset")) dv.offset = static_cast<int32_t>(*off);
  ARROW_ASSIGN_OR_RAISE(int64_t size, GetInt(*it, "sizeInBytes", what));
  dv.size_in_bytes = static_cast<int32_t>(size);
  ARROW_ASSIGN_OR_RAISE(dv.cardinality, GetInt(*it, "cardinality", what));
  return dv;
}

Json DvToJson(const DeletionVectorDescriptor& dv) {
  Json j = {{"storageType", dv.storage_type},
            {"pathOrInlineDv", dv.path_or_inline_dv},
            {"sizeInBytes", dv.size_in_bytes},
            {"cardinality", dv.cardinality}};
  if (dv.offset) j["offset"] = *dv.offset;
  return j;
}

arrow::Result<AddFile> AddFromJson(const Json& j, std::string_view what) {
  AddFile a;
  ARROW_ASSIGN_OR_RAISE(a.path, GetString(j, "path", what));
  a.partition_values =
      PartitionValuesFromJson(j.value("partitionValues", Json::object()));
  a.size = GetIntOr(j, "size", 0);
  a.modification_time = GetIntOr(j, "modificationTime", 0);
  a.data_change = GetBoolOr(j, "dataChange", true);
  a.stats = GetStringOr(j, "stats", "");
  a.tags = StringMap(j.value("tags", Json::object()));
  ARROW_ASSIGN_OR_RAISE(a.deletion_vector, DvFromJson(j, what));
  a.base_row_id = OptInt(j, "baseRowId");
  a.default_row_commit_version = OptInt(j, "defaultRowCommitVersion");
  if (j.contains("clusteringProvider") && j["clusteringProvider"].is_string()) {
    a.clustering_provider = j["clusteringProvider"].get<std::string>();
  }
  return a;
}

arrow::Result<RemoveFile> RemoveFromJson(const Json& j, std::string_view what) {
  RemoveFile r;
  ARROW_ASSIGN_OR_RAISE(r.path, GetString(j, "path", what));
  r.deletion_timestamp = OptInt(j, "deletionTimestamp");
  r.data_change = GetBoolOr(j, "dataChange", true);
  r.extended_file_metadata = GetBoolOr(j, "extendedFileMetadata", false);
  r.partition_values =
      PartitionValuesFromJson(j.value("partitionValues", Json::object()));
  r.size = OptInt(j, "size");
  ARROW_ASSIGN_OR_RAISE(r.deletion_vector, DvFromJson(j, what));
  return r;
}

// Dispatches one parsed line on its action key.
arrow::Status AddAction(const Json& line, std::string_view what, ActionSet* out) {
  if (!line.is_object())
    return arrow::Status::Invalid(what, ": an action must be a JSON object");
  for (auto it = line.begin(); it != line.end(); ++it) {
    const std::string& kind = it.key();
    const Json& body = it.value();
    if (body.is_null()) continue;
    if (kind == "add") {
      ARROW_ASSIGN_OR_RAISE(auto a, AddFromJson(body, what));
      out->adds.push_back(std::move(a));
    } else if (kind == "remove") {
      ARROW_ASSIGN_OR_RAISE(auto r, RemoveFromJson(body, what));
      out->removes.push_back(std::move(r));
    } else if (kind == "metaData") {
      ARROW_ASSIGN_OR_RAISE(auto m, MetadataFromJson(body));
      out->metadata = std::move(m);
    } else if (kind == "protocol") {
      ARROW_ASSIGN_OR_RAISE(auto p, ProtocolFromJson(body));
      out->protocol = std::move(p);
    } else if (kind == "txn") {
      Txn t;
      ARROW_ASSIGN_OR_RAISE(t.app_id, GetString(body, "appId", what));
      ARROW_ASSIGN_OR_RAISE(t.version, GetInt(body, "version", what));
      t.last_updated = OptInt(body, "lastUpdated");
      out->txns.push_back(std::move(t));
    } else if (kind == "domainMetadata") {
      DomainMetadata d;
      ARROW_ASSIGN_OR_RAISE(d.domain, GetString(body, "domain", what));
      d.configuration = GetStringOr(body, "configuration", "");
      d.removed = GetBoolOr(body, "removed", false);
      out->domains.push_back(std::move(d));
    } else if (kind == "cdc") {
      CdcFile c;
      ARROW_ASSIGN_OR_RAISE(c.path, GetString(body, "path", what));
      c.partition_values =
          PartitionValuesFromJson(body.value("partitionValues", Json::object()));
      c.size = GetIntOr(body, "size", 0);
      out->cdcs.push_back(std::move(c));
    } else if (kind == "commitInfo") {
      out->commit_info = body;
    } else if (kind == "sidecar") {
      Sidecar s;
      ARROW_ASSIGN_OR_RAISE(s.path, GetString(body, "path", what));
      s.size = GetIntOr(body, "sizeInBytes", 0);
      out->sidecars.push_back(std::move(s));
    } else if (kind == "checkpointMetadata") {
      ARROW_ASSIGN_OR_RAISE(int64_t v, GetInt(body, "version", what));
      out->checkpoint_metadata_version = v;
    }
    // Unknown actions are ignored (PROTOCOL.md: readers must tolerate them).
  }
  return arrow::Status::OK();
}

}  // namespace

bool Protocol::HasReaderFeature(std::string_view name) const {
  return reader_features && std::find(reader_features->begin(), reader_features->end(),
                                      name) != reader_features->end();
}

bool Protocol::HasWriterFeature(std::string_view name) const {
  return writer_features && std::find(writer_features->begin(), writer_features->end(),
                                      name) != writer_features->end();
}

std::optional<std::string> Metadata::Property(const std::string& key) const {
  auto it = configuration.find(key);
  if (it == configuration.end()) return std::nullopt;
  return it->second;
}

std::string DeletionVectorDescriptor::UniqueId() const {
  std::string id = storage_type + path_or_inline_dv;
  if (offset) id += "@" + std::to_string(*offset);
  return id;
}

std::string FileKey(const std::string& path,
                    const std::optional<DeletionVectorDescriptor>& dv) {
  std::string key = PercentDecode(path);
  if (dv) {
    key += '\x1f';
    key += dv->UniqueId();
  }
  return key;
}

arrow::Status ParseActionObject(const Json& line, std::string_view what, ActionSet* out) {
  try {
    return AddAction(line, what, out);
  } catch (const Json::exception& e) {
    return arrow::Status::Invalid(what, ": malformed action: ", e.what());
  }
}

arrow::Result<ActionSet> ParseActions(std::string_view text, std::string_view file) {
  ActionSet out;
  size_t line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string_view::npos) continue;
    std::string what = std::string(file) + " line " + std::to_string(line_no);
    ARROW_ASSIGN_OR_RAISE(Json j, ParseJson(line, what));
    ARROW_RETURN_NOT_OK(ParseActionObject(j, what, &out));
  }
  return out;
}

arrow::Result<Protocol> ProtocolFromJson(const Json& j) {
  Protocol p;
  ARROW_ASSIGN_OR_RAISE(int64_t r, GetInt(j, "minReaderVersion", "protocol"));
  ARROW_ASSIGN_OR_RAISE(int64_t w, GetInt(j, "minWriterVersion", "protocol"));
  p.min_reader_version = static_cast<int>(r);
  p.min_writer_version = static_cast<int>(w);
  p.reader_features = FeatureList(j, "readerFeatures");
  p.writer_features = FeatureList(j, "writerFeatures");
  return p;
}

arrow::Result<Metadata> MetadataFromJson(const Json& j) {
  Metadata m;
  m.id = GetStringOr(j, "id", "");
  m.name = GetStringOr(j, "name", "");
  m.description = GetStringOr(j, "description", "");
  if (auto f = j.find("format"); f != j.end() && f->is_object()) {
    m.format_provider = GetStringOr(*f, "provider", "parquet");
    m.format_options = StringMap(f->value("options", Json::object()));
  }
  // Some writers (Delta Live Tables) commit a metaData before the schema is known; a
  // later one supersedes it. A snapshot whose metaData has none is refused when it is
  // parsed.
  m.schema_string = GetStringOr(j, "schemaString", "");
  if (auto pc = j.find("partitionColumns"); pc != j.end() && pc->is_array()) {
    for (const auto& c : *pc) {
      if (c.is_string()) m.partition_columns.push_back(c.get<std::string>());
    }
  }
  m.configuration = StringMap(j.value("configuration", Json::object()));
  m.created_time = OptInt(j, "createdTime");
  return m;
}

Json ToJson(const Protocol& p) {
  Json j = {{"minReaderVersion", p.min_reader_version},
            {"minWriterVersion", p.min_writer_version}};
  if (p.reader_features) j["readerFeatures"] = *p.reader_features;
  if (p.writer_features) j["writerFeatures"] = *p.writer_features;
  return j;
}

Json ToJson(const Metadata& m) {
  Json j = {{"id", m.id},
            {"format", {{"provider", m.format_provider}, {"options", m.format_options}}},
            {"schemaString", m.schema_string},
            {"partitionColumns", m.partition_columns},
            {"configuration", m.configuration}};
  if (!m.name.empty()) j["name"] = m.name;
  if (!m.description.empty()) j["description"] = m.description;
  if (m.created_time) j["createdTime"] = *m.created_time;
  return j;
}

Json ToJson(const AddFile& a) {
  Json j = {{"path", a.path},
            {"partitionValues", PartitionValuesToJson(a.partition_values)},
            {"size", a.size},
            {"modificationTime", a.modification_time},
            {"dataChange", a.data_change}};
  if (!a.stats.empty()) j["stats"] = a.stats;
  if (!a.tags.empty()) j["tags"] = a.tags;
  if (a.deletion_vector) j["deletionVector"] = DvToJson(*a.deletion_vector);
  if (a.base_row_id) j["baseRowId"] = *a.base_row_id;
  if (a.default_row_commit_version)
    j["defaultRowCommitVersion"] = *a.default_row_commit_version;
  if (a.clustering_provider) j["clusteringProvider"] = *a.clustering_provider;
  return j;
}

Json ToJson(const RemoveFile& r) {
  Json j = {{"path", r.path}, {"dataChange", r.data_change}};
  if (r.deletion_timestamp) j["deletionTimestamp"] = *r.deletion_timestamp;
  if (r.extended_file_metadata) {
    j["extendedFileMetadata"] = true;
    j["partitionValues"] = PartitionValuesToJson(r.partition_values);
    if (r.size) j["size"] = *r.size;
  }
  if (r.deletion_vector) j["deletionVector"] = DvToJson(*r.deletion_vector);
  return j;
}

Json ToJson(const Txn& t) {
  Json j = {{"appId", t.app_id}, {"version", t.version}};
  if (t.last_updated) j["lastUpdated"] = *t.last_updated;
  return j;
}

Json ToJson(const CdcFile& c) {
  return {{"path", c.path},
          {"partitionValues", PartitionValuesToJson(c.partition_values)},
          {"size", c.size},
          {"dataChange", false}};
}

Json ToJson(const DomainMetadata& d) {
  return {
      {"domain", d.domain}, {"configuration", d.configuration}, {"removed", d.removed}};
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

}  // namespace inlet::delta
