#include "inlet/table/row_keys.h"

#include <arrow/builder.h>
#include <arrow/compute/api.h>

#include <algorithm>
#include <bit>
#include <cstring>
#include <numeric>
#include <utility>

#include "inlet/common/arrow_json.h"

namespace inlet {

namespace {

// Appends one value, self-delimiting: a type tag, then the value; integers and strings
// take fast paths, other types their JSON form.
void AppendKeyPart(const arrow::Array& a, int64_t i, std::string* out) {
  if (a.IsNull(i)) {
    *out += "N;";
    return;
  }
  switch (a.type_id()) {
    case arrow::Type::INT8:
      *out += "i" + std::to_string(static_cast<const arrow::Int8Array&>(a).Value(i));
      break;
    case arrow::Type::INT16:
      *out += "i" + std::to_string(static_cast<const arrow::Int16Array&>(a).Value(i));
      break;
    case arrow::Type::INT32:
      *out += "i" + std::to_string(static_cast<const arrow::Int32Array&>(a).Value(i));
      break;
    case arrow::Type::INT64:
      *out += "i" + std::to_string(static_cast<const arrow::Int64Array&>(a).Value(i));
      break;
    case arrow::Type::STRING: {
      auto v = static_cast<const arrow::StringArray&>(a).GetView(i);
      *out += "s" + std::to_string(v.size()) + ":";
      out->append(v.data(), v.size());
      break;
    }
    default:
      *out += "j" + DumpJson(ArrowValueToJson(a, i));
  }
  *out += ';';
}

void AppendBigEndian(uint64_t v, std::string* out) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out->push_back(static_cast<char>((v >> shift) & 0xff));
}

// Signed integers: the sign bit flipped makes two's complement order unsigned.
void AppendOrderedInt(int64_t v, std::string* out) {
  AppendBigEndian(static_cast<uint64_t>(v) ^ (uint64_t{1} << 63), out);
}

template <typename T>
int64_t RawValue(const arrow::Array& a, int64_t i) {
  return static_cast<int64_t>(a.data()->GetValues<T>(1)[i]);
}

// Appends one valid value in its order-preserving form.
arrow::Status AppendOrderedPart(const arrow::Array& a, int64_t i, std::string* out) {
  using arrow::Type;
  switch (a.type_id()) {
    case Type::BOOL:
      out->push_back(static_cast<const arrow::BooleanArray&>(a).Value(i) ? 1 : 0);
      break;
    case Type::INT8:
      AppendOrderedInt(RawValue<int8_t>(a, i), out);
      break;
    case Type::INT16:
      AppendOrderedInt(RawValue<int16_t>(a, i), out);
      break;
    case Type::INT32:
    case Type::DATE32:
    case Type::TIME32:
      AppendOrderedInt(RawValue<int32_t>(a, i), out);
      break;
    case Type::INT64:
    case Type::DATE64:
    case Type::TIME64:
    case Type::TIMESTAMP:
    case Type::DURATION:
      AppendOrderedInt(RawValue<int64_t>(a, i), out);
      break;
    case Type::UINT8:
      AppendBigEndian(a.data()->GetValues<uint8_t>(1)[i], out);
      break;
    case Type::UINT16:
      AppendBigEndian(a.data()->GetValues<uint16_t>(1)[i], out);
      break;
    case Type::UINT32:
      AppendBigEndian(a.data()->GetValues<uint32_t>(1)[i], out);
      break;
    case Type::UINT64:
      AppendBigEndian(a.data()->GetValues<uint64_t>(1)[i], out);
      break;
    case Type::FLOAT:
    case Type::DOUBLE: {
      double d = a.type_id() == Type::FLOAT
                     ? static_cast<const arrow::FloatArray&>(a).Value(i)
                     : static_cast<const arrow::DoubleArray&>(a).Value(i);
      if (d == 0) d = 0;  // -0.0 and 0.0 are equal
      uint64_t bits;
      std::memcpy(&bits, &d, sizeof bits);
      // Negative numbers: every bit flipped (larger magnitude sorts first); others: the
      // sign.
      bits = (bits >> 63) ? ~bits : bits ^ (uint64_t{1} << 63);
      AppendBigEndian(bits, out);
      break;
    }
    case Type::DECIMAL128: {
      const uint8_t* v = static_cast<const arrow::Decimal128Array&>(a).GetValue(i);
      uint64_t lo, hi;  // little-endian two's complement
      std::memcpy(&lo, v, 8);
      std::memcpy(&hi, v + 8, 8);
      AppendBigEndian(hi ^ (uint64_t{1} << 63), out);
      AppendBigEndian(lo, out);
      break;
    }
    case Type::STRING:
    case Type::BINARY:
    case Type::LARGE_STRING:
    case Type::LARGE_BINARY: {
      std::string_view v =
          a.type_id() == Type::STRING || a.type_id() == Type::BINARY
              ? static_cast<const arrow::BinaryArray&>(a).GetView(i)
              : static_cast<const arrow::LargeBinaryArray&>(a).GetView(i);
      // 0x00 escaped as 00 ff and the end marked by 00 00: a prefix sorts first, and a
      // following column cannot change the order.
      for (char c : v) {
        out->push_back(c);
        if (c == 0) out->push_back(static_cast<char>(0xff));
      }
      out->push_back(0);
      out->push_back(0);
      break;
    }
    default:
      return arrow::Status::Invalid("cannot order by a column of type ",
                                    a.type()->ToString());
  }
  return arrow::Status::OK();
}

}  // namespace

arrow::Result<std::vector<std::string>> OrderedKeys(
    const arrow::Table& table, const std::vector<std::string>& columns) {
  std::vector<std::string> keys(table.num_rows());
  for (const auto& name : columns) {
    auto column = table.GetColumnByName(name);
    if (!column) return arrow::Status::Invalid("column '", name, "' is not in the data");
    int64_t row = 0;
    for (const auto& chunk : column->chunks()) {
      for (int64_t i = 0; i < chunk->length(); ++i, ++row) {
        if (chunk->IsNull(i)) {
          keys[row].push_back(0);
          continue;
        }
        keys[row].push_back(1);
        auto st = AppendOrderedPart(*chunk, i, &keys[row]);
        if (!st.ok()) return st.WithMessage("column '", name, "': ", st.message());
      }
    }
  }
  return keys;
}

arrow::Result<std::vector<std::string>> RowKeys(
    const arrow::Table& table, const std::vector<std::string>& key_columns) {
  std::vector<std::string> names = key_columns;
  if (names.empty()) {
    for (const auto& f : table.schema()->fields()) names.push_back(f->name());
  }
  std::vector<std::string> keys(table.num_rows());
  for (const auto& name : names) {
    auto column = table.GetColumnByName(name);
    if (!column)
      return arrow::Status::Invalid("key column '", name, "' is not in the data");
    int64_t row = 0;
    for (const auto& chunk : column->chunks()) {
      for (int64_t i = 0; i < chunk->length(); ++i, ++row)
        AppendKeyPart(*chunk, i, &keys[row]);
    }
  }
  return keys;
}

namespace {

// Positions [begin, end) less offset as an index array for Take, checked once against
// length here: Arrow's Take would check them again for every column.
arrow::Result<std::shared_ptr<arrow::Array>> Positions(
    std::vector<int64_t>::const_iterator begin, std::vector<int64_t>::const_iterator end,
    int64_t offset, int64_t length) {
  int64_t n = end - begin;
  ARROW_ASSIGN_OR_RAISE(auto buffer,
                        arrow::AllocateBuffer(n * static_cast<int64_t>(sizeof(int64_t))));
  auto* out = reinterpret_cast<int64_t*>(buffer->mutable_data());
  for (int64_t i = 0; i < n; ++i) {
    out[i] = begin[i] - offset;
    if (static_cast<uint64_t>(out[i]) >= static_cast<uint64_t>(length)) {
      return arrow::Status::IndexError("row ", begin[i], " is out of bounds");
    }
  }
  return std::make_shared<arrow::Int64Array>(n, std::move(buffer));
}

// The rows of t at the ascending row numbers, taken batch by batch.
arrow::Result<std::shared_ptr<arrow::Table>> TakeAscending(
    const arrow::Table& t, const std::vector<int64_t>& rows) {
  arrow::TableBatchReader reader(t);
  std::vector<std::shared_ptr<arrow::RecordBatch>> taken;
  auto next = rows.begin();
  int64_t offset = 0;
  std::shared_ptr<arrow::RecordBatch> batch;
  while (next != rows.end()) {
    ARROW_RETURN_NOT_OK(reader.ReadNext(&batch));
    if (!batch)
      return arrow::Status::IndexError("row ", *next, " is past the table's ",
                                       t.num_rows(), " rows");
    int64_t end = offset + batch->num_rows();
    auto last = next;
    while (last != rows.end() && *last < end) ++last;
    if (last != next) {
      ARROW_ASSIGN_OR_RAISE(auto idx, Positions(next, last, offset, batch->num_rows()));
      ARROW_ASSIGN_OR_RAISE(
          arrow::Datum out,
          arrow::compute::Take(batch, idx, arrow::compute::TakeOptions::NoBoundsCheck()));
      taken.push_back(out.record_batch());
    }
    next = last;
    offset = end;
  }
  return arrow::Table::FromRecordBatches(t.schema(), taken);
}

// Arrow's Take (which concatenates a table's chunks first).
arrow::Result<std::shared_ptr<arrow::Table>> ArrowTake(
    const std::shared_ptr<arrow::Table>& t, const std::vector<int64_t>& rows) {
  ARROW_ASSIGN_OR_RAISE(auto idx, Positions(rows.begin(), rows.end(), 0, t->num_rows()));
  ARROW_ASSIGN_OR_RAISE(
      arrow::Datum out,
      arrow::compute::Take(t, idx, arrow::compute::TakeOptions::NoBoundsCheck()));
  return out.table();
}

}  // namespace

arrow::Result<std::shared_ptr<arrow::Table>> TakeRows(
    const std::shared_ptr<arrow::Table>& t, const std::vector<int64_t>& rows) {
  // Every row in order (a source without duplicates, a file with nothing dropped): no
  // copy.
  if (static_cast<int64_t>(rows.size()) == t->num_rows()) {
    bool identity = true;
    for (size_t i = 0; i < rows.size() && identity; ++i)
      identity = rows[i] == static_cast<int64_t>(i);
    if (identity) return t;
  }
  // Rows of a table in several chunks (a file or a source read in batches) are taken
  // batch by batch, in ascending order: Arrow's Take would first concatenate every chunk,
  // a copy of the whole table. Rows in another order are then put in theirs by a second
  // Take of just the rows taken.
  if (t->num_columns() > 0 && t->column(0)->num_chunks() > 1) {
    if (std::is_sorted(rows.begin(), rows.end())) return TakeAscending(*t, rows);
    std::vector<int64_t> order(rows.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return rows[a] < rows[b]; });
    std::vector<int64_t> ascending(rows.size());
    for (size_t j = 0; j < order.size(); ++j) ascending[j] = rows[order[j]];
    ARROW_ASSIGN_OR_RAISE(auto taken, TakeAscending(*t, ascending));
    ARROW_ASSIGN_OR_RAISE(taken, taken->CombineChunks());
    std::vector<int64_t> place(rows.size());  // the taken row that goes to each position
    for (size_t j = 0; j < order.size(); ++j) place[order[j]] = static_cast<int64_t>(j);
    return ArrowTake(taken, place);
  }
  return ArrowTake(t, rows);
}

arrow::Result<std::shared_ptr<arrow::Table>> SetBoolColumn(
    const std::shared_ptr<arrow::Table>& t, const std::string& name, bool value) {
  ARROW_ASSIGN_OR_RAISE(
      auto col, arrow::MakeArrayFromScalar(arrow::BooleanScalar(value), t->num_rows()));
  auto chunked = std::make_shared<arrow::ChunkedArray>(col);
  int idx = t->schema()->GetFieldIndex(name);
  if (idx >= 0) {
    // An existing boolean column keeps its field (nullability, metadata).
    auto field = t->schema()->field(idx);
    if (field->type()->id() != arrow::Type::BOOL)
      field = arrow::field(name, arrow::boolean());
    return t->SetColumn(idx, field, chunked);
  }
  return t->AddColumn(t->num_columns(), arrow::field(name, arrow::boolean()), chunked);
}

// Least significant digit first, 16 bits a pass, skipping the digits every value shares.
void RadixSort(std::vector<int64_t>* values) {
  constexpr size_t kSmall = 1 << 16;
  if (values->size() < kSmall) {
    std::sort(values->begin(), values->end());
    return;
  }
  // Flipping the sign bit makes unsigned order the signed order.
  std::vector<uint64_t> a(values->size()), b(values->size());
  for (size_t i = 0; i < a.size(); ++i)
    a[i] = static_cast<uint64_t>((*values)[i]) ^ (1ULL << 63);
  std::vector<size_t> count(1 << 16);
  for (int shift = 0; shift < 64; shift += 16) {
    std::fill(count.begin(), count.end(), 0);
    for (uint64_t v : a) ++count[(v >> shift) & 0xFFFF];
    if (count[(a[0] >> shift) & 0xFFFF] == a.size())
      continue;  // one digit: nothing moves
    size_t sum = 0;
    for (auto& c : count) sum += std::exchange(c, sum);
    for (uint64_t v : a) b[count[(v >> shift) & 0xFFFF]++] = v;
    a.swap(b);
  }
  for (size_t i = 0; i < a.size(); ++i)
    (*values)[i] = static_cast<int64_t>(a[i] ^ (1ULL << 63));
}

// Fibonacci hashing: the top bits of key * 2^64/phi pick the slot, so keys in arithmetic
// progression (the usual ids) spread evenly.
size_t KeyIndex::SlotOf(int64_t key) const {
  return static_cast<size_t>((static_cast<uint64_t>(key) * 0x9E3779B97F4A7C15ULL) >>
                             shift_);
}

void KeyIndex::Reserve(size_t n) {
  size_t capacity = 16;
  while (capacity < n + n / 2 + 1) capacity *= 2;  // at most 2/3 full
  if (capacity > slots_.size()) Grow(capacity);
}

void KeyIndex::Grow(size_t capacity) {
  std::vector<Slot> old = std::move(slots_);
  slots_.assign(capacity, Slot{0, -1});
  shift_ = 64 - std::countr_zero(capacity);
  size_ = 0;
  for (const Slot& s : old) {
    if (s.row >= 0) Emplace(s.key, s.row);
  }
}

std::pair<int64_t*, bool> KeyIndex::Emplace(int64_t key, int64_t row) {
  if ((size_ + 1) * 3 > slots_.size() * 2) Grow(std::max<size_t>(16, slots_.size() * 2));
  const size_t mask = slots_.size() - 1;
  for (size_t i = SlotOf(key);; i = (i + 1) & mask) {
    Slot& s = slots_[i];
    if (s.row < 0) {
      s = Slot{key, row};
      ++size_;
      return {&s.row, true};
    }
    if (s.key == key) return {&s.row, false};
  }
}

const int64_t* KeyIndex::Find(int64_t key) const {
  if (slots_.empty()) return nullptr;
  const size_t mask = slots_.size() - 1;
  for (size_t i = SlotOf(key);; i = (i + 1) & mask) {
    const Slot& s = slots_[i];
    if (s.row < 0) return nullptr;
    if (s.key == key) return &s.row;
  }
}

std::vector<int64_t> KeyIndex::FindAll(const std::vector<int64_t>& keys) const {
  constexpr size_t kAhead = 16;  // keys whose slots are on their way
  std::vector<int64_t> rows(keys.size(), -1);
  if (slots_.empty()) return rows;
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i + kAhead < keys.size()) Prefetch(keys[i + kAhead]);
    const int64_t* row = Find(keys[i]);
    if (row) rows[i] = *row;
  }
  return rows;
}

arrow::Result<std::vector<int64_t>> KeyEncoder::Encode(const arrow::Table& rows) {
  std::vector<int64_t> out;
  out.reserve(rows.num_rows());
  if (keys_.size() == 1) {
    auto column = rows.GetColumnByName(keys_[0]);
    if (!column)
      return arrow::Status::Invalid("key column '", keys_[0], "' is not in the data");
    switch (column->type()->id()) {
      case arrow::Type::INT8:
      case arrow::Type::INT16:
      case arrow::Type::INT32:
      case arrow::Type::INT64:
      case arrow::Type::DATE32: {
        // The value is the id (nulls, which keys do not have, map to 0).
        ARROW_ASSIGN_OR_RAISE(auto wide, arrow::compute::Cast(column, arrow::int64()));
        for (const auto& chunk : wide.chunked_array()->chunks()) {
          const auto& a = static_cast<const arrow::Int64Array&>(*chunk);
          for (int64_t i = 0; i < a.length(); ++i)
            out.push_back(a.IsNull(i) ? 0 : a.Value(i));
        }
        return out;
      }
      default:
        break;
    }
  }
  ARROW_ASSIGN_OR_RAISE(auto keys, RowKeys(rows, keys_));
  for (auto& k : keys) {
    auto [it, inserted] = ids_.emplace(std::move(k), static_cast<int64_t>(ids_.size()));
    out.push_back(it->second);
  }
  return out;
}

}  // namespace inlet
