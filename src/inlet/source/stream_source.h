// Unbounded sources: partitions of ordered messages, each at an offset, consumed
// continuously by stream/ (Kafka today; PostgreSQL logical replication next). The table
// records, per partition, the last offset it holds, as the number of the application
// PositionApp(partition) (see AppState), in the same commit as the rows. On every
// assignment the stream tells the source where to resume from the table's record, so what
// the table has is never read twice and what it lacks is read again.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "inlet/source/source.h"

namespace inlet {

/// A message of an unbounded source. Its views are valid during the on_message call only.
struct StreamMessage {
  int32_t partition = 0;
  int64_t offset = 0;
  int64_t timestamp_ms = -1;  // -1: none
  std::optional<std::string_view> key;
  /// nullopt: a message without a value (a tombstone).
  std::optional<std::string_view> value;
  /// A JSON object of header name -> value, when the source was asked to include headers.
  std::optional<std::string> headers_json;
};

/// Not thread-safe: one stream drives it.
class StreamSource {
 public:
  /// What the stream does when the source's partitions change (called from inside Poll).
  struct Listener {
    /// Partitions were assigned to this consumer: where to resume in each (the next
    /// offset to read; nullopt: the source's start policy). A failure stops the stream.
    std::function<arrow::Result<std::map<int32_t, std::optional<int64_t>>>(
        const std::vector<int32_t>&)>
        on_assign;
    /// Every partition is being revoked; they are still this consumer's during the call.
    std::function<void()> on_revoke;
  };

  virtual ~StreamSource() = default;

  /// Waits up to timeout_ms for messages, and hands each to on_message in order (at most
  /// max of them). Returns how many events it received: the messages, and the events that
  /// carry none (a transient error, a partition's end), which show that the source is
  /// alive. A failure of on_message stops there and is returned. Errors the stream cannot
  /// go on after (an unknown topic, refused credentials) are returned too; transient ones
  /// (a broker outage) the source retries by itself.
  virtual arrow::Result<size_t> Poll(
      int timeout_ms, size_t max,
      const std::function<arrow::Status(const StreamMessage&)>& on_message) = 0;
  /// Reads these partitions again from these offsets (the next to read).
  virtual void Seek(const std::map<int32_t, int64_t>& next) = 0;
  /// The table now holds these partitions up to these offsets (Kafka: the consumer
  /// group's offsets follow, for monitoring only).
  virtual void Committed(const std::map<int32_t, int64_t>& last) = 0;
  /// Messages in the partition after offset `last` (the table's), when the source knows.
  virtual std::optional<int64_t> Lag(int32_t partition, int64_t last) = 0;
  /// A failure the source met outside a message (a fatal client error); OK otherwise.
  virtual arrow::Status fatal() const = 0;
  /// Leaves the consumer group (revoking its partitions first).
  virtual void Close() = 0;

  /// The application id under which a table records the last offset of a partition.
  virtual std::string PositionApp(int32_t partition) const = 0;
  /// The source's name in reports and dead letters (Kafka: the topic).
  virtual const std::string& name() const = 0;
};

/// The unbounded source of a configuration: Kafka (source/kafka_source.cc, in the
/// inlet_kafka target). Invalid for a bounded kind.
arrow::Result<std::unique_ptr<StreamSource>> OpenStreamSource(
    const std::string& pipeline, const SourceConfig& config,
    StreamSource::Listener listener);

}  // namespace inlet
