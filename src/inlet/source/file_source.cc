#include "inlet/source/file_source.h"

#include <arrow/array.h>
#include <arrow/array/concatenate.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <arrow/csv/api.h>
#include <arrow/io/file.h>
#include <arrow/io/memory.h>
#include <arrow/json/api.h>
#include <arrow/util/value_parsing.h>
#include <glob.h>
#include <openssl/evp.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "inlet/common/time.h"
#include "inlet/source/file_reader.h"
#include "inlet/source/parquet_extract.h"
#include "inlet/status.h"
#include "inlet/table/parquet_file.h"

namespace inlet {

namespace {

// Reads a text file's rows from `input` (the file's bytes, or a grown file's header and
// appended bytes).
arrow::Result<std::shared_ptr<arrow::Table>> ReadText(
    const SourceStore& store, const std::string& path, int64_t piece_size,
    const std::string& format, const FileReadOptions& options,
    std::shared_ptr<arrow::io::InputStream> input) {
  const DeclaredSchema& declared = options.declared;
  if (format == "csv") {
    CsvSettings csv = CsvSettingsFor(options.csv, path);
    // Declared columns are read as text and converted by ConvertColumn, whose errors name
    // the line and the column (Arrow's CSV conversion errors name neither).
    for (const auto& [name, type] : declared)
      csv.convert.column_types[name] = arrow::utf8();
    ARROW_ASSIGN_OR_RAISE(
        auto reader,
        arrow::csv::TableReader::Make(arrow::io::default_io_context(), std::move(input),
                                      csv.read, csv.parse, csv.convert));
    auto table = reader->Read();
    if (!table.ok() && store.local() && FieldCountError(table.status())) {
      std::string where = LocateCsvRow(path, csv);
      if (!where.empty())
        return arrow::Status::Invalid(path, ": ", where, " (", table.status().message(),
                                      ")");
    }
    return table;
  }
  // JSON arrays and NDJSON: types are inferred, then converted to the declared ones.
  auto table = [&]() -> arrow::Result<std::shared_ptr<arrow::Table>> {
    ARROW_ASSIGN_OR_RAISE(auto text, ReadAll(*input));
    std::set<std::string> names;
    for (const auto& [name, type] : declared) names.insert(name);
    ARROW_ASSIGN_OR_RAISE(auto reader, OpenJsonText(std::move(text), path, names));
    return arrow::Table::FromRecordBatchReader(reader.get());
  }();
  if (!table.ok()) {
    std::string where;
    if (store.local()) {
      where = LocateJsonError(path, format, table.status().message());
    } else {
      // The whole object again (an error path), for lines counted in the file.
      auto file = store.Open(path);
      auto text = file.ok() ? (*file)->ReadAt(0, piece_size) : file.status();
      auto compressed = file.ok() ? IsCompressed(path, **file) : file.status();
      if (text.ok() && compressed.ok() && !*compressed) {
        where =
            LocateJsonErrorInText((*text)->ToString(), format, table.status().message());
      }
    }
    if (!where.empty()) return arrow::Status::Invalid(path, ": ", where);
  }
  return table;
}

// The format a file is read in: the configured one, else its extension's.
std::string FormatOf(const SourceFile& f, const std::string& configured) {
  return configured.empty() ? FormatFromExtension(f.path) : configured;
}

// The bytes [offset, offset + length) of a file.
arrow::Result<std::shared_ptr<arrow::Buffer>> ReadRange(const SourceStore& store,
                                                        const std::string& path,
                                                        int64_t offset, int64_t length) {
  ARROW_ASSIGN_OR_RAISE(auto file, store.Open(path));
  ARROW_ASSIGN_OR_RAISE(auto buffer, file->ReadAt(offset, length));
  if (buffer->size() != length) {
    return arrow::Status::IOError("source file ", path, " shrank while it was read");
  }
  return buffer;
}

// What a run reads of a file: all of it, or (a text file that grew since it was loaded)
// the bytes after those loaded, which hold lines_before lines. Only the first size bytes
// are read, whatever a writer appends meanwhile: the position records that size.
arrow::Result<std::shared_ptr<arrow::io::InputStream>> OpenPiece(const SourceStore& store,
                                                                 const FilePiece& piece,
                                                                 const std::string& fmt,
                                                                 bool header = true) {
  const SourceFile& f = piece.file;
  if (piece.offset == 0) {
    ARROW_ASSIGN_OR_RAISE(auto file, store.Open(f.path));
    ARROW_ASSIGN_OR_RAISE(auto bytes,
                          arrow::io::RandomAccessFile::GetStream(file, 0, f.size));
    return Decompressed(f.path, *file, std::move(bytes));
  }
  ARROW_ASSIGN_OR_RAISE(auto tail,
                        ReadRange(store, f.path, piece.offset, f.size - piece.offset));
  if (fmt != "csv" || !header) {
    return std::static_pointer_cast<arrow::io::InputStream>(
        std::make_shared<arrow::io::BufferReader>(tail));
  }
  // A CSV file's appended lines are read under its header line.
  ARROW_ASSIGN_OR_RAISE(
      auto head, ReadRange(store, f.path, 0, std::min<int64_t>(piece.offset, 1 << 20)));
  std::string_view h(reinterpret_cast<const char*>(head->data()), head->size());
  size_t eol = h.find('\n');
  if (eol == std::string_view::npos) {
    return arrow::Status::Invalid("source file ", f.path,
                                  ": no header line within its first MiB");
  }
  std::string text(h.substr(0, eol + 1));
  text.append(reinterpret_cast<const char*>(tail->data()), tail->size());
  return std::static_pointer_cast<arrow::io::InputStream>(
      std::make_shared<arrow::io::BufferReader>(
          arrow::Buffer::FromString(std::move(text))));
}

constexpr int64_t kParquetBatchRows = 128 * 1024;

// A Parquet file, whole (its columns decoded in parallel).
arrow::Result<std::shared_ptr<arrow::Table>> ReadParquet(const SourceStore& store,
                                                         const std::string& path) {
  std::shared_ptr<arrow::Table> t;
  auto file = OpenParquetFile(store.fs(), store.FsPath(path), kParquetBatchRows);
  arrow::Status st = file.ok() ? (*file)->ReadTable(&t) : file.status();
  if (!st.ok()) return st.WithMessage("input ", path, ": ", st.message());
  return t;
}

// added: the declared columns the file lacks (added as nulls).
arrow::Result<std::shared_ptr<arrow::Table>> ReadOne(const FilePiece& piece,
                                                     const FileReadOptions& options,
                                                     int index,
                                                     std::vector<std::string>* added) {
  const SourceFile& f = piece.file;
  const DeclaredSchema& declared = options.declared;
  const SourceStore& store = options.store ? *options.store : *SourceStore::Local();
  std::string fmt = FormatOf(f, options.format);
  if (fmt.empty()) {
    return arrow::Status::Invalid(
        "source file ", f.path,
        ": cannot tell its format from the name (set source.format)");
  }
  // The line of the first row read (CSV: after the header).
  bool header = fmt == "csv" && options.csv.header;
  int64_t first_line = piece.lines_before + (piece.offset == 0 && header ? 2 : 1);
  std::shared_ptr<arrow::Table> table;
  if (fmt == "csv" || fmt == "json" || fmt == "ndjson") {
    auto read = [&]() -> arrow::Result<std::shared_ptr<arrow::Table>> {
      ARROW_ASSIGN_OR_RAISE(auto input, OpenPiece(store, piece, fmt, options.csv.header));
      return ReadText(store, f.path, f.size, fmt, options, std::move(input));
    }();
    if (!read.ok()) {
      const std::string& m = read.status().message();
      return read.status().WithMessage(
          m.find(f.path) == std::string::npos ? f.path + ": " + m : m);
    }
    table = *read;
  } else if (fmt == "debezium") {
    ARROW_ASSIGN_OR_RAISE(auto input, OpenPiece(store, piece, fmt));
    ARROW_ASSIGN_OR_RAISE(auto text, ReadAll(*input));
    auto reader = OpenDebeziumText(std::move(text), f.path,
                                   DebeziumOptions{options.decimals, declared});
    if (!reader.ok()) {
      return reader.status().WithMessage("input ", f.path, ": ",
                                         reader.status().message());
    }
    ARROW_ASSIGN_OR_RAISE(table, arrow::Table::FromRecordBatchReader(reader->get()));
  } else {
    ARROW_ASSIGN_OR_RAISE(table, ReadParquet(store, f.path));
  }
  for (const auto& [name, type] : declared) {
    int idx = table->schema()->GetFieldIndex(name);
    if (idx < 0) {
      added->push_back(name);
      ARROW_ASSIGN_OR_RAISE(auto nulls, arrow::MakeArrayOfNull(type, table->num_rows()));
      ARROW_ASSIGN_OR_RAISE(
          table, table->AddColumn(table->num_columns(), arrow::field(name, type),
                                  std::make_shared<arrow::ChunkedArray>(nulls)));
      continue;
    }
    ARROW_ASSIGN_OR_RAISE(auto converted, ConvertColumn(table->column(idx), type, f.path,
                                                        fmt, first_line, name));
    ARROW_ASSIGN_OR_RAISE(table,
                          table->SetColumn(idx, arrow::field(name, type), converted));
  }
  arrow::Int32Builder b;
  ARROW_RETURN_NOT_OK(b.AppendValues(std::vector<int32_t>(table->num_rows(), index)));
  ARROW_ASSIGN_OR_RAISE(auto idx_array, b.Finish());
  return table->AddColumn(table->num_columns(), arrow::field(kPartColumn, arrow::int32()),
                          std::make_shared<arrow::ChunkedArray>(idx_array));
}

// Given flags for the columns some of the tables lack (not having them, or lacked: the
// declared columns added to each): true in the tables that have the column.
arrow::Status MarkGiven(std::vector<std::shared_ptr<arrow::Table>>* tables,
                        const std::vector<std::vector<std::string>>& lacked) {
  auto has = [&](size_t t, const std::string& name) {
    const auto& l = lacked[t];
    return (*tables)[t]->schema()->GetFieldIndex(name) >= 0 &&
           std::find(l.begin(), l.end(), name) == l.end();
  };
  std::vector<std::string> names;  // every column, in first-seen order
  for (const auto& t : *tables) {
    for (const auto& f : t->schema()->fields()) {
      if (f->name() != kPartColumn &&
          std::find(names.begin(), names.end(), f->name()) == names.end())
        names.push_back(f->name());
    }
  }
  for (const auto& name : names) {
    bool all = true;
    for (size_t t = 0; t < tables->size(); ++t) all = all && has(t, name);
    if (all) continue;
    for (size_t t = 0; t < tables->size(); ++t) {
      auto& table = (*tables)[t];
      arrow::BooleanBuilder b;
      ARROW_RETURN_NOT_OK(
          b.AppendValues(std::vector<bool>(table->num_rows(), has(t, name))));
      ARROW_ASSIGN_OR_RAISE(auto flags, b.Finish());
      ARROW_ASSIGN_OR_RAISE(
          table, table->AddColumn(table->num_columns(),
                                  arrow::field(kGivenPrefix + name, arrow::boolean()),
                                  std::make_shared<arrow::ChunkedArray>(flags)));
    }
  }
  return arrow::Status::OK();
}

// SHA-256 digests of a file's first bytes, at each of `cuts` (ascending byte counts), and
// the number of lines ('\n') before each.
struct PrefixDigest {
  std::string sha256;  // hex
  int64_t lines = 0;
};

arrow::Result<std::vector<PrefixDigest>> DigestPrefixes(
    const SourceStore& store, const std::string& path, const std::vector<int64_t>& cuts) {
  std::vector<PrefixDigest> out;
  ARROW_ASSIGN_OR_RAISE(auto file, store.Open(path));
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                              &EVP_MD_CTX_free);
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> copy(EVP_MD_CTX_new(),
                                                               &EVP_MD_CTX_free);
  if (!ctx || !copy || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1)
    return arrow::Status::IOError("cannot start a SHA-256 digest");
  constexpr int64_t kChunk = 4 << 20;
  int64_t done = 0, lines = 0;
  for (int64_t cut : cuts) {
    while (done < cut) {
      ARROW_ASSIGN_OR_RAISE(auto chunk, file->ReadAt(done, std::min(kChunk, cut - done)));
      if (chunk->size() == 0) {
        return arrow::Status::IOError("source file ", path, " shrank while it was read");
      }
      EVP_DigestUpdate(ctx.get(), chunk->data(), static_cast<size_t>(chunk->size()));
      lines += std::count(chunk->data(), chunk->data() + chunk->size(), '\n');
      done += chunk->size();
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_MD_CTX_copy_ex(copy.get(), ctx.get());
    EVP_DigestFinal_ex(copy.get(), md, &len);
    static const char* hex = "0123456789abcdef";
    std::string text;
    for (unsigned int i = 0; i < len; ++i) {
      text += hex[md[i] >> 4];
      text += hex[md[i] & 15];
    }
    out.push_back({std::move(text), lines});
  }
  return out;
}

}  // namespace

std::string Fingerprint(const std::vector<SourceFile>& files, const std::string& root) {
  // FNV-1a over "name\0size\0mtime\0" of every file, names relative to root.
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
    mix(root.empty() ? f.path : RelativeName(root, f.path));
    mix(std::to_string(f.size));
    mix(std::to_string(f.mtime_ns));
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%016llx-%zu", static_cast<unsigned long long>(h),
                files.size());
  return buf;
}

arrow::Result<std::shared_ptr<arrow::Table>> ReadSourcePieces(
    const std::vector<FilePiece>& pieces, const FileReadOptions& options,
    const std::function<void(size_t, int64_t)>& on_file,
    const std::function<bool(size_t, const arrow::Status&)>& skip,
    std::vector<size_t>* kept) {
  std::vector<std::shared_ptr<arrow::Table>> tables;
  std::vector<std::vector<std::string>> lacked;  // per table: declared columns it lacks
  int64_t rows = 0;
  for (size_t i = 0; i < pieces.size(); ++i) {
    std::vector<std::string> added;
    auto t = ReadOne(pieces[i], options, static_cast<int>(tables.size()), &added);
    if (!t.ok()) {
      if (!skip || !skip(i, t.status())) return t.status();
      if (on_file) on_file(i + 1, rows);
      continue;
    }
    rows += (*t)->num_rows();
    tables.push_back(std::move(*t));
    lacked.push_back(std::move(added));
    if (kept) kept->push_back(i);
    if (on_file) on_file(i + 1, rows);
  }
  if (tables.empty()) {
    if (skip) return std::shared_ptr<arrow::Table>();  // every piece was skipped
    return arrow::Status::Invalid("no source files to read");
  }
  if (options.mark_given) ARROW_RETURN_NOT_OK(MarkGiven(&tables, lacked));
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

arrow::Result<std::shared_ptr<arrow::Table>> ReadSourceFiles(
    const std::vector<SourceFile>& files, const FileReadOptions& options,
    const std::function<void(size_t, int64_t)>& on_file) {
  std::vector<FilePiece> pieces;
  for (const auto& f : files) pieces.push_back(FilePiece{f});
  return ReadSourcePieces(pieces, options, on_file);
}

namespace {

// A position's file marks: name -> [size, mtime_ns, max cursor (or null), has null].
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

// A loaded file, as the position remembers it: name -> [size, mtime_ns, sha256 of its
// first size bytes]. A size of -1: loaded by an inlet that did not record sizes.
struct LoadedFile {
  int64_t size = -1;
  int64_t mtime_ns = -1;
  std::string sha256;
  // Why source.bad_files skipped it (a fourth member); empty for a file loaded.
  std::string skipped{};
};

Json LoadedJson(const LoadedFile& f) {
  Json out = Json::array({f.size, f.mtime_ns, f.sha256});
  if (!f.skipped.empty()) out.push_back(f.skipped);
  return out;
}

// The loaded files of a position, by name under root. Positions written before files had
// sizes list absolute paths in loaded_files.
std::map<std::string, LoadedFile> LoadedOf(const Json& position,
                                           const std::string& root) {
  std::map<std::string, LoadedFile> out;
  auto files = position.find("files");
  if (files != position.end() && files->is_object()) {
    for (auto it = files->begin(); it != files->end(); ++it) {
      const Json& v = it.value();
      LoadedFile f;
      if (v.is_array() && (v.size() == 3 || v.size() == 4) && v[0].is_number_integer() &&
          v[1].is_number_integer() && v[2].is_string()) {
        f = {v[0].get<int64_t>(), v[1].get<int64_t>(), v[2].get<std::string>(), ""};
        if (v.size() == 4 && v[3].is_string()) f.skipped = v[3].get<std::string>();
      }
      out[it.key()] = f;
    }
  }
  auto legacy = position.find("loaded_files");
  if (legacy != position.end() && legacy->is_array()) {
    for (const auto& p : *legacy) {
      if (p.is_string())
        out.emplace(RelativeName(root, p.get<std::string>()), LoadedFile{});
    }
  }
  return out;
}

// The position as FileSource writes it: source_fingerprint always present, loaded files
// under "files" (kNew's runs).
Json Normalized(const Json& position) {
  Json out = position.is_object() ? position : Json::object();
  if (!out.contains("source_fingerprint") || !out["source_fingerprint"].is_string())
    out["source_fingerprint"] = "";
  return out;
}

// Whether a grown file's appended bytes can be read on their own: CSV (under the header)
// and line-delimited JSON, not Parquet or a JSON array.
bool LineBased(const SourceStore& store, const SourceFile& f, const std::string& fmt) {
  auto file = store.Open(f.path);
  if (!file.ok()) return false;
  auto compressed = IsCompressed(f.path, **file);
  if (!compressed.ok() || *compressed) return false;
  if (fmt == "csv" || fmt == "ndjson") return true;
  if (fmt != "json" && fmt != "debezium") return false;
  auto head = ReadRange(store, f.path, 0, std::min<int64_t>(f.size, 4096));
  if (!head.ok()) return false;
  std::string_view h(reinterpret_cast<const char*>((*head)->data()), (*head)->size());
  size_t first = h.find_first_not_of(" \t\r\n");
  return first != std::string_view::npos && h[first] != '[';
}

}  // namespace

// Copies a bad file under config_.quarantine_dir, by its name under the source root;
// returns where.
arrow::Result<std::string> FileSource::Quarantine(const SourceStore& store,
                                                  const std::string& path,
                                                  const std::string& name) const {
  // The name stays under the quarantine directory whatever the source named the file
  // (an object key may hold "..").
  std::filesystem::path relative = std::filesystem::path(name).lexically_normal();
  if (relative.empty() || relative.is_absolute() || *relative.begin() == "..") {
    std::string flat = name;
    for (auto& c : flat) c = c == '/' ? '_' : c;
    relative = flat;
  }
  std::filesystem::path target = std::filesystem::path(config_.quarantine_dir) / relative;
  std::error_code ec;
  std::filesystem::create_directories(target.parent_path(), ec);
  if (ec)
    return arrow::Status::IOError("cannot copy to ", target.string(), ": ", ec.message());
  // Through the store (a file on S3 too), into a temporary name renamed at the end.
  std::string temporary = target.string() + ".inlet-tmp";
  auto copy = [&]() -> arrow::Status {
    ARROW_ASSIGN_OR_RAISE(auto file, store.Open(path));
    ARROW_ASSIGN_OR_RAISE(int64_t size, file->GetSize());
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    for (int64_t at = 0; out && at < size; at += 8 << 20) {
      ARROW_ASSIGN_OR_RAISE(auto chunk,
                            file->ReadAt(at, std::min<int64_t>(8 << 20, size - at)));
      out.write(reinterpret_cast<const char*>(chunk->data()), chunk->size());
    }
    out.close();
    if (!out) {
      return arrow::Status::IOError("cannot copy to ", target.string(), ": ",
                                    std::strerror(errno));
    }
    return arrow::Status::OK();
  };
  if (auto st = copy(); !st.ok()) {
    std::filesystem::remove(temporary, ec);
    return st;
  }
  std::filesystem::rename(temporary, target, ec);
  if (ec)
    return arrow::Status::IOError("cannot copy to ", target.string(), ": ", ec.message());
  return target.string();
}

// What kNew reads: files not loaded yet, and the appended part of loaded files that grew;
// a loaded file that changed otherwise is handled by config.changed_files.
arrow::Status FileSource::SelectNew(const SourceStore& store,
                                    const std::vector<SourceFile>& files,
                                    const std::string& root, SourceRead* out,
                                    std::vector<FilePiece>* pieces) const {
  Json& position = out->position;
  auto loaded = LoadedOf(position, root);
  auto previous = position.find("source_root");
  if (previous != position.end() && previous->is_string() &&
      previous->get<std::string>() != root && !loaded.empty()) {
    out->warnings.push_back(
        "the source root moved from " + previous->get<std::string>() + " to " + root +
        ": the " + std::to_string(loaded.size()) +
        " files loaded before are recognized by their path under the root, size and "
        "content");
  }
  Json entries = Json::object();
  for (const auto& [name, f] : loaded) entries[name] = LoadedJson(f);  // vanished too
  for (const auto& f : files) {
    std::string name = RelativeName(root, f.path);
    auto it = loaded.find(name);
    if (it == loaded.end()) {  // a new file
      ARROW_ASSIGN_OR_RAISE(auto d, DigestPrefixes(store, f.path, {f.size}));
      entries[name] = LoadedJson({f.size, f.mtime_ns, d[0].sha256});
      pieces->push_back(FilePiece{f});
      continue;
    }
    const LoadedFile& was = it->second;
    if (was.size == f.size && was.mtime_ns == f.mtime_ns) continue;  // unchanged
    if (!was.skipped.empty()) {
      // Skipped as bad: a new version of it is read whole, as a new file.
      ARROW_ASSIGN_OR_RAISE(auto d, DigestPrefixes(store, f.path, {f.size}));
      if (d[0].sha256 == was.sha256) {
        entries[name] = LoadedJson({f.size, f.mtime_ns, was.sha256, was.skipped});
        continue;
      }
      entries[name] = LoadedJson({f.size, f.mtime_ns, d[0].sha256, ""});
      pieces->push_back(FilePiece{f});
      continue;
    }
    if (was.size < 0) {
      // Loaded before sizes were recorded: remember it as it is now.
      ARROW_ASSIGN_OR_RAISE(auto d, DigestPrefixes(store, f.path, {f.size}));
      entries[name] = LoadedJson({f.size, f.mtime_ns, d[0].sha256});
      continue;
    }
    std::string why;
    if (f.size < was.size) {
      why = "it shrank from " + std::to_string(was.size) + " to " +
            std::to_string(f.size) + " bytes";
    } else {
      ARROW_ASSIGN_OR_RAISE(auto d, DigestPrefixes(store, f.path, {was.size, f.size}));
      std::string fmt = FormatOf(f, config_.decoding.format);
      if (d[0].sha256 != was.sha256) {
        why = "its first " + std::to_string(was.size) + " bytes, loaded before, changed";
      } else if (f.size == was.size) {
        entries[name] = LoadedJson({f.size, f.mtime_ns, was.sha256});  // touched only
        continue;
      } else if (was.size == 0) {  // an empty file filled since
        entries[name] = LoadedJson({f.size, f.mtime_ns, d[1].sha256});
        if (config_.changed_files != ChangedFiles::kIgnore)
          pieces->push_back(FilePiece{f});
        continue;
      } else if (!LineBased(store, f, fmt)) {
        why = "it grew from " + std::to_string(was.size) + " to " +
              std::to_string(f.size) + " bytes, and a " + fmt +
              " file's appended bytes cannot be read on their own";
      } else {
        ARROW_ASSIGN_OR_RAISE(auto edge, ReadRange(store, f.path, was.size - 1, 2));
        char last = static_cast<char>(edge->data()[0]);
        char next = static_cast<char>(edge->data()[1]);
        if (last != '\n' && next != '\n' && next != '\r') {
          why = "it grew from " + std::to_string(was.size) +
                " bytes, continuing the last line loaded (was it loaded while being "
                "written?)";
        } else {
          entries[name] = LoadedJson({f.size, f.mtime_ns, d[1].sha256});
          if (config_.changed_files != ChangedFiles::kIgnore)
            pieces->push_back(FilePiece{f, was.size, d[0].lines});
          continue;
        }
      }
    }
    switch (config_.changed_files) {
      case ChangedFiles::kFail:
        return arrow::Status::Invalid(
            "source file ", f.path, " changed since it was loaded: ", why,
            ". Its rows are in the table already; restore the file, or set "
            "source.changed_files to reload (load it again whole) or ignore");
      case ChangedFiles::kReload: {
        ARROW_ASSIGN_OR_RAISE(auto d, DigestPrefixes(store, f.path, {f.size}));
        entries[name] = LoadedJson({f.size, f.mtime_ns, d[0].sha256});
        pieces->push_back(FilePiece{f});
        out->warnings.push_back("source file " + f.path +
                                " changed since it was loaded (" + why +
                                "): loaded again whole (changed_files: reload)");
        break;
      }
      case ChangedFiles::kIgnore: {
        ARROW_ASSIGN_OR_RAISE(auto d, DigestPrefixes(store, f.path, {f.size}));
        entries[name] = LoadedJson({f.size, f.mtime_ns, d[0].sha256});
        out->warnings.push_back("source file " + f.path +
                                " changed since it was loaded (" + why +
                                "): not loaded again (changed_files: ignore)");
        break;
      }
    }
  }
  position.erase("loaded_files");
  position["files"] = std::move(entries);
  position["source_root"] = root;
  return arrow::Status::OK();
}

arrow::Result<SourceRead> FileSource::Read(const Json& position,
                                           const ReadRequest& request) const {
  ARROW_ASSIGN_OR_RAISE(auto store, SourceStore::For(config_.path, config_.storage));
  ARROW_ASSIGN_OR_RAISE(auto files, store->Discover(config_.path));
  ARROW_ASSIGN_OR_RAISE(std::string root, store->Root(config_.path));
  SourceRead out;
  out.position = Normalized(position);
  if (files.empty()) {
    if (config_.require_files) {
      return arrow::Status::Invalid("source ", config_.path,
                                    " matches no files (source.require_files is set)");
    }
    if (request.scope != SourceScope::kWholeExtract)
      out.warnings.push_back("source " + config_.path + " matches no files");
  }
  std::vector<FilePiece> pieces;
  switch (request.scope) {
    case SourceScope::kNew:
      ARROW_RETURN_NOT_OK(SelectNew(*store, files, root, &out, &pieces));
      break;
    case SourceScope::kAll: {
      // Files an earlier run saw unchanged, all of whose cursors are below what can still
      // be loaded, are skipped: a run's cost follows the new data, not the source.
      auto marks = MarksOf(out.position);
      Json kept = Json::object();
      for (const auto& f : files) {
        std::string name = RelativeName(root, f.path);
        auto mark = marks.find(name);
        if (request.skippable && mark != marks.end() && mark->second.size == f.size &&
            mark->second.mtime_ns == f.mtime_ns && request.skippable(mark->second.part)) {
          kept[name] = MarkJson(f.size, f.mtime_ns, mark->second.part);
          continue;
        }
        pieces.push_back(FilePiece{f});
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
      std::string fingerprint = Fingerprint(files, root);
      if (fingerprint == out.position["source_fingerprint"].get<std::string>())
        return out;  // unchanged
      out.position["source_fingerprint"] = fingerprint;
      for (const auto& f : files) pieces.push_back(FilePiece{f});
      break;
    }
  }
  if (pieces.empty()) return out;
  const DecodingConfig& d = config_.decoding;
  // A file that cannot be read is skipped (or quarantined) when the policy says so, but
  // never from a whole extract: its rows would be deleted.
  std::function<bool(size_t, const arrow::Status&)> skip;
  if (config_.bad_files != BadFiles::kFail &&
      request.scope != SourceScope::kWholeExtract) {
    skip = [&](size_t i, const arrow::Status& st) {
      const SourceFile& f = pieces[i].file;
      std::string name = RelativeName(root, f.path);
      SkippedPart skipped{f.path, st.message(), ""};
      if (config_.bad_files == BadFiles::kQuarantine) {
        auto copied = Quarantine(*store, f.path, name);
        if (!copied.ok()) {
          skipped.reason +=
              " (and it could not be quarantined: " + copied.status().message() + ")";
        } else {
          skipped.quarantined = *copied;
        }
      }
      out.skipped.push_back(skipped);
      if (request.scope == SourceScope::kNew) {
        Json& entry = out.position["files"][name];
        if (entry.is_array() && entry.size() >= 3) {
          if (entry.size() == 3) entry.push_back("");
          entry[3] = st.message();
        }
      }
      return true;
    };
  }
  std::vector<size_t> kept;
  ARROW_ASSIGN_OR_RAISE(
      out.rows,
      ReadSourcePieces(
          pieces, {d.format, d.schema, d.decimals, d.csv, request.mark_given, store},
          [&](size_t done, int64_t rows) {
            if (request.on_part) {
              request.on_part(done, pieces.size(), rows);
            }
          },
          skip, &kept));
  for (size_t i : kept) {
    const FilePiece& p = pieces[i];
    out.parts.push_back(p.file.path);
    out.part_state.push_back(
        Json::array({p.file.size, p.file.mtime_ns, RelativeName(root, p.file.path)}));
  }
  return out;
}

arrow::Result<SourceStream> FileSource::Stream(const Json& position,
                                               const ReadRequest& request) const {
  SourceStream out;
  if (request.scope != SourceScope::kWholeExtract) return out;
  ARROW_ASSIGN_OR_RAISE(auto store, SourceStore::For(config_.path, config_.storage));
  ARROW_ASSIGN_OR_RAISE(auto files, store->Discover(config_.path));
  ARROW_ASSIGN_OR_RAISE(std::string root, store->Root(config_.path));
  for (const auto& f : files) {
    if (FormatOf(f, config_.decoding.format) != "parquet") return out;
  }
  if (files.empty() && config_.require_files) {
    return arrow::Status::Invalid("source ", config_.path,
                                  " matches no files (source.require_files is set)");
  }
  if (files.empty()) {
    return arrow::Status::Invalid("source ", config_.path,
                                  " matches no files; the table would be emptied");
  }
  out.position = Normalized(position);
  std::string fingerprint = Fingerprint(files, root);
  if (fingerprint == out.position["source_fingerprint"].get<std::string>()) {
    out.unchanged = true;
    return out;
  }
  out.position["source_fingerprint"] = fingerprint;
  out.parts = static_cast<int64_t>(files.size());
  for (const auto& f : files) out.part_names.push_back(f.path);
  ARROW_ASSIGN_OR_RAISE(out.batches,
                        OpenParquetExtract(files, config_.decoding.schema, store));
  return out;
}

void FileSource::Mark(size_t part, const PartMark& mark, SourceRead* read) const {
  if (part >= read->parts.size() || part >= read->part_state.size()) return;
  const Json& file = read->part_state[part];
  Json& marks = read->position["file_marks"];
  if (!marks.is_object()) marks = Json::object();
  marks[file[2].get<std::string>()] =
      MarkJson(file[0].get<int64_t>(), file[1].get<int64_t>(), mark);
}

bool FileSource::Advanced(const Json& before, const Json& after) const {
  Json b = Normalized(before), a = Normalized(after);
  auto member = [](const Json& j, const char* key) {
    auto it = j.find(key);
    return it == j.end() ? Json() : *it;
  };
  for (const char* key : {"files", "loaded_files", "source_root", "source_fingerprint"}) {
    if (member(b, key) != member(a, key)) return true;
  }
  return false;
}

}  // namespace inlet
