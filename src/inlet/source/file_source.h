// Files as a pipeline source: discovery (a file, a directory or a glob), a fingerprint of
// what was found, reading them as one Arrow table with declared types, and FileSource,
// the BoundedSource that resumes from a position of loaded files, extract fingerprint and
// marks.
#pragma once

#include <arrow/result.h>
#include <arrow/table.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "inlet/source/debezium.h"
#include "inlet/source/source.h"

namespace inlet {

struct SourceFile {
  std::string path;
  int64_t size = 0;
  int64_t mtime_ns = 0;
};

/// The files `pattern` names, sorted by path: the file itself, the visible files of a
/// directory (names starting with '.' or '_' are skipped), or the matches of a glob. A
/// missing file or directory is IOError naming it; a glob matching nothing is empty.
arrow::Result<std::vector<SourceFile>> DiscoverFiles(const std::string& pattern);

/// A digest of paths, sizes and modification times: equal when nothing changed.
std::string Fingerprint(const std::vector<SourceFile>& files);

struct FileReadOptions {
  /// csv, json, ndjson, parquet or debezium; empty for each file's extension.
  std::string format;
  DeclaredSchema declared;
  /// For debezium: how the connector sent decimals the events' schema does not type.
  DecimalHandling decimals = DecimalHandling::kPrecise;
};

/// Reads files into one table with a trailing int32 column kPartColumn (each row's file,
/// by its index in `files`). Declared columns get their types (a value that does not fit
/// is Invalid naming the file, row and column); the other columns are inferred per file
/// and unified (numbers widen; a column missing from a file is null there). on_file, when
/// set, is called after each file with (files read, rows read so far).
arrow::Result<std::shared_ptr<arrow::Table>> ReadSourceFiles(
    const std::vector<SourceFile>& files, const FileReadOptions& options,
    const std::function<void(size_t, int64_t)>& on_file = nullptr);

/// Files as a bounded source. Its position (a JSON object in the pipeline state):
/// - "loaded_files": the paths read so far (kNew reads the others);
/// - "source_fingerprint": the fingerprint of the last extract (kWholeExtract reads
/// nothing
///   while it is unchanged);
/// - "file_marks": path -> [size, mtime_ns, max cursor, has null] (kAll skips an
/// unchanged
///   file whose mark the request finds skippable).
class FileSource : public BoundedSource {
 public:
  explicit FileSource(FileSourceConfig config) : config_(std::move(config)) {}

  arrow::Result<SourceRead> Read(const Json& position,
                                 const ReadRequest& request) const override;
  void Mark(size_t part, const PartMark& mark, SourceRead* read) const override;
  bool Advanced(const Json& before, const Json& after) const override;
  std::string Describe() const override { return config_.path; }

 private:
  FileSourceConfig config_;
};

}  // namespace inlet
