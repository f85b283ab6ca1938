// Deletion vectors as Delta writers store them: Z85 text (inline DVs and the UUIDs of
// stored ones) and the serialized RoaringTreemap of deleted row indexes. What decodes
// must encode and decode to the same rows. Input: the cardinality (3 bytes,
// little-endian), then the bitmap; Z85 is tried on the whole input.
#include <string>

#include "fuzz/fuzz_util.h"
#include "inlet/delta/deletion_vector.h"
#include "inlet/table/row_bitmap.h"

using namespace inlet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view bytes = fuzz::Text(data, size);
  auto decoded = delta::DecodeZ85(bytes);
  if (decoded.ok() && decoded->size() % 4 == 0) {
    fuzz::Require(delta::DecodeZ85(delta::EncodeZ85(*decoded)).ValueOr("") == *decoded,
                  "Z85 round-trips");
  }
  // The first three bytes are the cardinality the DV's descriptor gives (readers always
  // have one), the rest the bitmap.
  if (size < 3) return 0;
  uint64_t cardinality = data[0] | (uint64_t{data[1]} << 8) | (uint64_t{data[2]} << 16);
  auto rows = table::DecodeRowBitmap(bytes.substr(3), cardinality);
  if (!rows.ok()) return 0;
  fuzz::Require(rows->size() == cardinality, "a deletion vector holds its cardinality");
  for (size_t i = 1; i < rows->size(); ++i)
    fuzz::Require((*rows)[i - 1] < (*rows)[i], "deleted rows ascend and are distinct");
  auto again = table::DecodeRowBitmap(table::EncodeRowBitmap(*rows));
  fuzz::Require(again.ok() && *again == *rows, "a deletion vector round-trips");
  return 0;
}
