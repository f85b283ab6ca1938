"""Appends, merges and optimize racing on one table, on local disk and on MinIO.

4 processes append 50 times each, 2 processes merge into their own partition 10 times
each, and one process keeps optimizing, all at once. The protocol's rules decide the
conflicts: appends never conflict; a merge whose files an optimize compacted first runs
again (inlet merge --max-retries); an optimize that lost its files to a merge plans again.
Every commit must land exactly once, and the peers must read every row exactly once.
"""
from __future__ import annotations

import concurrent.futures
import json
import threading

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

pytestmark = pytest.mark.slow

APPENDERS, APPENDS = 4, 50
MERGERS, MERGES = 2, 10


def _parquet(path, rows):
    pq.write_table(pa.Table.from_pylist(rows, schema=pa.schema([("p", pa.string()), ("id", pa.int64()),
                                                                ("v", pa.string())])), path)
    return path


def test_appends_merges_and_optimize_at_once(place, tmp_path):
    uri = place.uri("t")
    model = {}
    seed = [{"p": p, "id": -1, "v": "seed"} for p in ["append"] + [f"m{m}" for m in range(MERGERS)]]
    for r in seed:
        model[(r["p"], r["id"])] = r["v"]
    place.inlet("write", uri, "--input", _parquet(tmp_path / "seed.parquet", seed), "--partition-by", "p")

    appends, merges = {}, {}
    for w in range(APPENDERS):
        for s in range(APPENDS):
            rows = [{"p": "append", "id": w * 1000 + s * 2 + j, "v": f"a{w}-{s}-{j}"} for j in range(2)]
            appends[(w, s)] = _parquet(tmp_path / f"a{w}-{s}.parquet", rows)
            model.update({(r["p"], r["id"]): r["v"] for r in rows})
    for m in range(MERGERS):
        for r in range(MERGES):
            rows = [{"p": f"m{m}", "id": k, "v": f"m{m}-r{r}"} for k in range(r * 3, r * 3 + 6)]
            merges[(m, r)] = _parquet(tmp_path / f"m{m}-{r}.parquet", rows)
            model.update({(x["p"], x["id"]): x["v"] for x in rows})  # each merger's rounds run in order

    done = threading.Event()
    optimized = []

    def appender(w):
        for s in range(APPENDS):
            place.inlet("write", uri, "--input", appends[(w, s)], timeout=300)

    def merger(m):
        for r in range(MERGES):
            place.inlet("merge", uri, "--input", merges[(m, r)], "--keys", "p,id", "--max-retries", "50", timeout=300)

    def optimizer():
        while not done.is_set() or len(optimized) < 3:
            out = json.loads(place.inlet("optimize", uri, "--target-size", "1000000", "--json", timeout=300).stdout)
            optimized.append(out)

    with concurrent.futures.ThreadPoolExecutor(APPENDERS + MERGERS + 1) as pool:
        opt = pool.submit(optimizer)
        writers = [pool.submit(appender, w) for w in range(APPENDERS)] + [pool.submit(merger, m) for m in range(MERGERS)]
        try:
            for f in writers:
                f.result()
        finally:
            done.set()
        opt.result()

    dt = place.delta_table("t")
    history = dt.history()
    ops = [h["operation"] for h in history]
    compactions = sum(1 for o in optimized if o["version"] >= 0)
    assert ops.count("WRITE") == APPENDERS * APPENDS
    assert ops.count("MERGE") == MERGERS * MERGES
    assert ops.count("OPTIMIZE") == compactions and compactions >= 1
    # Versions 0..N, each one commit: nothing lost, nothing doubled.
    assert sorted(h["version"] for h in history) == list(range(dt.version() + 1))
    assert dt.version() == 1 + APPENDERS * APPENDS + MERGERS * MERGES + compactions - 1
    expected = sorted((p, i, v) for (p, i), v in model.items())
    for read in (place.read_deltalake, place.read_duckdb):
        got = read("t")
        assert sorted(zip(got["p"].to_pylist(), got["id"].to_pylist(), got["v"].to_pylist())) == expected
