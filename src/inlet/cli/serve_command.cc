#include "inlet/cli/serve_command.h"

#include <cstdlib>
#include <iostream>
#include <mutex>

#include "inlet/serve.h"

namespace inlet::cli {

void ServeCommand::Register(CLI::App* app) {
  Args& a = args_;
  serve_ = app->add_subcommand(
      "serve",
      "Serve the pipelines of a YAML file: runs on their schedules, streams "
      "continuously, "
      "and an HTTP endpoint (metrics, health, run history, status page)");
  serve_->add_option("file", a.file, "Pipeline file")->required();
  serve_->add_option("--listen", a.listen,
                     "host:port of the endpoint (default 127.0.0.1:8787; port 0: any)");
  serve_->add_option("--token-env", a.token_env,
                     "The environment variable holding the endpoint's bearer token");
  serve_->add_option("--history", a.history, "Run reports kept per pipeline (default 50)")
      ->check(CLI::PositiveNumber);
  serve_
      ->add_option("--max-concurrent-runs", a.max_concurrent_runs,
                   "Runs of different pipelines at once (default 2)")
      ->check(CLI::PositiveNumber);
  serve_->add_flag("--json", a.json, "Print each run's report as one JSON line");
}

bool ServeCommand::parsed() const { return serve_->parsed(); }

arrow::Status ServeCommand::Run() const {
  const Args& a = args_;
  ServeOptions options;
  options.listen = a.listen;
  options.history = a.history;
  options.max_concurrent_runs = a.max_concurrent_runs;
  if (!a.token_env.empty()) {
    const char* token = std::getenv(a.token_env.c_str());
    if (!token || !*token)
      return arrow::Status::Invalid("--token-env: environment variable ", a.token_env,
                                    " is not set");
    options.token = token;
  }
  options.on_listening = [&a](const std::string& address) {
    std::cout << "inlet serve: " << a.file << " on " << address << std::endl;
  };
  static std::mutex out;
  bool json = a.json;
  options.on_run = [json](const RunReport& report) {
    std::lock_guard<std::mutex> lock(out);
    std::cout << (json ? report.ToJson() : report.ToText()) << std::endl;
  };
  return Serve(a.file, options);
}

}  // namespace inlet::cli
