"""What the PostgreSQL change data capture tests share: a database of their own per test,
pipelines of one table, catch-up runs, and the source and table compared."""
from __future__ import annotations

import datetime as dt
import itertools
import json

import pyarrow as pa
import pytest

import oracle
import pipeline_support as ps

_names = itertools.count()


@pytest.fixture
def db(postgres):
    """A database of its own and a psycopg2 connection to it; its slots go at the end."""
    d = postgres.database(f"cdc{next(_names)}")
    yield d
    d.drop_slots()
    d.close()


def _pipeline(tmp_path, db, *, table="t", dest="out", strategy=None, name="pg", **source):
    src = {"type": "postgres_cdc", "connection": db.uri, "table": table, **source}
    p = {"name": name, "source": src, "destination": {"path": str(tmp_path / dest)},
         "strategy": strategy or {"type": "cdc"}}
    return ps.write_pipelines(tmp_path / f"{name}.yaml", p)


def _catch_up(yaml, db, *args, check=True):
    """`inlet stream --catch-up --json`: its report (or the process when it fails)."""
    proc = ps.cli("stream", yaml, "--catch-up", "--json", *args, env=db.env, check=check,
                  cwd=yaml.parent)
    if proc.returncode != 0:
        return proc
    reports = ps.parse_reports(proc.stdout)
    assert len(reports) == 1, proc.stdout
    return reports[0]


def _source(db, table="t", key="id"):
    """The PostgreSQL table's rows as {key: row dict}."""
    db.sql("SELECT 1")  # connected
    with db.conn.cursor() as cur:
        cur.execute(f"SELECT * FROM {table}")
        cols = [c.name for c in cur.description]
        return {r[cols.index(key)]: dict(zip(cols, r)) for r in cur.fetchall()}


def _rows(t: pa.Table, key="id", drop=("_pg_lsn", "_pg_commit_lsn")):
    out = {}
    for r in t.to_pylist():
        for c in drop:
            r.pop(c, None)
        out[r[key]] = r
    return out


def _normal(rows):
    """Values compared across PostgreSQL and the table: jsonb as parsed JSON, timestamps
    in UTC, time of day as text."""
    out = {}
    for k, r in rows.items():
        n = {}
        for c, v in r.items():
            if isinstance(v, dt.datetime) and v.tzinfo is not None:
                v = v.astimezone(dt.timezone.utc)
            if isinstance(v, str) and c == "doc":
                v = json.loads(v)
            if isinstance(v, memoryview):
                v = bytes(v)
            n[c] = v
        out[k] = n
    return out


def _check_equal(db, dest, table="t", key="id"):
    want = _normal(_source(db, table, key))
    got = _normal(_rows(oracle.read_deltalake(dest), key))
    assert got.keys() == want.keys()
    for k in want:
        assert got[k] == want[k], {c: (got[k].get(c), v) for c, v in want[k].items()
                                   if got[k].get(c) != v}
    # DuckDB reads the same rows.
    duck = _normal(_rows(oracle.read_duckdb(dest), key))
    assert duck == want


def _table_lsn(dest, slot="inlet_pg"):
    """The LSN the table records for the slot (its txn action's version)."""
    import deltalake
    t = deltalake.DeltaTable(str(dest))
    app = f"inlet.postgres/{slot}/lsn"
    version = None
    for f in sorted((dest / "_delta_log").glob("*.json")):
        for line in f.read_text().splitlines():
            a = json.loads(line)
            if "txn" in a and a["txn"]["appId"] == app:
                version = a["txn"]["version"]
    assert t.version() >= 0
    return version


def _lsn_int(text):
    hi, lo = text.split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def _confirmed(db, slot="inlet_pg"):
    rows = db.sql("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = %s",
                  slot)
    return _lsn_int(rows[0][0]) if rows else None
