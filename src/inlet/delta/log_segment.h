// Which files of _delta_log make up a version: the newest usable checkpoint at or before
// it and the JSON commits after that checkpoint.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "inlet/storage/table_store.h"

namespace inlet::delta {

inline constexpr char kLogDir[] = "_delta_log";

struct LogFile {
  enum class Kind { kCommit, kCheckpoint, kMultiPartCheckpoint, kV2Checkpoint };
  Kind kind = Kind::kCommit;
  int64_t version = 0;
  std::string name;       // file name inside _delta_log
  int64_t size = -1;      // -1 when listed without details
  int64_t mtime_ms = -1;  // -1 when listed without details: see FileMtime
  int part = 0;
  int num_parts = 0;
};

/// A checkpoint: one file, all parts of a multi-part one, or one V2 top-level file.
struct Checkpoint {
  int64_t version = 0;
  std::vector<LogFile> files;
};

/// The log as listed: commits ascending by version and complete checkpoints ascending.
struct LogListing {
  std::vector<LogFile> commits;
  std::vector<Checkpoint> checkpoints;
};

struct LogSegment {
  int64_t version = -1;
  std::optional<Checkpoint> checkpoint;
  std::vector<LogFile> commits;  // versions checkpoint+1 .. version, contiguous
};

/// The path of a commit file relative to the table root.
std::string CommitPath(int64_t version);

/// The version a _delta_log file belongs to (its 20-digit prefix), or -1 for other files.
int64_t LogFileVersion(std::string_view name);

/// Lists _delta_log. Fails with IOError "not a Delta table" when it is missing or holds
/// neither a commit nor a checkpoint. With ListDetail::kNames, sizes and times may be
/// left unknown (-1): enough to load a version, not to travel by time or expire files.
arrow::Result<LogListing> ListLog(const TableStore& store,
                                  ListDetail detail = ListDetail::kFull);
/// The same from a listing of _delta_log already made (store.List(kLogDir)).
arrow::Result<LogListing> ListLog(const TableStore& store,
                                  const std::vector<arrow::fs::FileInfo>& infos);

/// A log file's modification time, looked up when the listing left it out.
arrow::Result<int64_t> FileMtime(const TableStore& store, const LogFile& file);

/// Builds the segment for `version` (latest when nullopt) using the checkpoint at
/// `checkpoint_index` in listing.checkpoints or, with -1, the newest one at or before the
/// version. A version that cannot be reconstructed fails naming it.
arrow::Result<LogSegment> BuildSegment(const LogListing& listing,
                                       std::optional<int64_t> version,
                                       int checkpoint_index = -1);

}  // namespace inlet::delta
