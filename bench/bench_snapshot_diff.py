#!/usr/bin/env python3
"""Snapshot diff: inlet's snapshot_diff run vs a DuckDB FULL OUTER JOIN on the same Parquet.

Run from the repository root:

    .venv/bin/python bench/bench_snapshot_diff.py [--rows 2000000] [--rounds 2]

Two full extracts of a 24-column web_returns-like table (bench_merge.py's generator):
extract 2 is extract 1 with 1% of the rows changed (0.4% updated values, 0.3% deleted keys,
0.3% new keys). inlet loads extract 1 into a Delta table (untimed, once); each timed round
copies that table and runs the snapshot_diff pipeline on extract 2 in a fresh process:
it reads the table and the extract, compares them by key and row hash, and commits the
changes (copy-on-write: files holding changed keys are rewritten). DuckDB, in a fresh
process, full-outer-joins the two extracts' Parquet files by key, compares every column and
writes the changed rows (with their kind) to Parquet — the diff alone, no table commit.
Both must find the same inserts, updates and deletes; inlet's table must then equal
extract 2 (read back through delta-rs). Contenders alternate; medians are reported.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_merge import COLUMNS, KEY, changed_rows, generate_returns  # noqa: E402
from bench_write import REPO, median, run_child  # noqa: E402

GEN_VERSION = 1

CHILD_DUCKDB = r"""
import json, sys, time
t0 = time.perf_counter()
import duckdb
old, new, out, key, cols = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5].split(",")
con = duckdb.connect()
differs = " OR ".join(f"a.{c} IS DISTINCT FROM b.{c}" for c in cols if c != key)
con.execute(f'''
COPY (
  SELECT CASE WHEN a.{key} IS NULL THEN 'insert' WHEN b.{key} IS NULL THEN 'delete' ELSE 'update' END AS kind,
         COALESCE(b.{key}, a.{key}) AS {key}, b.* EXCLUDE ({key})
  FROM read_parquet('{old}') a FULL OUTER JOIN read_parquet('{new}') b ON a.{key} = b.{key}
  WHERE a.{key} IS NULL OR b.{key} IS NULL OR {differs}
) TO '{out}' (FORMAT parquet, COMPRESSION zstd)''')
counts = dict(con.execute(f"SELECT kind, count(*) FROM read_parquet('{out}') GROUP BY kind").fetchall())
print(json.dumps({"total_s": time.perf_counter() - t0, "inserts": counts.get("insert", 0),
                  "updates": counts.get("update", 0), "deletes": counts.get("delete", 0)}))
"""


def build(rows: int, data: Path) -> dict:
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    meta_path = data / "meta.json"
    if meta_path.exists():
        meta = json.loads(meta_path.read_text())
        if meta.get("gen") == GEN_VERSION and meta.get("rows") == rows:
            return meta
    shutil.rmtree(data, ignore_errors=True)
    data.mkdir(parents=True)
    rng = np.random.default_rng(11)
    keys = np.arange(1, rows + 1, dtype=np.int64) * 2
    first = generate_returns(np, pa, keys, 1)
    n_upd, n_del, n_new = rows * 4 // 1000, rows * 3 // 1000, rows * 3 // 1000
    picked = rng.permutation(rows)
    upd, dele = np.sort(picked[:n_upd]), np.sort(picked[n_upd:n_upd + n_del])
    keep = np.ones(rows, dtype=bool)
    keep[dele] = False
    keep[upd] = False
    updated = changed_rows(np, pa, pc, first.take(pa.array(upd)), 2)
    new_rows = generate_returns(np, pa, keys.max() + 1 + np.arange(n_new, dtype=np.int64) * 2, 3)
    second = pa.concat_tables([first.filter(pa.array(keep)), updated, new_rows])
    second = second.sort_by(KEY)
    (data / "e1").mkdir()
    (data / "e2").mkdir()
    pq.write_table(first, data / "e1" / "extract.parquet", compression="zstd")
    pq.write_table(second, data / "e2" / "extract.parquet", compression="zstd")
    meta = {"gen": GEN_VERSION, "rows": rows, "inserts": n_new, "updates": n_upd, "deletes": n_del,
            "rows_after": second.num_rows}
    meta_path.write_text(json.dumps(meta))
    return meta


def pipeline(path: Path, source: Path, table: Path, properties: dict | None = None) -> Path:
    destination = {"path": str(table), "keys": [KEY]}
    if properties:
        destination["properties"] = properties
    path.write_text(json.dumps({"pipelines": [{
        "name": "diff", "source": {"path": str(source / "*.parquet")},
        "destination": destination, "strategy": {"type": "snapshot_diff"}}]}))
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--out", type=Path, default=REPO / "bench" / "out")
    ap.add_argument("--inlet-property", action="append", default=[], metavar="KEY=VALUE",
                    help="a table property of inlet's table, e.g. delta.enableDeletionVectors=true "
                         "(merge-on-read: changed rows are marked in deletion vectors, not rewritten)")
    ap.add_argument("--inlet", type=Path, default=REPO / "build" / "inlet", help="the inlet binary")
    args = ap.parse_args()
    properties = dict(p.split("=", 1) for p in args.inlet_property)
    inlet = args.inlet
    data = args.out / f"diff_data_{args.rows}"
    work = args.out / "diff_work"
    meta = build(args.rows, data)
    print(f"extracts: {args.rows:,} rows, 24 columns; extract 2: {meta['updates']:,} updated, "
          f"{meta['deletes']:,} deleted, {meta['inserts']:,} new (1%)")
    # The baseline table: extract 1, loaded once by the pipeline's first (full refresh) run.
    base = work / "base"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    src = work / "src"
    shutil.copytree(data / "e1", src)
    yaml = pipeline(work / "p.yaml", src, base, properties)
    r = run_child([str(inlet), "run", str(yaml), "--json"], work)
    if r["exit_code"] != 0:
        raise SystemExit(f"loading extract 1 failed:\n{r['stderr_tail']}")
    shutil.rmtree(src)
    shutil.copytree(data / "e2", src)
    expected = {k: meta[k] for k in ("inserts", "updates", "deletes")}
    results = {"inlet": [], "duckdb": []}
    for rnd in range(args.rounds):
        order = ["inlet", "duckdb"] if rnd % 2 == 0 else ["duckdb", "inlet"]
        for name in order:
            run_dir = work / f"{name}_{rnd}"
            run_dir.mkdir()
            if name == "inlet":
                table = run_dir / "table"
                shutil.copytree(base, table)
                y = pipeline(run_dir / "p.yaml", src, table)
                r = run_child([str(inlet), "run", str(y), "--json"], run_dir)
                rep = r["child_phases"] or {}
                got = {"inserts": rep.get("rows_inserted"), "updates": rep.get("rows_updated"),
                       "deletes": rep.get("rows_deleted")}
            else:
                r = run_child([sys.executable, "-c", CHILD_DUCKDB, str(data / "e1" / "extract.parquet"),
                               str(data / "e2" / "extract.parquet"), str(run_dir / "changes.parquet"), KEY,
                               ",".join(COLUMNS)], run_dir)
                got = {k: (r["child_phases"] or {}).get(k) for k in expected}
            if r["exit_code"] != 0:
                raise SystemExit(f"{name} failed:\n{r['stderr_tail']}")
            if got != expected:
                raise SystemExit(f"{name} found {got}, expected {expected}")
            results[name].append(r)
            print(f"  round {rnd} {name:7s} {r['wall_s']:6.2f} s  cpu {r['cpu_s']:6.2f} s  "
                  f"peak RSS {r['peak_rss_mib']:7.1f} MiB")
    # inlet's last table must hold extract 2 exactly.
    import pyarrow.parquet as pq
    import pyarrow as pa
    from deltalake import DeltaTable, QueryBuilder
    last = work / f"inlet_{args.rounds - 1}" / "table"
    # delta-rs' query engine applies deletion vectors (to_pyarrow_table refuses such tables).
    ours = pa.table(QueryBuilder().register("t", DeltaTable(str(last))).execute("SELECT * FROM t").read_all())
    ours = ours.sort_by(KEY)
    theirs = pq.read_table(data / "e2" / "extract.parquet").sort_by(KEY)
    if not ours.select(COLUMNS).equals(theirs.select(COLUMNS)):
        raise SystemExit("inlet's table differs from extract 2")
    wall = {n: median([r["wall_s"] for r in rs]) for n, rs in results.items()}
    rss = {n: median([r["peak_rss_mib"] for r in rs]) for n, rs in results.items()}
    print(f"\nsnapshot diff, {args.rows:,} rows, 1% changed (medians of {args.rounds}"
          f"{', inlet table ' + ', '.join(args.inlet_property) if args.inlet_property else ''}):")
    print(f"  inlet  (diff + commit)   {wall['inlet']:6.2f} s  {rss['inlet']:7.1f} MiB")
    print(f"  DuckDB (join + write)    {wall['duckdb']:6.2f} s  {rss['duckdb']:7.1f} MiB")
    print(f"  speed inlet/DuckDB {wall['duckdb'] / wall['inlet']:.2f}x   RSS ratio {rss['inlet'] / rss['duckdb']:.2f}x")
    (args.out / "snapshot_diff.json").write_text(json.dumps({
        "rows": args.rows, "inlet_properties": properties, "wall_s": wall, "peak_rss_mib": rss, "rounds": args.rounds,
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
