// Status details callers may need to tell apart from other failures. Code that must react
// to a kind of failure tests its kind (KindOf), never the text of its message.
#pragma once

#include <arrow/status.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <random>
#include <string>
#include <thread>

namespace inlet {

enum class ErrorKind {
  /// There is no table at the location (IOError).
  kTableNotFound,
  /// The table needs a feature, or a format version, that inlet does not support
  /// (NotImplemented).
  kUnsupportedFeature,
  /// A commit lost to a concurrent, conflicting commit (Invalid; the message says
  /// "conflict: " and why, after the operation's context). Nothing of it is visible;
  /// retrying the whole operation against the new table state may succeed.
  kCommitConflict,
  /// Data does not fit the table's schema: a column the table lacks, a type that does not
  /// fit the column's, a null in a non-nullable column (Invalid or TypeError).
  kSchemaMismatch,
  /// The connection to a source's server could not be made, or dropped (the network, a
  /// server restart or shut down). Another attempt, connecting again, may succeed.
  kConnectionFailed,
};

/// The detail a status of one of those kinds carries. arrow::Status::WithMessage keeps
/// it.
class ErrorDetail : public arrow::StatusDetail {
 public:
  explicit ErrorDetail(ErrorKind kind) : kind_(kind) {}
  const char* type_id() const override { return "inlet::Error"; }
  std::string ToString() const override {
    switch (kind_) {
      case ErrorKind::kTableNotFound:
        return "table not found";
      case ErrorKind::kUnsupportedFeature:
        return "unsupported feature";
      case ErrorKind::kCommitConflict:
        return "commit conflict";
      case ErrorKind::kSchemaMismatch:
        return "schema mismatch";
      case ErrorKind::kConnectionFailed:
        return "connection failed";
    }
    return "error";
  }
  ErrorKind kind() const { return kind_; }

 private:
  ErrorKind kind_;
};

/// The kind st carries; nullopt for success and for failures of no particular kind.
std::optional<ErrorKind> KindOf(const arrow::Status& st);

/// The message of st for people: its text, and the system's reason when Arrow kept it
/// apart (" ([errno 13] Permission denied)").
std::string ErrorText(const arrow::Status& st);

/// st with the detail of kind added (its code and message unchanged).
arrow::Status WithKind(const arrow::Status& st, ErrorKind kind);

/// An IOError of kind kTableNotFound.
arrow::Status TableNotFound(const std::string& message);
/// An Invalid status "conflict: <message>" of kind kCommitConflict.
arrow::Status CommitConflict(const std::string& message);

/// KindOf(st) == ErrorKind::kCommitConflict.
bool IsCommitConflict(const arrow::Status& st);
/// KindOf(st) == ErrorKind::kTableNotFound.
bool IsTableNotFound(const arrow::Status& st);
/// KindOf(st) == ErrorKind::kConnectionFailed.
bool IsConnectionFailed(const arrow::Status& st);
/// `wrapped` (an error that gives `cause` context) with the kind of `cause`, if it has
/// one.
arrow::Status KeepKind(const arrow::Status& cause, const arrow::Status& wrapped);

/// Calls attempt() (which returns an arrow::Result) and, while it fails with a commit
/// conflict, calls it again up to `retries` more times, each after a short jittered pause
/// that grows with every retry. Returns the last result. For operations whose decisions
/// depend on the table's state (a merge, a pipeline run): each attempt starts afresh.
template <typename Attempt>
auto RetryOnConflict(int retries, Attempt&& attempt) -> decltype(attempt()) {
  thread_local std::mt19937 rng{std::random_device{}()};
  auto result = attempt();
  for (int retry = 0;
       !result.ok() && IsCommitConflict(result.status()) && retry < retries; ++retry) {
    int cap_ms = 50 << std::min(retry, 4);
    std::this_thread::sleep_for(
        std::chrono::milliseconds(std::uniform_int_distribution<int>(5, cap_ms)(rng)));
    result = attempt();
  }
  return result;
}

}  // namespace inlet
