#include "inlet/status.h"

#include <cstring>
#include <memory>

#include "inlet/common/redact.h"

namespace inlet {

std::optional<ErrorKind> KindOf(const arrow::Status& st) {
  if (st.ok() || !st.detail() || std::strcmp(st.detail()->type_id(), "inlet::Error") != 0)
    return std::nullopt;
  return static_cast<const ErrorDetail&>(*st.detail()).kind();
}

std::string ErrorText(const arrow::Status& st) {
  std::string text = st.message();
  if (st.detail() && std::strcmp(st.detail()->type_id(), "inlet::Error") != 0) {
    std::string reason = st.detail()->ToString();
    if (!reason.empty() && text.find(reason) == std::string::npos)
      text += " (" + reason + ")";
  }
  // Whatever a server or a library echoed into the message (a header, a form, a URI).
  return MaskKnownSecrets(std::move(text));
}

arrow::Status WithKind(const arrow::Status& st, ErrorKind kind) {
  if (st.ok()) return st;
  return arrow::Status(st.code(), st.message(), std::make_shared<ErrorDetail>(kind));
}

arrow::Status TableNotFound(const std::string& message) {
  return WithKind(arrow::Status::IOError(message), ErrorKind::kTableNotFound);
}

arrow::Status CommitConflict(const std::string& message) {
  return WithKind(arrow::Status::Invalid("conflict: " + message),
                  ErrorKind::kCommitConflict);
}

bool IsCommitConflict(const arrow::Status& st) {
  return KindOf(st) == ErrorKind::kCommitConflict;
}

bool IsTableNotFound(const arrow::Status& st) {
  return KindOf(st) == ErrorKind::kTableNotFound;
}

bool IsConnectionFailed(const arrow::Status& st) {
  return KindOf(st) == ErrorKind::kConnectionFailed;
}

arrow::Status KeepKind(const arrow::Status& cause, const arrow::Status& wrapped) {
  auto kind = KindOf(cause);
  return kind && !wrapped.ok() ? WithKind(wrapped, *kind) : wrapped;
}

}  // namespace inlet
