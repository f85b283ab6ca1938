"""Source files on object storage (issue 20, item 2.6): `source.path: s3://bucket/prefix/*.json`
on a real MinIO server, with the storage settings of destinations.

Files are put with `mc` (MinIO's client); each run loads only what is new, a grown NDJSON
object only its appended lines, and a bad object is quarantined locally. The tables are
read back with deltalake.
"""
from __future__ import annotations

import json

import pytest

import oracle
import pipeline_support as ps


def _put(minio, tmp_path, bucket: str, key: str, text: str) -> None:
    local = tmp_path / "upload"
    local.write_text(text)
    minio.mc("cp", str(local), f"t/{bucket}/{key}")


def _ndjson(ids, tag="a") -> str:
    return "".join(json.dumps({"id": i, "v": f"{tag}{i}"}) + "\n" for i in ids)


def _pipeline(tmp_path, source: dict, dest: str, strategy=None) -> object:
    return ps.write_pipelines(tmp_path / "p.yaml", {
        "name": "s3src", "source": source, "destination": {"path": dest},
        "strategy": strategy or {"type": "append"}})


def test_files_on_s3_load_once_each_with_the_environments_settings(tmp_path, minio, s3_bucket):
    env = minio.env()
    _put(minio, tmp_path, s3_bucket, "landing/2024/a.ndjson", _ndjson(range(0, 5)))
    _put(minio, tmp_path, s3_bucket, "landing/2024/b.ndjson", _ndjson(range(5, 8)))
    _put(minio, tmp_path, s3_bucket, "landing/2024/_tmp.ndjson", _ndjson(range(90, 99)))  # hidden
    _put(minio, tmp_path, s3_bucket, "landing/2024/notes.txt", "not matched\n")
    yaml = _pipeline(tmp_path, {"path": f"s3://{s3_bucket}/landing/*/*.ndjson"}, str(tmp_path / "t"))
    report = ps.run(yaml, env=env).report
    assert report["files_read"] == 2 and report["rows_written"] == 8, report
    assert ps.run(yaml, env=env).report["status"] == "no_changes"
    # A new object, and one that grew by a line: only what is new is loaded.
    _put(minio, tmp_path, s3_bucket, "landing/2025/c.ndjson", _ndjson(range(8, 10)))
    _put(minio, tmp_path, s3_bucket, "landing/2024/a.ndjson", _ndjson(range(0, 5)) + _ndjson([100], "g"))
    report = ps.run(yaml, env=env).report
    assert report["files_read"] == 2 and report["rows_written"] == 3, report
    got = oracle.read_deltalake(tmp_path / "t")
    assert sorted(got["id"].to_pylist()) == list(range(10)) + [100]
    # Positions name objects under the source root, not by absolute URI.
    state = ps.state(tmp_path / "t")["s3src"]
    assert state["source_root"] == f"s3://{s3_bucket}/landing", state
    assert sorted(state["files"]) == ["2024/a.ndjson", "2024/b.ndjson", "2025/c.ndjson"], state


def test_storage_settings_of_the_destination_or_the_source_reach_the_objects(tmp_path, minio, s3_bucket):
    """No AWS variables: the settings come from the pipeline file (secrets from ${VAR}),
    the destination's when the source has none, and never appear in the report."""
    _put(minio, tmp_path, s3_bucket, "in/a.csv", "id,v\n1,x\n2,y\n")
    secret_env = {"MINIO_KEY": minio.access_key, "MINIO_SECRET": minio.secret_key,
                  "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent"}
    storage = {"endpoint": minio.endpoint, "access_key_id": "${MINIO_KEY}",
               "secret_access_key": "${MINIO_SECRET}", "region": "us-east-1"}
    yaml = ps.write_pipelines(tmp_path / "p.yaml", {
        "name": "both", "source": {"path": f"s3://{s3_bucket}/in/*.csv"},
        "destination": {"path": f"s3://{s3_bucket}/tables/t", "storage": storage},
        "strategy": {"type": "append"}})
    proc = ps.run(yaml, env=secret_env)
    assert proc.report["rows_written"] == 2, proc.report
    assert minio.secret_key not in proc.proc.stdout + proc.proc.stderr
    # The source's own settings, for a local destination.
    yaml = ps.write_pipelines(tmp_path / "q.yaml", {
        "name": "own", "source": {"path": f"s3://{s3_bucket}/in/", "storage": storage},
        "destination": {"path": str(tmp_path / "local")}, "strategy": {"type": "append"}})
    assert ps.run(yaml, env=secret_env).report["rows_written"] == 2
    assert sorted(oracle.read_deltalake(tmp_path / "local")["id"].to_pylist()) == [1, 2]


def test_a_bad_object_is_quarantined_locally_and_errors_name_objects(tmp_path, minio, s3_bucket):
    env = minio.env()
    _put(minio, tmp_path, s3_bucket, "q/good.ndjson", _ndjson([1, 2]))
    _put(minio, tmp_path, s3_bucket, "q/bad.ndjson", '{"id": 3, "v": "x"}\n{"id": \n')
    yaml = _pipeline(tmp_path, {"path": f"s3://{s3_bucket}/q/*.ndjson", "bad_files": "quarantine",
                                "quarantine_dir": str(tmp_path / "quarantine")}, str(tmp_path / "t"))
    report = ps.run(yaml, env=env).report
    assert report["rows_written"] == 2, report
    assert (tmp_path / "quarantine" / "bad.ndjson").read_text().startswith('{"id": 3')
    # Without a policy the run fails naming the object and its line; nothing is written.
    yaml = _pipeline(tmp_path, {"path": f"s3://{s3_bucket}/q/*.ndjson"}, str(tmp_path / "u"))
    line = ps.run_refused(yaml, env=env)
    assert f"s3://{s3_bucket}/q/bad.ndjson" in line and "line 2" in line, line
    assert ps.table_absent(tmp_path / "u")
    # A missing prefix, and a bucket the user cannot reach, fail naming the source.
    yaml = _pipeline(tmp_path, {"path": f"s3://{s3_bucket}/nothing/a.csv"}, str(tmp_path / "v"))
    assert f"s3://{s3_bucket}/nothing/a.csv" in ps.run_refused(yaml, env=env)


@pytest.mark.parametrize("strategy", [{"type": "full_refresh"}, {"type": "merge"}])
def test_parquet_objects_with_other_strategies(tmp_path, minio, s3_bucket, strategy):
    import pyarrow as pa
    import pyarrow.parquet as pq
    env = minio.env()
    local = tmp_path / "x.parquet"
    pq.write_table(pa.table({"id": pa.array([1, 2, 3], pa.int64()), "v": ["a", "b", "c"]}), local)
    minio.mc("cp", str(local), f"t/{s3_bucket}/pq/x.parquet")
    p = {"name": "pq", "source": {"path": f"s3://{s3_bucket}/pq/*.parquet"},
         "destination": {"path": str(tmp_path / "t"), "keys": ["id"]}, "strategy": strategy}
    yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
    assert ps.run(yaml, env=env).report["rows_written"] == 3
    assert sorted(oracle.read_deltalake(tmp_path / "t")["id"].to_pylist()) == [1, 2, 3]
