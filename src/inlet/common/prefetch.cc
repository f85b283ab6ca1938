#include "inlet/common/prefetch.h"

#include "inlet/common/read_ahead.h"

namespace inlet {

namespace {

class PrefetchReader : public arrow::RecordBatchReader {
 public:
  PrefetchReader(std::shared_ptr<arrow::RecordBatchReader> source, int depth)
      : source_(std::move(source)),
        batches_([this] { return Produce(); }, static_cast<size_t>(depth)) {}

  std::shared_ptr<arrow::Schema> schema() const override { return source_->schema(); }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    *out = nullptr;
    ARROW_ASSIGN_OR_RAISE(auto batch, batches_.Next());
    if (batch) *out = std::move(*batch);
    return arrow::Status::OK();
  }

 private:
  arrow::Result<std::optional<std::shared_ptr<arrow::RecordBatch>>> Produce() {
    std::shared_ptr<arrow::RecordBatch> batch;
    ARROW_RETURN_NOT_OK(source_->ReadNext(&batch));
    if (!batch) return std::nullopt;
    return batch;
  }

  std::shared_ptr<arrow::RecordBatchReader> source_;
  ReadAhead<std::shared_ptr<arrow::RecordBatch>>
      batches_;  // last: its thread reads source_
};

}  // namespace

std::shared_ptr<arrow::RecordBatchReader> Prefetch(
    std::shared_ptr<arrow::RecordBatchReader> source, int depth) {
  return std::make_shared<PrefetchReader>(std::move(source), depth);
}

}  // namespace inlet
