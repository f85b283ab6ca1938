"""Prints inlet serve's run history (GET /api/runs on stdin) as one line per run."""
import json
import sys

for r in reversed(json.load(sys.stdin)["runs"]):
    rep = r["report"]
    changed = rep.get("changed_percent")
    changed = "-" if changed is None else f"{changed:.0f}%"
    print(f"   {r['started'][11:19]} {r['trigger']:9s} {rep['status']:23s} changed {changed:>4s}"
          f"  +{rep['rows_inserted']} ~{rep['rows_updated']} -{rep['rows_deleted']}"
          f"  table version {rep['table_version']}")
