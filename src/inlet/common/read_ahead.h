// Reading ahead on a background thread: the items of a producer (batches of an input, of
// a table's files) are made while the caller works on earlier ones, a few at most.
#pragma once

#include <arrow/result.h>

#include <deque>
#include <functional>
#include <optional>
#include <thread>
#include <utility>

#include "inlet/common/mutex.h"

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
      MutexLock lock(&mu_);
      stop_ = true;
    }
    cv_.NotifyAll();
    thread_.join();
  }

  ReadAhead(const ReadAhead&) = delete;
  ReadAhead& operator=(const ReadAhead&) = delete;

  /// The next item in order, nullopt after the last; after the items made before it, the
  /// producer's error (on every later call too).
  arrow::Result<std::optional<T>> Next() EXCLUDES(mu_) {
    MutexLock lock(&mu_);
    cv_.Wait([this]() REQUIRES(mu_) { return !queue_.empty() || done_; });
    if (queue_.empty()) {
      if (!status_.ok()) return status_;
      return std::optional<T>();
    }
    std::optional<T> item = std::move(queue_.front());
    queue_.pop_front();
    cv_.NotifyAll();
    return item;
  }

 private:
  void Run() EXCLUDES(mu_) {
    while (true) {
      {
        MutexLock lock(&mu_);
        cv_.Wait([this]() REQUIRES(mu_) { return stop_ || queue_.size() < depth_; });
        if (stop_) break;
      }
      // The producer runs unlocked: Next may take items meanwhile.
      arrow::Result<std::optional<T>> item = produce_();
      MutexLock lock(&mu_);
      if (!item.ok() || !*item) {
        status_ = item.status();
        break;
      }
      queue_.push_back(std::move(**item));
      cv_.NotifyAll();
    }
    MutexLock lock(&mu_);
    done_ = true;
    cv_.NotifyAll();
  }

  Producer produce_;
  const size_t depth_;
  Mutex mu_;
  CondVar cv_{&mu_};
  std::deque<T> queue_ GUARDED_BY(mu_);
  arrow::Status status_ GUARDED_BY(mu_);  // the producer's error
  bool done_ GUARDED_BY(mu_) = false;
  bool stop_ GUARDED_BY(mu_) = false;
  std::thread thread_;  // last: starts after the members it uses exist
};

}  // namespace inlet
