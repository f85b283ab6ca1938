"""Concurrency at scale: 8 writer processes at once on one table, mixed with merges and a
compaction loop, for Delta and Iceberg (by path, SQLite, PostgreSQL and REST catalogs), on
local disk and MinIO.

Six writers append (one file each commit, rows of their own), two merge into a partition of
their own (upserts of overlapping keys, so each merge rewrites what the last one wrote), and
a ninth process optimizes the table over and over while they run. Appends never conflict; a
merge whose files a compaction took first runs again (--max-retries); a compaction that lost
its files plans again. Every commit must land exactly once: the history holds one entry per
command that succeeded, versions (Delta) or sequence numbers (Iceberg) run 0..N (1..N) without
a gap, and the peer readers read every row exactly once.

`make test` runs 8 x INLET_STRESS_COMMITS commits (default 15) per configuration;
`make crash` runs 8 x 100.
"""
from __future__ import annotations

import concurrent.futures
import json
import os
import threading

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import oracle
import support

pytestmark = pytest.mark.slow

COMMITS = int(os.environ.get("INLET_STRESS_COMMITS", "15"))
APPENDERS, MERGERS = 6, 2
SCHEMA = pa.schema([("p", pa.string()), ("id", pa.int64()), ("v", pa.string())])
CONFIGS = ["delta-local", "delta-minio", "iceberg-local", "iceberg-minio", "iceberg-sqlite",
           "iceberg-postgres", "iceberg-rest"]


def _parquet(path, rows):
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path)
    return path


class Target:
    """The table of one configuration: how the CLI names it, and how to read it back."""

    def __init__(self, config, tmp_path, request):
        self.config = config
        self.fmt, where = config.split("-")
        self.env: dict[str, str] = {}
        self.args: list[str] = []
        self.catalog = None
        if where in ("local", "minio"):
            from table_place import TablePlace
            if where == "local":
                self.place = TablePlace.local(tmp_path / "tables")
            else:
                self.place = TablePlace.s3(request.getfixturevalue("minio"), request.getfixturevalue("s3_bucket"))
            self.env = dict(self.place.env)
            self.table = self.place.uri("t")
        else:
            ns = f"stress_{os.getpid()}_{config.replace('-', '_')}"
            self.table = f"{ns}.t"
            if where == "sqlite":
                db = tmp_path / "catalog.db"
                self.args = ["--catalog", f"sqlite:{db}", "--warehouse", str(tmp_path / "wh")]
                from pyiceberg.catalog.sql import SqlCatalog
                self.catalog = lambda: SqlCatalog("default", uri=f"sqlite:///{db}")
            elif where == "postgres":
                pg = request.getfixturevalue("postgres")
                name = f"stress_{os.getpid()}"
                uri = pg.create_database(name)
                self.args = ["--catalog", uri, "--warehouse", str(tmp_path / "wh")]
                self.env = {"PGPASSWORD": pg.password}
                from pyiceberg.catalog.sql import SqlCatalog
                self.catalog = lambda: SqlCatalog("default", uri=pg.sqlalchemy_uri(name))
            else:
                rest = request.getfixturevalue("iceberg_rest")
                self.args = ["--catalog", rest.uri]
                from pyiceberg.catalog import load_catalog
                self.catalog = lambda: load_catalog("rest", type="rest", uri=rest.uri)

    def inlet(self, *args, timeout=600):
        command, rest = args[0], args[1:]
        return support.run_inlet(*self.args, command, self.table, *rest, env=self.env, timeout=timeout)

    def create_args(self):
        return ["--format", "iceberg"] if self.fmt == "iceberg" else []

    def read(self) -> dict[str, pa.Table]:
        if self.fmt == "delta":
            return {"deltalake": self.place.read_deltalake("t"), "duckdb": self.place.read_duckdb("t")}
        return {"pyiceberg": self._pyiceberg().scan().to_arrow()}

    def _pyiceberg(self):
        if self.catalog:
            return self.catalog().load_table(self.table)
        from pyiceberg.table import StaticTable
        import crash_campaign as cc
        props = {}
        if self.place.minio:
            m = self.place.minio
            props = {"s3.endpoint": m.endpoint, "s3.access-key-id": m.access_key,
                     "s3.secret-access-key": m.secret_key, "s3.region": "us-east-1"}
        return StaticTable.from_metadata(cc.Place(self.place).iceberg_current("t"), properties=props)

    def operations(self) -> list[str]:
        """Each commit's operation, oldest first; asserts the versions have no gap."""
        if self.fmt == "delta":
            dt = self.place.delta_table("t")
            history = sorted(dt.history(), key=lambda h: h["version"])
            assert [h["version"] for h in history] == list(range(dt.version() + 1)), "a gap in the log"
            return [h["operation"] for h in history]
        table = self._pyiceberg()
        snaps = sorted(table.metadata.snapshots, key=lambda s: s.sequence_number)
        assert [s.sequence_number for s in snaps] == list(range(1, len(snaps) + 1)), "a gap in the sequence"
        for prev, s in zip(snaps, snaps[1:]):
            assert s.parent_snapshot_id == prev.snapshot_id, "the snapshots do not form one line"
        assert table.metadata.current_snapshot_id == snaps[-1].snapshot_id
        return [s.summary.operation.value for s in snaps]


@pytest.mark.parametrize("config", CONFIGS)
def test_eight_writers_merges_and_compaction_at_once(config, tmp_path, request):
    t = Target(config, tmp_path, request)
    model = {}
    seed = [{"p": p, "id": -1, "v": "seed"} for p in ["append"] + [f"m{m}" for m in range(MERGERS)]]
    model.update({(r["p"], r["id"]): r["v"] for r in seed})
    t.inlet("write", "--input", _parquet(tmp_path / "seed.parquet", seed), "--partition-by", "p", *t.create_args())

    appends, merges = {}, {}
    for w in range(APPENDERS):
        for s in range(COMMITS):
            rows = [{"p": "append", "id": w * 100000 + s * 2 + j, "v": f"a{w}-{s}-{j}"} for j in range(2)]
            appends[(w, s)] = _parquet(tmp_path / f"a{w}-{s}.parquet", rows)
            model.update({(r["p"], r["id"]): r["v"] for r in rows})
    for m in range(MERGERS):
        for r in range(COMMITS):
            rows = [{"p": f"m{m}", "id": k, "v": f"m{m}-r{r}"} for k in range(r * 3, r * 3 + 6)]
            merges[(m, r)] = _parquet(tmp_path / f"m{m}-{r}.parquet", rows)
            model.update({(x["p"], x["id"]): x["v"] for x in rows})  # each merger's rounds run in order

    done = threading.Event()
    compactions = []

    def appender(w):
        for s in range(COMMITS):
            t.inlet("write", "--input", appends[(w, s)])

    def merger(m):
        for r in range(COMMITS):
            t.inlet("merge", "--input", merges[(m, r)], "--keys", "p,id", "--max-retries", "1000")

    def optimizer():
        while not done.is_set() or len(compactions) < 2:
            # Two merges rewriting their partitions all the time can take a compaction's
            # files again and again: it plans again as often as it takes.
            out = json.loads(t.inlet("optimize", "--target-size", "1000000", "--max-retries", "1000",
                                     "--json").stdout)
            compactions.append(out)

    with concurrent.futures.ThreadPoolExecutor(APPENDERS + MERGERS + 1) as pool:
        opt = pool.submit(optimizer)
        writers = [pool.submit(appender, w) for w in range(APPENDERS)] + \
                  [pool.submit(merger, m) for m in range(MERGERS)]
        try:
            for f in writers:
                f.result()
        finally:
            done.set()
        opt.result()

    ops = t.operations()
    compacted = sum(1 for c in compactions if c.get("version", -1) >= 0)
    n_appends, n_merges = APPENDERS * COMMITS, MERGERS * COMMITS
    if t.fmt == "delta":
        assert ops[0] == "CREATE TABLE AS SELECT", ops[0]
        assert (ops.count("WRITE"), ops.count("MERGE"), ops.count("OPTIMIZE")) == \
            (n_appends, n_merges, compacted), ops
    else:
        # Iceberg: appends are "append"; merges "overwrite" (or "append" when they only
        # inserted), compactions "replace".
        assert ops.count("replace") == compacted, ops
        assert n_appends + 1 <= ops.count("append") <= n_appends + 1 + n_merges, ops
        assert len(ops) == 1 + n_appends + n_merges + compacted, (len(ops), n_merges, compacted)
    assert compacted >= 1, compactions
    expected = sorted((p, i, v) for (p, i), v in model.items())
    for reader, got in t.read().items():
        rows = sorted(zip(got["p"].to_pylist(), got["id"].to_pylist(), got["v"].to_pylist()))
        assert rows == expected, f"{config}: {reader} reads {len(rows)} rows, expected {len(expected)}"
    print(f"{config}: {len(ops)} commits by 9 processes ({1 + n_appends} appends, {n_merges} merges, "
          f"{compacted} compactions), versions contiguous, every row once")
