#include "inlet/table.h"

#include <utility>

#include "inlet/delta/delta_table.h"
#include "inlet/iceberg/iceberg_table.h"
#include "inlet/status.h"
#include "inlet/table/extract_spill.h"

namespace inlet {

arrow::Result<MergeResult> Table::MergeExtract(
    std::shared_ptr<arrow::RecordBatchReader> extract, const MergeOptions& options) {
  if (options.mode != MergeMode::kSnapshot) {
    ARROW_ASSIGN_OR_RAISE(auto rows, extract->ToTable());
    return Merge(std::move(rows), options);
  }
  int64_t repeats = 0;
  bool soft = options.missing_keys == MissingKeys::kSoftDelete;
  ARROW_ASSIGN_OR_RAISE(
      auto rows, table::ReadExtract(extract.get(), options.keys,
                                    soft ? options.soft_delete_column : std::string(),
                                    location(), &repeats));
  ARROW_ASSIGN_OR_RAISE(auto result, Merge(std::move(rows), options));
  result.source_duplicates += repeats;
  return result;
}

// An Iceberg metadata file, or a directory with Iceberg metadata and no Delta log, is an
// Iceberg table; anything else is Delta's.
arrow::Result<std::shared_ptr<Table>> Table::Open(const std::string& uri,
                                                  const StorageOptions& storage) {
  ARROW_ASSIGN_OR_RAISE(bool iceberg, iceberg::IcebergTable::Holds(uri, storage));
  if (iceberg) {
    ARROW_ASSIGN_OR_RAISE(auto table, iceberg::IcebergTable::Open(uri, storage));
    return table;
  }
  auto table = delta::DeltaTable::Open(uri, /*must_exist=*/true, storage);
  if (!table.ok()) {
    if (IsTableNotFound(table.status()))
      return TableNotFound(table.status().message() +
                           "; not an Iceberg table either (no metadata/*.metadata.json)");
    return table.status();
  }
  return *table;
}

arrow::Result<std::shared_ptr<Table>> Table::OpenInCatalog(const CatalogOptions& catalog,
                                                           const std::string& identifier,
                                                           const StorageOptions& storage,
                                                           bool create) {
  ARROW_ASSIGN_OR_RAISE(auto ident, iceberg::TableIdent::Parse(identifier));
  ARROW_ASSIGN_OR_RAISE(auto opened, iceberg::OpenCatalog(catalog, create));
  ARROW_ASSIGN_OR_RAISE(auto table, iceberg::IcebergTable::OpenInCatalog(
                                        std::move(opened), std::move(ident), storage,
                                        create, catalog.location));
  return table;
}

arrow::Result<std::string> RegisterIcebergTable(const CatalogOptions& catalog,
                                                const std::string& identifier,
                                                const std::string& uri,
                                                const StorageOptions& storage) {
  ARROW_ASSIGN_OR_RAISE(auto ident, iceberg::TableIdent::Parse(identifier));
  ARROW_ASSIGN_OR_RAISE(bool iceberg, iceberg::IcebergTable::Holds(uri, storage));
  if (!iceberg)
    return TableNotFound("cannot register " + uri + ": no Iceberg table there");
  ARROW_ASSIGN_OR_RAISE(auto table, iceberg::IcebergTable::Open(uri, storage));
  ARROW_ASSIGN_OR_RAISE(auto opened, iceberg::OpenCatalog(catalog, /*for_write=*/true));
  auto taken = [&] {
    return arrow::Status::AlreadyExists("cannot register ", uri, " as ", identifier, ": ",
                                        opened->description(),
                                        " has a table of that name already");
  };
  ARROW_ASSIGN_OR_RAISE(auto existing, opened->CurrentMetadata(ident));
  if (existing) return taken();
  ARROW_ASSIGN_OR_RAISE(std::string metadata, table->CatalogEntry());
  auto added = opened->AddTable(ident, metadata);
  if (!added.ok() || !*added) table->DiscardCatalogEntry(metadata);
  if (!added.ok()) return added.status();
  if (!*added) return taken();
  return metadata;
}

arrow::Result<std::vector<std::string>> ListCatalogTables(const CatalogOptions& catalog,
                                                          const std::string& ns) {
  ARROW_ASSIGN_OR_RAISE(auto opened, iceberg::OpenCatalog(catalog, /*for_write=*/false));
  ARROW_ASSIGN_OR_RAISE(auto tables, opened->ListTables(ns));
  std::vector<std::string> out;
  for (const auto& t : tables) out.push_back(t.ToString());
  return out;
}

std::optional<TableFormat> TableFormatNamed(const std::string& name) {
  if (name == "delta") return TableFormat::kDelta;
  if (name == "iceberg") return TableFormat::kIceberg;
  return std::nullopt;
}

arrow::Result<std::shared_ptr<Table>> Table::OpenOrCreate(
    const std::string& uri, const StorageOptions& storage,
    std::optional<TableFormat> format) {
  ARROW_ASSIGN_OR_RAISE(bool iceberg, iceberg::IcebergTable::Holds(uri, storage));
  if (iceberg) {
    if (format == TableFormat::kDelta)
      return arrow::Status::Invalid(uri, " is an Iceberg table, not a Delta table");
    ARROW_ASSIGN_OR_RAISE(auto table, iceberg::IcebergTable::Open(uri, storage));
    return table;
  }
  ARROW_ASSIGN_OR_RAISE(auto delta,
                        delta::DeltaTable::Open(uri, /*must_exist=*/false, storage));
  if (format == TableFormat::kIceberg) {
    auto existing = delta->GetSnapshot({});
    if (existing.ok())
      return arrow::Status::Invalid(uri, " is a Delta table, not an Iceberg table");
    if (!IsTableNotFound(existing.status())) return existing.status();
    ARROW_ASSIGN_OR_RAISE(auto table, iceberg::IcebergTable::Create(uri, storage));
    return table;
  }
  return delta;
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
