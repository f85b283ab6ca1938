#include "inlet/delta/app_documents.h"

#include <arrow/buffer.h>
#include <arrow/status.h>

#include <set>

#include "inlet/table/app_objects.h"

namespace inlet::delta {

namespace {

constexpr char kFilesMode[] = "files";

// The id of app's live document object in state, or nullopt.
std::optional<int64_t> DocumentId(const TableState& state, const std::string& app) {
  auto it = state.txns.find(DocumentTxnId(app));
  if (it == state.txns.end() || it->second.version <= 0) return std::nullopt;
  return it->second.version;
}

arrow::Result<std::string> ReadObject(const TableStore& store, const TableState& state,
                                      const std::string& app, int64_t id) {
  return table::ReadAppObject(store, app, id, "version " + std::to_string(state.version));
}

arrow::Result<int64_t> WriteObject(const TableStore& store, const std::string& app,
                                   const std::string& document) {
  return table::WriteAppObject(store, app, document);
}

}  // namespace

bool KeepsDocumentsInFiles(const Metadata& metadata) {
  return metadata.Property(kStateStorageProperty) == kFilesMode;
}

std::string DocumentTxnId(const std::string& app) { return kDocumentTxnPrefix + app; }

std::string DocumentPath(const std::string& app, int64_t id) {
  return table::AppObjectPath(app, id);
}

std::vector<std::string> DocumentPaths(const TableState& state) {
  std::vector<std::string> out;
  const std::string prefix = kDocumentTxnPrefix;
  for (auto it = state.txns.lower_bound(prefix);
       it != state.txns.end() && it->first.compare(0, prefix.size(), prefix) == 0; ++it) {
    if (it->second.version > 0)
      out.push_back(DocumentPath(it->first.substr(prefix.size()), it->second.version));
  }
  return out;
}

std::optional<std::string> DocumentPointer(const TableState& state,
                                           const std::string& app) {
  if (auto it = state.domains.find(app); it != state.domains.end())
    return "domain:" + it->second.configuration;
  if (auto id = DocumentId(state, app)) return "file:" + std::to_string(*id);
  return std::nullopt;
}

std::vector<std::string> DocumentApps(const TableState& state,
                                      const std::string& prefix) {
  std::set<std::string> apps;
  auto starts = [](const std::string& name, const std::string& with) {
    return name.compare(0, with.size(), with) == 0;
  };
  for (auto it = state.domains.lower_bound(prefix);
       it != state.domains.end() && starts(it->first, prefix); ++it) {
    apps.insert(it->first);
  }
  const std::string txn_prefix = DocumentTxnId(prefix);
  for (auto it = state.txns.lower_bound(txn_prefix);
       it != state.txns.end() && starts(it->first, txn_prefix); ++it) {
    if (it->second.version > 0)
      apps.insert(it->first.substr(sizeof(kDocumentTxnPrefix) - 1));
  }
  return {apps.begin(), apps.end()};
}

arrow::Status CheckStateStorage(const std::map<std::string, std::string>& configuration) {
  auto mode = configuration.find(kStateStorageProperty);
  if (mode == configuration.end() || mode->second != kFilesMode ||
      !configuration.count("delta.setTransactionRetentionDuration"))
    return arrow::Status::OK();
  return arrow::Status::Invalid(
      kStateStorageProperty,
      "=files finds each application's state through a txn action, which "
      "delta.setTransactionRetentionDuration lets expire; unset that property, or keep "
      "the state in domainMetadata");
}

arrow::Result<std::optional<std::string>> ReadDocument(const TableStore& store,
                                                       const TableState& state,
                                                       const std::string& app) {
  if (auto it = state.domains.find(app); it != state.domains.end())
    return it->second.configuration;
  // Another writer may have set the property: the pointer may have expired, and an
  // absent state would make a pipeline load everything again.
  auto safe = CheckStateStorage(state.metadata.configuration);
  if (!safe.ok())
    return safe.WithMessage("cannot read the state of application '", app, "' in ",
                            store.location(), ": ", safe.message());
  auto id = DocumentId(state, app);
  if (!id) return std::nullopt;
  return ReadObject(store, state, app, *id);
}

arrow::Result<std::map<std::string, std::string>> ReadDocuments(
    const TableStore& store, const TableState& state, const std::string& prefix) {
  std::map<std::string, std::string> out;
  for (const auto& app : DocumentApps(state, prefix)) {
    ARROW_ASSIGN_OR_RAISE(auto document, ReadDocument(store, state, app));
    if (document) out[app] = std::move(*document);
  }
  return out;
}

arrow::Status RecordDocument(const TableStore& store, const TableState* base,
                             const Metadata& after, const std::string& app,
                             const std::optional<std::string>& document, int64_t now,
                             ActionSet* actions, bool* needs_domains) {
  const bool files = KeepsDocumentsInFiles(after);
  const bool in_domain = base && base->domains.count(app);
  const bool in_file = base && DocumentId(*base, app);
  auto clear_domain = [&] {
    actions->domains.push_back(DomainMetadata{app, "", true});
    *needs_domains = true;
  };
  auto clear_file = [&] { actions->txns.push_back(Txn{DocumentTxnId(app), 0, now}); };
  if (!document) {
    if (in_domain) clear_domain();
    if (in_file) clear_file();
    return arrow::Status::OK();
  }
  if (files) {
    ARROW_ASSIGN_OR_RAISE(int64_t id, WriteObject(store, app, *document));
    actions->txns.push_back(Txn{DocumentTxnId(app), id, now});
    if (in_domain) clear_domain();
  } else {
    actions->domains.push_back(DomainMetadata{app, *document, false});
    *needs_domains = true;
    if (in_file) clear_file();
  }
  return arrow::Status::OK();
}

}  // namespace inlet::delta
