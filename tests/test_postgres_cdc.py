"""PostgreSQL change data capture (issue 23, part 2): `source.type: postgres_cdc` follows a
table of the real PostgreSQL 15 server the `postgres` fixture starts (wal_level=logical)
through a replication slot and the built-in pgoutput plugin: an initial snapshot, then every
committed change, applied by the cdc strategy. What the table holds is compared with what
PostgreSQL holds, read back by deltalake and DuckDB; the position in the table is compared
with the slot's confirmed LSN; inlet is killed mid-stream and restarted. (An initial snapshot
cut short: test_postgres_cdc_snapshot.py; the shared helpers: pg_cdc_support.py.)
"""
from __future__ import annotations

import decimal
import json
import random
import signal
import time

import pyarrow as pa

import oracle
import pipeline_support as ps
import support
from pg_cdc_support import (  # noqa: F401  (db: the fixture)
    _catch_up, _check_equal, _confirmed, _lsn_int, _normal, _pipeline, _rows, _source,
    _table_lsn, db,
)
from support import check_refusal


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


def test_a_postgresql_destination_is_refused(tmp_path, db):
    """PostgreSQL to PostgreSQL is PostgreSQL's own logical replication's job: refused
    before anything is created, saying so."""
    db.sql("CREATE TABLE t (id bigint PRIMARY KEY)")
    src = {"type": "postgres_cdc", "connection": db.uri, "table": "t"}
    p = {"name": "pg", "source": src, "strategy": {"type": "cdc"},
         "destination": {"type": "postgres", "connection": db.uri, "table": "public.t_copy"}}
    yaml = ps.write_pipelines(tmp_path / "pg.yaml", p)
    line = check_refusal(ps.cli("stream", yaml, "--catch-up", env=db.env, check=False))
    assert "CREATE SUBSCRIPTION" in line, line
    assert db.sql("SELECT count(*) FROM pg_replication_slots") == [(0,)]


def test_unchanged_toasted_values_keep_the_tables(tmp_path, db):
    """pgoutput sends a TOASTed value an update left alone as 'unchanged': the table keeps
    its value (it does not become null)."""
    db.sql("CREATE TABLE t (id int PRIMARY KEY, name text, big text)")
    db.sql("ALTER TABLE t ALTER COLUMN big SET STORAGE EXTERNAL")  # out of line, uncompressed
    db.sql("INSERT INTO t SELECT g, 'n' || g, repeat(md5(g::text), 400) FROM generate_series(1, 20) g")
    yaml = _pipeline(tmp_path, db)
    dest = tmp_path / "out"
    _catch_up(yaml, db)
    db.sql("UPDATE t SET name = 'renamed' WHERE id <= 10")          # big: unchanged
    db.sql("UPDATE t SET big = 'small now' WHERE id = 20")           # big: changed
    db.sql("INSERT INTO t VALUES (21, 'late', repeat('x', 9000))")
    report = _catch_up(yaml, db)
    assert report["rows_updated"] == 11, report
    _check_equal(db, dest)
    rows = _rows(oracle.read_deltalake(dest))
    assert rows[3]["big"] == "".join([__import__("hashlib").md5(b"3").hexdigest()] * 400)
    assert rows[3]["name"] == "renamed"
    # The key moved and the TOASTed value left unchanged: with REPLICA IDENTITY DEFAULT the
    # change does not carry it, and the stream stops naming the column.
    before = oracle.read_deltalake(dest)
    db.sql("UPDATE t SET id = 100 WHERE id = 4")
    line = check_refusal(_catch_up(yaml, db, check=False))
    assert "column 'big'" in line and "REPLICA IDENTITY FULL" in line, line
    assert oracle.read_deltalake(dest).num_rows == before.num_rows
    # With FULL the old row carries it: the move applies whole. (The refused change is
    # read again first, so it goes in the history of a fresh slot instead.)
    db.sql("ALTER TABLE t REPLICA IDENTITY FULL")
    yaml2 = _pipeline(tmp_path, db, dest="full", name="full")
    _catch_up(yaml2, db)
    db.sql("UPDATE t SET id = 200 WHERE id = 5")
    db.sql("UPDATE t SET name = 'n6' WHERE id = 6")
    _catch_up(yaml2, db)
    _check_equal(db, tmp_path / "full")
    moved = _rows(oracle.read_deltalake(tmp_path / "full"))[200]
    assert moved["big"] == "".join([__import__("hashlib").md5(b"5").hexdigest()] * 400)


def test_replica_identity_full_without_a_primary_key(tmp_path, db):
    db.sql("CREATE TABLE t (id int NOT NULL, grp text, v int)")
    db.sql("ALTER TABLE t REPLICA IDENTITY FULL")
    db.sql("INSERT INTO t SELECT g, 'g' || (g % 3), g FROM generate_series(1, 30) g")
    # Without a primary key the keys must be given.
    yaml = _pipeline(tmp_path, db)
    proc = _catch_up(yaml, db, check=False)
    line = check_refusal(proc)
    assert "no primary key" in line and "destination.keys" in line
    p = {"name": "pg", "source": {"type": "postgres_cdc", "connection": db.uri, "table": "t"},
         "destination": {"path": str(tmp_path / "out"), "keys": ["id"]},
         "strategy": {"type": "cdc"}}
    yaml = ps.write_pipelines(tmp_path / "pg.yaml", p)
    _catch_up(yaml, db)
    db.sql("UPDATE t SET v = v * 10 WHERE id % 2 = 0")
    db.sql("UPDATE t SET id = id + 100 WHERE id = 5")  # the key moves: delete and insert
    db.sql("DELETE FROM t WHERE grp = 'g1'")
    _catch_up(yaml, db)
    _check_equal(db, tmp_path / "out")


def test_a_column_added_mid_stream_and_one_dropped(tmp_path, db):
    db.sql("CREATE TABLE t (id int PRIMARY KEY, a text, gone text)")
    db.sql("INSERT INTO t SELECT g, 'a' || g, 'x' FROM generate_series(1, 10) g")
    yaml = _pipeline(tmp_path, db)
    dest = tmp_path / "out"
    _catch_up(yaml, db)
    with db.conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("UPDATE t SET a = 'before' WHERE id = 1")
        cur.execute("ALTER TABLE t ADD COLUMN added numeric(8,3)")
        cur.execute("UPDATE t SET added = 1.5 WHERE id = 2")
        cur.execute("COMMIT")
    db.sql("INSERT INTO t VALUES (11, 'new', 'y', 2.25)")
    _catch_up(yaml, db)
    _check_equal(db, dest)
    rows = _rows(oracle.read_deltalake(dest))
    assert rows[1]["added"] is None and rows[2]["added"] == decimal.Decimal("1.500")
    # A dropped column stays in the table: later inserts have null there, and updated rows
    # keep what they had (the change does not carry the column).
    db.sql("ALTER TABLE t DROP COLUMN gone")
    db.sql("INSERT INTO t VALUES (12, 'after drop', 3)")
    db.sql("UPDATE t SET a = 'upd' WHERE id = 3")
    _catch_up(yaml, db)
    rows = _rows(oracle.read_deltalake(dest))
    assert rows[12]["gone"] is None and rows[3]["gone"] == "x" and rows[3]["a"] == "upd"
    want = _normal(_source(db))
    got = _normal(_rows(oracle.read_deltalake(dest), drop=("_pg_lsn", "_pg_commit_lsn", "gone")))
    assert got == want


def test_history_with_scd_type_2(tmp_path, db):
    db.sql("CREATE TABLE t (id int PRIMARY KEY, city text)")
    db.sql("INSERT INTO t VALUES (1, 'Oslo'), (2, 'Rome')")
    yaml = _pipeline(tmp_path, db, strategy={"type": "cdc", "scd_type": 2})
    dest = tmp_path / "out"
    _catch_up(yaml, db)
    db.sql("UPDATE t SET city = 'Bergen' WHERE id = 1")
    db.sql("DELETE FROM t WHERE id = 2")
    db.sql("INSERT INTO t VALUES (3, 'Lima')")
    _catch_up(yaml, db)
    t = oracle.read_deltalake(dest).to_pylist()
    by = {}
    for r in t:
        by.setdefault(r["id"], []).append(r)
    assert sorted(r["city"] for r in by[1]) == ["Bergen", "Oslo"]
    current = {r["id"]: r["city"] for r in t if r["is_current"]}
    assert current == {1: "Bergen", 3: "Lima"}
    # A truncate cannot be applied to a history: the stream stops, naming it, and the
    # table keeps what it had.
    before = oracle.read_deltalake(dest)
    db.sql("TRUNCATE t")
    line = check_refusal(_catch_up(yaml, db, check=False))
    assert "truncate" in line
    assert oracle.read_deltalake(dest).num_rows == before.num_rows


def test_refusals_name_the_problem_and_leave_the_table(tmp_path, db):
    db.sql("CREATE TABLE t (id int PRIMARY KEY, v text)")
    db.sql("INSERT INTO t VALUES (1, 'a')")
    # No such table.
    line = check_refusal(_catch_up(_pipeline(tmp_path, db, table="nope", name="p1"), db,
                                   check=False))
    assert "table nope" in line and "no such table" in line
    # REPLICA IDENTITY NOTHING.
    db.sql("CREATE TABLE n (id int PRIMARY KEY)")
    db.sql("ALTER TABLE n REPLICA IDENTITY NOTHING")
    line = check_refusal(_catch_up(_pipeline(tmp_path, db, table="n", name="p2"), db,
                                   check=False))
    assert "REPLICA IDENTITY NOTHING" in line
    # Keys that deletes do not carry.
    p = {"name": "p3", "source": {"type": "postgres_cdc", "connection": db.uri, "table": "t"},
         "destination": {"path": str(tmp_path / "o3"), "keys": ["v"]}, "strategy": {"type": "cdc"}}
    line = check_refusal(_catch_up(ps.write_pipelines(tmp_path / "p3.yaml", p), db, check=False))
    assert "replica identity (id)" in line
    # A wrong password: named database, no secret.
    secret = "S3cret-Not-This-One"
    proc = ps.cli("stream", _pipeline(tmp_path, db, name="p4"), "--catch-up",
                  env={"PGPASSWORD": secret}, check=False)
    line = check_refusal(proc)
    assert "password authentication failed" in line and secret not in proc.stderr + proc.stdout
    # Other strategies are refused when the file is read.
    line = check_refusal(_catch_up(_pipeline(tmp_path, db, name="p5",
                                             strategy={"type": "merge"}), db, check=False))
    assert "postgres_cdc source takes the cdc strategy" in line
    # A table of another source's rows is not taken over.
    other = tmp_path / "other"
    ps.write_pipelines(tmp_path / "seed.yaml", {
        "name": "seed", "source": {"type": "postgres", "connection": db.uri, "table": "t"},
        "destination": {"path": str(other)}, "strategy": {"type": "full_refresh"}})
    ps.run(tmp_path / "seed.yaml", env=db.env)
    line = check_refusal(_catch_up(_pipeline(tmp_path, db, name="p6", dest="other"), db,
                                   check=False))
    assert "did not come from this source" in line
    assert oracle.read_deltalake(other).num_rows == 1


def _workload(db, stop, seed, errors):
    """Random transactions of inserts, updates and deletes on t until stop is set; rides
    out a server restart by connecting again."""
    import psycopg2
    rng = random.Random(seed)
    conn = None
    while not stop.is_set():
        try:
            if conn is None or conn.closed:
                conn = psycopg2.connect(host="127.0.0.1", port=db.server.port,
                                        user=db.server.user, password=db.server.password,
                                        dbname=db.name)
            with conn.cursor() as cur:
                for _ in range(rng.randint(1, 15)):
                    k = rng.randint(1, 3000)
                    r = rng.random()
                    if r < 0.4:
                        cur.execute("INSERT INTO t VALUES (%s, %s, %s) ON CONFLICT (id) DO "
                                    "UPDATE SET v = EXCLUDED.v", (k, rng.randint(0, 10**6),
                                                                  "i" * rng.randint(0, 50)))
                    elif r < 0.8:
                        cur.execute("UPDATE t SET v = v + 1, note = %s WHERE id = %s",
                                    ("u" * rng.randint(0, 50), k))
                    else:
                        cur.execute("DELETE FROM t WHERE id = %s", (k,))
            conn.commit()
        except psycopg2.OperationalError:
            conn = None
            time.sleep(0.2)
        except Exception as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
            return
        time.sleep(rng.random() * 0.01)


def test_kill_9_and_a_server_restart_mid_stream(tmp_path, db):
    """Random transactions while inlet is killed with SIGKILL at random moments and
    PostgreSQL restarts under a running stream: the slot's confirmed LSN is never ahead of
    the table's, and at the end the table equals the source."""
    import threading
    db.sql("CREATE TABLE t (id int PRIMARY KEY, v int, note text)")
    db.sql("INSERT INTO t SELECT g, g, 'seed' FROM generate_series(1, 2000) g")
    p = {"name": "pg", "source": {"type": "postgres_cdc", "connection": db.uri, "table": "t"},
         "destination": {"path": str(tmp_path / "out")}, "strategy": {"type": "cdc"},
         "processing": {"flush_rows": 40, "flush_interval": "200ms"}}
    yaml = ps.write_pipelines(tmp_path / "pg.yaml", p)
    dest = tmp_path / "out"
    stop, errors = threading.Event(), []
    worker = threading.Thread(target=_workload, args=(db, stop, 7, errors))
    worker.start()
    rng = random.Random(11)
    try:
        for round_ in range(5):
            proc = ps.popen("stream", yaml, "--json", env=db.env, cwd=tmp_path)
            time.sleep(0.8 + rng.random() * 1.5)
            if round_ == 2:
                db.server.restart()        # under the running stream
                time.sleep(1.5 + rng.random())
                assert proc.poll() is None, proc.communicate()
            proc.send_signal(signal.SIGKILL)
            _, err = proc.communicate()
            if round_ == 2:
                assert "reconnecting" in err, err
            held, confirmed = _table_lsn(dest), _confirmed(db)
            if held is not None:
                assert confirmed <= held, (round_, confirmed, held)
    finally:
        stop.set()
        worker.join()
    assert not errors, errors
    report = _catch_up(yaml, db)
    assert report["status"] == "caught_up"
    _check_equal(db, dest)
    assert _confirmed(db) <= _table_lsn(dest)


def _plain(t: pa.Table) -> pa.Table:
    plain = {pa.types.is_string_view: pa.string(), pa.types.is_binary_view: pa.binary(),
             pa.types.is_large_string: pa.string(), pa.types.is_large_binary: pa.binary()}
    fields = []
    for f in t.schema:
        kind = next((v for k, v in plain.items() if k(f.type)), None)
        if pa.types.is_list(f.type) or pa.types.is_large_list(f.type):
            value = f.type.value_type
            kind = pa.list_(next((v for k, v in plain.items() if k(value)), value))
        fields.append(pa.field(f.name, kind or f.type))
    return t.cast(pa.schema(fields)).sort_by("id")


def test_every_mapped_type_reads_as_the_query_source_reads_it(tmp_path, db):
    """The same rows through the snapshot (COPY's text), through the stream (pgoutput's
    text) and through the postgres query source (ADBC's binary) make the same table."""
    db.sql("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
    db.sql("CREATE DOMAIN posint AS integer CHECK (VALUE > 0)")
    db.sql("""CREATE TABLE t (
        id int PRIMARY KEY, s smallint, i int, b bigint, n numeric(12,3), u numeric,
        r real, d double precision, f boolean, tx text, vc varchar(10), ch char(4),
        by bytea, dt date, tm time, ts timestamp, tz timestamptz, iv interval, id2 uuid,
        j json, jb jsonb, ai int[], at text[], an numeric(6,2)[], m mood, p posint,
        a2 int[])""")
    rows = """
        (%d, -32768, -2147483648, -9223372036854775808, -999999999.999, 12345.678901234567890123,
         -3.5, -1e300, true, 'héllo	tab
newline \\ back', 'v', 'ab', '\\x00ff10', '0044-03-15 BC', '00:00:00',
         '1970-01-01 00:00:00', '2024-03-01 12:00:00.123456+02', '1 year 2 mons 3 days 04:05:06.5',
         'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2]}', '{"b": null}', '{1,NULL,3}',
         '{"x,y","q\\"z",NULL}', '{1.5,-2.25}', 'happy', 7, '{{1,2},{3,NULL}}'),
        (%d, 32767, 2147483647, 9223372036854775807, 999999999.999, -0.000000000000000001,
         3.25, 'Infinity', false, '', '0123456789', 'abcd', '', '9999-12-31', '23:59:59.999999',
         '2262-04-11 23:47:16.854775', '1900-01-01 00:00:00+00', '-1 days -00:00:01.5',
         '00000000-0000-0000-0000-000000000000', '[]', '[]', '{}', '{}', '{}', 'sad', 1, '{}'),
        (%d, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"""
    db.sql("INSERT INTO t VALUES " + rows % (1, 2, 3))
    cdc = _pipeline(tmp_path, db)
    _catch_up(cdc, db)                                   # rows 1-3: the snapshot's COPY
    db.sql("INSERT INTO t VALUES " + rows % (11, 12, 13))
    db.sql("UPDATE t SET tx = tx || '!' WHERE id = 1")  # and an update of every column
    _catch_up(cdc, db)                                   # rows 11-13: pgoutput's tuples
    query = ps.write_pipelines(tmp_path / "q.yaml", {
        "name": "q", "source": {"type": "postgres", "connection": db.uri, "table": "t"},
        "destination": {"path": str(tmp_path / "q")}, "strategy": {"type": "full_refresh"}})
    ps.run(query, env=db.env)
    got = _plain(oracle.read_deltalake(tmp_path / "out").drop_columns(["_pg_lsn", "_pg_commit_lsn"]))
    want = _plain(oracle.read_deltalake(tmp_path / "q"))
    # numeric(6,2)[] included: the query source of a table takes the elements' precision
    # from the catalog, as the stream does (ADBC gives array elements none).
    assert got.schema.field("an").type == pa.list_(pa.decimal128(6, 2))
    for f in want.schema:
        assert got.schema.field(f.name).type == f.type, (f.name, got.schema.field(f.name).type)
    assert got.column_names == want.column_names
    for name in want.column_names:
        a, b = got.column(name), want.column(name)
        if pa.types.is_date32(b.type):  # 44 BC is beyond Python's dates
            a, b = a.cast(pa.int32()), b.cast(pa.int32())
        assert a.to_pylist() == b.to_pylist(), name


def test_several_tables_through_one_slot(tmp_path, db):
    """Two tables (and then a third) followed through one slot, each into its own table;
    transactions that change both, a kill -9 between commits, a table added to the list."""
    import threading
    db.sql("CREATE TABLE orders (id int PRIMARY KEY, customer int, amount numeric(10,2))")
    db.sql("CREATE TABLE customers (id int PRIMARY KEY, name text)")
    db.sql("CREATE TABLE quiet (id int PRIMARY KEY, v text)")
    db.sql("INSERT INTO customers SELECT g, 'c' || g FROM generate_series(1, 50) g")
    db.sql("INSERT INTO orders SELECT g, g % 50 + 1, g FROM generate_series(1, 200) g")
    db.sql("INSERT INTO quiet VALUES (1, 'only row')")

    def pipeline(tables):
        p = {"name": "pg", "source": {"type": "postgres_cdc", "connection": db.uri,
                                      "tables": tables},
             "destination": {"path": str(tmp_path / "lake" / "{schema}_{table}")},
             "strategy": {"type": "cdc"},
             "processing": {"flush_rows": 30, "flush_interval": "200ms"}}
        return ps.write_pipelines(tmp_path / "pg.yaml", p)

    yaml = pipeline(["orders", "public.customers"])
    report = _catch_up(yaml, db)
    assert report["rows_inserted"] == 250, report
    lake = tmp_path / "lake"
    _check_equal(db, lake / "public_orders", "orders")
    _check_equal(db, lake / "public_customers", "customers")

    stop, errors = threading.Event(), []

    def work():
        import psycopg2
        rng = random.Random(3)
        conn = psycopg2.connect(host="127.0.0.1", port=db.server.port, user=db.server.user,
                                password=db.server.password, dbname=db.name)
        try:
            n = 1000
            while not stop.is_set():
                with conn.cursor() as cur:
                    n += 1
                    c = rng.randint(1, 60)
                    cur.execute("INSERT INTO customers VALUES (%s, %s) ON CONFLICT (id) DO "
                                "UPDATE SET name = EXCLUDED.name", (c, f"name{n}"))
                    cur.execute("INSERT INTO orders VALUES (%s, %s, %s)", (n, c, n % 97))
                    if rng.random() < 0.2:
                        cur.execute("DELETE FROM orders WHERE id = %s", (rng.randint(1, n),))
                conn.commit()
                time.sleep(0.002)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            conn.close()

    worker = threading.Thread(target=work)
    worker.start()
    try:
        for _ in range(3):
            proc = ps.popen("stream", yaml, env=db.env, cwd=tmp_path)
            time.sleep(1.0 + random.random())
            proc.send_signal(signal.SIGKILL)
            proc.communicate()
            held = min(_table_lsn(lake / "public_orders"), _table_lsn(lake / "public_customers"))
            assert _confirmed(db) <= held
    finally:
        stop.set()
        worker.join()
    assert not errors, errors
    _catch_up(yaml, db)
    _check_equal(db, lake / "public_orders", "orders")
    _check_equal(db, lake / "public_customers", "customers")
    # A truncate, and a key deleted and inserted again: remembered by the merges, they
    # must not outrank the rows of the new snapshot below.
    with db.conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("TRUNCATE orders")
        cur.execute("INSERT INTO orders VALUES (1, 1, 1), (2, 2, 2)")
        cur.execute("COMMIT")
    db.sql("DELETE FROM customers WHERE id = 5")
    db.sql("INSERT INTO customers VALUES (5, 'back')")
    _catch_up(yaml, db)
    # The quiet table added to the list (and to the publication by its owner): every table
    # is loaded afresh from a new snapshot, so that all start from one point.
    db.sql("ALTER PUBLICATION inlet_pg ADD TABLE quiet")
    yaml = pipeline(["orders", "customers", "quiet"])
    _catch_up(yaml, db)
    db.sql("UPDATE quiet SET v = 'changed'")
    db.sql("DELETE FROM orders WHERE id % 3 = 0")
    _catch_up(yaml, db)
    for t in ("orders", "customers", "quiet"):
        _check_equal(db, lake / f"public_{t}", t)
    # One slot for all of them.
    assert db.sql("SELECT count(*) FROM pg_replication_slots WHERE database = %s",
                  db.name)[0][0] == 1


def test_several_tables_need_a_destination_each(tmp_path, db):
    src = {"type": "postgres_cdc", "connection": db.uri, "tables": ["a", "b"]}
    for dest, want in [({"path": str(tmp_path / "one")}, "{table}"),
                       ({"path": str(tmp_path / "{table}"), "keys": ["id"]},
                        "each table's primary key")]:
        yaml = ps.write_pipelines(tmp_path / "p.yaml", {
            "name": "pg", "source": src, "destination": dest, "strategy": {"type": "cdc"}})
        line = check_refusal(_catch_up(yaml, db, check=False))
        assert want in line, line
    yaml = ps.write_pipelines(tmp_path / "p.yaml", {
        "name": "pg", "source": {**src, "table": "a"}, "destination": {"path": "x/{table}"},
        "strategy": {"type": "cdc"}})
    assert "give a table or a list of tables" in check_refusal(_catch_up(yaml, db, check=False))


def test_a_transaction_larger_than_memory_is_applied_in_parts(tmp_path, db):
    """A transaction of more changes than processing.max_transaction_rows goes to the table
    in parts, each recording how much of it the table holds; killed between parts, the
    stream resumes inside the transaction without applying a change twice."""
    db.sql("CREATE TABLE t (id int PRIMARY KEY, v int, note text)")
    db.sql("INSERT INTO t SELECT g, 0, 'x' FROM generate_series(1, 60000) g")
    p = {"name": "pg", "source": {"type": "postgres_cdc", "connection": db.uri, "table": "t"},
         "destination": {"path": str(tmp_path / "out")}, "strategy": {"type": "cdc"},
         "processing": {"max_transaction_rows": 2000}}
    yaml = ps.write_pipelines(tmp_path / "pg.yaml", p)
    dest = tmp_path / "out"
    _catch_up(yaml, db)
    # One transaction: 60,000 updates, 1,000 inserts, 500 deletes.
    with db.conn.cursor() as cur:
        cur.execute("BEGIN")
        cur.execute("UPDATE t SET v = v + 1, note = 'big'")
        cur.execute("INSERT INTO t SELECT g, -1, 'new' FROM generate_series(60001, 61000) g")
        cur.execute("DELETE FROM t WHERE id % 120 = 0")
        cur.execute("COMMIT")
    log = dest / "_delta_log"
    before = len(list(log.glob("*.json")))
    proc = ps.popen("stream", yaml, "--json", env=db.env, cwd=tmp_path)
    deadline = time.time() + 60
    while time.time() < deadline and len(list(log.glob("*.json"))) < before + 4:
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    parts = len(list(log.glob("*.json"))) - before
    assert parts >= 4
    # The table holds part of the transaction, and its position is still before it.
    assert _confirmed(db) <= _table_lsn(dest)
    report = _catch_up(yaml, db)
    assert report["rows_late"] == 0, report       # nothing applied twice
    assert report["commits"] >= 2, report         # the rest in parts too
    _check_equal(db, dest)


def test_an_iceberg_destination_read_by_pyiceberg_and_duckdb(tmp_path, db):
    db.sql("CREATE TABLE t (id int PRIMARY KEY, city text, at timestamptz)")
    db.sql("INSERT INTO t SELECT g, 'c' || (g % 7), timestamptz '2024-01-01 00:00+00' + "
           "g * interval '1 hour' FROM generate_series(1, 300) g")
    p = {"name": "pg", "source": {"type": "postgres_cdc", "connection": db.uri, "table": "t"},
         "destination": {"path": "ice", "format": "iceberg", "partition_by": ["day(at)"]},
         "strategy": {"type": "cdc"}}
    yaml = ps.write_pipelines(tmp_path / "pg.yaml", p)
    _catch_up(yaml, db)
    db.sql("UPDATE t SET city = 'moved' WHERE id % 5 = 0")
    db.sql("UPDATE t SET at = at + interval '3 days' WHERE id = 7")   # to another partition
    db.sql("DELETE FROM t WHERE id > 280")
    db.sql("INSERT INTO t VALUES (1000, 'new', '2025-01-01 00:00+00')")
    report = _catch_up(yaml, db)
    assert report["rows_deleted"] == 20 and report["status"] == "caught_up", report
    want = _normal(_source(db))
    for got in (ps.read_table(tmp_path / "ice"), oracle.read_duckdb_iceberg(tmp_path / "ice")):
        assert _normal(_rows(got)) == want


def test_the_report_and_metrics_give_position_and_lag(tmp_path, db):
    db.sql("CREATE TABLE t (id int PRIMARY KEY, v text)")
    db.sql("INSERT INTO t SELECT g, 'v' FROM generate_series(1, 10) g")
    yaml = _pipeline(tmp_path, db)
    metrics = tmp_path / "metrics.prom"
    report = _catch_up(yaml, db, "--metrics-file", metrics)
    assert report["lag_bytes"] >= 0 and report["lag_ms"] == 0
    assert _lsn_int(report["position"]) == _table_lsn(tmp_path / "out")
    text = metrics.read_text()
    assert 'inlet_stream_lag_bytes{pipeline="pg"' in text, text
    assert 'inlet_stream_lag_seconds{pipeline="pg"' in text, text
    assert 'inlet_stream_rows_written_total{pipeline="pg"' in text


def test_partitioned_tables_generated_columns_and_inheritance(tmp_path, db):
    db.sql("CREATE TABLE m (id int, day date, v int, g int GENERATED ALWAYS AS (v * 2) STORED, "
           "PRIMARY KEY (id, day)) PARTITION BY RANGE (day)")
    db.sql("CREATE TABLE m_2024 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')")
    db.sql("CREATE TABLE m_2025 PARTITION OF m FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')")
    db.sql("INSERT INTO m (id, day, v) SELECT g, date '2024-06-01' + g, g "
           "FROM generate_series(1, 200) g")
    db.sql("CREATE TABLE parent (id int PRIMARY KEY, v text)")
    db.sql("CREATE TABLE child (extra int) INHERITS (parent)")
    db.sql("INSERT INTO parent VALUES (1, 'p')")
    db.sql("INSERT INTO child VALUES (2, 'c', 0)")
    p = {"name": "pg", "source": {"type": "postgres_cdc", "connection": db.uri,
                                  "tables": ["m", "parent"]},
         "destination": {"path": str(tmp_path / "{table}")}, "strategy": {"type": "cdc"}}
    yaml = ps.write_pipelines(tmp_path / "pg.yaml", p)
    _catch_up(yaml, db)
    db.sql("UPDATE m SET v = -v WHERE id % 10 = 0")          # in both partitions
    db.sql("UPDATE m SET day = day + 365 WHERE id = 3")       # to the other partition
    db.sql("DELETE FROM m WHERE id > 190")
    db.sql("INSERT INTO parent VALUES (3, 'p3')")
    db.sql("INSERT INTO child VALUES (4, 'c4', 0)")           # the child's, not parent's
    _catch_up(yaml, db)
    got = oracle.read_deltalake(tmp_path / "m")
    assert "g" not in got.column_names                       # pgoutput does not send it
    want = {(r[0], r[1]): r[2] for r in db.sql("SELECT id, day, v FROM m")}
    assert {(r["id"], r["day"]): r["v"] for r in got.to_pylist()} == want
    assert sorted(r["id"] for r in oracle.read_deltalake(tmp_path / "parent").to_pylist()) \
        == [1, 3]                                           # FROM ONLY parent


def test_errors_the_server_keeps_giving_stop_the_stream(tmp_path, db):
    """A publication dropped under the slot: the server refuses every attempt, and the
    stream stops saying why instead of reconnecting for ever."""
    db.sql("CREATE TABLE t (id int PRIMARY KEY)")
    yaml = _pipeline(tmp_path, db)
    _catch_up(yaml, db)
    db.sql("DROP PUBLICATION inlet_pg")
    db.sql("INSERT INTO t VALUES (1)")
    t0 = time.time()
    line = check_refusal(_catch_up(yaml, db, check=False))
    assert time.time() - t0 < 60
    assert "publication" in line, line


def test_a_table_cannot_join_without_a_snapshot(tmp_path, db):
    db.sql("CREATE TABLE a (id int PRIMARY KEY)")
    db.sql("CREATE TABLE b (id int PRIMARY KEY)")
    db.sql("INSERT INTO a VALUES (1)")

    def pipeline(tables):
        return ps.write_pipelines(tmp_path / "pg.yaml", {
            "name": "pg", "source": {"type": "postgres_cdc", "connection": db.uri,
                                     "tables": tables, "initial_snapshot": False},
            "destination": {"path": str(tmp_path / "{table}")}, "strategy": {"type": "cdc"}})
    _catch_up(pipeline(["a"]), db)
    db.sql("INSERT INTO a VALUES (2)")
    _catch_up(pipeline(["a"]), db)
    assert [r["id"] for r in oracle.read_deltalake(tmp_path / "a").to_pylist()] == [2]
    db.sql("ALTER PUBLICATION inlet_pg ADD TABLE b")
    line = check_refusal(_catch_up(pipeline(["a", "b"]), db, check=False))
    assert "initial_snapshot: false" in line
    assert [r["id"] for r in oracle.read_deltalake(tmp_path / "a").to_pylist()] == [2]


def test_the_example_pipeline(tmp_path, db):
    """examples/postgres_cdc/pipeline.yaml, run as its comment says."""
    db.sql("CREATE TABLE parking_data (location text, ts timestamptz, occupied int, "
           "PRIMARY KEY (location, ts))")
    db.sql("INSERT INTO parking_data VALUES ('A1', '2024-05-01 10:00+00', 12), "
           "('B2', '2024-05-01 10:00+00', 3)")
    example = support.REPO_ROOT / "examples" / "postgres_cdc" / "pipeline.yaml"
    env = {**db.env, "PARKING_DB": db.uri, "PARKING_CDC_TABLE": str(tmp_path / "cdc")}
    proc = ps.cli("stream", example, "--catch-up", "--json", env=env, cwd=tmp_path)
    db.sql("UPDATE parking_data SET occupied = 13 WHERE location = 'A1'")
    db.sql("DELETE FROM parking_data WHERE location = 'B2'")
    proc = ps.cli("stream", example, "--catch-up", "--json", env=env, cwd=tmp_path)
    assert json.loads(proc.stdout)["status"] == "caught_up"
    got = oracle.read_deltalake(tmp_path / "cdc").to_pylist()
    assert [(r["location"], r["occupied"]) for r in got] == [("A1", 13)]


def test_a_server_restarts_under_an_idle_stream(tmp_path, db):
    """A server shutting down waits until its walsenders' clients say they hold everything
    sent: an idle stream commits the position and lets it go, then reconnects."""
    db.sql("CREATE TABLE t (id int PRIMARY KEY)")
    db.sql("CREATE TABLE other (id int)")
    db.sql("INSERT INTO t VALUES (1)")
    yaml = _pipeline(tmp_path, db)
    _catch_up(yaml, db)
    proc = ps.popen("stream", yaml, env=db.env, cwd=tmp_path)
    try:
        time.sleep(1.5)
        db.sql("INSERT INTO other SELECT generate_series(1, 1000)")  # WAL of no interest
        time.sleep(0.5)
        t0 = time.time()
        db.server.restart()
        assert time.time() - t0 < 30
        db.sql("INSERT INTO t VALUES (2)")
        deadline = time.time() + 30
        while time.time() < deadline:
            rows = oracle.read_deltalake(tmp_path / "out").num_rows
            if rows == 2:
                break
            time.sleep(0.2)
        assert rows == 2
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert _confirmed(db) <= _table_lsn(tmp_path / "out")
