// Data across the boundary through the Arrow C stream interface and the Arrow PyCapsule
// protocol (__arrow_c_stream__): pyarrow, polars, DuckDB and anything else that speaks
// it, without conversion or a copy.
#pragma once

#include <arrow/record_batch.h>
#include <nanobind/nanobind.h>

#include <atomic>
#include <memory>

namespace inlet::python {

namespace nb = nanobind;

/// A reader over obj's stream: obj has __arrow_c_stream__ (pyarrow Table and
/// RecordBatchReader, polars DataFrame, a DuckDB relation, ...). Raises TypeError naming
/// obj's type when it has not, ValueError when it returns no stream capsule, and
/// InvalidInputError when the stream cannot be imported.
/// Call with the GIL held; the reader may then be read without it.
/// With `stop`, the reader fails (Cancelled) at its next batch once stop is set, so that
/// work reading it gives up before its commit (Ctrl-C during RunReleased).
std::shared_ptr<arrow::RecordBatchReader> ImportStream(
    nb::handle obj, const std::atomic<bool>* stop = nullptr);

/// A reader handed to Python: an object with __arrow_c_stream__, which pyarrow (and every
/// consumer of the protocol) takes once.
class ExportedStream {
 public:
  explicit ExportedStream(std::shared_ptr<arrow::RecordBatchReader> reader)
      : reader_(std::move(reader)) {}

  /// The stream as a PyCapsule named "arrow_array_stream". requested_schema is accepted
  /// and ignored (the protocol allows it). Raises when the stream was taken already.
  nb::object ArrowCStream(nb::handle requested_schema);

 private:
  std::shared_ptr<arrow::RecordBatchReader> reader_;
};

/// schema as a PyCapsule named "arrow_schema" (the Arrow PyCapsule protocol), released
/// unless a consumer takes it.
nb::object SchemaCapsule(const arrow::Schema& schema);

void AddStreams(nb::module_& m);

}  // namespace inlet::python
