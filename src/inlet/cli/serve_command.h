// inlet serve: the pipelines of a file as a service (docs/operations.md).
#pragma once

#include <arrow/status.h>

#include <CLI/CLI.hpp>
#include <string>

namespace inlet::cli {

class ServeCommand {
 public:
  void Register(CLI::App* app);
  bool parsed() const;
  arrow::Status Run() const;

 private:
  struct Args {
    std::string file;
    std::string listen = "127.0.0.1:8787";
    std::string token_env;
    size_t history = 50;
    size_t max_concurrent_runs = 2;
    bool json = false;
  };
  CLI::App* serve_ = nullptr;
  Args args_;
};

}  // namespace inlet::cli
