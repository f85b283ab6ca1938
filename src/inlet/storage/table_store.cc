#include "inlet/storage/table_store.h"

#include <arrow/buffer.h>
#include <arrow/filesystem/localfs.h>
#include <arrow/io/interfaces.h>
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "inlet/common/fault.h"
#include "inlet/common/uri.h"
#include "inlet/common/uuid.h"

namespace inlet {

namespace {

arrow::Status WriteAllFd(int fd, const std::string& bytes, const std::string& path) {
  FaultStep();
  size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::write(fd, bytes.data() + off, bytes.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return arrow::Status::IOError("cannot write ", path, ": ", std::strerror(errno));
    }
    off += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    return arrow::Status::IOError("cannot sync ", path, ": ", std::strerror(errno));
  }
  return arrow::Status::OK();
}

// Writes a temporary sibling of `path` with the given bytes; returns its name.
arrow::Result<std::string> WriteTempSibling(const std::string& path,
                                            const std::string& bytes) {
  std::filesystem::path p(path);
  std::string tmp =
      (p.parent_path() / ("." + p.filename().string() + "." + NewUuid() + ".tmp"));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) {
    return arrow::Status::IOError("cannot create ", tmp, ": ", std::strerror(errno));
  }
  arrow::Status st = WriteAllFd(fd, bytes, tmp);
  ::close(fd);
  if (!st.ok()) {
    ::unlink(tmp.c_str());
    return st;
  }
  return tmp;
}

}  // namespace

int64_t MtimeMillis(const arrow::fs::FileInfo& info) {
  if (info.mtime() == arrow::fs::kNoTime) return -1;
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             info.mtime().time_since_epoch())
      .count();
}

arrow::Result<std::shared_ptr<TableStore>> TableStore::Make(
    const std::string& uri, const std::map<std::string, std::string>& options) {
  std::string location = uri;
  while (location.size() > 1 && location.back() == '/') location.pop_back();
  std::string path;
  if (location.rfind("file://", 0) == 0) {
    ARROW_ASSIGN_OR_RAISE(auto fs, arrow::fs::FileSystemFromUri(location, &path));
    (void)fs;
  } else if (location.rfind("s3://", 0) == 0 || location.rfind("s3a://", 0) == 0) {
    std::string s3_uri =
        location.rfind("s3a://", 0) == 0 ? "s3://" + location.substr(6) : location;
    ARROW_ASSIGN_OR_RAISE(auto where, S3Location::Parse(s3_uri));
    auto config = std::make_shared<S3Config>(S3Config::FromEnvironment());
    ARROW_RETURN_NOT_OK(config->Apply(options));
    auto settings = std::make_shared<const S3Config>(*config);
    // One set of credentials for every request of the table: reads, writes and commits.
    auto resolved = config->ResolveCredentials();
    if (!resolved.ok()) {
      return resolved.WithMessage("cannot reach ", location, ": ", resolved.message());
    }
    ARROW_ASSIGN_OR_RAISE(auto fs, MakeS3FileSystem(*config));
    std::string root =
        where.prefix.empty() ? where.bucket : where.bucket + "/" + where.prefix;
    std::shared_ptr<TableStore> store(
        new TableStore(fs, root, location, /*local=*/false));
    {
      MutexLock lock(&store->mu_);
      store->s3_ = std::move(config);
    }
    store->settings_ = std::move(settings);
    store->bucket_ = where.bucket;
    return store;
  } else if (!options.empty()) {
    return arrow::Status::Invalid("storage options apply to s3:// tables only, not to '",
                                  location, "'");
  } else if (location.find("://") != std::string::npos) {
    return arrow::Status::NotImplemented(
        "unsupported table location '", location,
        "': use a local path, a file:// URI or an s3:// URI");
  } else {
    std::error_code ec;
    path = std::filesystem::absolute(location, ec).lexically_normal().string();
    if (ec)
      return arrow::Status::IOError("invalid path '", location, "': ", ec.message());
    while (path.size() > 1 && path.back() == '/') path.pop_back();
  }
  auto fs = std::make_shared<arrow::fs::LocalFileSystem>();
  return std::shared_ptr<TableStore>(new TableStore(fs, path, location, /*local=*/true));
}

std::string TableStore::Resolve(const std::string& rel) const {
  return JoinPath(root_, rel);
}

arrow::Result<std::vector<arrow::fs::FileInfo>> TableStore::List(
    const std::string& rel_dir, ListDetail detail) const {
  if (local_ && detail == ListDetail::kNames) {
    // readdir reports each entry's type; only a stat would add size and time.
    std::vector<arrow::fs::FileInfo> out;
    std::error_code ec;
    std::filesystem::directory_iterator it(Resolve(rel_dir), ec), end;
    if (ec == std::errc::no_such_file_or_directory) return out;
    for (; !ec && it != end; it.increment(ec)) {
      arrow::fs::FileType type = arrow::fs::FileType::Unknown;
      if (it->is_regular_file(ec)) {
        type = arrow::fs::FileType::File;
      } else if (it->is_directory(ec)) {
        type = arrow::fs::FileType::Directory;
      }
      out.emplace_back(it->path().string(), type);
    }
    if (ec)
      return arrow::Status::IOError("cannot list ", Resolve(rel_dir), ": ", ec.message());
    return out;
  }
  arrow::fs::FileSelector sel;
  sel.base_dir = Resolve(rel_dir);
  sel.allow_not_found = true;
  sel.recursive = false;
  return fs()->GetFileInfo(sel);
}

arrow::Result<std::shared_ptr<arrow::Buffer>> TableStore::ReadFile(
    const std::string& rel) const {
  std::string path = Resolve(rel);
  ARROW_ASSIGN_OR_RAISE(auto file, fs()->OpenInputFile(path));
  ARROW_ASSIGN_OR_RAISE(int64_t size, file->GetSize());
  return file->ReadAt(0, size);
}

std::shared_ptr<arrow::fs::FileSystem> TableStore::fs() const { return Current().fs; }

TableStore::Access TableStore::Current() const {
  MutexLock lock(&mu_);
  if (s3_ && s3_->credentials_expire_s > 0 &&
      std::time(nullptr) > s3_->credentials_expire_s - 300) {
    // The chain again (its cache expires as early), and a file system with its answer.
    // On failure the old ones stay: the request that follows fails naming the storage.
    auto fresh = std::make_shared<S3Config>(*settings_);
    if (fresh->ResolveCredentials().ok()) {
      if (auto fs = MakeS3FileSystem(*fresh); fs.ok()) {
        fs_ = *fs;
        s3_ = std::move(fresh);
      }
    }
  }
  return Access{fs_, s3_};
}

arrow::Result<bool> TableStore::PutIfAbsent(const std::string& rel,
                                            const std::string& bytes) const {
  std::string path = Resolve(rel);
  if (Access access = Current(); access.s3) {
    std::string key = path.substr(bucket_.size() + 1);
    FaultStep();
    ARROW_ASSIGN_OR_RAISE(bool created, S3PutIfAbsent(*access.s3, bucket_, key, bytes));
    if (created) return true;
    // A retried PUT whose first attempt landed finds its own bytes there: that is a
    // success.
    ARROW_ASSIGN_OR_RAISE(auto existing, ReadFile(rel));
    return existing->ToString() == bytes;
  }
  // link(2) fails with EEXIST instead of replacing, which makes it the atomic
  // create-if-absent primitive on POSIX filesystems; the content is complete before the
  // name appears.
  ARROW_ASSIGN_OR_RAISE(std::string tmp, WriteTempSibling(path, bytes));
  FaultStep();
  int rc = ::link(tmp.c_str(), path.c_str());
  int err = errno;
  ::unlink(tmp.c_str());
  if (rc == 0) return true;
  if (err == EEXIST) return false;
  return arrow::Status::IOError("cannot create ", path, ": ", std::strerror(err));
}

arrow::Status TableStore::PutReplace(const std::string& rel,
                                     const std::string& bytes) const {
  std::string path = Resolve(rel);
  if (!local_) {
    // An object PUT replaces atomically.
    FaultStep();
    ARROW_ASSIGN_OR_RAISE(auto out, fs()->OpenOutputStream(path));
    ARROW_RETURN_NOT_OK(out->Write(bytes));
    return out->Close();
  }
  ARROW_ASSIGN_OR_RAISE(std::string tmp, WriteTempSibling(path, bytes));
  FaultStep();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(tmp.c_str());
    return arrow::Status::IOError("cannot replace ", path, ": ", std::strerror(err));
  }
  return arrow::Status::OK();
}

arrow::Status TableStore::CreateRoot() const {
  if (!local_) return arrow::Status::OK();
  return fs()->CreateDir(root_, /*recursive=*/true);
}

arrow::Status TableStore::CreateDir(const std::string& rel) const {
  if (!local_) return arrow::Status::OK();  // object stores have no directories
  return fs()->CreateDir(Resolve(rel), /*recursive=*/true);
}

}  // namespace inlet
