#include "inlet/common/prefetch.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

namespace inlet {

namespace {

class PrefetchReader : public arrow::RecordBatchReader {
 public:
  PrefetchReader(std::shared_ptr<arrow::RecordBatchReader> source, int depth)
      : source_(std::move(source)), depth_(depth), thread_([this] { Run(); }) {}

  ~PrefetchReader() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  std::shared_ptr<arrow::Schema> schema() const override { return source_->schema(); }

  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !queue_.empty() || done_; });
    if (queue_.empty()) {
      *out = nullptr;
      return status_;
    }
    *out = std::move(queue_.front());
    queue_.pop_front();
    cv_.notify_all();
    return arrow::Status::OK();
  }

 private:
  void Run() {
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stop_ || static_cast<int>(queue_.size()) < depth_; });
        if (stop_) break;
      }
      std::shared_ptr<arrow::RecordBatch> batch;
      arrow::Status st = source_->ReadNext(&batch);
      std::lock_guard<std::mutex> lock(mu_);
      if (!st.ok() || !batch) {
        status_ = st;
        break;
      }
      queue_.push_back(std::move(batch));
      cv_.notify_all();
    }
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    cv_.notify_all();
  }

  std::shared_ptr<arrow::RecordBatchReader> source_;
  const int depth_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::shared_ptr<arrow::RecordBatch>> queue_;  // guarded by mu_
  arrow::Status status_;                                   // guarded by mu_
  bool done_ = false;                                      // guarded by mu_
  bool stop_ = false;                                      // guarded by mu_
  std::thread thread_;  // last: starts after the members it uses exist
};

}  // namespace

std::shared_ptr<arrow::RecordBatchReader> Prefetch(std::shared_ptr<arrow::RecordBatchReader> source,
                                                   int depth) {
  return std::make_shared<PrefetchReader>(std::move(source), depth);
}

}  // namespace inlet
