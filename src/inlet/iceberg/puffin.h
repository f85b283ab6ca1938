// Writing deletion vectors (spec "Deletion Vectors"; format/puffin-spec.md): the
// merge-on-read form of a row-level change on format version 3 tables. One Puffin file
// holds the deletion-vector-v1 blobs of a commit, one per data file; each manifest entry
// points at its blob by offset and length. A blob is the framing Delta Lake's deletion
// vectors share (table/row_bitmap.h): a big-endian length, the magic and portable 64-bit
// roaring bitmap, a big-endian CRC-32. No library writes Puffin from C++ short of
// iceberg-cpp; the format is a magic, the blobs and a JSON footer, so it is written here.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <string>
#include <vector>

#include "inlet/storage/table_store.h"

namespace inlet::iceberg {

/// The deleted positions of one data file (its URI as manifests name it), ascending and
/// distinct.
struct DeletionVector {
  std::string data_file;
  std::vector<uint64_t> positions;
};

/// Where a deletion vector's blob is in the Puffin file.
struct BlobPlace {
  int64_t offset = 0;
  int64_t length = 0;
};

struct PuffinWritten {
  int64_t size = 0;              // of the file
  std::vector<BlobPlace> blobs;  // one per vector, in order
};

/// The bytes of one deletion-vector-v1 blob deleting `positions`.
std::string DeletionVectorBlob(const std::vector<uint64_t>& positions);

/// Writes the Puffin file `rel` (relative to the store's root) with a blob per vector.
/// Errors name the file and the table.
arrow::Result<PuffinWritten> WriteDeletionVectors(
    const TableStore& store, const std::string& rel,
    const std::vector<DeletionVector>& vectors);

}  // namespace inlet::iceberg
