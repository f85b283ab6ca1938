#!/usr/bin/env python3
"""Maintenance: compaction after many small appends, and opening a table with a long log.

Run from the repository root:

    .venv/bin/python bench/bench_maintenance.py [--appends 100] [--rows-per-append 20000] [--commits 1000]

Part 1 (optimize): inlet appends `--appends` small batches (one commit and one file each).
Copies of that table are compacted by `inlet optimize` and by deltalake's
`DeltaTable.optimize.compact()`, each in a fresh process (time and peak RSS). DuckDB's
delta_scan then scans the table before and after inlet's compaction (fresh process per
scan: count and sum over two columns), to show what the small files cost readers. Both
compacted tables must hold the same rows.

Part 2 (open): inlet makes a table of `--commits` one-row commits with automatic checkpoints
off; a copy gets `inlet checkpoint`. Opening (loading the latest snapshot and its file list)
is timed for inlet (`inlet info` in a fresh process) and for deltalake (`DeltaTable(path)`
timed inside a child), each minus the same engine's time for a one-commit table, which
leaves what the long log costs.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_write import REPO, median, run_child  # noqa: E402

CHILD_DELTA_OPTIMIZE = r"""
import json, sys, time
from deltalake import DeltaTable
t0 = time.perf_counter()
m = DeltaTable(sys.argv[1]).optimize.compact(target_size=int(sys.argv[2]))
print(json.dumps({"total_s": time.perf_counter() - t0, "files_added": m["numFilesAdded"],
                  "files_removed": m["numFilesRemoved"]}))
"""

CHILD_DUCKDB_SCAN = r"""
import json, sys, time
sys.path.insert(0, sys.argv[2])
import oracle
con = oracle.duckdb_connection()
t0 = time.perf_counter()
n, s = con.execute(f"SELECT count(*), sum(qty) + sum(price) FROM delta_scan('{sys.argv[1]}')").fetchone()
print(json.dumps({"total_s": time.perf_counter() - t0, "rows": n, "sum": float(s)}))
"""

CHILD_DELTA_OPEN = r"""
import json, sys, time
from deltalake import DeltaTable
t0 = time.perf_counter()
dt = DeltaTable(sys.argv[1])
n = len(dt.file_uris())
print(json.dumps({"total_s": time.perf_counter() - t0, "version": dt.version(), "files": n}))
"""


# Input files are generated in a child process, so that the parent stays small. (Peak RSS
# is each command's own, from /usr/bin/time: see bench_write.run_child.)
CHILD_GENERATE = r"""
import sys
import numpy as np, pyarrow as pa, pyarrow.parquet as pq
out, files, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rng = np.random.default_rng(5)
for f in range(files):
    ids = np.arange(f * rows, (f + 1) * rows, dtype=np.int64)
    pq.write_table(pa.table({
        "id": ids, "day": pa.array((ids // 50000).astype(np.int32)),
        "customer": rng.integers(0, 1_000_000, rows), "qty": rng.integers(1, 100, rows).astype(np.int32),
        "price": np.round(rng.random(rows) * 1000, 2),
        "status": rng.choice(["new", "paid", "shipped", "returned"], rows),
        "note": pa.array([f"note {i % 997}" for i in ids]), "score": rng.random(rows)}), f"{out}/b{f:05d}.parquet")
"""


def generate(out: Path, files: int, rows: int) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    r = run_child([sys.executable, "-c", CHILD_GENERATE, str(out), str(files), str(rows)], out)
    if r["exit_code"] != 0:
        raise SystemExit(f"generating inputs failed:\n{r['stderr_tail']}")
    return sorted(out.glob("b*.parquet"))


def inlet_run(args: list[str], work: Path) -> dict:
    work.mkdir(parents=True, exist_ok=True)
    r = run_child([str(REPO / "build" / "inlet"), *args], work)
    if r["exit_code"] != 0:
        raise SystemExit(f"inlet {' '.join(args[:2])} failed:\n{r['stderr_tail']}")
    return r


def data_files(table: Path) -> int:
    return sum(1 for p in table.rglob("*.parquet") if "_delta_log" not in p.parts)


def part_optimize(args, out: Path) -> dict:
    base = out / "appended"
    inputs = generate(out / "inputs", args.appends, args.rows_per_append)
    t0 = time.perf_counter()
    for f in inputs:
        inlet_run(["write", str(base), "--input", str(f)], out / "w")
    print(f"  {args.appends} appends of {args.rows_per_append:,} rows: {time.perf_counter() - t0:.1f} s, "
          f"{data_files(base)} data files")
    target = 128 * 1024 * 1024
    results = {"inlet": [], "delta-rs": []}
    tables = {}
    for rnd in range(args.rounds):
        for name in (["inlet", "delta-rs"] if rnd % 2 == 0 else ["delta-rs", "inlet"]):
            table = out / f"{name}_{rnd}"
            shutil.copytree(base, table)
            if name == "inlet":
                r = inlet_run(["optimize", str(table), "--target-size", str(target), "--json"], out / "o")
            else:
                r = run_child([sys.executable, "-c", CHILD_DELTA_OPTIMIZE, str(table), str(target)], out)
                if r["exit_code"] != 0:
                    raise SystemExit(f"delta-rs optimize failed:\n{r['stderr_tail']}")
            results[name].append(r)
            tables[name] = table
            added = r["child_phases"]["files_added"]
            print(f"  round {rnd} optimize {name:8s} {r['wall_s']:6.2f} s  peak RSS {r['peak_rss_mib']:7.1f} MiB  "
                  f"-> {added} new files")
    scans = {}
    for label, table in (("before", base), ("after inlet", tables["inlet"]), ("after delta-rs", tables["delta-rs"])):
        times = []
        for _ in range(args.rounds + 1):
            r = run_child([sys.executable, "-c", CHILD_DUCKDB_SCAN, str(table), str(REPO / "tests")], out)
            if r["exit_code"] != 0:
                raise SystemExit(f"DuckDB scan failed:\n{r['stderr_tail']}")
            times.append(r["child_phases"]["total_s"])
            result = (r["child_phases"]["rows"], round(r["child_phases"]["sum"], 2))
        scans[label] = (median(times), result)
    if len({v[1] for v in scans.values()}) != 1:
        raise SystemExit(f"the tables differ after compaction: {scans}")
    live_inlet = json.loads((out / "o" / "stdout.txt").read_text())["after"]["files"]
    wall = {n: median([r["wall_s"] for r in rs]) for n, rs in results.items()}
    rss = {n: max(r["peak_rss_mib"] for r in rs) for n, rs in results.items()}
    print(f"\noptimize after {args.appends} appends ({args.appends * args.rows_per_append:,} rows), medians:")
    print(f"  inlet optimize     {wall['inlet']:6.2f} s  {rss['inlet']:7.1f} MiB  ({args.appends} -> {live_inlet} files)")
    print(f"  delta-rs compact   {wall['delta-rs']:6.2f} s  {rss['delta-rs']:7.1f} MiB")
    print(f"  speed inlet/delta-rs {wall['delta-rs'] / wall['inlet']:.2f}x   RSS ratio {rss['inlet'] / rss['delta-rs']:.2f}x")
    for label, (s, _) in scans.items():
        print(f"  DuckDB scan {label:15s} {s * 1000:7.1f} ms")
    return {"wall_s": wall, "peak_rss_mib": rss, "files_before": args.appends, "files_after": live_inlet,
            "duckdb_scan_s": {k: v[0] for k, v in scans.items()}}


def part_open(args, out: Path) -> dict:
    table = out / "long_log"
    inputs = generate(out / "inputs", args.commits, 1)
    t0 = time.perf_counter()
    for i, one in enumerate(inputs):
        extra = ["--property", "delta.checkpointInterval=100000000"] if i == 0 else []
        inlet_run(["write", str(table), "--input", str(one), *extra], out / "w")
    print(f"\n  {args.commits} commits written in {time.perf_counter() - t0:.1f} s")
    checkpointed = out / "long_log_checkpointed"
    shutil.copytree(table, checkpointed)
    inlet_run(["checkpoint", str(checkpointed)], out / "c")
    # The baseline: a one-commit table. Subtracting its open time leaves what the long log
    # costs, without process start-up and runtime initialisation (inlet) or the interpreter
    # and import (deltalake, timed inside the child anyway).
    one = out / "one_commit"
    inlet_run(["write", str(one), "--input", str(inputs[0])], out / "w")

    def inlet_open(t):
        return inlet_run(["info", str(t), "--json"], out / "i")["wall_s"]

    def delta_open(t, version):
        r = run_child([sys.executable, "-c", CHILD_DELTA_OPEN, str(t)], out)
        if r["exit_code"] != 0 or r["child_phases"]["version"] != version:
            raise SystemExit(f"deltalake open failed:\n{r['stderr_tail']}")
        return r["child_phases"]["total_s"]

    res = {}
    for label, t in (("no checkpoint", table), ("checkpoint", checkpointed)):
        ours, base, theirs, theirs_base = [], [], [], []
        for _ in range(args.rounds + 2):
            base.append(inlet_open(one))
            ours.append(inlet_open(t))
            theirs_base.append(delta_open(one, 0))
            theirs.append(delta_open(t, args.commits - 1))
        res[label] = {"inlet_s": max(median(ours) - median(base), 1e-4),
                      "deltalake_s": max(median(theirs) - median(theirs_base), 1e-4),
                      "deltalake_absolute_s": median(theirs)}
    print(f"\nopen a table of {args.commits} commits (load the latest snapshot and its file list), "
          f"cost over a one-commit table, medians:")
    for label, r in res.items():
        print(f"  {label:14s} inlet {r['inlet_s'] * 1000:7.1f} ms   deltalake {r['deltalake_s'] * 1000:7.1f} ms "
              f"(absolute {r['deltalake_absolute_s'] * 1000:.1f} ms)   speed {r['deltalake_s'] / r['inlet_s']:.2f}x")
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--appends", type=int, default=100)
    ap.add_argument("--rows-per-append", type=int, default=20000)
    ap.add_argument("--commits", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    ap.add_argument("--only", choices=["optimize", "open"], help="run one part only")
    args = ap.parse_args()
    out = args.out / "maintenance"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    optimize = part_optimize(args, out / "optimize") if args.only in (None, "optimize") else None
    opened = part_open(args, out / "open") if args.only in (None, "open") else None
    (args.out / "maintenance.json").write_text(json.dumps({
        "optimize": optimize, "open": opened, "appends": args.appends, "rows_per_append": args.rows_per_append,
        "commits": args.commits, "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
