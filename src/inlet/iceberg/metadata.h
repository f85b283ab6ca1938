// Iceberg table metadata files (spec "Table Metadata", Appendix C): parsed into the
// fields inlet reads and writes, with every other member kept as it was, so that a
// metadata file another engine wrote is written back without losing what inlet does not
// know (statistics, encryption keys, ...).
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "inlet/common/json.h"
#include "inlet/iceberg/schema.h"

namespace inlet::iceberg {

struct PartitionField {
  int32_t source_id = 0;
  int32_t field_id = 0;
  std::string name;
  /// identity, year, month, day, hour, bucket[N], truncate[W], void.
  std::string transform;
};

struct PartitionSpec {
  int32_t spec_id = 0;
  std::vector<PartitionField> fields;
};

struct SortField {
  std::string transform = "identity";
  int32_t source_id = 0;
  std::string direction = "asc";           // asc | desc
  std::string null_order = "nulls-first";  // nulls-first | nulls-last
};

struct SortOrder {
  int32_t order_id = 0;
  std::vector<SortField> fields;
};

struct Snapshot {
  int64_t snapshot_id = 0;
  std::optional<int64_t> parent_snapshot_id;
  int64_t sequence_number = 0;
  int64_t timestamp_ms = 0;
  std::string manifest_list;
  /// "operation" plus string metrics and application keys.
  std::map<std::string, std::string> summary;
  std::optional<int32_t> schema_id;
  /// v3 row lineage.
  std::optional<int64_t> first_row_id;
  std::optional<int64_t> added_rows;

  std::string operation() const;
};

struct SnapshotRef {
  int64_t snapshot_id = 0;
  std::string type = "branch";  // branch | tag
  /// Retention members (min-snapshots-to-keep, max-snapshot-age-ms, max-ref-age-ms),
  /// kept as they were.
  Json retention = Json::object();
};

struct SnapshotLogEntry {
  int64_t timestamp_ms = 0;
  int64_t snapshot_id = 0;
};

struct MetadataLogEntry {
  int64_t timestamp_ms = 0;
  std::string metadata_file;
};

struct TableMetadata {
  int format_version = 2;
  std::string table_uuid;
  std::string location;
  int64_t last_sequence_number = 0;
  int64_t last_updated_ms = 0;
  int32_t last_column_id = 0;
  std::vector<Schema> schemas;
  int32_t current_schema_id = 0;
  std::vector<PartitionSpec> specs;
  int32_t default_spec_id = 0;
  int32_t last_partition_id = 999;
  std::map<std::string, std::string> properties;
  std::optional<int64_t> current_snapshot_id;
  std::vector<Snapshot> snapshots;
  std::vector<SnapshotLogEntry> snapshot_log;
  std::vector<MetadataLogEntry> metadata_log;
  std::vector<SortOrder> sort_orders;
  int32_t default_sort_order_id = 0;
  std::map<std::string, SnapshotRef> refs;
  /// v3: the next row id to assign.
  std::optional<int64_t> next_row_id;
  /// The members inlet does not model, written back unchanged.
  Json other = Json::object();

  const Schema* CurrentSchema() const;
  const Schema* SchemaById(int32_t id) const;
  const PartitionSpec* SpecById(int32_t id) const;
  const PartitionSpec* DefaultSpec() const { return SpecById(default_spec_id); }
  const Snapshot* SnapshotById(int64_t id) const;
  const Snapshot* CurrentSnapshot() const;
  /// `s` and its ancestors, newest first, as far as the metadata still has them (expired
  /// snapshots end the chain; so does a cycle).
  std::vector<const Snapshot*> Ancestry(const Snapshot* s) const;
};

/// The integer a string map (a snapshot summary, table properties) holds at `key`;
/// fallback when it is absent or not an integer.
int64_t IntValue(const std::map<std::string, std::string>& values, const std::string& key,
                 int64_t fallback);

/// Parses a metadata file's JSON. Errors name `what` (the file) and the member. Format
/// versions other than 1, 2 and 3 are refused (NotImplemented).
arrow::Result<TableMetadata> ParseMetadata(std::string_view json,
                                           const std::string& what);

/// The metadata as JSON text (format version 2 or 3 members; v1 members are written for
/// version 1 tables).
arrow::Result<std::string> SerializeMetadata(const TableMetadata& metadata);

}  // namespace inlet::iceberg
