// The file-source targets (csv, json): a file read as a pipeline reads it, with the
// column types a pipeline may declare. Input: "<types>\n%%\n<file>" (types as in
// source.schema or --schema: "id:long, at:timestamp"), or just the file.
#pragma once
#include <string>

#include "fuzz/fuzz_util.h"
#include "inlet/io.h"
#include "inlet/source/file_source.h"

namespace inlet::fuzz {

inline void ReadAsSource(std::string_view input, const std::string& format,
                         const std::string& extension) {
  auto parts = Parts(input);
  FileReadOptions options;
  options.format = format;
  if (parts.size() >= 2) {
    auto declared = ParseColumnTypes(std::string(parts[0]));
    if (!declared.ok()) return;
    options.declared = *declared;
  }
  if (parts.size() >= 3) {
    // A third part: the CSV dialect, its first bytes delimiter, quote and escape.
    std::string_view dialect = parts[2];
    if (dialect.size() > 0) options.csv.delimiter = dialect[0];
    if (dialect.size() > 1) options.csv.quote = dialect[1];
    if (dialect.size() > 2) options.csv.escape = dialect[2];
    options.csv.header = dialect.size() <= 3;
  }
  std::string path = ScratchDir() + "/input." + extension;
  WriteFile(path, parts.size() >= 2 ? parts[1] : parts[0]);
  SourceFile file{
      path, static_cast<int64_t>((parts.size() >= 2 ? parts[1] : parts[0]).size()), 0};
  auto table = ReadSourceFiles({file}, options);
  if (table.ok()) Require((*table)->ValidateFull().ok(), "the rows read are valid Arrow");
}

}  // namespace inlet::fuzz
