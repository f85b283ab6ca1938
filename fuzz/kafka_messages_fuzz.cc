// Kafka message values as a stream decodes them, one message per line: JSON objects
// into Arrow rows (inferred or declared columns, closed schemas, partial updates), or
// Debezium change events flattened first (envelopes, schema parts that type columns).
// The first byte picks the options; each later line is one message.
#include <string>

#include "fuzz/fuzz_util.h"
#include "inlet/source/debezium.h"
#include "inlet/source/json_rows.h"

using namespace inlet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  JsonRowOptions options;
  if (mode & 1) {
    options.declared = {{"id", arrow::int64()},
                        {"amount", arrow::decimal128(12, 2)},
                        {"at", arrow::timestamp(arrow::TimeUnit::MICRO, "UTC")},
                        {"day", arrow::date32()},
                        {"name", arrow::utf8()},
                        {"ok", arrow::boolean()},
                        {"score", arrow::float64()}};
  }
  if (mode & 2) options.required = {"id"};
  if (mode & 4) options.closed = true;
  if (mode & 8) options.given_prefix = "__given_";
  options.include_headers = (mode & 16) != 0;
  const bool debezium = (mode & 32) != 0;
  DebeziumOptions dbz;
  dbz.decimals = (mode & 64) ? DecimalHandling::kPrecise : DecimalHandling::kDouble;
  dbz.declared = options.declared;
  JsonRows rows(options);
  DebeziumDecoder decoder("fuzz", dbz);
  auto lines = fuzz::Parts(fuzz::Text(data + 1, size - 1), "\n");
  int64_t offset = 0;
  for (std::string_view line : lines) {
    MessageMeta meta;
    meta.topic = "orders";
    meta.offset = offset++;
    meta.key = line.substr(0, 4);
    if (options.include_headers) meta.headers_json = R"({"h":"v"})";
    std::string value(line);
    if (debezium) {
      auto flat = decoder.Flatten(line, offset);
      if (!flat.ok() || !*flat) continue;
      value = **flat;
      for (const auto& [name, type] : decoder.types()) (void)rows.Declare(name, type);
    }
    (void)rows.Append(value, meta);
    if (offset % 16 == 0) {
      auto table = rows.Finish(1);
      if (table.ok()) {
        auto valid = (*table)->ValidateFull();
        fuzz::Require(valid.ok(), "decoded rows are valid Arrow", valid.ToString());
      }
    }
  }
  auto table = rows.Finish(1);
  if (table.ok()) {
    auto valid = (*table)->ValidateFull();
    fuzz::Require(valid.ok(), "decoded rows are valid Arrow", valid.ToString());
  }
  // The same messages as a Debezium file (a line each, or a JSON array).
  auto events = DecodeDebeziumFile(fuzz::Text(data + 1, size - 1), "events.json", dbz);
  (void)events;
  return 0;
}
