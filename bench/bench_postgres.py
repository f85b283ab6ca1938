#!/usr/bin/env python3
"""PostgreSQL initial load benchmark (issue 23 §6): a table of --rows rows (default 5M) and 20
columns, loaded from a real PostgreSQL 15 server on loopback into a new Delta table, in one run
on the same data. Contenders, each a fresh process:

  inlet        `inlet run` of a full_refresh pipeline, source.type postgres (ADBC, binary COPY)
  dlt          dlt's sql_database source, pyarrow backend, into its filesystem destination with
               table_format="delta" (deltalake underneath), at dlt's defaults
  connectorx   connectorx.read_sql(..., return_type="arrow") then deltalake.write_deltalake
  connectorx2  the same with partition_on="id", partition_num=2 (two connections in parallel;
               not one consistent snapshot, so not what a loader may do, but ConnectorX's best)

Targets: inlet at least 3x dlt and at least 1x ConnectorX + delta-rs, with peak RSS that does
not grow with the table. Each contender's own peak RSS comes from `/usr/bin/time -f %M`. Every
output is checked: row count and the sums of two columns equal PostgreSQL's.

Needs the benchmark's extra packages: .venv/bin/pip install -r bench/requirements-postgres.txt

    .venv/bin/python -u bench/bench_postgres.py [--rows 5000000] [--rounds 2]
        [--contenders inlet,dlt,connectorx,connectorx2]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import bench_write as bw  # noqa: E402  (child runner: wall, CPU, own peak RSS)
from postgres_server import PostgresServer  # noqa: E402

REPO = bw.REPO
OUT = REPO / "bench" / "out" / "postgres"

# 20 columns: 7 integers, 4 doubles, 4 texts, a numeric(18,2), a timestamp, a timestamptz, a
# date and a boolean.
COLUMNS = ", ".join([
    "i AS id",
    "(i * 7919) % 1000003 AS a1", "(i % 1000)::int AS a2", "(i % 7)::smallint AS a3",
    "i * 31 AS a4", "(i / 3)::bigint AS a5", "(i % 100000)::int AS a6",
    "(i * 1.37)::float8 AS d1", "(i % 997) / 7.0::float8 AS d2", "sqrt(i)::float8 AS d3",
    "(i % 13) * 0.5::float8 AS d4",
    "'customer-' || (i % 50021) AS s1", "md5(i::text) AS s2",
    "CASE i % 4 WHEN 0 THEN 'new' WHEN 1 THEN 'paid' WHEN 2 THEN 'shipped' ELSE 'closed' END AS s3",
    "repeat(chr(65 + (i % 26)::int), (1 + i % 30)::int) AS s4",
    "((i % 1000000) / 100.0)::numeric(18,2) AS amount",
    "timestamp '2024-01-01' + i * interval '1 second' AS created",
    "timestamptz '2024-01-01 00:00:00+00' + i * interval '2 seconds' AS updated",
    "date '2020-01-01' + (i % 2000)::int AS day",
    "(i % 3 = 0) AS flag",
])

CHILD_DLT = r"""
import json, sys, time
t0 = time.perf_counter()
import dlt
from dlt.sources.sql_database import sql_database
t1 = time.perf_counter()
creds, out, work = sys.argv[1], sys.argv[2], sys.argv[3]
pipeline = dlt.pipeline(pipeline_name="bench", pipelines_dir=work,
                        destination=dlt.destinations.filesystem(bucket_url="file://" + out),
                        dataset_name="d")
source = sql_database(credentials=creds, table_names=["t"], backend="pyarrow")
pipeline.run(source, table_format="delta", loader_file_format="parquet")
print(json.dumps({"import_s": t1 - t0, "load_s": time.perf_counter() - t1}))
"""

CHILD_CX = r"""
import json, sys, time
t0 = time.perf_counter()
import connectorx as cx
from deltalake import write_deltalake
t1 = time.perf_counter()
conn, out, parts = sys.argv[1], sys.argv[2], int(sys.argv[3])
kw = {"partition_on": "id", "partition_num": parts} if parts > 1 else {}
table = cx.read_sql(conn, "SELECT * FROM t", return_type="arrow", **kw)
t2 = time.perf_counter()
write_deltalake(out, table)
print(json.dumps({"import_s": t1 - t0, "read_s": t2 - t1, "write_s": time.perf_counter() - t2}))
"""


def setup(rows: int) -> PostgresServer:
    server = PostgresServer().start()
    try:
        fill(server, rows)
    except BaseException:
        server.stop()
        raise
    return server


def fill(server: PostgresServer, rows: int) -> None:
    server.create_database("bench")
    t0 = time.perf_counter()
    server.sql(f"CREATE TABLE t AS SELECT {COLUMNS} FROM generate_series(1::bigint, {rows}) i", db="bench")
    server.sql("ALTER TABLE t ADD PRIMARY KEY (id)", db="bench")
    server.sql(f"ALTER TABLE t OWNER TO {server.user}", db="bench")
    server.sql("VACUUM ANALYZE t", db="bench")
    print(f"source table: {rows:,} rows in {time.perf_counter() - t0:.1f} s", flush=True)


def expected(server: PostgresServer) -> dict:
    out = server.sql("SELECT count(*), sum(a4), sum(amount) FROM t", db="bench").strip().split("|")
    return {"rows": int(out[0]), "sum_a4": int(out[1]), "sum_amount": str(out[2])}


def check(table_dir: Path, want: dict) -> str | None:
    import duckdb
    from deltalake import DeltaTable
    t = DeltaTable(str(table_dir)).to_pyarrow_dataset()  # noqa: F841 (DuckDB scans it by name)
    got = duckdb.connect().execute("SELECT count(*), sum(a4), sum(amount)::VARCHAR FROM t").fetchone()
    got = {"rows": got[0], "sum_a4": int(got[1]), "sum_amount": str(got[2])}
    if got["rows"] != want["rows"] or got["sum_a4"] != want["sum_a4"] or \
            float(got["sum_amount"]) != float(want["sum_amount"]):
        return f"output {got} differs from PostgreSQL's {want}"
    return None


def command(name: str, server: PostgresServer, out: Path, work: Path) -> tuple[list[str], dict]:
    env = server.env()
    py = str(REPO / ".venv" / "bin" / "python")
    uri = f"postgresql://{server.user}:{server.password}@127.0.0.1:{server.port}/bench"
    if name == "inlet":
        yaml = work / "p.yaml"
        yaml.write_text(json.dumps({"pipelines": [{
            "name": "bench",
            "source": {"type": "postgres",
                       "connection": f"postgresql://{server.user}@127.0.0.1:{server.port}/bench",
                       "table": "t"},
            "destination": {"path": str(out)},
            "strategy": {"type": "full_refresh"}}]}))
        return [str(REPO / "build" / "inlet"), "run", str(yaml), "--json"], env
    if name == "dlt":
        env = {**env, "RUNTIME__LOG_LEVEL": "WARNING", "DLT_TELEMETRY": "false",
               "RUNTIME__DLTHUB_TELEMETRY": "false"}
        sa_uri = uri.replace("postgresql://", "postgresql+psycopg2://")  # SQLAlchemy's driver
        return [py, "-c", CHILD_DLT, sa_uri, str(out.parent / "dlt"), str(work)], env
    parts = "2" if name == "connectorx2" else "1"
    return [py, "-c", CHILD_CX, uri, str(out), parts], env


def output_dir(name: str, out: Path) -> Path:
    if name == "dlt":  # <bucket>/<dataset>/<table>
        return out.parent / "dlt" / "d" / "t"
    return out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=5_000_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--contenders", default="inlet,dlt,connectorx,connectorx2")
    args = ap.parse_args()
    names = args.contenders.split(",")
    OUT.mkdir(parents=True, exist_ok=True)
    server = setup(args.rows)
    try:
        want = expected(server)
        results: dict[str, list[dict]] = {n: [] for n in names}
        for rnd in range(args.rounds):
            order = names[rnd % len(names):] + names[:rnd % len(names)]
            for name in order:
                work = OUT / "runs" / f"{name}-{rnd}"
                shutil.rmtree(work, ignore_errors=True)
                work.mkdir(parents=True)
                out = work / "table"
                cmd, env = command(name, server, out, work)
                r = bw.run_child(cmd, work, env=env)
                if r["exit_code"] != 0:
                    print(f"{name} failed:\n{r['stderr_tail']}\n{r['stdout_tail']}", flush=True)
                    return 1
                problem = check(output_dir(name, out), want)
                if problem:
                    print(f"{name}: {problem}", flush=True)
                    return 1
                results[name].append(r)
                print(f"round {rnd + 1} {name:12s} {r['wall_s']:7.2f} s  cpu {r['cpu_s']:6.2f} s  "
                      f"rss {r['peak_rss_mib']:7.0f} MiB", flush=True)
                shutil.rmtree(work, ignore_errors=True)
        print(f"\n{args.rows:,} rows x 20 columns, PostgreSQL -> Delta, {args.rounds} rounds "
              "(median; range)")
        summary = {}
        for name in names:
            walls = [r["wall_s"] for r in results[name]]
            rss = [r["peak_rss_mib"] for r in results[name]]
            summary[name] = {"wall_s": walls, "rss_mib": rss}
            print(f"  {name:12s} {statistics.median(walls):7.2f} s ({min(walls):.2f}-{max(walls):.2f})"
                  f"  peak RSS {max(rss):7.0f} MiB")
        if "inlet" in names:
            mine = statistics.median(summary["inlet"]["wall_s"])
            for name in names:
                if name == "inlet":
                    continue
                paired = [o["wall_s"] / i["wall_s"] for i, o in zip(results["inlet"], results[name])]
                theirs = statistics.median(summary[name]["wall_s"])
                print(f"  inlet vs {name:12s} {theirs / mine:5.2f}x speed (paired "
                      f"{min(paired):.2f}-{max(paired):.2f}), RSS "
                      f"{max(summary['inlet']['rss_mib']) / max(summary[name]['rss_mib']):.2f}x")
        (OUT / "result.json").write_text(json.dumps({"rows": args.rows, "results": summary},
                                                    indent=2))
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
