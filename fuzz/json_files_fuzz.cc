// JSON files read by a pipeline's file source: NDJSON, or JSON text (an array of objects
// or one object per line), dates and times typed as CSV types them, declared types.
#include "fuzz/text_files_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  bool lines = size > 0 && data[size - 1] == '\n';
  inlet::fuzz::ReadAsSource(inlet::fuzz::Text(data, size), lines ? "ndjson" : "json",
                            lines ? "ndjson" : "json");
  return 0;
}
