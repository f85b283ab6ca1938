// The inlet command line. main() only calls Run, so commands are testable in-process.
#pragma once

namespace inlet::cli {

/// Parses argv and runs the command. Returns the process exit code: 0 on success, 1 when
/// the command failed (one line on stderr: "inlet: error: ..."), 2 for a usage error.
int Run(int argc, char** argv);

}  // namespace inlet::cli
