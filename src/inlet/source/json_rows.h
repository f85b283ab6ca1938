// Kafka message values (JSON objects) decoded into Arrow rows, one message at a time, so
// that a message that does not fit is refused alone (and goes to the dead letters) while
// the others are kept.
#pragma once

#include <arrow/builder.h>
#include <arrow/result.h>
#include <arrow/table.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "inlet/source/json_schema.h"

namespace inlet {

/// Where a message came from: the metadata columns of its row.
struct MessageMeta {
  std::string_view topic;
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = -1;  // -1: none
  std::optional<std::string_view> key;
  std::optional<std::string> headers_json;  // a JSON object of header name -> value
};

/// The metadata columns (docs/streams.md): _kafka_topic, _kafka_partition, _kafka_offset,
/// _kafka_timestamp, then _kafka_key and _kafka_headers when asked for, then
/// _ingested_at.
inline constexpr const char* kTopicColumn = "_kafka_topic";
inline constexpr const char* kPartitionColumn = "_kafka_partition";
inline constexpr const char* kOffsetColumn = "_kafka_offset";
inline constexpr const char* kTimestampColumn = "_kafka_timestamp";
inline constexpr const char* kKeyColumn = "_kafka_key";
inline constexpr const char* kHeadersColumn = "_kafka_headers";
inline constexpr const char* kIngestedAtColumn = "_ingested_at";

/// The columns of a batch being finished, from its builders (which are reset).
class FinishedColumns {
 public:
  arrow::Status Add(const std::string& name, arrow::ArrayBuilder* builder);
  void Add(const std::string& name, std::shared_ptr<arrow::Array> array);
  /// The last column, _ingested_at: at_us in each of the `rows` rows.
  arrow::Status AddIngestedAt(int64_t at_us, int64_t rows);
  std::shared_ptr<arrow::Table> Table(int64_t rows) const;

 private:
  arrow::FieldVector fields_;
  arrow::ArrayVector arrays_;
};

/// The fields of the message being appended, for checks beyond types
/// (JsonRowOptions::check).
class MessageFields {
 public:
  virtual ~MessageFields() = default;
  /// Whether the field is present and not null.
  virtual bool Has(std::string_view name) const = 0;
  /// The value of a string field; nullopt when it is absent, null or not a string.
  virtual std::optional<std::string_view> String(std::string_view name) const = 0;
};

struct JsonRowOptions {
  /// Column types the rows must have (declared, or the existing table's); a message whose
  /// value does not convert is refused. Other fields are inferred from their first value:
  /// boolean, int64, double (integers widen to it), string, and objects or arrays kept as
  /// their JSON text. A later value of another kind is refused.
  std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>> declared;
  /// Declared columns a message must have, non-null.
  std::vector<std::string> required;
  /// Refuse fields that have no declared column (a JSON Schema's additionalProperties:
  /// false).
  bool closed = false;
  /// Called for every message that parses; a message it refuses is refused with its
  /// status.
  std::function<arrow::Status(const MessageFields&)> check;
  /// The Kafka metadata columns and _ingested_at (an HTTP source's records have none).
  bool metadata = true;
  bool include_key = true;
  bool include_headers = false;
  /// Non-empty: for each column some message of a batch lacked (a missing field, not a
  /// null), the batch ends with a boolean column named given_prefix + the column's name,
  /// false in the rows whose message lacked it (kGivenPrefix, MergeOptions::given_flags:
  /// a partial update).
  std::string given_prefix;
};

/// A JSON Schema's enums checked on a message's string fields: Invalid naming the first
/// field whose value is not among its enum's.
arrow::Status CheckEnums(const MessageSchema& schema, const MessageFields& fields);

/// Whether values of this type can be read from JSON messages (as a declared column).
bool ReadableFromJson(const arrow::DataType& type);

class JsonRows {
 public:
  explicit JsonRows(JsonRowOptions options);
  ~JsonRows();
  JsonRows(JsonRows&&) noexcept;

  /// Appends the message as a row. A value that is not a JSON object, or a field that
  /// does not fit its column, is Invalid (saying which field and why) and appends
  /// nothing.
  arrow::Status Append(std::string_view value, const MessageMeta& meta);

  /// Gives a column a type learned after construction (from a Debezium schema part, say).
  /// A new column, or one with only nulls so far, takes it; a column that already has a
  /// type keeps it, and messages go on being checked against that.
  arrow::Status Declare(const std::string& name,
                        const std::shared_ptr<arrow::DataType>& type);

  int64_t rows() const;
  /// The rows appended since the last Finish, columns in the order first seen, metadata
  /// columns last (_ingested_at = ingested_at_us); resets the row count, keeping the
  /// columns' types.
  arrow::Result<std::shared_ptr<arrow::Table>> Finish(int64_t ingested_at_us);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace inlet
