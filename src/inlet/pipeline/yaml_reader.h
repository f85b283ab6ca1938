// Reading pipeline files with yaml-cpp (used by config.cc and source_config.cc only): a
// YAML tree walked with the file name and key path for messages, ${VAR} expansion, and
// the value types of the format.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <string>
#include <utility>

#include "inlet/pipeline/config.h"

namespace inlet::pipeline {

// Walks the YAML tree with the file name and key path for messages.
class YamlReader {
 public:
  YamlReader(std::string file, std::string base_dir, const EnvLookup& env)
      : file_(std::move(file)), base_dir_(std::move(base_dir)), env_(env) {}

  arrow::Status Error(const YAML::Node& node, const std::string& key,
                      const std::string& msg) const {
    int line = node.Mark().line >= 0 ? node.Mark().line + 1 : 0;
    return arrow::Status::Invalid(file_, ":", line, ": ", key, ": ", msg);
  }

  // Fails on keys outside `allowed` (typos must not be silently ignored).
  arrow::Status CheckKeys(const YAML::Node& map, const std::string& key,
                          const std::set<std::string>& allowed) const {
    if (!map.IsMap()) return Error(map, key, "expected a mapping");
    for (const auto& kv : map) {
      std::string k = kv.first.as<std::string>();
      if (!allowed.count(k)) {
        std::string list;
        for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
        return Error(kv.first, Join(key, k),
                     "unknown key (expected one of: " + list + ")");
      }
    }
    return arrow::Status::OK();
  }

  arrow::Result<std::string> String(const YAML::Node& node,
                                    const std::string& key) const {
    if (!node.IsScalar()) return Error(node, key, "expected a string");
    return Expand(node.as<std::string>(), node, key);
  }

  arrow::Result<int64_t> Int(const YAML::Node& node, const std::string& key) const {
    ARROW_ASSIGN_OR_RAISE(std::string s, String(node, key));
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0')
      return Error(node, key, "expected an integer, got '" + s + "'");
    return v;
  }

  arrow::Result<bool> Bool(const YAML::Node& node, const std::string& key) const {
    ARROW_ASSIGN_OR_RAISE(std::string s, String(node, key));
    if (s == "true" || s == "True" || s == "yes") return true;
    if (s == "false" || s == "False" || s == "no") return false;
    return Error(node, key, "expected true or false, got '" + s + "'");
  }

  template <typename E>
  arrow::Result<E> Enum(const YAML::Node& node, const std::string& key,
                        const std::vector<std::pair<const char*, E>>& values,
                        const char* what) const {
    ARROW_ASSIGN_OR_RAISE(std::string s, String(node, key));
    std::string list;
    for (const auto& [name, v] : values) {
      if (s == name) return v;
      list += (list.empty() ? "" : ", ") + std::string(name);
    }
    return Error(node, key,
                 "unknown " + std::string(what) + " '" + s + "' (use " + list + ")");
  }

  arrow::Result<std::vector<std::string>> StringList(const YAML::Node& node,
                                                     const std::string& key) const {
    std::vector<std::string> out;
    if (node.IsScalar()) {  // "a, b" is accepted as a list
      ARROW_ASSIGN_OR_RAISE(std::string s, String(node, key));
      std::stringstream ss(s);
      std::string item;
      while (std::getline(ss, item, ',')) {
        item.erase(0, item.find_first_not_of(' '));
        item.erase(item.find_last_not_of(' ') + 1);
        if (!item.empty()) out.push_back(item);
      }
      return out;
    }
    if (!node.IsSequence()) return Error(node, key, "expected a list");
    for (size_t i = 0; i < node.size(); ++i) {
      ARROW_ASSIGN_OR_RAISE(auto s, String(node[i], key + "[" + std::to_string(i) + "]"));
      out.push_back(s);
    }
    return out;
  }

  arrow::Result<Span> SpanOf(const YAML::Node& node, const std::string& key) const {
    ARROW_ASSIGN_OR_RAISE(std::string s, String(node, key));
    static const std::regex re(R"(^\s*(\d+)\s*(s|m|h|d|ms)?\s*$)");
    std::smatch m;
    if (!std::regex_match(s, m, re)) {
      return Error(
          node, key,
          "expected a duration such as 30s, 15m, 2h, 1d (or a number), got '" + s + "'");
    }
    Span span;
    span.value = std::stoll(m[1]);
    if (m[2].matched) {
      std::string u = m[2];
      int64_t mult = u == "ms"  ? 1000
                     : u == "s" ? 1000000
                     : u == "m" ? 60000000LL
                     : u == "h" ? 3600000000LL
                                : 86400000000LL;
      span.value *= mult;
      span.has_unit = true;
    }
    return span;
  }

  /// A duration in milliseconds: 30s, 500ms, 2m, 1h, 1d, or a number of seconds; a
  /// duration of zero is refused unless zero_ok.
  arrow::Result<int64_t> Millis(const YAML::Node& node, const std::string& key,
                                bool zero_ok = false) const {
    ARROW_ASSIGN_OR_RAISE(Span span, SpanOf(node, key));
    int64_t ms = span.has_unit ? span.value / 1000 : span.value * 1000;
    if (ms <= 0 && !zero_ok) return Error(node, key, "must be positive");
    return ms;
  }

  /// A secret's value: written as ${VAR} (from the environment), never in the file;
  /// `what` says why it is one.
  arrow::Result<std::string> Secret(const YAML::Node& node, const std::string& key,
                                    const std::string& what = "is a secret") const {
    if (node.IsScalar() && node.as<std::string>().find("${") == std::string::npos)
      return Error(node, key,
                   what + ": give it from the environment as ${VAR}, not in the file");
    return String(node, key);
  }

  std::string ResolvePath(const std::string& p) const {
    if (p.empty() || p[0] == '/' || p.find("://") != std::string::npos) return p;
    return (std::filesystem::path(base_dir_) / p).lexically_normal().string();
  }

  static std::string Join(const std::string& a, const std::string& b) {
    return a.empty() ? b : a + "." + b;
  }

 private:
  arrow::Result<std::string> Expand(const std::string& s, const YAML::Node& node,
                                    const std::string& key) const {
    std::string out;
    size_t i = 0;
    while (i < s.size()) {
      if (s[i] == '$' && i + 1 < s.size() && s[i + 1] == '{') {
        size_t end = s.find('}', i);
        if (end == std::string::npos)
          return Error(node, key, "unterminated ${ in '" + s + "'");
        std::string body = s.substr(i + 2, end - i - 2);
        std::string name = body, fallback;
        bool has_default = false;
        if (size_t d = body.find(":-"); d != std::string::npos) {
          name = body.substr(0, d);
          fallback = body.substr(d + 2);
          has_default = true;
        }
        auto value = env_(name);
        if (value && !value->empty()) {
          out += *value;
        } else if (has_default) {
          out += fallback;
        } else {
          return Error(node, key,
                       "environment variable " + name + " is not set (use ${" + name +
                           ":-default} for a default)");
        }
        i = end + 1;
      } else {
        out += s[i++];
      }
    }
    return out;
  }

  std::string file_;
  std::string base_dir_;
  const EnvLookup& env_;
};

/// The source section: one alternative per kind (source/source.h), chosen by type (files
/// by default). source_config.cc.
/// A storage mapping (endpoint, region, keys, addressing, ca_bundle: S3Config::Apply) for
/// the s3:// location path, into out; errors name the key, never a secret's value.
arrow::Status ParseStorage(const YamlReader& r, const YAML::Node& n,
                           const std::string& key, const std::string& path,
                           const char* what, std::map<std::string, std::string>* out);

/// The keys of a PostgreSQL connection: connection (a URI) or libpq's keywords (host,
/// port, database, user, sslmode, sslrootcert, sslcert, sslkey), and password.
const std::vector<std::string>& PostgresConnectionKeys();
/// Those keys of n into pg's connection and password.
arrow::Status ParsePostgresConnection(const YamlReader& r, const YAML::Node& n,
                                      const std::string& key, PostgresSourceConfig* pg);

/// A source's decimal_handling and schema keys (source_config.cc).
arrow::Status ParseDecodingOptions(const YamlReader& r, const YAML::Node& n,
                                   const std::string& key, DecodingConfig* out);
/// A source's schema_file key: the JSON Schema read into schema, its columns declared in
/// decoding; Invalid when schema is also given or the format is not json.
arrow::Status ParseSchemaFile(const YamlReader& r, const YAML::Node& n,
                              const std::string& key, std::string* file,
                              MessageSchema* schema, DecodingConfig* decoding);
/// An http source (http_source_config.cc).
arrow::Result<HttpSourceConfig> ParseHttpSource(const YamlReader& r, const YAML::Node& n,
                                                const std::string& key);

/// The alerts list (alert_config.cc); pipelines: the file's pipeline names.
arrow::Result<std::vector<AlertConfig>> ParseAlerts(
    const YamlReader& r, const YAML::Node& n, const std::set<std::string>& pipelines);

/// The destination section (destination_config.cc).
arrow::Status ParseDestination(const YamlReader& r, const YAML::Node& n,
                               const std::string& key, DestinationConfig* out);

arrow::Result<SourceConfig> ParseSource(const YamlReader& r, const YAML::Node& n,
                                        const std::string& key,
                                        const std::string& pipeline);

}  // namespace inlet::pipeline
