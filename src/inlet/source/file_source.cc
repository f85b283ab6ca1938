#include "inlet/source/file_source.h"

#include <arrow/array.h>
#include <arrow/array/concatenate.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <arrow/csv/api.h>
#include <arrow/io/file.h>
#include <arrow/json/api.h>
#include <arrow/util/value_parsing.h>
#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "inlet/common/time.h"
#include "inlet/source/file_reader.h"

namespace inlet {

namespace {

arrow::Result<SourceFile> Stat(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return arrow::Status::IOError("source file ", path, " does not exist");
  return SourceFile{
      path, static_cast<int64_t>(st.st_size),
      static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

bool Hidden(const std::string& name) {
  return name.empty() || name[0] == '.' || name[0] == '_';
}

// Arrow's JSON errors count rows within a block; this finds the real line of the first
// malformed JSON value, reading the file again (only on the error path).
std::string LocateJsonError(const std::string& path, const std::string& format) {
  std::ifstream in(path, std::ios::binary);
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  if (format == "ndjson" || text.find_first_not_of(" \t\r\n") == std::string::npos ||
      text[text.find_first_not_of(" \t\r\n")] != '[') {
    size_t line = 0, pos = 0;
    while (pos <= text.size()) {
      size_t end = text.find('\n', pos);
      if (end == std::string::npos) end = text.size();
      ++line;
      std::string_view l(text.data() + pos, end - pos);
      if (l.find_first_not_of(" \t\r") != std::string_view::npos &&
          !nlohmann::json::accept(l)) {
        return "line " + std::to_string(line) + ": malformed JSON";
      }
      pos = end + 1;
    }
    return "";
  }
  try {
    nlohmann::json parsed = nlohmann::json::parse(text);  // throws at the malformed byte
    (void)parsed;
  } catch (const nlohmann::json::parse_error& e) {
    size_t line =
        1 + std::count(text.begin(), text.begin() + std::min(e.byte, text.size()), '\n');
    return "line " + std::to_string(line) + ": malformed JSON";
  }
  return "";
}

arrow::Result<std::shared_ptr<arrow::Table>> ReadTextFile(
    const std::string& path, const std::string& format, const DeclaredSchema& declared) {
  if (format == "csv") {
    ARROW_ASSIGN_OR_RAISE(auto file, arrow::io::ReadableFile::Open(path));
    auto read = arrow::csv::ReadOptions::Defaults();
    auto convert = arrow::csv::ConvertOptions::Defaults();
    convert.timestamp_parsers = {arrow::TimestampParser::MakeISO8601()};
    // Declared columns are read as text and converted by ConvertColumn, whose errors name
    // the line and the column (Arrow's CSV conversion errors name neither).
    for (const auto& [name, type] : declared) convert.column_types[name] = arrow::utf8();
    ARROW_ASSIGN_OR_RAISE(
        auto reader,
        arrow::csv::TableReader::Make(arrow::io::default_io_context(), file, read,
                                      arrow::csv::ParseOptions::Defaults(), convert));
    return reader->Read();
  }
  // JSON arrays and NDJSON: types are inferred, then converted to the declared ones.
  auto table = [&]() -> arrow::Result<std::shared_ptr<arrow::Table>> {
    ARROW_ASSIGN_OR_RAISE(auto reader, OpenInputFiles({path}, format));
    return arrow::Table::FromRecordBatchReader(reader.get());
  }();
  if (!table.ok()) {
    std::string where = LocateJsonError(path, format);
    if (!where.empty()) return arrow::Status::Invalid(path, ": ", where);
  }
  return table;
}

// Converts a column to its declared type; a value that does not fit names its row.
// Where row i of a file is, for messages: a line of a CSV (after the header) or NDJSON
// file, a row otherwise.
std::string Place(const std::string& format, int64_t i) {
  if (format == "csv") return "line " + std::to_string(i + 2);
  if (format == "ndjson") return "line " + std::to_string(i + 1);
  return "row " + std::to_string(i + 1);
}

arrow::Result<std::shared_ptr<arrow::ChunkedArray>> ConvertColumn(
    const std::shared_ptr<arrow::ChunkedArray>& column,
    const std::shared_ptr<arrow::DataType>& type, const std::string& file,
    const std::string& format, const std::string& name) {
  if (column->type()->Equals(*type)) return column;
  ARROW_ASSIGN_OR_RAISE(auto array, arrow::Concatenate(column->chunks()));
  bool is_text = array->type_id() == arrow::Type::STRING ||
                 array->type_id() == arrow::Type::LARGE_STRING;
  if (type->id() == arrow::Type::TIMESTAMP && is_text) {
    ARROW_ASSIGN_OR_RAISE(array, arrow::compute::Cast(*array, arrow::utf8()));
    const auto& strings = static_cast<const arrow::StringArray&>(*array);
    arrow::TimestampBuilder b(type, arrow::default_memory_pool());
    ARROW_RETURN_NOT_OK(b.Reserve(strings.length()));
    for (int64_t i = 0; i < strings.length(); ++i) {
      if (strings.IsNull(i)) {
        b.UnsafeAppendNull();
        continue;
      }
      auto us = ParseTimestampMicros(strings.GetView(i));
      if (!us.ok()) {
        return arrow::Status::Invalid(file, ": ", Place(format, i), ", column '", name,
                                      "': ", us.status().message());
      }
      b.UnsafeAppend(*us);
    }
    ARROW_ASSIGN_OR_RAISE(auto out, b.Finish());
    return std::make_shared<arrow::ChunkedArray>(out);
  }
  auto cast = arrow::compute::Cast(*array, type);
  if (cast.ok()) return std::make_shared<arrow::ChunkedArray>(*cast);
  // Find the first value that does not convert, to name it.
  for (int64_t i = 0; i < array->length(); ++i) {
    auto slice = array->Slice(i, 1);
    if (!arrow::compute::Cast(*slice, type).ok()) {
      auto scalar = array->GetScalar(i);
      return arrow::Status::Invalid(file, ": ", Place(format, i), ", column '", name,
                                    "': value ",
                                    scalar.ok() ? (*scalar)->ToString() : "?",
                                    " is not a valid ", type->ToString());
    }
  }
  return cast.status().WithMessage(file, ", column '", name,
                                   "': ", cast.status().message());
}

arrow::Result<std::shared_ptr<arrow::Table>> ReadOne(const SourceFile& f,
                                                     const FileReadOptions& options,
                                                     int index) {
  const DeclaredSchema& declared = options.declared;
  std::string fmt = options.format.empty() ? FormatFromExtension(f.path) : options.format;
  if (fmt.empty()) {
    return arrow::Status::Invalid(
        "source file ", f.path,
        ": cannot tell its format from the name (set source.format)");
  }
  std::shared_ptr<arrow::Table> table;
  if (fmt == "csv" || fmt == "json" || fmt == "ndjson") {
    auto read = ReadTextFile(f.path, fmt, declared);
    if (!read.ok()) {
      const std::string& m = read.status().message();
      return read.status().WithMessage(
          m.find(f.path) == std::string::npos ? f.path + ": " + m : m);
    }
    table = *read;
  } else if (fmt == "debezium") {
    ARROW_ASSIGN_OR_RAISE(
        auto reader,
        OpenDebeziumFile(f.path, DebeziumOptions{options.decimals, declared}));
    ARROW_ASSIGN_OR_RAISE(table, arrow::Table::FromRecordBatchReader(reader.get()));
  } else {
    ARROW_ASSIGN_OR_RAISE(table, ReadInputFiles({f.path}, fmt));
  }
  for (const auto& [name, type] : declared) {
    int idx = table->schema()->GetFieldIndex(name);
    if (idx < 0) {
      ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(type, table->num_rows()));
      ARROW_ASSIGN_OR_RAISE(
          table, table->AddColumn(table->num_columns(), arrow::field(name, type),
                                  std::make_shared<arrow::ChunkedArray>(nulls)));
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(auto converted,
                          ConvertColumn(table->column(idx), type, f.path, fmt, name));
    ARROW_ASSIGN_OR_RAISE(table,
                          table->SetColumn(idx, arrow::field(name, type), converted));
  }
  arrow::Int32Builder b;
  ARROW_RETURN_NOT_OK(b.AppendValues(std::vector<int32_t>(table->num_rows(), index)));
  ARROW_ASSIGN_OR_RAISE(auto idx_array, b.Finish());
  return table->AddColumn(table->num_columns(), arrow::field(kPartColumn, arrow::int32()),
                          std::make_shared<arrow::ChunkedArray>(idx_array));
}

}  // namespace

arrow::Result<std::vector<SourceFile>> DiscoverFiles(const std::string& pattern) {
  std::vector<SourceFile> out;
  if (pattern.find_first_of("*?[") != std::string::npos) {
    glob_t g;
    int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
    if (rc == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) {
        std::string p = g.gl_pathv[i];
        if (std::filesystem::is_regular_file(p) &&
            !Hidden(std::filesystem::path(p).filename().string())) {
          ARROW_ASSIGN_OR_RAISE(auto f, Stat(p));
          out.push_back(f);
        }
      }
    }
    ::globfree(&g);
    if (rc != 0 && rc != GLOB_NOMATCH)
      return arrow::Status::IOError("cannot expand source path ", pattern);
    std::string dir = std::filesystem::path(pattern).parent_path().string();
    if (!dir.empty() && dir.find_first_of("*?[") == std::string::npos &&
        !std::filesystem::is_directory(dir)) {
      return arrow::Status::IOError("source directory ", dir, " does not exist");
    }
  } else if (std::filesystem::is_directory(pattern)) {
    for (const auto& e : std::filesystem::directory_iterator(pattern)) {
      if (e.is_regular_file() && !Hidden(e.path().filename().string())) {
        ARROW_ASSIGN_OR_RAISE(auto f, Stat(e.path().string()));
        out.push_back(f);
      }
    }
  } else {
    ARROW_ASSIGN_OR_RAISE(auto f, Stat(pattern));
    out.push_back(f);
  }
  std::sort(out.begin(), out.end(),
            [](const SourceFile& a, const SourceFile& b) { return a.path < b.path; });
  return out;
}

std::string Fingerprint(const std::vector<SourceFile>& files) {
  // FNV-1a over "path\0size\0mtime\0" of every file.
  uint64_t h = 1469598103934665603ULL;
  auto mix = [&h](const std::string& s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    h ^= 0;
    h *= 1099511628211ULL;
  };
  for (const auto& f : files) {
    mix(f.path);
    mix(std::to_string(f.size));
    mix(std::to_string(f.mtime_ns));
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%016llx-%zu", static_cast<unsigned long long>(h),
                files.size());
  return buf;
}

arrow::Result<std::shared_ptr<arrow::Table>> ReadSourceFiles(
    const std::vector<SourceFile>& files, const FileReadOptions& options,
    const std::function<void(size_t, int64_t)>& on_file) {
  std::vector<std::shared_ptr<arrow::Table>> tables;
  int64_t rows = 0;
  for (size_t i = 0; i < files.size(); ++i) {
    ARROW_ASSIGN_OR_RAISE(auto t, ReadOne(files[i], options, static_cast<int>(i)));
    rows += t->num_rows();
    tables.push_back(std::move(t));
    if (on_file) on_file(i + 1, rows);
  }
  if (tables.empty()) return arrow::Status::Invalid("no source files to read");
  auto concat = arrow::ConcatenateTablesOptions::Defaults();
  concat.unify_schemas = true;
  concat.field_merge_options = arrow::Field::MergeOptions::Permissive();
  auto merged = arrow::ConcatenateTables(tables, concat);
  if (!merged.ok()) {
    return merged.status().WithMessage(
        "source files have incompatible columns: ", merged.status().message(),
        " (declare the column's type in source.schema)");
  }
  return merged;
}

namespace {

// A position's file marks: path -> [size, mtime_ns, max cursor (or null), has null].
struct FileMark {
  int64_t size = -1;
  int64_t mtime_ns = -1;
  PartMark part;
};

std::map<std::string, FileMark> MarksOf(const Json& position) {
  std::map<std::string, FileMark> out;
  auto it = position.find("file_marks");
  if (it == position.end() || !it->is_object()) return out;
  for (auto m = it->begin(); m != it->end(); ++m) {
    const Json& v = m.value();
    if (!v.is_array() || v.size() != 4) continue;
    FileMark mark;
    if (v[0].is_number_integer()) mark.size = v[0].get<int64_t>();
    if (v[1].is_number_integer()) mark.mtime_ns = v[1].get<int64_t>();
    if (v[2].is_number_integer()) mark.part.max_cursor = v[2].get<int64_t>();
    mark.part.has_null = v[3].is_boolean() && v[3].get<bool>();
    out[m.key()] = mark;
  }
  return out;
}

Json MarkJson(int64_t size, int64_t mtime_ns, const PartMark& m) {
  return Json::array(
      {size, mtime_ns, m.max_cursor ? Json(*m.max_cursor) : Json(nullptr), m.has_null});
}

// The position as FileSource writes it: loaded_files and source_fingerprint always
// present.
Json Normalized(const Json& position) {
  Json out = position.is_object() ? position : Json::object();
  if (!out.contains("loaded_files") || !out["loaded_files"].is_array())
    out["loaded_files"] = Json::array();
  if (!out.contains("source_fingerprint") || !out["source_fingerprint"].is_string())
    out["source_fingerprint"] = "";
  return out;
}

}  // namespace

arrow::Result<SourceRead> FileSource::Read(const Json& position,
                                           const ReadRequest& request) const {
  ARROW_ASSIGN_OR_RAISE(auto files, DiscoverFiles(config_.path));
  SourceRead out;
  out.position = Normalized(position);
  std::vector<SourceFile> to_read;
  switch (request.scope) {
    case SourceScope::kNew: {
      std::set<std::string> loaded;
      for (const auto& f : out.position["loaded_files"]) {
        if (f.is_string()) loaded.insert(f.get<std::string>());
      }
      for (const auto& f : files) {
        if (!loaded.count(f.path)) to_read.push_back(f);
      }
      for (const auto& f : to_read) loaded.insert(f.path);
      out.position["loaded_files"] =
          Json(std::vector<std::string>(loaded.begin(), loaded.end()));
      break;
    }
    case SourceScope::kAll: {
      // Files an earlier run saw unchanged, all of whose cursors are below what can still
      // be loaded, are skipped: a run's cost follows the new data, not the source.
      auto marks = MarksOf(out.position);
      Json kept = Json::object();
      for (const auto& f : files) {
        auto mark = marks.find(f.path);
        if (request.skippable && mark != marks.end() && mark->second.size == f.size &&
            mark->second.mtime_ns == f.mtime_ns && request.skippable(mark->second.part)) {
          kept[f.path] = MarkJson(f.size, f.mtime_ns, mark->second.part);
          continue;
        }
        to_read.push_back(f);
      }
      out.position.erase("file_marks");
      if (!kept.empty()) out.position["file_marks"] = kept;
      break;
    }
    case SourceScope::kWholeExtract: {
      if (files.empty()) {
        return arrow::Status::Invalid("source ", config_.path,
                                      " matches no files; the table would be emptied");
      }
      std::string fingerprint = Fingerprint(files);
      if (fingerprint == out.position["source_fingerprint"].get<std::string>())
        return out;  // unchanged
      out.position["source_fingerprint"] = fingerprint;
      to_read = files;
      break;
    }
  }
  if (to_read.empty()) return out;
  const DecodingConfig& d = config_.decoding;
  ARROW_ASSIGN_OR_RAISE(out.rows,
                        ReadSourceFiles(to_read, {d.format, d.schema, d.decimals},
                                        [&](size_t done, int64_t rows) {
                                          if (request.on_part) {
                                            request.on_part(done, to_read.size(), rows);
                                          }
                                        }));
  for (const auto& f : to_read) {
    out.parts.push_back(f.path);
    out.part_state.push_back(Json::array({f.size, f.mtime_ns}));
  }
  return out;
}

void FileSource::Mark(size_t part, const PartMark& mark, SourceRead* read) const {
  if (part >= read->parts.size() || part >= read->part_state.size()) return;
  const Json& file = read->part_state[part];
  Json& marks = read->position["file_marks"];
  if (!marks.is_object()) marks = Json::object();
  marks[read->parts[part]] =
      MarkJson(file[0].get<int64_t>(), file[1].get<int64_t>(), mark);
}

bool FileSource::Advanced(const Json& before, const Json& after) const {
  Json b = Normalized(before), a = Normalized(after);
  return b["loaded_files"] != a["loaded_files"] ||
         b["source_fingerprint"] != a["source_fingerprint"];
}

}  // namespace inlet
