#include "inlet/iceberg/puffin.h"

#include "inlet/common/json.h"
#include "inlet/table/row_bitmap.h"

namespace inlet::iceberg {

namespace {

constexpr char kMagic[] = "PFA1";
// The reserved field id of _pos: what a deletion vector is computed from (as Java's
// BaseDVFileWriter records it).
constexpr int64_t kPosFieldId = 2147483645;

void BigEndian32(uint32_t v, std::string* out) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out->push_back(static_cast<char>((v >> shift) & 0xFF));
}

void LittleEndian32(uint32_t v, std::string* out) {
  for (int shift = 0; shift <= 24; shift += 8)
    out->push_back(static_cast<char>((v >> shift) & 0xFF));
}

}  // namespace

std::string DeletionVectorBlob(const std::vector<uint64_t>& positions) {
  std::string body = table::EncodeRowBitmap(positions);  // the magic and the bitmap
  std::string blob;
  blob.reserve(body.size() + 8);
  BigEndian32(static_cast<uint32_t>(body.size()), &blob);
  blob += body;
  BigEndian32(table::Crc32(body), &blob);
  return blob;
}

arrow::Result<PuffinWritten> WriteDeletionVectors(
    const TableStore& store, const std::string& rel,
    const std::vector<DeletionVector>& vectors) {
  PuffinWritten out;
  std::string bytes = kMagic;
  Json blobs = Json::array();
  for (const auto& v : vectors) {
    std::string blob = DeletionVectorBlob(v.positions);
    BlobPlace place{static_cast<int64_t>(bytes.size()),
                    static_cast<int64_t>(blob.size())};
    bytes += blob;
    out.blobs.push_back(place);
    blobs.push_back({{"type", "deletion-vector-v1"},
                     {"fields", {kPosFieldId}},
                     {"snapshot-id", -1},
                     {"sequence-number", -1},
                     {"offset", place.offset},
                     {"length", place.length},
                     {"properties",
                      {{"referenced-data-file", v.data_file},
                       {"cardinality", std::to_string(v.positions.size())}}}});
  }
  // The footer: magic, the JSON payload (uncompressed), its size, 4 flag bytes, magic.
  std::string payload =
      Json{{"blobs", blobs}, {"properties", {{"created-by", "inlet"}}}}.dump();
  bytes += kMagic;
  bytes += payload;
  LittleEndian32(static_cast<uint32_t>(payload.size()), &bytes);
  bytes.append(4, '\0');
  bytes += kMagic;
  auto st = store.PutReplace(rel, bytes);
  if (!st.ok())
    return st.WithMessage("cannot write deletion vector file ", rel, " of ",
                          store.location(), ": ", st.message());
  out.size = static_cast<int64_t>(bytes.size());
  return out;
}

}  // namespace inlet::iceberg
