"""`make demo` (scripts/demo.sh) runs from start to end and shows what it claims: the
parking data loaded into a Delta table and into an Iceberg table in a SQLite catalog, each
run loading only new readings, with time travel, and pyiceberg and DuckDB reading the
Iceberg table."""
from __future__ import annotations

import os
import pathlib
import re
import subprocess

REPO = pathlib.Path(__file__).resolve().parents[1]


def test_the_demo_runs_and_loads_both_formats(tmp_path):
    proc = subprocess.run(["bash", str(REPO / "scripts" / "demo.sh")], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "INLET_DEMO_DIR": str(tmp_path / "demo")})
    assert proc.returncode == 0, proc.stderr[-3000:] + proc.stdout[-3000:]
    out = proc.stdout
    # Delta: four loading rounds, then a round with nothing new.
    assert out.count("pipeline parking -> ") == 5, out
    # Iceberg: one snapshot per round, then nothing new; time travel sees fewer rows at 1.
    assert "parking_iceberg -> parking_data.raw_parking_data (watermark): no_changes" in out, out
    assert re.search(r"snapshots:\s+4", out), out
    m = re.search(r"snapshot 1: (\d+) rows; now: (\d+) rows", out)
    assert m and 0 < int(m.group(1)) < int(m.group(2)), out
    assert "pyiceberg: 4 snapshots" in out and "timestamp_hour: hour" in out, out
    assert "DuckDB iceberg_scan" in out and "Forus" in out, out
    assert (tmp_path / "demo" / "iceberg" / "catalog.db").exists()
    # The parking API served by inlet serve: diffs, a skipped small change, full refreshes,
    # metrics, and time travel on the table it keeps.
    assert "no_significant_changes" in out and "changed  60%" in out, out
    assert re.search(r'inlet_runs_total\{pipeline="parking_api",status="committed"\} [3-9]', out), out
    assert "inlet serve stopped on SIGTERM" in out
    m = re.search(r'version 0: \{"available_spaces":(\d+).*\n.*version latest: \{"available_spaces":(\d+)', out)
    assert m, out
