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
#include "inlet/source/source_files.h"

namespace inlet {

/// A digest of names (relative to root, when given), sizes and modification times: equal
/// when nothing changed.
std::string Fingerprint(const std::vector<SourceFile>& files,
                        const std::string& root = "");

/// What a run reads of a file: all of it, or (a text file that grew since it was loaded)
/// the bytes after offset, which hold lines_before lines. Only the first file.size bytes
/// are read, whatever a writer appends meanwhile.
struct FilePiece {
  SourceFile file;
  int64_t offset = 0;
  int64_t lines_before = 0;
};

struct FileReadOptions {
  /// csv, json, ndjson, parquet or debezium; empty for each file's extension.
  std::string format;
  DeclaredSchema declared;
  /// For debezium: how the connector sent decimals the events' schema does not type.
  DecimalHandling decimals = DecimalHandling::kPrecise;
  CsvOptions csv;
  /// Given flags (kGivenPrefix) for the columns some file lacks: false in its rows.
  bool mark_given = false;
  /// Where the files are (null: the local file system).
  std::shared_ptr<const SourceStore> store;
};

/// Reads files into one table with a trailing int32 column kPartColumn (each row's file,
/// by its index in `files`). Declared columns get their types (a value that does not fit
/// is Invalid naming the file, row and column); the other columns are inferred per file
/// and unified (numbers widen; a column missing from a file is null there). on_file, when
/// set, is called after each file with (files read, rows read so far).
arrow::Result<std::shared_ptr<arrow::Table>> ReadSourceFiles(
    const std::vector<SourceFile>& files, const FileReadOptions& options,
    const std::function<void(size_t, int64_t)>& on_file = nullptr);

/// ReadSourceFiles for pieces of files: a grown CSV file's appended lines are read under
/// its header, and messages give lines in the whole file.
/// skip, when set, is asked about a piece that cannot be read (its index and the error):
/// true leaves it out (null rows when every piece is left out), false fails the read.
/// kept receives the indexes of the pieces read, in order (kPartColumn numbers them).
arrow::Result<std::shared_ptr<arrow::Table>> ReadSourcePieces(
    const std::vector<FilePiece>& pieces, const FileReadOptions& options,
    const std::function<void(size_t, int64_t)>& on_file = nullptr,
    const std::function<bool(size_t, const arrow::Status&)>& skip = nullptr,
    std::vector<size_t>* kept = nullptr);

/// Files as a bounded source. Its position (a JSON object in the pipeline state) names
/// files relative to the source root ("source_root", see SourceRoot), so that a moved or
/// remounted source is recognized:
/// - "files": name -> [size, mtime_ns, SHA-256 of those size bytes], the files kNew has
///   loaded. A loaded file that grew, whose first bytes are those loaded, has its
///   appended part read; one that changed otherwise is config.changed_files' case;
/// - "source_fingerprint": the fingerprint of the last extract (kWholeExtract reads
///   nothing while it is unchanged);
/// - "file_marks": name -> [size, mtime_ns, max cursor, has null] (kAll skips an
///   unchanged file whose mark the request finds skippable).
/// Positions of earlier versions ("loaded_files": absolute paths) are read, and
/// rewritten.
class FileSource : public BoundedSource {
 public:
  explicit FileSource(FileSourceConfig config) : config_(std::move(config)) {}

  arrow::Result<SourceRead> Read(const Json& position,
                                 const ReadRequest& request) const override;
  /// A whole extract of Parquet files streams (OpenParquetExtract); other reads and
  /// formats do not.
  arrow::Result<SourceStream> Stream(const Json& position,
                                     const ReadRequest& request) const override;
  void Mark(size_t part, const PartMark& mark, SourceRead* read) const override;
  bool Advanced(const Json& before, const Json& after) const override;
  std::string Describe() const override { return config_.path; }

 private:
  arrow::Result<std::string> Quarantine(const SourceStore& store, const std::string& path,
                                        const std::string& name) const;
  arrow::Status SelectNew(const SourceStore& store, const std::vector<SourceFile>& files,
                          const std::string& root, SourceRead* out,
                          std::vector<FilePiece>* pieces) const;

  FileSourceConfig config_;
};

}  // namespace inlet
