#include "inlet/iceberg/metadata.h"

#include <arrow/status.h>

#include <set>

namespace inlet::iceberg {

namespace {

// Members this file models; everything else goes to TableMetadata::other.
const std::set<std::string>& Modelled() {
  static const std::set<std::string> names = {"format-version",
                                              "table-uuid",
                                              "location",
                                              "last-sequence-number",
                                              "last-updated-ms",
                                              "last-column-id",
                                              "schemas",
                                              "schema",
                                              "current-schema-id",
                                              "partition-specs",
                                              "partition-spec",
                                              "default-spec-id",
                                              "last-partition-id",
                                              "properties",
                                              "current-snapshot-id",
                                              "snapshots",
                                              "snapshot-log",
                                              "metadata-log",
                                              "sort-orders",
                                              "default-sort-order-id",
                                              "refs",
                                              "next-row-id"};
  return names;
}

// Reads members with checks instead of exceptions; the first failure names the member.
class Reader {
 public:
  Reader(const Json& j, const std::string& what) : j_(j), what_(what) {}

  arrow::Status Fail(const std::string& member, const std::string& why) const {
    return arrow::Status::Invalid("Iceberg metadata ", what_, ": ", member, " ", why);
  }
  arrow::Result<int64_t> Int(const Json& obj, const char* key, const std::string& ctx,
                             std::optional<int64_t> fallback = std::nullopt) const {
    if (!obj.contains(key) || obj[key].is_null()) {
      if (fallback) return *fallback;
      return Fail(ctx + key, "is missing");
    }
    if (!obj[key].is_number_integer()) return Fail(ctx + key, "is not an integer");
    return obj[key].get<int64_t>();
  }
  arrow::Result<std::string> Str(
      const Json& obj, const char* key, const std::string& ctx,
      std::optional<std::string> fallback = std::nullopt) const {
    if (!obj.contains(key) || obj[key].is_null()) {
      if (fallback) return *fallback;
      return Fail(ctx + key, "is missing");
    }
    if (!obj[key].is_string()) return Fail(ctx + key, "is not a string");
    return obj[key].get<std::string>();
  }
  const Json& j() const { return j_; }

 private:
  const Json& j_;
  const std::string& what_;
};

arrow::Result<PartitionSpec> ParseSpec(const Reader& r, const Json& s, int32_t id,
                                       const std::string& ctx) {
  PartitionSpec spec;
  spec.spec_id = id;
  const Json& fields = s.is_array() ? s : s.value("fields", Json::array());
  int32_t next_id = 1000;
  for (const auto& f : fields) {
    PartitionField pf;
    ARROW_ASSIGN_OR_RAISE(auto source, r.Int(f, "source-id", ctx));
    pf.source_id = static_cast<int32_t>(source);
    ARROW_ASSIGN_OR_RAISE(auto field_id, r.Int(f, "field-id", ctx, next_id));
    pf.field_id = static_cast<int32_t>(field_id);
    next_id = pf.field_id + 1;
    ARROW_ASSIGN_OR_RAISE(pf.name, r.Str(f, "name", ctx));
    ARROW_ASSIGN_OR_RAISE(pf.transform, r.Str(f, "transform", ctx));
    spec.fields.push_back(std::move(pf));
  }
  return spec;
}

Json SpecFieldsJson(const PartitionSpec& spec) {
  Json fields = Json::array();
  for (const auto& f : spec.fields) {
    fields.push_back(Json{{"source-id", f.source_id},
                          {"field-id", f.field_id},
                          {"name", f.name},
                          {"transform", f.transform}});
  }
  return fields;
}

}  // namespace

std::string Snapshot::operation() const {
  auto it = summary.find("operation");
  return it == summary.end() ? "" : it->second;
}

const Schema* TableMetadata::SchemaById(int32_t id) const {
  for (const auto& s : schemas)
    if (s.schema_id == id) return &s;
  return nullptr;
}

const Schema* TableMetadata::CurrentSchema() const {
  return SchemaById(current_schema_id);
}

const PartitionSpec* TableMetadata::SpecById(int32_t id) const {
  for (const auto& s : specs)
    if (s.spec_id == id) return &s;
  return nullptr;
}

const Snapshot* TableMetadata::SnapshotById(int64_t id) const {
  for (const auto& s : snapshots)
    if (s.snapshot_id == id) return &s;
  return nullptr;
}

std::vector<const Snapshot*> TableMetadata::Ancestry(const Snapshot* s) const {
  std::vector<const Snapshot*> out;
  std::set<int64_t> seen;
  while (s && seen.insert(s->snapshot_id).second) {
    out.push_back(s);
    s = s->parent_snapshot_id ? SnapshotById(*s->parent_snapshot_id) : nullptr;
  }
  return out;
}

int64_t IntValue(const std::map<std::string, std::string>& values, const std::string& key,
                 int64_t fallback) {
  auto it = values.find(key);
  if (it == values.end()) return fallback;
  char* end = nullptr;
  long long v = std::strtoll(it->second.c_str(), &end, 10);
  return end && *end == '\0' && !it->second.empty() ? v : fallback;
}

const Snapshot* TableMetadata::CurrentSnapshot() const {
  return current_snapshot_id ? SnapshotById(*current_snapshot_id) : nullptr;
}

arrow::Result<TableMetadata> ParseMetadata(std::string_view json,
                                           const std::string& what) {
  ARROW_ASSIGN_OR_RAISE(Json j, ParseJson(json, "Iceberg metadata " + what));
  if (!j.is_object())
    return arrow::Status::Invalid("Iceberg metadata ", what, ": not an object");
  Reader r(j, what);
  TableMetadata m;
  try {
    ARROW_ASSIGN_OR_RAISE(auto version, r.Int(j, "format-version", ""));
    if (version < 1 || version > 3)
      return arrow::Status::NotImplemented("Iceberg metadata ", what, ": format version ",
                                           version, " is not supported (1, 2 and 3 are)");
    m.format_version = static_cast<int>(version);
    ARROW_ASSIGN_OR_RAISE(m.table_uuid, r.Str(j, "table-uuid", "", std::string()));
    ARROW_ASSIGN_OR_RAISE(m.location, r.Str(j, "location", ""));
    ARROW_ASSIGN_OR_RAISE(m.last_sequence_number,
                          r.Int(j, "last-sequence-number", "", 0));
    ARROW_ASSIGN_OR_RAISE(m.last_updated_ms, r.Int(j, "last-updated-ms", "", 0));
    ARROW_ASSIGN_OR_RAISE(auto last_column, r.Int(j, "last-column-id", ""));
    m.last_column_id = static_cast<int32_t>(last_column);

    if (j.contains("schemas") && j["schemas"].is_array()) {
      for (const auto& s : j["schemas"]) {
        auto schema = ParseSchema(s);
        if (!schema.ok())
          return schema.status().WithMessage("Iceberg metadata ", what, ": ",
                                             schema.status().message());
        m.schemas.push_back(std::move(*schema));
      }
      ARROW_ASSIGN_OR_RAISE(auto current, r.Int(j, "current-schema-id", ""));
      m.current_schema_id = static_cast<int32_t>(current);
    } else if (j.contains("schema")) {  // v1
      auto schema = ParseSchema(j["schema"]);
      if (!schema.ok())
        return schema.status().WithMessage("Iceberg metadata ", what, ": ",
                                           schema.status().message());
      m.current_schema_id = schema->schema_id;
      m.schemas.push_back(std::move(*schema));
    } else {
      return r.Fail("schemas", "is missing");
    }
    if (!m.CurrentSchema()) return r.Fail("current-schema-id", "names no schema");

    if (j.contains("partition-specs") && j["partition-specs"].is_array()) {
      for (const auto& s : j["partition-specs"]) {
        ARROW_ASSIGN_OR_RAISE(auto id, r.Int(s, "spec-id", "partition-specs[]."));
        ARROW_ASSIGN_OR_RAISE(auto spec, ParseSpec(r, s, static_cast<int32_t>(id),
                                                   "partition-specs[].fields[]."));
        m.specs.push_back(std::move(spec));
      }
      ARROW_ASSIGN_OR_RAISE(auto def, r.Int(j, "default-spec-id", ""));
      m.default_spec_id = static_cast<int32_t>(def);
    } else if (j.contains("partition-spec")) {  // v1
      ARROW_ASSIGN_OR_RAISE(auto spec,
                            ParseSpec(r, j["partition-spec"], 0, "partition-spec[]."));
      m.specs.push_back(std::move(spec));
    } else {
      m.specs.push_back(PartitionSpec{});
    }
    if (!m.DefaultSpec()) return r.Fail("default-spec-id", "names no partition spec");
    int32_t highest = 999;
    for (const auto& s : m.specs)
      for (const auto& f : s.fields) highest = std::max(highest, f.field_id);
    ARROW_ASSIGN_OR_RAISE(auto last_partition,
                          r.Int(j, "last-partition-id", "", highest));
    m.last_partition_id = static_cast<int32_t>(last_partition);

    if (j.contains("properties") && j["properties"].is_object()) {
      for (const auto& [k, v] : j["properties"].items())
        m.properties[k] = v.is_string() ? v.get<std::string>() : v.dump();
    }
    ARROW_ASSIGN_OR_RAISE(auto current, r.Int(j, "current-snapshot-id", "", -1));
    if (current != -1) m.current_snapshot_id = current;

    for (const auto& s : j.value("snapshots", Json::array())) {
      Snapshot snap;
      const std::string ctx = "snapshots[].";
      ARROW_ASSIGN_OR_RAISE(snap.snapshot_id, r.Int(s, "snapshot-id", ctx));
      if (s.contains("parent-snapshot-id") && s["parent-snapshot-id"].is_number_integer())
        snap.parent_snapshot_id = s["parent-snapshot-id"].get<int64_t>();
      ARROW_ASSIGN_OR_RAISE(snap.sequence_number, r.Int(s, "sequence-number", ctx, 0));
      ARROW_ASSIGN_OR_RAISE(snap.timestamp_ms, r.Int(s, "timestamp-ms", ctx));
      if (s.contains("manifest-list")) {
        ARROW_ASSIGN_OR_RAISE(snap.manifest_list, r.Str(s, "manifest-list", ctx));
      } else {
        return arrow::Status::NotImplemented(
            "Iceberg metadata ", what, ": snapshot ", snap.snapshot_id,
            " lists its manifests inline (a v1 table without manifest lists), which "
            "inlet does not read");
      }
      if (s.contains("summary") && s["summary"].is_object()) {
        for (const auto& [k, v] : s["summary"].items())
          snap.summary[k] = v.is_string() ? v.get<std::string>() : v.dump();
      }
      if (s.contains("schema-id") && s["schema-id"].is_number_integer())
        snap.schema_id = s["schema-id"].get<int32_t>();
      if (s.contains("first-row-id") && s["first-row-id"].is_number_integer())
        snap.first_row_id = s["first-row-id"].get<int64_t>();
      if (s.contains("added-rows") && s["added-rows"].is_number_integer())
        snap.added_rows = s["added-rows"].get<int64_t>();
      m.snapshots.push_back(std::move(snap));
    }
    for (const auto& e : j.value("snapshot-log", Json::array())) {
      SnapshotLogEntry entry;
      ARROW_ASSIGN_OR_RAISE(entry.timestamp_ms,
                            r.Int(e, "timestamp-ms", "snapshot-log[]."));
      ARROW_ASSIGN_OR_RAISE(entry.snapshot_id,
                            r.Int(e, "snapshot-id", "snapshot-log[]."));
      m.snapshot_log.push_back(entry);
    }
    for (const auto& e : j.value("metadata-log", Json::array())) {
      MetadataLogEntry entry;
      ARROW_ASSIGN_OR_RAISE(entry.timestamp_ms,
                            r.Int(e, "timestamp-ms", "metadata-log[]."));
      ARROW_ASSIGN_OR_RAISE(entry.metadata_file,
                            r.Str(e, "metadata-file", "metadata-log[]."));
      m.metadata_log.push_back(std::move(entry));
    }
    for (const auto& o : j.value("sort-orders", Json::array())) {
      SortOrder order;
      ARROW_ASSIGN_OR_RAISE(auto id, r.Int(o, "order-id", "sort-orders[]."));
      order.order_id = static_cast<int32_t>(id);
      for (const auto& f : o.value("fields", Json::array())) {
        SortField sf;
        const std::string ctx = "sort-orders[].fields[].";
        ARROW_ASSIGN_OR_RAISE(sf.transform, r.Str(f, "transform", ctx));
        ARROW_ASSIGN_OR_RAISE(auto source, r.Int(f, "source-id", ctx));
        sf.source_id = static_cast<int32_t>(source);
        ARROW_ASSIGN_OR_RAISE(sf.direction, r.Str(f, "direction", ctx, "asc"));
        ARROW_ASSIGN_OR_RAISE(sf.null_order, r.Str(f, "null-order", ctx, "nulls-first"));
        order.fields.push_back(std::move(sf));
      }
      m.sort_orders.push_back(std::move(order));
    }
    if (m.sort_orders.empty()) m.sort_orders.push_back(SortOrder{});
    ARROW_ASSIGN_OR_RAISE(auto sort_id, r.Int(j, "default-sort-order-id", "", 0));
    m.default_sort_order_id = static_cast<int32_t>(sort_id);
    if (j.contains("refs") && j["refs"].is_object()) {
      for (const auto& [name, ref] : j["refs"].items()) {
        SnapshotRef sr;
        ARROW_ASSIGN_OR_RAISE(sr.snapshot_id,
                              r.Int(ref, "snapshot-id", "refs." + name + "."));
        ARROW_ASSIGN_OR_RAISE(sr.type,
                              r.Str(ref, "type", "refs." + name + ".", "branch"));
        for (const auto& [k, v] : ref.items())
          if (k != "snapshot-id" && k != "type") sr.retention[k] = v;
        m.refs[name] = std::move(sr);
      }
    } else if (m.current_snapshot_id) {
      m.refs["main"] = SnapshotRef{*m.current_snapshot_id, "branch", Json::object()};
    }
    if (j.contains("next-row-id") && j["next-row-id"].is_number_integer())
      m.next_row_id = j["next-row-id"].get<int64_t>();
    for (const auto& [k, v] : j.items())
      if (!Modelled().count(k)) m.other[k] = v;
  } catch (const Json::exception& e) {
    return arrow::Status::Invalid("Iceberg metadata ", what, ": ", e.what());
  }
  return m;
}

arrow::Result<std::string> SerializeMetadata(const TableMetadata& m) {
  Json j = m.other;
  j["format-version"] = m.format_version;
  j["table-uuid"] = m.table_uuid;
  j["location"] = m.location;
  j["last-sequence-number"] = m.last_sequence_number;
  j["last-updated-ms"] = m.last_updated_ms;
  j["last-column-id"] = m.last_column_id;
  Json schemas = Json::array();
  for (const auto& s : m.schemas) {
    ARROW_ASSIGN_OR_RAISE(auto sj, SchemaToJson(s));
    schemas.push_back(std::move(sj));
  }
  j["schemas"] = schemas;
  j["current-schema-id"] = m.current_schema_id;
  Json specs = Json::array();
  for (const auto& s : m.specs)
    specs.push_back(Json{{"spec-id", s.spec_id}, {"fields", SpecFieldsJson(s)}});
  j["partition-specs"] = specs;
  j["default-spec-id"] = m.default_spec_id;
  j["last-partition-id"] = m.last_partition_id;
  if (m.format_version == 1) {
    const Schema* current = m.CurrentSchema();
    if (current) {
      ARROW_ASSIGN_OR_RAISE(j["schema"], SchemaToJson(*current));
    }
    if (const PartitionSpec* spec = m.DefaultSpec())
      j["partition-spec"] = SpecFieldsJson(*spec);
  }
  Json props = Json::object();
  for (const auto& [k, v] : m.properties) props[k] = v;
  j["properties"] = props;
  if (m.current_snapshot_id) {
    j["current-snapshot-id"] = *m.current_snapshot_id;
  } else if (m.format_version < 3) {
    j["current-snapshot-id"] = -1;
  }
  Json snapshots = Json::array();
  for (const auto& s : m.snapshots) {
    Json sj = {{"snapshot-id", s.snapshot_id},
               {"sequence-number", s.sequence_number},
               {"timestamp-ms", s.timestamp_ms},
               {"manifest-list", s.manifest_list}};
    if (s.parent_snapshot_id) sj["parent-snapshot-id"] = *s.parent_snapshot_id;
    Json summary = Json::object();
    for (const auto& [k, v] : s.summary) summary[k] = v;
    sj["summary"] = summary;
    if (s.schema_id) sj["schema-id"] = *s.schema_id;
    if (s.first_row_id) sj["first-row-id"] = *s.first_row_id;
    if (s.added_rows) sj["added-rows"] = *s.added_rows;
    snapshots.push_back(std::move(sj));
  }
  j["snapshots"] = snapshots;
  Json slog = Json::array();
  for (const auto& e : m.snapshot_log)
    slog.push_back(
        Json{{"timestamp-ms", e.timestamp_ms}, {"snapshot-id", e.snapshot_id}});
  j["snapshot-log"] = slog;
  Json mlog = Json::array();
  for (const auto& e : m.metadata_log)
    mlog.push_back(
        Json{{"timestamp-ms", e.timestamp_ms}, {"metadata-file", e.metadata_file}});
  j["metadata-log"] = mlog;
  Json orders = Json::array();
  for (const auto& o : m.sort_orders) {
    Json fields = Json::array();
    for (const auto& f : o.fields) {
      fields.push_back(Json{{"transform", f.transform},
                            {"source-id", f.source_id},
                            {"direction", f.direction},
                            {"null-order", f.null_order}});
    }
    orders.push_back(Json{{"order-id", o.order_id}, {"fields", fields}});
  }
  j["sort-orders"] = orders;
  j["default-sort-order-id"] = m.default_sort_order_id;
  Json refs = Json::object();
  for (const auto& [name, ref] : m.refs) {
    Json rj = ref.retention;
    rj["snapshot-id"] = ref.snapshot_id;
    rj["type"] = ref.type;
    refs[name] = rj;
  }
  j["refs"] = refs;
  if (m.next_row_id) j["next-row-id"] = *m.next_row_id;
  return j.dump();
}

}  // namespace inlet::iceberg
