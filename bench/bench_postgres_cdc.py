#!/usr/bin/env python3
"""PostgreSQL change data capture benchmark (issue 23 §6): changes from a pgbench-like workload
on a real PostgreSQL 15 server on loopback, applied to a Delta table by `inlet stream` of a
postgres_cdc pipeline (logical replication, pgoutput, the cdc strategy).

  setup      pgbench_accounts-shaped table (aid bigint primary key, bid int, abalance int,
             filler char(84)) of --accounts rows, loaded by the stream's initial snapshot
  small      --transactions transactions written while inlet is stopped, each its own
             commit, as pgbench's: an update of a random account's balance; one in ten also
             inserts an account, one in twenty deletes one. Then `inlet stream --catch-up`
             applies them: changes per second (wall) and per CPU-second (one core's worth).
  bulk       one transaction updating every tenth account, applied the same way
  lag        inlet streams (flush_interval 1s) while a client commits a probe row every
             100 ms for --lag-seconds; a reader polls the table (deltalake) every 50 ms:
             end-to-end lag = when a probe is first seen in the table - when it committed

Every catch-up is checked: the table's count, sum(abalance) and sum(aid) equal PostgreSQL's.
Target (the issue): at least 100,000 changes per second per core. Each child's own wall, CPU
and peak RSS come from `/usr/bin/time`.

    .venv/bin/python -u bench/bench_postgres_cdc.py [--accounts 1000000]
        [--transactions 200000] [--rounds 2] [--lag-seconds 20]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
import bench_write as bw  # noqa: E402  (child runner: wall, CPU, own peak RSS)
from postgres_server import PostgresServer  # noqa: E402

REPO = bw.REPO
OUT = REPO / "bench" / "out" / "postgres_cdc"
INLET = REPO / "build" / "inlet"

WORKLOAD = """
CREATE OR REPLACE PROCEDURE workload(n int, accounts bigint) LANGUAGE plpgsql AS $$
DECLARE
  next_aid bigint := (SELECT max(aid) FROM pgbench_accounts) + 1;
  k bigint;
BEGIN
  PERFORM set_config('synchronous_commit', 'off', false);
  FOR i IN 1..n LOOP
    k := 1 + (random() * (accounts - 1))::bigint;
    UPDATE pgbench_accounts SET abalance = abalance + (random() * 10000)::int - 5000
      WHERE aid = k;
    IF i % 10 = 0 THEN
      INSERT INTO pgbench_accounts VALUES (next_aid, 1, 0, 'new');
      next_aid := next_aid + 1;
    END IF;
    IF i % 20 = 0 THEN
      k := 1 + (random() * (accounts - 1))::bigint;
      DELETE FROM pgbench_accounts WHERE aid = k;
    END IF;
    COMMIT;
  END LOOP;
END $$;
"""


def sql(server: PostgresServer, statement: str) -> str:
    return server.sql(statement, db="bench")


def setup(accounts: int) -> PostgresServer:
    server = PostgresServer().start()
    server.create_database("bench")
    sql(server, f"CREATE TABLE pgbench_accounts AS SELECT i::bigint AS aid, "
                f"(1 + i / 100000)::int AS bid, 0 AS abalance, ''::char(84) AS filler "
                f"FROM generate_series(1, {accounts}) i")
    sql(server, "ALTER TABLE pgbench_accounts ADD PRIMARY KEY (aid)")
    sql(server, f"ALTER TABLE pgbench_accounts OWNER TO {server.user}")
    sql(server, WORKLOAD)
    sql(server, "VACUUM ANALYZE pgbench_accounts")
    return server


def pipeline(server: PostgresServer, work: Path, flush_interval: str = "10s") -> Path:
    yaml = work / "p.yaml"
    yaml.write_text(json.dumps({"pipelines": [{
        "name": "bench",
        "source": {"type": "postgres_cdc",
                   "connection": f"postgresql://{server.user}@127.0.0.1:{server.port}/bench",
                   "table": "pgbench_accounts"},
        "destination": {"path": str(work / "table")},
        "strategy": {"type": "cdc"},
        "processing": {"flush_rows": 250000, "flush_interval": flush_interval}}]}))
    return yaml


def catch_up(server: PostgresServer, yaml: Path, work: Path) -> dict:
    r = bw.run_child([str(INLET), "stream", str(yaml), "--catch-up", "--json"], work,
                     env=server.env())
    if r["exit_code"] != 0:
        raise SystemExit(f"inlet failed:\n{r['stderr_tail']}\n{r['stdout_tail']}")
    r["report"] = json.loads(r["stdout_tail"].strip().splitlines()[-1])
    return r


def check(server: PostgresServer, table: Path) -> None:
    import duckdb
    from deltalake import DeltaTable
    t = DeltaTable(str(table)).to_pyarrow_dataset()  # noqa: F841 (DuckDB scans it by name)
    got = duckdb.connect().execute("SELECT count(*), sum(abalance), sum(aid) FROM t").fetchone()
    want = sql(server, "SELECT count(*), sum(abalance), sum(aid) FROM pgbench_accounts")
    want = tuple(int(x) for x in want.strip().split("|"))
    if tuple(int(x) for x in got) != want:
        raise SystemExit(f"the table {got} differs from PostgreSQL's {want}")


def lag_phase(server: PostgresServer, work: Path, seconds: float) -> list[float]:
    """Probe rows committed every 100 ms while inlet streams; seconds from each commit until
    the table shows it."""
    import psycopg2
    from deltalake import DeltaTable
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    sql(server, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots")
    yaml = pipeline(server, work, flush_interval="1s")
    catch_up(server, yaml, work)  # the snapshot first
    proc = subprocess.Popen([str(INLET), "stream", str(yaml)], env=server.env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    committed: dict[int, float] = {}
    seen: dict[int, float] = {}
    stop = threading.Event()

    def reader():
        dt = None
        while not stop.is_set():
            try:
                dt = dt or DeltaTable(str(work / "table"))
                dt.update_incremental()
                ids = dt.to_pyarrow_table(columns=["aid"],
                                          filters=[("aid", "<", 0)]).column("aid").to_pylist()
                now = time.time()
                for i in ids:
                    seen.setdefault(-i, now)
            except Exception:  # noqa: BLE001 - a commit being written; try again
                pass
            time.sleep(0.05)

    t = threading.Thread(target=reader)
    t.start()
    conn = psycopg2.connect(host="127.0.0.1", port=server.port, user=server.user,
                            password=server.password, dbname="bench")
    conn.autocommit = True
    end = time.time() + seconds
    n = 0
    with conn.cursor() as cur:
        while time.time() < end:
            n += 1
            cur.execute("INSERT INTO pgbench_accounts VALUES (%s, 0, 0, 'probe')", (-n,))
            committed[n] = time.time()
            time.sleep(0.1)
    deadline = time.time() + 30
    while len(seen) < n and time.time() < deadline:
        time.sleep(0.1)
    stop.set()
    t.join()
    proc.terminate()
    proc.wait(timeout=60)
    conn.close()
    return [seen[i] - committed[i] for i in committed if i in seen]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--accounts", type=int, default=1_000_000)
    ap.add_argument("--transactions", type=int, default=200_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--lag-seconds", type=float, default=20)
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    server = setup(args.accounts)
    results: dict[str, list[dict]] = {"setup": [], "small": [], "bulk": []}
    try:
        for rnd in range(args.rounds):
            work = OUT / f"round-{rnd}"
            shutil.rmtree(work, ignore_errors=True)
            work.mkdir(parents=True)
            sql(server, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots")
            yaml = pipeline(server, work)
            r = catch_up(server, yaml, work)
            check(server, work / "table")
            r["changes"] = r["report"]["messages"]
            results["setup"].append(r)
            print(f"round {rnd + 1} snapshot {r['changes']:,} rows {r['wall_s']:6.2f} s "
                  f"cpu {r['cpu_s']:6.2f} s rss {r['peak_rss_mib']:5.0f} MiB", flush=True)
            for phase in ("small", "bulk"):
                t0 = time.perf_counter()
                if phase == "small":
                    sql(server, f"CALL workload({args.transactions}, {args.accounts})")
                else:
                    sql(server, "UPDATE pgbench_accounts SET abalance = abalance + 1 "
                                "WHERE aid % 10 = 0")
                made = time.perf_counter() - t0
                r = catch_up(server, yaml, work)
                check(server, work / "table")
                r["changes"] = r["report"]["messages"]
                results[phase].append(r)
                print(f"round {rnd + 1} {phase:5s} {r['changes']:,} changes (written in "
                      f"{made:.1f} s) applied in {r['wall_s']:6.2f} s, cpu {r['cpu_s']:6.2f} s, "
                      f"rss {r['peak_rss_mib']:5.0f} MiB: {r['changes'] / r['wall_s']:,.0f}/s, "
                      f"{r['changes'] / r['cpu_s']:,.0f} per CPU-second; inlet's time: "
                      f"wait {r['report']['wait_ms']} ms, decode {r['report']['decode_ms']} ms, "
                      f"commit {r['report']['commit_ms']} ms in {r['report']['commits']} commits",
                      flush=True)
        lags = lag_phase(server, OUT / "lag", args.lag_seconds) if args.lag_seconds > 0 else []
    finally:
        server.stop()
    print(f"\nPostgreSQL -> Delta through postgres_cdc, {args.rounds} rounds (median; range)")
    for phase in ("small", "bulk"):
        per_wall = [r["changes"] / r["wall_s"] for r in results[phase]]
        per_cpu = [r["changes"] / r["cpu_s"] for r in results[phase]]
        print(f"  {phase:5s} {statistics.median(per_wall):>10,.0f} changes/s "
              f"({min(per_wall):,.0f}-{max(per_wall):,.0f}); "
              f"{statistics.median(per_cpu):>10,.0f} per CPU-second "
              f"({min(per_cpu):,.0f}-{max(per_cpu):,.0f}); target 100,000 per core: "
              f"{statistics.median(per_cpu) / 100000:.2f}x; peak RSS "
              f"{max(r['peak_rss_mib'] for r in results[phase]):.0f} MiB")
    if lags:
        lags.sort()
        print(f"  lag   {len(lags)} probes: median {statistics.median(lags):.2f} s, "
              f"p95 {lags[int(len(lags) * 0.95) - 1]:.2f} s, max {lags[-1]:.2f} s "
              "(flush_interval 1s; the reader polls every 50 ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
