"""Tables on object storage: a real MinIO server on loopback (see minio_server.py).

inlet reaches it through the standard AWS variables; deltalake reads what inlet wrote.
Log entries are created with conditional PUTs (If-None-Match: *), so concurrent writers
never both create one version.
"""
import concurrent.futures
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import oracle
import support


def read(minio, uri):
    from deltalake import DeltaTable, QueryBuilder
    dt = DeltaTable(uri, storage_options=minio.storage_options())
    return oracle._to_pyarrow(QueryBuilder().register("t", dt).execute("SELECT * FROM t")), dt.version()


def source(path, ids, tag="a"):
    pq.write_table(pa.table({"id": pa.array(ids, pa.int64()), "v": [f"{tag}{i}" for i in ids]}), path)
    return path


def test_write_merge_and_read_back(tmp_path, minio, s3_bucket, run_inlet):
    uri = f"s3://{s3_bucket}/sales/orders"
    env = minio.env()
    run_inlet("write", uri, "--input", source(tmp_path / "a.parquet", range(100)), env=env)
    run_inlet("write", uri, "--input", source(tmp_path / "b.parquet", range(100, 150)), env=env)
    out = run_inlet("merge", uri, "--input", source(tmp_path / "c.parquet", range(140, 160), "m"), "--keys", "id",
                    "--json", env=env).stdout
    assert json.loads(out)["rows_updated"] == 10
    got, version = read(minio, uri)
    assert version == 2
    expected = {i: (f"m{i}" if i >= 140 else f"a{i}") for i in range(160)}
    assert dict(zip(got["id"].to_pylist(), got["v"].to_pylist())) == expected
    # Reading back through inlet itself, and time travel.
    assert run_inlet("scan", uri, "--version", "0", env=env).stdout.count("\n") == 101


def test_concurrent_appends_each_land_once(tmp_path, minio, s3_bucket, run_inlet):
    uri = f"s3://{s3_bucket}/events"
    env = minio.env()
    run_inlet("write", uri, "--input", source(tmp_path / "seed.parquet", [0]), env=env)

    def writer(w):
        for i in range(5):
            ids = [w * 1000 + i * 10 + j for j in range(3)]
            run_inlet("write", uri, "--input", source(tmp_path / f"w{w}_{i}.parquet", ids), env=env)

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        list(pool.map(writer, range(1, 5)))
    got, version = read(minio, uri)
    assert version == 20
    ids = sorted(got["id"].to_pylist())
    assert ids == sorted([0] + [w * 1000 + i * 10 + j for w in range(1, 5) for i in range(5) for j in range(3)])
    # Every version is one object, written once: 21 commit files.
    listing = minio.mc("ls", f"t/{s3_bucket}/events/_delta_log/")
    assert sum(1 for line in listing.splitlines() if line.endswith(".json")) == 21


@pytest.mark.parametrize("case", ["wrong_secret", "missing_bucket", "unreachable"])
def test_bad_configuration_fails_clearly_and_writes_nothing(tmp_path, minio, s3_bucket, run_inlet, case):
    env = minio.env()
    uri = f"s3://{s3_bucket}/t"
    if case == "wrong_secret":
        env = minio.env(AWS_SECRET_ACCESS_KEY="not-the-secret-" + "x" * 8)
    elif case == "missing_bucket":
        uri = "s3://no-such-bucket-here/t"
    else:
        env = minio.env(AWS_ENDPOINT_URL="http://127.0.0.1:1")
    r = run_inlet("write", uri, "--input", source(tmp_path / "a.parquet", [1]), env=env, check=False, timeout=120)
    assert r.returncode != 0
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("inlet: error:"), r.stderr
    assert minio.secret_key not in r.stderr and "not-the-secret" not in r.stderr
    if case != "missing_bucket":
        assert minio.mc("ls", "-r", f"t/{s3_bucket}").strip() == ""
