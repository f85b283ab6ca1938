#include "inlet/delta/log_segment.h"

#include <arrow/status.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <map>

#include "inlet/status.h"

namespace inlet::delta {

namespace {

bool ParseDigits(std::string_view s, int64_t* out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

// Classifies a _delta_log file name; returns false for files that are not log entries.
bool Classify(const std::string& name, LogFile* out) {
  int64_t version = LogFileVersion(name);
  if (version < 0) return false;
  std::string_view rest = std::string_view(name).substr(21);
  out->version = version;
  out->name = name;
  if (rest == "json") {
    out->kind = LogFile::Kind::kCommit;
    return true;
  }
  if (rest == "checkpoint.parquet") {
    out->kind = LogFile::Kind::kCheckpoint;
    return true;
  }
  if (rest.substr(0, 11) != "checkpoint.") return false;
  rest.remove_prefix(11);
  // checkpoint.<part:10>.<parts:10>.parquet
  int64_t part, parts;
  if (rest.size() == 10 + 1 + 10 + 8 && rest.substr(21) == ".parquet" &&
      ParseDigits(rest.substr(0, 10), &part) && rest[10] == '.' &&
      ParseDigits(rest.substr(11, 10), &parts)) {
    out->kind = LogFile::Kind::kMultiPartCheckpoint;
    out->part = static_cast<int>(part);
    out->num_parts = static_cast<int>(parts);
    return true;
  }
  // checkpoint.<uuid>.json|parquet
  if ((rest.size() > 5 && rest.substr(rest.size() - 5) == ".json") ||
      (rest.size() > 8 && rest.substr(rest.size() - 8) == ".parquet")) {
    out->kind = LogFile::Kind::kV2Checkpoint;
    return true;
  }
  return false;
}

}  // namespace

int64_t LogFileVersion(std::string_view name) {
  int64_t version = -1;
  if (name.size() < 21 || name[20] != '.' || !ParseDigits(name.substr(0, 20), &version))
    return -1;
  return version;
}

std::string CommitPath(int64_t version) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s/%020lld.json", kLogDir,
                static_cast<long long>(version));
  return buf;
}

arrow::Result<LogListing> ListLog(const TableStore& store, ListDetail detail) {
  ARROW_ASSIGN_OR_RAISE(auto infos, store.List(kLogDir, detail));
  return ListLog(store, infos);
}

arrow::Result<int64_t> FileMtime(const TableStore& store, const LogFile& file) {
  if (file.mtime_ms >= 0) return file.mtime_ms;
  ARROW_ASSIGN_OR_RAISE(
      auto info,
      store.fs()->GetFileInfo(store.Resolve(std::string(kLogDir) + "/" + file.name)));
  if (info.type() != arrow::fs::FileType::File) {
    return arrow::Status::IOError("log file ", file.name, " of ", store.location(),
                                  " disappeared");
  }
  return MtimeMillis(info);
}

arrow::Result<LogListing> ListLog(const TableStore& store,
                                  const std::vector<arrow::fs::FileInfo>& infos) {
  LogListing out;
  std::map<int64_t, std::vector<LogFile>> multipart;
  std::map<int64_t, Checkpoint> checkpoints;
  for (const auto& info : infos) {
    if (info.type() != arrow::fs::FileType::File) continue;
    LogFile f;
    if (!Classify(info.base_name(), &f)) continue;
    f.size = info.size();
    f.mtime_ms = MtimeMillis(info);
    switch (f.kind) {
      case LogFile::Kind::kCommit:
        out.commits.push_back(f);
        break;
      case LogFile::Kind::kMultiPartCheckpoint:
        multipart[f.version].push_back(f);
        break;
      default:
        // Prefer a V2 checkpoint's single file or the classic one; one per version.
        if (!checkpoints.count(f.version))
          checkpoints[f.version] = Checkpoint{f.version, {f}};
        break;
    }
  }
  for (auto& [v, parts] : multipart) {
    if (checkpoints.count(v)) continue;
    std::sort(parts.begin(), parts.end(),
              [](const LogFile& a, const LogFile& b) { return a.part < b.part; });
    // Readers must ignore incomplete sets (a writer may have died mid-checkpoint).
    int n = parts.front().num_parts;
    bool complete = static_cast<int>(parts.size()) == n;
    for (int i = 0; complete && i < n; ++i) {
      complete = parts[i].part == i + 1 && parts[i].num_parts == n;
    }
    if (complete) checkpoints[v] = Checkpoint{v, parts};
  }
  for (auto& [v, c] : checkpoints) out.checkpoints.push_back(std::move(c));
  std::sort(out.commits.begin(), out.commits.end(),
            [](const LogFile& a, const LogFile& b) { return a.version < b.version; });
  if (out.commits.empty() && out.checkpoints.empty()) {
    return TableNotFound("not a Delta table: " + store.location() +
                         " (no _delta_log commits)");
  }
  return out;
}

arrow::Result<LogSegment> BuildSegment(const LogListing& listing,
                                       std::optional<int64_t> version,
                                       int checkpoint_index) {
  int64_t latest = -1;
  if (!listing.commits.empty()) latest = listing.commits.back().version;
  if (!listing.checkpoints.empty())
    latest = std::max(latest, listing.checkpoints.back().version);
  int64_t target = version.value_or(latest);
  if (target < 0 || target > latest) {
    return arrow::Status::Invalid("version ", target, " does not exist (latest is ",
                                  latest, ")");
  }
  LogSegment seg;
  seg.version = target;
  if (checkpoint_index == -1) {
    for (int i = static_cast<int>(listing.checkpoints.size()) - 1; i >= 0; --i) {
      if (listing.checkpoints[i].version <= target) {
        checkpoint_index = i;
        break;
      }
    }
  }
  int64_t start = 0;
  if (checkpoint_index >= 0) {
    seg.checkpoint = listing.checkpoints[checkpoint_index];
    start = seg.checkpoint->version + 1;
  }
  for (const auto& c : listing.commits) {
    if (c.version >= start && c.version <= target) seg.commits.push_back(c);
  }
  // Commits must run contiguously from the checkpoint (or version 0) to the target.
  int64_t expect = start;
  for (const auto& c : seg.commits) {
    if (c.version != expect) {
      return arrow::Status::Invalid(
          "cannot reconstruct version ", target, ": commit ", expect,
          " is missing from the log (versions are not contiguous)");
    }
    ++expect;
  }
  if (expect != target + 1) {
    return arrow::Status::Invalid("cannot reconstruct version ", target, ": commit ",
                                  expect, " is missing from the log");
  }
  return seg;
}

}  // namespace inlet::delta
