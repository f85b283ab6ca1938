// CSV files read by a pipeline's file source (header, dialect, declared types, RFC 3339
// timestamps, the places named in errors).
#include "fuzz/text_files_common.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  inlet::fuzz::ReadAsSource(inlet::fuzz::Text(data, size), "csv", "csv");
  return 0;
}
