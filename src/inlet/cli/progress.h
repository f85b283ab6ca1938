// A one-line progress display on standard error for long commands (write, merge, scan,
// optimize): shown only on a terminal, only once a command has run two seconds, and not
// with --quiet; cleared when the command ends.
#pragma once

#include <arrow/record_batch.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace inlet::cli {

class ProgressLine {
 public:
  /// what: the command's doing ("writing t", "merging into t", ...). allowed: false
  /// where the line would mix with other output (rows printed to the terminal).
  explicit ProgressLine(std::string what, bool allowed = true);
  /// Stops the ticker and clears the line.
  ~ProgressLine();
  ProgressLine(const ProgressLine&) = delete;
  ProgressLine& operator=(const ProgressLine&) = delete;

  /// Whether anything is shown (a terminal, not --quiet).
  bool enabled() const { return enabled_; }
  /// Rows done so far (thread-safe); shown with their rate.
  void AddRows(int64_t rows) { rows_ += rows; }
  /// Replaces the phase shown after `what` ("reading input", "committing").
  void Phase(std::string phase);

 private:
  void Tick();

  std::string what_;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
  std::atomic<int64_t> rows_{0};
  std::mutex mutex_;
  std::string phase_;
  bool shown_ = false;
  std::atomic<bool> stop_{false};
  std::mutex wake_mutex_;
  std::condition_variable wake_;  // ends the ticker's wait at once
  std::thread ticker_;
};

/// reader, counting the rows it yields into progress.
std::shared_ptr<arrow::RecordBatchReader> CountRows(
    std::shared_ptr<arrow::RecordBatchReader> reader, ProgressLine* progress);

}  // namespace inlet::cli
