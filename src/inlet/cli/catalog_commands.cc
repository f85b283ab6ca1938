#include "inlet/cli/catalog_commands.h"

#include <iostream>

#include "inlet/cli/output.h"
#include "inlet/cli/table_names.h"
#include "inlet/table.h"

namespace inlet::cli {

void CatalogCommands::Register(CLI::App* app) {
  register_ = app->add_subcommand(
      "register",
      "Record an Iceberg table given by path in the --catalog, as namespace.table");
  register_->add_option("name", name_, "The table's name in the catalog: namespace.table")
      ->required();
  register_
      ->add_option("path", path_,
                   "The table's directory (its current metadata file is recorded) or a "
                   "metadata file")
      ->required();
  register_->add_flag("--json", json_, "Print JSON");

  tables_ = app->add_subcommand("tables", "List the tables of the --catalog");
  tables_->add_option("namespace", namespace_, "Only this namespace's tables");
  tables_->add_flag("--json", json_, "Print JSON");
}

bool CatalogCommands::parsed() const { return register_->parsed() || tables_->parsed(); }

arrow::Status CatalogCommands::Run() const {
  if (GivenCatalog().uri.empty())
    return arrow::Status::Invalid("inlet ", register_->parsed() ? "register" : "tables",
                                  " needs a catalog: --catalog URI (or INLET_CATALOG)");
  return register_->parsed() ? RegisterTable() : ListTables();
}

arrow::Status CatalogCommands::RegisterTable() const {
  ARROW_ASSIGN_OR_RAISE(auto metadata,
                        RegisterIcebergTable(GivenCatalog(), name_, path_));
  if (json_)
    std::cout << Dump(Json{{"table", name_}, {"metadata_location", metadata}})
              << std::endl;
  else
    std::cout << "registered " << name_ << " at " << metadata << std::endl;
  return arrow::Status::OK();
}

arrow::Status CatalogCommands::ListTables() const {
  ARROW_ASSIGN_OR_RAISE(auto tables, ListCatalogTables(GivenCatalog(), namespace_));
  if (json_) {
    std::cout << Dump(Json(tables)) << std::endl;
  } else {
    for (const auto& t : tables) std::cout << t << "\n";
  }
  return arrow::Status::OK();
}

}  // namespace inlet::cli
