// Reading ahead on a background thread: the items of a producer (batches of an input, of
// a table's files) are made while the caller works on earlier ones, a few at most.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>
#include <utility>

#include <arrow/result.h>

namespace inlet {

/// Calls produce on a thread of its own, keeping up to depth of its items queued for
/// Next. produce returns the next item, nullopt at the end, or an error (which ends it
/// too). Destroying the ReadAhead stops the thread once the item in hand is made, and
/// joins it.
template <typename T>
class ReadAhead {
 public:
  using Producer = std::function<arrow::Result<std::optional<T>>()>;

  ReadAhead(Producer produce, size_t depth)
      : produce_(std::move(produce)), depth_(depth), thread_([this] { Run(); }) {}

  ~ReadAhead() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  /// The next item in order, nullopt after the last; after the items made before it, the
  /// producer's error (on every later call too).
  arrow::Result<std::optional<T>> Next() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [this] { return !queue_.empty() || done_; });
    if (queue_.empty()) {
      if (!status_.ok()) return status_;
      return std::optional<T>();
    }
    std::optional<T> item = std::move(queue_.front());
    queue_.pop_front();
    cv_.notify_all();
    return item;
  }

 private:
  void Run() {
    while (true) {
      {
        std::unique_lock<std::mutex> lock(mu_);
        cv_.wait(lock, [this] { return stop_ || queue_.size() < depth_; });
        if (stop_) break;
      }
      arrow::Result<std::optional<T>> item = produce_();
      std::lock_guard<std::mutex> lock(mu_);
      if (!item.ok() || !*item) {
        status_ = item.status();
        break;
      }
      queue_.push_back(std::move(**item));
      cv_.notify_all();
    }
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
    cv_.notify_all();
  }

  Producer produce_;
  const size_t depth_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<T> queue_;   // guarded by mu_
  arrow::Status status_;  // guarded by mu_: the producer's error
  bool done_ = false;     // guarded by mu_
  bool stop_ = false;     // guarded by mu_
  std::thread thread_;    // last: starts after the members it uses exist
};

}  // namespace inlet
