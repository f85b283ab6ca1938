"""PostgreSQL as a source (issue 23, part 1): `source.type: postgres` reads a table or a query
from the real PostgreSQL 15 server the `postgres` fixture starts, through ADBC, in one
consistent snapshot per run; the watermark's range is pushed down into the query. What lands
in the table is compared with what PostgreSQL holds, read back by deltalake (and pyiceberg).
"""
from __future__ import annotations

import datetime as dt
import decimal
import itertools
import signal
import time
import uuid

import pyarrow as pa
import pytest

import oracle
import pipeline_support as ps
from support import check_refusal

_names = itertools.count()


@pytest.fixture
def db(postgres):
    """A database of its own, owned by the test role, and a psycopg2 connection to it."""
    d = postgres.database(f"src{next(_names)}")
    yield d
    d.close()


def _pipeline(tmp_path, db, strategy, *, table=None, query=None, dest="out", **source):
    src = {"type": "postgres", "connection": db.uri, **source}
    if table:
        src["table"] = table
    if query:
        src["query"] = query
    p = {"name": "pg", "source": src, "destination": {"path": dest}, "strategy": strategy}
    return ps.write_pipelines(tmp_path / "p.yaml", p)


def _table(path):
    """The table as delta-rs reads it, with plain (not view) string and binary types."""
    t = oracle.read_deltalake(path)
    plain = {pa.types.is_string_view: pa.string(), pa.types.is_binary_view: pa.binary()}
    fields = []
    for f in t.schema:
        kind = next((v for k, v in plain.items() if k(f.type)), None)
        if kind is None and pa.types.is_list(f.type) or pa.types.is_large_list(f.type):
            value = f.type.value_type
            value = next((v for k, v in plain.items() if k(value)), value)
            kind = pa.list_(value)
        fields.append(pa.field(f.name, kind or f.type))
    return t.cast(pa.schema(fields))


def _sorted(t: pa.Table, key="id") -> pa.Table:
    return t.sort_by(key)


def test_every_mapped_type_with_nulls_and_extremes(tmp_path, db):
    db.sql("CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy')")
    db.sql("CREATE DOMAIN posint AS integer CHECK (VALUE > 0)")
    db.sql("""CREATE TABLE t (
        id int PRIMARY KEY, s smallint, i int, b bigint, n numeric(12,3), u numeric,
        r real, d double precision, f boolean, tx text, vc varchar(10), ch char(4),
        by bytea, dt date, tm time, ts timestamp, tz timestamptz, iv interval, id2 uuid,
        j json, jb jsonb, ai int[], at text[], m mood, p posint)""")
    db.sql("""INSERT INTO t VALUES
        (1, -32768, -2147483648, -9223372036854775808, -999999999.999, 12345.678901234567890123,
         -3.5, -1e300, true, 'héllo', 'v', 'ab', '\\x00ff10', '0001-01-01', '00:00:00',
         '1970-01-01 00:00:00', '2024-03-01 12:00:00+02', '1 year 2 mons 3 days 04:05:06.5',
         'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": [1, 2]}', '{"b": null}', '{1,NULL,3}',
         '{"x","y"}', 'happy', 7),
        (2, 32767, 2147483647, 9223372036854775807, 999999999.999, -0.000000000000000001,
         3.25, 1.5, false, '', '0123456789', 'abcd', '', '9999-12-31', '23:59:59.999999',
         '2262-04-11 23:47:16.854775', '1900-01-01 00:00:00+00', '-1 days', 
         '00000000-0000-0000-0000-000000000000', '[]', '[]', '{}', '{}', 'sad', 1),
        (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
         NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)""")
    yaml = _pipeline(tmp_path, db, {"type": "full_refresh"}, table="public.t")
    report = ps.run(yaml, env=db.env).report
    assert report["rows_written"] == 3, report
    got = _sorted(_table(tmp_path / "out"))
    utc = dt.timezone.utc
    expected = pa.table({
        "id": pa.array([1, 2, 3], pa.int32()),
        "s": pa.array([-32768, 32767, None], pa.int16()),
        "i": pa.array([-2147483648, 2147483647, None], pa.int32()),
        "b": pa.array([-9223372036854775808, 9223372036854775807, None], pa.int64()),
        "n": pa.array([decimal.Decimal("-999999999.999"), decimal.Decimal("999999999.999"), None],
                      pa.decimal128(12, 3)),
        "u": pa.array([decimal.Decimal("12345.678901234567890123").quantize(decimal.Decimal(1).scaleb(-18)),
                       decimal.Decimal("-0.000000000000000001"), None], pa.decimal128(38, 18)),
        "r": pa.array([-3.5, 3.25, None], pa.float32()),
        "d": pa.array([-1e300, 1.5, None], pa.float64()),
        "f": pa.array([True, False, None]),
        "tx": pa.array(["héllo", "", None]),
        "vc": pa.array(["v", "0123456789", None]),
        "ch": pa.array(["ab  ", "abcd", None]),
        "by": pa.array([b"\x00\xff\x10", b"", None], pa.binary()),
        "dt": pa.array([dt.date(1, 1, 1), dt.date(9999, 12, 31), None], pa.date32()),
        "tm": pa.array(["00:00:00.000000", "23:59:59.999999", None]),
        "ts": pa.array([dt.datetime(1970, 1, 1), dt.datetime(2262, 4, 11, 23, 47, 16, 854775), None],
                       pa.timestamp("us")),
        "tz": pa.array([dt.datetime(2024, 3, 1, 10, 0, tzinfo=utc),
                        dt.datetime(1900, 1, 1, tzinfo=utc), None], pa.timestamp("us", "UTC")),
        "iv": pa.array(["P1Y2M3DT4H5M6.5S", "P-1D", None]),
        "id2": pa.array(["a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11",
                         "00000000-0000-0000-0000-000000000000", None]),
        "j": pa.array(['{"a": [1, 2]}', "[]", None]),
        "jb": pa.array(['{"b": null}', "[]", None]),
        "ai": pa.array([[1, None, 3], [], None], pa.list_(pa.int32())),
        "at": pa.array([["x", "y"], [], None], pa.list_(pa.string())),
        "m": pa.array(["happy", "sad", None]),
        "p": pa.array([7, 1, None], pa.int32()),
    })
    # Rounded at the 18th decimal as numeric's text is cast.
    assert got.column("u")[0].as_py() == decimal.Decimal("12345.678901234567890123").quantize(
        decimal.Decimal("1e-18")), got.column("u")
    for name in expected.column_names:
        assert got.schema.field(name).type == expected.schema.field(name).type, \
            (name, got.schema.field(name).type)
        assert got.column(name).to_pylist() == expected.column(name).to_pylist(), name
    assert got.column_names == expected.column_names


def test_watermark_pushes_its_range_down_and_loads_each_row_once(tmp_path, db):
    db.sql("CREATE TABLE ev (id bigint, at timestamptz, v text)")

    def add(ids, hour):
        for i in ids:
            db.sql("INSERT INTO ev VALUES (%s, %s, %s)", i,
                   dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc) + dt.timedelta(hours=hour), f"v{i}")

    add(range(0, 100), 1)
    add(range(100, 200), 2)
    yaml = _pipeline(tmp_path, db, {"type": "watermark", "cursor": "at", "lookback": "1h"},
                     table="ev", dest="out")
    first = ps.run(yaml, env=db.env).report
    assert first["rows_read"] == 200 and first["rows_written"] == 200, first
    # Nothing new: the pushed-down range reads only what is after watermark - lookback (the
    # hour-2 rows; exclusive, so 01:00 itself is not), and nothing is written twice.
    second = ps.run(yaml, env=db.env).report
    assert second["rows_read"] == 100 and second["rows_written"] == 0, second
    add(range(200, 250), 5)
    add(range(250, 260), 2)  # late, inside the lookback
    third = ps.run(yaml, env=db.env).report
    # Only rows after 01:00 (the lookback behind 02:00) are read.
    assert third["rows_read"] == 160 and third["rows_written"] == 60, third
    add(range(260, 270), 0)  # too late: before the lookback, never read
    fourth = ps.run(yaml, env=db.env).report
    # The watermark is 05:00 now: only the hour-5 rows (and nothing older) come back.
    assert fourth["rows_read"] == 50 and fourth["rows_written"] == 0, fourth
    got = _table(tmp_path / "out")
    assert sorted(got.column("id").to_pylist()) == list(range(260))
    # A backfill of hour 0 loads what the watermark skipped, reading only that range.
    bf = ps.run(yaml, "--from", "2024-01-01T00:00:00Z", "--to", "2024-01-01T01:00:00Z",
                env=db.env).report
    assert bf["rows_read"] == 10 and bf["rows_written"] == 10, bf
    assert sorted(_table(tmp_path / "out").column("id").to_pylist()) == list(range(270))


def test_an_integer_cursor_over_a_query(tmp_path, db):
    db.sql("CREATE TABLE orders (seq bigint, amount numeric(10,2), status text)")
    db.sql("INSERT INTO orders SELECT g, g * 1.5, CASE WHEN g % 2 = 0 THEN 'paid' ELSE 'open' END "
           "FROM generate_series(1, 1000) g")
    yaml = _pipeline(tmp_path, db, {"type": "watermark", "cursor": "seq"},
                     query="SELECT seq, amount FROM orders WHERE status = 'paid'; -- paid only")
    assert ps.run(yaml, env=db.env).report["rows_written"] == 500
    db.sql("INSERT INTO orders SELECT g, g * 1.5, 'paid' FROM generate_series(1001, 1010) g")
    r = ps.run(yaml, env=db.env).report
    assert r["rows_read"] == 10 and r["rows_written"] == 10, r
    got = _table(tmp_path / "out")
    assert got.num_rows == 510 and got.schema.field("amount").type == pa.decimal128(10, 2)


def test_a_backfill_range_is_read_as_the_strategy_reads_it(tmp_path, db):
    # A timestamp (without zone) cursor and bounds with a zone offset: PostgreSQL would
    # ignore the offset in a literal; the pushed-down range must not.
    db.sql("CREATE TABLE ntz (id int, at timestamp)")
    db.sql("INSERT INTO ntz VALUES (1, '2023-12-31 21:30'), (2, '2023-12-31 23:00'), "
           "(3, '2024-01-01 00:30'), (4, '2024-01-02 00:00')")
    yaml = _pipeline(tmp_path, db, {"type": "watermark", "cursor": "at"}, table="ntz")
    db.sql("DELETE FROM ntz WHERE id < 4")
    ps.run(yaml, env=db.env)  # the watermark is at 2024-01-02 now
    db.sql("INSERT INTO ntz VALUES (1, '2023-12-31 21:30'), (2, '2023-12-31 23:00'), "
           "(3, '2024-01-01 00:30')")
    r = ps.run(yaml, "--from", "2024-01-01T00:00:00+02:00", "--to", "2024-01-01T02:00:00+02:00",
               env=db.env).report
    # 22:00Z <= at < 00:00Z: row 2 only.
    assert r["rows_read"] == 1 and r["rows_written"] == 1, r
    assert sorted(_table(tmp_path / "out").column("id").to_pylist()) == [2, 4]


def test_snapshot_diff_follows_updates_and_deletes(tmp_path, db):
    db.sql("CREATE TABLE c (id int PRIMARY KEY, name text, score numeric(6,1))")
    db.sql("INSERT INTO c SELECT g, 'n' || g, g / 10.0 FROM generate_series(1, 500) g")
    p = {"name": "pg", "source": {"type": "postgres", "connection": db.uri, "table": "c"},
         "destination": {"path": "out", "keys": ["id"]},
         "strategy": {"type": "snapshot_diff", "max_delete_percent": 50}}
    yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
    ps.run(yaml, env=db.env)
    db.sql("UPDATE c SET name = 'changed' WHERE id % 7 = 0")
    db.sql("DELETE FROM c WHERE id > 450")
    db.sql("INSERT INTO c VALUES (1000, 'new', 1.0)")
    r = ps.run(yaml, env=db.env).report
    assert r["rows_updated"] == 64 and r["rows_deleted"] == 50 and r["rows_inserted"] == 1, r
    want = db.sql("SELECT id, name, score FROM c ORDER BY id")
    got = _sorted(_table(tmp_path / "out"))
    assert list(zip(*[got.column(c).to_pylist() for c in ("id", "name", "score")])) == \
        [tuple(row) for row in want]


def test_an_iceberg_destination_read_by_pyiceberg(tmp_path, db):
    db.sql("CREATE TABLE ev (id bigint, at timestamp, v text)")
    db.sql("INSERT INTO ev SELECT g, timestamp '2024-01-01' + g * interval '1 minute', 'v' || g "
           "FROM generate_series(1, 300) g")
    p = {"name": "pg", "source": {"type": "postgres", "connection": db.uri, "table": "ev"},
         "destination": {"path": "ice", "format": "iceberg", "partition_by": ["hour(at)"]},
         "strategy": {"type": "watermark", "cursor": "at"}}
    yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
    assert ps.run(yaml, env=db.env).report["rows_written"] == 300
    db.sql("INSERT INTO ev SELECT g, timestamp '2024-01-01' + g * interval '1 minute', 'v' || g "
           "FROM generate_series(301, 320) g")
    r = ps.run(yaml, env=db.env).report
    assert r["rows_read"] == 20 and r["rows_written"] == 20, r
    got = ps.read_table(tmp_path / "ice").sort_by("id")  # pyiceberg
    assert got.column("id").to_pylist() == list(range(1, 321))


def test_unknown_types_fail_naming_the_column_or_read_as_text(tmp_path, db):
    db.sql("CREATE TABLE g (id int, at point, money_col money)")
    db.sql("INSERT INTO g VALUES (1, point(1, 2), 12.5)")
    yaml = _pipeline(tmp_path, db, {"type": "full_refresh"}, table="g")
    line = check_refusal(ps.cli("run", yaml, env=db.env, cwd=tmp_path, check=False))
    assert "column 'at' has type point" in line and "unknown_types: text" in line, line
    assert not (tmp_path / "out").exists()
    yaml = _pipeline(tmp_path, db, {"type": "full_refresh"}, table="g", unknown_types="text")
    ps.run(yaml, env=db.env)
    got = _table(tmp_path / "out")
    assert got.column("at").to_pylist() == ["(1,2)"]
    assert got.column("money_col").to_pylist() == ["$12.50"]


def test_values_a_table_cannot_hold_fail_naming_row_and_column(tmp_path, db):
    db.sql("CREATE TABLE x (id int, big numeric, at timestamp)")
    db.sql("INSERT INTO x VALUES (1, 1, '2024-01-01'), (2, 1e30, '2024-01-01')")
    yaml = _pipeline(tmp_path, db, {"type": "full_refresh"}, table="x")
    line = check_refusal(ps.cli("run", yaml, env=db.env, cwd=tmp_path, check=False))
    assert "row 2, column 'big' (numeric)" in line and "unconstrained_numeric: string" in line, line
    yaml = _pipeline(tmp_path, db, {"type": "full_refresh"}, table="x",
                     unconstrained_numeric="string")
    ps.run(yaml, env=db.env)
    assert _table(tmp_path / "out").column("big").to_pylist() == ["1", "1000000000000000000000000000000"]
    db.sql("UPDATE x SET at = 'infinity' WHERE id = 2")
    line = check_refusal(ps.cli("run", yaml, env=db.env, cwd=tmp_path, check=False))
    assert "row 2, column 'at' (timestamp): infinity" in line, line
    assert _table(tmp_path / "out").num_rows == 2  # unchanged
    # Inside an array too.
    db.sql("CREATE TABLE arr (id int, days date[])")
    db.sql("INSERT INTO arr VALUES (1, ARRAY['2024-01-01'::date]), (2, ARRAY['infinity'::date])")
    yaml = _pipeline(tmp_path, db, {"type": "full_refresh"}, table="arr", dest="arr_out")
    line = check_refusal(ps.cli("run", yaml, env=db.env, cwd=tmp_path, check=False))
    assert "row 2, column 'days' (date): infinity" in line, line


def test_unconstrained_numeric_rounds_to_18_places_and_never_wraps(tmp_path, db):
    db.sql("CREATE TABLE num (id int, v numeric, f numeric(5,2))")
    db.sql("INSERT INTO num VALUES (1, '20000000000000000000.0000000000000000001', 1.5), "
           "(2, '-0.0000000000000000005', -999.99), (3, 1e-60, 0), "
           "(4, '12.3456789012345678905', NULL)")
    yaml = _pipeline(tmp_path, db, {"type": "full_refresh"}, table="num")
    ps.run(yaml, env=db.env)
    got = _sorted(_table(tmp_path / "out"))
    D = decimal.Decimal
    assert got.column("v").to_pylist() == [
        D("20000000000000000000.000000000000000000"), D("-0.000000000000000001"),
        D("0E-18"), D("12.345678901234567891")], got.column("v")
    assert got.column("f").to_pylist() == [D("1.50"), D("-999.99"), D("0.00"), None]
    # 21 integer digits do not fit decimal(38,18): refused, naming the row; nothing wraps.
    db.sql("INSERT INTO num VALUES (5, '340282366920938463463374607431768211457', 0)")
    line = check_refusal(ps.cli("run", yaml, env=db.env, cwd=tmp_path, check=False))
    assert "row 5, column 'v' (numeric)" in line, line
    db.sql("DELETE FROM num WHERE id = 5")
    db.sql("INSERT INTO num VALUES (5, 0, 'NaN')")
    line = check_refusal(ps.cli("run", yaml, env=db.env, cwd=tmp_path, check=False))
    assert "column 'f' (numeric): the value nan does not fit decimal128(5, 2) (cast it" in \
        line.replace("NaN", "nan"), line


def test_connection_errors_name_the_database_and_keep_the_password(tmp_path, db):
    secret = "not-the-password-9d1"
    p = {"name": "pg", "source": {"type": "postgres", "host": "127.0.0.1",
                                  "port": db.server.port, "database": db.name,
                                  "user": db.server.user, "password": "${PG_PASSWORD}",
                                  "table": "nothere"},
         "destination": {"path": "out"}, "strategy": {"type": "full_refresh"}}
    yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
    proc = ps.cli("run", yaml, env={"PG_PASSWORD": secret, "PGPASSWORD": None}, cwd=tmp_path,
                  check=False)
    line = check_refusal(proc)
    assert f"127.0.0.1:{db.server.port}/{db.name}" in line, line
    assert "password authentication failed" in line, line
    assert secret not in proc.stdout + proc.stderr
    # The right password (with characters a URI must escape); the table does not exist.
    proc = ps.cli("run", yaml, env={"PG_PASSWORD": db.server.password, "PGPASSWORD": None},
                  cwd=tmp_path, check=False)
    line = check_refusal(proc)
    assert 'relation "nothere" does not exist' in line, line
    # A database that does not exist.
    p["source"].update({"database": "no_such_db", "table": "t"})
    yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
    line = check_refusal(ps.cli("run", yaml, env={"PG_PASSWORD": db.server.password},
                                cwd=tmp_path, check=False))
    assert 'database "no_such_db" does not exist' in line, line
    assert not (tmp_path / "out").exists()
    # A password with characters a URI escapes, in a URI libpq cannot parse (libpq repeats
    # the whole URI): neither spelling of it is shown.
    odd = "p@ss w%rd*"
    p["source"] = {"type": "postgres", "connection": f"postgresql://x@[::1/{db.name}",
                   "password": "${PG_PASSWORD}", "table": "t"}
    yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
    proc = ps.cli("run", yaml, env={"PG_PASSWORD": odd}, cwd=tmp_path, check=False)
    line = check_refusal(proc)
    for spelling in (odd, "p%40ss%20w%25rd%2A"):
        assert spelling not in proc.stdout + proc.stderr, line


def test_tls_with_the_server_certificate_verified(tmp_path, db):
    db.sql("CREATE TABLE t (id int)")
    db.sql("INSERT INTO t VALUES (1), (2)")
    base = {"type": "postgres", "host": "127.0.0.1", "port": db.server.port,
            "database": db.name, "user": db.server.user, "table": "t"}
    p = {"name": "pg", "source": {**base, "sslmode": "verify-full",
                                  "sslrootcert": str(db.server.ca_file)},
         "destination": {"path": "out"}, "strategy": {"type": "full_refresh"}}
    yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
    assert ps.run(yaml, env=db.env).report["rows_written"] == 2
    # A certificate authority that did not sign the server's certificate: refused.
    other = tmp_path / "other-ca.crt"
    import subprocess
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=someone else", "-keyout", str(tmp_path / "other.key"),
                    "-out", str(other)], check=True, capture_output=True)
    p["source"]["sslrootcert"] = str(other)
    yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
    line = check_refusal(ps.cli("run", yaml, env=db.env, cwd=tmp_path, check=False))
    assert "certificate verify failed" in line, line
    assert _table(tmp_path / "out").num_rows == 2


def test_config_refuses_what_a_postgres_source_cannot_do(tmp_path, db):
    for strategy, source, want in [
        ({"type": "append"}, {"table": "t"}, "a postgres source takes full_refresh, watermark"),
        ({"type": "full_refresh"}, {"table": "t", "query": "SELECT 1"}, "give a table or a query"),
        ({"type": "full_refresh"}, {"table": "a..b"}, "is not a table name"),
        ({"type": "full_refresh"}, {"table": "t", "host": "h"}, "not both"),
    ]:
        p = {"name": "pg", "source": {"type": "postgres", "connection": db.uri, **source},
             "destination": {"path": "out", "keys": ["id"]}, "strategy": strategy}
        yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
        line = check_refusal(ps.cli("run", yaml, cwd=tmp_path, check=False))
        assert want in line, (want, line)


def test_a_full_refresh_streams_into_a_partitioned_table_and_refuses_an_empty_extract(tmp_path, db):
    db.sql("CREATE TABLE ev (id int, at timestamptz, v text)")
    db.sql("INSERT INTO ev SELECT g, timestamptz '2024-01-01 00:00+00' + g * interval '1 hour', "
           "repeat('x', g % 50) FROM generate_series(1, 20000) g")
    p = {"name": "pg", "source": {"type": "postgres", "connection": db.uri, "table": "ev"},
         "destination": {"path": "out", "partition_by": ["month(at)"]},
         "strategy": {"type": "full_refresh"}}
    yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
    first = ps.run(yaml, env=db.env).report
    assert first["rows_read"] == 20000 and first["rows_written"] == 20000, first
    assert first["partitions_touched"] == 12, first  # at_month: 1-12 on Delta
    db.sql("DELETE FROM ev WHERE id % 3 = 0")
    second = ps.run(yaml, env=db.env).report
    assert second["rows_written"] == 13334 and second["run"] == 2, second
    want = [r[0] for r in db.sql("SELECT id FROM ev ORDER BY id")]
    assert sorted(_table(tmp_path / "out").column("id").to_pylist()) == want
    # An empty extract would empty the table: refused, and the table stays as it was.
    db.sql("DELETE FROM ev")
    line = check_refusal(ps.cli("run", yaml, env=db.env, cwd=tmp_path, check=False))
    assert "the extract has no rows" in line, line
    assert sorted(_table(tmp_path / "out").column("id").to_pylist()) == want


@pytest.mark.parametrize("point", ["write.after_data_files", "commit.after_log_write"])
@pytest.mark.parametrize("strategy", [{"type": "full_refresh"},
                                      {"type": "watermark", "cursor": "id"}],
                         ids=["full_refresh_streamed", "watermark"])
def test_a_killed_load_neither_loses_nor_doubles_a_row(tmp_path, db, strategy, point):
    db.sql("CREATE TABLE s (id bigint, v text)")
    db.sql("INSERT INTO s SELECT g, 'v' || g FROM generate_series(1, 5000) g")
    yaml = _pipeline(tmp_path, db, strategy, table="s")
    ps.run(yaml, env=db.env)
    db.sql("INSERT INTO s SELECT g, 'v' || g FROM generate_series(5001, 8000) g")
    proc = ps.cli("run", yaml, "--json", env={**db.env, "INLET_CRASH_AT": point}, cwd=tmp_path,
                  check=False)
    assert proc.returncode in ps.KILLED, proc
    after = ps.run(yaml, env=db.env).report
    if strategy["type"] == "watermark":
        # The killed run's commit either landed (nothing left to load) or did not.
        assert after["rows_written"] == (0 if point == "commit.after_log_write" else 3000), after
    ids = _table(tmp_path / "out").column("id").to_pylist()
    assert sorted(ids) == list(range(1, 8001))


def test_a_watermark_run_reads_and_commits_in_chunks(tmp_path, db):
    """source.chunk_rows bounds what a run holds: the rows past the watermark are read in
    cursor order, a chunk at a time, each committed with the watermark it reached; a cursor
    value is never split, a lookback wider than a chunk still moves on, and a run killed
    between chunks goes on from the last one committed."""
    db.sql("CREATE TABLE ev (id bigint, at timestamptz, v text)")
    base = "timestamptz '2024-01-01 00:00:00+00'"

    def add(first, last, seconds_per_group=None, at=None):
        when = at or f"{base} + ((g / 7) * interval '1 second')"
        db.sql(f"INSERT INTO ev SELECT g, {when}, 'v' || g FROM generate_series({first}, {last}) g")

    add(0, 24999)  # groups of 7 rows per second
    strategy = {"type": "watermark", "cursor": "at", "lookback": "1h"}
    yaml = _pipeline(tmp_path, db, strategy, table="ev", chunk_rows=10000)
    first = ps.run(yaml, env=db.env).report
    assert first["commits"] == 3 and first["rows_written"] == 25000, first
    assert first["watermark_after"].startswith("2024-01-01T00:59:31"), first
    ids = _table(tmp_path / "out").column("id").to_pylist()
    assert sorted(ids) == list(range(25000))
    # Each chunk is a commit of its own, with the watermark it reached.
    assert len(ps.log_commits(tmp_path / "out")) == 3
    # The one-hour lookback holds every row: each chunk still counts from the watermark.
    add(25000, 39999)
    second = ps.run(yaml, env=db.env).report
    assert second["rows_written"] == 15000 and second["commits"] == 2, second
    # A value held by more rows than a chunk comes whole, in one chunk.
    add(40000, 52999, at=f"{base} + interval '2 hours'")
    third = ps.run(yaml, env=db.env).report
    assert third["rows_written"] == 13000 and third["commits"] == 1, third
    assert sorted(_table(tmp_path / "out").column("id").to_pylist()) == list(range(53000))
    # Killed after its first chunk's commit: the next run loads the rest, once.
    add(53000, 99999, at=f"{base} + interval '3 hours' + ((g / 7) * interval '1 second')")
    proc = ps.popen("run", yaml, env=db.env, cwd=tmp_path)
    log = tmp_path / "out" / "_delta_log"
    before = len(list(log.glob("*.json")))
    deadline = time.time() + 120
    while len(list(log.glob("*.json"))) == before and time.time() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    after = ps.run(yaml, env=db.env).report
    assert after["status"] == "committed", after
    ids = _table(tmp_path / "out").column("id").to_pylist()
    assert len(ids) == len(set(ids)) and sorted(ids) == list(range(100000))


def test_chunks_leave_out_what_the_safety_margin_holds_back(tmp_path, db):
    """Rows a safety margin holds back are no chunk's: a run whose margin holds more than
    a chunk ends (it once went on committing chunk after chunk of nothing new)."""
    db.sql("CREATE TABLE ev (id bigint, at timestamptz)")
    db.sql("INSERT INTO ev SELECT g, now() - g * interval '1 second' FROM generate_series(0, 29999) g")
    strategy = {"type": "watermark", "cursor": "at", "safety_margin": "2h", "null_cursor": "include"}
    db.sql("INSERT INTO ev VALUES (-1, NULL)")
    yaml = _pipeline(tmp_path, db, strategy, table="ev", chunk_rows=5000)
    report = ps.run(yaml, env=db.env).report
    assert report["status"] == "committed" and 4 <= report["commits"] <= 6, report
    ids = _table(tmp_path / "out").column("id").to_pylist()
    # Rows older than two hours (7200 s and more), each once, and the null-cursor row once.
    assert len(ids) == len(set(ids)) and -1 in ids
    assert 22795 <= len(ids) - 1 <= 22801 and min(i for i in ids if i >= 0) >= 7199, len(ids)
    # Row-count gates judge the whole run: it reads at once.
    p = ps.write_pipelines(tmp_path / "p.yaml", {
        "name": "pg", "source": {"type": "postgres", "connection": db.uri, "table": "ev", "chunk_rows": 5000},
        "destination": {"path": "gated"}, "strategy": {"type": "watermark", "cursor": "at", "null_cursor": "include"},
        "quality": {"max_rows": 40000}})
    gated = ps.run(p, env=db.env).report
    assert gated["commits"] == 1 and gated["rows_written"] == 30001, gated
