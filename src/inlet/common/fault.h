// Named crash points. Tests prove crash safety by killing the process at a point:
// INLET_CRASH_AT=commit.before_log_write makes the process die there with SIGKILL, as a
// power cut or OOM kill would. Unset, a crash point costs one getenv per call site run.
#pragma once

namespace inlet {

/// Kills the process (SIGKILL) when the environment variable INLET_CRASH_AT equals point.
void CrashPoint(const char* point);

}  // namespace inlet
