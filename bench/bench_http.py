#!/usr/bin/env python3
"""HTTP API load benchmark (issue 24 §5): an API of --records records (default 1M) in pages of
--page-size (default 1,000: 1,000 pages), served by a local server process on loopback
(pre-rendered pages, offset pagination with a total count), loaded into a new Delta table.
Contenders, each a fresh process, on the same server in the same run:

  inlet   `inlet run` of a full_refresh pipeline, source.type http (libcurl, simdjson)
  dlt     dlt's rest_api source (offset paginator, total_path), into its filesystem
          destination with table_format="delta" (deltalake underneath), parquet files

Target: inlet at least 5x dlt's records per second, with peak RSS at most dlt's. Each
contender's own peak RSS comes from `/usr/bin/time -f %M`. Every output is checked: row
count and the sum of two columns equal the API's.

Needs the benchmark's extra packages: .venv/bin/pip install -r bench/requirements-postgres.txt

    .venv/bin/python -u bench/bench_http.py [--records 1000000] [--page-size 1000] [--rounds 2]
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_write as bw  # noqa: E402  (child runner: wall, CPU, own peak RSS)

REPO = bw.REPO
OUT = REPO / "bench" / "out" / "http"

SERVER = r"""
import json, sys, urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
records, size = int(sys.argv[1]), int(sys.argv[2])
statuses = ["free", "busy", "closed", "unknown"]
def record(i):
    return {"id": i, "location": f"Stavanger P{i % 997}", "latitude": 58.9 + (i % 1000) / 10000,
            "longitude": 5.7 + (i % 777) / 10000, "capacity": 50 + i % 400,
            "available_spaces": i % 450, "status": statuses[i % 4],
            "updated_at": f"2024-05-{1 + i % 28:02d}T{i % 24:02d}:{i % 60:02d}:{(i * 7) % 60:02d}Z"}
pages = {}
for start in range(0, records, size):
    body = {"data": [record(i) for i in range(start + 1, min(records, start + size) + 1)],
            "meta": {"total": records, "offset": start}}
    pages[start] = json.dumps(body).encode()
empty = json.dumps({"data": [], "meta": {"total": records}}).encode()
class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *a): pass
    def do_GET(self):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        body = pages.get(int(q.get("offset", ["0"])[0]), empty)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
s = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[3])), H)
print("ready", flush=True)
s.serve_forever()
"""

CHILD_DLT = r"""
import json, sys, time
t0 = time.perf_counter()
import dlt
from dlt.sources.rest_api import rest_api_source
t1 = time.perf_counter()
base, size, out, work = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
source = rest_api_source({
    "client": {"base_url": base,
               "paginator": {"type": "offset", "limit": size, "offset_param": "offset",
                             "limit_param": "limit", "total_path": "meta.total"}},
    "resources": [{"name": "t", "endpoint": {"path": "readings", "data_selector": "data"}}],
})
pipeline = dlt.pipeline(pipeline_name="bench", pipelines_dir=work,
                        destination=dlt.destinations.filesystem(bucket_url="file://" + out),
                        dataset_name="d")
pipeline.run(source, table_format="delta", loader_file_format="parquet")
print(json.dumps({"import_s": t1 - t0, "load_s": time.perf_counter() - t1}))
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(records: int, size: int) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(records), str(size), str(port)],
                            stdout=subprocess.PIPE, text=True)
    t0 = time.perf_counter()
    if proc.stdout.readline().strip() != "ready":
        raise RuntimeError("the API server did not start")
    print(f"API server: {records:,} records in pages of {size:,}, rendered in "
          f"{time.perf_counter() - t0:.1f} s", flush=True)
    return proc, f"http://127.0.0.1:{port}"


def expected(records: int) -> dict:
    return {"rows": records, "sum_id": records * (records + 1) // 2,
            "sum_capacity": sum(50 + i % 400 for i in range(1, records + 1))}


def check(table_dir: Path, want: dict) -> str | None:
    import duckdb
    from deltalake import DeltaTable
    t = DeltaTable(str(table_dir)).to_pyarrow_dataset()  # noqa: F841 (DuckDB scans it by name)
    got = duckdb.connect().execute("SELECT count(*), sum(id), sum(capacity) FROM t").fetchone()
    got = {"rows": got[0], "sum_id": int(got[1]), "sum_capacity": int(got[2])}
    return None if got == want else f"output {got} differs from the API's {want}"


def command(name: str, base: str, size: int, out: Path, work: Path) -> tuple[list[str], dict]:
    env = dict(os.environ)
    if name == "inlet":
        yaml = work / "p.yaml"
        yaml.write_text(json.dumps({"pipelines": [{
            "name": "bench",
            "source": {"type": "http", "url": f"{base}/readings", "records": "data",
                       "paginate": {"type": "offset", "limit": size, "total_path": "meta.total"}},
            "destination": {"path": str(out)},
            "strategy": {"type": "full_refresh"}}]}))
        return [str(REPO / "build" / "inlet"), "run", str(yaml), "--json"], env
    env.update({"RUNTIME__LOG_LEVEL": "WARNING", "DLT_TELEMETRY": "false",
                "RUNTIME__DLTHUB_TELEMETRY": "false"})
    py = str(REPO / ".venv" / "bin" / "python")
    return [py, "-c", CHILD_DLT, base, str(size), str(out.parent / "dlt"), str(work)], env


def output_dir(name: str, out: Path) -> Path:
    return out.parent / "dlt" / "d" / "t" if name == "dlt" else out


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--records", type=int, default=1_000_000)
    ap.add_argument("--page-size", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--contenders", default="inlet,dlt")
    args = ap.parse_args()
    names = args.contenders.split(",")
    OUT.mkdir(parents=True, exist_ok=True)
    server, base = start_server(args.records, args.page_size)
    try:
        want = expected(args.records)
        results: dict[str, list[dict]] = {n: [] for n in names}
        for rnd in range(args.rounds):
            order = names[rnd % len(names):] + names[:rnd % len(names)]
            for name in order:
                work = OUT / "runs" / f"{name}-{rnd}"
                shutil.rmtree(work, ignore_errors=True)
                work.mkdir(parents=True)
                out = work / "table"
                cmd, env = command(name, base, args.page_size, out, work)
                r = bw.run_child(cmd, work, env=env)
                if r["exit_code"] != 0:
                    print(f"{name} failed:\n{r['stderr_tail']}\n{r['stdout_tail']}", flush=True)
                    return 1
                problem = check(output_dir(name, out), want)
                if problem:
                    print(f"{name}: {problem}", flush=True)
                    return 1
                results[name].append(r)
                print(f"round {rnd + 1} {name:6s} {r['wall_s']:7.2f} s  "
                      f"{args.records / r['wall_s']:>10,.0f} records/s  cpu {r['cpu_s']:6.2f} s  "
                      f"rss {r['peak_rss_mib']:7.0f} MiB", flush=True)
                shutil.rmtree(work, ignore_errors=True)
        pages = -(-args.records // args.page_size)
        print(f"\n{args.records:,} records in {pages:,} pages, local API -> Delta, "
              f"{args.rounds} rounds (median; range)")
        summary = {}
        for name in names:
            walls = [r["wall_s"] for r in results[name]]
            rss = [r["peak_rss_mib"] for r in results[name]]
            summary[name] = {"wall_s": walls, "rss_mib": rss}
            print(f"  {name:6s} {statistics.median(walls):7.2f} s ({min(walls):.2f}-{max(walls):.2f})"
                  f"  {args.records / statistics.median(walls):>10,.0f} records/s"
                  f"  peak RSS {max(rss):7.0f} MiB")
        if "inlet" in names and "dlt" in names:
            paired = [d["wall_s"] / i["wall_s"] for i, d in zip(results["inlet"], results["dlt"])]
            ratio = statistics.median(summary["dlt"]["wall_s"]) / \
                statistics.median(summary["inlet"]["wall_s"])
            print(f"  inlet vs dlt {ratio:5.2f}x records/s (paired {min(paired):.2f}-"
                  f"{max(paired):.2f}), peak RSS "
                  f"{max(summary['inlet']['rss_mib']) / max(summary['dlt']['rss_mib']):.2f}x")
        (OUT / "result.json").write_text(json.dumps(
            {"records": args.records, "page_size": args.page_size, "results": summary}, indent=2))
    finally:
        server.terminate()
        server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
