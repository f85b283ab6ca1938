#include "inlet/common/fault.h"

#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace inlet {

namespace {

struct StepSettings {
  long long crash_after = 0;  // 0: never
  const char* count_file = nullptr;
};

std::atomic<long long> steps{0};

const StepSettings& Settings();

void WriteStepCount() {
  if (FILE* f = std::fopen(Settings().count_file, "w")) {
    std::fprintf(f, "%lld\n", steps.load());
    std::fclose(f);
  }
}

const StepSettings& Settings() {
  static const StepSettings settings = [] {
    StepSettings s;
    if (const char* n = std::getenv("INLET_CRASH_AFTER")) s.crash_after = std::atoll(n);
    s.count_file = std::getenv("INLET_FAULT_COUNT");
    // Written at a normal exit; a run that fails still reports how far it got.
    if (s.count_file != nullptr) std::atexit(WriteStepCount);
    return s;
  }();
  return settings;
}

// Registers the exit hook before main, so that a run that takes no step still writes 0.
[[maybe_unused]] const StepSettings& settings_at_start = Settings();

}  // namespace

void FaultStep() {
  long long n = steps.fetch_add(1, std::memory_order_relaxed) + 1;
  if (n == Settings().crash_after) {
    ::kill(::getpid(), SIGKILL);
    ::_exit(137);
  }
}

void CrashPoint(const char* point) {
  FaultStep();
  static const char* target = std::getenv("INLET_CRASH_AT");
  if (target != nullptr && std::strcmp(target, point) == 0) {
    ::kill(::getpid(), SIGKILL);
    ::_exit(137);
  }
  static const char* stop = std::getenv("INLET_STOP_AT");
  if (stop != nullptr && std::strcmp(stop, point) == 0) ::kill(::getpid(), SIGSTOP);
}

}  // namespace inlet
