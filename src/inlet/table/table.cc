#include "inlet/table.h"

#include <utility>

#include "inlet/delta/delta_table.h"

namespace inlet {

// Delta is the only format so far; Iceberg will be detected here by its metadata folder.
arrow::Result<std::shared_ptr<Table>> Table::Open(const std::string& uri,
                                                  const StorageOptions& storage) {
  ARROW_ASSIGN_OR_RAISE(auto table,
                        delta::DeltaTable::Open(uri, /*must_exist=*/true, storage));
  return table;
}

arrow::Result<std::shared_ptr<Table>> Table::OpenOrCreate(const std::string& uri,
                                                          const StorageOptions& storage) {
  ARROW_ASSIGN_OR_RAISE(auto table,
                        delta::DeltaTable::Open(uri, /*must_exist=*/false, storage));
  return table;
}

const std::vector<std::pair<const char*, MergeMode>>& MergeModeNames() {
  static const std::vector<std::pair<const char*, MergeMode>> names = {
      {"upsert", MergeMode::kUpsert},
      {"insert_only", MergeMode::kInsertOnly},
      {"delete_insert", MergeMode::kDeleteInsert},
      {"snapshot", MergeMode::kSnapshot}};
  return names;
}

const std::vector<std::pair<const char*, MissingKeys>>& MissingKeysNames() {
  static const std::vector<std::pair<const char*, MissingKeys>> names = {
      {"delete", MissingKeys::kDelete},
      {"soft_delete", MissingKeys::kSoftDelete},
      {"keep", MissingKeys::kKeep}};
  return names;
}

namespace {

template <typename E>
std::optional<E> Named(const std::vector<std::pair<const char*, E>>& names,
                       const std::string& name) {
  for (const auto& [n, value] : names) {
    if (name == n) return value;
  }
  return std::nullopt;
}

}  // namespace

const char* MergeModeName(MergeMode mode) {
  for (const auto& [name, value] : MergeModeNames()) {
    if (value == mode) return name;
  }
  return "?";
}

std::optional<MergeMode> MergeModeNamed(const std::string& name) {
  return Named(MergeModeNames(), name);
}

std::optional<MissingKeys> MissingKeysNamed(const std::string& name) {
  return Named(MissingKeysNames(), name);
}

}  // namespace inlet
