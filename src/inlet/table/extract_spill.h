// A snapshot merge's extract read from a stream, once: each batch conformed, its keys
// indexed and its rows hashed, and the batch written to an unnamed temporary file. The
// merge then compares the table with the index and hashes (about 40 bytes per extract
// row, whatever its width), and reads the file back once for the rows it writes.
#pragma once

#include <arrow/record_batch.h>
#include <arrow/result.h>
#include <arrow/table.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "inlet/table/data_writer.h"
#include "inlet/table/row_hash.h"
#include "inlet/table/row_keys.h"

namespace inlet::table {

class ExtractSpill {
 public:
  /// A batch of the stream conformed to the table (the rows written and compared).
  using Conform = std::function<arrow::Result<std::shared_ptr<arrow::Table>>(
      const std::shared_ptr<arrow::RecordBatch>&)>;

  /// Reads extract to its end. by_key gets each key's row (rows are numbered in stream
  /// order), hashes each row's hash of compare_columns. A key repeated with a row equal
  /// on every conformed column but skip_column (a soft-delete flag) is a duplicate,
  /// skipped; repeated with other values it fails naming the key and location. The file
  /// lives in TMPDIR (else /tmp) and has no name: nothing is left behind, whatever ends
  /// the process.
  static arrow::Result<std::unique_ptr<ExtractSpill>> Make(
      arrow::RecordBatchReader* extract, const Conform& conform,
      const std::vector<std::string>& keys,
      const std::vector<std::string>& compare_columns, const std::string& skip_column,
      const std::string& location, KeyEncoder* encoder, KeyIndex* by_key,
      std::vector<RowHash>* hashes);
  ~ExtractSpill();
  ExtractSpill(const ExtractSpill&) = delete;
  ExtractSpill& operator=(const ExtractSpill&) = delete;

  int64_t rows() const { return rows_; }
  int64_t duplicates() const { return duplicates_; }
  /// Whether row repeats an earlier row of its key.
  bool skipped(int64_t row) const { return skipped_[row]; }
  /// Writes the rows at the ascending row numbers `rows`, reading the file once.
  arrow::Status WriteRows(DataWriter* writer, const std::vector<int64_t>& rows) const;

 private:
  ExtractSpill() = default;
  int fd_ = -1;
  std::shared_ptr<arrow::Schema> schema_;
  int64_t rows_ = 0;
  int64_t duplicates_ = 0;
  std::vector<bool> skipped_;
};

/// A streamed extract read into memory (for merges that need its rows at hand) with
/// ExtractSpill's rule for repeated keys: a repeat of an equal row (every column but
/// skip_column) is dropped and counted in *duplicates; one with other values fails naming
/// the key.
arrow::Result<std::shared_ptr<arrow::Table>> ReadExtract(
    arrow::RecordBatchReader* extract, const std::vector<std::string>& keys,
    const std::string& skip_column, const std::string& location, int64_t* duplicates);

}  // namespace inlet::table
