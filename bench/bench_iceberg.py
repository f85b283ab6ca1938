#!/usr/bin/env python3
"""Iceberg benchmarks: inlet against pyiceberg 0.12 (and plain Arrow Parquet), same data, same
run. Three cases (issue 21 §7):

  bulk     bulk append of the lineitem-like table (bench_write.py's input, 3M rows) into a new
           Iceberg table in a SQLite catalog, one commit; plain Parquet is the ceiling.
  micro    300 commits of 2,000 rows each into one table: commits per second. inlet runs one
           process per commit (its CLI); pyiceberg runs all 300 in one process, so its imports
           and catalog set-up are paid once (the way a Python loader would run them).
  plan     planning a scan of a table with 1,000 snapshots and 10,000 data files (built once
           by inlet): a filter on a data column that every file's metrics rule out (every
           manifest and file is examined), and one partition of ten (inlet also reads it).

Run from the repository root:

    .venv/bin/python bench/bench_iceberg.py [--cases bulk,micro,plan] [--rows 3000000] [--rounds 3]

Each measurement is a fresh child process, timed by the parent (wall) and by GNU time (its own
peak RSS); rounds interleave the contenders with a rotating order. Ratios print at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_write as bw  # noqa: E402  (input generation, child runner, digest)

REPO = bw.REPO
TARGET_BULK_VS_PYICEBERG = 3.0
TARGET_BULK_VS_PARQUET = 0.85

CHILD_PYICEBERG_BULK = r"""
import json, sys, time
t0 = time.perf_counter()
import pyarrow.parquet as pq
from pyiceberg.catalog.sql import SqlCatalog
t1 = time.perf_counter()
table = pq.read_table(sys.argv[1])
t2 = time.perf_counter()
cat = SqlCatalog("bench", uri="sqlite:///" + sys.argv[2] + "/catalog.db", warehouse="file://" + sys.argv[2])
cat.create_namespace("b")
t = cat.create_table("b.lineitem", schema=table.schema,
                     properties={"write.parquet.compression-codec": "zstd",
                                 "write.parquet.compression-level": "1"})
t.append(table)
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "read_s": t2 - t1, "write_s": t3 - t2}))
"""

CHILD_PYICEBERG_MICRO = r"""
import json, sys, time, glob
import pyarrow.parquet as pq
from pyiceberg.catalog.sql import SqlCatalog
files = sorted(glob.glob(sys.argv[1] + "/batch-*.parquet"))
cat = SqlCatalog("bench", uri="sqlite:///" + sys.argv[2] + "/catalog.db", warehouse="file://" + sys.argv[2])
cat.create_namespace("b")
first = pq.read_table(files[0])
t = cat.create_table("b.micro", schema=first.schema)
t0 = time.perf_counter()
for f in files:
    t.append(pq.read_table(f))
print(json.dumps({"commits": len(files), "commit_loop_s": time.perf_counter() - t0}))
"""

CHILD_PYICEBERG_PLAN = r"""
import json, sys, time
t0 = time.perf_counter()
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.expressions import EqualTo, LessThan
cat = SqlCatalog("bench", uri="sqlite:///" + sys.argv[1] + "/catalog.db")
t = cat.load_table("b.planned")
t1 = time.perf_counter()
if sys.argv[2] == "all":
    n = len(list(t.scan(row_filter=LessThan("id", 0)).plan_files()))
else:
    n = len(list(t.scan(row_filter=EqualTo("part", 7)).plan_files()))
print(json.dumps({"files": n, "import_load_s": t1 - t0, "plan_s": time.perf_counter() - t1}))
"""


def catalog_args(warehouse: Path, name: str = "bench") -> list[str]:
    return ["--catalog", f"sqlite:{warehouse}/catalog.db", "--catalog-name", name]


def measure(cmd: list[str], work: Path) -> dict:
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    r = bw.run_child(cmd, work)
    if r["exit_code"] != 0:
        raise RuntimeError(f"{cmd[0]} failed: {r['stderr_tail'][-800:]}")
    return r


def bulk(args, inlet: Path, out: Path) -> list[tuple]:
    input_path, meta = bw_input(args, out)
    rows = meta["rows"]
    print(f"== bulk append: {rows:,} rows ({meta['arrow_bytes'] / 1e6:.0f} MB Arrow) into a new table")
    contenders = {
        "inlet": lambda d: [str(inlet), *catalog_args(d), "write", "b.lineitem", "--input",
                            str(input_path), "--input-format", "parquet"],
        "pyiceberg": lambda d: [sys.executable, "-c", CHILD_PYICEBERG_BULK, str(input_path), str(d)],
        "parquet": lambda d: [sys.executable, "-c", bw.CHILD_PARQUET, str(input_path), str(d)],
    }
    walls: dict[str, list[float]] = {c: [] for c in contenders}
    rss: dict[str, float] = {c: 0.0 for c in contenders}
    names = list(contenders)
    for rnd in range(args.warmup + args.rounds):
        order = names[rnd % 3:] + names[:rnd % 3]
        for name in order:
            d = out / "runs" / f"bulk-{name}"
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
            r = measure(contenders[name](d), out / "runs" / f"bulk-{name}.log")
            if rnd >= args.warmup:
                walls[name].append(r["wall_s"])
                rss[name] = max(rss[name], r["peak_rss_mib"])
            print(f"  {'warm-up' if rnd < args.warmup else f'round {rnd - args.warmup + 1}'} "
                  f"{name:9s} wall {r['wall_s']:6.2f}s cpu {r['cpu_s']:6.2f}s rss {r['peak_rss_mib']:6.0f} MiB")
    verify_bulk(out / "runs" / "bulk-inlet", meta)
    verify_bulk(out / "runs" / "bulk-pyiceberg", meta)
    med = {n: bw.median(w) for n, w in walls.items()}
    return [
        ("bulk: inlet/pyiceberg throughput", med["pyiceberg"] / med["inlet"], ">=", TARGET_BULK_VS_PYICEBERG,
         [p / i for i, p in zip(walls["inlet"], walls["pyiceberg"])]),
        ("bulk: inlet/parquet throughput", med["parquet"] / med["inlet"], ">=", TARGET_BULK_VS_PARQUET,
         [p / i for i, p in zip(walls["inlet"], walls["parquet"])]),
        ("bulk: inlet/pyiceberg peak RSS", rss["inlet"] / rss["pyiceberg"], "<=", 1.0, []),
        (f"bulk: peak RSS MiB inlet {rss['inlet']:.0f}, pyiceberg {rss['pyiceberg']:.0f}, "
         f"parquet {rss['parquet']:.0f}", None, None, None, []),
    ]


def bw_input(args, out: Path):
    key = f"lineitem16_v{bw.GEN_VERSION}_r{args.rows}_s42"
    path, meta_path = out / f"{key}.parquet", out / f"{key}.json"
    if not path.exists():
        import pyarrow.parquet as pq
        table = bw.generate_lineitem(args.rows, 42)
        pq.write_table(table, path, compression="snappy")
        meta_path.write_text(json.dumps({"rows": table.num_rows, "arrow_bytes": table.nbytes,
                                         "digest": bw.digest(table)}))
    return path, json.loads(meta_path.read_text())


def verify_bulk(warehouse: Path, meta: dict) -> None:
    from pyiceberg.catalog.sql import SqlCatalog
    t = SqlCatalog("bench", uri=f"sqlite:///{warehouse}/catalog.db").load_table("b.lineitem")
    got = bw.digest(t.scan().to_arrow())
    ok = all(got.get(k) == meta["digest"][k] for k in meta["digest"])
    print(f"  verify {warehouse.name}: {'OK' if ok else 'MISMATCH'} ({got['rows']:,} rows, read by pyiceberg)")
    if not ok:
        raise RuntimeError(f"{warehouse} does not hold the input: {got}")


def micro(args, inlet: Path, out: Path) -> list[tuple]:
    import pyarrow.parquet as pq
    batches = out / f"micro-batches-{args.micro_commits}"
    if not batches.exists():
        input_path, _ = bw_input(args, out)
        table = pq.read_table(input_path).slice(0, args.micro_commits * 2000)
        batches.mkdir(parents=True)
        for i in range(args.micro_commits):
            pq.write_table(table.slice(i * 2000, 2000), batches / f"batch-{i:04d}.parquet")
    files = sorted(batches.glob("batch-*.parquet"))
    print(f"== micro-batches: {len(files)} commits of 2,000 rows")
    rates: dict[str, list[float]] = {"inlet": [], "pyiceberg": []}
    for rnd in range(args.rounds):
        for name in (["inlet", "pyiceberg"] if rnd % 2 == 0 else ["pyiceberg", "inlet"]):
            d = out / "runs" / f"micro-{name}"
            shutil.rmtree(d, ignore_errors=True)
            d.mkdir(parents=True)
            if name == "inlet":
                t0 = time.perf_counter()
                for f in files:
                    measure_quiet([str(inlet), *catalog_args(d), "write", "b.micro", "--input", str(f),
                                   "--input-format", "parquet"])
                secs = time.perf_counter() - t0
            else:
                r = measure([sys.executable, "-c", CHILD_PYICEBERG_MICRO, str(batches), str(d)],
                            out / "runs" / "micro-pyiceberg.log")
                secs = r["child_phases"]["commit_loop_s"]
            rates[name].append(len(files) / secs)
            print(f"  round {rnd + 1} {name:9s} {len(files) / secs:7.1f} commits/s ({secs:.1f}s)")
    med = {n: bw.median(v) for n, v in rates.items()}
    return [("micro: inlet/pyiceberg commits per second", med["inlet"] / med["pyiceberg"], None, None,
             [i / p for i, p in zip(rates["inlet"], rates["pyiceberg"])]),
            (f"micro: commits/s inlet {med['inlet']:.1f} (a process each), pyiceberg "
             f"{med['pyiceberg']:.1f} (one process)", None, None, None, [])]


def measure_quiet(cmd: list[str]) -> None:
    import subprocess
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: {p.stderr}")


def plan(args, inlet: Path, out: Path) -> list[tuple]:
    import pyarrow as pa
    import pyarrow.parquet as pq
    wh = out / f"plan-{args.plan_snapshots}"
    if not (wh / "catalog.db").exists():
        print(f"== building a table of {args.plan_snapshots} snapshots x 10 files with inlet (once)")
        shutil.rmtree(wh, ignore_errors=True)
        wh.mkdir(parents=True)
        src = wh / "batch.parquet"
        for s in range(args.plan_snapshots):
            pq.write_table(pa.table({"part": pa.array([p for p in range(10) for _ in range(5)], pa.int32()),
                                     "id": pa.array(range(s * 50, s * 50 + 50), pa.int64()),
                                     "v": [f"value {s}"] * 50}), src)
            measure_quiet([str(inlet), *catalog_args(wh), "write", "b.planned", "--input", str(src),
                           "--input-format", "parquet", "--format", "iceberg", "--partition-by", "part"])
    print(f"== planning: a table of {args.plan_snapshots} snapshots and {args.plan_snapshots * 10} data files")
    cases = {
        ("inlet", "all"): [str(inlet), *catalog_args(wh), "scan", "b.planned", "--where", "id < 0",
                           "--output-format", "ndjson", "--output", str(out / "runs" / "plan-all.ndjson")],
        ("pyiceberg", "all"): [sys.executable, "-c", CHILD_PYICEBERG_PLAN, str(wh), "all"],
        ("inlet", "one"): [str(inlet), *catalog_args(wh), "scan", "b.planned", "--where", "part = 7",
                           "--output-format", "ndjson", "--output", str(out / "runs" / "plan.ndjson")],
        ("pyiceberg", "one"): [sys.executable, "-c", CHILD_PYICEBERG_PLAN, str(wh), "one"],
    }
    walls: dict[tuple, list[float]] = {k: [] for k in cases}
    inner: dict[tuple, list[float]] = {k: [] for k in cases}
    for rnd in range(args.warmup + args.rounds):
        keys = list(cases) if rnd % 2 == 0 else list(reversed(cases))
        for k in keys:
            r = measure(cases[k], out / "runs" / f"plan-{k[0]}-{k[1]}.log")
            if rnd >= args.warmup:
                walls[k].append(r["wall_s"])
                if r.get("child_phases"):
                    inner[k].append(r["child_phases"]["plan_s"])
    med = {k: bw.median(v) for k, v in walls.items()}
    for k, v in med.items():
        what = ("every file's metrics (id < 0: none holds a row)" if k[1] == "all"
                else "one partition of ten (inlet also reads its rows)")
        extra = f" (planning alone, after imports and load: {bw.median(inner[k]):.2f}s)" if inner[k] else ""
        print(f"  {k[0]:9s} {what:36s} {v:6.2f}s process{extra}")
    return [("plan: inlet/pyiceberg speed, every file's metrics", med[("pyiceberg", "all")] / med[("inlet", "all")], None, None,
             [p / i for i, p in zip(walls[("inlet", "all")], walls[("pyiceberg", "all")])]),
            ("plan: inlet/pyiceberg speed, one partition", med[("pyiceberg", "one")] / med[("inlet", "one")], None,
             None, [p / i for i, p in zip(walls[("inlet", "one")], walls[("pyiceberg", "one")])])]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default="bulk,micro,plan")
    ap.add_argument("--rows", type=int, default=3_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1)
    ap.add_argument("--micro-commits", type=int, default=300)
    ap.add_argument("--plan-snapshots", type=int, default=1000)
    ap.add_argument("--out", default="bench/out/iceberg")
    ap.add_argument("--inlet", default="build/inlet")
    args = ap.parse_args()
    out = (REPO / args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    inlet = (REPO / args.inlet).resolve()
    import pyiceberg
    print(f"versions: pyiceberg {pyiceberg.__version__}, inlet {inlet}; {args.rounds} round(s)")
    ratios = []
    for case in args.cases.split(","):
        ratios += {"bulk": bulk, "micro": micro, "plan": plan}[case.strip()](args, inlet, out)
    print("\nratios (median/median; paired per-round range in brackets):")
    failed = False
    for label, val, op, target, pr in ratios:
        if val is None:
            print(f"  {label}")
            continue
        rng = f" [{min(pr):.2f}-{max(pr):.2f}]" if len(pr) > 1 else ""
        line = f"  {label:44s} {val:6.2f}x{rng:14s}"
        if op:
            met = val >= target if op == ">=" else val <= target
            failed |= not met
            line += f" target {op} {target:.2f}x  {'met' if met else 'NOT MET'}"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
