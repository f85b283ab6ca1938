#!/usr/bin/env python3
"""Merge-by-key benchmark: inlet merge vs delta-rs MERGE (copy-on-write).

Run from the repository root:

    .venv/bin/python bench/bench_merge.py [--rows 2000000] [--rounds 2] [--cases ...]

The target is a seeded TPC-DS web_returns-like table (24 columns) keyed by a
unique int64 wr_order_number, sorted by key and written as ~20 data files by
each contender's own writer (once per invocation). Every timed run starts from
a copy of that prepared table and merges one deterministic Parquet source file
in a fresh child process; contenders are interleaved with a rotating order.
After each case both resulting tables are read back through delta-rs and
compared with each other and with the result computed in Python.
See bench/README.md ("bench_merge.py") for how to read the output.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_write import REPO, dir_stats, median, run_child, tool_versions  # noqa: E402

GEN_VERSION = 2  # bump when the generator or the case sources change; part of the cache key

CONTENDERS = ("inlet", "delta-rs")
LETTER = {"inlet": "A", "delta-rs": "B"}
KEY = "wr_order_number"
TARGET_FILES = 20

TARGET_SPEEDUP = 3.0     # delta-rs wall / inlet wall >= 3x
TARGET_RSS_RATIO = 0.5   # inlet peak RSS / delta-rs peak RSS <= 0.5x

# name -> (target size, source kind, merge mode, description)
CASES = {
    "upsert_1pct_10new": ("big", "upsert", "1% of keys matched (values changed) + 10% new keys"),
    "upsert_50pct": ("big", "upsert", "50% of keys matched (values changed) + 0.1% new keys"),
    "delete_5pct": ("big", "delete", "5% of keys deleted (inlet: _delete flag column; delta-rs: WHEN MATCHED DELETE)"),
    "insert_only_10pct": ("big", "insert_only", "10% new keys, insert-only (no file should be rewritten)"),
    "cdc_200k": ("big", "cdc", "200K change events (70% updates, 20% inserts, 10% deletes, several per key, "
                 "out of order): the latest event of each key by _seq applies (inlet: --sequence-by; "
                 "delta-rs: de-duplicated in pyarrow, then MERGE)"),
    "one_row_upsert": ("big", "upsert", "1 existing key updated"),
    "one_row_upsert_small": ("small", "upsert", "the same 1-row source against a 10x smaller target"),
}

# The 24 columns of TPC-DS web_returns: 13 surrogate keys, the order number, a quantity
# and 9 decimal(7,2) amounts.
SK_COLUMNS = ["wr_returned_date_sk", "wr_returned_time_sk", "wr_item_sk", "wr_refunded_customer_sk",
              "wr_refunded_cdemo_sk", "wr_refunded_hdemo_sk", "wr_refunded_addr_sk",
              "wr_returning_customer_sk", "wr_returning_cdemo_sk", "wr_returning_hdemo_sk",
              "wr_returning_addr_sk", "wr_web_page_sk", "wr_reason_sk"]
MONEY_COLUMNS = ["wr_return_amt", "wr_return_tax", "wr_return_amt_inc_tax", "wr_fee",
                 "wr_return_ship_cost", "wr_refunded_cash", "wr_reversed_charge",
                 "wr_account_credit", "wr_net_loss"]
COLUMNS = SK_COLUMNS + [KEY, "wr_return_quantity"] + MONEY_COLUMNS
# (low, high) inclusive ranges, roughly TPC-DS SF100 cardinalities.
SK_RANGES = {"wr_returned_date_sk": (2450820, 2453005), "wr_returned_time_sk": (0, 86399),
             "wr_item_sk": (1, 204000), "wr_refunded_customer_sk": (1, 2000000),
             "wr_refunded_cdemo_sk": (1, 1920800), "wr_refunded_hdemo_sk": (1, 7200),
             "wr_refunded_addr_sk": (1, 1000000), "wr_returning_customer_sk": (1, 2000000),
             "wr_returning_cdemo_sk": (1, 1920800), "wr_returning_hdemo_sk": (1, 7200),
             "wr_returning_addr_sk": (1, 1000000), "wr_web_page_sk": (1, 2040),
             "wr_reason_sk": (1, 55)}
NULL_FRACTION = 0.04  # TPC-DS leaves ~4% of most foreign keys null; never the item or order key

# --------------------------------------------------------------------------
# Child program for delta-rs. Prints one JSON line: phase times + merge metrics.
# argv: table source.parquet mode(upsert|delete|insert_only) streamed_exec(1|0)
# --------------------------------------------------------------------------
CHILD_DELTA_RS = r"""
import json, sys, time
t0 = time.perf_counter()
import pyarrow.parquet as pq
from deltalake import DeltaTable, WriterProperties
t1 = time.perf_counter()
source = pq.read_table(sys.argv[2])
t2 = time.perf_counter()
mode, streamed = sys.argv[3], sys.argv[4] == "1"
dt = DeltaTable(sys.argv[1])
if mode == "cdc":
    # The latest event of each key (greatest _seq) wins.
    import numpy as np
    import pyarrow as pa
    source = source.sort_by([("wr_order_number", "ascending"), ("_seq", "descending")])
    keys = source["wr_order_number"].to_numpy()
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    source = source.filter(pa.array(first))
    cols = {c: "s." + c for c in dt.schema().to_arrow().names if c != "_seq"}
m = dt.merge(
    source=source, predicate="t.wr_order_number = s.wr_order_number",
    source_alias="s", target_alias="t", streamed_exec=streamed,
    writer_properties=WriterProperties(compression="ZSTD", compression_level=1))
if mode == "upsert":
    m = m.when_matched_update_all().when_not_matched_insert_all()
elif mode == "delete":
    m = m.when_matched_delete()
elif mode == "insert_only":
    m = m.when_not_matched_insert_all()
elif mode == "cdc":
    m = (m.when_matched_delete(predicate="s._delete")
          .when_matched_update(updates=cols, predicate="NOT s._delete")
          .when_not_matched_insert(updates=cols, predicate="NOT s._delete"))
else:
    raise SystemExit("bad mode " + mode)
metrics = m.execute()
t3 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "read_s": t2 - t1, "merge_s": t3 - t2, "metrics": metrics}))
"""

# argv: table source.parquet target_file_size zstd-level-1 ; writes the baseline table
CHILD_DELTA_RS_WRITE = r"""
import sys
import pyarrow.parquet as pq
from deltalake import WriterProperties, write_deltalake
write_deltalake(sys.argv[1], pq.read_table(sys.argv[2]), mode="error",
                target_file_size=int(sys.argv[3]),
                writer_properties=WriterProperties(compression="ZSTD", compression_level=1))
"""


# --------------------------------------------------------------------------
# Data generation (seeded numpy; cached under bench/out/merge_data_*)
# --------------------------------------------------------------------------
def _decimal72(pa, np, unscaled):
    """decimal128(7,2) array from non-negative int64 unscaled values < 10^7."""
    n = len(unscaled)
    words = np.zeros(2 * n, dtype=np.int64)
    words[0::2] = unscaled
    return pa.Array.from_buffers(pa.decimal128(7, 2), n, [None, pa.py_buffer(words)])


def _unscaled(np, arr):
    """int64 unscaled values of a null-free decimal128 array with values >= 0."""
    words = np.frombuffer(arr.buffers()[1], dtype=np.int64, count=2 * (arr.offset + len(arr)))
    return words[2 * arr.offset::2].copy()


def generate_returns(np, pa, keys, seed):
    """web_returns-like rows with the given (int64) order numbers."""
    rng = np.random.default_rng(seed)
    n = len(keys)
    cols = {}
    for name in SK_COLUMNS:
        lo, hi = SK_RANGES[name]
        vals = rng.integers(lo, hi + 1, size=n, dtype=np.int64)
        mask = None if name == "wr_item_sk" else rng.random(n) < NULL_FRACTION
        cols[name] = pa.array(vals, type=pa.int64(), mask=mask)
    cols[KEY] = pa.array(np.asarray(keys, dtype=np.int64))
    qty = rng.integers(1, 101, size=n, dtype=np.int64)
    cols["wr_return_quantity"] = pa.array(qty.astype(np.int32))
    price = rng.integers(100, 20_001, size=n, dtype=np.int64)          # cents per unit
    amt = np.minimum(qty * price, 1_999_999)
    tax = amt * rng.integers(0, 10, size=n) // 100
    inc = amt + tax
    fee = rng.integers(50, 10_001, size=n, dtype=np.int64)
    ship = amt * rng.integers(0, 51, size=n) // 100
    cash = inc * rng.integers(0, 101, size=n) // 100
    reversed_ = (inc - cash) * rng.integers(0, 101, size=n) // 100
    credit = inc - cash - reversed_
    loss = ship + fee + tax // 2
    for name, v in zip(MONEY_COLUMNS, (amt, tax, inc, fee, ship, cash, reversed_, credit, loss)):
        cols[name] = _decimal72(pa, np, v)
    return pa.table({c: cols[c] for c in COLUMNS})


def changed_rows(np, pa, pc, rows, seed):
    """The same keys with a few columns changed (every row differs from the original)."""
    rng = np.random.default_rng(seed)
    n = rows.num_rows
    qty = rows["wr_return_quantity"].to_numpy()
    new_qty = (qty % 100 + 1).astype(np.int32)            # always different, still 1..100
    amt = _unscaled(np, rows["wr_return_amt"].combine_chunks())
    new_amt = (amt + 1 + rng.integers(0, 1000, size=n)) % 2_000_000
    loss = _unscaled(np, rows["wr_net_loss"].combine_chunks())
    new_loss = (loss + 7) % 9_999_999
    reason = rng.integers(1, 56, size=n, dtype=np.int64)
    out = rows
    for name, arr in (("wr_return_quantity", pa.array(new_qty)),
                      ("wr_return_amt", _decimal72(pa, np, new_amt)),
                      ("wr_net_loss", _decimal72(pa, np, new_loss)),
                      ("wr_reason_sk", pa.array(reason))):
        out = out.set_column(out.schema.get_field_index(name), name, arr)
    return out


def build_data(rows: int, files: int, seed: int, data_dir: Path) -> dict:
    """Generate target, small target, per-file slices and one source file per case,
    with the expected result digest of every case."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    t0 = time.perf_counter()
    data_dir.mkdir(parents=True, exist_ok=True)
    n = rows
    per_file = -(-n // files)
    small_n = min(n, per_file * max(1, round(files / 10)))  # 1/10 of the rows, whole files
    target = generate_returns(np, pa, np.arange(n, dtype=np.int64) * 2, seed)  # even keys, ascending
    small = target.slice(0, small_n)
    rng = np.random.default_rng(seed + 1)

    def write(t, name):
        path = data_dir / f"{name}.parquet"
        pq.write_table(t, path, compression="snappy")
        return path

    # The target cut into one slice per data file (for writers that cannot roll files
    # below a row group: one append per slice gives one file per slice).
    (data_dir / "slices").mkdir(exist_ok=True)
    for i, off in enumerate(range(0, n, per_file)):
        pq.write_table(target.slice(off, per_file), data_dir / "slices" / f"part-{i:05d}.parquet",
                       compression="snappy")

    def new_rows(count, s):
        # odd keys spread over the whole key range: each file's min/max covers some of them
        r = np.random.default_rng(s)
        keys = np.sort(r.choice(n, size=count, replace=False)).astype(np.int64) * 2 + 1
        return generate_returns(np, pa, keys, s)

    def matched_idx(count):
        return np.sort(rng.choice(n, size=count, replace=False))

    def shuffled(t, s):
        return t.take(pa.array(np.random.default_rng(s).permutation(t.num_rows)))

    def drop_keys(t, keys):
        return t.filter(pc.invert(pc.is_in(t[KEY], value_set=keys)))

    meta = {"rows": n, "small_rows": small_n, "files": files, "rows_per_slice": per_file, "seed": seed,
            "gen_version": GEN_VERSION, "cases": {}}
    write(target, "target")
    write(small, "target_small")
    zpath = data_dir / "target.zstd1.parquet"   # only to size the files: ~20 per table
    pq.write_table(target, zpath, compression="zstd", compression_level=1)
    meta["target_zstd1_bytes"] = zpath.stat().st_size
    zpath.unlink()
    meta["arrow_bytes"] = target.nbytes

    def add(case, source, expected, expect_counts, target_rows):
        path = write(source, case)
        meta["cases"][case] = {"source": str(path), "source_rows": source.num_rows,
                               "expected": digest(expected), "expected_counts": expect_counts,
                               "target_rows": target_rows}

    # upsert_1pct_10new
    m = changed_rows(np, pa, pc, target.take(pa.array(matched_idx(max(n // 100, 1)))), seed + 11)
    new = new_rows(max(n // 10, 1), seed + 12)
    src = shuffled(pa.concat_tables([m, new]), seed + 13)
    add("upsert_1pct_10new", src, pa.concat_tables([drop_keys(target, src[KEY]), src]),
        {"inserted": new.num_rows, "updated": m.num_rows, "deleted": 0}, n)
    # upsert_50pct
    m = changed_rows(np, pa, pc, target.take(pa.array(matched_idx(max(n // 2, 1)))), seed + 21)
    new = new_rows(max(n // 1000, 1), seed + 22)
    src = shuffled(pa.concat_tables([m, new]), seed + 23)
    add("upsert_50pct", src, pa.concat_tables([drop_keys(target, src[KEY]), src]),
        {"inserted": new.num_rows, "updated": m.num_rows, "deleted": 0}, n)
    # delete_5pct: full rows plus a boolean _delete column, all true
    d = target.take(pa.array(matched_idx(max(n // 20, 1))))
    src = shuffled(d.append_column("_delete", pa.array(np.ones(d.num_rows, dtype=bool))), seed + 33)
    add("delete_5pct", src, drop_keys(target, d[KEY]),
        {"inserted": 0, "updated": 0, "deleted": d.num_rows}, n)
    # insert_only_10pct
    new = new_rows(max(n // 10, 1), seed + 42)
    src = shuffled(new, seed + 43)
    add("insert_only_10pct", src, pa.concat_tables([target, src]),
        {"inserted": new.num_rows, "updated": 0, "deleted": 0}, n)
    # cdc_200k: events over existing keys (updates, deletes) and new keys (inserts), each
    # with a unique _seq, shuffled so that the file order is not the sequence order.
    ev = max(n // 10, 10)
    n_upd, n_ins = ev * 7 // 10, ev * 2 // 10
    n_del = ev - n_upd - n_ins
    upd_keys_idx = rng.choice(n, size=max(n_upd // 3, 1), replace=False)   # ~3 updates per key
    upd_idx = rng.choice(upd_keys_idx, size=n_upd, replace=True)
    upd = changed_rows(np, pa, pc, target.take(pa.array(upd_idx)), seed + 61)
    dele = target.take(pa.array(rng.choice(n, size=n_del, replace=False)))
    ins = new_rows(n_ins, seed + 62)
    events = pa.concat_tables([upd, dele, ins])
    flags = np.zeros(events.num_rows, dtype=bool)
    flags[n_upd:n_upd + n_del] = True
    seqs = np.random.default_rng(seed + 63).permutation(events.num_rows).astype(np.int64) + 1
    events = events.append_column("_seq", pa.array(seqs)).append_column("_delete", pa.array(flags))
    events = events.take(pa.array(np.random.default_rng(seed + 64).permutation(events.num_rows)))
    last = events.sort_by([(KEY, "ascending"), ("_seq", "descending")])
    lk = last[KEY].to_numpy()
    keep = np.ones(len(lk), dtype=bool)
    keep[1:] = lk[1:] != lk[:-1]
    last = last.filter(pa.array(keep))
    final_del = last.filter(last["_delete"])
    final_up = last.filter(pc.invert(last["_delete"]))
    existing = set(target[KEY].to_numpy().tolist())
    fk = final_up[KEY].to_numpy()
    n_new = int(sum(1 for k in fk.tolist() if k not in existing))
    n_gone = int(sum(1 for k in final_del[KEY].to_numpy().tolist() if k in existing))
    expected = pa.concat_tables([drop_keys(target, last[KEY]), final_up.select(COLUMNS)])
    add("cdc_200k", events, expected,
        {"inserted": n_new, "updated": len(fk) - n_new, "deleted": n_gone}, n)
    # one_row_upsert: a key in the middle of the small target (so also inside the big one)
    mid = small_n // 2
    src = changed_rows(np, pa, pc, target.slice(mid, 1), seed + 51)
    add("one_row_upsert", src, pa.concat_tables([drop_keys(target, src[KEY]), src]),
        {"inserted": 0, "updated": 1, "deleted": 0}, n)
    meta["cases"]["one_row_upsert_small"] = {
        "source": meta["cases"]["one_row_upsert"]["source"], "source_rows": 1,
        "expected": digest(pa.concat_tables([drop_keys(small, src[KEY]), src])),
        "expected_counts": {"inserted": 0, "updated": 1, "deleted": 0}, "target_rows": small_n}
    meta["target_digest"] = digest(target)
    meta["small_digest"] = digest(small)
    meta["schema"] = {f.name: str(f.type) for f in target.schema}
    meta["generate_s"] = time.perf_counter() - t0
    return meta


# --------------------------------------------------------------------------
# Correctness digest
# --------------------------------------------------------------------------
def canonical_schema():
    import pyarrow as pa
    fields = []
    for c in COLUMNS:
        if c == "wr_return_quantity":
            t = pa.int32()
        elif c in MONEY_COLUMNS:
            t = pa.decimal128(7, 2)
        else:
            t = pa.int64()
        fields.append(pa.field(c, t))
    return pa.schema(fields)


def digest(table) -> dict:
    """Row count, key sum, a value-column sum and an order-independent 24-column row hash."""
    import duckdb
    t = table.select(COLUMNS)
    if t.schema != canonical_schema():
        t = t.cast(canonical_schema())
    con = duckdb.connect()
    con.register("t", t)
    cols = ", ".join(COLUMNS)
    r = con.execute(
        f"SELECT count(*), coalesce(sum({KEY})::HUGEINT, 0)::VARCHAR, "
        f"coalesce(sum(wr_net_loss), 0)::VARCHAR, "
        f"coalesce(sum(hash({KEY}, wr_net_loss)::HUGEINT), 0)::VARCHAR, "
        f"coalesce(sum(hash({cols})::HUGEINT), 0)::VARCHAR, "
        f"coalesce(bit_xor(hash({cols})), 0)::VARCHAR, "
        f"count(DISTINCT {KEY}) FROM t").fetchone()
    con.close()
    return {"rows": r[0], "sum_key": r[1], "sum_net_loss": r[2], "key_value_hash": r[3],
            "row_hash_sum": r[4], "row_hash_xor": r[5], "distinct_keys": r[6]}


def table_info(path: Path) -> dict:
    """Digest, version, file count and key-range layout of a Delta table (read by delta-rs)."""
    import pyarrow as pa
    from deltalake import DeltaTable, QueryBuilder
    dt = DeltaTable(str(path))
    # delta-rs' query engine applies deletion vectors (to_pyarrow_table refuses such tables).
    t = pa.table(QueryBuilder().register("t", dt).execute("SELECT * FROM t").read_all())
    canon = canonical_schema()
    info = {"delta_version": dt.version(), "delta_files": len(dt.file_uris()),
            "type_differences": {f.name: str(f.type) for f in t.schema
                                 if f.name in COLUMNS and canon.field(f.name).type != f.type},
            "extra_columns": [c for c in t.column_names if c not in COLUMNS],
            "digest": digest(t)}
    del t
    adds = dt.get_add_actions(flatten=True)
    a = adds if isinstance(adds, pa.Table) else pa.table(adds)  # arro3 -> pyarrow (C stream interface)
    lo = a.column(f"min.{KEY}").to_pylist() if f"min.{KEY}" in a.column_names else []
    hi = a.column(f"max.{KEY}").to_pylist() if f"max.{KEY}" in a.column_names else []
    ranges = sorted(zip(lo, hi))
    info["disjoint_key_ranges"] = (all(ranges[i][1] < ranges[i + 1][0] for i in range(len(ranges) - 1))
                                   if ranges and None not in lo + hi else None)
    recs = a.column("num_records").to_pylist() if "num_records" in a.column_names else []
    info["rows_per_file"] = [min(recs), max(recs)] if recs else None
    return info


# --------------------------------------------------------------------------
# Helper processes. The parent never imports pyarrow, deltalake or duckdb:
# it stays at ~15 MiB and leaves the machine's memory to the contenders. Peak
# RSS is each contender's own, from /usr/bin/time -f %M (bench_write.run_child),
# not the peak the parent's wait4 reports, which on Linux is at least the
# parent's own high-water mark for every child.
# --------------------------------------------------------------------------
def helper(argv: list[str]) -> int:
    kind = argv[0]
    if kind == "gen":
        rows, files, seed, data_dir = int(argv[1]), int(argv[2]), int(argv[3]), Path(argv[4])
        meta = build_data(rows, files, seed, data_dir)
        (data_dir / "meta.json").write_text(json.dumps(meta, indent=2))
        print("{}")
    elif kind == "info":
        print(json.dumps(table_info(Path(argv[1]))))
    elif kind == "versions":
        import duckdb
        v = tool_versions(Path(argv[1]) if argv[1] else None)
        v["duckdb"] = duckdb.__version__
        print(json.dumps(v))
    else:
        raise SystemExit(f"unknown helper {kind}")
    return 0


def call_helper(*args: str) -> dict:
    r = subprocess.run([sys.executable, str(Path(__file__).resolve()), "_helper", *args],
                       capture_output=True, text=True, cwd=str(REPO))
    if r.returncode != 0:
        raise RuntimeError(f"helper {args[0]} failed (exit {r.returncode}):\n{r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------------
# Baselines: each contender writes the target with its own writer, ~20 files
# --------------------------------------------------------------------------
def run_measured(cmd: list[str], work: Path) -> dict:
    """run_child, but wait (up to 10 min) while the inlet binary is being rebuilt."""
    for attempt in range(41):
        try:
            return run_child(cmd, work)
        except OSError as e:  # ETXTBSY / EACCES / ENOENT while the linker writes the binary
            if cmd[0] == sys.executable or attempt == 40:
                raise
            if attempt == 0:
                print(f"    ({cmd[0]} cannot be started: {e.strerror}; waiting for the build to finish)")
            time.sleep(15)
    raise AssertionError


def binary_stamp(path: Path):
    try:
        st = path.stat()
        return [st.st_mtime_ns, st.st_size]
    except OSError:
        return None


def _run_ok(cmd: list[str], work: Path, what: str) -> dict:
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    r = run_measured(cmd, work)
    if r["exit_code"] != 0:
        raise RuntimeError(f"{what} failed (exit {r['exit_code']}):\n{r['stderr_tail']}")
    return r


# Table properties inlet's baseline tables are created with (--inlet-property), e.g.
# delta.enableDeletionVectors=true for merge-on-read.
INLET_PROPERTIES: list[str] = []


def inlet_property_args() -> list[str]:
    return [a for p in INLET_PROPERTIES for a in ("--property", p)]


def write_with_file_size(name: str, inlet: Path, src: Path, out: Path, tfs: int, work: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    if name == "inlet":
        cmd = [str(inlet), "write", str(out), "--input", str(src), "--input-format", "parquet",
               "--mode", "append", "--target-file-size", str(tfs), *inlet_property_args()]
    else:
        cmd = [sys.executable, "-c", CHILD_DELTA_RS_WRITE, str(out), str(src), str(tfs)]
    return _run_ok(cmd, work, f"{name} baseline write")["wall_s"]


# argv: table slice.parquet... ; one append (one commit, one file) per slice
CHILD_DELTA_RS_SLICES = r"""
import sys
import pyarrow.parquet as pq
from deltalake import WriterProperties, write_deltalake
props = WriterProperties(compression="ZSTD", compression_level=1)
for path in sys.argv[2:]:
    write_deltalake(sys.argv[1], pq.read_table(path), mode="append", writer_properties=props)
"""


def write_slices(name: str, inlet: Path, slices: list[Path], out: Path, work: Path) -> float:
    shutil.rmtree(out, ignore_errors=True)
    if name == "delta-rs":
        return _run_ok([sys.executable, "-c", CHILD_DELTA_RS_SLICES, str(out), *map(str, slices)],
                       work, "delta-rs baseline appends")["wall_s"]
    wall = 0.0
    for i, s in enumerate(slices):
        extra = inlet_property_args() if i == 0 else []
        wall += _run_ok([str(inlet), "write", str(out), "--input", str(s), "--input-format", "parquet",
                         "--mode", "append", *extra], work, "inlet baseline append")["wall_s"]
    return wall


def prepare_baseline(name: str, inlet: Path, data_dir: Path, size: str, out: Path, tfs: int,
                     want: int, layout: str, work: Path) -> dict:
    """Write one baseline table.

    layout "slices": one append per slice of the sorted target, so every contender gets
    the same layout: `want` files of equal row count, disjoint key ranges, one commit each.
    layout "file-size": one write of the whole target with a target file size, adjusted
    (at most twice) to land near `want` files. inlet rolls a file only when a row group
    (1Mi rows) has been flushed, and delta-rs's parallel writer gives files with
    overlapping key ranges, which is why "slices" is the default."""
    if layout == "slices":
        slices = sorted((data_dir / "slices").glob("part-*.parquet"))[:want]
        wall = write_slices(name, inlet, slices, out, work)
        files = dir_stats(out)["data_files"]
        print(f"    {name:9s} {size:5s}: {len(slices)} appends of one slice each -> {files} files ({wall:.1f}s)")
        return {"layout": "slices", "target_file_size": None, "files": files, "write_wall_s": wall}
    src = data_dir / ("target.parquet" if size == "big" else "target_small.parquet")
    for attempt in range(3):
        wall = write_with_file_size(name, inlet, src, out, tfs, work)
        files = dir_stats(out)["data_files"]
        print(f"    {name:9s} {size:5s}: target file size {tfs:,} B -> {files} files ({wall:.1f}s)")
        if size == "small" or abs(files - want) <= max(2, want // 5) or attempt == 2:
            break
        tfs = max(64 << 10, int(tfs * files / want))
    return {"layout": "file-size", "target_file_size": tfs, "files": files, "write_wall_s": wall}


def copy_table(src: Path, dst: Path):
    if dst.exists():
        shutil.rmtree(dst)
    shutil.copytree(src, dst)
    os.sync()  # so write-back of the copy does not land inside the timed run


# --------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------
def merge_cmd(name: str, inlet: Path, table: Path, case: str, source: str,
              streamed: bool, inlet_args: list[str]) -> list[str]:
    kind = CASES[case][1]
    if name == "inlet":
        cmd = [str(inlet), "merge", str(table), "--input", source, "--input-format", "parquet",
               "--keys", KEY, "--json"]
        if kind == "delete":
            cmd += ["--delete-flag", "_delete"]
        elif kind == "cdc":
            cmd += ["--delete-flag", "_delete", "--sequence-by", "_seq", "--merge-schema"]
        elif kind == "insert_only":
            cmd += ["--mode", "insert_only"]
        return cmd + inlet_args
    return [sys.executable, "-c", CHILD_DELTA_RS, str(table), source, kind, "1" if streamed else "0"]


def reported_counts(name: str, out: dict | None) -> dict | None:
    if not out:
        return None
    if name == "inlet":
        return {"inserted": out.get("rows_inserted"), "updated": out.get("rows_updated"),
                "deleted": out.get("rows_deleted")}
    m = out.get("metrics") or {}
    return {"inserted": m.get("num_target_rows_inserted"), "updated": m.get("num_target_rows_updated"),
            "deleted": m.get("num_target_rows_deleted")}


def files_rewritten(name: str, out: dict | None):
    if not out:
        return None
    if name == "inlet":
        return out.get("files_rewritten")
    return (out.get("metrics") or {}).get("num_target_files_removed")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=0,
                    help="extra rounds per case run first and discarded (default 0)")
    ap.add_argument("--cases", default=",".join(CASES),
                    help="comma-separated subset of: " + ", ".join(CASES))
    ap.add_argument("--contenders", default=",".join(CONTENDERS))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--files", type=int, default=TARGET_FILES, help="data files in the big target (~)")
    ap.add_argument("--out", default="bench/out")
    ap.add_argument("--inlet", default="build/inlet")
    ap.add_argument("--inlet-args", default="", help="extra arguments for inlet merge (shell-split)")
    ap.add_argument("--inlet-property", action="append", default=[],
                    help="table property for inlet's baseline tables, e.g. delta.enableDeletionVectors=true "
                         "(merge-on-read); repeatable")
    ap.add_argument("--delta-streamed-exec", choices=("on", "off"), default="on",
                    help="delta-rs merge streamed_exec (library default: on; off lets delta-rs derive an "
                         "early file-pruning predicate from source statistics)")
    ap.add_argument("--layout", choices=("slices", "file-size"), default="slices",
                    help="how the baseline tables are written: one append per 1/FILES slice of the sorted "
                         "target (default; same layout for both), or one write with a target file size")
    ap.add_argument("--keep", action="store_true", help="keep the baseline and result tables")
    args = ap.parse_args()
    INLET_PROPERTIES.extend(args.inlet_property)

    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    for c in cases:
        if c not in CASES:
            ap.error(f"unknown case {c!r}; choose from {', '.join(CASES)}")
    contenders = [c.strip() for c in args.contenders.split(",") if c.strip()]
    for c in contenders:
        if c not in CONTENDERS:
            ap.error(f"unknown contender {c!r}; choose from {', '.join(CONTENDERS)}")
    if args.rounds < 1 or args.files < 1:
        ap.error("--rounds and --files must be >= 1")
    out_root = Path(args.out) if Path(args.out).is_absolute() else REPO / args.out
    inlet = Path(args.inlet) if Path(args.inlet).is_absolute() else REPO / args.inlet
    if "inlet" in contenders and not (inlet.is_file() and os.access(inlet, os.X_OK)):
        print(f"error: inlet binary not found at {inlet} (build it first or pass --inlet PATH)",
              file=sys.stderr)
        return 2
    streamed = args.delta_streamed_exec == "on"
    inlet_args = shlex.split(args.inlet_args)
    inlet_stamp = binary_stamp(inlet)
    t_start = time.perf_counter()

    # ---- data (cached) ----
    data_dir = out_root / f"merge_data_v{GEN_VERSION}_r{args.rows}_f{args.files}_s{args.seed}"
    meta_path = data_dir / "meta.json"
    if meta_path.exists():
        print(f"data: cached {data_dir}")
    else:
        shutil.rmtree(data_dir, ignore_errors=True)
        call_helper("gen", str(args.rows), str(args.files), str(args.seed), str(data_dir))
        print(f"data: generated {data_dir}")
    meta = json.loads(meta_path.read_text())
    print(f"  target {meta['rows']:,} rows x {len(COLUMNS)} columns ({meta['arrow_bytes'] / 1e6:.0f} MB Arrow), "
          f"small target {meta['small_rows']:,} rows; key {KEY} (unique, even numbers, sorted; "
          f"new keys are odd numbers spread over the whole range)")
    for c in cases:
        print(f"  {c:22s} source {meta['cases'][c]['source_rows']:>9,} rows  {CASES[c][2]}")

    versions = call_helper("versions", str(inlet) if "inlet" in contenders else "")
    host = {"hostname": socket.gethostname(), "nproc": os.cpu_count(), "platform": platform.platform()}
    print("versions: " + ", ".join(f"{k} {v}" for k, v in versions.items()))
    print(f"delta-rs: merge(streamed_exec={streamed}), zstd level 1; inlet: its default zstd")

    # ---- baselines ----
    work_root = out_root / "merge_runs"
    work_root.mkdir(parents=True, exist_ok=True)
    log_dir = work_root / "log"
    sizes = [s for s in ("big", "small") if any(CASES[c][0] == s for c in cases)]
    tfs0 = max(64 << 10, meta["target_zstd1_bytes"] // args.files)
    print(f"\nbaselines (each contender's own writer, zstd; big target ~{args.files} files, the small one "
          f"with the same file size; layout {args.layout}):")
    base: dict[tuple[str, str], Path] = {}
    base_info: dict[str, dict] = {}
    want_files = {"big": args.files, "small": max(1, round(args.files / 10))}
    for name in contenders:
        tfs = tfs0
        for size in sizes:
            out = work_root / f"base_{name}_{size}"
            info = prepare_baseline(name, inlet, data_dir, size, out, tfs, want_files[size], args.layout, log_dir)
            tfs = info["target_file_size"] or tfs  # the small target keeps the big one's file size
            ti = call_helper("info", str(out))
            want_d = meta["target_digest" if size == "big" else "small_digest"]
            info.update(ti, digest_ok=ti["digest"] == want_d)
            print(f"      -> version {ti['delta_version']}, {ti['delta_files']} files of "
                  f"{ti['rows_per_file'][0]:,}-{ti['rows_per_file'][1]:,} rows, key ranges "
                  f"{'disjoint' if ti['disjoint_key_ranges'] else 'OVERLAP'}")
            if not info["digest_ok"]:
                print(f"    !!!!! MISMATCH !!!!! {name} baseline {size} does not hold the input rows: "
                      f"{ti['digest']} vs {want_d}")
                return 1
            base[(name, size)] = out
            base_info[f"{name}_{size}"] = info
    shutil.rmtree(log_dir, ignore_errors=True)

    # ---- cases ----
    session = time.strftime("%Y%m%dT%H%M%S")
    results: dict = {"session": session, "rows": meta["rows"], "small_rows": meta["small_rows"],
                     "rounds": args.rounds, "warmup": args.warmup, "versions": versions, "host": host,
                     "delta_streamed_exec": streamed, "inlet_args": inlet_args, "inlet_properties": INLET_PROPERTIES,
                     "baselines": base_info, "cases": {}}
    mismatches: list[str] = []
    failed: list[str] = []
    total_rounds = args.warmup + args.rounds
    for case in cases:
        size, kind, desc = CASES[case]
        cm = meta["cases"][case]
        print(f"\n== {case}: {desc}; source {cm['source_rows']:,} rows, target {cm['target_rows']:,} rows "
              f"[t+{time.perf_counter() - t_start:.0f}s]")
        runs: dict[str, list[dict]] = {c: [] for c in contenders}
        last: dict[str, Path] = {}
        last_out: dict[str, dict | None] = {}
        for rnd in range(total_rounds):
            warm = rnd < args.warmup
            k = rnd % len(contenders)
            order = contenders[k:] + contenders[:k]
            for name in order:
                table = work_root / f"{case}_{name}"
                copy_table(base[(name, size)], table)
                log = log_dir / f"{case}_{name}"
                shutil.rmtree(log, ignore_errors=True)
                log.mkdir(parents=True)
                r = run_measured(merge_cmd(name, inlet, table, case, cm["source"], streamed, inlet_args), log)
                shutil.rmtree(log, ignore_errors=True)
                ok = r["exit_code"] == 0
                r["round"] = 0 if warm else rnd - args.warmup + 1
                r["warmup"] = warm
                r["order"] = order
                r["files_rewritten"] = files_rewritten(name, r.get("child_phases"))
                tag = "warm-up" if warm else f"round {r['round']}"
                status = "ok" if ok else f"FAILED (exit {r['exit_code']})"
                print(f"  {tag:8s} {LETTER[name]} {name:9s} wall {r['wall_s']:7.2f}s  cpu {r['cpu_s']:7.2f}s  "
                      f"rss {r['peak_rss_mib']:7.0f} MiB  files rewritten {r['files_rewritten']}  {status}")
                if not ok:
                    failed.append(f"{case}/{name}")
                    print("    stderr: " + r["stderr_tail"][-800:].replace("\n", "\n            "))
                    shutil.rmtree(table, ignore_errors=True)
                    last.pop(name, None)
                    continue
                last[name] = table
                last_out[name] = r.get("child_phases")
                if not warm:
                    runs[name].append(r)

        cres: dict = {"description": desc, "source_rows": cm["source_rows"], "target_rows": cm["target_rows"],
                      "expected": cm["expected"], "expected_counts": cm["expected_counts"],
                      "contenders": {}, "ratios": {}, "verify": {}}
        for name in contenders:
            rs = runs[name]
            if not rs:
                cres["contenders"][name] = {"runs": 0}
                continue
            cres["contenders"][name] = {
                "runs": len(rs),
                "median_wall_s": median([r["wall_s"] for r in rs]),
                "median_cpu_s": median([r["cpu_s"] for r in rs]),
                "median_peak_rss_mib": median([r["peak_rss_mib"] for r in rs]),
                "max_peak_rss_mib": max(r["peak_rss_mib"] for r in rs),
                "files_rewritten": rs[-1]["files_rewritten"],
                "child_output": rs[-1]["child_phases"],
                "runs_detail": [{k: r[k] for k in ("round", "order", "wall_s", "cpu_s", "user_s", "sys_s",
                                                  "peak_rss_mib", "loadavg_1m_before")} for r in rs],
            }

        # ---- correctness: each result vs the Python-computed expectation and vs each other ----
        want = cm["expected"]
        digests = {}
        for name in contenders:
            if name not in last:
                continue
            try:
                ti = call_helper("info", str(last[name]))
            except Exception as e:  # noqa: BLE001
                ti = {"digest": {"error": str(e)[-500:]}}
            d = ti["digest"]
            digests[name] = d
            base_v = base_info[f"{name}_{size}"]["delta_version"]
            one_commit = ti.get("delta_version") == base_v + 1
            counts = reported_counts(name, last_out.get(name))
            counts_ok = counts == cm["expected_counts"]
            # A cdc merge keeps the sequence column in the table (that is how later events
            # are checked against the row); any other extra column is a mistake.
            allowed = {"_seq"} if CASES[case][1] == "cdc" and name == "inlet" else set()
            ti["extra_columns"] = [c for c in ti.get("extra_columns") or [] if c not in allowed]
            ok = d == want and not ti.get("extra_columns")
            cres["verify"][name] = {"ok": ok, **ti, "one_commit": one_commit,
                                    "reported_counts": counts, "counts_ok": counts_ok}
            if ok:
                print(f"  verify {name:9s} OK  rows {d['rows']:,}  version {ti['delta_version']}  "
                      f"files {ti['delta_files']}")
            else:
                mismatches.append(f"{case}/{name}")
                diff = {k: (d.get(k), want.get(k)) for k in want if d.get(k) != want.get(k)}
                print(f"  verify {name:9s} !!!!! MISMATCH !!!!!  (got, expected): {diff}"
                      + (f"  columns not in the table schema were written: {ti['extra_columns']}"
                         if ti.get("extra_columns") else ""))
            if not one_commit:
                print(f"    note: {name} table is at version {ti.get('delta_version')}, expected {base_v + 1}")
            if not counts_ok:
                # inlet's own counts are part of what is tested; delta-rs's only reported.
                if name == "inlet":
                    mismatches.append(f"{case}/inlet:reported-counts")
                print(f"    {'!!!!! MISMATCH !!!!! ' if name == 'inlet' else 'note: '}{name} reported "
                      f"{counts}, expected {cm['expected_counts']}")
            if ti.get("type_differences"):
                print(f"    note: {name} column types differ: {ti['type_differences']}")
        if len(digests) == 2 and digests["inlet"] != digests["delta-rs"]:
            print("  !!!!! MISMATCH !!!!! inlet and delta-rs results differ")
            if not any(m in mismatches for m in (f"{case}/inlet", f"{case}/delta-rs")):
                mismatches.append(f"{case}/inlet-vs-delta-rs")
        if not args.keep:
            for p in last.values():
                shutil.rmtree(p, ignore_errors=True)

        # ---- ratios ----
        sc = cres["contenders"]
        if all(sc.get(n, {}).get("runs") for n in ("inlet", "delta-rs")):
            i, d = sc["inlet"], sc["delta-rs"]
            ri = {r["round"]: r for r in runs["inlet"]}
            rd = {r["round"]: r for r in runs["delta-rs"]}
            paired = [rd[k]["wall_s"] / ri[k]["wall_s"] for k in sorted(ri) if k in rd]
            speed = d["median_wall_s"] / i["median_wall_s"]
            rss = i["median_peak_rss_mib"] / d["median_peak_rss_mib"]
            cres["ratios"] = {
                "delta_rs_over_inlet_wall": {"value": speed, "target": f">= {TARGET_SPEEDUP}",
                                             "met": speed >= TARGET_SPEEDUP, "paired": paired},
                "delta_rs_over_inlet_cpu": {"value": d["median_cpu_s"] / i["median_cpu_s"]},
                "inlet_over_delta_rs_rss": {"value": rss, "target": f"<= {TARGET_RSS_RATIO}",
                                            "met": rss <= TARGET_RSS_RATIO},
            }
        results["cases"][case] = cres

    # ---- summary ----
    print(f"\nsummary ({meta['rows']:,}-row target in ~{args.files} files; medians over {args.rounds} round(s); "
          f"wall and CPU in s, RSS in MiB; rw = files rewritten)")
    print(f"  time ratio = delta-rs wall / inlet wall (target >= {TARGET_SPEEDUP:g}x; paired per-round range in "
          f"brackets); RSS ratio = inlet / delta-rs peak RSS (target <= {TARGET_RSS_RATIO:g}x)")
    print(f"  {'case':22s} | {'inlet wall':>10s} {'CPU':>6s} {'RSS':>5s} {'rw':>3s} | "
          f"{'delta wall':>10s} {'CPU':>6s} {'RSS':>5s} {'rw':>3s} | {'time ratio':<26s} | {'RSS ratio'}")

    def cols(s):
        if not s.get("runs"):
            return f"{'n/a':>10s} {'':>6s} {'':>5s} {'':>3s}"
        return (f"{s['median_wall_s']:10.2f} {s['median_cpu_s']:6.2f} {s['median_peak_rss_mib']:5.0f} "
                f"{str(s['files_rewritten']):>3s}")
    for case, cres in results["cases"].items():
        sc = cres["contenders"]
        line = f"  {case:22s} | {cols(sc.get('inlet', {}))} | {cols(sc.get('delta-rs', {}))} | "
        rt = cres["ratios"]
        if rt:
            sp, rs = rt["delta_rs_over_inlet_wall"], rt["inlet_over_delta_rs_rss"]
            pr = sp["paired"]
            rng = f"[{min(pr):.1f}-{max(pr):.1f}]" if len(pr) > 1 else ""
            line += (f"{sp['value']:5.2f}x {rng:11s} {'met' if sp['met'] else 'NOT MET':7s} | "
                     f"{rs['value']:4.2f}x {'met' if rs['met'] else 'NOT MET'}")
        else:
            line += "n/a"
        if any(m.startswith(case + "/") for m in mismatches):
            line += "   <- RESULT MISMATCH"
        print(line)
    print("  (rw: inlet's files_rewritten; delta-rs's num_target_files_removed)")

    if "one_row_upsert" in results["cases"] and "one_row_upsert_small" in results["cases"]:
        big, small = results["cases"]["one_row_upsert"], results["cases"]["one_row_upsert_small"]
        print(f"\n1-row upsert at {meta['rows']:,} rows vs {meta['small_rows']:,} rows (10x the rows and files, same "
              f"file size); flat means ~1.0x:")
        results["one_row_scaling"] = {}
        for name in contenders:
            b = big["contenders"].get(name, {})
            s = small["contenders"].get(name, {})
            if b.get("runs") and s.get("runs"):
                ratio = b["median_peak_rss_mib"] / s["median_peak_rss_mib"]
                wratio = b["median_wall_s"] / s["median_wall_s"]
                results["one_row_scaling"][name] = {
                    "rss_big_mib": b["median_peak_rss_mib"], "rss_small_mib": s["median_peak_rss_mib"],
                    "rss_ratio": ratio, "wall_big_s": b["median_wall_s"], "wall_small_s": s["median_wall_s"],
                    "wall_ratio": wratio}
                print(f"  {name:9s} peak RSS {s['median_peak_rss_mib']:5.0f} -> {b['median_peak_rss_mib']:5.0f} MiB "
                      f"({ratio:.2f}x)   wall {s['median_wall_s']:5.2f} -> {b['median_wall_s']:5.2f} s ({wratio:.2f}x)")

    results["mismatches"] = mismatches
    results["failed"] = failed
    results["inlet_binary_changed"] = "inlet" in contenders and binary_stamp(inlet) != inlet_stamp
    if results["inlet_binary_changed"]:
        print("\nwarning: build/inlet changed while the benchmark ran (rebuilt); the inlet figures may mix builds")
    results["total_s"] = time.perf_counter() - t_start
    out_path = out_root / "merge.json"
    out_path.write_text(json.dumps(results, indent=2))
    if not args.keep:
        for p in base.values():
            shutil.rmtree(p, ignore_errors=True)
        shutil.rmtree(log_dir, ignore_errors=True)
    print(f"\nwrote {out_path} (total {results['total_s']:.0f}s)")
    if mismatches:
        print(f"\n*** MISMATCH in {', '.join(mismatches)} ***")
    if failed:
        print(f"\n*** FAILED runs: {', '.join(failed)} ***")
    return 1 if (mismatches or failed) else 0


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "_helper":
        sys.exit(helper(sys.argv[2:]))
    sys.exit(main())
