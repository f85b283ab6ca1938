#!/usr/bin/env bash
# make demo: the Stavanger parking example. A generator saves successive API snapshots as
# JSON files; a pipeline loads them incrementally into a Delta table partitioned by day and
# hour, committing its watermark with the data. Shows each run report, the history and a
# time-travel comparison. Then the same snapshots go into an Apache Iceberg table in a SQL
# catalog (a SQLite file), partitioned by hour of `timestamp`, read back by inlet, pyiceberg
# and DuckDB. Needs no services.
set -euo pipefail
cd "$(dirname "$0")/.."
INLET=$PWD/build/inlet
PY=$PWD/.venv/bin/python
DEMO=$(realpath -m "${INLET_DEMO_DIR:-demo}")
rm -rf "$DEMO" && mkdir -p "$DEMO/snapshots"
export PARKING_SNAPSHOTS=$DEMO/snapshots PARKING_TABLE=$DEMO/warehouse/parking
export PARKING_WAREHOUSE=$DEMO/iceberg
T=$PARKING_TABLE

for round in 1 2 3 4; do
  echo "== round $round"
  $PY examples/parking/generate.py "$PARKING_SNAPSHOTS" "$round"
  $INLET run examples/parking/pipeline.yaml
  $INLET run examples/parking/pipeline_iceberg.yaml >/dev/null  # shown below
done
echo "== round 5: nothing new from the API (the same snapshot again)"
$INLET run examples/parking/pipeline.yaml

echo
echo "== inlet state (the watermark lives in the table, committed with the rows)"
$INLET state "$T"
echo
echo "== inlet history"
$INLET history "$T"
echo
echo "== time travel: readings per hour at version 0 and now"
for v in 0 latest; do
  if [ "$v" = latest ]; then args=(); else args=(--version "$v"); fi
  echo "-- version $v"
  $INLET scan "$T" "${args[@]}" --columns hour --output-format ndjson | sort | uniq -c | sed 's/^/   /'
done
echo "== Madla's late readings arrived in later runs; all of its readings now:"
$INLET scan "$T" --where "location = 'Madla'" --columns timestamp,available_spaces
echo
echo "The table is in $T; any Delta reader (deltalake, DuckDB, Spark) can read it."

echo
echo "==== The same API snapshots into Apache Iceberg (examples/parking/pipeline_iceberg.yaml),"
echo "     loaded in each round above; a run now finds nothing new:"
$INLET run examples/parking/pipeline_iceberg.yaml
CATALOG=(--catalog "sqlite:$PARKING_WAREHOUSE/catalog.db" --catalog-name lake)
ICE=parking_data.raw_parking_data
echo
echo "== inlet tables / info / history (snapshots, with the pipeline state in their summaries)"
$INLET "${CATALOG[@]}" tables
$INLET "${CATALOG[@]}" info $ICE | sed -n '1,8p'
$INLET "${CATALOG[@]}" history $ICE
echo
echo "== time travel on Iceberg: readings at snapshot 1 and now"
echo "   snapshot 1: $($INLET "${CATALOG[@]}" scan $ICE --version 1 --output-format ndjson | wc -l) rows;" \
     "now: $($INLET "${CATALOG[@]}" scan $ICE --output-format ndjson | wc -l) rows"
echo
echo "== other engines read the same table"
$PY examples/parking/read_iceberg.py "$PARKING_WAREHOUSE"
echo
echo "The Iceberg catalog is $PARKING_WAREHOUSE/catalog.db (catalog name 'lake'), which pyiceberg's"
echo "SqlCatalog reads; for Trino and Spark keep the catalog in PostgreSQL or behind a REST server"
echo "(docs/formats.md, \"Catalogs\", has their settings)."

echo
echo "==== The parking API itself, served by inlet serve (examples/parking_api/): every 2 s the"
echo "     API is fetched page by page, diffed against the table, changes under 15% skipped,"
echo "     a full refresh every fourth run; Delta partitioned by day and hour."
API_LOG=$DEMO/api.log SERVE_LOG=$DEMO/serve.log
$PY examples/parking_api/server.py > "$API_LOG" &
API_PID=$!
trap 'kill $API_PID 2>/dev/null || true' EXIT
for _ in $(seq 100); do [ -s "$API_LOG" ] && break; sleep 0.1; done
export PARKING_API=$(head -1 "$API_LOG") PARKING_TABLE=$DEMO/warehouse/parking_api
$INLET serve examples/parking_api/pipeline.yaml --listen 127.0.0.1:0 --json > "$SERVE_LOG" &
SERVE_PID=$!
for _ in $(seq 100); do grep -q "^inlet serve: .* on http" "$SERVE_LOG" 2>/dev/null && break; sleep 0.1; done
URL=$(sed -n 's/^inlet serve: .* on \(http[^ ]*\).*/\1/p' "$SERVE_LOG" | head -1)
echo "   the status page is at $URL/ while it runs; letting it run for 11 s..."
sleep 11
echo
echo "== run history (GET $URL/api/runs)"
curl -s "$URL/api/runs" | $PY examples/parking_api/show_runs.py
echo
echo "== metrics (GET $URL/metrics, some of them)"
curl -s "$URL/metrics" | grep -E '^inlet_(runs_total|rows_written_total|last_changed_percent|table_version|partitions_touched_total)' | sed 's/^/   /'
kill -TERM $SERVE_PID
wait $SERVE_PID
echo
echo "== inlet serve stopped on SIGTERM; the table's history:"
$INLET history "$PARKING_TABLE" | head -12
echo
echo "== time travel: free spaces at Kyrre at version 0 and now"
for v in 0 latest; do
  if [ "$v" = latest ]; then args=(); else args=(--version "$v"); fi
  echo "   version $v: $($INLET scan "$PARKING_TABLE" "${args[@]}" --where "location = 'Kyrre'" --columns available_spaces,timestamp --output-format ndjson)"
done
