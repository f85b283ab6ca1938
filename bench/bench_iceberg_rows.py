#!/usr/bin/env python3
"""Row-level changes on Iceberg (issue 22's benchmark): inlet against pyiceberg 0.12 and
Spark 4.0.1 with Iceberg 1.10.0 (MERGE INTO, local[2]), same data, same run.

The target is bench_merge.py's 24-column TPC-DS web_returns table (2M rows by default,
~20 data files), written as a file-system Iceberg table by inlet before every measured run
(not timed), so that every contender starts from the same files. Cases (sources from
bench_merge.py's cached data):

- upsert_1pct_10new: 1% of keys matched (values changed) + 10% new keys
- upsert_50pct: 50% of keys matched + 0.1% new keys
- delete_5pct: 5% of keys deleted
- cdc_200k: 200K out-of-order change events; the latest by _seq of each key applies

Contenders, each a fresh process (wall time by the parent; peak RSS of the process by
`/usr/bin/time -f %M`):
- inlet: `inlet merge TABLE --keys wr_order_number ...` (copy-on-write, the default).
- pyiceberg: the table registered in a SQLite SqlCatalog; `upsert` (join_cols=[key]),
  `delete(In(key, ...))`, and for cdc the latest event per key (pyarrow) then a delete and
  an upsert. Runs longer than --pyiceberg-timeout are stopped and reported as at least that.
- spark: a Hadoop catalog on the table's warehouse; `MERGE INTO` (copy-on-write, Iceberg's
  default), the cdc source de-duplicated by row_number() first. Reported twice: the whole
  process (JVM and session start included) and the MERGE statement alone. Its peak RSS is
  the Python driver's plus the JVM's own (VmHWM: the JVM is not a process /usr/bin/time
  waits for).

Every result is read back with pyiceberg and checked against bench_merge.py's expected
digest. Targets: inlet at least 10x pyiceberg and 3x Spark, peak RSS at most half of either.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
sys.path.insert(0, str(BENCH))
import bench_merge as bm  # noqa: E402
from bench_write import run_child  # noqa: E402

CASES = ["upsert_1pct_10new", "upsert_50pct", "delete_5pct", "cdc_200k", "compact_100"]
# compact_100: the target written by 100 appends (100 small files), compacted: inlet optimize
# against Spark's rewrite_data_files (pyiceberg has no compaction).
COMPACT_APPENDS = 100
CONTENDERS = ["inlet", "pyiceberg", "spark"]
TARGET_VS_PYICEBERG = 10.0
TARGET_VS_SPARK = 3.0
TARGET_RSS = 0.5

CHILD_PYICEBERG = r"""
import json, sys, time
import pyarrow as pa, pyarrow.compute as pc, pyarrow.parquet as pq
from pyiceberg.catalog.sql import SqlCatalog
from pyiceberg.expressions import In
metadata, work, source, kind, key = sys.argv[1:6]
cat = SqlCatalog("bench", uri=f"sqlite:///{work}/catalog.db", warehouse=f"file://{work}")
cat.create_namespace("ns")
t = cat.register_table("ns.t", metadata)
src = pq.read_table(source)
t0 = time.perf_counter()
cols = [f.name for f in t.schema().fields]
if kind == "upsert":
    r = t.upsert(src.select(cols), join_cols=[key])
    out = {"updated": r.rows_updated, "inserted": r.rows_inserted}
elif kind == "delete":
    t.delete(In(key, src[key].to_pylist()))
    out = {}
else:  # cdc: the latest event per key applies
    last = src.sort_by([(key, "ascending"), ("_seq", "descending")])
    k = last[key].to_numpy()
    import numpy as np
    keep = np.ones(len(k), dtype=bool)
    keep[1:] = k[1:] != k[:-1]
    last = last.filter(pa.array(keep))
    gone = last.filter(last["_delete"])
    if gone.num_rows:
        t.delete(In(key, gone[key].to_pylist()))
        t = cat.load_table("ns.t")
    up = last.filter(pc.invert(last["_delete"])).select(cols)
    r = t.upsert(up, join_cols=[key])
    out = {"updated": r.rows_updated, "inserted": r.rows_inserted}
out["merge_s"] = time.perf_counter() - t0
out["metadata"] = cat.load_table("ns.t").metadata_location
print(json.dumps(out))
"""

CHILD_SPARK = r"""
import json, sys, time
sys.path.insert(0, sys.argv[6])
from spark_oracle import delta_jars
from pyspark.sql import SparkSession
warehouse, source, kind, key, work = sys.argv[1:6]
jars = ",".join(str(j) for j in delta_jars() if "iceberg" in j.name)
spark = (SparkSession.builder.master("local[2]").appName("bench")
         .config("spark.jars", jars)
         .config("spark.sql.extensions", "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions")
         .config("spark.sql.catalog.bench", "org.apache.iceberg.spark.SparkCatalog")
         .config("spark.sql.catalog.bench.type", "hadoop")
         .config("spark.sql.catalog.bench.warehouse", warehouse)
         .config("spark.driver.memory", "6g")
         .config("spark.sql.shuffle.partitions", "2")
         .config("spark.ui.enabled", "false")
         .config("spark.ui.showConsoleProgress", "false")
         .config("spark.driver.bindAddress", "127.0.0.1")
         .config("spark.driver.host", "127.0.0.1")
         .config("spark.driver.extraJavaOptions", f"-Djava.io.tmpdir={work}")
         .getOrCreate())
spark.sparkContext.setLogLevel("ERROR")
cols = [f.name for f in spark.table("bench.ns.t").schema.fields]
if source:
    spark.read.parquet(source).createOrReplaceTempView("src")
t0 = time.perf_counter()
sets = ", ".join(f"t.{c} = s.{c}" for c in cols)
ins = f"({', '.join(cols)}) VALUES ({', '.join('s.' + c for c in cols)})"
if kind == "compact":
    spark.sql("CALL bench.system.rewrite_data_files(table => 'ns.t', options => map('min-input-files', '2'))")
elif kind == "upsert":
    spark.sql(f"MERGE INTO bench.ns.t t USING src s ON t.{key} = s.{key} "
              f"WHEN MATCHED THEN UPDATE SET {sets} WHEN NOT MATCHED THEN INSERT {ins}")
elif kind == "delete":
    spark.sql(f"MERGE INTO bench.ns.t t USING src s ON t.{key} = s.{key} WHEN MATCHED THEN DELETE")
else:
    spark.sql(f"SELECT * FROM (SELECT *, row_number() OVER (PARTITION BY {key} ORDER BY _seq DESC) AS _rn "
              f"FROM src) WHERE _rn = 1").createOrReplaceTempView("last")
    spark.sql(f"MERGE INTO bench.ns.t t USING last s ON t.{key} = s.{key} "
              f"WHEN MATCHED AND s._delete THEN DELETE WHEN MATCHED THEN UPDATE SET {sets} "
              f"WHEN NOT MATCHED AND NOT s._delete THEN INSERT {ins}")
merge_s = time.perf_counter() - t0
# The JVM is pyspark's child, never waited for by this process: its own high-water mark.
jvm = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
hwm = 0
for line in open(f"/proc/{jvm}/status"):
    if line.startswith("VmHWM:"):
        hwm = int(line.split()[1]) / 1024
print(json.dumps({"merge_s": merge_s, "jvm_peak_rss_mib": hwm}))
spark.stop()
"""

CHILD_DIGEST = r"""
import json, sys
sys.path.insert(0, sys.argv[2])
import bench_merge as bm
from pyiceberg.table import StaticTable
t = StaticTable.from_metadata(sys.argv[1]).scan().to_arrow()
print(json.dumps(bm.digest(t)))
"""


def latest_metadata(table: Path) -> Path:
    files = {}
    for p in (table / "metadata").glob("*.metadata.json"):
        name = p.name
        number = name[1:].split(".")[0] if name.startswith("v") else name.split("-")[0]
        if number.isdigit():
            files[int(number)] = p
    return files[max(files)]


def build_baseline(inlet: Path, target: Path, table: Path, file_size: int, work: Path) -> None:
    shutil.rmtree(table.parent.parent, ignore_errors=True)
    table.parent.mkdir(parents=True)
    r = subprocess.run([str(inlet), "write", str(table), "--format", "iceberg", "--input", str(target),
                        "--input-format", "parquet", "--target-file-size", str(file_size)],
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"baseline write failed: {r.stderr}")


def build_appended(inlet: Path, target: Path, table: Path, work: Path) -> None:
    """The target written by COMPACT_APPENDS appends of equal slices (cached pieces)."""
    pieces = target.parent / f"pieces_{COMPACT_APPENDS}"
    if not pieces.exists():
        subprocess.run([sys.executable, "-c",
                        "import sys, pyarrow.parquet as pq\n"
                        "t = pq.read_table(sys.argv[1]); n = int(sys.argv[3]); step = -(-t.num_rows // n)\n"
                        "import pathlib; out = pathlib.Path(sys.argv[2]); out.mkdir()\n"
                        "[pq.write_table(t.slice(i * step, step), out / f'p{i:04d}.parquet') for i in range(n)]",
                        str(target), str(pieces), str(COMPACT_APPENDS)], check=True)
    shutil.rmtree(table.parent.parent, ignore_errors=True)
    table.parent.mkdir(parents=True)
    for piece in sorted(pieces.glob("*.parquet")):
        r = subprocess.run([str(inlet), "write", str(table), "--format", "iceberg", "--input", str(piece),
                            "--input-format", "parquet"], capture_output=True, text=True)
        if r.returncode != 0:
            raise RuntimeError(f"baseline append failed: {r.stderr}")


def command(name: str, inlet: Path, table: Path, case: str, source: str, work: Path) -> list[str]:
    kind = "compact" if case == "compact_100" else bm.CASES[case][1]
    if name == "inlet" and kind == "compact":
        return [str(inlet), "optimize", str(table), "--json"]
    if name == "inlet":
        cmd = [str(inlet), "merge", str(table), "--input", source, "--input-format", "parquet",
               "--keys", bm.KEY, "--json"]
        if kind == "delete":
            cmd += ["--delete-flag", "_delete"]
        elif kind == "cdc":
            cmd += ["--delete-flag", "_delete", "--sequence-by", "_seq", "--merge-schema"]
        return cmd
    if name == "pyiceberg":
        return [sys.executable, "-c", CHILD_PYICEBERG, str(latest_metadata(table)), str(work), source, kind,
                bm.KEY]
    return [sys.executable, "-c", CHILD_SPARK, str(table.parent.parent), source, kind, bm.KEY, str(work),
            str(REPO / "tests")]


def run_with_timeout(cmd: list[str], work: Path, timeout: float) -> dict:
    """run_child with a deadline: the process group is killed past it."""
    import threading
    done = threading.Event()
    holder: dict = {}

    def target():
        holder["r"] = run_child(cmd, work)
        done.set()

    th = threading.Thread(target=target, daemon=True)
    th.start()
    if not done.wait(timeout):
        # /usr/bin/time's child: kill every process of ours under the work dir's command.
        subprocess.run(["pkill", "-KILL", "-f", str(work)], check=False)
        done.wait(30)
        r = holder.get("r") or {"exit_code": -9}
        r["timed_out"] = True
        r["wall_s"] = timeout
        return r
    return holder["r"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--files", type=int, default=bm.TARGET_FILES)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rounds", type=int, default=1)
    ap.add_argument("--cases", default=",".join(CASES))
    ap.add_argument("--contenders", default=",".join(CONTENDERS))
    ap.add_argument("--pyiceberg-timeout", type=float, default=900)
    ap.add_argument("--out", default="bench/out")
    ap.add_argument("--inlet", default="build/inlet")
    args = ap.parse_args()
    cases = [c for c in args.cases.split(",") if c]
    contenders = [c for c in args.contenders.split(",") if c]
    out_root = Path(args.out) if Path(args.out).is_absolute() else REPO / args.out
    inlet = Path(args.inlet) if Path(args.inlet).is_absolute() else REPO / args.inlet

    data_dir = out_root / f"merge_data_v{bm.GEN_VERSION}_r{args.rows}_f{args.files}_s{args.seed}"
    if not (data_dir / "meta.json").exists():
        shutil.rmtree(data_dir, ignore_errors=True)
        bm.call_helper("gen", str(args.rows), str(args.files), str(args.seed), str(data_dir))
    meta = json.loads((data_dir / "meta.json").read_text())
    file_size = max(1, meta["target_zstd1_bytes"] // args.files)
    import pyiceberg
    print(f"Iceberg row-level changes: {meta['rows']:,} rows x {len(bm.COLUMNS)} columns, ~{args.files} files; "
          f"pyiceberg {pyiceberg.__version__}, Spark 4.0.1 + Iceberg 1.10.0 (local[2]); {args.rounds} round(s)")
    results: dict[tuple[str, str], list[dict]] = {}
    work_root = out_root / "iceberg_rows"
    failed = False
    for case in cases:
        compact = case == "compact_100"
        source = meta["cases"][case]["source"] if not compact else ""
        expected = meta["target_digest"] if compact else meta["cases"][case]["expected"]
        for rnd in range(args.rounds):
            order = contenders if rnd % 2 == 0 else list(reversed(contenders))
            for name in order:
                if compact and name == "pyiceberg":
                    continue  # no compaction in pyiceberg (apache/iceberg-python#1092)
                work = work_root / f"{case}-{name}"
                table = work / "wh" / "ns" / "t"
                if compact:
                    build_appended(inlet, Path(data_dir / "target.parquet"), table, work)
                else:
                    build_baseline(inlet, Path(data_dir / "target.parquet"), table, file_size, work)
                run_dir = work / "run"
                shutil.rmtree(run_dir, ignore_errors=True)
                run_dir.mkdir(parents=True)
                cmd = command(name, inlet, table, case, source, run_dir)
                r = (run_with_timeout(cmd, run_dir, args.pyiceberg_timeout) if name == "pyiceberg"
                     else run_child(cmd, run_dir))
                child = r.get("child_phases") or {}
                if r.get("timed_out"):
                    print(f"  {case:18s} {name:9s} > {args.pyiceberg_timeout:.0f} s (stopped)")
                    results.setdefault((case, name), []).append({"wall": args.pyiceberg_timeout, "rss": None,
                                                                "timed_out": True})
                    continue
                if r["exit_code"] != 0:
                    print(f"  {case:18s} {name:9s} FAILED (exit {r['exit_code']}): {r['stderr_tail'][-800:]}")
                    failed = True
                    continue
                metadata = child.get("metadata") or str(latest_metadata(table))
                metadata = metadata.replace("file://", "")
                d = subprocess.run([sys.executable, "-c", CHILD_DIGEST, metadata, str(BENCH)],
                                   capture_output=True, text=True)
                ok = d.returncode == 0 and json.loads(d.stdout.strip().splitlines()[-1]) == expected
                failed |= not ok
                # Spark: the Python driver's peak plus the JVM's own.
                rss = r["peak_rss_mib"] + (child.get("jvm_peak_rss_mib") or 0)
                merge_s = child.get("merge_s")
                print(f"  {case:18s} {name:9s} {r['wall_s']:7.2f} s  {rss:6.0f} MiB"
                      + (f"  (statement {merge_s:.2f} s)" if name == "spark" and merge_s else "")
                      + ("" if ok else "  RESULT MISMATCH"))
                results.setdefault((case, name), []).append({"wall": r["wall_s"], "rss": rss,
                                                            "merge_s": merge_s})
    print()
    print("| case | inlet | pyiceberg | Spark (process; MERGE alone) | vs pyiceberg | vs Spark process; MERGE alone | "
          "RSS vs pyiceberg; vs Spark |")
    print("|---|---|---|---|---|---|---|")
    summary = {}
    for case in cases:
        def med(name, what="wall"):
            v = [x[what] for x in results.get((case, name), []) if x.get(what) is not None]
            return statistics.median(v) if v else None

        def peak(name):
            v = [x["rss"] for x in results.get((case, name), []) if x.get("rss")]
            return max(v) if v else None
        i, p, s, sm = med("inlet"), med("pyiceberg"), med("spark"), med("spark", "merge_s")
        timed_out = any(x.get("timed_out") for x in results.get((case, "pyiceberg"), []))
        fmt = lambda v, unit="s": "—" if v is None else f"{v:.2f} {unit}"
        ratio = lambda a, b: "—" if a is None or b is None else f"{a / b:.1f}x"
        pr = (">" if timed_out else "") + ratio(p, i)
        rss = lambda name: "—" if peak(name) is None or peak("inlet") is None else f"{peak('inlet') / peak(name):.2f}x"
        print(f"| {case} | {fmt(i)}, {peak('inlet') or 0:.0f} MiB | {'>' if timed_out else ''}{fmt(p)}, "
              f"{peak('pyiceberg') or 0:.0f} MiB | {fmt(s)}; {fmt(sm)}, {peak('spark') or 0:.0f} MiB | {pr} | "
              f"{ratio(s, i)}; {ratio(sm, i)} | {rss('pyiceberg')}; {rss('spark')} |")
        summary[case] = {"inlet_s": i, "pyiceberg_s": p, "pyiceberg_timed_out": timed_out, "spark_s": s,
                         "spark_merge_s": sm, "inlet_rss": peak("inlet"), "pyiceberg_rss": peak("pyiceberg"),
                         "spark_rss": peak("spark")}
    (out_root / "iceberg_rows.json").write_text(json.dumps(summary, indent=2))
    print(f"\ntargets: >= {TARGET_VS_PYICEBERG:.0f}x pyiceberg, >= {TARGET_VS_SPARK:.0f}x Spark, "
          f"peak RSS <= {TARGET_RSS}x of either")
    return 1 if failed else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_helper":
        sys.exit(bm.helper(sys.argv[2:]))
    sys.exit(main())
