#include "inlet/table/row_hash.h"

#include <arrow/array.h>
#include <arrow/chunked_array.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <thread>

#include "inlet/common/arrow_json.h"
#include "inlet/common/json.h"

namespace inlet {

namespace {

// Two independent 64-bit lanes, each a multiply-xorshift chain over 8-byte words.
constexpr uint64_t kMulLo = 0x9e3779b97f4a7c15ULL;
constexpr uint64_t kMulHi = 0xc2b2ae3d27d4eb4fULL;
constexpr uint64_t kNull = 0x6a09e667f3bcc908ULL;

inline uint64_t Mix(uint64_t h, uint64_t word, uint64_t mul) {
  h ^= word;
  h *= mul;
  h ^= h >> 29;
  return h;
}

inline void AddWord(RowHash* h, uint64_t word) {
  h->lo = Mix(h->lo, word, kMulLo);
  h->hi = Mix(h->hi, word ^ 0x5bd1e9955bd1e995ULL, kMulHi);
}

inline void AddBytes(RowHash* h, const uint8_t* data, size_t size) {
  AddWord(h, size);
  size_t i = 0;
  for (; i + 8 <= size; i += 8) {
    uint64_t w;
    std::memcpy(&w, data + i, 8);
    AddWord(h, w);
  }
  if (i < size) {
    uint64_t w = 0;
    std::memcpy(&w, data + i, size - i);
    AddWord(h, w);
  }
}

// Folds one column's values (an array covering rows [first, first + length)) into hashes.
void HashArray(const arrow::Array& a, RowHash* hashes) {
  const int64_t n = a.length();
  const auto& type = *a.type();
  const bool nulls = a.null_count() > 0;
  auto null_or = [&](int64_t i, auto&& value) {
    if (nulls && a.IsNull(i)) {
      AddWord(&hashes[i], kNull);
    } else {
      value(i);
    }
  };
  if (type.id() == arrow::Type::BOOL) {
    const auto& b = static_cast<const arrow::BooleanArray&>(a);
    for (int64_t i = 0; i < n; ++i)
      null_or(i, [&](int64_t r) { AddWord(&hashes[r], b.Value(r) ? 2 : 1); });
    return;
  }
  if (arrow::is_fixed_width(type.id()) && type.id() != arrow::Type::DICTIONARY) {
    const int width = type.byte_width();
    const uint8_t* values = a.data()->buffers[1]->data() + a.offset() * width;
    // A column's values all have its width: one word each up to 8 bytes, two for 16
    // (decimal128), without the length that variable-width values add.
    if (!nulls && (width == 8 || width == 4 || width == 16)) {
      // The common case, without a validity check per value.
      if (width == 8) {
        for (int64_t r = 0; r < n; ++r) {
          uint64_t w;
          std::memcpy(&w, values + r * 8, 8);
          AddWord(&hashes[r], w);
        }
      } else if (width == 4) {
        for (int64_t r = 0; r < n; ++r) {
          uint32_t w;
          std::memcpy(&w, values + r * 4, 4);
          AddWord(&hashes[r], w);
        }
      } else {
        for (int64_t r = 0; r < n; ++r) {
          uint64_t w[2];
          std::memcpy(w, values + r * 16, 16);
          AddWord(&hashes[r], w[0]);
          AddWord(&hashes[r], w[1]);
        }
      }
    } else if (width == 8) {
      for (int64_t i = 0; i < n; ++i) {
        null_or(i, [&](int64_t r) {
          uint64_t w;
          std::memcpy(&w, values + r * 8, 8);
          AddWord(&hashes[r], w);
        });
      }
    } else if (width == 4 || width == 2 || width == 1) {
      for (int64_t i = 0; i < n; ++i) {
        null_or(i, [&](int64_t r) {
          uint64_t w = 0;
          std::memcpy(&w, values + r * width, width);
          AddWord(&hashes[r], w);
        });
      }
    } else if (width == 16) {
      for (int64_t i = 0; i < n; ++i) {
        null_or(i, [&](int64_t r) {
          uint64_t w[2];
          std::memcpy(w, values + r * 16, 16);
          AddWord(&hashes[r], w[0]);
          AddWord(&hashes[r], w[1]);
        });
      }
    } else {
      for (int64_t i = 0; i < n; ++i)
        null_or(i, [&](int64_t r) { AddBytes(&hashes[r], values + r * width, width); });
    }
    return;
  }
  if (arrow::is_base_binary_like(type.id())) {
    auto views = [&](const auto& b) {
      for (int64_t i = 0; i < n; ++i) {
        null_or(i, [&](int64_t r) {
          auto v = b.GetView(r);
          AddBytes(&hashes[r], reinterpret_cast<const uint8_t*>(v.data()), v.size());
        });
      }
    };
    if (arrow::is_large_binary_like(type.id())) {
      views(static_cast<const arrow::LargeBinaryArray&>(a));
    } else {
      views(static_cast<const arrow::BinaryArray&>(a));
    }
    return;
  }
  // Nested and other types: their JSON form.
  for (int64_t i = 0; i < n; ++i) {
    null_or(i, [&](int64_t r) {
      std::string text = DumpJson(ArrowValueToJson(a, r));
      AddBytes(&hashes[r], reinterpret_cast<const uint8_t*>(text.data()), text.size());
    });
  }
}

void HashColumn(const arrow::ChunkedArray& column, RowHash* hashes) {
  for (const auto& chunk : column.chunks()) {
    HashArray(*chunk, hashes);
    hashes += chunk->length();
  }
}

}  // namespace

arrow::Result<std::vector<RowHash>> HashRows(const arrow::Table& table,
                                             const std::vector<std::string>& columns) {
  for (const auto& name : columns) {
    if (!table.GetColumnByName(name))
      return arrow::Status::Invalid("column '", name, "' is not in the table");
  }
  std::vector<RowHash> hashes(table.num_rows());
  auto hash_range = [&](int64_t offset, int64_t length) {
    std::shared_ptr<arrow::Table> part = table.Slice(offset, length);
    for (const auto& name : columns)
      HashColumn(*part->GetColumnByName(name), hashes.data() + offset);
  };
  // A large table (a whole extract) is hashed in row ranges on threads of its own (not
  // Arrow's pool, which the caller may be running on).
  constexpr int64_t kRange = 256 * 1024;
  int64_t ranges = (table.num_rows() + kRange - 1) / kRange;
  int threads = static_cast<int>(
      std::min<int64_t>(ranges, std::max(1u, std::thread::hardware_concurrency())));
  if (threads <= 1) {
    hash_range(0, table.num_rows());
    return hashes;
  }
  std::atomic<int64_t> next{0};
  auto worker = [&] {
    for (int64_t r = next++; r < ranges; r = next++)
      hash_range(r * kRange, std::min(kRange, table.num_rows() - r * kRange));
  };
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  return hashes;
}

arrow::Result<std::vector<RowHash>> HashRows(const arrow::RecordBatch& batch,
                                             const std::vector<std::string>& columns) {
  std::vector<RowHash> hashes(batch.num_rows());
  for (const auto& name : columns) {
    auto column = batch.GetColumnByName(name);
    if (!column) return arrow::Status::Invalid("column '", name, "' is not in the batch");
    HashArray(*column, hashes.data());
  }
  return hashes;
}

}  // namespace inlet
