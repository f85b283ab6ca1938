#!/usr/bin/env bash
# ThreadSanitizer over inlet's threads (docs/reliability.md), in build-tsan/ (clang):
#   1. the unit tests (the read-ahead, prefetch and background-writer classes among them);
#   2. the pytest suites whose inlet processes run threads: the service's scheduler,
#      endpoint and alert threads (test_serve), Kafka stream consumers (test_stream_kafka),
#      the merge's read-ahead and background writers (test_pipeline_merge).
# Every report of every process goes to a log file; any report fails the suite.
# Arrow, Parquet, librdkafka and libpq are not instrumented: scripts/tsan.supp says how
# their frames are treated.
set -euo pipefail
cd "$(dirname "$0")/.."
B=${TSAN_BUILD_DIR:-build-tsan}
SANITIZE=thread bash scripts/sanitize_build.sh "$B" tests

logs=$(mktemp -d /tmp/inlet-tsan.XXXXXX)
export TSAN_OPTIONS="halt_on_error=0 second_deadlock_stack=1 history_size=4 log_path=$logs/tsan suppressions=$PWD/scripts/tsan.supp"
status=0
echo "tsan: unit tests"
"$B/inlet_tests" --gtest_brief=1 || status=1

echo "tsan: pytest with the ThreadSanitizer inlet"
# A selection, as the instrumented binary runs about 3.5 times slower; `TSAN_ALL=1` runs
# the three files whole (about 9 minutes).
selection=(-k "never_overlap or two_serves or once_per_incident or stream_runs_beside \
or failing_stream or every_message_once or upsert_mode or metrics_file or sigterm_commits \
or random_batches or partial_updates")
[ "${TSAN_ALL:-}" = 1 ] && selection=()
INLET_BIN="$PWD/$B/inlet" .venv/bin/python -m pytest -q -p no:cacheprovider \
  tests/test_serve.py tests/test_stream_kafka.py tests/test_pipeline_merge.py \
  "${selection[@]}" || status=1

reports=$(cat "$logs"/tsan.* 2> /dev/null | grep -c "WARNING: ThreadSanitizer" || true)
if [ "$reports" != 0 ]; then
  echo "tsan: $reports reports:" >&2
  cat "$logs"/tsan.* >&2
  status=1
else
  echo "tsan: no report"
fi
rm -rf "$logs"
exit $status
