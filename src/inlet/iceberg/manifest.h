// Iceberg manifest lists and manifests (spec "Manifests", "Manifest Lists"): the Avro
// files that list a snapshot's data and delete files with their partition values and
// column metrics.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "inlet/iceberg/avro.h"

namespace inlet::iceberg {

enum class ManifestContent { kData = 0, kDeletes = 1 };

/// A partition field's summary over a manifest's files (for pruning manifests).
struct FieldSummary {
  bool contains_null = false;
  std::optional<bool> contains_nan;
  /// Single-value serialisation (spec Appendix D).
  std::optional<std::string> lower_bound;
  std::optional<std::string> upper_bound;
};

/// One entry of a manifest list.
struct ManifestFile {
  std::string path;
  int64_t length = 0;
  int32_t partition_spec_id = 0;
  ManifestContent content = ManifestContent::kData;
  int64_t sequence_number = 0;
  int64_t min_sequence_number = 0;
  int64_t added_snapshot_id = 0;
  int32_t added_files = 0;
  int32_t existing_files = 0;
  int32_t deleted_files = 0;
  int64_t added_rows = 0;
  int64_t existing_rows = 0;
  int64_t deleted_rows = 0;
  std::vector<FieldSummary> partitions;
  std::optional<int64_t> first_row_id;
};

enum class FileContent { kData = 0, kPositionDeletes = 1, kEqualityDeletes = 2 };

/// A data or delete file as a manifest lists it. Metrics maps are keyed by field id;
/// bounds are single-value serialised.
struct DataFile {
  FileContent content = FileContent::kData;
  std::string file_path;
  std::string file_format = "PARQUET";
  /// The partition tuple, one value per field of the manifest's partition spec, as Avro
  /// decodes them (int and long as int64, date as days, strings, bytes).
  std::vector<avro::Value> partition;
  int64_t record_count = 0;
  int64_t file_size_in_bytes = 0;
  std::map<int32_t, int64_t> column_sizes;
  std::map<int32_t, int64_t> value_counts;
  std::map<int32_t, int64_t> null_value_counts;
  std::map<int32_t, int64_t> nan_value_counts;
  std::map<int32_t, std::string> lower_bounds;
  std::map<int32_t, std::string> upper_bounds;
  std::vector<int64_t> split_offsets;
  std::vector<int32_t> equality_ids;
  std::optional<int32_t> sort_order_id;
  std::optional<std::string> referenced_data_file;
  std::optional<int64_t> content_offset;
  std::optional<int64_t> content_size_in_bytes;
  std::optional<int64_t> first_row_id;
};

enum class EntryStatus { kExisting = 0, kAdded = 1, kDeleted = 2 };

struct ManifestEntry {
  EntryStatus status = EntryStatus::kAdded;
  /// After inheritance from the manifest list: always set.
  int64_t snapshot_id = 0;
  int64_t sequence_number = 0;
  int64_t file_sequence_number = 0;
  DataFile file;
};

/// Reads a manifest list. Errors name `what`.
arrow::Result<std::vector<ManifestFile>> ReadManifestList(std::string_view bytes,
                                                          const std::string& what);

/// Reads a manifest's entries; null snapshot ids and sequence numbers of added entries
/// are inherited from `manifest` (spec "Sequence Number Inheritance"). Errors name
/// `what`.
arrow::Result<std::vector<ManifestEntry>> ReadManifest(std::string_view bytes,
                                                       const std::string& what,
                                                       const ManifestFile& manifest);

}  // namespace inlet::iceberg
