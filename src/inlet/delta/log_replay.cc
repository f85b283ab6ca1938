#include "inlet/delta/log_replay.h"

#include <arrow/buffer.h>
#include <arrow/status.h>

#include <algorithm>
#include <unordered_map>

#include "inlet/delta/checkpoint_reader.h"

namespace inlet::delta {

namespace {

class Reconciler {
 public:
  void Apply(ActionSet&& actions) {
    if (actions.protocol) protocol_ = std::move(actions.protocol);
    if (actions.metadata) metadata_ = std::move(actions.metadata);
    // Within one commit a path has at most one add and one remove (PROTOCOL.md), with
    // different DV keys when both appear, so applying removes first is order-safe.
    for (auto& r : actions.removes) {
      std::string key = FileKey(r.path, r.deletion_vector);
      files_.erase(key);
      tombstones_.insert_or_assign(std::move(key), std::move(r));
    }
    for (auto& a : actions.adds) {
      std::string key = FileKey(a.path, a.deletion_vector);
      tombstones_.erase(key);
      files_.insert_or_assign(std::move(key), std::move(a));
    }
    for (auto& t : actions.txns) txns_[t.app_id] = std::move(t);
    for (auto& d : actions.domains) {
      if (d.removed) {
        domains_.erase(d.domain);
      } else {
        domains_[d.domain] = std::move(d);
      }
    }
  }

  arrow::Result<TableState> Finish(int64_t version) {
    if (!protocol_) {
      return arrow::Status::Invalid("cannot reconstruct version ", version,
                                    ": the log has no protocol action");
    }
    if (!metadata_) {
      return arrow::Status::Invalid("cannot reconstruct version ", version,
                                    ": the log has no metaData action");
    }
    TableState state;
    state.version = version;
    state.protocol = std::move(*protocol_);
    state.metadata = std::move(*metadata_);
    state.files.reserve(files_.size());
    for (auto& [k, f] : files_) state.files.push_back(std::move(f));
    std::sort(state.files.begin(), state.files.end(),
              [](const AddFile& a, const AddFile& b) { return a.path < b.path; });
    state.tombstones.reserve(tombstones_.size());
    for (auto& [k, r] : tombstones_) state.tombstones.push_back(std::move(r));
    state.txns = std::move(txns_);
    state.domains = std::move(domains_);
    return state;
  }

 private:
  std::optional<Protocol> protocol_;
  std::optional<Metadata> metadata_;
  std::unordered_map<std::string, AddFile> files_;
  std::unordered_map<std::string, RemoveFile> tombstones_;
  std::map<std::string, Txn> txns_;
  std::map<std::string, DomainMetadata> domains_;
};

}  // namespace

arrow::Result<ActionSet> ReadCommit(const TableStore& store, int64_t version) {
  std::string rel = CommitPath(version);
  ARROW_ASSIGN_OR_RAISE(auto buffer, store.ReadFile(rel));
  return ParseActions(
      std::string_view(reinterpret_cast<const char*>(buffer->data()), buffer->size()),
      rel);
}

int64_t CommitTimestamp(const ActionSet& commit, const LogFile& file) {
  if (commit.commit_info) {
    auto it = commit.commit_info->find("inCommitTimestamp");
    if (it != commit.commit_info->end() && it->is_number_integer())
      return it->get<int64_t>();
  }
  return file.mtime_ms;
}

arrow::Result<TableState> ReplaySegment(const TableStore& store,
                                        const LogSegment& segment) {
  Reconciler rec;
  // The version's time: the last commit's in-commit timestamp, else its file's time
  // (looked up only here when the listing left times out).
  const LogFile* last = nullptr;
  int64_t timestamp = -1;
  if (segment.checkpoint) {
    ARROW_ASSIGN_OR_RAISE(auto actions, ReadCheckpoint(store, *segment.checkpoint));
    rec.Apply(std::move(actions));
    last = &segment.checkpoint->files.front();
  }
  for (const auto& commit : segment.commits) {
    ARROW_ASSIGN_OR_RAISE(auto actions, ReadCommit(store, commit.version));
    last = &commit;
    timestamp = CommitTimestamp(actions, commit);
    rec.Apply(std::move(actions));
  }
  ARROW_ASSIGN_OR_RAISE(auto state, rec.Finish(segment.version));
  if (timestamp < 0 && last) {
    ARROW_ASSIGN_OR_RAISE(timestamp, FileMtime(store, *last));
  }
  state.timestamp_ms = timestamp;
  return state;
}

arrow::Result<TableState> LoadState(const TableStore& store, const LogListing& listing,
                                    std::optional<int64_t> version) {
  ARROW_ASSIGN_OR_RAISE(auto segment, BuildSegment(listing, version));
  auto state = ReplaySegment(store, segment);
  if (state.ok() || !segment.checkpoint) return state;
  // The newest checkpoint is unreadable (torn write, corruption): fall back to older
  // checkpoints, then to a replay from version 0, before giving up.
  for (int i = static_cast<int>(listing.checkpoints.size()) - 1; i >= -1; --i) {
    if (i >= 0 && listing.checkpoints[i].version >= segment.checkpoint->version) continue;
    auto older = BuildSegment(listing, segment.version, i == -1 ? -2 : i);
    if (!older.ok()) continue;
    auto retry = ReplaySegment(store, *older);
    if (retry.ok()) return retry;
  }
  return state;
}

}  // namespace inlet::delta
