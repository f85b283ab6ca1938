// Log replay: reconciling a segment's actions into the state of one version
// (PROTOCOL.md "Action Reconciliation").
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "inlet/delta/actions.h"
#include "inlet/delta/log_segment.h"
#include "inlet/storage/table_store.h"

namespace inlet::delta {

struct TableState {
  int64_t version = -1;
  Protocol protocol;
  Metadata metadata;
  std::vector<AddFile> files;  // live files, sorted by path
  /// Files removed and not added back (remove actions, the "tombstones" vacuum keeps
  /// until they expire), in no particular order.
  std::vector<RemoveFile> tombstones;
  std::map<std::string, Txn> txns;
  std::map<std::string, DomainMetadata> domains;  // live (not removed) domains
  /// The commit's time: its In-Commit Timestamp when enabled, else the file time.
  int64_t timestamp_ms = 0;
};

/// Replays a segment. Fails naming the file for a corrupt commit or checkpoint, and when
/// the log has no protocol or metaData by the target version.
arrow::Result<TableState> ReplaySegment(const TableStore& store,
                                        const LogSegment& segment);

/// Loads the state at `version` (latest when nullopt), trying older checkpoints when the
/// newest one is unreadable.
arrow::Result<TableState> LoadState(const TableStore& store, const LogListing& listing,
                                    std::optional<int64_t> version);

/// Reads and parses one commit file.
arrow::Result<ActionSet> ReadCommit(const TableStore& store, int64_t version);

/// A commit's timestamp: inCommitTimestamp from its commitInfo when present, else the
/// file modification time.
int64_t CommitTimestamp(const ActionSet& commit, const LogFile& file);

}  // namespace inlet::delta
