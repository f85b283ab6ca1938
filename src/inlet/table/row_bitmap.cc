#include "inlet/table/row_bitmap.h"

#include <roaring/roaring.h>

#include <array>
#include <cstring>

namespace inlet::table {

namespace {

constexpr uint32_t kDvMagic = 1681511377;

uint32_t ReadLE32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;  // x86-64 and aarch64 Linux are little-endian
}

void AppendLE(uint64_t v, int bytes, std::string* out) {
  for (int i = 0; i < bytes; ++i)
    out->push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
}

}  // namespace

uint32_t Crc32(std::string_view data) {
  static const auto table = [] {
    std::array<uint32_t, 256> t{};
    for (uint32_t i = 0; i < 256; ++i) {
      uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char ch : data) crc = table[(crc ^ ch) & 0xFF] ^ (crc >> 8);
  return crc ^ 0xFFFFFFFFu;
}

std::string EncodeRowBitmap(const std::vector<uint64_t>& rows) {
  std::string out;
  AppendLE(kDvMagic, 4, &out);
  // One 32-bit bitmap per distinct high half, ascending.
  std::vector<std::pair<uint32_t, std::vector<uint32_t>>> groups;
  for (uint64_t r : rows) {
    auto high = static_cast<uint32_t>(r >> 32);
    if (groups.empty() || groups.back().first != high)
      groups.emplace_back(high, std::vector<uint32_t>{});
    groups.back().second.push_back(static_cast<uint32_t>(r));
  }
  AppendLE(groups.size(), 8, &out);
  for (const auto& [high, low] : groups) {
    AppendLE(high, 4, &out);
    roaring_bitmap_t* bitmap = roaring_bitmap_of_ptr(low.size(), low.data());
    roaring_bitmap_run_optimize(bitmap);
    size_t at = out.size();
    out.resize(at + roaring_bitmap_portable_size_in_bytes(bitmap));
    roaring_bitmap_portable_serialize(bitmap, out.data() + at);
    roaring_bitmap_free(bitmap);
  }
  return out;
}

arrow::Result<std::vector<uint64_t>> DecodeRowBitmap(std::string_view data) {
  if (data.size() < 12 || ReadLE32(data.data()) != kDvMagic) {
    return arrow::Status::Invalid("row bitmap has a bad magic number or is truncated");
  }
  uint64_t count;
  std::memcpy(&count, data.data() + 4, 8);
  size_t pos = 12;
  std::vector<uint64_t> rows;
  for (uint64_t b = 0; b < count; ++b) {
    if (pos + 4 > data.size()) return arrow::Status::Invalid("row bitmap is truncated");
    uint64_t high = ReadLE32(data.data() + pos);
    pos += 4;
    roaring_bitmap_t* bitmap =
        roaring_bitmap_portable_deserialize_safe(data.data() + pos, data.size() - pos);
    if (bitmap == nullptr) return arrow::Status::Invalid("row bitmap is corrupt");
    pos += roaring_bitmap_portable_size_in_bytes(bitmap);
    std::vector<uint32_t> low(roaring_bitmap_get_cardinality(bitmap));
    roaring_bitmap_to_uint32_array(bitmap, low.data());
    roaring_bitmap_free(bitmap);
    for (uint32_t l : low) rows.push_back((high << 32) | l);
  }
  return rows;
}

std::vector<uint64_t> FilePositions(const std::vector<int64_t>& read_positions,
                                    const std::vector<uint64_t>& deleted) {
  std::vector<uint64_t> out;
  out.reserve(read_positions.size());
  size_t j = 0;
  for (int64_t l : read_positions) {
    uint64_t p = static_cast<uint64_t>(l) + j;
    while (j < deleted.size() && deleted[j] <= p) p = static_cast<uint64_t>(l) + ++j;
    out.push_back(p);
  }
  return out;
}

}  // namespace inlet::table
