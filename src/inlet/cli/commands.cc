#include "inlet/cli/commands.h"

#include <arrow/compute/initialize.h>
#include <arrow/status.h>

#include <CLI/CLI.hpp>
#include <iostream>
#include <string>

#include "inlet/cli/maintenance.h"
#include "inlet/cli/pipeline_commands.h"
#include "inlet/cli/table_commands.h"

namespace inlet::cli {

namespace {

constexpr char kVersion[] = "0.1.0";

int Report(const arrow::Status& st) {
  if (st.ok()) return 0;
  std::string msg = st.message();
  for (auto& c : msg) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::cerr << "inlet: error: " << msg << std::endl;
  return 1;
}

}  // namespace

int Run(int argc, char** argv) {
  CLI::App app{"inlet: incremental loads into lakehouse tables (Delta Lake)", "inlet"};
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(1);
  TableCommands tables;
  tables.Register(&app);
  PipelineCommands pipelines;
  pipelines.Register(&app);
  MaintenanceCommands maintenance;
  maintenance.Register(&app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "inlet: error: " << e.what() << " (see inlet --help)" << std::endl;
    return 2;
  }
  auto init = arrow::compute::Initialize();
  if (!init.ok()) return Report(init);
  if (tables.parsed()) return Report(tables.Run());
  if (pipelines.parsed()) return Report(pipelines.Run());
  if (maintenance.parsed()) return Report(maintenance.Run());
  return 2;
}

}  // namespace inlet::cli
