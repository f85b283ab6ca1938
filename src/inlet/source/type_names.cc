#include "inlet/source/type_names.h"

#include <arrow/type.h>

#include <cctype>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace inlet {

arrow::Result<std::shared_ptr<arrow::DataType>> ParseTypeName(const std::string& raw) {
  std::string t;
  for (char c : raw) {
    if (!std::isspace(static_cast<unsigned char>(c)))
      t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  if (t == "string" || t == "varchar" || t == "text") return arrow::utf8();
  if (t == "int" || t == "integer" || t == "int32") return arrow::int32();
  if (t == "long" || t == "bigint" || t == "int64") return arrow::int64();
  if (t == "short" || t == "smallint" || t == "int16") return arrow::int16();
  if (t == "byte" || t == "tinyint" || t == "int8") return arrow::int8();
  if (t == "float" || t == "float32") return arrow::float32();
  if (t == "double" || t == "float64") return arrow::float64();
  if (t == "boolean" || t == "bool") return arrow::boolean();
  if (t == "date") return arrow::date32();
  if (t == "timestamp") return arrow::timestamp(arrow::TimeUnit::MICRO, "UTC");
  if (t == "timestamp_ntz") return arrow::timestamp(arrow::TimeUnit::MICRO);
  if (t == "binary") return arrow::binary();
  int p, s;
  if (std::sscanf(t.c_str(), "decimal(%d,%d)", &p, &s) == 2 && p >= 1 && p <= 38 &&
      s >= 0 && s <= p) {
    return arrow::decimal128(p, s);
  }
  return arrow::Status::Invalid(
      "unknown type '", raw,
      "' (use string, int, long, short, byte, float, double, boolean, date, "
      "timestamp, timestamp_ntz, decimal(p,s) or binary)");
}

namespace {

std::string Trim(const std::string& s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string::npos) return "";
  size_t b = s.find_last_not_of(" \t\r\n");
  return s.substr(a, b - a + 1);
}

}  // namespace

arrow::Result<DeclaredColumns> ParseColumnTypes(const std::string& spec) {
  std::string text = spec;
  std::string where = "--schema";
  if (!spec.empty() && spec[0] == '@') {
    // A file: "column: type" per line (or comma-separated); # starts a comment.
    std::ifstream in(spec.substr(1));
    if (!in) return arrow::Status::IOError("cannot read schema file ", spec.substr(1));
    std::ostringstream all;
    std::string line;
    while (std::getline(in, line)) {
      size_t hash = line.find('#');
      if (hash != std::string::npos) line.resize(hash);
      if (!Trim(line).empty()) all << line << ",";
    }
    text = all.str();
    where = "schema file " + spec.substr(1);
  }
  // Split at commas outside parentheses: decimal(10,2) keeps its comma.
  std::vector<std::string> items;
  std::string current;
  int depth = 0;
  for (char c : text) {
    if (c == '(') ++depth;
    if (c == ')') --depth;
    if (c == ',' && depth == 0) {
      items.push_back(current);
      current.clear();
    } else {
      current += c;
    }
  }
  items.push_back(current);
  DeclaredColumns out;
  for (const auto& raw : items) {
    std::string item = Trim(raw);
    if (item.empty()) continue;
    size_t colon = item.find(':');
    if (colon == std::string::npos || colon == 0) {
      return arrow::Status::Invalid(where, ": '", item, "' must be column:type");
    }
    std::string name = Trim(item.substr(0, colon));
    auto type = ParseTypeName(Trim(item.substr(colon + 1)));
    if (!type.ok()) {
      return arrow::Status::Invalid(where, ", column '", name,
                                    "': ", type.status().message());
    }
    for (const auto& [seen, t] : out) {
      if (seen == name)
        return arrow::Status::Invalid(where, ": column '", name, "' is given twice");
    }
    out.emplace_back(name, *type);
  }
  if (out.empty()) return arrow::Status::Invalid(where, " names no column");
  return out;
}

}  // namespace inlet
