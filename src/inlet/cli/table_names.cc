#include "inlet/cli/table_names.h"

namespace inlet::cli {

namespace {

CatalogOptions& Catalog() {
  static CatalogOptions options;
  return options;
}

}  // namespace

void RegisterCatalogOptions(CLI::App* app) {
  CatalogOptions& c = Catalog();
  app->add_option("--catalog", c.uri,
                  "Iceberg catalog the table names resolve in (sqlite:PATH or "
                  "postgresql://user@host:port/db); TABLE is then namespace.table")
      ->envname("INLET_CATALOG");
  app->add_option("--catalog-name", c.name,
                  "The catalog's name, as the other engines sharing it call it (default: "
                  "default)")
      ->envname("INLET_CATALOG_NAME");
  app->add_option("--warehouse", c.warehouse,
                  "Where tables created in the catalog go (default: beside a SQLite "
                  "catalog file)")
      ->envname("INLET_WAREHOUSE");
}

const CatalogOptions& GivenCatalog() { return Catalog(); }

bool NamesCatalogTable(const std::string& name) {
  return !Catalog().uri.empty() && name.find('/') == std::string::npos;
}

arrow::Result<std::shared_ptr<Table>> OpenTable(const std::string& name) {
  if (NamesCatalogTable(name)) return Table::OpenInCatalog(Catalog(), name);
  return Table::Open(name);
}

arrow::Result<std::shared_ptr<Table>> OpenOrCreateTable(
    const std::string& name, std::optional<TableFormat> format) {
  if (NamesCatalogTable(name)) {
    if (format == TableFormat::kDelta)
      return arrow::Status::Invalid(name, " names a table of ", Catalog().uri,
                                    ", an Iceberg catalog: it cannot be a Delta table");
    return Table::OpenInCatalog(Catalog(), name, {}, /*create=*/true);
  }
  return Table::OpenOrCreate(name, {}, format);
}

}  // namespace inlet::cli
