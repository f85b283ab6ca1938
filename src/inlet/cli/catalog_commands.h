// The catalog commands: register (record a file-system Iceberg table in a catalog) and
// tables (list a catalog's tables).
#pragma once

#include <arrow/status.h>

#include <CLI/CLI.hpp>
#include <string>

namespace inlet::cli {

/// Adds the catalog subcommands to app. After parsing, Run runs the one given.
class CatalogCommands {
 public:
  void Register(CLI::App* app);
  /// Whether one of them was given on the command line.
  bool parsed() const;
  arrow::Status Run() const;

 private:
  arrow::Status RegisterTable() const;
  arrow::Status ListTables() const;

  CLI::App* register_ = nullptr;
  CLI::App* tables_ = nullptr;
  std::string name_;
  std::string path_;
  std::string namespace_;
  bool json_ = false;
};

}  // namespace inlet::cli
