// Named crash points. Tests prove crash safety by killing the process at a point:
// INLET_CRASH_AT=commit.before_log_write makes the process die there with SIGKILL, as a
// power cut or OOM kill would. INLET_STOP_AT=point stops it there instead (SIGSTOP), so
// that a test can change the world (stop the storage server) before it continues
// (SIGCONT). Unset, a crash point costs two getenv calls per process.
#pragma once

namespace inlet {

/// Kills the process (SIGKILL) when the environment variable INLET_CRASH_AT equals point;
/// stops it (SIGSTOP) when INLET_STOP_AT does.
void CrashPoint(const char* point);

}  // namespace inlet
