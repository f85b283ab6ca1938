#include "errors.h"

#include <chrono>
#include <future>
#include <string>
#include <thread>

#include "inlet/status.h"

namespace inlet::python {

namespace {

// The classes of inlet/_errors.py, looked up at the first error (the module must import
// without its package: stub generation imports it alone).
struct Classes {
  nb::object inlet_error, invalid, io, not_found, conflict, schema, unsupported;
};

const Classes& ErrorClasses() {
  // Called with the GIL held. No function-local static: its guard, held while the import
  // gives up the GIL, would deadlock a second thread raising meanwhile. Two threads may
  // both look the classes up once; either result is right.
  static const Classes* classes = nullptr;
  if (!classes) {
    nb::module_ m = nb::module_::import_("inlet._errors");
    auto* found = new Classes{m.attr("InletError"),
                              m.attr("InvalidInputError"),
                              m.attr("StorageError"),
                              m.attr("TableNotFoundError"),
                              m.attr("CommitConflictError"),
                              m.attr("SchemaMismatchError"),
                              m.attr("UnsupportedFeatureError")};
    if (!classes) classes = found;
  }
  return *classes;
}

nb::handle ClassOf(const arrow::Status& st) {
  const Classes& c = ErrorClasses();
  if (auto kind = KindOf(st)) {
    switch (*kind) {
      case ErrorKind::kTableNotFound:
        return c.not_found;
      case ErrorKind::kUnsupportedFeature:
        return c.unsupported;
      case ErrorKind::kCommitConflict:
        return c.conflict;
      case ErrorKind::kSchemaMismatch:
        return c.schema;
      case ErrorKind::kConnectionFailed:
        return c.io;  // a server out of reach is an I/O failure, however it was worded
    }
  }
  if (st.IsInvalid() || st.IsTypeError() || st.IsKeyError() || st.IsIndexError())
    return c.invalid;
  if (st.IsIOError()) return c.io;
  if (st.IsNotImplemented()) return c.unsupported;
  return c.inlet_error;
}

}  // namespace

void Raise(const arrow::Status& st) {
  PyErr_SetString(ClassOf(st).ptr(), ErrorText(st).c_str());
  throw nb::python_error();
}

bool RunReleased(const std::function<void()>& work, std::atomic<bool>* stop) {
  std::packaged_task<void()> task(work);
  auto done = task.get_future();
  std::thread worker(std::move(task));
  bool interrupted = false;
  for (;;) {
    std::future_status status;
    {
      nb::gil_scoped_release release;
      status = done.wait_for(std::chrono::milliseconds(100));
    }
    if (status == std::future_status::ready) break;
    // A second Ctrl-C changes nothing: the work is waited for either way (it may be
    // reading Python's objects).
    if (!interrupted && PyErr_CheckSignals() != 0) {
      interrupted = true;  // the KeyboardInterrupt stays set
      if (stop) stop->store(true);
    }
  }
  worker.join();
  try {
    done.get();  // rethrows what work threw (it should throw nothing)
  } catch (...) {
    if (interrupted) PyErr_Clear();
    throw;
  }
  return interrupted;
}

}  // namespace inlet::python
