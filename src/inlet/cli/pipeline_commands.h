// The pipeline commands: run, stream, state, reset.
#pragma once

#include <arrow/status.h>

#include <CLI/CLI.hpp>
#include <string>

namespace inlet::cli {

/// Adds the pipeline subcommands to app. After parsing, Run runs the one given.
class PipelineCommands {
 public:
  void Register(CLI::App* app);
  /// Whether one of them was given on the command line.
  bool parsed() const;
  /// Whether the command printed a JSON report of its own (run, stream: failed ones too).
  bool reports() const;
  arrow::Status Run() const;

 private:
  struct RunArgs {
    std::string file;
    std::string pipeline;
    bool json = false;
    bool dry_run = false;
    std::string from;
    std::string to;
  };
  struct StreamArgs {
    std::string file;
    std::string pipeline;
    bool json = false;
    double idle_exit = 0;
    bool catch_up = false;
    std::string metrics_file;
    double metrics_interval = 10;
  };
  struct StateArgs {
    std::string table;
    bool json = false;
    std::string pipeline;  // reset
  };

  static arrow::Status RunPipelines(const RunArgs& a);
  static arrow::Status RunStreams(const StreamArgs& a);
  static arrow::Status ShowState(const StateArgs& a);
  static arrow::Status ResetState(const StateArgs& a);

  CLI::App* run_ = nullptr;
  CLI::App* stream_ = nullptr;
  CLI::App* state_ = nullptr;
  CLI::App* reset_ = nullptr;
  RunArgs run_args_;
  StreamArgs stream_args_;
  StateArgs state_args_;
  StateArgs reset_args_;
};

}  // namespace inlet::cli
