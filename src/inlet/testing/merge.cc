#include "inlet/testing/merge.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <map>

namespace inlet::testing {

namespace {

// Every file under root, with its size.
std::map<std::string, uintmax_t> Files(const std::string& root) {
  std::map<std::string, uintmax_t> out;
  if (!std::filesystem::exists(root)) return out;
  for (const auto& e : std::filesystem::recursive_directory_iterator(root)) {
    if (e.is_regular_file()) out[e.path().string()] = e.file_size();
  }
  return out;
}

}  // namespace

arrow::Result<MergeResult> MergeAfterDryRun(Table& table, const std::string& root,
                                            const std::shared_ptr<arrow::Table>& source,
                                            MergeOptions options) {
  auto before = Files(root);
  options.dry_run = true;
  ARROW_ASSIGN_OR_RAISE(MergeResult dry, table.Merge(source, options));
  EXPECT_EQ(Files(root), before) << "the dry run changed files";
  EXPECT_EQ(dry.commit.version, -1);
  options.dry_run = false;
  ARROW_ASSIGN_OR_RAISE(MergeResult real, table.Merge(source, options));
  auto counts = [](const MergeResult& r) {
    return std::vector<int64_t>{r.rows_inserted,     r.rows_updated,    r.rows_deleted,
                                r.source_duplicates, r.late_discarded,  r.rows_truncated,
                                r.files_scanned,     r.files_rewritten, r.files_marked,
                                r.rows_compared,     int64_t{r.changed}};
  };
  EXPECT_EQ(counts(dry), counts(real))
      << "dry run and merge count differently (inserted, updated, deleted, duplicates, "
         "late, truncated, scanned, "
         "rewritten, marked, compared, changed)";
  return real;
}

}  // namespace inlet::testing
