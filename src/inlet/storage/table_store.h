// The table's storage: an Arrow FileSystem rooted at the table location, plus the one
// primitive a commit protocol needs, put-if-absent.
#pragma once

#include <arrow/filesystem/filesystem.h>
#include <arrow/result.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "inlet/common/mutex.h"
#include "inlet/storage/s3.h"

namespace inlet {

/// A listed file's modification time in milliseconds since the epoch, or -1 when the
/// listing did not include it (ListDetail::kNames).
int64_t MtimeMillis(const arrow::fs::FileInfo& info);

/// What a listing must include. kNames leaves size and modification time unset where they
/// cost a stat per file (local disk); object store listings include them anyway.
enum class ListDetail { kFull, kNames };

class TableStore {
 public:
  /// Resolves uri (local path, file:// URI, or s3://bucket/prefix reached as
  /// S3Config::FromEnvironment says, overridden by options) to a filesystem and a root
  /// path. A relative local path is made absolute. Options are refused for local paths.
  static arrow::Result<std::shared_ptr<TableStore>> Make(
      const std::string& uri, const std::map<std::string, std::string>& options = {});

  /// The file system. On object storage reached with temporary credentials, it is made
  /// again with fresh ones when they are five minutes from expiring (a long stream
  /// outlives an assumed role's session).
  std::shared_ptr<arrow::fs::FileSystem> fs() const;
  /// The table root as a path inside fs().
  const std::string& root() const { return root_; }
  /// What users passed, for messages.
  const std::string& location() const { return location_; }
  /// Whether the table is on local disk (reads are cheap, listings cost a stat per
  /// detail).
  bool local() const { return local_; }

  /// Absolute path in fs() of a path relative to the table root.
  std::string Resolve(const std::string& rel) const;

  /// Lists a directory under the root (non-recursive). A missing directory yields an
  /// empty list.
  arrow::Result<std::vector<arrow::fs::FileInfo>> List(
      const std::string& rel_dir, ListDetail detail = ListDetail::kFull) const;

  arrow::Result<std::shared_ptr<arrow::Buffer>> ReadFile(const std::string& rel) const;

  /// Writes bytes to rel only if nothing exists there, atomically: readers never see a
  /// partial file and two racing writers cannot both succeed. Returns false (and writes
  /// nothing) when rel already exists.
  arrow::Result<bool> PutIfAbsent(const std::string& rel, const std::string& bytes) const;

  /// Writes bytes to rel, replacing any existing file atomically.
  arrow::Status PutReplace(const std::string& rel, const std::string& bytes) const;

  /// Creates the table's own directory (local tables; object stores have none).
  arrow::Status CreateRoot() const;
  arrow::Status CreateDir(const std::string& rel) const;

 private:
  TableStore(std::shared_ptr<arrow::fs::FileSystem> fs, std::string root,
             std::string location, bool local)
      : fs_(std::move(fs)),
        root_(std::move(root)),
        location_(std::move(location)),
        local_(local) {}

  // The file system and (object storage) the settings with the credentials it uses,
  // renewed together.
  struct Access {
    std::shared_ptr<arrow::fs::FileSystem> fs;
    std::shared_ptr<const S3Config> s3;
  };
  Access Current() const;

  mutable Mutex mu_;
  mutable std::shared_ptr<arrow::fs::FileSystem> fs_ GUARDED_BY(mu_);
  std::string root_;
  std::string location_;
  bool local_;
  // Object storage: put-if-absent is a conditional PUT.
  mutable std::shared_ptr<const S3Config> s3_ GUARDED_BY(mu_);
  std::shared_ptr<const S3Config> settings_;  // before credentials were resolved
  std::string bucket_;
};

}  // namespace inlet
