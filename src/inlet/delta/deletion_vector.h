// Deletion vectors (PROTOCOL.md "Deletion Vector Format"): which rows of a data file are
// deleted, as a 64-bit RoaringBitmap stored inline in the log or in a .bin file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <arrow/result.h>

#include "inlet/delta/actions.h"
#include "inlet/storage/log_store.h"

namespace inlet::delta {

/// Decodes Z85 (the protocol's base85 variant); the input length must be a multiple of 5.
arrow::Result<std::string> DecodeZ85(std::string_view text);

/// The deleted row indexes of a file, sorted ascending. Errors name the DV's location.
arrow::Result<std::vector<uint64_t>> LoadDeletionVector(const TableStore& store,
                                                        const DeletionVectorDescriptor& dv);

/// The path in store.fs() of the file holding a DV stored on disk (storage types 'u' and
/// 'p'; not for inline DVs).
arrow::Result<std::string> DvFilePath(const TableStore& store, const DeletionVectorDescriptor& dv);

/// Decodes serialized DV data: magic 1681511377 then the portable 64-bit roaring format.
arrow::Result<std::vector<uint64_t>> DecodeRoaringBitmapArray(std::string_view data);

}  // namespace inlet::delta
