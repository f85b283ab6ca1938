// inlet's failures as Python exceptions, one class per kind (docs/python.md, "Errors"),
// and the one way the bindings run work: with the GIL released, Ctrl-C honoured.
#pragma once

#include <arrow/result.h>
#include <arrow/status.h>
#include <nanobind/nanobind.h>

#include <atomic>
#include <functional>
#include <utility>

namespace inlet::python {

namespace nb = nanobind;

/// Raises the Python exception for st (which must be an error), a class of
/// inlet/_errors.py chosen by its kind: sets it and throws nb::python_error. The message
/// is inlet's (ErrorText).
[[noreturn]] void Raise(const arrow::Status& st);

inline void Check(const arrow::Status& st) {
  if (!st.ok()) Raise(st);
}
template <typename T>
T Unwrap(arrow::Result<T> result) {
  if (!result.ok()) Raise(result.status());
  return std::move(result).ValueUnsafe();
}

/// Runs work on a thread of its own while the caller waits with the GIL released, so that
/// other Python threads run and Ctrl-C is seen: on SIGINT (a Python signal handler that
/// raises) `stop` is set when given, and the work is waited for (it stops at its next
/// safe point: a write or merge reading its input, a run before its commit, a stream
/// after its last commit). Returns whether that happened; the KeyboardInterrupt is then
/// set as the Python error. work must not touch Python objects, except through callbacks
/// that take the GIL themselves (an Arrow stream Python produces).
bool RunReleased(const std::function<void()>& work, std::atomic<bool>* stop = nullptr);

/// RunReleased for work returning a Result: its value, or its error raised. After Ctrl-C:
/// KeyboardInterrupt when the work gave up (Cancelled), or when `stop_ends_work` (a
/// stream, which stops by committing what it holds) and it succeeded; otherwise the work
/// ran to its end, so its outcome is returned (or raised) and the interrupt raised again
/// at Python's next check: a commit that happened is never hidden behind
/// KeyboardInterrupt.
template <typename T>
T RunReleasedOrRaise(const std::function<arrow::Result<T>()>& work,
                     std::atomic<bool>* stop = nullptr, bool stop_ends_work = false) {
  arrow::Result<T> result = arrow::Status::UnknownError("not run");
  if (RunReleased([&] { result = work(); }, stop)) {
    bool abandoned = result.ok() ? stop_ends_work : result.status().IsCancelled();
    if (abandoned) throw nb::python_error();
    PyErr_Clear();
    PyErr_SetInterrupt();
  }
  return Unwrap(std::move(result));
}

}  // namespace inlet::python
