// Source files for pipelines: discovery (a file, a directory or a glob), a fingerprint of
// what was found, and reading them as one Arrow table with declared types.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <arrow/result.h>
#include <arrow/table.h>

#include "inlet/source/debezium.h"

namespace inlet {

struct SourceFile {
  std::string path;
  int64_t size = 0;
  int64_t mtime_ns = 0;
};

/// Declared column types (column -> type), in declaration order.
using DeclaredSchema = std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>>;

/// The files `pattern` names, sorted by path: the file itself, the visible files of a
/// directory (names starting with '.' or '_' are skipped), or the matches of a glob. A
/// missing file or directory is IOError naming it; a glob matching nothing is empty.
arrow::Result<std::vector<SourceFile>> DiscoverFiles(const std::string& pattern);

/// A digest of paths, sizes and modification times: equal when nothing changed.
std::string Fingerprint(const std::vector<SourceFile>& files);

/// The name of the column ReadSourceFiles adds: the index of each row's file in `files`.
inline constexpr char kFileIndexColumn[] = "__inlet_file";

struct FileReadOptions {
  /// csv, json, ndjson, parquet or debezium; empty for each file's extension.
  std::string format;
  DeclaredSchema declared;
  /// For debezium: how the connector sent decimals the events' schema does not type.
  DecimalHandling decimals = DecimalHandling::kPrecise;
};

/// Reads files into one table with a trailing int32 column kFileIndexColumn. Declared
/// columns get their types (a value that does not fit is Invalid naming the file, row and
/// column); the other columns are inferred per file and unified (numbers widen; a column
/// missing from a file is null there).
/// on_file, when set, is called after each file with (files read, rows read so far).
arrow::Result<std::shared_ptr<arrow::Table>> ReadSourceFiles(
    const std::vector<SourceFile>& files, const FileReadOptions& options,
    const std::function<void(size_t, int64_t)>& on_file = nullptr);

}  // namespace inlet
