// Crash and fault injection, for the tests that prove crash safety.
//
// Named crash points: INLET_CRASH_AT=commit.before_log_write makes the process die there
// with SIGKILL, as a power cut or OOM kill would. INLET_STOP_AT=point stops it there
// instead (SIGSTOP), so that a test can change the world (stop the storage server) before
// it continues (SIGCONT).
//
// Steps: every write that changes the world (a data file opened, a batch handed to the
// Parquet writer, a file closed, put or deleted, and every named point) is one step.
// INLET_CRASH_AFTER=N kills the process at its Nth step, so that the randomized crash
// campaign (tests/crash_campaign.py) can kill a run between any two of its writes, not
// only at the named points; INLET_FAULT_COUNT=path writes the number of steps taken to
// path when the process exits, which is how the campaign learns a run's length.
//
// Unset, a crash point or a step costs a relaxed atomic increment and a compare.
#pragma once

namespace inlet {

/// Kills the process (SIGKILL) when the environment variable INLET_CRASH_AT equals point;
/// stops it (SIGSTOP) when INLET_STOP_AT does. Counts as a step.
void CrashPoint(const char* point);

/// One step of writing (see above): kills the process when it is the Nth and
/// INLET_CRASH_AFTER=N. Safe from any thread.
void FaultStep();

}  // namespace inlet
