// A mutex and a condition variable whose locking the compiler can check (see
// thread_annotations.h); std::mutex carries no annotations.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>

#include "inlet/common/thread_annotations.h"

namespace inlet {

class CAPABILITY("mutex") Mutex {
 public:
  void Lock() ACQUIRE() { mu_.lock(); }
  void Unlock() RELEASE() { mu_.unlock(); }
  // BasicLockable, for CondVar.
  void lock() ACQUIRE() { mu_.lock(); }
  void unlock() RELEASE() { mu_.unlock(); }

 private:
  std::mutex mu_;
};

/// Holds a Mutex for a scope.
class SCOPED_CAPABILITY MutexLock {
 public:
  explicit MutexLock(Mutex* mu) ACQUIRE(mu) : mu_(mu) { mu_->Lock(); }
  ~MutexLock() RELEASE() { mu_->Unlock(); }
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

 private:
  Mutex* mu_;
};

/// Waits on a Mutex the caller holds.
class CondVar {
 public:
  explicit CondVar(Mutex* mu) : mu_(mu) {}
  /// Releases the mutex while waiting for pred to hold; holds it again on return.
  template <typename Pred>
  void Wait(Pred pred) REQUIRES(*mu_) {
    cv_.wait(*mu_, pred);
  }
  /// Wait for at most ms milliseconds; whether pred holds on return.
  template <typename Pred>
  bool WaitFor(int64_t ms, Pred pred) REQUIRES(*mu_) {
    return cv_.wait_for(*mu_, std::chrono::milliseconds(ms), pred);
  }
  void NotifyAll() { cv_.notify_all(); }

 private:
  Mutex* mu_;
  std::condition_variable_any cv_;
};

}  // namespace inlet
