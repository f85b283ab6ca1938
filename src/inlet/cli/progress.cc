#include "inlet/cli/progress.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "inlet/log.h"

namespace inlet::cli {

namespace {

// Shown once a command has run this long; INLET_PROGRESS_AFTER_MS overrides it (tests).
std::chrono::milliseconds Delay() {
  const char* env = std::getenv("INLET_PROGRESS_AFTER_MS");
  return std::chrono::milliseconds(env ? std::atoll(env) : 2000);
}
constexpr auto kEvery = std::chrono::milliseconds(250);

class CountingReader : public arrow::RecordBatchReader {
 public:
  CountingReader(std::shared_ptr<arrow::RecordBatchReader> reader, ProgressLine* progress)
      : reader_(std::move(reader)), progress_(progress) {}
  std::shared_ptr<arrow::Schema> schema() const override { return reader_->schema(); }
  arrow::Status ReadNext(std::shared_ptr<arrow::RecordBatch>* out) override {
    ARROW_RETURN_NOT_OK(reader_->ReadNext(out));
    if (*out) progress_->AddRows((*out)->num_rows());
    return arrow::Status::OK();
  }
  arrow::Status Close() override { return reader_->Close(); }

 private:
  std::shared_ptr<arrow::RecordBatchReader> reader_;
  ProgressLine* progress_;
};

}  // namespace

ProgressLine::ProgressLine(std::string what, bool allowed)
    : what_(std::move(what)),
      enabled_(allowed && ::isatty(2) != 0 && LogEnabled(LogLevel::kWarning)),
      start_(std::chrono::steady_clock::now()) {
  if (!enabled_) return;
  ticker_ = std::thread([this] {
    auto wait = std::min<std::chrono::milliseconds>(Delay(), kEvery);
    while (true) {
      {
        std::unique_lock<std::mutex> lock(wake_mutex_);
        if (wake_.wait_for(lock, wait, [this] { return stop_.load(); })) return;
      }
      Tick();
      wait = kEvery;
    }
  });
}

ProgressLine::~ProgressLine() {
  {
    std::lock_guard<std::mutex> lock(wake_mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (ticker_.joinable()) ticker_.join();
  std::lock_guard<std::mutex> lock(mutex_);
  if (shown_) {
    std::fputs("\r\033[K", stderr);
    std::fflush(stderr);
  }
}

void ProgressLine::Phase(std::string phase) {
  std::lock_guard<std::mutex> lock(mutex_);
  phase_ = std::move(phase);
}

void ProgressLine::Tick() {
  auto elapsed = std::chrono::steady_clock::now() - start_;
  if (elapsed < Delay()) return;
  double seconds = std::chrono::duration<double>(elapsed).count();
  int64_t rows = rows_.load();
  std::lock_guard<std::mutex> lock(mutex_);
  char line[256];
  if (rows > 0) {
    std::snprintf(line, sizeof(line),
                  "\r\033[Kinlet: %s%s%s: %lld rows, %.0f rows/s, %.0f s", what_.c_str(),
                  phase_.empty() ? "" : ", ", phase_.c_str(),
                  static_cast<long long>(rows), rows / seconds, seconds);
  } else {
    std::snprintf(line, sizeof(line), "\r\033[Kinlet: %s%s%s: %.0f s", what_.c_str(),
                  phase_.empty() ? "" : ", ", phase_.c_str(), seconds);
  }
  std::fputs(line, stderr);
  std::fflush(stderr);
  shown_ = true;
}

std::shared_ptr<arrow::RecordBatchReader> CountRows(
    std::shared_ptr<arrow::RecordBatchReader> reader, ProgressLine* progress) {
  if (!progress->enabled()) return reader;
  return std::make_shared<CountingReader>(std::move(reader), progress);
}

}  // namespace inlet::cli
