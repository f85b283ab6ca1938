// The maintenance commands: optimize, vacuum, checkpoint.
#pragma once

#include <arrow/status.h>

#include <CLI/CLI.hpp>

namespace inlet::cli {

/// Adds the maintenance subcommands to app. After parsing, Run runs the one given.
class MaintenanceCommands {
 public:
  void Register(CLI::App* app);
  /// Whether one of them was given on the command line.
  bool parsed() const;
  arrow::Status Run() const;

 private:
  CLI::App* optimize_ = nullptr;
  CLI::App* vacuum_ = nullptr;
  CLI::App* checkpoint_ = nullptr;
  std::string table_;
  bool json_ = false;
  // optimize
  std::string where_;
  int64_t target_size_ = 0;
  int max_retries_ = 4;
  std::string zorder_by_;
  // vacuum
  double retention_hours_ = -1;
  bool dry_run_ = false;
  bool force_ = false;
};

}  // namespace inlet::cli
