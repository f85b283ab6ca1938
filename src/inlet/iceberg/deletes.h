// Row-level deletes as an Iceberg scan applies them (spec "Scan Planning", "Delete
// Formats"): position delete files, v3 deletion vectors (Puffin deletion-vector-v1 blobs)
// and equality delete files, each scoped by data sequence number and, for equality
// deletes, by partition.
#pragma once

#include <arrow/result.h>

#include <functional>
#include <memory>
#include <vector>

#include "inlet/iceberg/manifest.h"
#include "inlet/iceberg/metadata.h"
#include "inlet/storage/table_store.h"

namespace inlet::iceberg {

/// Whether a delete file is a v3 deletion vector (a blob of a Puffin file).
bool IsDeletionVector(const DataFile& f);

/// The deleted positions of one data file, ascending and distinct; loaded when called.
using DeletedRows = std::function<arrow::Result<std::vector<uint64_t>>()>;

class DeleteIndex {
 public:
  /// Indexes the live delete entries of a snapshot for reading the data files `data`.
  /// Position delete files are read now (those naming one of `data`); deletion vectors
  /// and equality delete files when a data file asks for them. `with_ids`: the schema
  /// the scan reads, with field ids (equality delete columns are found by id).
  static arrow::Result<std::shared_ptr<DeleteIndex>> Make(
      std::shared_ptr<const TableStore> store, const TableMetadata& metadata,
      std::shared_ptr<arrow::Schema> with_ids, std::vector<ManifestEntry> deletes,
      const std::vector<const ManifestEntry*>& data);

  /// The deletes that apply to `data`, or an empty function when none does. Errors of
  /// the call name the delete file. positional_only: those of position delete files and
  /// deletion vectors only (what a new deletion vector of the file takes in).
  DeletedRows For(const ManifestEntry& data, bool positional_only = false) const;

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace inlet::iceberg
