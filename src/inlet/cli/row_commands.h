// The row commands: delete and update, rows chosen by --where.
#pragma once

#include <arrow/status.h>

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

namespace inlet::cli {

/// Adds the delete and update subcommands to app. After parsing, Run runs the one given.
class RowCommands {
 public:
  void Register(CLI::App* app);
  /// Whether one of them was given on the command line.
  bool parsed() const;
  arrow::Status Run() const;

 private:
  arrow::Status RunChange(bool update) const;

  CLI::App* delete_ = nullptr;
  CLI::App* update_ = nullptr;
  std::string table_;
  std::string where_;
  bool all_ = false;
  std::vector<std::string> set_;
  int max_retries_ = 10;
  bool dry_run_ = false;
  bool json_ = false;
};

}  // namespace inlet::cli
