// JSON Schema files (a stream's or an HTTP source's message schema): types, formats,
// required fields, enums, additionalProperties, and the keywords inlet refuses.
#include <string>

#include "fuzz/fuzz_util.h"
#include "inlet/common/json.h"
#include "inlet/source/json_schema.h"

using namespace inlet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Json doc = Json::parse(fuzz::Text(data, size), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded()) return 0;
  (void)ParseMessageSchema(doc, "schema.json");
  return 0;
}
