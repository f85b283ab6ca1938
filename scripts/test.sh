#!/usr/bin/env bash
# make test, the README's test command (CI runs it on a fresh clone of main, within 90
# minutes on 2 cores), after `make build`:
#   1. the unit tests (ctest in build/);
#   2. the pytest suite (tests/), against the real servers and peer engines;
#   3. the Python package's tests (scripts/python_tests.sh);
#   4. the sanitizer suites, side by side: AddressSanitizer + UndefinedBehaviorSanitizer
#      with the fuzz smoke (scripts/sanitize_tests.sh) and ThreadSanitizer
#      (scripts/tsan_tests.sh).
# The two sanitizer builds are most of an hour of CPU on a fresh machine. The pytest suite
# leaves about one core idle (its tests wait on servers, engines and one another), so the
# builds start with the unit tests, one compile each at the lowest priority (nice 19): they
# take the idle core and give it back whenever a test wants it. A failure stops the run
# and the builds with it. Each step prints when it starts, from the start of this script.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build}
PY=.venv/bin/python
t0=$SECONDS
step() { printf '== test: %s (at %dm%02ds)\n' "$1" $(((SECONDS - t0) / 60)) $(((SECONDS - t0) % 60)); }

logs=$(mktemp -d /tmp/inlet-test.XXXXXX)
groups=()
stop_background() {
  for g in "${groups[@]}"; do kill -- -"$g" 2> /dev/null || true; done
}
trap 'stop_background; rm -rf "$logs"' EXIT

# In a process group of its own (setsid), so that a failure can stop the whole build.
background() {
  local name=$1
  shift
  setsid -w nice -n 19 "$@" > "$logs/$name.log" 2>&1 &
  groups+=("$!")
}
# Waits for the background job of group $2 named $1; on failure prints its log's end.
finish() {
  if ! wait "$2"; then
    echo "test: $1 failed:" >&2
    tail -60 "$logs/$1.log" >&2
    exit 1
  fi
}

step "sanitizer builds started in the background (build-asan/, build-tsan/)"
background asan-build env JOBS=1 bash scripts/sanitize_build.sh build-asan all
asan_build=${groups[-1]}
background tsan-build env JOBS=1 SANITIZE=thread bash scripts/sanitize_build.sh build-tsan tests
tsan_build=${groups[-1]}

step "unit tests"
(cd "$BUILD_DIR" && ctest --output-on-failure)

step "pytest"
$PY -m pytest -q tests

step "Python package"
BUILD_DIR=$BUILD_DIR bash scripts/python_tests.sh

step "waiting for the sanitizer builds"
finish asan-build "$asan_build"
finish tsan-build "$tsan_build"
groups=()

step "sanitizer suites: ASan+UBSan and ThreadSanitizer side by side"
bash scripts/sanitize_tests.sh > "$logs/asan.log" 2>&1 &
asan=$!
bash scripts/tsan_tests.sh > "$logs/tsan.log" 2>&1 &
tsan=$!
status=0
wait "$asan" || status=1
echo "---- ASan+UBSan (scripts/sanitize_tests.sh)"
cat "$logs/asan.log"
wait "$tsan" || status=1
echo "---- ThreadSanitizer (scripts/tsan_tests.sh)"
cat "$logs/tsan.log"
step "done"
exit $status
