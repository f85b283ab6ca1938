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
