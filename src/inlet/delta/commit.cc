#include "inlet/delta/commit.h"

#include <arrow/status.h>

#include <algorithm>
#include <chrono>
#include <random>
#include <set>
#include <thread>

#include "inlet/common/fault.h"
#include "inlet/common/time.h"
#include "inlet/delta/log_replay.h"
#include "inlet/delta/log_segment.h"
#include "inlet/status.h"

namespace inlet::delta {

namespace {

constexpr char kEngineInfo[] = "inlet/0.1.0";

template <typename... Args>
arrow::Status Conflict(Args&&... args) {
  return CommitConflict(arrow::Status::Invalid(std::forward<Args>(args)...).message());
}

// Checks a commit that won version `version` against ours; OK means ours can follow it.
arrow::Status CheckConflict(const ActionSet& winner, int64_t version,
                            PendingCommit& pending) {
  const ActionSet& ours = pending.actions;
  if (ours.protocol || ours.metadata || winner.protocol || winner.metadata) {
    if (ours.protocol && ours.metadata && version == 0) {
      return Conflict("the table was created concurrently (version 0)");
    }
    return Conflict("version ", version,
                    " changed the table's metadata or protocol concurrently");
  }
  for (const auto& mine : ours.txns) {
    for (const auto& t : winner.txns) {
      if (t.app_id == mine.app_id) {
        return Conflict("version ", version,
                        " committed a transaction of the same application '", t.app_id,
                        "' concurrently");
      }
    }
  }
  for (const auto& d : winner.domains) {
    for (const auto& o : ours.domains) {
      if (d.domain == o.domain) {
        return Conflict("version ", version, " changed metadata domain '", d.domain,
                        "' concurrently");
      }
    }
  }
  if (!ours.removes.empty()) {
    std::set<std::string> removed;
    for (const auto& r : ours.removes) removed.insert(FileKey(r.path, r.deletion_vector));
    std::set<std::string> clashes;
    const RemoveFile* first = nullptr;
    for (const auto& r : winner.removes) {
      if (removed.count(FileKey(r.path, r.deletion_vector))) {
        clashes.insert(FileKey(r.path, r.deletion_vector));
        if (!first) first = &r;
      }
    }
    if (first && !(pending.drop_removed && pending.drop_removed(clashes))) {
      return Conflict("version ", version, " concurrently removed ", first->path,
                      ", which this transaction also replaces");
    }
  }
  if (pending.reads_partition) {
    for (const auto& a : winner.adds) {
      if (a.data_change && pending.reads_partition(a.partition_values)) {
        return Conflict("version ", version,
                        " concurrently added data to rows this transaction "
                        "replaces (",
                        a.path, ")");
      }
    }
  }
  return arrow::Status::OK();
}

void Backoff(int attempt) {
  thread_local std::mt19937 rng{std::random_device{}()};
  int cap_us = std::min(100000, 500 << std::min(attempt - 2, 8));
  std::uniform_int_distribution<int> dist(0, cap_us);
  std::this_thread::sleep_for(std::chrono::microseconds(dist(rng)));
}

}  // namespace

std::string SerializeCommit(const ActionSet& c) {
  std::string out =
      DumpJson(Json{{"commitInfo", c.commit_info.value_or(Json::object())}}) + "\n";
  if (c.protocol) out += DumpJson(Json{{"protocol", ToJson(*c.protocol)}}) + "\n";
  if (c.metadata) out += DumpJson(Json{{"metaData", ToJson(*c.metadata)}}) + "\n";
  for (const auto& t : c.txns) out += DumpJson(Json{{"txn", ToJson(t)}}) + "\n";
  for (const auto& d : c.domains)
    out += DumpJson(Json{{"domainMetadata", ToJson(d)}}) + "\n";
  for (const auto& r : c.removes) out += DumpJson(Json{{"remove", ToJson(r)}}) + "\n";
  for (const auto& a : c.adds) out += DumpJson(Json{{"add", ToJson(a)}}) + "\n";
  for (const auto& cdc : c.cdcs) out += DumpJson(Json{{"cdc", ToJson(cdc)}}) + "\n";
  return out;
}

arrow::Result<int64_t> CommitWithRetries(const TableStore& store, int64_t read_version,
                                         PendingCommit& commit, int max_attempts,
                                         int* attempts) {
  bool blind = commit.actions.removes.empty() && !commit.reads_partition;
  Json& info = commit.actions.commit_info.emplace(
      commit.actions.commit_info.value_or(Json::object()));
  int64_t version = read_version + 1;
  for (int attempt = 1; attempt <= max_attempts; ++attempt) {
    if (attempts) *attempts = attempt;
    info["timestamp"] = NowMillis();
    if (read_version >= 0) info["readVersion"] = read_version;
    info["isBlindAppend"] = blind;
    info["engineInfo"] = kEngineInfo;
    CrashPoint("commit.before_log_write");
    ARROW_ASSIGN_OR_RAISE(
        bool created,
        store.PutIfAbsent(CommitPath(version), SerializeCommit(commit.actions)));
    if (created) {
      CrashPoint("commit.after_log_write");
      return version;
    }
    // Other writers won this version, and maybe more since: follow every one of them
    // whose changes are compatible, then try the next free version. Catching up costs no
    // attempt, so a long-running transaction (an optimize) is not beaten by a stream of
    // short ones (appends).
    for (int rereads = 0;;) {
      auto winner = ReadCommit(store, version);
      if (!winner.ok()) {
        // Not there (yet: object storage answers a conditional PUT racing with another
        // one in flight before that one is visible), or it appeared between the read and
        // this look: read it again, a few times.
        auto info = store.fs()->GetFileInfo(store.Resolve(CommitPath(version)));
        if (info.ok() && info->type() == arrow::fs::FileType::NotFound) break;
        if (!info.ok() || ++rereads > 5) return winner.status();
        continue;
      }
      rereads = 0;
      ARROW_RETURN_NOT_OK(CheckConflict(*winner, version, commit));
      ++version;
    }
    // Under heavy contention, back off (jittered, exponential, capped) so that writers
    // stop colliding on the same next version.
    if (attempt >= 2) Backoff(attempt);
  }
  return arrow::Status::Invalid("gave up committing to ", store.location(), " after ",
                                max_attempts, " attempts lost to concurrent writers");
}

}  // namespace inlet::delta
