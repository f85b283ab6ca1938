"""Iceberg tables through a REST catalog (issue 21, part 1 §1): Apache Iceberg's own REST
catalog server (RESTCatalogServer 1.10.0, on loopback). inlet sends each commit as
requirements plus updates and the server writes the metadata file; pyiceberg, Spark and
Trino read what inlet commits, and inlet reads and appends to what they commit.
"""
from __future__ import annotations

import itertools
import json

import pyarrow as pa
import pytest

import oracle
import pipeline_support as ps
from support import check_refusal, run_inlet, scan, write, write_concurrently

SCHEMA = pa.schema([("id", pa.int64()), ("city", pa.string()), ("ts", pa.timestamp("us"))])
_names = itertools.count()


def _rows(start: int, n: int) -> pa.Table:
    return pa.table({
        "id": pa.array(range(start, start + n), pa.int64()),
        "city": [f"c{i % 3}" for i in range(start, start + n)],
        "ts": pa.array([ps.hours(i).replace(tzinfo=None) for i in range(start, start + n)],
                       pa.timestamp("us")),
    }, schema=SCHEMA)


@pytest.fixture
def ns():
    """A namespace of its own for each test in the shared server."""
    return f"rest{next(_names)}"


def _pyiceberg(server):
    from pyiceberg.catalog import load_catalog
    return load_catalog("rest", type="rest", uri=server.uri)


def test_inlet_commits_through_rest_and_pyiceberg_reads_every_snapshot(tmp_path, iceberg_rest, ns):
    cat = ["--catalog", iceberg_rest.uri]
    for i in range(3):
        write(f"{ns}.events", _rows(10 * i, 10), *cat, "--format", "iceberg",
              "--partition-by", "day(ts), bucket(id, 4)", work_dir=tmp_path / "in")
    table = _pyiceberg(iceberg_rest).load_table(f"{ns}.events")
    # The server wrote the metadata files; the table sits at the namespace's location.
    assert table.metadata_location.split("/")[-1].startswith("00002-"), table.metadata_location  # 00000- on create
    assert table.location().endswith(f"/wh/{ns}/events"), table.location()
    assert [(f.name, str(f.transform)) for f in table.spec().fields] == \
        [("ts_day", "day"), ("id_bucket", "bucket[4]")]
    snaps = table.metadata.snapshots
    assert [s.sequence_number for s in snaps] == [1, 2, 3]
    for i, s in enumerate(snaps):
        oracle.assert_tables_equal(table.scan(snapshot_id=s.snapshot_id).to_arrow(),
                                   _rows(0, 10 * (i + 1)), f"pyiceberg at snapshot {i + 1}")
    # pyiceberg appends; inlet reads it and appends after it.
    table.append(_rows(30, 2))
    write(f"{ns}.events", _rows(32, 2), *cat, work_dir=tmp_path / "in")
    oracle.assert_tables_equal(scan(f"{ns}.events", *cat, out_dir=tmp_path / "s"), _rows(0, 34), "inlet")
    history = json.loads(run_inlet(*cat, "history", f"{ns}.events", "--json").stdout)
    assert len(history) == 5, history
    assert json.loads(run_inlet(*cat, "tables", ns, "--json").stdout) == [f"{ns}.events"]


def test_a_table_pyiceberg_created_through_rest_is_read_and_extended(tmp_path, iceberg_rest, ns):
    catalog = _pyiceberg(iceberg_rest)
    catalog.create_namespace(ns)
    t = catalog.create_table(f"{ns}.made", schema=SCHEMA)
    with t.update_spec() as spec:
        spec.add_identity("city")
    t.append(_rows(0, 6))
    cat = ["--catalog", iceberg_rest.uri]
    oracle.assert_tables_equal(scan(f"{ns}.made", *cat, out_dir=tmp_path / "s"), _rows(0, 6), "inlet")
    write(f"{ns}.made", _rows(6, 6), *cat, work_dir=tmp_path / "in")
    oracle.assert_tables_equal(catalog.load_table(f"{ns}.made").scan().to_arrow(), _rows(0, 12), "pyiceberg")


def test_concurrent_writers_through_rest_lose_no_commit(tmp_path, iceberg_rest, ns):
    cat = ["--catalog", iceberg_rest.uri]
    write(f"{ns}.c", _rows(0, 1), *cat, work_dir=tmp_path / "in0")
    failures = write_concurrently(f"{ns}.c", lambda w, k: _rows(100 * (w + 1) + k, 1), *cat,
                                  writers=2, commits=5, work_dir=tmp_path)
    assert not failures, failures
    got = _pyiceberg(iceberg_rest).load_table(f"{ns}.c").scan().to_arrow()
    assert sorted(got.column("id").to_pylist()) == sorted(
        [0] + [100 * (w + 1) + k for w in range(2) for k in range(5)])


def test_register_and_a_pipeline_through_rest(tmp_path, iceberg_rest, ns):
    table = tmp_path / "by_path"
    write(table, _rows(0, 3), "--format", "iceberg", work_dir=tmp_path / "in")
    cat = ["--catalog", iceberg_rest.uri]
    out = json.loads(run_inlet(*cat, "register", f"{ns}.reg", table, "--json").stdout)
    assert out["metadata_location"].startswith(f"file://{table}/metadata/00002-"), out
    line = check_refusal(run_inlet(*cat, "register", f"{ns}.reg", table, check=False))
    assert "has a table of that name already" in line, line
    # A pipeline appends to the registered table through the catalog, exactly once.
    (tmp_path / "src").mkdir()
    p = ps.pipeline("restp", path="src/*.csv", fmt="csv", dest="unused",
                    schema={"id": "long", "city": "string", "ts": "timestamp"},
                    strategy={"type": "append"})
    del p["destination"]["path"]
    p["destination"].update({"catalog": {"uri": iceberg_rest.uri}, "table": f"{ns}.reg"})
    yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
    ps.write_source(tmp_path / "src" / "a.csv", _rows(3, 4).to_pylist())
    proc = ps.cli("run", yaml, "--json", env={"INLET_CRASH_AT": "commit.after_log_write"},
                  cwd=tmp_path, check=False)
    assert proc.returncode in ps.KILLED, proc
    assert ps.run(yaml).report["rows_written"] == 0  # the killed run had committed
    got = _pyiceberg(iceberg_rest).load_table(f"{ns}.reg")
    oracle.assert_tables_equal(got.scan().to_arrow(), _rows(0, 7), "pyiceberg")
    assert got.current_snapshot().summary["inlet.app.inlet.pipeline.restp"] == "1"


def test_an_unreachable_catalog_fails_naming_it_and_credentials_stay_secret(tmp_path, iceberg_rest, ns):
    cat = ["--catalog", iceberg_rest.uri]
    write(f"{ns}.t", _rows(0, 2), *cat, work_dir=tmp_path / "in")
    # OAuth2 client credentials are exchanged for a token; neither is ever printed.
    secret = "s3cr3t-client-secret"
    env = {"INLET_CATALOG_CREDENTIAL": f"inlet:{secret}"}
    proc = run_inlet(*cat, "scan", f"{ns}.t", env=env)
    assert secret not in proc.stdout + proc.stderr
    # A catalog that does not answer: one error naming it, within bounded time.
    dead = "http://127.0.0.1:9"
    (tmp_path / "x.csv").write_text("id,city,ts\n9,c,2024-01-01T00:00:00\n")
    for cmd in (["scan", f"{ns}.t"], ["write", f"{ns}.t", "--input", tmp_path / "x.csv"]):
        line = check_refusal(run_inlet("--catalog", dead, *cmd, check=False, env=env, timeout=60))
        assert "REST catalog http://127.0.0.1:9" in line and secret not in line, line
    line = check_refusal(run_inlet(*cat, "scan", f"{ns}.missing", check=False))
    assert f"no table {ns}.missing in REST catalog" in line, line
    oracle.assert_tables_equal(scan(f"{ns}.t", *cat, out_dir=tmp_path / "s"), _rows(0, 2), "unchanged")


def test_spark_reads_inlet_tables_through_rest(spark, tmp_path, iceberg_rest, ns):
    cat = ["--catalog", iceberg_rest.uri]
    write(f"{ns}.sp", _rows(0, 8), *cat, "--format", "iceberg", "--partition-by", "hour(ts)",
          work_dir=tmp_path / "in")
    write(f"{ns}.sp", _rows(8, 8), *cat, work_dir=tmp_path / "in")
    prefix = "spark.sql.catalog.rest_cat"
    spark.conf.set(prefix, "org.apache.iceberg.spark.SparkCatalog")
    spark.conf.set(f"{prefix}.type", "rest")
    spark.conf.set(f"{prefix}.uri", iceberg_rest.uri)
    spark.conf.set(f"{prefix}.cache-enabled", "false")
    got = spark.sql(f"SELECT * FROM rest_cat.{ns}.sp").toArrow()
    oracle.assert_tables_equal(got, _rows(0, 16), "Spark through REST")
    spark.sql(f"INSERT INTO rest_cat.{ns}.sp VALUES (100, 'x', TIMESTAMP_NTZ '2024-03-02 00:00:00')")
    ids = scan(f"{ns}.sp", *cat, out_dir=tmp_path / "s").column("id").to_pylist()
    assert sorted(ids) == list(range(16)) + [100]


def test_trino_reads_inlet_tables_through_rest(tmp_path, trino, iceberg_rest, ns):
    cat = ["--catalog", iceberg_rest.uri]
    write(f"{ns}.tr", _rows(0, 48), *cat, "--format", "iceberg", "--partition-by", "hour(ts)",
          work_dir=tmp_path / "in")
    rows = trino.query(f"SELECT count(*), min(id), max(id) FROM iceberg_rest.{ns}.tr")
    assert rows == [[48, 0, 47]], rows
    rows = trino.query(f"SELECT count(*) FROM iceberg_rest.{ns}.tr WHERE ts >= TIMESTAMP '2024-03-01 10:00:00' "
                       "AND ts < TIMESTAMP '2024-03-01 12:00:00'")
    assert rows == [[2]], rows


def test_tables_lists_nested_namespaces(tmp_path, iceberg_rest, ns):
    cat = ["--catalog", iceberg_rest.uri]
    for name in (f"{ns}.top", f"{ns}.inner.deep", f"{ns}.inner.more.deeper"):
        write(name, _rows(0, 2), *cat, "--format", "iceberg", work_dir=tmp_path / "in")
    listed = run_inlet(*cat, "tables").stdout.split()
    mine = [t for t in listed if t.startswith(f"{ns}.")]
    assert mine == [f"{ns}.inner.deep", f"{ns}.inner.more.deeper", f"{ns}.top"], listed


CLIENT_SECRET = "gateway-s3cret-9f2c"


@pytest.fixture
def guarded(iceberg_rest):
    """The REST catalog behind a gateway that enforces OAuth2 bearer tokens (auth_proxy.py)."""
    from auth_proxy import AuthProxy
    proxy = AuthProxy(iceberg_rest.uri, "inlet-client", CLIENT_SECRET)
    yield proxy
    proxy.stop()


def test_a_catalog_that_enforces_tokens(tmp_path, guarded, ns):
    cat = ["--catalog", guarded.uri]
    good = {"INLET_CATALOG_CREDENTIAL": f"inlet-client:{CLIENT_SECRET}"}
    # Without a credential the first request is refused: one error naming the catalog.
    proc = write(f"{ns}.t", _rows(0, 5), *cat, work_dir=tmp_path / "in", check=False)
    line = check_refusal(proc)
    assert f"REST catalog {guarded.uri}" in line and "HTTP 401" in line, line
    assert "check the catalog's token or credential" in line, line
    # A wrong secret: the token endpoint refuses it, and no secret is ever printed.
    bad = {"INLET_CATALOG_CREDENTIAL": "inlet-client:wrong-secret-7731"}
    proc = write(f"{ns}.t", _rows(0, 5), *cat, work_dir=tmp_path / "in", check=False, env=bad)
    line = check_refusal(proc)
    assert "cannot get a token for the catalog credential from " + guarded.uri in line, line
    assert "wrong-secret-7731" not in proc.stdout + proc.stderr
    assert guarded.count("token_refused") == 1
    assert guarded.count("forwarded") == 0  # nothing reached the catalog
    # The right credential: a token is fetched once per process and sent with every request.
    write(f"{ns}.t", _rows(0, 5), *cat, work_dir=tmp_path / "in", env=good)
    assert guarded.count("tokens_issued") == 1 and guarded.count("forwarded") > 0
    # A token that expired (revoked here): the 401 fetches a new one, once, and the commit lands.
    stale = guarded.issue()
    guarded.revoke()
    refused = guarded.count("unauthorised")
    write(f"{ns}.t", _rows(5, 5), *cat, work_dir=tmp_path / "in",
          env={**good, "INLET_CATALOG_TOKEN": stale})
    assert guarded.count("unauthorised") == refused + 1
    assert guarded.count("tokens_issued") == 3  # the stale one and its replacement
    # A stale bearer token without a credential cannot be renewed: refused, table unchanged.
    proc = run_inlet(*cat, "scan", f"{ns}.t", check=False, env={"INLET_CATALOG_TOKEN": stale})
    line = check_refusal(proc)
    assert "HTTP 401" in line and stale not in proc.stdout + proc.stderr, line
    # pyiceberg's own OAuth2 client through the same gateway reads what inlet committed.
    from pyiceberg.catalog import load_catalog
    catalog = load_catalog("guarded", type="rest", uri=guarded.uri,
                           credential=f"inlet-client:{CLIENT_SECRET}")
    table = catalog.load_table(f"{ns}.t")
    oracle.assert_tables_equal(table.scan().to_arrow(), _rows(0, 10), "pyiceberg")
    assert len(table.metadata.snapshots) == 2
    # And inlet reads what pyiceberg commits through it.
    table.append(_rows(10, 2))
    oracle.assert_tables_equal(scan(f"{ns}.t", *cat, out_dir=tmp_path / "s", env=good),
                               _rows(0, 12), "inlet")


def test_a_token_from_an_identity_provider_for_a_pipeline(tmp_path, iceberg_rest, ns):
    """The token endpoint of an identity provider elsewhere (oauth2_server_uri, as Java's
    oauth2-server-uri) with a scope of its own, from a pipeline whose credential is ${VAR}."""
    from auth_proxy import AuthProxy
    idp_path = "/realms/lake/protocol/openid-connect/token"
    proxy = AuthProxy(iceberg_rest.uri, "loader", CLIENT_SECRET, token_path=idp_path,
                      scope="lakehouse")
    try:
        (tmp_path / "src").mkdir()
        p = ps.pipeline("idp", path="src/*.csv", fmt="csv", dest="unused",
                        schema={"id": "long", "city": "string", "ts": "timestamp"},
                        strategy={"type": "append"})
        del p["destination"]["path"]
        p["destination"].update({"table": f"{ns}.idp", "catalog": {
            "uri": proxy.uri, "credential": "${LAKE_CREDENTIAL}",
            "oauth2_server_uri": proxy.uri + idp_path, "scope": "lakehouse"}})
        yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
        ps.write_source(tmp_path / "src" / "a.csv", _rows(0, 4).to_pylist())
        env = {"LAKE_CREDENTIAL": f"loader:{CLIENT_SECRET}"}
        assert ps.run(yaml, env=env).report["rows_written"] == 4
        assert proxy.count("tokens_issued") == 1 and proxy.count("unauthorised") == 0
        # The catalog's own /v1/oauth/tokens is not where this gateway gives tokens.
        del p["destination"]["catalog"]["oauth2_server_uri"]
        yaml = ps.write_pipelines(tmp_path / "p2.yaml", p)
        proc = ps.cli("run", yaml, "--json", env=env, cwd=tmp_path, check=False)
        assert proc.returncode != 0, proc
        assert CLIENT_SECRET not in proc.stdout + proc.stderr
        oracle.assert_tables_equal(
            scan(f"{ns}.idp", "--catalog", proxy.uri, out_dir=tmp_path / "s",
                 env={"INLET_CATALOG_CREDENTIAL": f"loader:{CLIENT_SECRET}",
                      "INLET_CATALOG_OAUTH2_SERVER_URI": proxy.uri + idp_path,
                      "INLET_CATALOG_SCOPE": "lakehouse"}),
            _rows(0, 4).cast(pa.schema([("id", pa.int64()), ("city", pa.string()),
                                        ("ts", pa.timestamp("us", "UTC"))])), "inlet")
    finally:
        proxy.stop()
