#include "inlet/source/source_files.h"

#include <arrow/filesystem/localfs.h>
#include <arrow/io/file.h>
#include <fnmatch.h>
#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <filesystem>

#include "inlet/storage/s3.h"

namespace inlet {

namespace {

constexpr const char kS3[] = "s3://";

bool IsS3(const std::string& path) { return path.rfind(kS3, 0) == 0; }

bool HasGlob(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

bool Hidden(const std::string& name) {
  return name.empty() || name[0] == '.' || name[0] == '_';
}

std::string BaseName(const std::string& path) {
  auto slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

arrow::Result<SourceFile> Stat(const std::string& path) {
  struct stat st;
  if (::stat(path.c_str(), &st) != 0)
    return arrow::Status::IOError("source file ", path, " does not exist");
  return SourceFile{
      path, static_cast<int64_t>(st.st_size),
      static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec};
}

arrow::Result<std::vector<SourceFile>> DiscoverLocal(const std::string& pattern) {
  std::vector<SourceFile> out;
  if (HasGlob(pattern)) {
    glob_t g;
    int rc = ::glob(pattern.c_str(), 0, nullptr, &g);
    if (rc == 0) {
      for (size_t i = 0; i < g.gl_pathc; ++i) {
        std::string p = g.gl_pathv[i];
        if (std::filesystem::is_regular_file(p) && !Hidden(BaseName(p))) {
          ARROW_ASSIGN_OR_RAISE(auto f, Stat(p));
          out.push_back(f);
        }
      }
    }
    ::globfree(&g);
    if (rc != 0 && rc != GLOB_NOMATCH)
      return arrow::Status::IOError("cannot expand source path ", pattern);
    std::string dir = std::filesystem::path(pattern).parent_path().string();
    if (!dir.empty() && !HasGlob(dir) && !std::filesystem::is_directory(dir)) {
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
  return out;
}

SourceFile FromInfo(const arrow::fs::FileInfo& info) {
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                info.mtime().time_since_epoch())
                .count();
  return SourceFile{kS3 + info.path(), info.size(), static_cast<int64_t>(ns)};
}

// The part of an s3:// pattern before the first component with a wildcard
// (bucket/prefix), and whether a wildcard follows.
std::string FixedPrefix(const std::string& pattern) {
  std::string rest = pattern.substr(sizeof(kS3) - 1);
  std::string out;
  size_t start = 0;
  while (start <= rest.size()) {
    size_t slash = rest.find('/', start);
    std::string part = rest.substr(
        start, slash == std::string::npos ? std::string::npos : slash - start);
    if (HasGlob(part)) break;
    if (!part.empty()) out += (out.empty() ? "" : "/") + part;
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  return out;
}

arrow::Result<std::vector<SourceFile>> DiscoverS3(arrow::fs::FileSystem& fs,
                                                  const std::string& pattern) {
  std::vector<SourceFile> out;
  std::string base = FixedPrefix(pattern);
  if (!HasGlob(pattern)) {
    ARROW_ASSIGN_OR_RAISE(auto info, fs.GetFileInfo(base));
    if (info.type() == arrow::fs::FileType::File) {
      out.push_back(FromInfo(info));
      return out;
    }
    if (info.type() != arrow::fs::FileType::Directory)
      return arrow::Status::IOError("source ", pattern, " does not exist");
  }
  arrow::fs::FileSelector selector;
  selector.base_dir = base;
  selector.allow_not_found = true;
  // A wildcard in a directory component needs the keys below it too.
  std::string tail = pattern.substr(sizeof(kS3) - 1 + base.size());
  selector.recursive = HasGlob(pattern) && tail.find('/', 1) != std::string::npos;
  ARROW_ASSIGN_OR_RAISE(auto infos, fs.GetFileInfo(selector));
  for (const auto& info : infos) {
    if (info.type() != arrow::fs::FileType::File || Hidden(BaseName(info.path())))
      continue;
    std::string full = kS3 + info.path();
    if (HasGlob(pattern) && ::fnmatch(pattern.c_str(), full.c_str(), FNM_PATHNAME) != 0)
      continue;
    out.push_back(FromInfo(info));
  }
  return out;
}

}  // namespace

arrow::Result<std::shared_ptr<const SourceStore>> SourceStore::For(
    const std::string& pattern, const std::map<std::string, std::string>& storage) {
  if (!IsS3(pattern)) return Local();
  ARROW_ASSIGN_OR_RAISE(
      auto location,
      S3Location::Parse(FixedPrefix(pattern).empty() ? pattern
                                                     : kS3 + FixedPrefix(pattern)));
  (void)location;  // checks that a bucket is named
  S3Config config = S3Config::FromEnvironment();
  ARROW_RETURN_NOT_OK(config.Apply(storage));
  auto resolved = config.ResolveCredentials();
  if (!resolved.ok())
    return resolved.WithMessage("cannot reach ", pattern, ": ", resolved.message());
  auto store = std::make_shared<SourceStore>();
  ARROW_ASSIGN_OR_RAISE(store->s3_, MakeS3FileSystem(config));
  return std::const_pointer_cast<const SourceStore>(store);
}

std::shared_ptr<const SourceStore> SourceStore::Local() {
  static const auto local = std::make_shared<const SourceStore>();
  return local;
}

arrow::Result<std::vector<SourceFile>> SourceStore::Discover(
    const std::string& pattern) const {
  std::vector<SourceFile> out;
  if (s3_) {
    auto found = DiscoverS3(*s3_, pattern);
    if (!found.ok()) {
      return found.status().WithMessage("cannot list source ", pattern, ": ",
                                        found.status().message());
    }
    out = std::move(*found);
  } else {
    ARROW_ASSIGN_OR_RAISE(out, DiscoverLocal(pattern));
  }
  std::sort(out.begin(), out.end(),
            [](const SourceFile& a, const SourceFile& b) { return a.path < b.path; });
  return out;
}

arrow::Result<std::string> SourceStore::Root(const std::string& pattern) const {
  if (s3_) {
    std::string base = FixedPrefix(pattern);
    if (!HasGlob(pattern)) {
      // A key's own prefix, or the prefix given (a "directory").
      auto info = s3_->GetFileInfo(base);
      if (!info.ok()) {
        return info.status().WithMessage("cannot look up source ", pattern, ": ",
                                         info.status().message());
      }
      if (info->type() == arrow::fs::FileType::File) {
        auto slash = base.find_last_of('/');
        base = slash == std::string::npos ? base : base.substr(0, slash);
      }
    }
    return kS3 + base;
  }
  std::filesystem::path p(pattern);
  std::filesystem::path root;
  if (HasGlob(pattern)) {
    // The directories before the first component with a wildcard.
    for (const auto& part : p) {
      if (HasGlob(part.string())) break;
      root /= part;
    }
  } else if (std::filesystem::is_directory(p)) {
    root = p;
  } else {
    root = p.parent_path();
  }
  if (root.empty()) root = ".";
  std::error_code ec;
  auto absolute = std::filesystem::absolute(root, ec);
  return (ec ? root : absolute).lexically_normal().string();
}

arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> SourceStore::Open(
    const std::string& path) const {
  arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>> file =
      s3_ ? s3_->OpenInputFile(FsPath(path))
          : arrow::Result<std::shared_ptr<arrow::io::RandomAccessFile>>(
                arrow::io::ReadableFile::Open(path));
  if (!file.ok() && file.status().message().find(path) == std::string::npos) {
    return file.status().WithMessage("cannot open source file ", path, ": ",
                                     file.status().message());
  }
  return file;
}

std::shared_ptr<arrow::fs::FileSystem> SourceStore::fs() const {
  if (s3_) return s3_;
  static const auto local = std::make_shared<arrow::fs::LocalFileSystem>();
  return local;
}

std::string SourceStore::FsPath(const std::string& path) const {
  return s3_ && IsS3(path) ? path.substr(sizeof(kS3) - 1) : path;
}

arrow::Result<std::vector<SourceFile>> DiscoverFiles(const std::string& pattern) {
  return SourceStore::Local()->Discover(pattern);
}

std::string SourceRoot(const std::string& pattern) {
  return SourceStore::Local()->Root(pattern).ValueOr(".");  // local: never fails
}

std::string RelativeName(const std::string& root, const std::string& path) {
  if (IsS3(root) || IsS3(path)) {
    std::string prefix = root + "/";
    return path.rfind(prefix, 0) == 0 ? path.substr(prefix.size()) : path;
  }
  std::error_code ec;
  auto absolute = std::filesystem::absolute(path, ec);
  auto rel = (ec ? std::filesystem::path(path) : absolute)
                 .lexically_normal()
                 .lexically_relative(root);
  std::string name = rel.generic_string();
  if (name.empty() || name.rfind("..", 0) == 0) return path;  // outside the root
  return name;
}

}  // namespace inlet
