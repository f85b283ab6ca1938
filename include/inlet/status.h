// Status details callers may need to tell apart from other failures.
#pragma once

#include <string>

#include <arrow/status.h>

namespace inlet {

/// Marks a commit that lost to a concurrent, conflicting commit. Retrying the whole
/// operation against the new table state may succeed.
class CommitConflictDetail : public arrow::StatusDetail {
 public:
  const char* type_id() const override { return "inlet::CommitConflict"; }
  std::string ToString() const override { return "commit conflict"; }
};

/// An Invalid status with message "conflict: <message>" and the conflict detail.
arrow::Status CommitConflict(const std::string& message);

/// True when st (or a status that wraps its detail) reports a commit conflict.
bool IsCommitConflict(const arrow::Status& st);

}  // namespace inlet
