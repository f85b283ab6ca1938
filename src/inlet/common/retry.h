// Running a whole operation again when its commit lost to a conflicting concurrent commit.
#pragma once

#include <algorithm>
#include <chrono>
#include <random>
#include <thread>

#include <arrow/result.h>

#include "inlet/status.h"

namespace inlet {

/// Calls attempt() (which returns an arrow::Result) and, while it fails with a commit
/// conflict (IsCommitConflict), calls it again up to `retries` more times, each after a
/// short jittered pause that grows with every retry. Returns the last result.
template <typename Attempt>
auto RetryOnConflict(int retries, Attempt&& attempt) -> decltype(attempt()) {
  thread_local std::mt19937 rng{std::random_device{}()};
  auto result = attempt();
  for (int retry = 0; !result.ok() && IsCommitConflict(result.status()) && retry < retries; ++retry) {
    int cap_ms = 50 << std::min(retry, 4);
    std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(5, cap_ms)(rng)));
    result = attempt();
  }
  return result;
}

}  // namespace inlet
