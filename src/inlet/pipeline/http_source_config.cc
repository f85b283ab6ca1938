// The source section of an http source (docs/pipelines.md, "HTTP APIs").
#include <cctype>
#include <string>

#include "inlet/common/redact.h"
#include "inlet/common/uri.h"
#include "inlet/pipeline/yaml_reader.h"
#include "inlet/source/http_pages.h"

namespace inlet::pipeline {

namespace {

// A size in bytes: 64MB, 512KiB, 1GB, or a number of bytes.
arrow::Result<int64_t> Bytes(const YamlReader& r, const YAML::Node& n,
                             const std::string& key) {
  ARROW_ASSIGN_OR_RAISE(std::string text, r.String(n, key));
  size_t end = 0;
  while (end < text.size() && std::isdigit(static_cast<unsigned char>(text[end]))) ++end;
  std::string unit = text.substr(end);
  while (!unit.empty() && unit[0] == ' ') unit.erase(0, 1);
  for (auto& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  int64_t mult = unit.empty() || unit == "B"     ? 1
                 : unit == "KB" || unit == "KIB" ? 1024
                 : unit == "MB" || unit == "MIB" ? 1024 * 1024
                 : unit == "GB" || unit == "GIB" ? 1024LL * 1024 * 1024
                                                 : 0;
  if (end == 0 || end > 12 || mult == 0)
    return r.Error(n, key, "expected a size such as 64MB or 512KB, got '" + text + "'");
  int64_t value = std::stoll(text.substr(0, end));
  if (value > INT64_MAX / mult) return r.Error(n, key, "is too large");
  int64_t bytes = value * mult;
  if (bytes <= 0) return r.Error(n, key, "must be positive");
  return bytes;
}

// name: value pairs; the values given from the environment go to secrets.
arrow::Result<std::vector<std::pair<std::string, std::string>>> Pairs(
    const YamlReader& r, const YAML::Node& n, const std::string& key,
    std::vector<std::string>* secrets) {
  if (!n.IsMap()) return r.Error(n, key, "expected a mapping of name: value");
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& kv : n) {
    std::string name = kv.first.as<std::string>();
    ARROW_ASSIGN_OR_RAISE(std::string value, r.String(kv.second, key + "." + name));
    const std::string raw = kv.second.as<std::string>();
    if (raw.find("${") != std::string::npos) {
      secrets->push_back(value);
      // One variable inside literal text ("Bearer ${TOKEN}"): the variable's value too,
      // which a server may quote alone.
      size_t open = raw.find("${"), close = raw.find('}', open);
      if (close != std::string::npos && raw.find("${", close) == std::string::npos) {
        size_t prefix = open, suffix = raw.size() - close - 1;
        if (value.size() >= prefix + suffix &&
            value.compare(0, prefix, raw, 0, prefix) == 0 &&
            value.compare(value.size() - suffix, suffix, raw, close + 1, suffix) == 0) {
          std::string piece = value.substr(prefix, value.size() - prefix - suffix);
          if (!piece.empty() && piece != value) secrets->push_back(piece);
        }
      }
    }
    out.emplace_back(std::move(name), std::move(value));
  }
  return out;
}

// The values of the URL's query parameters that came from the environment.
void QuerySecrets(const std::string& raw, const std::string& url,
                  std::vector<std::string>* secrets) {
  auto params = [](const std::string& u) {
    std::vector<std::string> values;
    size_t q = u.find('?');
    if (q == std::string::npos) return values;
    std::string query =
        u.substr(q + 1, u.find('#') == std::string::npos ? std::string::npos
                                                         : u.find('#') - q - 1);
    size_t pos = 0;
    while (pos <= query.size()) {
      size_t amp = query.find('&', pos);
      std::string pair = query.substr(pos, amp == std::string::npos ? amp : amp - pos);
      size_t eq = pair.find('=');
      values.push_back(eq == std::string::npos ? "" : pair.substr(eq + 1));
      if (amp == std::string::npos) break;
      pos = amp + 1;
    }
    return values;
  };
  size_t q = raw.find('?');
  if (q == std::string::npos || raw.find("${", q) == std::string::npos) return;
  auto given = params(raw), expanded = params(url);
  for (size_t i = 0; i < expanded.size(); ++i) {
    // An expansion holding '&' shifts the pairs: then every value is taken for a secret.
    bool from_env =
        given.size() != expanded.size() || given[i].find("${") != std::string::npos;
    if (from_env && !expanded[i].empty()) {
      secrets->push_back(expanded[i]);
      secrets->push_back(PercentDecode(expanded[i]));
    }
  }
}

arrow::Status ParseAuth(const YamlReader& r, const YAML::Node& n, const std::string& key,
                        HttpAuth* a) {
  if (!n.IsMap()) return r.Error(n, key, "expected a mapping");
  if (!n["type"])
    return r.Error(n, key + ".type", "is required (bearer, basic, api_key or oauth2)");
  ARROW_ASSIGN_OR_RAISE(a->type,
                        r.Enum<HttpAuth::Type>(n["type"], key + ".type",
                                               {{"bearer", HttpAuth::Type::kBearer},
                                                {"basic", HttpAuth::Type::kBasic},
                                                {"api_key", HttpAuth::Type::kApiKey},
                                                {"oauth2", HttpAuth::Type::kOAuth2}},
                                               "auth type"));
  auto need = [&](const char* name) -> arrow::Status {
    if (!n[name]) return r.Error(n, key + "." + name, "is required for this auth type");
    return arrow::Status::OK();
  };
  switch (a->type) {
    case HttpAuth::Type::kBearer: {
      ARROW_RETURN_NOT_OK(r.CheckKeys(n, key, {"type", "token"}));
      ARROW_RETURN_NOT_OK(need("token"));
      ARROW_ASSIGN_OR_RAISE(a->token, r.Secret(n["token"], key + ".token"));
      break;
    }
    case HttpAuth::Type::kBasic: {
      ARROW_RETURN_NOT_OK(r.CheckKeys(n, key, {"type", "username", "password"}));
      ARROW_RETURN_NOT_OK(need("username"));
      ARROW_RETURN_NOT_OK(need("password"));
      ARROW_ASSIGN_OR_RAISE(a->username, r.String(n["username"], key + ".username"));
      ARROW_ASSIGN_OR_RAISE(a->password, r.Secret(n["password"], key + ".password"));
      break;
    }
    case HttpAuth::Type::kApiKey: {
      ARROW_RETURN_NOT_OK(r.CheckKeys(n, key, {"type", "name", "value", "in"}));
      ARROW_RETURN_NOT_OK(need("name"));
      ARROW_RETURN_NOT_OK(need("value"));
      ARROW_ASSIGN_OR_RAISE(a->name, r.String(n["name"], key + ".name"));
      ARROW_ASSIGN_OR_RAISE(a->value, r.Secret(n["value"], key + ".value"));
      if (n["in"]) {
        ARROW_ASSIGN_OR_RAISE(
            a->in_query, r.Enum<bool>(n["in"], key + ".in",
                                      {{"header", false}, {"query", true}}, "place"));
      }
      break;
    }
    case HttpAuth::Type::kOAuth2: {
      ARROW_RETURN_NOT_OK(r.CheckKeys(
          n, key,
          {"type", "token_url", "client_id", "client_secret", "scope", "client_auth"}));
      for (const char* k : {"token_url", "client_id", "client_secret"})
        ARROW_RETURN_NOT_OK(need(k));
      ARROW_ASSIGN_OR_RAISE(a->token_url, r.String(n["token_url"], key + ".token_url"));
      if (a->token_url.rfind("http://", 0) != 0 && a->token_url.rfind("https://", 0) != 0)
        return r.Error(n["token_url"], key + ".token_url", "expected an http(s):// URL");
      ARROW_ASSIGN_OR_RAISE(a->client_id, r.String(n["client_id"], key + ".client_id"));
      ARROW_ASSIGN_OR_RAISE(a->client_secret,
                            r.Secret(n["client_secret"], key + ".client_secret"));
      if (n["scope"]) {
        ARROW_ASSIGN_OR_RAISE(a->scope, r.String(n["scope"], key + ".scope"));
      }
      if (n["client_auth"]) {
        ARROW_ASSIGN_OR_RAISE(
            a->client_auth_basic,
            r.Enum<bool>(n["client_auth"], key + ".client_auth",
                         {{"body", false}, {"basic", true}}, "client authentication"));
      }
      break;
    }
    case HttpAuth::Type::kNone:
      break;
  }
  return arrow::Status::OK();
}

arrow::Status ParsePaginate(const YamlReader& r, const YAML::Node& n,
                            const std::string& key, HttpPagination* p) {
  using Type = HttpPagination::Type;
  if (!n.IsMap()) return r.Error(n, key, "expected a mapping");
  if (!n["type"])
    return r.Error(n, key + ".type",
                   "is required (offset, page, cursor, link or next_url)");
  ARROW_ASSIGN_OR_RAISE(p->type, r.Enum<Type>(n["type"], key + ".type",
                                              {{"none", Type::kNone},
                                               {"offset", Type::kOffset},
                                               {"page", Type::kPage},
                                               {"cursor", Type::kCursor},
                                               {"link", Type::kLink},
                                               {"next_url", Type::kNextUrl}},
                                              "pagination"));
  std::set<std::string> allowed = {"type", "total_path", "max_pages"};
  switch (p->type) {
    case Type::kOffset:
      allowed.insert({"offset_param", "limit_param", "limit", "start"});
      break;
    case Type::kPage:
      allowed.insert({"page_param", "start", "page_size_param", "page_size"});
      p->start = 1;
      break;
    case Type::kCursor:
      allowed.insert({"cursor_path", "cursor_param"});
      if (!n["cursor_path"])
        return r.Error(n, key + ".cursor_path",
                       "is required: the path of the next page's cursor in a response");
      break;
    case Type::kNextUrl:
      allowed.insert({"next_url_path"});
      if (!n["next_url_path"])
        return r.Error(n, key + ".next_url_path",
                       "is required: the path of the next page's URL in a response");
      break;
    default:
      break;
  }
  ARROW_RETURN_NOT_OK(r.CheckKeys(n, key, allowed));
  for (auto [name, out] : {std::pair{"offset_param", &p->offset_param},
                           std::pair{"limit_param", &p->limit_param},
                           std::pair{"page_param", &p->page_param},
                           std::pair{"page_size_param", &p->page_size_param},
                           std::pair{"cursor_param", &p->cursor_param}}) {
    if (n[name]) {
      ARROW_ASSIGN_OR_RAISE(*out, r.String(n[name], key + "." + name));
      if (out->empty()) return r.Error(n[name], key + "." + name, "is empty");
    }
  }
  for (auto [name, out] : {std::pair{"cursor_path", &p->cursor_path},
                           std::pair{"next_url_path", &p->next_url_path},
                           std::pair{"total_path", &p->total_path}}) {
    if (!n[name]) continue;
    ARROW_ASSIGN_OR_RAISE(*out, r.String(n[name], key + "." + name));
    auto parsed = ParseJsonPath(*out);
    if (!parsed.ok())
      return r.Error(n[name], key + "." + name, parsed.status().message());
  }
  if (n["limit"]) {
    ARROW_ASSIGN_OR_RAISE(p->limit, r.Int(n["limit"], key + ".limit"));
    if (p->limit <= 0) return r.Error(n["limit"], key + ".limit", "must be positive");
  }
  if (n["start"]) {
    ARROW_ASSIGN_OR_RAISE(p->start, r.Int(n["start"], key + ".start"));
    if (p->start < 0) return r.Error(n["start"], key + ".start", "must not be negative");
  }
  if (n["page_size"]) {
    ARROW_ASSIGN_OR_RAISE(p->page_size, r.Int(n["page_size"], key + ".page_size"));
    if (p->page_size <= 0)
      return r.Error(n["page_size"], key + ".page_size", "must be positive");
  }
  if (static_cast<bool>(n["page_size"]) != static_cast<bool>(n["page_size_param"]))
    return r.Error(n, key + ".page_size", "goes with page_size_param (give both)");
  if (n["max_pages"]) {
    ARROW_ASSIGN_OR_RAISE(p->max_pages, r.Int(n["max_pages"], key + ".max_pages"));
    if (p->max_pages < 0)
      return r.Error(n["max_pages"], key + ".max_pages",
                     "must not be negative (0: no limit)");
  }
  return arrow::Status::OK();
}

arrow::Status ParseRetries(const YamlReader& r, const YAML::Node& n,
                           const std::string& key, HttpSourceConfig* c) {
  ARROW_RETURN_NOT_OK(
      r.CheckKeys(n, key, {"max", "backoff", "max_backoff", "max_retry_after"}));
  if (n["max"]) {
    ARROW_ASSIGN_OR_RAISE(int64_t max, r.Int(n["max"], key + ".max"));
    if (max < 0 || max > 100) return r.Error(n["max"], key + ".max", "must be 0 to 100");
    c->max_retries = static_cast<int>(max);
  }
  if (n["backoff"]) {
    ARROW_ASSIGN_OR_RAISE(c->backoff_ms, r.Millis(n["backoff"], key + ".backoff"));
  }
  if (n["max_backoff"]) {
    ARROW_ASSIGN_OR_RAISE(c->max_backoff_ms,
                          r.Millis(n["max_backoff"], key + ".max_backoff"));
  }
  if (n["max_retry_after"]) {
    ARROW_ASSIGN_OR_RAISE(c->max_retry_after_ms,
                          r.Millis(n["max_retry_after"], key + ".max_retry_after"));
  }
  if (c->max_backoff_ms < c->backoff_ms)
    return r.Error(n, key + ".max_backoff", "must not be less than backoff");
  return arrow::Status::OK();
}

arrow::Status ParseTls(const YamlReader& r, const YAML::Node& n, const std::string& key,
                       HttpSourceConfig* c) {
  ARROW_RETURN_NOT_OK(
      r.CheckKeys(n, key, {"ca_bundle", "client_cert", "client_key", "verify"}));
  for (auto [name, out] :
       {std::pair{"ca_bundle", &c->ca_bundle}, std::pair{"client_cert", &c->client_cert},
        std::pair{"client_key", &c->client_key}}) {
    if (!n[name]) continue;
    ARROW_ASSIGN_OR_RAISE(std::string path, r.String(n[name], key + "." + name));
    *out = r.ResolvePath(path);
  }
  if (n["verify"]) {
    ARROW_ASSIGN_OR_RAISE(c->verify_tls, r.Bool(n["verify"], key + ".verify"));
  }
  if (c->client_cert.empty() != c->client_key.empty())
    return r.Error(n, key + ".client_key", "goes with client_cert (give both)");
  return arrow::Status::OK();
}

arrow::Status ParseIncremental(const YamlReader& r, const YAML::Node& n,
                               const std::string& key,
                               HttpSourceConfig::Incremental* inc) {
  ARROW_RETURN_NOT_OK(r.CheckKeys(n, key, {"cursor", "initial", "format"}));
  if (n["cursor"]) {
    ARROW_ASSIGN_OR_RAISE(inc->cursor, r.String(n["cursor"], key + ".cursor"));
  }
  if (n["initial"]) {
    ARROW_ASSIGN_OR_RAISE(inc->initial, r.String(n["initial"], key + ".initial"));
  }
  if (n["format"]) {
    ARROW_ASSIGN_OR_RAISE(inc->format, r.Enum<std::string>(n["format"], key + ".format",
                                                           {{"iso8601", "iso8601"},
                                                            {"unix", "unix"},
                                                            {"unix_ms", "unix_ms"}},
                                                           "format"));
  }
  return arrow::Status::OK();
}

}  // namespace

arrow::Result<HttpSourceConfig> ParseHttpSource(const YamlReader& r, const YAML::Node& n,
                                                const std::string& key) {
  ARROW_RETURN_NOT_OK(r.CheckKeys(n, key,
                                  {"type",
                                   "url",
                                   "method",
                                   "body",
                                   "headers",
                                   "params",
                                   "auth",
                                   "records",
                                   "paginate",
                                   "incremental",
                                   "timeout",
                                   "connect_timeout",
                                   "max_response_size",
                                   "retries",
                                   "tls",
                                   "archive_dir",
                                   "replay",
                                   "format",
                                   "schema",
                                   "schema_file"}));
  HttpSourceConfig c;
  if (!n["url"]) return r.Error(n, key + ".url", "is required for an http source");
  ARROW_ASSIGN_OR_RAISE(c.url, r.String(n["url"], key + ".url"));
  if (c.url.rfind("http://", 0) != 0 && c.url.rfind("https://", 0) != 0)
    return r.Error(n["url"], key + ".url", "expected an http:// or https:// URL");
  if (n["method"]) {
    ARROW_ASSIGN_OR_RAISE(
        c.method, r.Enum<std::string>(n["method"], key + ".method",
                                      {{"GET", "GET"}, {"POST", "POST"}}, "method"));
  }
  if (n["body"]) {
    if (c.method != "POST")
      return r.Error(n["body"], key + ".body", "goes with method: POST");
    ARROW_ASSIGN_OR_RAISE(c.body, r.String(n["body"], key + ".body"));
  }
  if (n["headers"]) {
    ARROW_ASSIGN_OR_RAISE(c.headers,
                          Pairs(r, n["headers"], key + ".headers", &c.secrets));
  }
  for (const auto& [name, value] : c.headers) {
    std::string lower = name;
    for (auto& ch : lower)
      ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
    if (lower == "authorization" &&
        n["headers"][name].as<std::string>().find("${") == std::string::npos)
      return r.Error(n["headers"][name], key + ".headers." + name,
                     "is a secret: give it from the environment as ${VAR}, or use auth");
  }
  if (n["params"]) {
    ARROW_ASSIGN_OR_RAISE(c.params, Pairs(r, n["params"], key + ".params", &c.secrets));
  }
  if (n["auth"]) ARROW_RETURN_NOT_OK(ParseAuth(r, n["auth"], key + ".auth", &c.auth));
  if (n["records"]) {
    ARROW_ASSIGN_OR_RAISE(c.records_path, r.String(n["records"], key + ".records"));
    auto parsed = ParseJsonPath(c.records_path);
    if (!parsed.ok())
      return r.Error(n["records"], key + ".records", parsed.status().message());
  }
  if (n["paginate"])
    ARROW_RETURN_NOT_OK(ParsePaginate(r, n["paginate"], key + ".paginate", &c.paginate));
  if (n["incremental"]) {
    ARROW_RETURN_NOT_OK(
        ParseIncremental(r, n["incremental"], key + ".incremental", &c.incremental));
  }
  if (n["timeout"]) {
    ARROW_ASSIGN_OR_RAISE(c.timeout_ms, r.Millis(n["timeout"], key + ".timeout"));
  }
  if (n["connect_timeout"]) {
    ARROW_ASSIGN_OR_RAISE(c.connect_timeout_ms,
                          r.Millis(n["connect_timeout"], key + ".connect_timeout"));
  }
  if (n["max_response_size"]) {
    ARROW_ASSIGN_OR_RAISE(c.max_response_bytes,
                          Bytes(r, n["max_response_size"], key + ".max_response_size"));
  }
  if (n["retries"])
    ARROW_RETURN_NOT_OK(ParseRetries(r, n["retries"], key + ".retries", &c));
  if (n["tls"]) ARROW_RETURN_NOT_OK(ParseTls(r, n["tls"], key + ".tls", &c));
  if (n["archive_dir"]) {
    ARROW_ASSIGN_OR_RAISE(std::string dir,
                          r.String(n["archive_dir"], key + ".archive_dir"));
    c.archive_dir = r.ResolvePath(dir);
    if (c.archive_dir.find("://") != std::string::npos)
      return r.Error(n["archive_dir"], key + ".archive_dir", "must be a local directory");
  }
  if (n["replay"]) {
    ARROW_ASSIGN_OR_RAISE(std::string dir, r.String(n["replay"], key + ".replay"));
    c.replay_dir = r.ResolvePath(dir);
    if (c.replay_dir == c.archive_dir)
      return r.Error(n["replay"], key + ".replay",
                     "names a run's directory under archive_dir, not archive_dir itself");
  }
  c.decoding.format = "json";
  if (n["format"]) {
    ARROW_ASSIGN_OR_RAISE(
        c.decoding.format,
        r.Enum<std::string>(n["format"], key + ".format", {{"json", "json"}}, "format"));
  }
  ARROW_RETURN_NOT_OK(ParseDecodingOptions(r, n, key, &c.decoding));
  ARROW_RETURN_NOT_OK(
      ParseSchemaFile(r, n, key, &c.schema_file, &c.message_schema, &c.decoding));
  QuerySecrets(n["url"].as<std::string>(), c.url, &c.secrets);
  c.description = "HTTP API " + MaskSecrets(RedactUri(c.url), c.secrets);
  return c;
}

}  // namespace inlet::pipeline
