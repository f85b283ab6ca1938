// Debezium change events, decoded natively: the JSON converter's envelope (with or
// without its schema/payload wrapper) and the flat "unwrap" form of the
// ExtractNewRecordState transform.
#pragma once

#include <arrow/result.h>
#include <arrow/type_fwd.h>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace inlet {

/// Flat rows as newline-delimited JSON objects, and the column types the events' schema
/// declares (empty when the events carry none).
struct DecodedEvents {
  std::string ndjson;
  std::shared_ptr<arrow::Schema> types;
  int64_t rows = 0;
};

/// How a connector sends decimals (its decimal.handling.mode). It matters for events
/// without a schema part: precise (Debezium's default) sends a decimal's unscaled value
/// as base64 big-endian bytes, string as text, double as a JSON number.
enum class DecimalHandling { kPrecise, kString, kDouble };

struct DebeziumOptions {
  DecimalHandling decimals = DecimalHandling::kPrecise;
  /// Declared column types (source.schema). With precise decimals, a text value of a
  /// declared decimal column that the events' schema does not type is decoded from base64
  /// with the declared scale.
  std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>> declared;
};

/// Change events decoded one message at a time (for a stream, where a message that does
/// not decode is set aside alone). See DecodeDebeziumEvents for the rows it makes.
class DebeziumDecoder {
 public:
  /// Errors name `what` and the message number (only the problem when `what` is empty).
  DebeziumDecoder(std::string what, const DebeziumOptions& options);
  ~DebeziumDecoder();
  DebeziumDecoder(DebeziumDecoder&&) noexcept;

  /// The message as one flat JSON object's text; nullopt for a Kafka tombstone (a null
  /// message or payload) and a blank message.
  arrow::Result<std::optional<std::string>> Flatten(std::string_view message,
                                                    int64_t number);

  using Types = std::vector<std::pair<std::string, std::shared_ptr<arrow::DataType>>>;
  /// The column types the events' schema parts declared so far, in first-seen order (new
  /// ones are appended).
  const Types& types() const;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

/// Decodes change events, one JSON document per message. An envelope becomes one row: the
/// fields of `after` (of `before` for a delete), then __op, __ts_ms, and the source's
/// position fields as __source_<name> (ts_ms, lsn, txId, file, pos, row, gtid,
/// commit_lsn, change_lsn, event_serial_no, scn, ord, when present). A message without an
/// envelope (already unwrapped) is kept as it is. Null messages (Kafka tombstones) and
/// blank lines are skipped. The schema part, when present, types the columns: Debezium's
/// dates become dates, its timestamps (Timestamp, MicroTimestamp, NanoTimestamp,
/// ZonedTimestamp) UTC timestamps in microseconds, Connect decimals decimals. Errors name
/// `what` and the message number (1-based).
arrow::Result<DecodedEvents> DecodeDebeziumEvents(
    const std::vector<std::string_view>& messages, const std::string& what,
    const DebeziumOptions& options = {});

/// Splits a file's text into messages: one per line, or the elements of a JSON array.
arrow::Result<DecodedEvents> DecodeDebeziumFile(std::string_view text,
                                                const std::string& what,
                                                const DebeziumOptions& options = {});

}  // namespace inlet
