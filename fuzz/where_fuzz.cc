// The --where predicates of scan, delete and update (and a pipeline's filters):
// "amount > 10 AND status IN ('a', 'b') AND ts >= '2024-01-01'".
#include "fuzz/fuzz_util.h"
#include "inlet/predicate.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)inlet::ParseConjunction(inlet::fuzz::Text(data, size));
  return 0;
}
