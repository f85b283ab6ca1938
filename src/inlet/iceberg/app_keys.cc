// The application keys inlet's snapshots carry (transaction.h): found along a snapshot's
// ancestry, or in the table properties' mirror once expiry cut that ancestry.
#include <cstdlib>

#include "inlet/iceberg/transaction.h"

namespace inlet::iceberg {

bool IsAppKey(const std::string& key) {
  return key.rfind(kAppVersionKey, 0) == 0 || key.rfind(kAppDocumentKey, 0) == 0;
}

bool UseAppMirror(const TableMetadata& m, const iceberg::Snapshot* s) {
  auto ancestry = m.Ancestry(s);
  for (const auto* a : ancestry)
    if (a->summary.count("inlet.operation")) return false;  // an inlet snapshot says
  const iceberg::Snapshot* oldest = ancestry.empty() ? nullptr : ancestry.back();
  const bool cut = oldest && oldest->parent_snapshot_id &&
                   !m.SnapshotById(*oldest->parent_snapshot_id);
  auto stamp = m.properties.find(kAppMirrorSnapshotKey);
  if (!cut || stamp == m.properties.end()) return false;
  // The mirror's snapshot must be gone too (expired): one still there but not in the
  // ancestry was rolled back, and its state with it.
  char* end = nullptr;
  long long id = std::strtoll(stamp->second.c_str(), &end, 10);
  return end && *end == '\0' && !m.SnapshotById(id);
}

std::map<std::string, std::string> AppKeysOf(const TableMetadata& m,
                                             const iceberg::Snapshot* s) {
  std::map<std::string, std::string> out;
  for (const auto* a : m.Ancestry(s)) {
    for (const auto& [k, v] : a->summary)
      if (IsAppKey(k)) out.emplace(k, v);
  }
  // Keys whose snapshots were all expired live on in the table properties' mirror.
  if (UseAppMirror(m, s))
    for (const auto& [k, v] : m.properties)
      if (IsAppKey(k)) out.emplace(k, v);
  return out;
}

std::optional<std::string> AppKeyOf(const TableMetadata& m, const iceberg::Snapshot* s,
                                    const std::string& key) {
  for (const auto* a : m.Ancestry(s))
    if (auto it = a->summary.find(key); it != a->summary.end()) return it->second;
  return std::nullopt;
}

}  // namespace inlet::iceberg
