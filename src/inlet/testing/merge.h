// Merges in unit tests, each checked against its own dry run.
#pragma once

#include <arrow/result.h>
#include <arrow/table.h>

#include <memory>
#include <string>

#include "inlet/table.h"

namespace inlet::testing {

/// Runs the merge of source into table (whose files are under root) twice: first as a dry
/// run, which must leave every file under root as it was, then for real. The dry run must
/// count what the merge then does. Returns the merge's result.
arrow::Result<MergeResult> MergeAfterDryRun(Table& table, const std::string& root,
                                            const std::shared_ptr<arrow::Table>& source,
                                            MergeOptions options);

}  // namespace inlet::testing
