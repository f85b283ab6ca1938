// Pipeline configuration: the YAML format of docs/pipelines.md as plain structs,
// validated in one place.
#pragma once

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "inlet/load/maintenance.h"
#include "inlet/load/quality.h"
#include "inlet/load/rows.h"
#include "inlet/load/strategy.h"
#include "inlet/pipeline/schedule.h"
#include "inlet/postgres/postgres_table.h"
#include "inlet/source/source.h"
#include "inlet/source/type_names.h"
#include "inlet/table.h"

namespace inlet::pipeline {

using load::NullCursorPolicy;
using load::RejectPolicy;
using load::Span;
using load::StrategyConfig;
using load::StrategyName;
using load::StrategyType;
using MaintenanceConfig = load::MaintenancePolicy;
enum class SchemaDriftPolicy { kFail, kAddColumns, kIgnore };

/// A partition column: a column of the data, or one derived from a timestamp/date column
/// by year, month, day or hour (transform empty for a plain column).
struct PartitionColumn {
  std::string name;
  std::string source;
  std::string transform;
  /// An Iceberg partition transform of `source` (hidden partitioning: the table derives
  /// the value, no column is added); `name` is then the transform as written, such as
  /// "bucket(id, 16)".
  bool hidden = false;
};

struct DestinationConfig {
  /// The table's path or URI; with a catalog, its name there (namespace.table); for a
  /// PostgreSQL destination its name (schema.table).
  std::string path;
  /// type: postgres: a PostgreSQL table (postgres/postgres_table.h) instead of a
  /// lakehouse table; its table is `path`, its keys `keys`.
  std::optional<PostgresDestinationConfig> postgres;
  /// The Iceberg catalog naming the table (uri empty: the table is named by path).
  CatalogOptions catalog;
  /// The format of a table the pipeline creates (delta, the default, or iceberg); an
  /// existing table must be of it when given.
  std::optional<TableFormat> format;
  std::vector<PartitionColumn> partition_by;
  /// The sort order of an Iceberg table the pipeline creates (WriteOptions::sort_by).
  std::vector<std::string> sort_by;
  /// Writes to a table with a sort order sort in runs of about this many bytes
  /// (WriteOptions::sort_run_bytes); unset: its default.
  std::optional<int64_t> sort_run_size;
  std::vector<std::string> keys;
  std::map<std::string, std::string> properties;
  /// How to reach an s3:// destination, overriding the AWS environment (StorageOptions).
  std::map<std::string, std::string> storage;
  MaintenanceConfig maintenance;
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
  /// postgres_cdc: the changes of one transaction held in memory before they are
  /// committed in parts (a transaction larger than this is applied in several commits).
  int64_t max_transaction_rows = 1000000;
};

/// Streams: where messages that cannot be decoded or do not fit the schema go, with the
/// error and their topic, partition, offset and raw bytes.
struct DeadLetterConfig {
  std::string path;  // a table; empty: none (such a message fails the stream)
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
  /// inlet serve: when the pipeline runs (bounded sources; unset: only when asked to).
  std::optional<ScheduleConfig> schedule;
};

/// What an alert of inlet serve watches (alerts: in the pipeline file).
enum class AlertKind {
  kRunFailed,          // a run failed
  kQualityGate,        // a run failed on a quality gate, or quarantined rows
  kMaintenanceFailed,  // a maintenance step after a commit failed
  kNoNewData,          // no rows written for no_new_data_after
  kStreamFailed,       // a stream stopped on an error (it is started again)
  kStreamLag,          // a stream's lag above stream_lag_messages or stream_lag_seconds
};

/// run_failed, quality_gate, maintenance_failed, no_new_data, stream_failed, stream_lag.
const char* AlertKindName(AlertKind kind);

/// A webhook inlet serve posts to when an incident starts and when it ends.
struct AlertConfig {
  std::string name;
  /// The webhook (a secret: Slack's carry a token); never shown.
  std::string url;
  /// json: inlet's own body; slack: {"text": ...}, which Slack, Mattermost and Teams'
  /// incoming webhooks take.
  bool slack = false;
  std::vector<AlertKind> on;
  /// The pipelines watched; empty: all.
  std::vector<std::string> pipelines;
  int64_t no_new_data_ms = 0;
  int64_t stream_lag_messages = 0;
  int64_t stream_lag_ms = 0;
  /// Deliveries are tried this many times (1 s, 2 s, 4 s ... apart).
  int attempts = 5;
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

/// The alerts of a pipeline file (its alerts: list; empty when it has none), validated
/// against its pipelines.
arrow::Result<std::vector<AlertConfig>> LoadAlerts(const std::string& path);

/// The derived partition columns of destination.partition_by.
std::vector<load::DerivedColumn> Derived(const DestinationConfig& d);

/// Opens the destination table, or where the first commit creates it: by path, or in its
/// catalog.
arrow::Result<std::shared_ptr<Table>> OpenDestination(const DestinationConfig& d);

/// How a table of the pipeline other than its destination (quarantine, dead letters) at
/// path is reached: with destination.storage when it is on S3.
StorageOptions SideTableStorage(const PipelineConfig& c, const std::string& path);

using inlet::ParseTypeName;  // source.schema's type names (source/type_names.h)

}  // namespace inlet::pipeline
