#include "inlet/delta/deletion_vector.h"

#include <arrow/buffer.h>
#include <roaring/roaring.h>

#include <cstring>

#include "inlet/table/row_bitmap.h"
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
  INLET_ASSIGN_OR_FAIL(auto rows, table::DecodeRowBitmap(data));
  EXPECT_EQ(rows, (std::vector<uint64_t>{0, 3, 70000, (2ULL << 32) + 1}));
  EXPECT_FALSE(table::DecodeRowBitmap(data.substr(0, 14)).ok());
  EXPECT_FALSE(table::DecodeRowBitmap("garbage-garbage").ok());
  // The cardinality of the DV's descriptor: checked before rows are made.
  EXPECT_TRUE(table::DecodeRowBitmap(data, 4).ok());
  auto miscounted = table::DecodeRowBitmap(data, 5);
  ASSERT_FALSE(miscounted.ok());
  EXPECT_NE(
      miscounted.status().message().find("holds 4 rows where its descriptor says 5"),
      std::string::npos)
      << miscounted.status().ToString();
}

// Damaged bitmaps found by fuzzing (fuzz/delta_deletion_vector_fuzz.cc) are refused.
TEST(DeletionVector, RefusesDamagedBitmaps) {
  // Buckets out of order would give rows out of order.
  std::string a = table::EncodeRowBitmap({(5ULL << 32) + 1});
  std::string b = table::EncodeRowBitmap({7});
  std::string swapped = a.substr(0, 4);
  uint64_t count = 2;
  swapped.append(reinterpret_cast<const char*>(&count), 8);
  swapped += a.substr(12) + b.substr(12);
  auto out_of_order = table::DecodeRowBitmap(swapped);
  ASSERT_FALSE(out_of_order.ok());
  EXPECT_NE(out_of_order.status().message().find("out of order"), std::string::npos);
  // A bitset container whose stored cardinality (100) understates its bits (5000): the
  // library trusts the count, so rows sized by it would overflow (a review found it).
  {
    std::string dv;
    auto put = [&](uint64_t v, int bytes) {
      for (int i = 0; i < bytes; ++i) dv.push_back(static_cast<char>(v >> (8 * i)));
    };
    put(1681511377, 4);  // magic
    put(1, 8);           // buckets
    put(0, 4);           // high half
    put(12346, 4);       // cookie: no run containers
    put(1, 4);           // containers
    put(0, 2);           // key
    put(99, 2);          // cardinality - 1
    put(16, 4);          // offset of the container
    std::string bits(8192, '\0');
    for (int r = 0; r < 5000; ++r) bits[r / 8] |= static_cast<char>(1 << (r % 8));
    dv += bits;
    EXPECT_FALSE(table::DecodeRowBitmap(dv).ok());
    EXPECT_FALSE(table::DecodeRowBitmap(dv, 100).ok());
  }
  // A bucket that is not a portable Roaring bitmap (a wrong cookie).
  std::string cookie = b;
  cookie[16] ^= 0x7F;
  EXPECT_FALSE(table::DecodeRowBitmap(cookie).ok());
}

TEST(DeletionVector, EncodesZ85AsTheSpecVector) {
  const char raw[] = {'\x86', '\x4F', '\xD2', '\x6F', '\xB5', '\x59', '\xF7', '\x5B'};
  EXPECT_EQ(EncodeZ85(std::string_view(raw, 8)), "HelloWorld");
}

// A DV file written by inlet is read back through the descriptor, and its layout matches
// the protocol: version byte 1, big-endian size, data, CRC-32 (known value for the data).
TEST(DeletionVector, WritesFilesReadersLoad) {
  testing::TempDir dir;
  INLET_ASSIGN_OR_FAIL(auto store, TableStore::Make(dir.path()));
  DeletionVectorFile file;
  std::vector<uint64_t> first = {0, 1, 2, 5, 100000, (1ULL << 32) + 7};
  std::vector<uint64_t> second;
  for (uint64_t r = 10; r < 5000; r += 3) second.push_back(r);
  auto a = file.Add(first);
  auto b = file.Add(second);
  EXPECT_EQ(a.offset, 1);
  EXPECT_EQ(b.offset, 1 + 4 + a.size_in_bytes + 4);
  EXPECT_EQ(a.cardinality, 6);
  EXPECT_EQ(a.path_or_inline_dv.size(), 20u);
  INLET_ASSERT_OK(file.Write(*store));
  INLET_ASSIGN_OR_FAIL(auto rows_a, LoadDeletionVector(*store, a));
  INLET_ASSIGN_OR_FAIL(auto rows_b, LoadDeletionVector(*store, b));
  EXPECT_EQ(rows_a, first);
  EXPECT_EQ(rows_b, second);
  INLET_ASSIGN_OR_FAIL(auto path, DvFilePath(*store, a));
  EXPECT_EQ(path, store->Resolve(file.relative_path()));
  INLET_ASSIGN_OR_FAIL(auto bytes, store->ReadFile(file.relative_path()));
  std::string s = bytes->ToString();
  ASSERT_EQ(s[0], 1);
  // The DV {3} built by hand from the two specs (Delta's magic, count and high half; the
  // roaring portable format: cookie 12346, one container, key 0 cardinality 1, offset 16,
  // value 3), and its CRC-32 as zlib.crc32 computes it: 0xdc8be776.
  const unsigned char expect[] = {0xd1, 0xd3, 0x39, 0x64, 1,    0,    0, 0, 0, 0, 0, 0,
                                  0,    0,    0,    0,    0x3a, 0x30, 0, 0, 1, 0, 0, 0,
                                  0,    0,    0,    0,    16,   0,    0, 0, 3, 0};
  std::string data = table::EncodeRowBitmap({3});
  EXPECT_EQ(data, std::string(reinterpret_cast<const char*>(expect), sizeof(expect)));
  uint32_t size = (uint8_t(s[1]) << 24) | (uint8_t(s[2]) << 16) | (uint8_t(s[3]) << 8) |
                  uint8_t(s[4]);
  EXPECT_EQ(size, static_cast<uint32_t>(a.size_in_bytes));
  DeletionVectorFile single;
  auto c = single.Add({3});
  INLET_ASSERT_OK(single.Write(*store));
  INLET_ASSIGN_OR_FAIL(auto one, store->ReadFile(single.relative_path()));
  std::string o = one->ToString();
  ASSERT_EQ(o.size(), 1 + 4 + data.size() + 4);
  EXPECT_EQ(o.substr(5, data.size()), data);
  EXPECT_EQ(c.cardinality, 1);
  EXPECT_EQ(o.substr(5 + data.size()), std::string("\xdc\x8b\xe7\x76"));
}

}  // namespace inlet::delta
