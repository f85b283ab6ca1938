"""Maintenance policies in pipeline files (destination.maintenance) and storage settings
(destination.storage, with ${VAR}), on local disk and on the MinIO fixture.

After the runs, the peers must read every row once, the table must hold only the files
its versions within the retention read, and no secret may appear in output or in the table.
"""
import json

import pytest

import pipeline_support as ps

SCHEMA = {"id": "long", "p": "string", "v": "string"}


def destination_env(place):
    """The storage settings the pipeline file takes from ${VAR}s: on MinIO the AWS variables
    are removed, so only destination.storage can reach the bucket."""
    if place.kind == "local":
        return {}, {}
    m = place.minio
    env = {"S3_ENDPOINT": m.endpoint, "S3_KEY": m.access_key, "S3_SECRET": m.secret_key,
           "AWS_ACCESS_KEY_ID": None, "AWS_SECRET_ACCESS_KEY": None, "AWS_ENDPOINT_URL": None,
           "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent"}
    storage = {"endpoint": "${S3_ENDPOINT}", "access_key_id": "${S3_KEY}", "secret_access_key": "${S3_SECRET}",
               "region": "us-east-1"}
    return env, storage


def maintained_pipeline(place, tmp_path, maintenance, properties=None):
    env, storage = destination_env(place)
    p = ps.pipeline("events", path=str(tmp_path / "src"), dest=place.uri("t"), strategy={"type": "append"},
                    fmt="csv", schema=SCHEMA, partition_by=["p"], properties=properties)
    if storage:
        p["destination"]["storage"] = storage
    p["destination"]["maintenance"] = maintenance
    return ps.write_pipelines(tmp_path / "p.yaml", p), env


def test_optimize_vacuum_and_checkpoint_policies(place, tmp_path):
    yaml, env = maintained_pipeline(place, tmp_path, {"optimize_interval": 4, "vacuum_interval": 4,
                                                      "checkpoint_interval": 3},
                                    properties={"delta.deletedFileRetentionDuration": "interval 0 seconds"})
    rows = []
    reports = []
    for run in range(1, 9):
        batch = [{"id": run * 10 + i, "p": "xy"[i % 2], "v": f"r{run}-{i}"} for i in range(4)]
        rows += batch
        ps.write_source(tmp_path / "src" / f"b{run:02d}.csv", batch)
        r = ps.run(yaml, env=env)
        assert r.report["status"] == "committed" and "error" not in r.report
        reports.append(r.report)
        if place.minio:
            assert place.minio.secret_key not in r.proc.stdout + r.proc.stderr
    # Runs 4 and 8 compact each partition's files into one and vacuum the removed ones.
    for run in (4, 8):
        m = reports[run - 1]["maintenance"]
        assert m["optimize"]["files_removed"] > 2 and m["optimize"]["after"]["files"] == 2, m
        assert m["vacuum"]["deleted"]["files"] == m["optimize"]["files_removed"], m
    assert all("maintenance" not in reports[i] for i in (0, 1, 2, 4, 5, 6))
    live = set(place.delta_table("t").file_uris())
    assert len(live) == 2
    data = {f for f in place.files("t") if f.endswith(".parquet") and not f.startswith("_")}
    assert {place.uri("t") + "/" + f for f in data} == live
    # delta.checkpointInterval was set when the pipeline created the table.
    assert place.delta_table("t").metadata().configuration["delta.checkpointInterval"] == "3"
    checkpoints = sorted(f for f in place.files("t", "_delta_log") if f.endswith(".checkpoint.parquet"))
    versions = [int(f.split("/")[-1][:20]) for f in checkpoints]
    assert versions and all(v % 3 == 0 for v in versions)
    expected = sorted((r["id"], r["p"], r["v"]) for r in rows)
    for read in (place.read_deltalake, place.read_duckdb):
        got = read("t")
        assert sorted(zip(got["id"].to_pylist(), got["p"].to_pylist(), got["v"].to_pylist())) == expected
    if place.minio:
        for f in place.files("t", "_delta_log"):
            body = place.fs.open_input_stream(f"{place._fs_base}/t/{f}").read()
            assert place.minio.secret_key.encode() not in body and place.minio.access_key.encode() not in body


def test_a_failing_policy_is_reported_and_the_data_stays_committed(tmp_path):
    from table_place import TablePlace
    place = TablePlace.local(tmp_path / "tables")
    # A retention shorter than the table's (168 hours) is refused.
    yaml, env = maintained_pipeline(place, tmp_path, {"vacuum_interval": 1, "vacuum_retention_hours": 1})
    ps.write_source(tmp_path / "src" / "b1.csv", [{"id": 1, "p": "x", "v": "a"}])
    proc = ps.cli("run", yaml, "--json", env=env, check=False)
    assert proc.returncode == 1
    (report,) = ps.parse_reports(proc.stdout)
    assert report["status"] == "committed" and report["table_version"] == 0
    assert "maintenance after the commit failed" in report["error"]
    assert "delta.deletedFileRetentionDuration is 168 hours" in report["error"]
    assert place.read_deltalake("t").num_rows == 1
    # The next run loads nothing new and does not fail on the policy (it is not due).
    again = ps.run(yaml, env=env)
    assert again.report["status"] == "no_changes"


@pytest.mark.parametrize("destination,message", [
    ({"path": "t", "storage": {"region": "x"}}, "destination.storage: applies to s3:// destinations only"),
    ({"path": "s3://b/t", "storage": {"bogus": "1"}}, "unknown key"),
    ({"path": "s3://b/t", "storage": {"addressing": "sideways"}}, "addressing must be 'path' or 'virtual'"),
    ({"path": "s3://b/t", "storage": {"access_key_id": "AKIA", "region": "x"}}, "access_key_id needs secret_access_key"),
    ({"path": "t", "maintenance": {"vacuum_retention_hours": 2}}, "vacuum_interval: is required"),
    ({"path": "t", "maintenance": {"zorder_by": ["v"]}}, "optimize_interval: is required"),
    ({"path": "t", "maintenance": {"optimize_interval": -1}}, "must not be negative"),
    ({"path": "t", "maintenance": {"nope": 1}}, "unknown key"),
    ({"path": "t", "maintenance": {"checkpoint_interval": 5}, "properties": {"delta.checkpointInterval": "7"}},
     "differs from properties.delta.checkpointInterval"),
])
def test_bad_storage_and_maintenance_settings_are_refused(tmp_path, destination, message):
    p = ps.pipeline("events", path=str(tmp_path / "src"), dest="unused", strategy={"type": "append"}, fmt="csv")
    p["destination"] = destination
    yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
    line = ps.run_refused(yaml)
    assert message in line and "p.yaml:" in line, line


def test_storage_secrets_never_appear_in_errors(tmp_path, minio, s3_bucket):
    secret = "SeCrEt" + "x" * 20
    p = ps.pipeline("events", path=str(tmp_path / "src"), dest=f"s3://{s3_bucket}/t", strategy={"type": "append"},
                    fmt="csv", schema=SCHEMA)
    p["destination"]["storage"] = {"endpoint": minio.endpoint, "access_key_id": minio.access_key,
                                   "secret_access_key": "${WRONG_SECRET}", "region": "us-east-1"}
    yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
    ps.write_source(tmp_path / "src" / "b1.csv", [{"id": 1, "p": "x", "v": "a"}])
    proc = ps.cli("run", yaml, "--json", env={"WRONG_SECRET": secret, "AWS_ACCESS_KEY_ID": None,
                                              "AWS_SECRET_ACCESS_KEY": None}, check=False)
    assert proc.returncode == 1
    assert secret not in proc.stdout + proc.stderr
    (report,) = ps.parse_reports(proc.stdout)
    assert report["status"] == "failed" and report["error"]
    assert minio.mc("ls", "--recursive", f"t/{s3_bucket}/").strip() == ""


def test_state_kept_in_files_on_either_storage(place, tmp_path):
    """inlet.stateStorage=files on local disk and on S3 (issue 20, item 3.2): each run's
    state is an object written put-if-absent; delta-rs appends between runs; the pipeline's
    vacuum deletes replaced state objects (retention 0) but never the latest."""
    import pyarrow as pa
    from deltalake import write_deltalake
    yaml, env = maintained_pipeline(place, tmp_path, {"vacuum_interval": 3},
                                    properties={"delta.deletedFileRetentionDuration": "interval 0 seconds",
                                                "inlet.stateStorage": "files"})
    rows = []
    for run in range(1, 5):
        batch = [{"id": run * 10 + i, "p": "xy"[i % 2], "v": f"r{run}-{i}"} for i in range(3)]
        rows += batch
        ps.write_source(tmp_path / "src" / f"b{run:02d}.csv", batch)
        r = ps.run(yaml, env=env)
        assert r.report["status"] == "committed" and "error" not in r.report, r.report
        if run == 2:
            theirs = [{"id": 99, "p": "x", "v": "delta-rs"}]
            options = dict(place.storage_options or {})
            if place.minio:
                options["conditional_put"] = "etag"
            write_deltalake(place.uri("t"), pa.Table.from_pylist(theirs, schema=pa.schema(
                [("id", pa.int64()), ("p", pa.string()), ("v", pa.string())])),
                mode="append", partition_by=["p"], storage_options=options)
            rows += theirs
    # Run 3 vacuumed the objects of runs 1 and 2; run 4 wrote one more.
    docs = sorted(place.files("t", "_inlet/apps"))
    assert len(docs) == 2 and all(d.startswith("_inlet/apps/inlet.pipeline.events/") for d in docs), docs
    assert ps.run(yaml, env=env).report["status"] == "no_changes"
    protocol = place.delta_table("t").protocol()
    assert protocol.min_writer_version == 2 and not protocol.writer_features, protocol
    expected = sorted((r["id"], r["p"], r["v"]) for r in rows)
    for read in (place.read_deltalake, place.read_duckdb):
        got = read("t")
        assert sorted(zip(got["id"].to_pylist(), got["p"].to_pylist(), got["v"].to_pylist())) == expected
