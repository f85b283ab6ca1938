#include "inlet/cli/row_commands.h"

#include <cctype>
#include <iostream>
#include <optional>
#include <utility>

#include "inlet/cli/output.h"
#include "inlet/cli/progress.h"
#include "inlet/cli/table_names.h"
#include "inlet/predicate.h"
#include "inlet/status.h"
#include "inlet/table.h"

namespace inlet::cli {

namespace {

// "col=value": the value as a predicate's literal ('quoted' or bare); NULL (unquoted, any
// case) is null.
arrow::Result<std::pair<std::string, std::optional<std::string>>> ParseAssignment(
    const std::string& text) {
  size_t eq = text.find('=');
  auto trim = [](std::string s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
    size_t i = 0;
    while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
    return s.substr(i);
  };
  std::string column = eq == std::string::npos ? "" : trim(text.substr(0, eq));
  if (column.empty()) {
    return arrow::Status::Invalid("--set '", text,
                                  "': expected column=value (value 'quoted' or bare, or "
                                  "NULL)");
  }
  std::string value = trim(text.substr(eq + 1));
  std::string upper = value;
  for (auto& c : upper)
    c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper == "NULL") return std::make_pair(column, std::optional<std::string>());
  // The literal as the predicate parser reads it (quotes, '' escapes).
  auto parsed = ParseConjunction("x = " + value);
  if (!parsed.ok() || parsed->size() != 1) {
    return arrow::Status::Invalid("--set '", text, "': the value '", value,
                                  "' is not a literal (quote text: col='a b')");
  }
  return std::make_pair(column, std::optional<std::string>((*parsed)[0].literal));
}

}  // namespace

void RowCommands::Register(CLI::App* app) {
  delete_ = app->add_subcommand("delete", "Delete the rows matching --where");
  update_ = app->add_subcommand("update", "Set columns of the rows matching --where");
  for (CLI::App* c : {delete_, update_}) {
    c->add_option("table", table_, "Table path or URI")->required();
    auto* where = c->add_option(
        "--where", where_,
        "Rows to change: col op literal [AND ...] (=, !=, <, <=, >, >=, IS [NOT] NULL)");
    c->add_flag("--all", all_, "Every row (instead of --where)")->excludes(where);
    c->add_option("--max-retries", max_retries_,
                  "Attempts again after losing to a concurrent commit (default 10)");
    c->add_flag("--dry-run", dry_run_, "Count what would change; write nothing");
    c->add_flag("--json", json_, "Print the result as JSON");
  }
  update_
      ->add_option("--set", set_,
                   "column=value to set, repeatable ('quoted' text, bare numbers, dates "
                   "and timestamps, or NULL)")
      ->required();
}

bool RowCommands::parsed() const { return delete_->parsed() || update_->parsed(); }

arrow::Status RowCommands::Run() const { return RunChange(update_->parsed()); }

arrow::Status RowCommands::RunChange(bool update) const {
  const char* command = update ? "update" : "delete";
  if (where_.empty() && !all_) {
    return arrow::Status::Invalid(command, " needs --where (or --all for every row)");
  }
  UpdateOptions o;
  if (!where_.empty()) {
    ARROW_ASSIGN_OR_RAISE(o.where, ParseConjunction(where_));
  }
  o.every_row = all_;
  o.dry_run = dry_run_;
  for (const auto& s : set_) {
    ARROW_ASSIGN_OR_RAISE(auto assignment, ParseAssignment(s));
    o.set.push_back(std::move(assignment));
  }
  ARROW_ASSIGN_OR_RAISE(auto table, OpenTable(table_));
  arrow::Result<MergeResult> changed;
  {
    ProgressLine progress(std::string(update ? "updating " : "deleting from ") + table_);
    // A change that lost to a concurrent commit (an optimize that compacted the files it
    // rewrote, say) runs again on the new version.
    changed = RetryOnConflict(max_retries_, [&]() -> arrow::Result<MergeResult> {
      if (update) return table->Update(o);
      return table->Delete(o);
    });
  }
  ARROW_ASSIGN_OR_RAISE(MergeResult r, std::move(changed));
  int64_t rows = update ? r.rows_updated : r.rows_deleted;
  if (json_) {
    std::cout << Dump(Json{{"table", table_},
                           {"version", r.commit.version},
                           {update ? "rows_updated" : "rows_deleted", rows},
                           {"files_scanned", r.files_scanned},
                           {"files_rewritten", r.files_rewritten},
                           {"files_marked", r.files_marked},
                           {"changed", r.changed},
                           {"dry_run", dry_run_},
                           {"files_added", r.commit.files_added},
                           {"files_removed", r.commit.files_removed},
                           {"attempts", r.commit.attempts}})
              << std::endl;
    return arrow::Status::OK();
  }
  std::string files = std::to_string(r.files_scanned) + " files read, " +
                      std::to_string(r.files_rewritten) +
                      (dry_run_ ? " would be rewritten" : " rewritten") +
                      (r.files_marked ? ", " + std::to_string(r.files_marked) +
                                            " with rows marked deleted"
                                      : "");
  if (dry_run_) {
    std::cout << "dry run on " << table_ << ", nothing written: " << rows
              << " rows would be " << (update ? "updated" : "deleted") << "; " << files
              << std::endl;
  } else if (!r.changed) {
    std::cout << "no rows match: " << table_ << " is unchanged" << std::endl;
  } else {
    std::cout << (update ? "updated " : "deleted ") << rows
              << (rows == 1 ? " row of " : " rows of ") << table_ << " at version "
              << r.commit.version << "; " << files << std::endl;
  }
  return arrow::Status::OK();
}

}  // namespace inlet::cli
