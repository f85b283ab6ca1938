#!/usr/bin/env bash
# The reliability suite of make test (docs/reliability.md), in build-asan/ (clang,
# AddressSanitizer + UndefinedBehaviorSanitizer):
#   1. the unit tests;
#   2. a representative part of the pytest suite, driving the sanitized inlet binary;
#   3. every fuzz target briefly on its corpus and its regression inputs.
# A sanitizer report fails the step it happens in.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${ASAN_BUILD_DIR:-build-asan}
bash scripts/sanitize_build.sh "$B" all

# Leaks are checked in the unit tests and the fuzz targets, where every allocation is
# inlet's; the CLI's exit skips destructors of objects the OS reclaims anyway.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
echo "sanitize: unit tests under ASan+UBSan"
(cd "$B" && ctest --output-on-failure -j "${JOBS:-$(nproc)}")

echo "sanitize: pytest with the ASan+UBSan inlet"
ASAN_OPTIONS="detect_leaks=0:abort_on_error=1" INLET_BIN="$PWD/$B/inlet" \
  .venv/bin/python -m pytest -q -p no:cacheprovider \
  tests/test_conformance.py tests/test_bad_input.py tests/test_cli.py \
  tests/test_pipeline_config.py tests/test_row_commands.py tests/test_iceberg_read.py

echo "sanitize: fuzz targets (smoke)"
FUZZ_JOBS=${FUZZ_JOBS:-$(nproc)} bash scripts/fuzz.sh --smoke
