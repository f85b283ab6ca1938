// Sets of row positions as both table formats store deleted rows: a magic number, then a
// 64-bit RoaringBitmap in the "portable" layout (a count of 32-bit buckets, then each
// bucket's high half and its 32-bit portable roaring bitmap). Delta Lake's deletion
// vectors (PROTOCOL.md "Deletion Vector Format") and Iceberg's v3 deletion-vector-v1
// Puffin blobs share it. CRoaring does the bitmaps; this is the framing.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace inlet::table {

/// The row positions of `data` (magic 1681511377, little-endian, then the portable 64-bit
/// layout), sorted ascending. Invalid when the magic is wrong or the data is truncated or
/// corrupt, and when `cardinality` is given and the bitmap holds another number of rows
/// (checked before the rows are materialized).
arrow::Result<std::vector<uint64_t>> DecodeRowBitmap(
    std::string_view data, std::optional<uint64_t> cardinality = std::nullopt);

/// CRC-32 (IEEE 802.3, as java.util.zip.CRC32 computes it): the checksum both formats
/// store after a serialized bitmap.
uint32_t Crc32(std::string_view data);

/// Serializes sorted, distinct row positions (the inverse of DecodeRowBitmap).
std::string EncodeRowBitmap(const std::vector<uint64_t>& rows);

/// The positions in a file of rows given as positions among the rows read from it
/// (ascending), `deleted` (ascending) being the positions left out of the read: a row's
/// position plus the deleted rows before it.
std::vector<uint64_t> FilePositions(const std::vector<int64_t>& read_positions,
                                    const std::vector<uint64_t>& deleted);

}  // namespace inlet::table
