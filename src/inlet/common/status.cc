#include "inlet/status.h"

#include <cstring>

namespace inlet {

arrow::Status CommitConflict(const std::string& message) {
  return arrow::Status(arrow::StatusCode::Invalid, "conflict: " + message,
                       std::make_shared<CommitConflictDetail>());
}

bool IsCommitConflict(const arrow::Status& st) {
  return st.detail() && std::strcmp(st.detail()->type_id(), "inlet::CommitConflict") == 0;
}

}  // namespace inlet
