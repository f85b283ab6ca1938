#!/usr/bin/env bash
# The libFuzzer targets of fuzz/ (docs/reliability.md), built with clang under
# AddressSanitizer and UndefinedBehaviorSanitizer in build-asan/.
#
#   scripts/fuzz.sh --smoke [TARGET...]          every target replays its corpus and its
#                                                regressions, without mutating (make test)
#   scripts/fuzz.sh --campaign SECONDS [TARGET...]  each target fuzzed for SECONDS (make fuzz;
#                                                FUZZ_SECONDS), FUZZ_JOBS at a time, new
#                                                inputs kept in $B/fuzz-work/<target>
#
# A crash, sanitizer report, leak, uncaught exception, timeout (10 s) or memory blow-up
# (2 GiB) fails the run; libFuzzer leaves the input in $B/fuzz-artifacts/<target>/
# ($B: ASAN_BUILD_DIR, build-asan by default; make fuzz uses build-fuzz, built at -O1).
# Once fixed, the input is kept as a regression test in fuzz/regressions/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:---smoke}
shift || true
seconds=0
if [ "$mode" = "--campaign" ]; then
  seconds=${1:?--campaign SECONDS}
  shift
fi
B=${ASAN_BUILD_DIR:-build-asan}
bash scripts/sanitize_build.sh "$B" fuzz

targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/*_fuzz.cc; do t=$(basename "$f" _fuzz.cc); targets+=("$t"); done
fi
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# One target: its regression inputs, then fuzzing; prints one summary line, and the
# first lines of the report when it fails.
fuzz_one() {
  local t=$1 bin="$B/fuzz_$1" work="$B/fuzz-work/$1" artifacts="$B/fuzz-artifacts/$1/"
  mkdir -p "$work" "$artifacts" "fuzz/corpus/$t"
  # The inputs once found to crash: each run once, and all must pass.
  local regressions=()
  if [ -d "fuzz/regressions/$t" ]; then
    while IFS= read -r -d '' f; do regressions+=("$f"); done \
      < <(find "fuzz/regressions/$t" -type f -print0)
  fi
  if [ ${#regressions[@]} -gt 0 ]; then
    if ! "$bin" -rss_limit_mb=2048 -timeout=10 "${regressions[@]}" > "$B/fuzz-$t-regressions.log" 2>&1; then
      echo "fuzz: $t FAILED a regression input (see $B/fuzz-$t-regressions.log)"
      return 1
    fi
  fi
  local log="$B/fuzz-$t.log" budget=(-max_total_time="$seconds")
  # The smoke run replays the corpus (and what campaigns in $B added) without mutating:
  # make test stays deterministic, and new findings are the campaign's to make.
  [ "$mode" = "--smoke" ] && budget=(-runs=0)
  if "$bin" "${budget[@]}" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
       -artifact_prefix="$artifacts" "$work" "fuzz/corpus/$t" > "$log" 2>&1; then
    local runs cov
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)
    printf 'fuzz: %-24s %10s runs in %ss, %s, %d regression inputs\n' "$t" "$runs" \
      "$([ "$mode" = "--smoke" ] && echo 0 || echo "$seconds")" "$cov" "${#regressions[@]}"
  else
    echo "fuzz: $t FAILED; the input is in $artifacts, the report in $log:"
    grep -m1 -A12 -E "ERROR: |runtime error|property broken|terminate called|deadly signal" "$log" \
      | grep -v -E "in fuzzer::|__sanitizer_print|libc.so" || tail -20 "$log"
    return 1
  fi
}

# FUZZ_JOBS targets at a time (the campaign: one per core).
jobs=${FUZZ_JOBS:-1}
summary="$B/fuzz-summary.txt"
: > "$summary"
running=0
status=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n || status=1
    running=$((running - 1))
  fi
  fuzz_one "$t" >> "$summary" 2>&1 &
  running=$((running + 1))
done
while [ "$running" -gt 0 ]; do
  wait -n || status=1
  running=$((running - 1))
done
cat "$summary"
total=$( (grep -o '^fuzz: [a-z_]* *[0-9]* runs' "$summary" || true) | awk '{s += $3} END {print s + 0}')
mapfile -t failed < <(grep -o '^fuzz: [a-z_]* FAILED' "$summary" | awk '{print $2}' || true)
echo "fuzz: $total executions over ${#targets[@]} targets"
if [ ${#failed[@]} -gt 0 ] || [ "$status" -ne 0 ]; then
  echo "fuzz: failed: ${failed[*]}" >&2
  exit 1
fi
