// Deletion vectors (PROTOCOL.md "Deletion Vector Format"): which rows of a data file are
// deleted, as a 64-bit RoaringBitmap stored inline in the log or in a .bin file.
#pragma once

#include <arrow/result.h>

#include <cstdint>
#include <string>
#include <vector>

#include "inlet/delta/actions.h"
#include "inlet/storage/table_store.h"

namespace inlet::delta {

/// Decodes Z85 (the protocol's base85 variant); the input length must be a multiple of 5.
arrow::Result<std::string> DecodeZ85(std::string_view text);

/// The deleted row indexes of a file, sorted ascending. Errors name the DV's location.
arrow::Result<std::vector<uint64_t>> LoadDeletionVector(
    const TableStore& store, const DeletionVectorDescriptor& dv);

/// The path in store.fs() of the file holding a DV stored on disk (storage types 'u' and
/// 'p'; not for inline DVs).
arrow::Result<std::string> DvFilePath(const TableStore& store,
                                      const DeletionVectorDescriptor& dv);

/// Encodes bytes as Z85; the length must be a multiple of 4.
std::string EncodeZ85(std::string_view bytes);

/// Collects the deletion vectors of one commit into one deletion_vector_<uuid>.bin file
/// at the table root, as Delta writers do: a version byte, then per DV its big-endian
/// size, its data and a CRC-32 of the data.
class DeletionVectorFile {
 public:
  DeletionVectorFile();

  /// Adds a DV of sorted, distinct row indexes and returns its descriptor (storage type
  /// 'u', the offset of its size field in the file).
  DeletionVectorDescriptor Add(const std::vector<uint64_t>& rows);

  bool empty() const { return bytes_.size() <= 1; }

  /// Writes the file (nothing when no DV was added).
  arrow::Status Write(const TableStore& store) const;

  /// The file's path relative to the table root.
  std::string relative_path() const;

 private:
  std::string uuid_;      // canonical text form
  std::string z85_uuid_;  // what pathOrInlineDv holds
  std::string bytes_;
};

}  // namespace inlet::delta
