#include "inlet/delta/deletion_vector.h"

#include <roaring/roaring.h>

#include <cstring>

#include "inlet/testing/util.h"

namespace inlet::delta {

TEST(DeletionVector, DecodesZ85SpecVector) {
  // The test vector of the ZeroMQ Z85 specification (RFC 32).
  INLET_ASSIGN_OR_FAIL(std::string bytes, DecodeZ85("HelloWorld"));
  const unsigned char expect[] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
  ASSERT_EQ(bytes.size(), sizeof(expect));
  EXPECT_EQ(std::memcmp(bytes.data(), expect, sizeof(expect)), 0);
  EXPECT_FALSE(DecodeZ85("Hello").ok() && DecodeZ85("Hell").ok());
  EXPECT_FALSE(DecodeZ85("Hell~").ok());
}

TEST(DeletionVector, DecodesRoaringBitmapArray) {
  roaring_bitmap_t* low = roaring_bitmap_create();
  for (uint32_t v : {0u, 3u, 70000u}) roaring_bitmap_add(low, v);
  roaring_bitmap_t* high = roaring_bitmap_create();
  roaring_bitmap_add(high, 1u);
  std::string data;
  auto put32 = [&](uint32_t v) { data.append(reinterpret_cast<const char*>(&v), 4); };
  auto put_bitmap = [&](roaring_bitmap_t* b) {
    std::string buf(roaring_bitmap_portable_size_in_bytes(b), '\0');
    roaring_bitmap_portable_serialize(b, buf.data());
    data += buf;
  };
  put32(1681511377);
  uint64_t count = 2;
  data.append(reinterpret_cast<const char*>(&count), 8);
  put32(0);
  put_bitmap(low);
  put32(2);  // rows 2^33 + 1
  put_bitmap(high);
  roaring_bitmap_free(low);
  roaring_bitmap_free(high);
  INLET_ASSIGN_OR_FAIL(auto rows, DecodeRoaringBitmapArray(data));
  EXPECT_EQ(rows, (std::vector<uint64_t>{0, 3, 70000, (2ULL << 32) + 1}));
  EXPECT_FALSE(DecodeRoaringBitmapArray(data.substr(0, 14)).ok());
  EXPECT_FALSE(DecodeRoaringBitmapArray("garbage-garbage").ok());
}

}  // namespace inlet::delta
