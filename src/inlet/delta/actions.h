// Delta log actions (PROTOCOL.md "Actions") and their JSON form.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "inlet/common/json.h"
#include "inlet/table/partition.h"

namespace inlet::delta {

struct Protocol {
  int min_reader_version = 1;
  int min_writer_version = 2;
  /// Present only for reader version 3 / writer version 7.
  std::optional<std::vector<std::string>> reader_features;
  std::optional<std::vector<std::string>> writer_features;

  bool HasReaderFeature(std::string_view name) const;
  bool HasWriterFeature(std::string_view name) const;
};

struct Metadata {
  std::string id;
  std::string name;
  std::string description;
  std::string format_provider = "parquet";
  std::map<std::string, std::string> format_options;
  std::string schema_string;
  std::vector<std::string> partition_columns;
  std::map<std::string, std::string> configuration;
  std::optional<int64_t> created_time;

  std::optional<std::string> Property(const std::string& key) const;
};

struct DeletionVectorDescriptor {
  std::string storage_type;  // "u" relative uuid path, "i" inline, "p" absolute path
  std::string path_or_inline_dv;
  std::optional<int32_t> offset;
  int32_t size_in_bytes = 0;
  int64_t cardinality = 0;

  /// storage_type + path_or_inline_dv (+ "@" offset): identifies the DV in file keys.
  std::string UniqueId() const;
};

struct AddFile {
  std::string path;  // as in the log: URI-encoded, usually relative to the table root
  PartitionValues partition_values;
  int64_t size = 0;
  int64_t modification_time = 0;
  bool data_change = true;
  std::string stats;  // the JSON statistics string, empty when absent
  std::map<std::string, std::string> tags;
  std::optional<DeletionVectorDescriptor> deletion_vector;
  std::optional<int64_t> base_row_id;
  std::optional<int64_t> default_row_commit_version;
  std::optional<std::string> clustering_provider;
};

struct RemoveFile {
  std::string path;
  std::optional<int64_t> deletion_timestamp;
  bool data_change = true;
  bool extended_file_metadata = false;
  PartitionValues partition_values;
  std::optional<int64_t> size;
  std::optional<DeletionVectorDescriptor> deletion_vector;
};

struct Txn {
  std::string app_id;
  int64_t version = 0;
  std::optional<int64_t> last_updated;
};

struct DomainMetadata {
  std::string domain;
  std::string configuration;
  bool removed = false;
};

struct CdcFile {
  std::string path;
  PartitionValues partition_values;
  int64_t size = 0;
};

struct Sidecar {
  std::string path;  // relative to _delta_log/_sidecars/
  int64_t size = 0;
};

/// The actions of one commit or checkpoint file, in file order per kind.
struct ActionSet {
  std::optional<Json> commit_info;
  std::optional<Protocol> protocol;
  std::optional<Metadata> metadata;
  std::vector<AddFile> adds;
  std::vector<RemoveFile> removes;
  std::vector<Txn> txns;
  std::vector<DomainMetadata> domains;
  std::vector<CdcFile> cdcs;
  std::vector<Sidecar> sidecars;
  std::optional<int64_t> checkpoint_metadata_version;
};

/// Parses newline-delimited JSON actions. `file` names the source in errors, which also
/// give the line number. Unknown actions and fields are ignored, as the protocol asks.
arrow::Result<ActionSet> ParseActions(std::string_view text, std::string_view file);

/// Adds the action(s) in one JSON object ({"add": {...}}) to out. `what` names the place
/// in errors.
arrow::Status ParseActionObject(const Json& line, std::string_view what, ActionSet* out);

/// Keys a logical file for reconciliation: the decoded path plus the DV's unique id.
std::string FileKey(const std::string& path,
                    const std::optional<DeletionVectorDescriptor>& dv);

/// The remove action (dataChange, extended metadata) of a live file, at time now (ms).
RemoveFile ToRemove(const AddFile& a, int64_t now);

Json ToJson(const Protocol& p);
Json ToJson(const Metadata& m);
Json ToJson(const AddFile& a);
Json ToJson(const RemoveFile& r);
Json ToJson(const Txn& t);
Json ToJson(const DomainMetadata& d);
Json ToJson(const CdcFile& c);

arrow::Result<Protocol> ProtocolFromJson(const Json& j);
arrow::Result<Metadata> MetadataFromJson(const Json& j);

}  // namespace inlet::delta
