"""PostgreSQL change data capture (issue 23, part 2): `source.type: postgres_cdc` follows a
table of the real PostgreSQL 15 server the `postgres` fixture starts (wal_level=logical)
through a replication slot and the built-in pgoutput plugin: an initial snapshot, then every
committed change, applied by the cdc strategy. What the table holds is compared with what
PostgreSQL holds, read back by deltalake and DuckDB; the position in the table is compared
with the slot's confirmed LSN; inlet is killed mid-stream and restarted.
"""
from __future__ import annotations

import datetime as dt
import decimal
import itertools
import json
import os
import random
import signal
import subprocess
import time

import pyarrow as pa
import pytest

import oracle
import pipeline_support as ps
from support import check_refusal

_names = itertools.count()


@pytest.fixture
def db(postgres):
    """A database of its own and a psycopg2 connection to it; its slots go at the end."""
    import psycopg2
    name = f"cdc{next(_names)}"
    uri = postgres.create_database(name)
    conn = psycopg2.connect(host="127.0.0.1", port=postgres.port, user=postgres.user,
                            password=postgres.password, dbname=name)
    conn.autocommit = True

    class Db:
        pass
    d = Db()
    d.uri, d.conn, d.server, d.name = uri, conn, postgres, name
    d.env = {"PGPASSWORD": postgres.password}

    def sql(statement, *params):
        with conn.cursor() as cur:
            cur.execute(statement, params or None)
            return cur.fetchall() if cur.description else None
    d.sql = sql
    yield d
    for (slot,) in sql("SELECT slot_name FROM pg_replication_slots WHERE database = %s", name):
        try:
            sql("SELECT pg_drop_replication_slot(%s)", slot)
        except Exception:  # noqa: BLE001 - a slot still in use by a killed stream's server side
            pass
    conn.close()


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
    with db.conn.cursor() as cur:
        cur.execute(f"SELECT * FROM {table}")
        cols = [c.name for c in cur.description]
        return {r[cols.index(key)]: dict(zip(cols, r)) for r in cur.fetchall()}


def _rows(t: pa.Table, key="id", drop=("_pg_lsn",)):
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


def test_snapshot_then_inserts_updates_deletes_and_truncate(tmp_path, db):
    db.sql("""CREATE TABLE t (
        id bigint PRIMARY KEY, name text, amount numeric(12,2), small smallint, flag boolean,
        at timestamptz, day date, doc jsonb, tags text[], score double precision,
        raw bytea)""")
    db.sql("""INSERT INTO t SELECT g, 'name ' || g, g * 1.25, (g % 100)::smallint, g % 2 = 0,
              timestamptz '2024-01-01 00:00:00+00' + g * interval '1 minute',
              date '2024-01-01' + g, jsonb_build_object('g', g), ARRAY['a' || g, NULL, 'b'],
              g / 3.0, decode(lpad(to_hex(g), 8, '0'), 'hex')
              FROM generate_series(1, 500) g""")
    yaml = _pipeline(tmp_path, db)
    dest = tmp_path / "out"

    report = _catch_up(yaml, db)
    assert report["status"] == "caught_up", report
    assert report["rows_inserted"] == 500
    _check_equal(db, dest)
    lsn = _table_lsn(dest)
    assert lsn is not None and _confirmed(db) <= lsn

    # Changes of every kind, several in one transaction, a key changed twice.
    db.sql("INSERT INTO t (id, name, amount) VALUES (1001, 'new', 9.99), (1002, 'n2', NULL)")
    db.sql("UPDATE t SET name = 'changed', tags = ARRAY['x,y', 'q\"uote', 'back\\\\slash'] "
           "WHERE id <= 10")
    db.sql("DELETE FROM t WHERE id BETWEEN 11 AND 20")
    with db.conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("UPDATE t SET amount = 1 WHERE id = 30")
        cur.execute("DELETE FROM t WHERE id = 30")
        cur.execute("INSERT INTO t (id, name) VALUES (30, 'reborn')")
        cur.execute("UPDATE t SET id = 3000 WHERE id = 31")
        cur.execute("COMMIT")
    report = _catch_up(yaml, db)
    assert report["status"] == "caught_up"
    assert report["rows_deleted"] >= 10
    _check_equal(db, dest)
    rows = _rows(oracle.read_deltalake(dest), drop=())
    assert rows[30]["name"] == "reborn" and 31 not in rows and 3000 in rows
    assert rows[1001]["_pg_lsn"] > 0 and rows[500]["_pg_lsn"] == 0  # snapshot rows: 0
    assert _confirmed(db) <= _table_lsn(dest)

    # Nothing new: a catch-up commits nothing.
    version = oracle.read_deltalake  # noqa: F841
    before = len(list((dest / "_delta_log").glob("*.json")))
    report = _catch_up(yaml, db)
    assert report["status"] == "caught_up" and report["commits"] == 0
    assert len(list((dest / "_delta_log").glob("*.json"))) == before

    # A truncate empties the table; rows after it stay.
    with db.conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("TRUNCATE t")
        cur.execute("INSERT INTO t (id, name) VALUES (7, 'after truncate')")
        cur.execute("COMMIT")
    _catch_up(yaml, db)
    _check_equal(db, dest)
    assert set(_rows(oracle.read_deltalake(dest))) == {7}
