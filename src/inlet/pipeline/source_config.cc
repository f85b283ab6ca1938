// The source section of a pipeline file: one alternative of SourceConfig per kind.
#include <cctype>
#include <set>
#include <string>

#include "inlet/common/http.h"
#include "inlet/common/redact.h"
#include "inlet/pipeline/yaml_reader.h"
#include "inlet/source/json_schema.h"
#include "inlet/source/postgres_source.h"
#include "inlet/storage/s3.h"

namespace inlet::pipeline {

namespace {

arrow::Status ParseSchema(const YamlReader& r, const YAML::Node& s,
                          const std::string& key, DecodingConfig* out) {
  if (!s.IsMap()) return r.Error(s, key, "expected a mapping of column: type");
  for (const auto& kv : s) {
    std::string col = kv.first.as<std::string>();
    ARROW_ASSIGN_OR_RAISE(std::string tname, r.String(kv.second, key + "." + col));
    auto type = ParseTypeName(tname);
    if (!type.ok()) return r.Error(kv.second, key + "." + col, type.status().message());
    out->schema.emplace_back(col, *type);
  }
  return arrow::Status::OK();
}

}  // namespace

// The options of a source's decoding (after its format): decimal_handling and schema.
arrow::Status ParseDecodingOptions(const YamlReader& r, const YAML::Node& n,
                                   const std::string& key, DecodingConfig* out) {
  if (n["decimal_handling"]) {
    ARROW_ASSIGN_OR_RAISE(
        out->decimals,
        r.Enum<DecimalHandling>(n["decimal_handling"], key + ".decimal_handling",
                                {{"precise", DecimalHandling::kPrecise},
                                 {"string", DecimalHandling::kString},
                                 {"double", DecimalHandling::kDouble}},
                                "decimal handling"));
    if (out->format != "debezium") {
      return r.Error(n["decimal_handling"], key + ".decimal_handling",
                     "applies to format debezium only");
    }
  }
  if (n["schema"]) ARROW_RETURN_NOT_OK(ParseSchema(r, n["schema"], key + ".schema", out));
  return arrow::Status::OK();
}

arrow::Status ParseSchemaFile(const YamlReader& r, const YAML::Node& n,
                              const std::string& key, std::string* file,
                              MessageSchema* schema, DecodingConfig* decoding) {
  if (!n["schema_file"]) return arrow::Status::OK();
  if (n["schema"])
    return r.Error(n["schema_file"], key + ".schema_file",
                   "set schema or schema_file, not both");
  if (decoding->format != "json")
    return r.Error(n["schema_file"], key + ".schema_file", "applies to format json only");
  ARROW_ASSIGN_OR_RAISE(std::string given,
                        r.String(n["schema_file"], key + ".schema_file"));
  *file = r.ResolvePath(given);
  auto read = ReadMessageSchema(*file);
  if (!read.ok())
    return r.Error(n["schema_file"], key + ".schema_file", read.status().message());
  *schema = std::move(*read);
  decoding->schema = schema->columns;
  return arrow::Status::OK();
}

namespace {

arrow::Result<KafkaSourceConfig> ParseKafkaSource(const YamlReader& r,
                                                  const YAML::Node& n,
                                                  const std::string& key,
                                                  const std::string& pipeline) {
  ARROW_RETURN_NOT_OK(
      r.CheckKeys(n, key,
                  {"type", "brokers", "topic", "group", "start", "format", "schema",
                   "schema_file", "decimal_handling", "properties", "include_key",
                   "include_headers", "connect_timeout"}));
  KafkaSourceConfig k;
  DecodingConfig* out = &k.decoding;
  for (const char* req : {"brokers", "topic"}) {
    if (!n[req]) return r.Error(n, key + "." + req, "is required for a kafka source");
  }
  ARROW_ASSIGN_OR_RAISE(k.brokers, r.String(n["brokers"], key + ".brokers"));
  ARROW_ASSIGN_OR_RAISE(k.topic, r.String(n["topic"], key + ".topic"));
  k.group = "inlet-" + pipeline;
  if (n["group"]) {
    ARROW_ASSIGN_OR_RAISE(k.group, r.String(n["group"], key + ".group"));
  }
  if (n["start"]) {
    ARROW_ASSIGN_OR_RAISE(
        k.start,
        r.Enum<std::string>(n["start"], key + ".start",
                            {{"earliest", "earliest"}, {"latest", "latest"}}, "start"));
  }
  out->format = "json";
  if (n["format"]) {
    ARROW_ASSIGN_OR_RAISE(
        out->format,
        r.Enum<std::string>(n["format"], key + ".format",
                            {{"json", "json"}, {"debezium", "debezium"}}, "format"));
  }
  if (n["properties"]) {
    const auto& props = n["properties"];
    if (!props.IsMap())
      return r.Error(props, key + ".properties",
                     "expected a mapping of librdkafka setting: value");
    // inlet owns these: the table, not the group, decides where consumption resumes.
    static const std::set<std::string> owned = {
        "bootstrap.servers",        "group.id",          "enable.auto.commit",
        "enable.auto.offset.store", "auto.offset.reset", "enable.partition.eof"};
    for (const auto& kv : props) {
      std::string name = kv.first.as<std::string>();
      if (owned.count(name)) {
        return r.Error(
            kv.first, key + ".properties." + name,
            "is set by inlet (use brokers, group and start for the first three)");
      }
      ARROW_ASSIGN_OR_RAISE(k.properties[name],
                            r.String(kv.second, key + ".properties." + name));
    }
  }
  if (n["include_key"]) {
    ARROW_ASSIGN_OR_RAISE(k.include_key, r.Bool(n["include_key"], key + ".include_key"));
  }
  if (n["connect_timeout"]) {
    ARROW_ASSIGN_OR_RAISE(k.connect_timeout_ms,
                          r.Millis(n["connect_timeout"], key + ".connect_timeout"));
  }
  if (n["include_headers"]) {
    ARROW_ASSIGN_OR_RAISE(k.include_headers,
                          r.Bool(n["include_headers"], key + ".include_headers"));
  }
  ARROW_RETURN_NOT_OK(ParseDecodingOptions(r, n, key, out));
  ARROW_RETURN_NOT_OK(ParseSchemaFile(r, n, key, &k.schema_file, &k.message_schema, out));
  return k;
}

}  // namespace

const std::vector<std::string>& PostgresConnectionKeys() {
  static const std::vector<std::string> keys = {
      "connection", "password", "host",        "port",    "database",
      "user",       "sslmode",  "sslrootcert", "sslcert", "sslkey"};
  return keys;
}

arrow::Status ParsePostgresConnection(const YamlReader& r, const YAML::Node& n,
                                      const std::string& key, PostgresSourceConfig* pg) {
  static const std::vector<std::string> keywords = {
      "host", "port", "database", "user", "sslmode", "sslrootcert", "sslcert", "sslkey"};
  bool has_keyword = false;
  for (const auto& k : keywords) has_keyword |= static_cast<bool>(n[k]);
  if (n["connection"]) {
    if (has_keyword)
      return r.Error(n["connection"], key + ".connection",
                     "give a connection URI or host/port/database/user, not both");
    ARROW_ASSIGN_OR_RAISE(pg->connection, r.String(n["connection"], key + ".connection"));
    if (pg->connection.rfind("postgresql://", 0) != 0 &&
        pg->connection.rfind("postgres://", 0) != 0)
      return r.Error(n["connection"], key + ".connection",
                     "expected a URI postgresql://user@host:port/database");
    if (AmbiguousUserInfo(pg->connection))
      return r.Error(n["connection"], key + ".connection", AmbiguousUserInfoMessage());
  } else {
    if (!n["database"])
      return r.Error(n, key + ".connection",
                     "is required (or host, port, database and user)");
    std::map<std::string, std::string> v;
    for (const auto& k : keywords) {
      if (n[k]) {
        ARROW_ASSIGN_OR_RAISE(v[k], r.String(n[k], key + "." + k));
      }
    }
    pg->connection = "postgresql://";
    if (v.count("user")) pg->connection += UriEncode(v["user"]) + "@";
    std::string host = v.count("host") ? v["host"] : "";
    // A socket directory goes in the parameters; an IPv6 address in brackets.
    bool socket = !host.empty() && host[0] == '/';
    if (!socket && host.find(':') != std::string::npos) host = "[" + host + "]";
    if (!socket) pg->connection += host;
    if (v.count("port")) pg->connection += ":" + v["port"];
    pg->connection += "/" + UriEncode(v["database"]);
    std::string sep = "?";
    if (socket) {
      pg->connection += "?host=" + UriEncode(host);
      sep = "&";
    }
    for (const char* k : {"sslmode", "sslrootcert", "sslcert", "sslkey"}) {
      if (v.count(k)) {
        pg->connection += sep + k + "=" + UriEncode(v[k]);
        sep = "&";
      }
    }
  }
  if (n["password"]) {
    ARROW_ASSIGN_OR_RAISE(pg->password, r.String(n["password"], key + ".password"));
  }
  return arrow::Status::OK();
}

namespace {

// A postgres source, or (cdc) the PostgreSQL part of a postgres_cdc source: a table, and
// no query.
arrow::Result<PostgresSourceConfig> ParsePostgresSource(const YamlReader& r,
                                                        const YAML::Node& n,
                                                        const std::string& key,
                                                        bool cdc = false) {
  std::set<std::string> allowed = {"type", "table", "unknown_types",
                                   "unconstrained_numeric"};
  if (cdc) {
    allowed.insert({"slot", "publication", "initial_snapshot", "tables"});
    if (n["query"])
      return r.Error(n["query"], key + ".query",
                     "a postgres_cdc source follows a table's changes: give its table");
  } else {
    allowed.insert({"query", "chunk_rows"});
  }
  allowed.insert(PostgresConnectionKeys().begin(), PostgresConnectionKeys().end());
  ARROW_RETURN_NOT_OK(r.CheckKeys(n, key, allowed));
  PostgresSourceConfig pg;
  ARROW_RETURN_NOT_OK(ParsePostgresConnection(r, n, key, &pg));
  if (cdc) {
    if (static_cast<bool>(n["table"]) == static_cast<bool>(n["tables"]))
      return r.Error(n, key + ".table", "give a table or a list of tables (one of them)");
  } else if (static_cast<bool>(n["table"]) == static_cast<bool>(n["query"])) {
    return r.Error(n, key + ".table", "give a table or a query (one of them)");
  }
  if (n["table"]) {
    ARROW_ASSIGN_OR_RAISE(pg.table, r.String(n["table"], key + ".table"));
    auto quoted = QuoteQualifiedName(pg.table);
    if (!quoted.ok())
      return r.Error(n["table"], key + ".table", quoted.status().message());
  } else if (n["query"]) {
    ARROW_ASSIGN_OR_RAISE(pg.query, r.String(n["query"], key + ".query"));
    if (NestableQuery(pg.query).empty())
      return r.Error(n["query"], key + ".query", "is empty");
  }
  if (n["unknown_types"]) {
    ARROW_ASSIGN_OR_RAISE(
        pg.unknown_types,
        r.Enum<UnknownTypes>(
            n["unknown_types"], key + ".unknown_types",
            {{"fail", UnknownTypes::kFail}, {"text", UnknownTypes::kText}}, "policy"));
  }
  if (n["chunk_rows"]) {
    ARROW_ASSIGN_OR_RAISE(pg.chunk_rows, r.Int(n["chunk_rows"], key + ".chunk_rows"));
    if (pg.chunk_rows < 0)
      return r.Error(n["chunk_rows"], key + ".chunk_rows",
                     "must be a number of rows (0: read a watermark run at once)");
  }
  if (n["unconstrained_numeric"]) {
    ARROW_ASSIGN_OR_RAISE(pg.unconstrained_numeric,
                          r.Enum<UnconstrainedNumeric>(
                              n["unconstrained_numeric"], key + ".unconstrained_numeric",
                              {{"decimal", UnconstrainedNumeric::kDecimal},
                               {"string", UnconstrainedNumeric::kString},
                               {"double", UnconstrainedNumeric::kDouble}},
                              "mapping"));
  }
  pg.description = "PostgreSQL " + RedactUri(pg.connection) + " " +
                   (pg.table.empty() ? std::string("query") : "table " + pg.table);
  return pg;
}

// A replication slot's or publication's name: inlet_<pipeline> by default, in the
// characters a slot may have.
arrow::Result<std::string> SlotName(const YamlReader& r, const YAML::Node& n,
                                    const std::string& key, const std::string& pipeline) {
  if (!n) {
    std::string out = "inlet_";
    for (char c : pipeline) {
      char l = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out += (std::isalnum(static_cast<unsigned char>(l)) ? l : '_');
    }
    return out.substr(0, 63);
  }
  ARROW_ASSIGN_OR_RAISE(std::string name, r.String(n, key));
  bool ok = !name.empty() && name.size() <= 63;
  for (char c : name)
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_');
  if (!ok)
    return r.Error(n, key,
                   "'" + name + "' must be 1 to 63 lower-case letters, digits or '_'");
  return name;
}

arrow::Result<PostgresCdcSourceConfig> ParsePostgresCdcSource(
    const YamlReader& r, const YAML::Node& n, const std::string& key,
    const std::string& pipeline) {
  PostgresCdcSourceConfig c;
  ARROW_ASSIGN_OR_RAISE(c.pg, ParsePostgresSource(r, n, key, /*cdc=*/true));
  if (n["tables"]) {
    ARROW_ASSIGN_OR_RAISE(c.tables, r.StringList(n["tables"], key + ".tables"));
    if (c.tables.empty()) return r.Error(n["tables"], key + ".tables", "names no table");
    std::set<std::string> seen;
    for (const auto& t : c.tables) {
      auto quoted = QuoteQualifiedName(t);
      if (!quoted.ok())
        return r.Error(n["tables"], key + ".tables", quoted.status().message());
      if (!seen.insert(*quoted).second)
        return r.Error(n["tables"], key + ".tables", "names " + t + " twice");
    }
  } else {
    c.tables = {c.pg.table};
  }
  c.pg.table.clear();
  ARROW_ASSIGN_OR_RAISE(c.slot, SlotName(r, n["slot"], key + ".slot", pipeline));
  ARROW_ASSIGN_OR_RAISE(c.publication,
                        SlotName(r, n["publication"], key + ".publication", pipeline));
  if (n["initial_snapshot"]) {
    ARROW_ASSIGN_OR_RAISE(c.initial_snapshot,
                          r.Bool(n["initial_snapshot"], key + ".initial_snapshot"));
  }
  std::string list;
  for (const auto& t : c.tables) list += (list.empty() ? "" : ", ") + t;
  c.pg.description = "PostgreSQL " + RedactUri(c.pg.connection) +
                     (c.tables.size() == 1 ? " table " : " tables ") + list;
  return c;
}

// One character: "\t" or "tab" for a tab.
arrow::Result<char> OneChar(const YamlReader& r, const YAML::Node& n,
                            const std::string& key) {
  ARROW_ASSIGN_OR_RAISE(std::string text, r.String(n, key));
  if (text == "\\t" || text == "tab") return '\t';
  if (text.size() != 1) return r.Error(n, key, "must be one character (or tab)");
  return text[0];
}

// source.csv: how CSV files are split, and what in them is null.
arrow::Status ParseCsv(const YamlReader& r, const YAML::Node& n, const std::string& key,
                       CsvOptions* out) {
  if (!n.IsMap()) return r.Error(n, key, "expected a mapping");
  ARROW_RETURN_NOT_OK(
      r.CheckKeys(n, key, {"delimiter", "header", "quote", "escape", "null_values"}));
  if (n["delimiter"]) {
    ARROW_ASSIGN_OR_RAISE(out->delimiter, OneChar(r, n["delimiter"], key + ".delimiter"));
  }
  if (n["header"]) {
    ARROW_ASSIGN_OR_RAISE(out->header, r.Bool(n["header"], key + ".header"));
  }
  if (n["quote"]) {
    ARROW_ASSIGN_OR_RAISE(out->quote, OneChar(r, n["quote"], key + ".quote"));
  }
  if (n["escape"]) {
    ARROW_ASSIGN_OR_RAISE(out->escape, OneChar(r, n["escape"], key + ".escape"));
  }
  if (n["null_values"]) {
    ARROW_ASSIGN_OR_RAISE(out->null_values,
                          r.StringList(n["null_values"], key + ".null_values"));
  }
  return arrow::Status::OK();
}

arrow::Result<FileSourceConfig> ParseFileSource(const YamlReader& r, const YAML::Node& n,
                                                const std::string& key) {
  ARROW_RETURN_NOT_OK(r.CheckKeys(
      n, key,
      {"type", "path", "format", "schema", "decimal_handling", "changed_files",
       "require_files", "csv", "bad_files", "quarantine_dir", "storage"}));
  if (!n["path"]) return r.Error(n, key + ".path", "is required");
  FileSourceConfig f;
  ARROW_ASSIGN_OR_RAISE(std::string path, r.String(n["path"], key + ".path"));
  f.path = r.ResolvePath(path);
  if (n["format"]) {
    ARROW_ASSIGN_OR_RAISE(f.decoding.format,
                          r.Enum<std::string>(n["format"], key + ".format",
                                              {{"csv", "csv"},
                                               {"json", "json"},
                                               {"ndjson", "ndjson"},
                                               {"parquet", "parquet"},
                                               {"debezium", "debezium"}},
                                              "format"));
  }
  ARROW_RETURN_NOT_OK(ParseDecodingOptions(r, n, key, &f.decoding));
  if (n["csv"]) ARROW_RETURN_NOT_OK(ParseCsv(r, n["csv"], key + ".csv", &f.decoding.csv));
  if (n["changed_files"]) {
    ARROW_ASSIGN_OR_RAISE(f.changed_files,
                          r.Enum<ChangedFiles>(n["changed_files"], key + ".changed_files",
                                               {{"fail", ChangedFiles::kFail},
                                                {"reload", ChangedFiles::kReload},
                                                {"ignore", ChangedFiles::kIgnore}},
                                               "policy"));
  }
  if (n["bad_files"]) {
    ARROW_ASSIGN_OR_RAISE(f.bad_files,
                          r.Enum<BadFiles>(n["bad_files"], key + ".bad_files",
                                           {{"fail", BadFiles::kFail},
                                            {"skip", BadFiles::kSkip},
                                            {"quarantine", BadFiles::kQuarantine}},
                                           "policy"));
  }
  if (n["quarantine_dir"]) {
    ARROW_ASSIGN_OR_RAISE(std::string dir,
                          r.String(n["quarantine_dir"], key + ".quarantine_dir"));
    f.quarantine_dir = r.ResolvePath(dir);
  }
  if ((f.bad_files == BadFiles::kQuarantine) != !f.quarantine_dir.empty()) {
    return r.Error(n["quarantine_dir"] ? n["quarantine_dir"] : n, key + ".quarantine_dir",
                   "goes with bad_files: quarantine (and is required by it)");
  }
  if (n["require_files"]) {
    ARROW_ASSIGN_OR_RAISE(f.require_files,
                          r.Bool(n["require_files"], key + ".require_files"));
  }
  if (n["storage"]) {
    ARROW_RETURN_NOT_OK(
        ParseStorage(r, n["storage"], key + ".storage", f.path, "sources", &f.storage));
  }
  if (!f.quarantine_dir.empty() && f.quarantine_dir.find("://") != std::string::npos) {
    return r.Error(n["quarantine_dir"], key + ".quarantine_dir",
                   "must be a local directory");
  }
  return f;
}

}  // namespace

arrow::Status ParseStorage(const YamlReader& r, const YAML::Node& s,
                           const std::string& key, const std::string& path,
                           const char* what, std::map<std::string, std::string>* out) {
  if (!s.IsMap()) return r.Error(s, key, "expected a mapping");
  ARROW_RETURN_NOT_OK(
      r.CheckKeys(s, key,
                  {"endpoint", "region", "access_key_id", "secret_access_key",
                   "session_token", "addressing", "ca_bundle"}));
  for (const auto& kv : s) {
    std::string k = kv.first.as<std::string>();
    ARROW_ASSIGN_OR_RAISE((*out)[k], r.String(kv.second, key + "." + k));
  }
  if (path.rfind("s3://", 0) != 0)
    return r.Error(s, key, std::string("applies to s3:// ") + what + " only");
  S3Config check;
  auto valid = check.Apply(*out);
  if (!valid.ok()) return r.Error(s, key, valid.message());
  return arrow::Status::OK();
}

// One alternative per source kind (source/source.h), chosen by type (files by default).
arrow::Result<SourceConfig> ParseSource(const YamlReader& r, const YAML::Node& n,
                                        const std::string& key,
                                        const std::string& pipeline) {
  if (!n.IsMap()) return r.Error(n, key, "expected a mapping");
  std::string type = "files";
  if (n["type"]) {
    ARROW_ASSIGN_OR_RAISE(type, r.String(n["type"], key + ".type"));
  }
  if (type == "files") return ParseFileSource(r, n, key);
  if (type == "kafka") return ParseKafkaSource(r, n, key, pipeline);
  if (type == "postgres") return ParsePostgresSource(r, n, key);
  if (type == "postgres_cdc") return ParsePostgresCdcSource(r, n, key, pipeline);
  if (type == "http") return ParseHttpSource(r, n, key);
  return r.Error(n["type"], key + ".type",
                 "unknown source type '" + type +
                     "' (use files, kafka, postgres, postgres_cdc or http)");
}

}  // namespace inlet::pipeline
