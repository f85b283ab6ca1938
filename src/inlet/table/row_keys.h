// Identifying rows by key columns (or by every column), across tables and files.
#pragma once

#include <arrow/result.h>
#include <arrow/table.h>

#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace inlet {

/// One string per row identifying it: the values of key_columns, or of every column when
/// key_columns is empty (a row hash). Equal rows give equal strings across tables whose
/// columns have the same types. Invalid names a missing key column.
arrow::Result<std::vector<std::string>> RowKeys(
    const arrow::Table& table, const std::vector<std::string>& key_columns);

/// One byte string per row whose byte order (memcmp, as std::string compares) is the
/// order of the rows' values in columns, compared column by column: a null sorts before
/// every value. Integers of every width, dates, times, timestamps and durations compare
/// as int64, so a column widened from int to long keeps its order; also unsigned
/// integers, floats, booleans, decimal128, strings and binary. Invalid names a missing
/// column or one of another type.
arrow::Result<std::vector<std::string>> OrderedKeys(
    const arrow::Table& table, const std::vector<std::string>& columns);

/// The rows of t at the given row numbers, in that order.
arrow::Result<std::shared_ptr<arrow::Table>> TakeRows(
    const std::shared_ptr<arrow::Table>& t, const std::vector<int64_t>& rows);

/// The table with a boolean column `name` set to value on every row (added, or replaced
/// keeping the field of a boolean column).
arrow::Result<std::shared_ptr<arrow::Table>> SetBoolColumn(
    const std::shared_ptr<arrow::Table>& table, const std::string& name, bool value);

/// Sorts ascending in linear time (a radix sort): a merge sorts millions of source keys
/// to find the files that can hold them.
void RadixSort(std::vector<int64_t>* values);

/// A map from key id (KeyEncoder) to row number, flat with open addressing: a merge
/// looks up every row of the files it reads, and a source can hold millions of keys.
class KeyIndex {
 public:
  /// Room for n keys without growing.
  void Reserve(size_t n);
  /// The row of key, inserting `row` when the key is new (then second is true).
  std::pair<int64_t*, bool> Emplace(int64_t key, int64_t row);
  /// The row of key, or null.
  const int64_t* Find(int64_t key) const;
  int64_t* Find(int64_t key) {
    return const_cast<int64_t*>(std::as_const(*this).Find(key));
  }
  bool Contains(int64_t key) const { return Find(key) != nullptr; }
  /// The row of each key, or -1. Looks up many keys at once, loading the slots of later
  /// keys while earlier ones are compared: an index of millions of keys is far larger
  /// than the caches, and one lookup at a time waits for memory on nearly every key.
  std::vector<int64_t> FindAll(const std::vector<int64_t>& keys) const;
  /// Starts loading the slot of key into the cache, for an Emplace or Find soon after.
  void Prefetch(int64_t key) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[SlotOf(key)]);
  }
  size_t size() const { return size_; }

 private:
  struct Slot {
    int64_t key;
    int64_t row;  // -1: empty
  };
  size_t SlotOf(int64_t key) const;
  void Grow(size_t capacity);
  std::vector<Slot> slots_;
  size_t size_ = 0;
  int shift_ = 64;
};

/// Gives each row an int64 id for its key: equal keys get equal ids across every table
/// passed to the same encoder (with the same column types). A single integer key column
/// is its own id; other keys go through a dictionary of RowKeys strings. Not thread-safe.
class KeyEncoder {
 public:
  explicit KeyEncoder(std::vector<std::string> key_columns)
      : keys_(std::move(key_columns)) {}

  /// One id per row of rows. Invalid names a missing key column.
  arrow::Result<std::vector<int64_t>> Encode(const arrow::Table& rows);

 private:
  std::vector<std::string> keys_;
  std::unordered_map<std::string, int64_t> ids_;
};

}  // namespace inlet
