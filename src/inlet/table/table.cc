#include "inlet/table.h"

#include <utility>

#include "inlet/delta/delta_table.h"

namespace inlet {

// Delta is the only format so far; Iceberg will be detected here by its metadata folder.
arrow::Result<std::shared_ptr<Table>> Table::Open(const std::string& uri, const StorageOptions& storage) {
  ARROW_ASSIGN_OR_RAISE(auto table, delta::DeltaTable::Open(uri, /*must_exist=*/true, storage));
  return table;
}

arrow::Result<std::shared_ptr<Table>> Table::OpenOrCreate(const std::string& uri, const StorageOptions& storage) {
  ARROW_ASSIGN_OR_RAISE(auto table, delta::DeltaTable::Open(uri, /*must_exist=*/false, storage));
  return table;
}

namespace {

constexpr std::pair<MergeMode, const char*> kMergeModes[] = {{MergeMode::kUpsert, "upsert"},
                                                               {MergeMode::kInsertOnly, "insert_only"},
                                                               {MergeMode::kDeleteInsert, "delete_insert"},
                                                               {MergeMode::kSnapshot, "snapshot"}};
constexpr std::pair<MissingKeys, const char*> kMissingKeys[] = {
    {MissingKeys::kDelete, "delete"}, {MissingKeys::kSoftDelete, "soft_delete"}, {MissingKeys::kKeep, "keep"}};

template <typename E, size_t N>
std::optional<E> Named(const std::pair<E, const char*> (&names)[N], const std::string& name) {
  for (const auto& [value, n] : names) {
    if (name == n) return value;
  }
  return std::nullopt;
}

}  // namespace

const char* MergeModeName(MergeMode mode) {
  for (const auto& [value, name] : kMergeModes) {
    if (value == mode) return name;
  }
  return "?";
}

std::optional<MergeMode> MergeModeNamed(const std::string& name) { return Named(kMergeModes, name); }

std::optional<MissingKeys> MissingKeysNamed(const std::string& name) { return Named(kMissingKeys, name); }

}  // namespace inlet
