#include "inlet/cli/commands.h"

#include <arrow/compute/initialize.h>
#include <arrow/status.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <iostream>
#include <string>
#include <vector>

#include "inlet/cli/catalog_commands.h"
#include "inlet/cli/maintenance.h"
#include "inlet/cli/output.h"
#include "inlet/cli/pipeline_commands.h"
#include "inlet/cli/row_commands.h"
#include "inlet/cli/serve_command.h"
#include "inlet/cli/table_commands.h"
#include "inlet/cli/table_names.h"
#include "inlet/log.h"
#include "inlet/status.h"

namespace inlet::cli {

namespace {

constexpr char kVersion[] = "0.1.0";

// One line on stderr; with --json also {"error": ...} on stdout (a run or stream prints
// its own failed report instead).
int Report(const arrow::Status& st, bool json = false) {
  if (st.ok()) return 0;
  std::string msg = ErrorText(st);
  for (auto& c : msg) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  std::cerr << "inlet: error: " << msg << std::endl;
  if (json) {
    Json out = {{"error", msg}};
    if (auto kind = KindOf(st)) {
      std::string name = ErrorDetail(*kind).ToString();  // "table not found"
      std::replace(name.begin(), name.end(), ' ', '_');
      out["kind"] = name;
    }
    std::cout << Dump(out) << std::endl;
  }
  return 1;
}

bool HasFlag(int argc, char** argv, const char* flag) {
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == flag) return true;
  }
  return false;
}

// Levenshtein distance, for "did you mean".
size_t Distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t up = row[j];
      row[j] = std::min(
          {row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = up;
    }
  }
  return row[b.size()];
}

// The first word that is not an option, when it names no command: "unknown command".
std::string UnknownCommand(const CLI::App& app, int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
    if (word.empty() || word[0] == '-') {
      // Their values.
      if (word == "--log-level" || word == "--catalog" || word == "--catalog-name" ||
          word == "--warehouse" || word == "--catalog-ca-bundle")
        ++i;
      continue;
    }
    std::string best;
    size_t best_distance = 3;  // suggest only near misses
    for (const CLI::App* sub :
         app.get_subcommands([](const CLI::App*) { return true; })) {
      if (sub->get_name() == word) return "";
      size_t d = Distance(word, sub->get_name());
      if (d < best_distance) {
        best_distance = d;
        best = sub->get_name();
      }
    }
    std::string out = "unknown command '" + word + "'";
    if (!best.empty()) out += " (did you mean '" + best + "'?)";
    return out + "; see inlet --help";
  }
  return "";
}

}  // namespace

int Run(int argc, char** argv) {
  CLI::App app{
      "inlet: incremental loads into lakehouse tables (Delta Lake, Apache Iceberg)",
      "inlet"};
  app.set_version_flag("--version", kVersion);
  app.require_subcommand(1);
  // Given before or after the command.
  app.fallthrough();
  std::string log_level = "warning";
  bool quiet = false;
  app.add_option("--log-level", log_level,
                 "What inlet logs on stderr: error, warning (default), info, debug")
      ->check(CLI::IsMember({"error", "warning", "info", "debug"}));
  app.add_flag("-q,--quiet", quiet, "Log errors only (same as --log-level error)");
  RegisterCatalogOptions(&app);
  TableCommands tables;
  tables.Register(&app);
  PipelineCommands pipelines;
  pipelines.Register(&app);
  MaintenanceCommands maintenance;
  maintenance.Register(&app);
  RowCommands rows;
  rows.Register(&app);
  CatalogCommands catalogs;
  catalogs.Register(&app);
  ServeCommand serve;
  serve.Register(&app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string unknown = UnknownCommand(app, argc, argv);
    std::cerr << "inlet: error: "
              << (unknown.empty() ? std::string(e.what()) + " (see inlet --help)"
                                  : unknown)
              << std::endl;
    return 2;
  }
  SetLogLevel(quiet ? LogLevel::kError : *ParseLogLevel(log_level));
  auto init = arrow::compute::Initialize();
  if (!init.ok()) return Report(init);
  bool json = HasFlag(argc, argv, "--json");
  if (tables.parsed()) return Report(tables.Run(), json);
  if (pipelines.parsed()) {
    arrow::Status st = pipelines.Run();  // before asking whether it printed a report
    return Report(st, json && !pipelines.reports());
  }
  if (maintenance.parsed()) return Report(maintenance.Run(), json);
  if (rows.parsed()) return Report(rows.Run(), json);
  if (catalogs.parsed()) return Report(catalogs.Run(), json);
  if (serve.parsed()) return Report(serve.Run());
  return 2;
}

}  // namespace inlet::cli
