// Manifests a commit writes again: one holding files the commit removes (its other
// entries carried as EXISTING), and the small manifests of many appends merged into one,
// as Java's MergeAppend does (table properties commit.manifest-merge.enabled,
// commit.manifest.min-count-to-merge, commit.manifest.target-size-bytes), so that a table
// fed by micro-batches or a stream keeps planning fast.
#pragma once

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <map>
#include <string>
#include <vector>

#include "inlet/iceberg/manifest.h"
#include "inlet/storage/table_store.h"

namespace inlet::iceberg {

/// The partition summaries of a manifest's entries (every entry, as Java's writer counts
/// them): whether a field has nulls, and its bounds.
std::vector<FieldSummary> Summaries(const std::vector<EntryToWrite>& entries,
                                    size_t fields);

/// What writing a manifest of the commit's partition spec needs.
struct ManifestWriter {
  const TableStore* store = nullptr;
  std::string base_uri;  // the table location; manifests go to <base_uri>/metadata/
  const ManifestContext* context = nullptr;
  const arrow::FieldVector* fields = nullptr;  // the spec's partition fields
  int64_t snapshot_id = 0;                     // the committing snapshot
  int64_t sequence_number = 0;                 // and its sequence number

  /// `e` carried into a manifest this commit writes: EXISTING with its own snapshot and
  /// sequence numbers, or DELETED by this snapshot when `removed`.
  arrow::Result<EntryToWrite> Carried(const ManifestEntry& e, bool removed) const;
  /// Writes `entries` as a new manifest ("-m<tag>.avro") and describes it.
  arrow::Result<ManifestFile> Write(const std::vector<EntryToWrite>& entries,
                                    const std::string& tag) const;
};

/// Merges the small data manifests of the writer's spec among `manifests` (those under
/// the target size) into as few manifests as the target size allows, when there are at
/// least the minimum count of them and merging is enabled; deleted entries are dropped.
/// The others keep their place. Errors name the manifest read.
arrow::Result<std::vector<ManifestFile>> MergeSmallManifests(
    std::vector<ManifestFile> manifests, const ManifestWriter& writer,
    const std::map<std::string, std::string>& properties);

}  // namespace inlet::iceberg
