#include "inlet/load/quality.h"

#include <arrow/array.h>
#include <arrow/builder.h>
#include <arrow/compute/api.h>
#include <arrow/scalar.h>

#include <algorithm>
#include <set>
#include <tuple>
#include <unordered_map>

#include "inlet/common/time.h"
#include "inlet/load/rows.h"
#include "inlet/source/file_source.h"
#include "inlet/table/row_hash.h"
#include "inlet/table/value.h"

namespace inlet::load {

namespace {

// "(location="A", ts="2024-...")" for messages.
std::string DescribeKey(const arrow::Table& rows, int64_t row,
                        const std::vector<std::string>& keys) {
  std::string out = "(";
  for (const auto& k : keys) {
    auto scalar = rows.GetColumnByName(k)->GetScalar(row);
    out += (out.size() > 1 ? ", " : "") + k + "=" +
           (scalar.ok() ? (*scalar)->ToString() : "?");
  }
  return out + ")";
}

}  // namespace

arrow::Result<QualityResult> ApplyKeyGates(const std::shared_ptr<arrow::Table>& input,
                                           const QualityOptions& o,
                                           const std::vector<std::string>& file_names) {
  QualityResult out{input, 0, nullptr};
  if (input->num_rows() == 0 || o.keys.empty()) return out;
  if (o.duplicate_keys == RejectPolicy::kAllow && o.null_keys == RejectPolicy::kAllow)
    return out;
  std::vector<int64_t> null_key_of;  // per row: the key column index that is null, or -1
  null_key_of.assign(input->num_rows(), -1);
  for (size_t k = 0; k < o.keys.size(); ++k) {
    auto col = input->GetColumnByName(o.keys[k]);
    if (!col)
      return arrow::Status::Invalid("key column '", o.keys[k],
                                    "' is not in the source data");
    if (col->null_count() == 0) continue;
    int64_t row = 0;
    for (const auto& chunk : col->chunks()) {
      for (int64_t i = 0; i < chunk->length(); ++i, ++row) {
        if (chunk->IsNull(i) && null_key_of[row] < 0)
          null_key_of[row] = static_cast<int64_t>(k);
      }
    }
  }
  KeyEncoder encoder(o.keys);
  ARROW_ASSIGN_OR_RAISE(auto ids, encoder.Encode(*input));
  // Rows sharing a key (rows with a null key count as one group): the first row of each.
  int64_t first_null = -1;
  // Keys in strictly ascending order (an extract ordered by its key) cannot repeat: no
  // lookups are needed then.
  bool ascending = true;
  for (size_t i = 1; i < ids.size() && ascending; ++i) ascending = ids[i - 1] < ids[i];
  if (ascending && std::all_of(null_key_of.begin(), null_key_of.end(),
                               [](int64_t k) { return k < 0; }))
    return out;
  KeyIndex first_id;
  first_id.Reserve(ids.size());
  auto first_of = [&](int64_t i) {
    return null_key_of[i] >= 0 ? first_null : *first_id.Find(ids[i]);
  };
  std::vector<int64_t> repeated;  // rows whose key came earlier
  for (int64_t i = 0; i < input->num_rows(); ++i) {
    bool seen_before;
    if (null_key_of[i] >= 0) {
      seen_before = first_null >= 0;
      if (!seen_before) first_null = i;
    } else {
      seen_before = !first_id.Emplace(ids[i], i).second;
    }
    if (seen_before) repeated.push_back(i);
  }
  // Identical rows sharing a key (overlapping snapshots of a source) are one row, not
  // duplicates to reject. Without keys, identical rows may be distinct events: all stay.
  std::vector<char> dropped(input->num_rows(), 0);
  if (o.duplicate_keys != RejectPolicy::kAllow && !repeated.empty()) {
    std::vector<int64_t> involved;  // the repeated rows and the first row of their keys
    for (int64_t i : repeated) {
      involved.push_back(first_of(i));
      involved.push_back(i);
    }
    std::sort(involved.begin(), involved.end());
    involved.erase(std::unique(involved.begin(), involved.end()), involved.end());
    ARROW_ASSIGN_OR_RAISE(auto some, TakeRows(input, involved));
    ARROW_ASSIGN_OR_RAISE(auto hashes, HashRows(*some, DataColumns(*input)));
    // (first row of the key, row hash): a repeat is an identical row of the same key.
    std::set<std::tuple<int64_t, uint64_t, uint64_t>> seen;
    for (size_t j = 0; j < involved.size(); ++j) {
      if (!seen.emplace(first_of(involved[j]), hashes[j].lo, hashes[j].hi).second) {
        dropped[involved[j]] = 1;
        ++out.deduplicated;
      }
    }
  }
  // The rows that stay, and why the others are rejected.
  std::shared_ptr<arrow::Table> rows = input;
  std::vector<int64_t> kept_rows;
  if (out.deduplicated > 0) {
    for (int64_t i = 0; i < input->num_rows(); ++i) {
      if (!dropped[i]) kept_rows.push_back(i);
    }
    ARROW_ASSIGN_OR_RAISE(rows, TakeRows(input, kept_rows));
  }
  auto original = [&](int64_t i) { return kept_rows.empty() ? i : kept_rows[i]; };
  out.accepted = rows;
  int64_t n = rows->num_rows();
  std::vector<std::string> reason(n);
  bool any_reason = false;
  if (o.null_keys != RejectPolicy::kAllow) {
    for (int64_t i = 0; i < n; ++i) {
      int64_t k = null_key_of[original(i)];
      if (k < 0) continue;
      if (o.null_keys == RejectPolicy::kFail) {
        std::string file = FileOfRow(*rows, i, file_names);
        return arrow::Status::Invalid(
            "quality gate null_keys: a row has a null key column '", o.keys[k], "'",
            file.empty() ? "" : " (in " + file + ")");
      }
      reason[i] = "null key column '" + o.keys[k] + "'";
      any_reason = true;
    }
  }
  // Keys repeated within the run: the first occurrence stays.
  if (o.duplicate_keys != RejectPolicy::kAllow && !repeated.empty()) {
    std::unordered_map<int64_t, int64_t> first;
    for (int64_t i = 0; i < n; ++i) {
      int64_t r = original(i);
      if (!reason[i].empty() || null_key_of[r] >= 0) continue;
      auto [it, inserted] = first.emplace(ids[r], i);
      if (inserted) continue;
      if (o.duplicate_keys == RejectPolicy::kFail) {
        std::string file = FileOfRow(*rows, i, file_names);
        return arrow::Status::Invalid("quality gate duplicate_keys: key ",
                                      DescribeKey(*rows, i, o.keys),
                                      " occurs in rows with different values",
                                      file.empty() ? "" : " (again in " + file + ")");
      }
      reason[i] = "duplicate key";
      any_reason = true;
    }
  }
  if (!any_reason) return out;
  ARROW_ASSIGN_OR_RAISE(auto ok_mask,
                        MaskOf(n, [&](int64_t i) { return reason[i].empty(); }));
  ARROW_ASSIGN_OR_RAISE(out.accepted, SelectRows(rows, ok_mask));
  if (out.accepted->num_rows() == n) return out;
  ARROW_ASSIGN_OR_RAISE(auto bad_mask,
                        MaskOf(n, [&](int64_t i) { return !reason[i].empty(); }));
  ARROW_ASSIGN_OR_RAISE(auto rejected, SelectRows(rows, bad_mask));
  arrow::StringBuilder b;
  for (int64_t i = 0; i < n; ++i) {
    if (!reason[i].empty()) ARROW_RETURN_NOT_OK(b.Append(reason[i]));
  }
  ARROW_ASSIGN_OR_RAISE(auto reasons, b.Finish());
  ARROW_ASSIGN_OR_RAISE(
      out.rejected, rejected->AddColumn(rejected->num_columns(),
                                        arrow::field("_reject_reason", arrow::utf8()),
                                        std::make_shared<arrow::ChunkedArray>(reasons)));
  return out;
}

}  // namespace inlet::load
