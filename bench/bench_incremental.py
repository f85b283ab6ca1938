"""Incremental runs against 1M- and 10M-row tables: does a run's cost follow the new rows?

For each table size N the source is 10 Parquet files (N rows in all). One pipeline run
loads it; then each round adds one file of new rows, and the incremental run is timed in a
fresh process (wall time, user+sys CPU, the command's own peak RSS from /usr/bin/time). Both tables get the same
number of new rows per round (1% of the largest size), so their runs should cost the same.
Both strategies that read files are measured: watermark (skips unchanged files below the
watermark) and append (reads only new files).

Run: .venv/bin/python bench/bench_incremental.py [--sizes 1000000,10000000] [--rounds 3]
"""
import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
INLET = os.path.join(ROOT, "build", "inlet")
BASE_TS = 1_704_067_200_000_000  # 2024-01-01T00:00:00Z in microseconds


def make_rows(start_id, n, seed):
    rng = np.random.default_rng(seed)
    ids = np.arange(start_id, start_id + n, dtype=np.int64)
    return pa.table({
        "id": ids,
        "ts": pa.array(BASE_TS + ids * 1_000_000, pa.timestamp("us", tz="UTC")),
        "customer": rng.integers(0, 100_000, n, dtype=np.int64),
        "amount": rng.random(n) * 1000,
        "quantity": rng.integers(1, 50, n, dtype=np.int32),
        "status": pa.array(rng.choice(["new", "paid", "shipped", "returned"], n)),
        "region": pa.array(rng.choice(["north", "south", "east", "west"], n)),
        "note": pa.array(rng.choice(["", "gift", "express", "fragile"], n)),
    })


def run(args):
    # Peak RSS is the command's own, from GNU time: this parent holds tables, and its wait4
    # would report its own high-water mark for every child.
    start = time.perf_counter()
    time_file = os.path.join(ROOT, "bench", "out", "incremental_time.txt")
    os.makedirs(os.path.dirname(time_file), exist_ok=True)
    proc = subprocess.Popen(["/usr/bin/time", "-f", "%M", "-o", time_file, *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate()
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = usage.ru_utime + usage.ru_stime - run.cpu_so_far
    run.cpu_so_far = usage.ru_utime + usage.ru_stime
    if proc.returncode != 0:
        sys.exit(f"command failed: {' '.join(args)}\n{err}")
    with open(time_file) as f:
        rss_mib = int(f.read().split()[-1]) / 1024
    return wall, cpu, rss_mib, out


run.cpu_so_far = 0.0


def pipeline_yaml(path, source, table, strategy):
    spec = {"type": strategy}
    if strategy == "watermark":
        spec["cursor"] = "ts"
    doc = {"pipelines": [{"name": "orders", "source": {"path": source + "/*.parquet"},
                          "destination": {"path": table}, "strategy": spec}]}
    with open(path, "w") as f:
        json.dump(doc, f)  # JSON is YAML


def bench_size(n, new_rows, rounds, strategy, work):
    src, table = os.path.join(work, "src"), os.path.join(work, "table")
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(src)
    per_file = n // 10
    for i in range(10):
        pq.write_table(make_rows(i * per_file, per_file, i), os.path.join(src, f"part_{i:03d}.parquet"))
    yaml = os.path.join(work, "p.yaml")
    pipeline_yaml(yaml, src, table, strategy)
    wall, cpu, rss, _ = run([INLET, "run", yaml, "--json"])
    results = {"size": n, "strategy": strategy, "initial": {"wall_s": wall, "cpu_s": cpu, "rss_mib": rss}, "rounds": []}
    next_id = n
    for r in range(rounds):
        pq.write_table(make_rows(next_id, new_rows, 1000 + r), os.path.join(src, f"new_{r:03d}.parquet"))
        next_id += new_rows
        wall, cpu, rss, out = run([INLET, "run", yaml, "--json"])
        report = json.loads(out.strip().splitlines()[-1])
        assert report["rows_written"] == new_rows, report
        results["rounds"].append({"wall_s": wall, "cpu_s": cpu, "rss_mib": rss,
                                  "files_read": report["files_read"], "rows_read": report["rows_read"]})
    return results


def median(xs):
    xs = sorted(xs)
    return xs[len(xs) // 2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="1000000,10000000")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "out"))
    a = ap.parse_args()
    if not os.path.exists(INLET):
        sys.exit(f"{INLET} is missing: run `make build` first")
    sizes = [int(s) for s in a.sizes.split(",")]
    new_rows = max(sizes) // 100
    os.makedirs(a.out, exist_ok=True)
    all_results = []
    print(f"incremental runs adding {new_rows:,} rows per round ({a.rounds} rounds), fresh process each")
    print(f"  {'strategy':10} {'table rows':>12} {'initial s':>10} {'run s':>8} {'run CPU s':>10} {'run RSS MiB':>12} {'files read':>11} {'rows read':>10}")
    for strategy in ("watermark", "append"):
        by_size = {}
        for n in sizes:
            res = bench_size(n, new_rows, a.rounds, strategy, os.path.join(a.out, f"incr_{strategy}_{n}"))
            all_results.append(res)
            rs = res["rounds"]
            by_size[n] = (median([r["wall_s"] for r in rs]), max(r["rss_mib"] for r in rs))
            print(f"  {strategy:10} {n:>12,} {res['initial']['wall_s']:>10.2f} {by_size[n][0]:>8.3f} "
                  f"{median([r['cpu_s'] for r in rs]):>10.3f} {by_size[n][1]:>12.0f} "
                  f"{rs[-1]['files_read']:>11} {rs[-1]['rows_read']:>10,}")
        small, large = min(sizes), max(sizes)
        print(f"  {strategy}: run time {large:,} vs {small:,} table: {by_size[large][0] / by_size[small][0]:.2f}x, "
              f"peak RSS {by_size[large][1] / by_size[small][1]:.2f}x (1.0x = independent of the table size)")
    with open(os.path.join(a.out, "incremental.json"), "w") as f:
        json.dump(all_results, f, indent=1)
    for strategy in ("watermark", "append"):
        for n in sizes:
            shutil.rmtree(os.path.join(a.out, f"incr_{strategy}_{n}"), ignore_errors=True)


if __name__ == "__main__":
    main()
