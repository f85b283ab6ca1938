#include "inlet/table/row_bitmap.h"

#include <roaring/roaring.h>

#include <algorithm>
#include <array>
#include <cstring>

namespace inlet::table {

namespace {

constexpr uint32_t kDvMagic = 1681511377;
// The first four bytes of a portable Roaring bitmap: without run containers, or (low
// half) with some.
constexpr uint32_t kCookieNoRuns = 12346;
constexpr uint32_t kCookie = 12347;
// More deleted rows than any one data file holds: damaged bytes.
constexpr uint64_t kMaxRows = uint64_t{1} << 32;

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

arrow::Result<std::vector<uint64_t>> DecodeRowBitmap(
    std::string_view data, std::optional<uint64_t> cardinality) {
  if (data.size() < 12 || ReadLE32(data.data()) != kDvMagic) {
    return arrow::Status::Invalid("row bitmap has a bad magic number or is truncated");
  }
  uint64_t count;
  std::memcpy(&count, data.data() + 4, 8);
  size_t pos = 12;
  // Every bucket is deserialized (and counted) before a row is materialized: a damaged
  // bitmap that claims billions of rows is refused, not allocated.
  struct Bucket {
    uint32_t high;
    roaring_bitmap_t* bitmap;
  };
  std::vector<Bucket> buckets;
  struct Free {
    std::vector<Bucket>* b;
    ~Free() {
      for (auto& x : *b) roaring_bitmap_free(x.bitmap);
    }
  } free_buckets{&buckets};
  uint64_t total = 0;
  for (uint64_t b = 0; b < count; ++b) {
    if (pos + 8 > data.size()) return arrow::Status::Invalid("row bitmap is truncated");
    uint32_t high = ReadLE32(data.data() + pos);
    pos += 4;
    if (!buckets.empty() && high <= buckets.back().high)
      return arrow::Status::Invalid(
          "row bitmap is corrupt: its buckets are out of order");
    // The portable format's cookie, checked here: the library prints to stderr on a
    // wrong one before it refuses the bytes.
    uint32_t cookie = ReadLE32(data.data() + pos);
    if (cookie != kCookieNoRuns && (cookie & 0xFFFF) != kCookie)
      return arrow::Status::Invalid("row bitmap is corrupt: bucket ", b,
                                    " is not a portable Roaring bitmap");
    roaring_bitmap_t* bitmap =
        roaring_bitmap_portable_deserialize_safe(data.data() + pos, data.size() - pos);
    if (bitmap == nullptr) return arrow::Status::Invalid("row bitmap is corrupt");
    buckets.push_back({high, bitmap});
    pos += roaring_bitmap_portable_size_in_bytes(bitmap);
    total += roaring_bitmap_get_cardinality(bitmap);
  }
  if (cardinality && total != *cardinality) {
    return arrow::Status::Invalid("row bitmap holds ", total,
                                  " rows where its descriptor says ", *cardinality);
  }
  if (total > kMaxRows)
    return arrow::Status::Invalid("row bitmap is corrupt: it holds ", total, " rows");
  // The rows are collected by iterating, never into an array sized from the bytes: a
  // damaged bitset container's stored cardinality can understate the bits it sets (the
  // library trusts it), and the walk checks order and count as it goes.
  struct Walk {
    std::vector<uint64_t>* rows;
    uint64_t high = 0;
    uint64_t limit = 0;
    bool bad = false;
  } walk{nullptr, 0, total, false};
  std::vector<uint64_t> rows;
  rows.reserve(std::min<uint64_t>(total, uint64_t{1} << 20));
  walk.rows = &rows;
  for (const auto& [high, bitmap] : buckets) {
    walk.high = uint64_t{high} << 32;
    roaring_iterate(
        bitmap,
        [](uint32_t low, void* param) {
          auto* w = static_cast<Walk*>(param);
          uint64_t row = w->high | low;
          if (w->rows->size() >= w->limit ||
              (!w->rows->empty() && row <= w->rows->back())) {
            w->bad = true;
            return false;
          }
          w->rows->push_back(row);
          return true;
        },
        &walk);
    if (walk.bad) break;
  }
  if (walk.bad || rows.size() != total)
    return arrow::Status::Invalid(
        "row bitmap is corrupt: its rows are out of order or not as many as it says");
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
