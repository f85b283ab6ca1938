// An Iceberg table metadata file (metadata/<n>-<uuid>.metadata.json) as Spark, Trino,
// pyiceberg or a REST catalog wrote it: format versions 1 to 3, schemas, partition
// specs, sort orders, snapshots, refs and properties. What parses must serialize, and
// what inlet serializes must parse to the same text again.
#include <string>

#include "fuzz/fuzz_util.h"
#include "inlet/iceberg/metadata.h"

using namespace inlet;
using namespace inlet::iceberg;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto parsed = ParseMetadata(fuzz::Text(data, size), "00007-fuzz.metadata.json");
  if (!parsed.ok()) return 0;
  auto text = SerializeMetadata(*parsed);
  if (!text.ok()) return 0;  // a state inlet refuses to write is refused, not crashed on
  auto again = ParseMetadata(*text, "serialized");
  fuzz::Require(again.ok(), "serialized metadata parses",
                again.status().ToString() + "\n" + *text);
  auto text2 = SerializeMetadata(*again);
  fuzz::Require(text2.ok() && *text2 == *text, "metadata serializes to the same text",
                *text);
  return 0;
}
