// Pipeline configuration: the YAML format of docs/pipelines.md as plain structs, validated
// in one place.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include "inlet/load/cdc.h"
#include "inlet/load/quality.h"
#include "inlet/load/watermark.h"
#include "inlet/source/debezium.h"
#include "inlet/source/json_schema.h"
#include "inlet/table.h"

namespace inlet::pipeline {

enum class StrategyType { kFullRefresh, kAppend, kWatermark, kMerge, kSnapshotDiff, kCdc };
using load::NullCursorPolicy;
using load::RejectPolicy;
enum class SchemaDriftPolicy { kFail, kAddColumns, kIgnore };

const char* StrategyName(StrategyType t);

/// A partition column: a column of the data, or one derived from a timestamp/date column
/// by year, month, day or hour (transform empty for a plain column).
struct PartitionColumn {
  std::string name;
  std::string source;
  std::string transform;
};

/// A span of cursor values: microseconds when written with a unit (30s, 15m, 2h, 1d), a
/// plain count for integer cursors otherwise.
struct Span {
  int64_t value = 0;
  bool has_unit = false;
};

/// A Kafka source (type: kafka), read by `inlet stream`.
struct KafkaSourceConfig {
  std::string brokers;
  std::string topic;
  /// The consumer group (default inlet-<pipeline name>). Offsets committed to it are for
  /// monitoring: the table's own record of them decides where consumption resumes.
  std::string group;
  /// Where a partition the table has no offset for starts: earliest or latest.
  std::string start = "earliest";
  /// Passed to librdkafka as they are (security.protocol, sasl.*, ssl.*, ...). Values may be
  /// secrets: they are never logged or written.
  std::map<std::string, std::string> properties;
  /// Adds the message key as _kafka_key (string), and the headers as _kafka_headers (a JSON
  /// object of strings).
  bool include_key = true;
  bool include_headers = false;
  /// schema_file: the messages' JSON Schema (its columns are also SourceConfig::schema);
  /// its required fields, enums and additionalProperties are checked per message.
  std::string schema_file;
  MessageSchema message_schema;
};

struct SourceConfig {
  std::string type = "files";
  std::string path;    // resolved against the YAML file's directory
  std::string format;  // empty: from each file's extension
  std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>> schema;
  /// debezium: the connector's decimal.handling.mode (decimal_handling).
  DecimalHandling decimals = DecimalHandling::kPrecise;
  KafkaSourceConfig kafka;
};

/// Table maintenance after committed runs (docs/pipelines.md "Maintenance").
struct MaintenanceConfig {
  /// Compact small files after every N-th committed run (0: never), into files of
  /// optimize_target_size bytes (0: the table's), optionally in Z-order.
  int64_t optimize_interval = 0;
  int64_t optimize_target_size = 0;
  std::vector<std::string> zorder_by;
  /// Vacuum after every N-th committed run (0: never), keeping files removed less than
  /// vacuum_retention_hours ago (unset: the table's delta.deletedFileRetentionDuration).
  int64_t vacuum_interval = 0;
  std::optional<double> vacuum_retention_hours;
  /// A checkpoint every N table versions: delta.checkpointInterval of a table the pipeline
  /// creates; on an existing table with another interval the pipeline writes them (0: the
  /// table's own interval).
  int64_t checkpoint_interval = 0;
};

struct DestinationConfig {
  std::string path;
  std::vector<PartitionColumn> partition_by;
  std::vector<std::string> keys;
  std::map<std::string, std::string> properties;
  /// How to reach an s3:// destination, overriding the AWS environment (StorageOptions).
  std::map<std::string, std::string> storage;
  MaintenanceConfig maintenance;
};

struct StrategyConfig {
  StrategyType type = StrategyType::kAppend;
  std::string cursor;
  bool inclusive = false;
  std::optional<Span> lookback;
  std::optional<Span> safety_margin;
  NullCursorPolicy null_cursor = NullCursorPolicy::kFail;
  // merge: new files merged by destination.keys.
  MergeMode merge_mode = MergeMode::kUpsert;  // upsert | insert_only | delete_insert
  std::string order_by;
  std::string delete_flag;
  bool ignore_null_updates = false;
  std::vector<std::string> update_columns;
  // snapshot_diff: a full extract compared with the table by key and row hash.
  MissingKeys deletes = MissingKeys::kDelete;  // delete | soft_delete | keep
  std::string soft_delete_column;
  double min_change_percent = 0;
  std::optional<int64_t> full_refresh_every_runs;
  std::optional<double> full_refresh_every_hours;
  // cdc: change events applied by key in sequence order.
  std::vector<std::string> sequence_by;
  std::string operation_column;  // empty: __op when the source has it, else op
  std::map<std::string, load::ChangeOp> operations = load::DefaultOperations();
  bool keep_operation_column = false;
  // cdc with scd_type 2: history (valid_from/valid_to/is_current), new versions only when a
  // tracked column changes (empty: every column).
  int64_t scd_type = 1;
  std::vector<std::string> track_history_columns;
  std::string valid_from_column = "valid_from";
  std::string valid_to_column = "valid_to";
  std::string is_current_column = "is_current";
};

struct QualityConfig {
  std::optional<int64_t> min_rows;
  std::optional<int64_t> max_rows;
  RejectPolicy null_keys = RejectPolicy::kFail;
  RejectPolicy duplicate_keys = RejectPolicy::kFail;
  std::string quarantine_path;
  SchemaDriftPolicy schema_drift = SchemaDriftPolicy::kFail;
};

struct ProcessingConfig {
  int64_t batch_size = 64 * 1024;
  int max_retries = 3;
  /// Streams: a commit once the buffered messages reach flush_rows or flush_bytes (of
  /// message values), or the oldest has waited flush_interval_ms, whichever comes first.
  int64_t flush_rows = 10000;
  int64_t flush_bytes = 64LL * 1024 * 1024;
  int64_t flush_interval_ms = 10000;
};

/// Streams: where messages that cannot be decoded or do not fit the schema go, with the
/// error and their topic, partition, offset and raw bytes.
struct DeadLetterConfig {
  std::string path;  // a Delta table; empty: none (such a message fails the stream)
};

struct PipelineConfig {
  std::string name;
  std::string file;  // the YAML file and line, for messages
  int line = 0;
  SourceConfig source;
  DestinationConfig destination;
  StrategyConfig strategy;
  QualityConfig quality;
  ProcessingConfig processing;
  DeadLetterConfig dead_letters;
};

using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;

/// Parses YAML text. file names the text in errors ("file:line: key: problem"); relative
/// paths are resolved against base_dir; ${VAR} and ${VAR:-default} expand through env.
arrow::Result<std::vector<PipelineConfig>> ParsePipelines(const std::string& text,
                                                          const std::string& file,
                                                          const std::string& base_dir,
                                                          const EnvLookup& env);

/// Reads and parses a pipeline file, expanding variables from the process environment.
arrow::Result<std::vector<PipelineConfig>> LoadPipelines(const std::string& path);

/// Parses a type name of source.schema ("long", "decimal(10,2)", ...).
arrow::Result<std::shared_ptr<arrow::DataType>> ParseTypeName(const std::string& name);

}  // namespace inlet::pipeline
