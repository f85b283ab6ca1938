// How the commands name tables: a path or URI (a Delta or file-system Iceberg table), or,
// with --catalog, namespace.table in that Iceberg catalog.
#pragma once

#include <arrow/result.h>

#include <CLI/CLI.hpp>
#include <memory>
#include <optional>
#include <string>

#include "inlet/table.h"

namespace inlet::cli {

/// Adds --catalog, --catalog-name and --warehouse (and their INLET_CATALOG,
/// INLET_CATALOG_NAME and INLET_WAREHOUSE variables) to app; the commands' table names
/// then resolve through them.
void RegisterCatalogOptions(CLI::App* app);

/// The catalog options given (uri empty without --catalog).
const CatalogOptions& GivenCatalog();

/// Whether `name` is a table of the catalog given: with --catalog, a name that is no path
/// (no '/') names a catalog table.
bool NamesCatalogTable(const std::string& name);

/// Opens the table `name`; fails with kTableNotFound when there is none.
arrow::Result<std::shared_ptr<Table>> OpenTable(const std::string& name);
/// Opens the table `name`, or the place where the first write creates it (`format`: of a
/// table created by path; a catalog's tables are Iceberg's).
arrow::Result<std::shared_ptr<Table>> OpenOrCreateTable(
    const std::string& name, std::optional<TableFormat> format = std::nullopt);

}  // namespace inlet::cli
