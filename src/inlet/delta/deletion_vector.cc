#include "inlet/delta/deletion_vector.h"

#include <arrow/buffer.h>
#include <arrow/status.h>

#include <array>
#include <cstdio>
#include <cstring>

#include "inlet/common/uri.h"
#include "inlet/common/uuid.h"
#include "inlet/table/row_bitmap.h"

namespace inlet::delta {

namespace {

constexpr char kZ85Alphabet[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/"
    "*?&<>()[]{}@%$#";

uint32_t ReadBE32(const unsigned char* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// The rows the descriptor says the DV marks (a negative cardinality says nothing).
std::optional<uint64_t> Cardinality(const DeletionVectorDescriptor& dv) {
  if (dv.cardinality < 0) return std::nullopt;
  return static_cast<uint64_t>(dv.cardinality);
}

std::string UuidFromBytes(const std::string& b) {
  char buf[40];
  const auto* u = reinterpret_cast<const unsigned char*>(b.data());
  std::snprintf(buf, sizeof(buf),
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
                u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10], u[11],
                u[12], u[13], u[14], u[15]);
  return buf;
}

void AppendBE32(uint32_t v, std::string* out) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out->push_back(static_cast<char>((v >> shift) & 0xFF));
}

// The 16 bytes of a canonical UUID string.
std::string UuidBytes(const std::string& uuid) {
  std::string out;
  for (size_t i = 0; i + 1 < uuid.size(); ++i) {
    if (uuid[i] == '-') continue;
    out.push_back(static_cast<char>(std::stoi(uuid.substr(i, 2), nullptr, 16)));
    ++i;
  }
  return out;
}

}  // namespace

std::string EncodeZ85(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() / 4 * 5);
  for (size_t i = 0; i + 4 <= bytes.size(); i += 4) {
    uint64_t v = 0;
    for (size_t k = 0; k < 4; ++k)
      v = (v << 8) | static_cast<unsigned char>(bytes[i + k]);
    char block[5];
    for (int k = 4; k >= 0; --k) {
      block[k] = kZ85Alphabet[v % 85];
      v /= 85;
    }
    out.append(block, 5);
  }
  return out;
}

DeletionVectorFile::DeletionVectorFile() : uuid_(NewUuid()), bytes_(1, '\x01') {
  z85_uuid_ = EncodeZ85(UuidBytes(uuid_));
}

DeletionVectorDescriptor DeletionVectorFile::Add(const std::vector<uint64_t>& rows) {
  std::string data = table::EncodeRowBitmap(rows);
  DeletionVectorDescriptor dv;
  dv.storage_type = "u";
  dv.path_or_inline_dv = z85_uuid_;
  dv.offset = static_cast<int32_t>(bytes_.size());
  dv.size_in_bytes = static_cast<int32_t>(data.size());
  dv.cardinality = static_cast<int64_t>(rows.size());
  AppendBE32(static_cast<uint32_t>(data.size()), &bytes_);
  bytes_ += data;
  AppendBE32(table::Crc32(data), &bytes_);
  return dv;
}

std::string DeletionVectorFile::relative_path() const {
  return "deletion_vector_" + uuid_ + ".bin";
}

arrow::Status DeletionVectorFile::Write(const TableStore& store) const {
  if (empty()) return arrow::Status::OK();
  std::string path = store.Resolve(relative_path());
  ARROW_ASSIGN_OR_RAISE(auto out, store.fs()->OpenOutputStream(path));
  ARROW_RETURN_NOT_OK(out->Write(bytes_.data(), static_cast<int64_t>(bytes_.size())));
  auto st = out->Close();
  if (!st.ok())
    return st.WithMessage("cannot write deletion vector file ", path, ": ", st.message());
  return arrow::Status::OK();
}

arrow::Result<std::string> DvFilePath(const TableStore& store,
                                      const DeletionVectorDescriptor& dv) {
  if (dv.storage_type == "p") {
    std::string p = PercentDecode(dv.path_or_inline_dv);
    if (p.rfind("file://", 0) == 0)
      p = p.substr(7);
    else if (p.rfind("file:", 0) == 0)
      p = p.substr(5);
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
    return arrow::Status::Invalid("Z85 text length ", text.size(),
                                  " is not a multiple of 5");
  }
  static int8_t table[256];
  static bool init = [] {
    std::memset(table, -1, sizeof(table));
    for (int i = 0; i < 85; ++i)
      table[static_cast<unsigned char>(kZ85Alphabet[i])] = static_cast<int8_t>(i);
    return true;
  }();
  (void)init;
  std::string out;
  out.reserve(text.size() / 5 * 4);
  for (size_t i = 0; i < text.size(); i += 5) {
    uint64_t v = 0;
    for (size_t k = 0; k < 5; ++k) {
      int d = table[static_cast<unsigned char>(text[i + k])];
      if (d < 0)
        return arrow::Status::Invalid("invalid Z85 character '", text[i + k], "'");
      v = v * 85 + static_cast<uint64_t>(d);
    }
    for (int k = 3; k >= 0; --k) out.push_back(static_cast<char>((v >> (8 * k)) & 0xFF));
  }
  return out;
}

arrow::Result<std::vector<uint64_t>> LoadDeletionVector(
    const TableStore& store, const DeletionVectorDescriptor& dv) {
  if (dv.storage_type == "i") {
    ARROW_ASSIGN_OR_RAISE(std::string bytes, DecodeZ85(dv.path_or_inline_dv));
    if (static_cast<int64_t>(bytes.size()) < dv.size_in_bytes) {
      return arrow::Status::Invalid("inline deletion vector is shorter than its size");
    }
    return table::DecodeRowBitmap(std::string_view(bytes).substr(0, dv.size_in_bytes),
                                  Cardinality(dv));
  }
  if (dv.storage_type != "u" && dv.storage_type != "p") {
    return arrow::Status::NotImplemented("deletion vector storage type '",
                                         dv.storage_type, "'");
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
  if (header->size() < 4)
    return arrow::Status::IOError("deletion vector file ", path, " is truncated");
  uint32_t size = ReadBE32(header->data());
  ARROW_ASSIGN_OR_RAISE(auto body, (*file)->ReadAt(offset + 4, size));
  if (body->size() < size)
    return arrow::Status::IOError("deletion vector file ", path, " is truncated");
  auto rows = table::DecodeRowBitmap(
      std::string_view(reinterpret_cast<const char*>(body->data()), body->size()),
      Cardinality(dv));
  if (!rows.ok())
    return rows.status().WithMessage(rows.status().message(), " (", path, ")");
  return rows;
}

}  // namespace inlet::delta
