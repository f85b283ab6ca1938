#include "inlet/common/fault.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace inlet {

void CrashPoint(const char* point) {
  static const char* target = std::getenv("INLET_CRASH_AT");
  if (target != nullptr && std::strcmp(target, point) == 0) {
    ::kill(::getpid(), SIGKILL);
    ::_exit(137);
  }
  static const char* stop = std::getenv("INLET_STOP_AT");
  if (stop != nullptr && std::strcmp(stop, point) == 0) ::kill(::getpid(), SIGSTOP);
}

}  // namespace inlet
