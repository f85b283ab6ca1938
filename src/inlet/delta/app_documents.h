// Where a Delta table keeps application documents (pipeline states, remembered deletes).
//
// Two places, chosen by the table property inlet.stateStorage:
// - domainMetadata (the default): a domainMetadata action named after the application.
//   Everything stays in the log, but the table needs the domainMetadata writer feature,
//   which some writers (delta-rs 1.6) refuse.
// - files: an immutable object _inlet/apps/<app>/<id>.json, written put-if-absent before
//   the commit, and a txn action (appId "inlet.document:<app>", version <id>) in the
//   commit that points at it. Every Delta writer keeps txn actions, so the table stays at
//   the protocol its data needs; an object no commit points at is never read.
// A table switched from one place to the other moves each document when it is next
// written: the commit that records it in one place clears it from the other.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "inlet/delta/actions.h"
#include "inlet/delta/log_replay.h"
#include "inlet/storage/table_store.h"

namespace inlet::delta {

inline constexpr char kStateStorageProperty[] = "inlet.stateStorage";
inline constexpr char kDocumentTxnPrefix[] = "inlet.document:";
inline constexpr char kAppDocumentDir[] = "_inlet/apps";
/// The prefix of every application id inlet writes (pipelines, remembered deletes).
inline constexpr char kInletApps[] = "inlet.";

/// Whether the metadata keeps documents in files (inlet.stateStorage=files).
bool KeepsDocumentsInFiles(const Metadata& metadata);

/// The txn appId that points at app's document object.
std::string DocumentTxnId(const std::string& app);

/// The object holding version `id` of app's document, relative to the table root.
std::string DocumentPath(const std::string& app, int64_t id);

/// The objects the state's documents live in (files mode), relative to the table root.
std::vector<std::string> DocumentPaths(const TableState& state);

/// Where app's document is as of the state, without reading it: "domain:" and the
/// document, or "file:" and the object's id; nullopt when it has none. Two states hold
/// the same document when they give the same pointer.
std::optional<std::string> DocumentPointer(const TableState& state,
                                           const std::string& app);

/// The applications whose id starts with prefix and that have a document in the state.
std::vector<std::string> DocumentApps(const TableState& state, const std::string& prefix);

/// Refuses table properties that keep documents in files and let txn actions expire
/// (delta.setTransactionRetentionDuration): the pointer to a document, and with it the
/// state, would expire.
arrow::Status CheckStateStorage(const std::map<std::string, std::string>& configuration);

/// App's document as of the state; nullopt when it has none. Reads the object of a
/// files-mode document, failing with a message that names it when it is missing.
arrow::Result<std::optional<std::string>> ReadDocument(const TableStore& store,
                                                       const TableState& state,
                                                       const std::string& app);

/// The documents of every application whose id starts with prefix.
arrow::Result<std::map<std::string, std::string>> ReadDocuments(
    const TableStore& store, const TableState& state, const std::string& prefix);

/// Adds to `actions` what records `document` for app (nullopt: clears it) where
/// `after` (the metadata the commit leaves) keeps documents, and clears it from the other
/// place when `base` (the state the commit follows; null for a new table) has it there.
/// In files mode it first writes the object. `needs_domains` is set when the actions
/// include a domainMetadata.
arrow::Status RecordDocument(const TableStore& store, const TableState* base,
                             const Metadata& after, const std::string& app,
                             const std::optional<std::string>& document, int64_t now,
                             ActionSet* actions, bool* needs_domains);

}  // namespace inlet::delta
