#include "inlet/delta/deletion_vector.h"

#include <roaring/roaring.h>

#include <cstdio>
#include <cstring>

#include <arrow/buffer.h>
#include <arrow/status.h>

#include "inlet/common/uri.h"

namespace inlet::delta {

namespace {

constexpr char kZ85Alphabet[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";
constexpr uint32_t kDvMagic = 1681511377;

uint32_t ReadLE32(const char* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;  // x86-64 and aarch64 Linux are little-endian
}

uint32_t ReadBE32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

std::string UuidFromBytes(const std::string& b) {
  char buf[40];
  const auto* u = reinterpret_cast<const unsigned char*>(b.data());
  std::snprintf(buf, sizeof(buf),
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", u[0],
                u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11], u[12], u[13],
                u[14], u[15]);
  return buf;
}


}  // namespace

arrow::Result<std::string> DvFilePath(const TableStore& store, const DeletionVectorDescriptor& dv) {
  if (dv.storage_type == "p") {
    std::string p = PercentDecode(dv.path_or_inline_dv);
    if (p.rfind("file://", 0) == 0) p = p.substr(7);
    else if (p.rfind("file:", 0) == 0) p = p.substr(5);
    return p;
  }
  const std::string& s = dv.path_or_inline_dv;
  if (s.size() < 20) {
    return arrow::Status::Invalid("deletion vector descriptor '", s, "' is too short");
  }
  std::string prefix = s.substr(0, s.size() - 20);
  ARROW_ASSIGN_OR_RAISE(std::string uuid_bytes, DecodeZ85(s.substr(s.size() - 20)));
  std::string name = "deletion_vector_" + UuidFromBytes(uuid_bytes) + ".bin";
  return store.Resolve(prefix.empty() ? name : prefix + "/" + name);
}

arrow::Result<std::string> DecodeZ85(std::string_view text) {
  if (text.size() % 5 != 0) {
    return arrow::Status::Invalid("Z85 text length ", text.size(), " is not a multiple of 5");
  }
  static int8_t table[256];
  static bool init = [] {
    std::memset(table, -1, sizeof(table));
    for (int i = 0; i < 85; ++i) table[static_cast<unsigned char>(kZ85Alphabet[i])] = static_cast<int8_t>(i);
    return true;
  }();
  (void)init;
  std::string out;
  out.reserve(text.size() / 5 * 4);
  for (size_t i = 0; i < text.size(); i += 5) {
    uint64_t v = 0;
    for (size_t k = 0; k < 5; ++k) {
      int d = table[static_cast<unsigned char>(text[i + k])];
      if (d < 0) return arrow::Status::Invalid("invalid Z85 character '", text[i + k], "'");
      v = v * 85 + static_cast<uint64_t>(d);
    }
    for (int k = 3; k >= 0; --k) out.push_back(static_cast<char>((v >> (8 * k)) & 0xFF));
  }
  return out;
}

arrow::Result<std::vector<uint64_t>> DecodeRoaringBitmapArray(std::string_view data) {
  if (data.size() < 12 || ReadLE32(data.data()) != kDvMagic) {
    return arrow::Status::Invalid("deletion vector has a bad magic number or is truncated");
  }
  uint64_t count;
  std::memcpy(&count, data.data() + 4, 8);
  size_t pos = 12;
  std::vector<uint64_t> rows;
  for (uint64_t b = 0; b < count; ++b) {
    if (pos + 4 > data.size()) return arrow::Status::Invalid("deletion vector is truncated");
    uint64_t high = ReadLE32(data.data() + pos);
    pos += 4;
    roaring_bitmap_t* bitmap =
        roaring_bitmap_portable_deserialize_safe(data.data() + pos, data.size() - pos);
    if (bitmap == nullptr) return arrow::Status::Invalid("deletion vector bitmap is corrupt");
    pos += roaring_bitmap_portable_size_in_bytes(bitmap);
    std::vector<uint32_t> low(roaring_bitmap_get_cardinality(bitmap));
    roaring_bitmap_to_uint32_array(bitmap, low.data());
    roaring_bitmap_free(bitmap);
    for (uint32_t l : low) rows.push_back((high << 32) | l);
  }
  return rows;
}

arrow::Result<std::vector<uint64_t>> LoadDeletionVector(const TableStore& store,
                                                        const DeletionVectorDescriptor& dv) {
  if (dv.storage_type == "i") {
    ARROW_ASSIGN_OR_RAISE(std::string bytes, DecodeZ85(dv.path_or_inline_dv));
    if (static_cast<int64_t>(bytes.size()) < dv.size_in_bytes) {
      return arrow::Status::Invalid("inline deletion vector is shorter than its size");
    }
    return DecodeRoaringBitmapArray(std::string_view(bytes).substr(0, dv.size_in_bytes));
  }
  if (dv.storage_type != "u" && dv.storage_type != "p") {
    return arrow::Status::NotImplemented("deletion vector storage type '", dv.storage_type, "'");
  }
  ARROW_ASSIGN_OR_RAISE(std::string path, DvFilePath(store, dv));
  auto file = store.fs()->OpenInputFile(path);
  if (!file.ok()) {
    return arrow::Status::IOError("cannot open deletion vector file ", path, ": ",
                                  file.status().message());
  }
  // Layout at offset: 4-byte big-endian size, the data, then a CRC-32.
  int64_t offset = dv.offset.value_or(1);
  ARROW_ASSIGN_OR_RAISE(auto header, (*file)->ReadAt(offset, 4));
  if (header->size() < 4) return arrow::Status::IOError("deletion vector file ", path, " is truncated");
  uint32_t size = ReadBE32(header->data());
  ARROW_ASSIGN_OR_RAISE(auto body, (*file)->ReadAt(offset + 4, size));
  if (body->size() < size) return arrow::Status::IOError("deletion vector file ", path, " is truncated");
  auto rows = DecodeRoaringBitmapArray(
      std::string_view(reinterpret_cast<const char*>(body->data()), body->size()));
  if (!rows.ok()) return rows.status().WithMessage(rows.status().message(), " (", path, ")");
  return rows;
}

}  // namespace inlet::delta
