// Remembered deletes of sequence-guarded merges (change data capture): for each deleted
// key the sequence of its latest delete, and a table-wide floor that truncates raise. A
// change at or below either is late and discarded, however long after the delete it
// arrives. Tables keeping history (SCD type 2) remember every delete instead: a late
// change is woven into the key's history between them.
//
// They are Parquet files under _inlet/tombstones/ (the key and sequence columns), listed
// in the document of the application "inlet.tombstones" (see AppState; in Delta Lake a
// metadata domain): they change in the same commit as the data, are invisible to readers,
// and other engines' vacuum leaves them alone (it skips directories whose names start
// with
// '_').
#pragma once

#include <arrow/result.h>
#include <arrow/table.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "inlet/common/json.h"
#include "inlet/storage/table_store.h"
#include "inlet/table.h"
#include "inlet/table/row_keys.h"

namespace inlet::table {

inline constexpr char kTombstoneApp[] = "inlet.tombstones";
inline constexpr char kTombstoneDirectory[] = "_inlet/tombstones";

class Tombstones {
 public:
  /// The tombstones of base (none when base is null or has none). schema: the table
  /// schema the key and sequence columns are taken from. Fails when base's tombstones
  /// were kept for other key or sequence columns, or (every_delete: for history) the
  /// other way.
  static arrow::Result<Tombstones> Load(std::shared_ptr<const TableStore> store,
                                        const Snapshot* base, const arrow::Schema& schema,
                                        std::vector<std::string> keys,
                                        std::vector<std::string> sequence_by,
                                        bool every_delete = false);

  /// The table-wide floor (OrderedKeys bytes of the sequence columns), if a truncate set
  /// one.
  const std::optional<std::string>& floor() const { return floor_; }
  void RaiseFloor(const std::string& sequence);

  /// The sequence (OrderedKeys bytes) of the latest remembered delete of each wanted key,
  /// by key id of encoder, from the files of the base version (not what Add added). Reads
  /// the tombstone files one at a time.
  arrow::Result<std::unordered_map<int64_t, std::string>> Find(
      KeyEncoder* encoder, const KeyIndex& wanted) const;

  /// Every remembered delete of the wanted keys (key and sequence columns, in the table's
  /// types), from the files of the base version.
  arrow::Result<std::shared_ptr<arrow::Table>> FindAll(KeyEncoder* encoder,
                                                       const KeyIndex& wanted) const;

  /// The key and sequence columns.
  const std::shared_ptr<arrow::Schema>& schema() const { return schema_; }

  /// Remembers deletes: rows holding (at least) the key and sequence columns.
  arrow::Status Add(const std::shared_ptr<arrow::Table>& rows);

  /// Writes the added tombstones to a new file (compacting the files once there are many)
  /// and returns the domain configuration to commit. It is committed even when unchanged,
  /// so that concurrent sequence-guarded merges always conflict.
  arrow::Result<std::string> Finish();

 private:
  struct File {
    std::string path;
    int64_t rows = 0;
    int64_t size = 0;
  };

  Tombstones(std::shared_ptr<const TableStore> store,
             std::shared_ptr<arrow::Schema> schema, std::vector<std::string> keys,
             std::vector<std::string> sequence_by, bool every_delete)
      : store_(std::move(store)),
        schema_(std::move(schema)),
        keys_(std::move(keys)),
        sequence_by_(std::move(sequence_by)),
        every_delete_(every_delete) {}

  /// The rows of the base's files whose key is wanted, with their key ids.
  arrow::Status Scan(KeyEncoder* encoder, const KeyIndex& wanted,
                     const std::function<arrow::Status(std::shared_ptr<arrow::Table>,
                                                       std::vector<int64_t>)>& hit) const;

  arrow::Result<std::shared_ptr<arrow::Table>> ReadFile(const File& f) const;
  arrow::Result<std::shared_ptr<arrow::Table>> Conform(const arrow::Table& rows) const;
  arrow::Result<std::vector<File>> WriteFiles(
      const std::vector<std::shared_ptr<arrow::Table>>& tables) const;
  arrow::Status Compact();

  std::shared_ptr<const TableStore> store_;
  std::shared_ptr<arrow::Schema> schema_;  // the key and sequence columns
  std::vector<std::string> keys_;
  std::vector<std::string> sequence_by_;
  bool every_delete_ = false;
  std::vector<File> files_;
  std::optional<std::string> floor_;
  std::vector<std::shared_ptr<arrow::Table>> added_;
};

/// The files (relative to the table root) a document of the tombstone app lists.
arrow::Result<std::vector<std::string>> TombstoneFiles(const std::string& config);

}  // namespace inlet::table
