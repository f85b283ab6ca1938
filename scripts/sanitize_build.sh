#!/usr/bin/env bash
# Configures and builds the sanitizer build (docs/reliability.md): clang, AddressSanitizer
# and UndefinedBehaviorSanitizer over every library, the libFuzzer targets of fuzz/.
#
#   scripts/sanitize_build.sh DIR fuzz     the fuzz targets
#   scripts/sanitize_build.sh DIR tests    the unit tests and the inlet binary
#   scripts/sanitize_build.sh DIR all      both
#   SANITIZE=thread scripts/sanitize_build.sh build-tsan tests
#                                          ThreadSanitizer instead (no fuzz targets)
# Line tables only: reports name files and lines. The AddressSanitizer build is not
# optimized (-O0; it compiles in less than half the time of -O1, which make test needs more
# than the speed); the ThreadSanitizer build is (-O1), as its tests run many threads for
# long. SANITIZE_OPT overrides either (make fuzz builds its campaign at -O1).
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-build-asan}
what=${2:-all}
CXX_CLANG=${INLET_CLANG:-clang++-16}
if ! command -v "$CXX_CLANG" > /dev/null; then
  echo "sanitize: $CXX_CLANG not found (scripts/bootstrap.sh installs clang-16)" >&2
  exit 1
fi
SANITIZE=${SANITIZE:-address,undefined}
opt=${SANITIZE_OPT:-$([ "$SANITIZE" = thread ] && echo -O1 || echo -O0)}
fuzz=ON
if [ "$SANITIZE" = thread ]; then
  fuzz=OFF
  [ "$what" = tests ] || { echo "sanitize_build: a thread build has no fuzz targets" >&2; exit 2; }
fi
if [ ! -f "$B/build.ninja" ]; then
  mkdir -p "$B"
  launcher=""
  command -v ccache > /dev/null && launcher="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"
  CXX="$CXX_CLANG" cmake -S . -B "$B" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="$opt -gline-tables-only" \
    -DINLET_SANITIZE="$SANITIZE" -DINLET_FUZZ="$fuzz" -DINLET_WITH_PYTHON=OFF \
    -DINLET_PYTHON="$PWD/.venv/bin/python" $launcher > "$B/configure.log" 2>&1 || {
      cat "$B/configure.log" >&2; exit 1; }
fi
targets=()
case "$what" in
  fuzz) ;;
  tests) targets=(inlet_tests inlet) ;;
  all) targets=(inlet_tests inlet) ;;
  *) echo "sanitize_build: fuzz, tests or all" >&2; exit 2 ;;
esac
if [ "$what" != tests ]; then
  for f in fuzz/*_fuzz.cc; do targets+=("fuzz_$(basename "$f" _fuzz.cc)"); done
fi
cmake --build "$B" -j "${JOBS:-$(nproc)}" --target "${targets[@]}"
