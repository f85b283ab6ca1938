// The destination section of a pipeline file: a lakehouse table by path or in an
// Iceberg catalog, or a PostgreSQL table (config.cc parses the rest of a pipeline).
#include <arrow/status.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <regex>
#include <set>

#include "inlet/common/redact.h"
#include "inlet/pipeline/config.h"
#include "inlet/pipeline/yaml_reader.h"
#include "inlet/source/postgres_source.h"

namespace inlet::pipeline {

namespace {

arrow::Result<PartitionColumn> ParsePartitionColumn(const std::string& spec) {
  static const std::regex re(
      R"(^\s*(?:([A-Za-z_][A-Za-z0-9_]*)\s*=\s*)?(year|month|day|hour)\s*\(\s*([^)\s]+)\s*\)\s*$)");
  std::smatch m;
  if (std::regex_match(spec, m, re)) {
    PartitionColumn c;
    c.transform = m[2];
    c.source = m[3];
    c.name = m[1].matched ? std::string(m[1]) : c.source + "_" + c.transform;
    return c;
  }
  if (spec.find('(') != std::string::npos) {
    return arrow::Status::Invalid("unknown partition transform '", spec,
                                  "' (use year, month, day or hour)");
  }
  return PartitionColumn{spec, spec, ""};
}

arrow::Status ParseMaintenance(const YamlReader& r, const YAML::Node& n,
                               const std::string& key, MaintenanceConfig* out) {
  ARROW_RETURN_NOT_OK(
      r.CheckKeys(n, key,
                  {"optimize_interval", "optimize_target_size", "zorder_by",
                   "vacuum_interval", "vacuum_retention_hours", "checkpoint_interval"}));
  for (auto [name, field] :
       {std::pair{"optimize_interval", &out->optimize_interval},
        std::pair{"optimize_target_size", &out->optimize_target_size},
        std::pair{"vacuum_interval", &out->vacuum_interval},
        std::pair{"checkpoint_interval", &out->checkpoint_interval}}) {
    if (!n[name]) continue;
    ARROW_ASSIGN_OR_RAISE(*field, r.Int(n[name], key + "." + name));
    if (*field < 0) return r.Error(n[name], key + "." + name, "must not be negative");
  }
  if (n["zorder_by"]) {
    ARROW_ASSIGN_OR_RAISE(out->zorder_by,
                          r.StringList(n["zorder_by"], key + ".zorder_by"));
  }
  if (n["vacuum_retention_hours"]) {
    ARROW_ASSIGN_OR_RAISE(std::string text, r.String(n["vacuum_retention_hours"],
                                                     key + ".vacuum_retention_hours"));
    char* end = nullptr;
    double hours = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !(hours >= 0)) {
      return r.Error(n["vacuum_retention_hours"], key + ".vacuum_retention_hours",
                     "expected a number of hours >= 0");
    }
    out->vacuum_retention_hours = hours;
  }
  if (out->optimize_interval == 0 &&
      (out->optimize_target_size > 0 || !out->zorder_by.empty())) {
    return r.Error(n, key + ".optimize_interval",
                   "is required with optimize_target_size or zorder_by");
  }
  if (out->vacuum_interval == 0 && out->vacuum_retention_hours) {
    return r.Error(n, key + ".vacuum_interval",
                   "is required with vacuum_retention_hours");
  }
  return arrow::Status::OK();
}

// An Iceberg partition transform, transform(column[, N]): the table's partition spec
// derives the value (docs/formats.md lists the transforms).
arrow::Result<PartitionColumn> IcebergTransform(const std::string& spec) {
  static const std::regex form(
      R"(\s*([a-z]+)\s*\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*(,\s*([0-9]+)\s*)?\)\s*)");
  std::smatch m;
  if (!std::regex_match(spec, m, form))
    return arrow::Status::Invalid(
        "'", spec,
        "' is not an Iceberg partition transform: expected a "
        "column, or transform(column) such as day(ts) or "
        "bucket(id, 16) (a derived column's own name, name=..., is "
        "Delta's)");
  const std::string transform = m[1];
  const bool sized = transform == "bucket" || transform == "truncate";
  static const std::set<std::string> known = {"identity", "year",   "month",    "day",
                                              "hour",     "bucket", "truncate", "void"};
  if (!known.count(transform))
    return arrow::Status::Invalid(
        "'", spec, "': unknown Iceberg transform '", transform,
        "' (identity, year, month, day, hour, bucket, truncate, "
        "void)");
  if (sized != m[4].matched)
    return arrow::Status::Invalid(
        "'", spec, "': ", transform,
        sized ? " needs a width: " + transform + "(column, N)" : " takes no width");
  PartitionColumn c;
  c.name = spec;
  c.source = m[2];
  c.transform = transform;
  c.hidden = true;
  return c;
}

// An Iceberg catalog destination: catalog {uri, name, warehouse}, table and location.
arrow::Status ParseCatalog(const YamlReader& r, const YAML::Node& n,
                           const std::string& key, DestinationConfig* out) {
  const YAML::Node& c = n["catalog"];
  const std::string ck = key + ".catalog";
  if (!c.IsMap()) return r.Error(c, ck, "expected a mapping: {uri: ..., name: ...}");
  ARROW_RETURN_NOT_OK(r.CheckKeys(c, ck,
                                  {"uri", "name", "warehouse", "token", "credential",
                                   "oauth2_server_uri", "scope", "ca_bundle"}));
  for (auto [k, field] : {std::pair{"token", &out->catalog.token},
                          std::pair{"credential", &out->catalog.credential},
                          std::pair{"oauth2_server_uri", &out->catalog.oauth2_server_uri},
                          std::pair{"scope", &out->catalog.scope},
                          std::pair{"ca_bundle", &out->catalog.ca_bundle}}) {
    if (c[k]) {
      ARROW_ASSIGN_OR_RAISE(*field, r.String(c[k], ck + "." + k));
    }
  }
  if (!c["uri"]) return r.Error(c, ck + ".uri", "is required");
  ARROW_ASSIGN_OR_RAISE(std::string uri, r.String(c["uri"], ck + ".uri"));
  // A relative SQLite file is the pipeline file's neighbour, as paths are.
  if (uri.rfind("sqlite:", 0) == 0) {
    std::string rest = uri.substr(7);
    if (rest.rfind("///", 0) == 0) rest = rest.substr(3);  // SQLAlchemy's spelling
    if (rest.rfind("//", 0) != 0) uri = "sqlite:" + r.ResolvePath(rest);
  }
  out->catalog.uri = uri;
  if (c["name"]) {
    ARROW_ASSIGN_OR_RAISE(out->catalog.name, r.String(c["name"], ck + ".name"));
  }
  if (c["warehouse"]) {
    ARROW_ASSIGN_OR_RAISE(std::string w, r.String(c["warehouse"], ck + ".warehouse"));
    // A REST catalog's warehouse may be a name its server resolves.
    bool rest = uri.rfind("http://", 0) == 0 || uri.rfind("https://", 0) == 0;
    out->catalog.warehouse = rest ? w : r.ResolvePath(w);
  }
  if (n["path"])
    return r.Error(n["path"], key + ".path",
                   "a catalog destination is named by destination.table, not a path");
  if (!n["table"])
    return r.Error(n, key + ".table", "is required with a catalog (namespace.table)");
  ARROW_ASSIGN_OR_RAISE(out->path, r.String(n["table"], key + ".table"));
  const std::string& t = out->path;
  if (t.find('.') == std::string::npos || t.front() == '.' || t.back() == '.' ||
      t.find("..") != std::string::npos)
    return r.Error(n["table"], key + ".table",
                   "'" + t + "' is not namespace.table (levels separated by dots)");
  if (n["location"]) {
    ARROW_ASSIGN_OR_RAISE(std::string loc, r.String(n["location"], key + ".location"));
    out->catalog.location = r.ResolvePath(loc);
  }
  if (out->format == TableFormat::kDelta)
    return r.Error(n["format"], key + ".format",
                   "a catalog destination is an Iceberg table (format: iceberg)");
  out->format = TableFormat::kIceberg;
  return arrow::Status::OK();
}

// A PostgreSQL table: a connection, the table, its keys and inlet's state table.
arrow::Status ParsePostgresDestination(const YamlReader& r, const YAML::Node& n,
                                       const std::string& key, DestinationConfig* out) {
  std::set<std::string> allowed = {"type", "table", "keys", "state_table"};
  allowed.insert(PostgresConnectionKeys().begin(), PostgresConnectionKeys().end());
  ARROW_RETURN_NOT_OK(r.CheckKeys(n, key, allowed));
  PostgresDestinationConfig pg;
  ARROW_RETURN_NOT_OK(ParsePostgresConnection(r, n, key, &pg.pg));
  if (!n["table"]) return r.Error(n, key + ".table", "is required (schema.table)");
  ARROW_ASSIGN_OR_RAISE(out->path, r.String(n["table"], key + ".table"));
  auto quoted = QuoteQualifiedName(out->path);
  if (!quoted.ok()) return r.Error(n["table"], key + ".table", quoted.status().message());
  if (std::count(out->path.begin(), out->path.end(), '.') > 1)
    return r.Error(n["table"], key + ".table",
                   "'" + out->path + "' is not schema.table (or table, in public)");
  if (n["state_table"]) {
    ARROW_ASSIGN_OR_RAISE(pg.state_table,
                          r.String(n["state_table"], key + ".state_table"));
    if (pg.state_table.empty() || pg.state_table.find('.') != std::string::npos ||
        pg.state_table.size() > 50)
      return r.Error(n["state_table"], key + ".state_table",
                     "must be a table name (it goes in the table's schema), at most 50 "
                     "characters");
  }
  if (n["keys"]) {
    ARROW_ASSIGN_OR_RAISE(out->keys, r.StringList(n["keys"], key + ".keys"));
  }
  pg.pg.description = "PostgreSQL " + RedactUri(pg.pg.connection);
  out->postgres = std::move(pg);
  return arrow::Status::OK();
}

}  // namespace

arrow::Status ParseDestination(const YamlReader& r, const YAML::Node& n,
                               const std::string& key, DestinationConfig* out) {
  if (n.IsMap() && n["type"]) {
    ARROW_ASSIGN_OR_RAISE(std::string type, r.String(n["type"], key + ".type"));
    if (type == "postgres") return ParsePostgresDestination(r, n, key, out);
    if (type != "table")
      return r.Error(n["type"], key + ".type",
                     "unknown destination type '" + type +
                         "' (use postgres, or table for a Delta or Iceberg table)");
  }
  ARROW_RETURN_NOT_OK(r.CheckKeys(
      n, key,
      {"type", "path", "format", "catalog", "table", "location", "partition_by",
       "sort_by", "sort_run_size", "keys", "properties", "storage", "maintenance"}));
  if (n["format"]) {
    ARROW_ASSIGN_OR_RAISE(std::string format, r.String(n["format"], key + ".format"));
    out->format = TableFormatNamed(format);
    if (!out->format)
      return r.Error(n["format"], key + ".format",
                     "unknown table format '" + format + "' (use delta or iceberg)");
  }
  if (n["catalog"]) {
    ARROW_RETURN_NOT_OK(ParseCatalog(r, n, key, out));
  } else {
    for (const char* k : {"table", "location"})
      if (n[k])
        return r.Error(n[k], key + "." + k,
                       "names a catalog table: give destination.catalog too (or a path)");
    if (!n["path"]) return r.Error(n, key + ".path", "is required");
    ARROW_ASSIGN_OR_RAISE(std::string path, r.String(n["path"], key + ".path"));
    out->path = r.ResolvePath(path);
  }
  if (n["partition_by"]) {
    ARROW_ASSIGN_OR_RAISE(auto specs,
                          r.StringList(n["partition_by"], key + ".partition_by"));
    for (const auto& spec : specs) {
      if (out->format == TableFormat::kIceberg && spec.find('(') != std::string::npos) {
        auto c = IcebergTransform(spec);
        if (!c.ok())
          return r.Error(n["partition_by"], key + ".partition_by", c.status().message());
        out->partition_by.push_back(*c);
        continue;
      }
      auto c = ParsePartitionColumn(spec);
      if (!c.ok())
        return r.Error(n["partition_by"], key + ".partition_by", c.status().message());
      out->partition_by.push_back(*c);
    }
    // Two time transforms of one column (the seed's day(ts) + hour(ts)), or two of one
    // kind: refused here as the table's creation refuses them, so that a dry run says so.
    auto kind = [](const std::string& t) {
      return (t == "year" || t == "month" || t == "day" || t == "hour") ? "time" : t;
    };
    for (size_t i = 0; i < out->partition_by.size(); ++i) {
      const auto& a = out->partition_by[i];
      if (!a.hidden) continue;
      for (size_t j = 0; j < i; ++j) {
        const auto& b = out->partition_by[j];
        if (b.hidden && b.source == a.source && kind(a.transform) == kind(b.transform)) {
          return r.Error(n["partition_by"], key + ".partition_by",
                         "partition '" + a.name + "' repeats '" + b.name +
                             "' on column '" + a.source +
                             "': Iceberg's Java library (Spark, Trino) rejects two " +
                             (kind(a.transform) == "time"
                                  ? "time transforms of one column as redundant (the "
                                    "finer one alone, e.g. hour, also prunes by day)"
                                  : "such transforms of one column as redundant"));
        }
      }
    }
  }
  if (n["sort_by"]) {
    if (out->format != TableFormat::kIceberg)
      return r.Error(n["sort_by"], key + ".sort_by",
                     "is an Iceberg table's sort order (format: iceberg)");
    ARROW_ASSIGN_OR_RAISE(out->sort_by, r.StringList(n["sort_by"], key + ".sort_by"));
  }
  if (n["sort_run_size"]) {
    ARROW_ASSIGN_OR_RAISE(int64_t bytes,
                          r.Int(n["sort_run_size"], key + ".sort_run_size"));
    if (bytes <= 0)
      return r.Error(n["sort_run_size"], key + ".sort_run_size",
                     "must be a positive number of bytes");
    out->sort_run_size = bytes;
  }
  if (n["keys"]) {
    ARROW_ASSIGN_OR_RAISE(out->keys, r.StringList(n["keys"], key + ".keys"));
  }
  if (n["properties"]) {
    const auto& p = n["properties"];
    if (!p.IsMap()) return r.Error(p, key + ".properties", "expected a mapping");
    for (const auto& kv : p) {
      std::string k = kv.first.as<std::string>();
      ARROW_ASSIGN_OR_RAISE(out->properties[k],
                            r.String(kv.second, key + ".properties." + k));
    }
  }
  if (n["storage"]) {
    // A catalog's table is where its location, or the warehouse, says; one already in
    // the catalog may be on S3 without either.
    std::string place = out->path;
    if (!out->catalog.uri.empty())
      place = !out->catalog.location.empty()    ? out->catalog.location
              : !out->catalog.warehouse.empty() ? out->catalog.warehouse
                                                : "s3://";
    ARROW_RETURN_NOT_OK(ParseStorage(r, n["storage"], key + ".storage", place,
                                     "destinations", &out->storage));
  }
  if (n["maintenance"]) {
    ARROW_RETURN_NOT_OK(
        ParseMaintenance(r, n["maintenance"], key + ".maintenance", &out->maintenance));
    int64_t interval = out->maintenance.checkpoint_interval;
    auto given = out->properties.find("delta.checkpointInterval");
    if (interval > 0 && given != out->properties.end() &&
        given->second != std::to_string(interval)) {
      return r.Error(n["maintenance"], key + ".maintenance.checkpoint_interval",
                     "differs from properties.delta.checkpointInterval");
    }
    if (interval > 0)
      out->properties["delta.checkpointInterval"] = std::to_string(interval);
  }
  return arrow::Status::OK();
}

// The cdc strategy's options.

}  // namespace inlet::pipeline
