#include "inlet/table.h"

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

}  // namespace inlet
