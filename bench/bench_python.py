#!/usr/bin/env python3
"""The Python package against delta-rs from Python, and against inlet's own CLI.

Run from the repository root, with the interpreter of a venv that has the inlet wheel
and deltalake (scripts/python_tests.sh makes one: build/python-venv):

    build/python-venv/bin/python bench/bench_python.py [--rows 5000000] [--rounds 3]

Cases (each contender in a fresh child process, interleaved, order rotating by round):
  write   an in-memory pyarrow table (generated in the child, not timed) written to a new
          table: inlet.write_table vs deltalake.write_deltalake.
  merge   an in-memory source of rows/5 rows (half updates of existing keys spread over
          every file, half new keys) upserted into a copy of a table of `rows` rows (written once by delta-rs,
          10 files): inlet Table.merge vs DeltaTable.merge(...).when_matched_update_all()
          .when_not_matched_insert_all().
  merge_dv  the same merge, inlet's table with deletion vectors enabled (merge-on-read:
          changed rows marked, not rewritten); delta-rs cannot write them and merges the
          copy-on-write table, as in `merge`.
  call    the same pipeline (10 Parquet files of rows/10 rows each, full refresh into a new
          table) run by `inlet run` and by inlet.run() in Python: the Python call's time
          over the CLI process's wall time (the call overhead), and the Python process's
          wall time (interpreter and imports included) over the CLI's.
Timed: the call itself (write/merge) as the child measures it; for `call` also each
process's wall. Peak RSS: each child's own (/usr/bin/time -f %M). Targets (issue 25):
write >= 2x delta-rs, merge >= 3x, call overhead <= 5%.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TIME = "/usr/bin/time"


def table(rows: int, start: int = 0, seed: int = 7):
    import numpy as np
    import pyarrow as pa
    rng = np.random.default_rng(seed)
    ids = np.arange(start, start + rows, dtype=np.int64)
    statuses = np.array(["new", "paid", "shipped", "returned", "cancelled"])
    return pa.table({
        "id": ids,
        "customer_id": rng.integers(0, 1_000_000, rows, dtype=np.int64),
        "amount": rng.random(rows) * 1000,
        "quantity": rng.integers(1, 20, rows, dtype=np.int32),
        "status": pa.array(statuses[rng.integers(0, 5, rows)]),
        "ts": pa.array(np.datetime64("2024-01-01T00:00:00", "us")
                       + rng.integers(0, 86_400_000_000 * 365, rows).astype("timedelta64[us]")),
        "note": pa.array([f"note {i % 1000}" for i in range(rows)]),
    })


def merge_source(rows: int):
    import pyarrow as pa
    import pyarrow.compute as pc
    n = rows // 5
    # Updates spread over the whole table (every file holds some), then new keys.
    updates = table(n // 2, start=0, seed=11)
    step = rows // (n // 2)
    updates = updates.set_column(0, "id", pa.array(updates.column("id").to_numpy() * step))
    updates = updates.set_column(2, "amount", pc.add(updates.column("amount"), 1.0))
    inserts = table(n - n // 2, start=rows, seed=12)
    return pa.concat_tables([updates, inserts])


# -- children ---------------------------------------------------------------------------

def child(case: str, contender: str, path: str, rows: int, extra: str) -> None:
    if case == "write":
        data = table(rows)
        t0 = time.perf_counter()
        if contender == "inlet":
            import inlet
            inlet.write_table(path, data)
        else:
            import deltalake
            deltalake.write_deltalake(path, data)
        seconds = time.perf_counter() - t0
    elif case in ("merge", "merge_dv"):
        source = merge_source(rows)
        t0 = time.perf_counter()
        if contender == "inlet":
            import inlet
            r = inlet.Table(path).merge(source, keys="id")
            counts = (r.rows_updated, r.rows_inserted)
        else:
            import deltalake
            m = (deltalake.DeltaTable(path)
                 .merge(source, predicate="t.id = s.id", source_alias="s", target_alias="t")
                 .when_matched_update_all().when_not_matched_insert_all().execute())
            counts = (m["num_target_rows_updated"], m["num_target_rows_inserted"])
        seconds = time.perf_counter() - t0
        print(json.dumps({"updated": counts[0], "inserted": counts[1]}))
    elif case == "call":
        t0 = time.perf_counter()
        import inlet
        t1 = time.perf_counter()
        [report] = inlet.run(extra)
        seconds = time.perf_counter() - t1
        print(json.dumps({"imports": t1 - t0, "rows": report.rows_written}))
    print(json.dumps({"seconds": seconds}))


# -- the parent -------------------------------------------------------------------------

def run(cmd: list[str], workdir: Path) -> dict:
    workdir.mkdir(parents=True, exist_ok=True)
    tf = workdir / "time.txt"
    t0 = time.perf_counter()
    p = subprocess.run([TIME, "-f", "%M", "-o", str(tf), *cmd], capture_output=True, text=True,
                       cwd=str(REPO))
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError(f"{cmd} failed: {p.stderr[-2000:]}")
    out = {}
    for line in p.stdout.splitlines():
        if line.startswith("{"):
            out.update(json.loads(line))
    out["wall"] = wall
    out["rss_mib"] = int(tf.read_text().split()[-1]) / 1024
    return out


def spread(xs: list[float]) -> str:
    return f"{statistics.median(xs):.2f} s [{min(xs):.2f}-{max(xs):.2f}]"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cases", default="write,merge,call")
    ap.add_argument("--out", default="bench/out/python")
    ap.add_argument("--inlet", default="build/inlet")
    ap.add_argument("--child", nargs=5, metavar=("CASE", "CONTENDER", "PATH", "ROWS", "EXTRA"))
    a = ap.parse_args()
    if a.child:
        case, contender, path, rows, extra = a.child
        child(case, contender, path, int(rows), extra)
        return 0

    import deltalake
    import pyarrow as pa
    import pyarrow.parquet as pq
    import inlet
    out = (REPO / a.out).resolve()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    py = sys.executable
    me = str(Path(__file__).resolve())
    cases = a.cases.split(",")
    print(f"bench_python: {a.rows:,} rows, {a.rounds} rounds; python {sys.version.split()[0]}, "
          f"pyarrow {pa.__version__}, deltalake {deltalake.__version__}, inlet {inlet.__version__}")

    base = out / "merge-base"
    if "merge" in cases or "merge_dv" in cases:
        t = table(a.rows)
        deltalake.write_deltalake(base, t.slice(0, a.rows // 10))
        for i in range(1, 10):
            deltalake.write_deltalake(base, t.slice(i * (a.rows // 10), a.rows // 10), mode="append")
        del t
    # merge_dv: the same table with deletion vectors enabled (a commit of inlet's, not
    # timed), so that inlet's merge marks changed rows instead of rewriting files. delta-rs
    # cannot write deletion vectors: it merges the copy-on-write base.
    base_dv = out / "merge-base-dv"
    if "merge_dv" in cases:
        shutil.copytree(base, base_dv)
        empty = table(1).slice(0, 0)
        inlet.Table(base_dv).write(empty, update_properties=True,
                                   properties={"delta.enableDeletionVectors": "true"})
    files = out / "call-files"
    if "call" in cases:
        files.mkdir()
        t = table(a.rows)
        for i in range(10):
            pq.write_table(t.slice(i * (a.rows // 10), a.rows // 10), files / f"part-{i}.parquet")
        del t

    results: dict = {}
    for rnd in range(a.rounds):
        for case in cases:
            contenders = ["inlet", "delta-rs"] if case != "call" else ["python", "cli"]
            if rnd % 2:
                contenders.reverse()
            for c in contenders:
                work = out / f"{case}-{c}-{rnd}"
                path = work / "table"
                extra = "-"
                if case == "merge" or (case == "merge_dv" and c == "delta-rs"):
                    shutil.copytree(base, path)
                if case == "merge_dv" and c == "inlet":
                    shutil.copytree(base_dv, path)
                if case == "call":
                    work.mkdir(parents=True)
                    extra = str(work / "p.yaml")
                    Path(extra).write_text(json.dumps({"pipelines": [{
                        "name": "files", "source": {"type": "files", "path": str(files)},
                        "destination": {"path": str(path)},
                        "strategy": {"type": "full_refresh"}}]}))
                if case == "call" and c == "cli":
                    r = run([str(REPO / a.inlet), "run", extra, "--json"], work)
                    r["seconds"] = r["wall"]
                else:
                    contender = "inlet" if c == "python" else c
                    r = run([py, me, "--child", case, contender, str(path), str(a.rows), extra], work)
                results.setdefault((case, c), []).append(r)
                if case in ("merge", "merge_dv"):
                    assert (r["updated"], r["inserted"]) == (a.rows // 10, a.rows // 5 - a.rows // 10), r
                n = inlet.Table(path).count()
                merged = a.rows + a.rows // 5 - a.rows // 10
                want = {"write": a.rows, "merge": merged, "merge_dv": merged,
                        "call": a.rows}[case]
                assert n == want, (case, c, n, want)
                shutil.rmtree(work)

    print()
    report = {}
    for case in cases:
        if case == "call":
            py_r, cli_r = results[(case, "python")], results[(case, "cli")]
            call = [p["seconds"] / c["wall"] for p, c in zip(py_r, cli_r)]
            proc = [p["wall"] / c["wall"] for p, c in zip(py_r, cli_r)]
            print(f"call   inlet.run() {spread([r['seconds'] for r in py_r])} (process "
                  f"{spread([r['wall'] for r in py_r])}, imports "
                  f"{statistics.median(r['imports'] for r in py_r):.2f} s), "
                  f"inlet run {spread([r['wall'] for r in cli_r])}")
            print(f"       call / CLI: median {statistics.median(call):.3f} "
                  f"[{min(call):.3f}-{max(call):.3f}] (target <= 1.05); "
                  f"process / CLI: {statistics.median(proc):.3f} [{min(proc):.3f}-{max(proc):.3f}]")
            report[case] = {"call_over_cli": call, "process_over_cli": proc}
            continue
        mine, peer = results[(case, "inlet")], results[(case, "delta-rs")]
        ratios = [p["seconds"] / m["seconds"] for m, p in zip(mine, peer)]
        target = {"write": 2.0, "merge": 3.0, "merge_dv": 3.0}[case]
        print(f"{case:6} inlet {spread([r['seconds'] for r in mine])}, "
              f"{statistics.median(r['rss_mib'] for r in mine):.0f} MiB; delta-rs "
              f"{spread([r['seconds'] for r in peer])}, "
              f"{statistics.median(r['rss_mib'] for r in peer):.0f} MiB")
        print(f"       delta-rs / inlet: median {statistics.median(ratios):.2f}x "
              f"[{min(ratios):.2f}-{max(ratios):.2f}] (target >= {target}x)")
        report[case] = {"speedup": ratios,
                        "inlet_rss_mib": [r["rss_mib"] for r in mine],
                        "delta_rs_rss_mib": [r["rss_mib"] for r in peer]}
    (out / "results.json").write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
