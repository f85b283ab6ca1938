// A Delta commit file (_delta_log/<version>.json) as another engine may have written it:
// newline-delimited actions, the table schema in metaData.schemaString, and the reader
// and writer features of protocol. What parses must serialize and parse again.
#include <string>

#include "fuzz/fuzz_util.h"
#include "inlet/delta/actions.h"
#include "inlet/delta/features.h"
#include "inlet/delta/schema.h"

using namespace inlet;
using namespace inlet::delta;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = ParseActions(fuzz::Text(data, size), "00000000000000000007.json");
  if (!parsed.ok()) return 0;
  const ActionSet& actions = *parsed;
  if (actions.protocol) (void)CheckReadable(*actions.protocol);
  if (actions.metadata) {
    (void)GetColumnMappingMode(*actions.metadata);
    auto schema = ParseDeltaSchema(actions.metadata->schema_string);
    if (schema.ok()) {
      auto text = SerializeDeltaSchema(*schema->arrow_schema);
      fuzz::Require(text.ok(), "a parsed Delta schema serializes",
                    text.status().ToString());
      auto again = ParseDeltaSchema(*text);
      fuzz::Require(again.ok(), "a serialized Delta schema parses",
                    again.status().ToString());
      fuzz::Require(again->arrow_schema->Equals(*schema->arrow_schema),
                    "a Delta schema round-trips", *text);
    }
  }
  // What inlet writes of these actions reads back as the same actions.
  std::string out;
  auto line = [&](const char* key, const Json& value) {
    out += Json{{key, value}}.dump() + "\n";
  };
  if (actions.protocol) line("protocol", ToJson(*actions.protocol));
  if (actions.metadata) line("metaData", ToJson(*actions.metadata));
  for (const auto& a : actions.adds) line("add", ToJson(a));
  for (const auto& r : actions.removes) line("remove", ToJson(r));
  for (const auto& t : actions.txns) line("txn", ToJson(t));
  for (const auto& d : actions.domains) line("domainMetadata", ToJson(d));
  for (const auto& c : actions.cdcs) line("cdc", ToJson(c));
  auto again = ParseActions(out, "rewritten");
  fuzz::Require(again.ok(), "written actions parse",
                again.status().ToString() + "\n" + out);
  fuzz::Require(again->adds.size() == actions.adds.size() &&
                    again->removes.size() == actions.removes.size() &&
                    again->txns.size() == actions.txns.size() &&
                    again->domains.size() == actions.domains.size() &&
                    again->cdcs.size() == actions.cdcs.size(),
                "written actions keep their count", out);
  return 0;
}
