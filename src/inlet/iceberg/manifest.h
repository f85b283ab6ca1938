// Iceberg manifest lists and manifests (spec "Manifests", "Manifest Lists"): the Avro
// files that list a snapshot's data and delete files with their partition values and
// column metrics.
#pragma once

#include <arrow/result.h>
#include <arrow/scalar.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "inlet/iceberg/avro.h"

namespace inlet::iceberg {

enum class ManifestContent { kData = 0, kDeletes = 1 };
enum class FileContent { kData = 0, kPositionDeletes = 1, kEqualityDeletes = 2 };
enum class EntryStatus { kExisting = 0, kAdded = 1, kDeleted = 2 };

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

struct ManifestEntry {
  EntryStatus status = EntryStatus::kAdded;
  /// After inheritance from the manifest list: always set.
  int64_t snapshot_id = 0;
  int64_t sequence_number = 0;
  int64_t file_sequence_number = 0;
  /// The partition spec of the manifest listing it (its partition tuple's spec).
  int32_t spec_id = 0;
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

/// What a manifest's header says of the table (spec: the Avro key-value metadata).
struct ManifestContext {
  std::string schema_json;  // the table schema the manifest was written with
  int32_t schema_id = 0;
  std::string spec_fields_json;  // the partition spec's fields array
  int32_t spec_id = 0;
  int format_version = 2;
  ManifestContent content = ManifestContent::kData;
  /// The partition tuple's fields: name, partition field id and Arrow result type.
  std::vector<std::tuple<std::string, int32_t, std::shared_ptr<arrow::DataType>>>
      partition;
};

/// A manifest's bytes (Avro, deflate) listing `entries`. ADDED entries of this commit
/// leave snapshot id and sequence numbers null (inherited); others carry theirs.
/// Partition values are Arrow-typed scalars (null for null), one per partition field.
struct EntryToWrite {
  EntryStatus status = EntryStatus::kAdded;
  std::optional<int64_t> snapshot_id;
  std::optional<int64_t> sequence_number;
  std::optional<int64_t> file_sequence_number;
  DataFile file;
  std::vector<std::shared_ptr<arrow::Scalar>> partition;
};
arrow::Result<std::string> WriteManifest(const ManifestContext& context,
                                         const std::vector<EntryToWrite>& entries);

/// A manifest list's bytes. Metadata keys snapshot-id, parent-snapshot-id,
/// sequence-number, format-version and (v3) first-row-id as Java writes them. On v3 the
/// manifests' first_row_id is written as given (AssignFirstRowIds gives it).
arrow::Result<std::string> WriteManifestList(const std::vector<ManifestFile>& manifests,
                                             int64_t snapshot_id,
                                             std::optional<int64_t> parent_snapshot_id,
                                             int64_t sequence_number, int format_version,
                                             std::optional<int64_t> first_row_id = {});

/// Row lineage (spec "First Row ID Assignment"): gives each data manifest without a
/// first_row_id one, from `next_row_id` on, each the next after the added and existing
/// rows of the one before (as Java does). Returns the next row id after them.
int64_t AssignFirstRowIds(std::vector<ManifestFile>* manifests, int64_t next_row_id);

/// A partition value as Avro decoded it, as a scalar of `type` (the transform's result
/// type; null for null). Invalid when the value does not fit the type, naming the data
/// file and the partition field.
arrow::Result<std::shared_ptr<arrow::Scalar>> PartitionScalar(
    const avro::Value& value, const std::shared_ptr<arrow::DataType>& type,
    const std::string& file, const std::string& field);

/// The Avro form of a partition value of `type` (a transform's result type).
arrow::Result<avro::Value> PartitionAvroValue(const arrow::Scalar& value);

}  // namespace inlet::iceberg
