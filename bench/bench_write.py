#!/usr/bin/env python3
"""Bulk-append write benchmark: inlet vs delta-rs vs plain Arrow Parquet.

Run from the repository root:

    .venv/bin/python bench/bench_write.py [--rows 3000000] [--rounds 3] [--out bench/out]

Every contender writes the same cached input Parquet file (a seeded TPC-H
lineitem-like table, 16 columns) in a fresh child process; rounds are
interleaved with a rotating order. See bench/README.md for how to read the
output.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GEN_VERSION = 1  # bump when the generator changes; part of the cache key

CONTENDERS = ("inlet", "delta-rs", "parquet")
LETTER = {"inlet": "A", "delta-rs": "B", "parquet": "C"}

TARGET_VS_DELTA = 2.0     # inlet throughput >= 2.0x delta-rs
TARGET_VS_PARQUET = 0.85  # inlet throughput >= 0.85x plain Arrow Parquet
TARGET_RSS_VS_DELTA = 1.0  # inlet peak RSS <= delta-rs peak RSS

# --------------------------------------------------------------------------
# Child programs for the Python contenders. They import only what they need
# so the peak RSS is not inflated by the parent's imports. Each prints one
# JSON line with its own phase timings (informational only; the parent's
# wall clock around the whole process is what gets compared).
# --------------------------------------------------------------------------
CHILD_DELTA_RS = r"""
import json, sys, time
t0 = time.perf_counter()
import pyarrow.parquet as pq
from deltalake import WriterProperties, write_deltalake
t1 = time.perf_counter()
table = pq.read_table(sys.argv[1])
t2 = time.perf_counter()
write_deltalake(sys.argv[2], table, mode="append",
                writer_properties=WriterProperties(compression="ZSTD", compression_level=1))
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "read_s": t2 - t1, "write_s": t3 - t2}))
"""

CHILD_PARQUET = r"""
import json, os, sys, time
t0 = time.perf_counter()
import pyarrow.parquet as pq
t1 = time.perf_counter()
table = pq.read_table(sys.argv[1])
t2 = time.perf_counter()
os.makedirs(sys.argv[2], exist_ok=True)
pq.write_table(table, os.path.join(sys.argv[2], "part-00000.zstd.parquet"),
               compression="zstd", compression_level=1)
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "read_s": t2 - t1, "write_s": t3 - t2}))
"""


# --------------------------------------------------------------------------
# Data generation
# --------------------------------------------------------------------------
# Word list in the spirit of the TPC-H comment grammar; comments are cut out
# of a seeded stream of these words so they compress like text, not noise.
WORDS = (
    "furiously carefully quickly slyly blithely ironically fluffily boldly "
    "ironic final regular express pending special bold even silent unusual quiet "
    "deposits requests packages accounts instructions theodolites foxes ideas "
    "dependencies excuses platelets asymptotes courts dolphins multipliers "
    "warthogs frets dinos attainments somas patterns forges braids frays "
    "warhorses dugouts epitaphs pearls tithes waters orbits gifts sheaves depths "
    "sentiments decoys realms pains grouches escapades sleep wake are cajole "
    "haggle nag use boost affix detect integrate maintain nod was lose sublate "
    "solve thrash promise engage hinder print breach eat grow impress mold poach "
    "serve run dazzle snooze doze unwind kindle play hang believe doubt about "
    "above across after against along among around at atop before behind "
    "beneath beside between beyond by despite during except for from inside "
    "into near of on outside over past since through to toward under until up "
    "upon without with within the"
).split()

SHIPINSTRUCT = ["DELIVER IN PERSON", "COLLECT COD", "NONE", "TAKE BACK RETURN"]
SHIPMODE = ["REG AIR", "AIR", "RAIL", "SHIP", "TRUCK", "MAIL", "FOB"]


def _decimal_from_unscaled(pa, np, unscaled, precision=15, scale=2):
    """decimal128 array from non-negative int64 unscaled values (zero-copy layout)."""
    n = len(unscaled)
    words = np.zeros(2 * n, dtype=np.int64)
    words[0::2] = unscaled  # little-endian: low 64 bits first; high word 0 (values >= 0)
    return pa.Array.from_buffers(pa.decimal128(precision, scale), n, [None, pa.py_buffer(words)])


def _strings_from_codes(pa, values, codes):
    return pa.array(values, type=pa.string()).take(pa.array(codes))


def generate_lineitem(rows: int, seed: int):
    import numpy as np
    import pyarrow as pa

    rng = np.random.default_rng(seed)
    n = rows

    # Orders with 1..7 lines each, keys ascending (like TPC-H dbgen output).
    lines = rng.integers(1, 8, size=n // 4 + 16)
    while lines.sum() < n:
        lines = np.concatenate([lines, rng.integers(1, 8, size=n // 4 + 16)])
    ends = np.cumsum(lines)
    n_orders = int(np.searchsorted(ends, n) + 1)
    lines = lines[:n_orders]
    starts = ends[:n_orders] - lines
    order_idx = np.repeat(np.arange(n_orders, dtype=np.int64), lines)[:n]
    linenumber = (np.arange(n, dtype=np.int64) - np.repeat(starts, lines)[:n] + 1).astype(np.int32)
    orderkey = order_idx * 4 + 1  # sparse keys, as in TPC-H

    partkey = rng.integers(1, 200_001, size=n, dtype=np.int64)
    suppkey = rng.integers(1, 10_001, size=n, dtype=np.int64)

    quantity = rng.integers(1, 51, size=n, dtype=np.int64)
    retail_cents = 90_000 + (partkey // 10) % 20_001 + 100 * (partkey % 1_000)
    extprice_cents = quantity * retail_cents
    discount_cents = rng.integers(0, 11, size=n, dtype=np.int64)
    tax_cents = rng.integers(0, 9, size=n, dtype=np.int64)

    # Dates as days since 1970-01-01.
    start = 8035          # 1992-01-01
    end = 10440 - 151     # 1998-08-02 minus 151 days
    current = 9298        # 1995-06-17
    orderdate_per_order = rng.integers(start, end + 1, size=n_orders, dtype=np.int64)
    orderdate = orderdate_per_order[order_idx]
    shipdate = orderdate + rng.integers(1, 122, size=n)
    commitdate = orderdate + rng.integers(30, 91, size=n)
    receiptdate = shipdate + rng.integers(1, 31, size=n)

    ra = rng.integers(0, 2, size=n)  # 0 -> R, 1 -> A
    returnflag_code = np.where(receiptdate <= current, ra, 2)  # 2 -> N
    linestatus_code = np.where(shipdate > current, 0, 1)       # O / F

    # l_comment: consecutive 10..43-char slices of a seeded word stream.
    clen = rng.integers(10, 44, size=n, dtype=np.int64)
    total = int(clen.sum())
    vocab = pa.array([w + " " for w in WORDS], type=pa.string())
    avg_word = sum(len(w) + 1 for w in WORDS) / len(WORDS)
    n_words = int(total / avg_word * 1.1) + 64
    stream = vocab.take(pa.array(rng.integers(0, len(WORDS), size=n_words)))
    s_off = np.frombuffer(stream.buffers()[1], dtype=np.int32, count=len(stream) + 1)
    s_data = np.frombuffer(stream.buffers()[2], dtype=np.uint8)[s_off[0]:s_off[-1]]
    while len(s_data) < total:  # practically never; keeps it correct anyway
        s_data = np.concatenate([s_data, s_data])
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(clen, out=offsets[1:])
    comment = pa.StringArray.from_buffers(
        n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(s_data[:total])))

    def date32(days):
        return pa.array(days.astype(np.int32)).cast(pa.date32())

    table = pa.table({
        "l_orderkey": pa.array(orderkey),
        "l_partkey": pa.array(partkey),
        "l_suppkey": pa.array(suppkey),
        "l_linenumber": pa.array(linenumber),
        "l_quantity": _decimal_from_unscaled(pa, np, quantity * 100),
        "l_extendedprice": _decimal_from_unscaled(pa, np, extprice_cents),
        "l_discount": _decimal_from_unscaled(pa, np, discount_cents),
        "l_tax": _decimal_from_unscaled(pa, np, tax_cents),
        "l_returnflag": _strings_from_codes(pa, ["R", "A", "N"], returnflag_code),
        "l_linestatus": _strings_from_codes(pa, ["O", "F"], linestatus_code),
        "l_shipdate": date32(shipdate),
        "l_commitdate": date32(commitdate),
        "l_receiptdate": date32(receiptdate),
        "l_shipinstruct": _strings_from_codes(pa, SHIPINSTRUCT, rng.integers(0, 4, size=n)),
        "l_shipmode": _strings_from_codes(pa, SHIPMODE, rng.integers(0, 7, size=n)),
        "l_comment": comment,
    })
    table.validate(full=True)
    return table


# --------------------------------------------------------------------------
# Correctness digest
# --------------------------------------------------------------------------
COLUMNS = ["l_orderkey", "l_partkey", "l_suppkey", "l_linenumber", "l_quantity",
           "l_extendedprice", "l_discount", "l_tax", "l_returnflag", "l_linestatus",
           "l_shipdate", "l_commitdate", "l_receiptdate", "l_shipinstruct",
           "l_shipmode", "l_comment"]


def digest(table) -> dict:
    """Row count, a few sums and an order-independent hash over all 16 columns."""
    import duckdb
    import pyarrow as pa
    import pyarrow.compute as pc

    out = {"rows": table.num_rows,
           "sum_orderkey": int(pc.sum(table["l_orderkey"]).as_py() or 0),
           "sum_quantity": float(pc.sum(pc.cast(table["l_quantity"], pa.float64())).as_py() or 0.0)}
    con = duckdb.connect()
    con.register("t", table.select(COLUMNS))
    cols = ", ".join(COLUMNS)
    h, x = con.execute(
        f"SELECT coalesce(sum(hash({cols})::HUGEINT), 0)::VARCHAR, "
        f"coalesce(bit_xor(hash({cols})), 0)::VARCHAR FROM t").fetchone()
    con.close()
    out["row_hash_sum"] = h
    out["row_hash_xor"] = x
    return out


def schema_summary(schema) -> dict:
    return {f.name: str(f.type) for f in schema}


# --------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------
def dir_stats(path: Path) -> dict:
    total = data = log = 0
    files = 0
    for root, _dirs, names in os.walk(path):
        for name in names:
            size = os.path.getsize(os.path.join(root, name))
            total += size
            if "_delta_log" in Path(root).parts:
                log += size
            elif name.endswith(".parquet"):
                data += size
                files += 1
    return {"bytes_written": total, "data_bytes": data, "log_bytes": log, "data_files": files}


TIME = "/usr/bin/time"  # GNU time (Debian package `time`, installed by the bootstrap)


def peak_rss_of(time_file: Path) -> float:
    """The child's own peak RSS in MiB, as GNU time wrote it (%M, KiB) to time_file."""
    lines = [l for l in time_file.read_text(errors="replace").splitlines() if l.strip()]
    try:
        return int(lines[-1]) / 1024.0
    except (IndexError, ValueError):
        raise RuntimeError(f"no peak RSS from {TIME} in {time_file}: {lines[-3:]}")


def run_child(cmd: list[str], workdir: Path, env: dict | None = None) -> dict:
    """Run one contender in a fresh process; measure wall and CPU via wait4, and peak RSS as
    GNU time reports it for the contender itself (`/usr/bin/time -f %M`). The peak this
    parent's wait4 reports is not used for memory: on Linux it is at least the parent's own
    high-water mark at fork time, so a parent that has held tables reports that figure for
    every child."""
    out_f = open(workdir / "stdout.txt", "wb")
    err_f = open(workdir / "stderr.txt", "wb")
    time_file = workdir / "time.txt"
    load_before = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen([TIME, "-f", "%M", "-o", str(time_file), *cmd], stdout=out_f, stderr=err_f,
                            stdin=subprocess.DEVNULL, cwd=str(REPO), env=env)
    _pid, status, ru = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)  # keep Popen from re-waiting
    out_f.close()
    err_f.close()
    stdout = (workdir / "stdout.txt").read_text(errors="replace")
    stderr = (workdir / "stderr.txt").read_text(errors="replace")
    phases = None
    for line in reversed(stdout.strip().splitlines()):
        try:
            cand = json.loads(line)
            if isinstance(cand, dict):
                phases = cand
                break
        except ValueError:
            continue
    return {
        "exit_code": proc.returncode,
        "wall_s": wall,
        "user_s": ru.ru_utime,
        "sys_s": ru.ru_stime,
        "cpu_s": ru.ru_utime + ru.ru_stime,
        "peak_rss_mib": peak_rss_of(time_file),
        "loadavg_1m_before": load_before,
        "child_phases": phases,
        "stdout_tail": stdout[-2000:],
        "stderr_tail": stderr[-2000:],
    }


def contender_cmd(name: str, inlet: Path, input_path: Path, out_dir: Path,
                  inlet_args: list[str] | None = None) -> list[str]:
    if name == "inlet":
        return [str(inlet), "write", str(out_dir), "--input", str(input_path),
                "--input-format", "parquet", "--mode", "append", *(inlet_args or [])]
    if name == "delta-rs":
        return [sys.executable, "-c", CHILD_DELTA_RS, str(input_path), str(out_dir)]
    if name == "parquet":
        return [sys.executable, "-c", CHILD_PARQUET, str(input_path), str(out_dir)]
    raise ValueError(name)


def read_output(name: str, out_dir: Path):
    import pyarrow.parquet as pq
    if name in ("inlet", "delta-rs"):
        from deltalake import DeltaTable
        dt = DeltaTable(str(out_dir))
        return dt.to_pyarrow_table(), {"delta_version": dt.version(), "delta_files": len(dt.file_uris())}
    files = sorted(out_dir.glob("*.parquet"))
    import pyarrow as pa
    return pa.concat_tables([pq.read_table(f) for f in files]), {"parquet_files": len(files)}


def tool_versions(inlet: Path | None) -> dict:
    import deltalake
    import pyarrow
    v = {"python": platform.python_version(), "pyarrow": pyarrow.__version__,
         "deltalake": deltalake.__version__}
    if inlet is not None and inlet.exists():
        try:
            r = subprocess.run([str(inlet), "--version"], capture_output=True, text=True, timeout=10)
            v["inlet"] = (r.stdout or r.stderr).strip().splitlines()[0] if (r.stdout or r.stderr) else "?"
        except Exception as e:  # noqa: BLE001
            v["inlet"] = f"unknown ({e.__class__.__name__})"
    return v


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def fmt_int(x):
    return f"{x:,.0f}" if x == x else "n/a"


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=3_000_000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--warmup", type=int, default=1,
                    help="extra rounds run first and discarded (default 1)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", default="bench/out")
    ap.add_argument("--inlet", default="build/inlet", help="path to the inlet binary")
    ap.add_argument("--inlet-args", default="",
                    help="extra arguments appended to the inlet command line (shell-split)")
    ap.add_argument("--contenders", default=",".join(CONTENDERS),
                    help="comma-separated subset of inlet,delta-rs,parquet (default: all)")
    ap.add_argument("--keep", action="store_true", help="keep every round's output directory")
    ap.add_argument("--no-verify", action="store_true", help="skip the correctness digest")
    args = ap.parse_args()

    contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    for c in contenders:
        if c not in CONTENDERS:
            ap.error(f"unknown contender {c!r}; choose from {', '.join(CONTENDERS)}")
    if args.rounds < 1:
        ap.error("--rounds must be >= 1")

    out_root = Path(args.out)
    if not out_root.is_absolute():
        out_root = REPO / out_root
    inlet = Path(args.inlet)
    if not inlet.is_absolute():
        inlet = REPO / inlet
    if "inlet" in contenders and not (inlet.is_file() and os.access(inlet, os.X_OK)):
        print(f"error: inlet binary not found at {inlet}.\n"
              f"  Build it first (make build), pass --inlet PATH, or run only the other contenders:\n"
              f"  {sys.executable} bench/bench_write.py --contenders delta-rs,parquet", file=sys.stderr)
        return 2

    out_root.mkdir(parents=True, exist_ok=True)
    session = time.strftime("%Y%m%dT%H%M%S")

    # ---- input (cached) ----
    key = f"lineitem16_v{GEN_VERSION}_r{args.rows}_s{args.seed}"
    input_path = out_root / f"{key}.parquet"
    meta_path = out_root / f"{key}.json"
    if input_path.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text())
        print(f"input: cached {input_path.relative_to(REPO) if input_path.is_relative_to(REPO) else input_path}")
    else:
        import pyarrow.parquet as pq
        t0 = time.perf_counter()
        table = generate_lineitem(args.rows, args.seed)
        gen_s = time.perf_counter() - t0
        tmp = input_path.with_suffix(".parquet.tmp")
        pq.write_table(table, tmp, compression="snappy")
        os.replace(tmp, input_path)
        meta = {"rows": table.num_rows, "arrow_bytes": table.nbytes, "seed": args.seed,
                "gen_version": GEN_VERSION, "generate_s": gen_s,
                "file_bytes": input_path.stat().st_size,
                "schema": schema_summary(table.schema), "digest": digest(table)}
        meta_path.write_text(json.dumps(meta, indent=2))
        del table
        print(f"input: generated {input_path} in {gen_s:.1f}s")
    rows = meta["rows"]
    arrow_mb = meta["arrow_bytes"] / 1e6
    print(f"  {rows:,} rows, {arrow_mb:.0f} MB as Arrow, {meta['file_bytes'] / 1e6:.0f} MB Parquet (snappy)")

    versions = tool_versions(inlet if "inlet" in contenders else None)
    host = {"hostname": socket.gethostname(), "nproc": os.cpu_count(), "platform": platform.platform()}
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print(f"contenders: {', '.join(f'{LETTER[c]}={c}' for c in contenders)}; "
          f"{args.warmup} warm-up + {args.rounds} measured round(s), order rotates per round\n")

    runs_dir = out_root / "runs"
    results_path = out_root / "results.jsonl"
    results: dict[str, list[dict]] = {c: [] for c in contenders}
    last_out: dict[str, Path] = {}
    failed: dict[str, str] = {}

    total_rounds = args.warmup + args.rounds
    for rnd in range(total_rounds):
        warm = rnd < args.warmup
        k = rnd % len(contenders)
        order = contenders[k:] + contenders[:k]
        label = "warm-up" if warm else f"round {rnd - args.warmup + 1}/{args.rounds}"
        print(f"{label}: order {' '.join(LETTER[c] for c in order)}")
        for name in order:
            out_dir = runs_dir / f"{name}_{rnd}"
            work = runs_dir / f"{name}_{rnd}.log"
            for p in (out_dir, work):
                if p.exists():
                    shutil.rmtree(p)
            work.mkdir(parents=True)
            cmd = contender_cmd(name, inlet, input_path, out_dir, shlex.split(args.inlet_args))
            r = run_child(cmd, work)
            r.update(dir_stats(out_dir) if out_dir.exists() else
                     {"bytes_written": 0, "data_bytes": 0, "log_bytes": 0, "data_files": 0})
            ok = r["exit_code"] == 0
            r["rows_per_s"] = rows / r["wall_s"]
            r["input_mb_per_s"] = arrow_mb / r["wall_s"]
            r["cpu_s_per_mrow"] = r["cpu_s"] / (rows / 1e6)
            rec = {"session": session, "case": "bulk_append_zstd1", "contender": name,
                   "round": rnd - args.warmup + 1 if not warm else 0, "warmup": warm,
                   "order": order, "rows": rows, "arrow_bytes": meta["arrow_bytes"],
                   "input": str(input_path), "versions": versions, "host": host,
                   "ok": ok, **r}
            with results_path.open("a") as f:
                f.write(json.dumps(rec) + "\n")
            status = "ok" if ok else f"FAILED (exit {r['exit_code']})"
            print(f"  {LETTER[name]} {name:9s} wall {r['wall_s']:7.2f}s  cpu {r['cpu_s']:7.2f}s  "
                  f"rss {r['peak_rss_mib']:7.0f} MiB  {fmt_int(r['rows_per_s']):>11s} rows/s  "
                  f"out {r['bytes_written'] / 1e6:7.1f} MB  {status}")
            if not ok:
                failed[name] = r["stderr_tail"][-600:]
                print("    stderr: " + r["stderr_tail"][-600:].replace("\n", "\n            "))
            if not warm and ok:
                results[name].append(rec)
            # Keep only the newest successful output per contender (disk space).
            if ok:
                prev = last_out.get(name)
                if prev is not None and prev.exists() and not args.keep:
                    shutil.rmtree(prev)
                last_out[name] = out_dir
            elif out_dir.exists() and not args.keep:
                shutil.rmtree(out_dir)
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
        print()

    # ---- summary ----
    summary = {"session": session, "case": "bulk_append_zstd1", "rows": rows,
               "arrow_bytes": meta["arrow_bytes"], "rounds": args.rounds, "warmup": args.warmup,
               "versions": versions, "host": host, "contenders": {}, "ratios": {}, "verify": {}}
    print(f"summary ({rows:,} rows, {arrow_mb:.0f} MB Arrow in, zstd level 1, medians over "
          f"{args.rounds} round(s); CPU = user+sys; RSS = max over rounds)")
    hdr = (f"  {'contender':10s} {'runs':>4s} {'rows/s':>12s} {'MB/s':>7s} {'wall s':>7s} "
           f"{'CPU s':>7s} {'CPUs/Mrow':>9s} {'RSS MiB':>8s} {'bytes out':>13s} {'files':>5s}")
    print(hdr)
    for name in contenders:
        rs = results[name]
        if not rs:
            print(f"  {name:10s} {0:4d}  no successful runs")
            summary["contenders"][name] = {"runs": 0, "failed": failed.get(name)}
            continue
        s = {"runs": len(rs),
             "median_rows_per_s": median([r["rows_per_s"] for r in rs]),
             "median_input_mb_per_s": median([r["input_mb_per_s"] for r in rs]),
             "median_wall_s": median([r["wall_s"] for r in rs]),
             "median_cpu_s": median([r["cpu_s"] for r in rs]),
             "median_cpu_s_per_mrow": median([r["cpu_s_per_mrow"] for r in rs]),
             "peak_rss_mib": max(r["peak_rss_mib"] for r in rs),
             "bytes_written": int(median([r["bytes_written"] for r in rs])),
             "data_files": int(median([r["data_files"] for r in rs])),
             "log_bytes": int(median([r["log_bytes"] for r in rs])),
             "wall_s_all": [r["wall_s"] for r in rs]}
        ph = [r["child_phases"] for r in rs if r.get("child_phases")]
        if ph and all("write_s" in p for p in ph):
            s["median_child_phases"] = {k: median([p[k] for p in ph]) for k in ph[0]}
        summary["contenders"][name] = s
        print(f"  {name:10s} {s['runs']:4d} {fmt_int(s['median_rows_per_s']):>12s} "
              f"{s['median_input_mb_per_s']:7.1f} {s['median_wall_s']:7.2f} {s['median_cpu_s']:7.2f} "
              f"{s['median_cpu_s_per_mrow']:9.2f} {s['peak_rss_mib']:8.0f} "
              f"{s['bytes_written']:13,d} {s['data_files']:5d}")
    for name in contenders:
        p = summary["contenders"].get(name, {}).get("median_child_phases")
        if p:
            print(f"  ({name} child-internal medians: import {p['import_s']:.2f}s, "
                  f"read input {p['read_s']:.2f}s, write {p['write_s']:.2f}s)")

    def paired(a: str, b: str):
        ra = {r["round"]: r for r in results.get(a, [])}
        rb = {r["round"]: r for r in results.get(b, [])}
        return [rb[k]["wall_s"] / ra[k]["wall_s"] for k in sorted(ra) if k in rb]

    sc = summary["contenders"]
    have = lambda n: n in sc and sc[n].get("runs", 0) > 0  # noqa: E731
    print("\nratios (median/median; paired per-round range in brackets):")
    checks = []
    if have("inlet") and have("delta-rs"):
        checks.append(("inlet/delta-rs throughput", sc["inlet"]["median_rows_per_s"] / sc["delta-rs"]["median_rows_per_s"],
                       ">=", TARGET_VS_DELTA, paired("inlet", "delta-rs")))
    if have("inlet") and have("parquet"):
        checks.append(("inlet/parquet throughput", sc["inlet"]["median_rows_per_s"] / sc["parquet"]["median_rows_per_s"],
                       ">=", TARGET_VS_PARQUET, paired("inlet", "parquet")))
    if have("inlet") and have("delta-rs"):
        checks.append(("inlet/delta-rs peak RSS", sc["inlet"]["peak_rss_mib"] / sc["delta-rs"]["peak_rss_mib"],
                       "<=", TARGET_RSS_VS_DELTA, []))
    if have("delta-rs") and have("parquet"):
        checks.append(("delta-rs/parquet throughput (info)", sc["delta-rs"]["median_rows_per_s"] / sc["parquet"]["median_rows_per_s"],
                       None, None, paired("delta-rs", "parquet")))
    if not checks:
        print("  n/a (inlet not measured)" if "inlet" not in contenders else "  n/a (need inlet plus at least one other successful contender)")
    for label, val, op, target, pr in checks:
        rng = f" [{min(pr):.2f}-{max(pr):.2f}]" if len(pr) > 1 else ""
        if op is None:
            print(f"  {label:36s} {val:6.2f}x{rng}")
            summary["ratios"][label] = {"value": val, "paired": pr}
            continue
        met = val >= target if op == ">=" else val <= target
        print(f"  {label:36s} {val:6.2f}x{rng:14s} target {op} {target:.2f}x  "
              f"{'met' if met else 'NOT MET'}")
        summary["ratios"][label] = {"value": val, "target": f"{op} {target}", "met": met, "paired": pr}

    # ---- correctness ----
    mismatches = []
    if not args.no_verify:
        print("\ncorrectness (rows, sum l_orderkey, sum l_quantity, 16-column row-hash sum/xor vs input):")
        want = meta["digest"]
        for name in contenders:
            out_dir = last_out.get(name)
            if out_dir is None:
                print(f"  {name:10s} skipped (no successful output)")
                continue
            try:
                t, extra = read_output(name, out_dir)
                got = digest(t)
                schema = schema_summary(t.select([c for c in COLUMNS if c in t.column_names]).schema)
                del t
            except Exception as e:  # noqa: BLE001
                got, extra, schema = {"error": f"{e.__class__.__name__}: {e}"}, {}, {}
            ok = all(got.get(k) == want[k] for k in want)
            diff_types = {k: (meta["schema"][k], v) for k, v in schema.items() if meta["schema"].get(k) != v}
            summary["verify"][name] = {"ok": ok, "digest": got, **extra, "type_differences": diff_types}
            if ok:
                print(f"  {name:10s} OK    rows {got['rows']:,}  {extra}")
            else:
                mismatches.append(name)
                print(f"  {name:10s} !!!!! MISMATCH !!!!!  got {got}  want {want}")
            if diff_types:
                print(f"    note: column types differ from input: {diff_types}")

    summary["mismatches"] = mismatches
    summary["failed"] = failed
    (out_root / "summary.json").write_text(json.dumps(summary, indent=2))
    print(f"\nwrote {results_path} (appended) and {out_root / 'summary.json'}")
    if mismatches:
        print(f"\n*** MISMATCH: output of {', '.join(mismatches)} does not match the input ***")
    return 1 if (mismatches or failed) else 0


if __name__ == "__main__":
    sys.exit(main())
