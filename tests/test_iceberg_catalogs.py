"""Iceberg tables named by a catalog (issue 21, part 1 §1): the SQL catalog that Java's
JdbcCatalog (Spark, Trino), pyiceberg's SqlCatalog and iceberg-cpp share, on SQLite (the
embedded default: a file, nothing to run) and on a real PostgreSQL server. A commit writes
`<N>-<uuid>.metadata.json` and moves the catalog's pointer with a compare-and-set; pyiceberg
reads what inlet commits and inlet reads and appends to what pyiceberg commits.
"""
from __future__ import annotations

import json
import pathlib
import sqlite3
import subprocess

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import oracle
import pipeline_support as ps
from support import check_refusal, run_inlet, wait_stopped, write, write_concurrently

SCHEMA = pa.schema([("id", pa.int64()), ("city", pa.string()), ("ts", pa.timestamp("us"))])


def _rows(start: int, n: int) -> pa.Table:
    return pa.table({
        "id": pa.array(range(start, start + n), pa.int64()),
        "city": [f"c{i % 3}" for i in range(start, start + n)],
        "ts": pa.array([ps.hours(i).replace(tzinfo=None) for i in range(start, start + n)],
                       pa.timestamp("us")),
    }, schema=SCHEMA)


def _sqlite(tmp_path):
    db = tmp_path / "wh" / "catalog.db"
    return f"sqlite:{db}", db


def _pyiceberg(uri: str, name: str = "default", **props):
    from pyiceberg.catalog.sql import SqlCatalog
    return SqlCatalog(name, uri=uri, **props)


def _scan(catalog_args, table, tmp_path) -> pa.Table:
    from support import scan
    return scan(table, *catalog_args, out_dir=tmp_path / "scans")


def test_inlet_commits_through_a_sqlite_catalog_and_pyiceberg_reads_every_snapshot(tmp_path):
    uri, db = _sqlite(tmp_path)
    cat = ["--catalog", uri]
    for i in range(3):
        write("lake.events", _rows(10 * i, 10), *cat, "--format", "iceberg",
              "--partition-by", "day(ts)", work_dir=tmp_path / "in")
    # The catalog holds the table and its namespace, as Java's JdbcCatalog lays them out.
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT catalog_name, table_namespace, table_name, metadata_location,"
                            " previous_metadata_location, iceberg_type FROM iceberg_tables").fetchall()
        namespaces = conn.execute("SELECT namespace, property_key FROM iceberg_namespace_properties").fetchall()
    assert len(rows) == 1 and rows[0][:3] == ("default", "lake", "events") and rows[0][5] == "TABLE", rows
    assert rows[0][3].startswith(f"file://{tmp_path}/wh/lake/events/metadata/00003-"), rows
    assert rows[0][4].startswith(f"file://{tmp_path}/wh/lake/events/metadata/00002-"), rows
    assert namespaces == [("lake", "exists")], namespaces
    # No file-system table files: no version hint, no v<N>.metadata.json.
    metadata = sorted(p.name for p in (tmp_path / "wh/lake/events/metadata").glob("*.metadata.json"))
    assert [m[:6] for m in metadata] == ["00001-", "00002-", "00003-"], metadata
    assert not (tmp_path / "wh/lake/events/metadata/version-hint.text").exists()

    catalog = _pyiceberg(f"sqlite:///{db}")
    table = catalog.load_table("lake.events")
    history = table.metadata.snapshots
    assert len(history) == 3
    for i, snap in enumerate(history):
        got = table.scan(snapshot_id=snap.snapshot_id).to_arrow()
        oracle.assert_tables_equal(got, pa.concat_tables([_rows(0, 10 * (i + 1))]),
                                   f"pyiceberg at snapshot {i + 1}")
    assert [e.metadata_file for e in table.metadata.metadata_log] == \
        [f"file://{tmp_path}/wh/lake/events/metadata/{m}" for m in metadata[:2]]
    listed = run_inlet(*cat, "tables", "--json").stdout
    assert json.loads(listed) == ["lake.events"]


def test_inlet_and_pyiceberg_append_to_one_catalog_table_in_turn(tmp_path):
    uri, db = _sqlite(tmp_path)
    cat = ["--catalog", uri, "--catalog-name", "shared"]
    db.parent.mkdir()
    catalog = _pyiceberg(f"sqlite:///{db}", "shared", warehouse=f"file://{tmp_path}/wh")
    catalog.create_namespace("raw")
    created = catalog.create_table("raw.t", schema=SCHEMA)
    created.append(_rows(0, 4))
    # inlet reads what pyiceberg committed and appends after it.
    oracle.assert_tables_equal(_scan(cat, "raw.t", tmp_path), _rows(0, 4), "inlet reads pyiceberg's")
    write("raw.t", _rows(4, 4), *cat, work_dir=tmp_path / "in")
    catalog.load_table("raw.t").append(_rows(8, 4))
    write("raw.t", _rows(12, 4), *cat, work_dir=tmp_path / "in")
    expected = _rows(0, 16)
    oracle.assert_tables_equal(catalog.load_table("raw.t").scan().to_arrow(), expected, "pyiceberg")
    oracle.assert_tables_equal(_scan(cat, "raw.t", tmp_path), expected, "inlet")
    history = json.loads(run_inlet(*cat, "history", "raw.t", "--json").stdout)
    assert len(history) == 4, history
    # Another catalog name in the same file is another catalog: it has no raw.t.
    line = check_refusal(run_inlet("--catalog", uri, "scan", "raw.t", check=False))
    assert "no table raw.t in SQL catalog 'default'" in line, line


def test_concurrent_writers_through_one_catalog_lose_no_commit(tmp_path):
    uri, db = _sqlite(tmp_path)
    cat = ["--catalog", uri]
    write("lake.c", _rows(0, 1), *cat, work_dir=tmp_path / "in0")
    failures = write_concurrently("lake.c", lambda w, k: _rows(100 * (w + 1) + k, 1), *cat,
                                  writers=2, commits=6, work_dir=tmp_path)
    assert not failures, failures
    got = _pyiceberg(f"sqlite:///{db}").load_table("lake.c").scan().to_arrow()
    assert sorted(got.column("id").to_pylist()) == sorted(
        [0] + [100 * (w + 1) + k for w in range(2) for k in range(6)])
    metadata = list((tmp_path / "wh/lake/c/metadata").glob("*.metadata.json"))
    # Every commit left one metadata file; the losers of a race deleted theirs.
    assert len(metadata) == 13, sorted(m.name for m in metadata)


def test_a_path_table_registered_in_a_catalog_is_then_written_only_through_it(tmp_path):
    uri, db = _sqlite(tmp_path)
    table = tmp_path / "by_path"
    write(table, _rows(0, 3), "--format", "iceberg", work_dir=tmp_path / "in")
    write(table, _rows(3, 3), work_dir=tmp_path / "in")
    out = json.loads(run_inlet("--catalog", uri, "register", "lake.reg", table, "--json").stdout)
    # A copy of v2 named as catalogs name metadata files, logging v2: from now on the
    # table is the catalog's, and a write by path would fork it.
    assert out["metadata_location"].startswith(f"file://{table}/metadata/00003-"), out
    registered = json.loads(pathlib.Path(out["metadata_location"][7:]).read_text())
    assert registered["metadata-log"][-1]["metadata-file"] == f"file://{table}/metadata/v2.metadata.json"
    before = sorted(p.name for p in (table / "metadata").iterdir())
    line = check_refusal(write(table, _rows(9, 1), work_dir=tmp_path / "in", check=False))
    assert "a catalog has committed to it" in line and "00003-" in line, line
    assert sorted(p.name for p in (table / "metadata").iterdir()) == before
    # A second registration of the name is refused and leaves no copy behind.
    again = check_refusal(run_inlet("--catalog", uri, "register", "lake.reg", table, check=False))
    assert "has a table of that name already" in again, again
    assert sorted(p.name for p in (table / "metadata").iterdir()) == before
    write("lake.reg", _rows(6, 3), "--catalog", uri, work_dir=tmp_path / "in")
    got = _pyiceberg(f"sqlite:///{db}").load_table("lake.reg").scan().to_arrow()
    oracle.assert_tables_equal(got, _rows(0, 9), "pyiceberg through the catalog")


def test_a_pipeline_loads_into_a_catalog_table_exactly_once(tmp_path):
    (tmp_path / "src").mkdir()
    p = ps.pipeline("cat", path="src/*.csv", fmt="csv", dest="unused", schema={"id": "long", "v": "string"},
                    keys=["id"], strategy={"type": "append"})
    del p["destination"]["path"]
    p["destination"].update({"catalog": {"uri": "sqlite:wh/catalog.db", "name": "lake"},
                             "table": "parking_data.raw"})
    yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
    ps.write_source(tmp_path / "src" / "a.csv", [{"id": i, "v": f"v{i}"} for i in range(5)])
    report = ps.run(yaml).report
    assert report["status"] == "committed" and report["rows_written"] == 5, report
    assert report["table"] == "parking_data.raw", report
    ps.write_source(tmp_path / "src" / "b.csv", [{"id": i, "v": f"v{i}"} for i in range(5, 8)])
    proc = ps.cli("run", yaml, "--json", env={"INLET_CRASH_AT": "commit.after_log_write"},
                  cwd=tmp_path, check=False)
    assert proc.returncode in ps.KILLED, proc
    report = ps.run(yaml).report
    assert report["rows_written"] == 0, report  # the killed run committed b.csv
    catalog = _pyiceberg(f"sqlite:///{tmp_path}/wh/catalog.db", "lake")
    table = catalog.load_table("parking_data.raw")
    assert sorted(table.scan().to_arrow().column("id").to_pylist()) == list(range(8))
    assert table.location() == f"file://{tmp_path}/wh/parking_data/raw"
    summary = table.current_snapshot().summary
    assert summary["inlet.app.inlet.pipeline.cat"] == "2", summary.additional_properties


def test_catalog_refusals_name_the_catalog_and_change_nothing(tmp_path):
    uri, db = _sqlite(tmp_path)
    line = check_refusal(run_inlet("--catalog", uri, "scan", "lake.t", check=False))
    assert f"no SQLite catalog database at {db}" in line, line
    assert not db.exists()
    write("lake.t", _rows(0, 2), "--catalog", uri, work_dir=tmp_path / "in")
    line = check_refusal(run_inlet("--catalog", uri, "scan", "t", check=False))
    assert "'t' is not a table name" in line, line
    line = check_refusal(run_inlet("--catalog", "mysql://x/y", "scan", "lake.t", check=False))
    assert "unknown catalog URI" in line, line
    # A catalog pointing at a metadata file that is gone.
    with sqlite3.connect(db) as conn:
        (current,) = conn.execute("SELECT metadata_location FROM iceberg_tables").fetchone()
    path = current.removeprefix("file://")
    saved = open(path, "rb").read()
    import os
    os.remove(path)
    for cmd in (["scan", "lake.t"], ["write", "lake.t", "--input", tmp_path / "x.csv"]):
        (tmp_path / "x.csv").write_text("id,city,ts\n9,c,2024-01-01T00:00:00\n")
        line = check_refusal(run_inlet("--catalog", uri, *cmd, check=False))
        assert f"names {current} as the metadata of lake.t" in line, line
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT metadata_location FROM iceberg_tables").fetchone() == (current,)
    open(path, "wb").write(saved)
    oracle.assert_tables_equal(_scan(["--catalog", uri], "lake.t", tmp_path), _rows(0, 2), "restored")


@pytest.fixture(scope="module")
def pg_catalog(postgres):
    return postgres.create_database("iceberg_catalog")


def test_a_postgresql_catalog_shared_with_pyiceberg_keeps_the_password_out_of_sight(
        tmp_path, postgres, pg_catalog):
    cat = ["--catalog", pg_catalog, "--catalog-name", "pgcat", "--warehouse", str(tmp_path / "wh")]
    env = {"PGPASSWORD": postgres.password}
    for i in range(2):
        proc = run_inlet(*cat, "write", "sales.orders", "--input", _csv(tmp_path, i), env=env)
        assert postgres.password not in proc.stdout + proc.stderr
    catalog = _pyiceberg(postgres.sqlalchemy_uri("iceberg_catalog"), "pgcat")
    table = catalog.load_table("sales.orders")
    assert sorted(table.scan().to_arrow().column("id").to_pylist()) == list(range(6))
    table.append(table.scan().to_arrow().slice(0, 1))
    got = ps.cli(*cat, "scan", "sales.orders", "--output-format", "ndjson", env=env).stdout
    assert len(got.strip().splitlines()) == 7, got
    # A role that may only read and write the catalog's rows (no CREATE on the schema, as
    # PostgreSQL 15 gives non-owners) commits all the same.
    postgres.sql("CREATE ROLE dml_only LOGIN PASSWORD 'dml-pw'")
    postgres.sql("GRANT SELECT, INSERT, UPDATE, DELETE ON iceberg_tables, "
                 "iceberg_namespace_properties TO dml_only", db="iceberg_catalog")
    dml = ["--catalog", pg_catalog.replace(f"{postgres.user}@", "dml_only@")] + cat[2:]
    run_inlet(*dml, "write", "sales.orders", "--input", _csv(tmp_path, 2), env={"PGPASSWORD": "dml-pw"})
    assert catalog.load_table("sales.orders").scan().to_arrow().num_rows == 10
    # Without the password: refused, naming the server and not guessing a password.
    proc = run_inlet(*cat, "scan", "sales.orders", check=False, env={"PGPASSWORD": "wrong"})
    line = check_refusal(proc)
    assert "password authentication failed" in line and f"127.0.0.1:{postgres.port}" in line, line
    # A password given in the URI is redacted from every message.
    uri = pg_catalog.replace("inlet@", f"inlet:{postgres.password}@").replace("iceberg_catalog", "nope")
    proc = run_inlet("--catalog", uri, "scan", "sales.orders", check=False)
    line = check_refusal(proc)
    assert postgres.password not in line and "inlet:***@" in line, line


def _csv(tmp_path, i):
    path = tmp_path / f"orders-{i}.csv"
    path.write_text("id,amount\n" + "".join(f"{3 * i + k},{k}.5\n" for k in range(3)))
    return path


def test_trino_reads_a_catalog_table_inlet_keeps_in_postgresql(tmp_path, trino, postgres):
    """The seed's platform: an hourly-partitioned parking table in a JDBC catalog on
    PostgreSQL, queried by Trino with partition pruning."""
    cat = trino.iceberg_catalog_args()
    env = {"PGPASSWORD": postgres.password}
    lines = ["location,available_spaces,timestamp"]
    for h in range(24):
        for loc in ("north", "south"):
            lines.append(f"{loc},{10 + h if loc == 'north' else 50 - h},2026-12-01T{h:02d}:15:00")
    (tmp_path / "parking.csv").write_text("\n".join(lines) + "\n")
    run_inlet(*cat, "write", "parking_data.raw_parking_data", "--input", tmp_path / "parking.csv",
              "--partition-by", "hour(timestamp)", env=env)
    rows = trino.query("SELECT location, AVG(available_spaces) FROM iceberg.parking_data.raw_parking_data "
                       "WHERE CAST(\"timestamp\" AS date) = DATE '2026-12-01' AND "
                       "hour(\"timestamp\") BETWEEN 8 AND 18 GROUP BY location ORDER BY location")
    assert rows == [["north", 23.0], ["south", 37.0]], rows
    files = trino.query("SELECT count(*) FROM iceberg.parking_data.\"raw_parking_data$files\"")
    assert files == [[24]], files
    plan = "\n".join(r[0] for r in trino.query(
        "EXPLAIN ANALYZE SELECT count(*) FROM iceberg.parking_data.raw_parking_data "
        "WHERE \"timestamp\" >= TIMESTAMP '2026-12-01 08:00:00' AND "
        "\"timestamp\" < TIMESTAMP '2026-12-01 10:00:00'"))
    # Only the two hours' files are read: 4 rows of 48.
    assert "Input: 4 rows" in plan, plan


@pytest.mark.parametrize("change", ["dropped", "replaced"])
def test_a_table_dropped_or_replaced_during_a_commit_is_a_conflict(tmp_path, change):
    """Another engine drops the table (or drops and creates one of the same name) while an
    inlet commit is between building its metadata and moving the pointer: the commit must
    fail as a conflict, not land on the other table or bring the dropped one back."""
    import os
    import signal
    uri, db = _sqlite(tmp_path)
    write("lake.t", _rows(0, 2), "--catalog", uri, work_dir=tmp_path / "in")
    (tmp_path / "more.csv").write_text("id,city,ts\n9,c,2024-01-01T00:00:00\n")
    proc = ps.popen("--catalog", uri, "write", "lake.t", "--input", tmp_path / "more.csv",
                    env={"INLET_STOP_AT": "commit.before_log_write"})
    wait_stopped(proc.pid)
    catalog = _pyiceberg(f"sqlite:///{db}")
    catalog.drop_table("lake.t")
    if change == "replaced":
        catalog.create_table("lake.t", schema=SCHEMA, location=f"file://{tmp_path}/other")
    os.kill(proc.pid, signal.SIGCONT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 1, (out, err)
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("inlet: error:"), err
    assert ("dropped or renamed concurrently" if change == "dropped" else "replaced concurrently") in err, err
    if change == "dropped":
        assert not catalog.table_exists("lake.t")
    else:
        assert catalog.load_table("lake.t").scan().to_arrow().num_rows == 0


def test_catalog_tables_on_minio(tmp_path, place, iceberg_rest):
    """A SQL catalog (SQLite) and a REST catalog whose tables live on S3 (MinIO) or on local
    disk: inlet creates and appends through each, and pyiceberg reads them through the same
    catalog, with its S3 file IO on MinIO. (The REST server writes metadata files itself: on
    MinIO it is one of its own, with Iceberg's S3FileIO.)"""
    props = {}
    rest_server = iceberg_rest
    if place.minio:
        m = place.minio
        props = {"s3.endpoint": m.endpoint, "s3.access-key-id": m.access_key,
                 "s3.secret-access-key": m.secret_key, "s3.region": "us-east-1"}
        from iceberg_rest_server import IcebergRestServer
        rest_server = IcebergRestServer(tmp_path / "rest", place.uri("rest"), minio=m).start()
    try:
        uri, db = _sqlite(tmp_path)
        ns = f"m{place.kind}"
        targets = [(["--catalog", uri, "--warehouse", place.uri("wh")], f"{ns}.t"),
                   (["--catalog", rest_server.uri, "--warehouse", place.uri("rest")], f"{ns}.r")]
        for cat, name in targets:
            for i in range(2):
                path = tmp_path / f"{name}-{i}.parquet"
                pq.write_table(_rows(10 * i, 10), path)
                place.inlet(*cat, "write", name, "--input", path, "--input-format", "parquet",
                            "--partition-by", "day(ts)")
        got = _pyiceberg(f"sqlite:///{db}", **props).load_table(f"{ns}.t")
        assert got.location().endswith(f"wh/{ns}/t"), got.location()
        assert got.location().startswith("s3://" if place.minio else "file:///"), got.location()
        oracle.assert_tables_equal(got.scan().to_arrow(), _rows(0, 20), "pyiceberg via SQL")
        from pyiceberg.catalog import load_catalog
        r = load_catalog("rest", type="rest", uri=rest_server.uri, **props).load_table(f"{ns}.r")
        assert r.location().endswith(f"rest/{ns}/r"), r.location()
        assert r.metadata_location.startswith("s3://" if place.minio else "file:"), r.metadata_location
        oracle.assert_tables_equal(r.scan().to_arrow(), _rows(0, 20), "pyiceberg via REST")
    finally:
        if rest_server is not iceberg_rest:
            rest_server.stop()


def test_a_catalog_row_another_client_locks_fails_in_bounded_time(tmp_path, postgres):
    """A commit waiting on a catalog row another client holds locked fails when the
    statement timeout passes (30 s by default; here the URI's options set 2 s), naming the
    catalog, and the table stays as it was."""
    import time
    import psycopg2
    uri = postgres.create_database("locked_catalog")
    cat = ["--catalog", uri, "--warehouse", str(tmp_path / "wh")]
    env = {"PGPASSWORD": postgres.password}
    run_inlet(*cat, "write", "sales.orders", "--input", _csv(tmp_path, 0), env=env)
    holder = psycopg2.connect(postgres.sqlalchemy_uri("locked_catalog").replace("postgresql+psycopg2", "postgresql"))
    try:
        cur = holder.cursor()
        cur.execute("SELECT metadata_location FROM iceberg_tables FOR UPDATE")
        short = ["--catalog", uri + "?options=-c%20statement_timeout%3D2000"] + cat[2:]
        start = time.time()
        proc = run_inlet(*short, "write", "sales.orders", "--input", _csv(tmp_path, 1), env=env, check=False)
        elapsed = time.time() - start
        line = check_refusal(proc)
        assert "statement timeout" in line and "locked_catalog" in line, line
        assert elapsed < 30, elapsed
    finally:
        holder.rollback()
        holder.close()
    out = run_inlet(*cat, "scan", "sales.orders", "--output-format", "ndjson", env=env).stdout
    assert len(out.strip().splitlines()) == 3, out
