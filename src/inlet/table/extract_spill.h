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
#include <optional>
#include <string>
#include <vector>

#include "inlet/table/data_writer.h"
#include "inlet/table/row_hash.h"
#include "inlet/table/row_keys.h"

namespace inlet::table {

class FileReadAhead;

/// The rows of a table a snapshot merge compares its extract with, hashed before the
/// extract is read: each key's row hash, and whether the extract gave the key yet. An
/// extract row equal to its key's row is then only counted, neither kept nor indexed:
/// what the merge holds and spills is what changed.
class TableRows {
 public:
  /// Hashes compare_columns of every row of the files reads returns (`files` of them),
  /// by key id. Nullopt when a key has several rows (the merge then compares row by
  /// row, as it reads). expected_rows (the rows to come, as far as known) sizes the map
  /// once.
  static arrow::Result<std::optional<TableRows>> Read(
      FileReadAhead* reads, size_t files, const std::vector<std::string>& compare_columns,
      int64_t expected_rows, KeyEncoder* encoder);

  /// An extract row, by key id and hash, against its key's table row and the extract's
  /// earlier rows of the key.
  enum class Seen {
    kEqual,     // equal to the table's row: nothing to do
    kRepeat,    // equal to the table's row, given again: a duplicate
    kDiffers,   // a new key, or other values than the table's: kept
    kConflict,  // the key given again with other values than before
  };
  Seen See(int64_t id, const RowHash& hash);
  /// Starts loading the row of key id into the cache, for a See soon after.
  void Prefetch(int64_t id) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[SlotOf(id)]);
  }
  /// Per key id, whether the extract gave the key (equal or not).
  std::vector<bool> Given(const std::vector<int64_t>& ids) const;

 private:
  // A flat map from key id to the row's hash, whose two lowest bits hold the row's state
  // instead (126 bits compared): 24 bytes a slot, at most 2/3 of the slots full. Key and
  // hash lie together, so a lookup misses the cache once (twice for the quarter of slots
  // that straddle two lines), not once for the index and again for the hash.
  enum State : uint64_t { kUnseen = 0, kSeenEqual = 1, kSeenOther = 2, kEmpty = 3 };
  static constexpr uint64_t kStateBits = 3;
  struct Slot {
    int64_t key = 0;
    uint64_t lo = kEmpty;
    uint64_t hi = 0;
  };
  size_t SlotOf(int64_t id) const {
    return static_cast<size_t>((static_cast<uint64_t>(id) * 0x9e3779b97f4a7c15ULL) >>
                               shift_);
  }
  void Reserve(size_t n);
  // The slot of id: its own, or the empty one it would take.
  Slot& SlotFor(int64_t id);
  const Slot* Find(int64_t id) const;
  std::vector<Slot> slots_;
  size_t size_ = 0;
  int shift_ = 64;
};

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
  /// the process. With table (hashed on the same compare_columns, which must then be
  /// every column the extract has: the caller's to see to), the rows equal to their key's
  /// table row are left out, and row numbers count the rows kept; with a skip_column too,
  /// table is reset and every row kept.
  static arrow::Result<std::unique_ptr<ExtractSpill>> Make(
      arrow::RecordBatchReader* extract, const Conform& conform,
      const std::vector<std::string>& keys,
      const std::vector<std::string>& compare_columns, const std::string& skip_column,
      const std::string& location, KeyEncoder* encoder, KeyIndex* by_key,
      std::vector<RowHash>* hashes, std::optional<TableRows>* table = nullptr);
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
