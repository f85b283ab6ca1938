// The table commands: write, scan, history, info, merge, changes, alter, restore.
#pragma once

#include <arrow/status.h>

#include <CLI/CLI.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace inlet::cli {

/// CSV input options (inlet/io.h CsvOptions) as flags of write and merge.
struct TableCsvFlags {
  std::string delimiter;
  bool no_header = false;
  std::string quote;
  std::string escape;
  std::vector<std::string> null_values;
};

/// Adds the table subcommands to app. After parsing, Run runs the one given.
class TableCommands {
 public:
  void Register(CLI::App* app);
  /// Whether one of them was given on the command line.
  bool parsed() const;
  arrow::Status Run() const;

 private:
  using CsvFlags = TableCsvFlags;
  struct Write {
    std::string table;
    std::vector<std::string> inputs;
    std::string input_format;
    std::string mode = "append";
    std::string format;
    std::string partition_by;
    std::string replace_where;
    bool merge_schema = false;
    std::string sort_by;
    std::vector<std::string> properties;
    std::string compression = "zstd";
    int64_t target_file_size = 128LL * 1024 * 1024;
    int64_t sort_run_size = 256LL * 1024 * 1024;
    std::string app_id;
    int64_t app_version = -1;
    bool json = false;
    CsvFlags csv;
    std::string schema;
  };
  struct Scan {
    std::string table;
    int64_t version = -1;
    std::string as_of;
    std::string ref;
    std::string columns;
    std::string where;
    int64_t limit = -1;
    std::string output;
    std::string output_format = "csv";
  };
  struct Listing {  // history, info
    std::string table;
    bool json = false;
    int64_t limit = -1;
  };
  struct Merge {
    std::string table;
    std::vector<std::string> inputs;
    std::string input_format;
    std::string keys;
    std::string mode = "upsert";
    std::string order_by;
    std::string delete_flag;
    bool ignore_null_updates = false;
    std::string update_columns;
    std::string sequence_by;
    std::string truncate_flag;
    bool history = false;
    std::string track_columns;
    std::string missing = "delete";
    std::string soft_delete_column;
    std::optional<double> max_delete_percent;
    bool merge_schema = false;
    int max_retries = 10;
    bool dry_run = false;
    bool json = false;
    CsvFlags csv;
    std::string schema;
  };
  struct Changes {
    std::string table;
    int64_t from = 0;
    int64_t to = -1;
    bool file_level = false;
    std::string output;
    std::string output_format = "csv";
  };

  static arrow::Status RunWrite(const Write& a);
  static arrow::Status RunScan(const Scan& a);
  static arrow::Status RunHistory(const Listing& a);
  static arrow::Status RunInfo(const Listing& a);
  static arrow::Status RunMerge(const Merge& a);
  static arrow::Status RunChanges(const Changes& a);
  struct Alter {
    std::string table;
    std::vector<std::string> properties;
    bool json = false;
  };
  static arrow::Status RunAlter(const Alter& a);
  struct Restore {
    std::string table;
    int64_t version = -1;
    std::string as_of;
    bool json = false;
  };
  static arrow::Status RunRestore(const Restore& a);

  CLI::App* write_ = nullptr;
  CLI::App* scan_ = nullptr;
  CLI::App* history_ = nullptr;
  CLI::App* info_ = nullptr;
  CLI::App* merge_ = nullptr;
  CLI::App* changes_ = nullptr;
  CLI::App* alter_ = nullptr;
  CLI::App* restore_ = nullptr;
  Restore restore_args_;
  Alter alter_args_;
  Write write_args_;
  Scan scan_args_;
  Listing history_args_;
  Listing info_args_;
  Merge merge_args_;
  Changes changes_args_;
};

}  // namespace inlet::cli
