#include "arrow_stream.h"

#include <arrow/c/abi.h>
#include <arrow/c/bridge.h>

#include <string>

#include "errors.h"
#include "inlet/status.h"

namespace inlet::python {

namespace {

// A stream handed to Python: its errors reach Python as pyarrow's exceptions, carrying
// only their message, which is inlet's text (secrets masked) rather than the raw status.
class MaskedErrors : public arrow::RecordBatchReader {
 public:
  explicit MaskedErrors(std::shared_ptr<arrow::RecordBatchReader> reader)
      : reader_(std::move(reader)) {}
  std::shared_ptr<arrow::Schema> schema() const override { return reader_->schema(); }
  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* batch) override {
    arrow::Status st = reader_->ReadNext(batch);
    return st.ok() ? st : arrow::Status(st.code(), ErrorText(st));
  }
  arrow::Status Close() override { return reader_->Close(); }

 private:
  std::shared_ptr<arrow::RecordBatchReader> reader_;
};

constexpr const char* kStreamCapsule = "arrow_array_stream";
constexpr const char* kSchemaCapsule = "arrow_schema";

// A capsule's destructor: what nobody took (a stream, a schema) is released here.
template <typename T, const char* const* kName>
void ReleaseCapsule(PyObject* capsule) {
  auto* c = static_cast<T*>(PyCapsule_GetPointer(capsule, *kName));
  if (!c) {
    PyErr_Clear();
    return;
  }
  if (c->release) c->release(c);
  delete c;
}

// c (exported, owned) in a capsule named *kName that releases it unless taken.
template <typename T, const char* const* kName>
nb::object NewCapsule(T* c) {
  PyObject* capsule = PyCapsule_New(c, *kName, ReleaseCapsule<T, kName>);
  if (!capsule) {
    c->release(c);
    delete c;
    throw nb::python_error();
  }
  return nb::steal(capsule);
}

// A reader that gives up once stop is set.
class StoppableReader : public arrow::RecordBatchReader {
 public:
  StoppableReader(std::shared_ptr<arrow::RecordBatchReader> reader,
                  const std::atomic<bool>* stop)
      : reader_(std::move(reader)), stop_(stop) {}

  std::shared_ptr<arrow::Schema> schema() const override { return reader_->schema(); }
  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* batch) override {
    if (stop_->load()) return arrow::Status::Cancelled("interrupted (Ctrl-C)");
    return reader_->ReadNext(batch);
  }
  arrow::Status Close() override { return reader_->Close(); }

 private:
  std::shared_ptr<arrow::RecordBatchReader> reader_;
  const std::atomic<bool>* stop_;
};

}  // namespace

std::shared_ptr<arrow::RecordBatchReader> ImportStream(nb::handle obj,
                                                       const std::atomic<bool>* stop) {
  if (!nb::hasattr(obj, "__arrow_c_stream__")) {
    std::string type = nb::str(obj.type().attr("__name__")).c_str();
    throw nb::type_error(
        ("inlet reads data through the Arrow PyCapsule protocol: a " + type +
         " has no __arrow_c_stream__ (pass a pyarrow Table or "
         "RecordBatchReader, a polars DataFrame, a DuckDB relation, ...)")
            .c_str());
  }
  nb::object capsule = obj.attr("__arrow_c_stream__")();
  auto* stream =
      static_cast<ArrowArrayStream*>(PyCapsule_GetPointer(capsule.ptr(), kStreamCapsule));
  if (!stream) throw nb::python_error();
  // Import moves the stream out of the capsule (marking it released there).
  auto reader = Unwrap(arrow::ImportRecordBatchReader(stream));
  if (stop) return std::make_shared<StoppableReader>(std::move(reader), stop);
  return reader;
}

nb::object ExportedStream::ArrowCStream(nb::handle requested_schema) {
  if (!reader_) throw nb::value_error("this stream was read already");
  auto* stream = new ArrowArrayStream;
  arrow::Status st = arrow::ExportRecordBatchReader(
      std::make_shared<MaskedErrors>(std::move(reader_)), stream);
  reader_.reset();
  if (!st.ok()) {
    delete stream;
    Raise(st);
  }
  return NewCapsule<ArrowArrayStream, &kStreamCapsule>(stream);
}

nb::object SchemaCapsule(const arrow::Schema& schema) {
  auto* c = new ArrowSchema;
  arrow::Status st = arrow::ExportSchema(schema, c);
  if (!st.ok()) {
    delete c;
    Raise(st);
  }
  return NewCapsule<ArrowSchema, &kSchemaCapsule>(c);
}

void AddStreams(nb::module_& m) {
  nb::class_<ExportedStream>(m, "ExportedStream",
                             "Rows from inlet as an Arrow C stream, to be taken once "
                             "(pyarrow.RecordBatchReader.from_stream(stream)).")
      .def("__arrow_c_stream__", &ExportedStream::ArrowCStream,
           nb::arg("requested_schema") = nb::none(),
           "The stream as a PyCapsule (the Arrow PyCapsule protocol).");
}

}  // namespace inlet::python
