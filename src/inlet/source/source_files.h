// Where a file source's files are: the local file system (a file, a directory or a glob)
// or S3 (s3://bucket/prefix, a key or a glob over keys), reached with the same settings
// as s3:// tables. Discovery, the root files are named under in positions, and opening a
// file for reading.
#pragma once

#include <arrow/filesystem/filesystem.h>
#include <arrow/io/interfaces.h>
#include <arrow/result.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace inlet {

struct SourceFile {
  std::string path;  // a local path, or s3://bucket/key
  int64_t size = 0;
  int64_t mtime_ns = 0;
};

class SourceStore {
 public:
  /// The store of pattern: S3 for s3://, reached with `storage` (the settings of
  /// S3Config::Apply, over the AWS environment); the local file system otherwise.
  /// Invalid names a bad setting (never a secret's value).
  static arrow::Result<std::shared_ptr<const SourceStore>> For(
      const std::string& pattern, const std::map<std::string, std::string>& storage);
  /// The local file system.
  static std::shared_ptr<const SourceStore> Local();

  /// The files pattern names, sorted by path: the file (object) itself, the visible files
  /// of a directory (prefix; names starting with '.' or '_' are skipped), or the matches
  /// of a glob. A missing file or directory is IOError naming it; a glob matching nothing
  /// is empty.
  arrow::Result<std::vector<SourceFile>> Discover(const std::string& pattern) const;
  /// The directory (prefix) a pattern's files are named under in positions: the
  /// directories before a glob's first wildcard, a directory itself, a file's directory;
  /// absolute (s3://bucket/prefix on S3). Fails when S3 cannot tell whether a key
  /// without a wildcard is an object or a prefix (a name must not change with an outage).
  arrow::Result<std::string> Root(const std::string& pattern) const;
  /// A file for reading; errors name it.
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> Open(
      const std::string& path) const;
  /// Whether the store is the local file system.
  bool local() const { return s3_ == nullptr; }
  /// The store's file system, and a file's path in it (bucket/key on S3).
  std::shared_ptr<arrow::fs::FileSystem> fs() const;
  std::string FsPath(const std::string& path) const;

 private:
  std::shared_ptr<arrow::fs::FileSystem> s3_;  // null: local
};

/// SourceStore::Local()->Discover.
arrow::Result<std::vector<SourceFile>> DiscoverFiles(const std::string& pattern);

/// SourceStore::Local()->Root.
std::string SourceRoot(const std::string& pattern);

/// path's name under root ("2024/a.csv"); path itself when it is not under root.
std::string RelativeName(const std::string& root, const std::string& path);

}  // namespace inlet
