"""MinIO stopped in the middle of a load: the load fails with one clear error, the table
stays as it was, and once the server is back a re-run loads everything exactly once.

The load is stopped (SIGSTOP, INLET_STOP_AT) at a named point, the server is stopped, and
the load continues into the outage. The test has its own server, so that the outage
touches no other test.
"""
import os
import signal

import pytest

import oracle
import pipeline_support as ps
from minio_server import MinioServer
from support import wait_stopped

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("point", ["write.after_data_files", "commit.before_log_write"])
def test_minio_stopped_mid_load(tmp_path, point):
    server = MinioServer(tmp_path / "minio").start()
    try:
        bucket = server.make_bucket("outage")
        uri = f"s3://{bucket}/events"
        p = ps.pipeline("events", path=str(tmp_path / "src"), dest=uri, strategy={"type": "append"}, fmt="csv",
                        schema={"id": "long", "v": "string"})
        yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
        env = server.env()
        rows = []

        def add(n, first):
            batch = [{"id": first + i, "v": f"r{first + i}"} for i in range(n)]
            rows.extend(batch)
            ps.write_source(tmp_path / "src" / f"b{first:05d}.csv", batch)

        add(100, 0)
        assert ps.run(yaml, env=env).report["table_version"] == 0
        add(100, 100)
        add(100, 200)

        proc = ps.popen("run", yaml, "--json", env={**env, "INLET_STOP_AT": point}, cwd=tmp_path)
        wait_stopped(proc.pid)
        server.stop()
        os.kill(proc.pid, signal.SIGCONT)
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 1, (out, err)
        errors = [line for line in err.splitlines() if line.strip()]
        assert len(errors) == 1 and errors[0].startswith("inlet: error:") and "events" in errors[0], err
        assert server.secret_key not in out + err

        server.restart()
        storage = server.storage_options()
        assert oracle.read_deltalake(uri, storage_options=storage).num_rows == 100  # as it was
        again = ps.run(yaml, env=env).report
        assert again["status"] == "committed" and again["table_version"] == 1 and again["rows_written"] == 200
        for table in (oracle.read_deltalake(uri, storage_options=storage), oracle.read_duckdb(uri, s3=server.duckdb_s3())):
            assert sorted(zip(table["id"].to_pylist(), table["v"].to_pylist())) == [(r["id"], r["v"]) for r in rows]
    finally:
        server.stop()
