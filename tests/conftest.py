"""Fixtures for the cross-engine tests of inlet, driven through its CLI.

Environment:
  INLET_BIN               the inlet binary (default <repo>/build/inlet)
  INLET_CONFORMANCE_DIR   folder with delta-golden/ and delta-rs-tables/
                          (default <repo>/../shared/conformance); when missing, the
                          conformance tests skip, unless CI is set, where they fail.
"""

from __future__ import annotations

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import support  # noqa: E402


@pytest.fixture(scope="session")
def inlet_bin() -> pathlib.Path:
    binary = support.inlet_binary()
    if not binary.exists():
        pytest.fail(
            f"inlet binary not found at {binary} (build it, or set INLET_BIN)", pytrace=False
        )
    return binary


@pytest.fixture(scope="session")
def run_inlet(inlet_bin):
    """``run_inlet(*args, check=True, timeout=..., cwd=None, input=None)`` -> CompletedProcess."""
    return support.run_inlet


@pytest.fixture(scope="session")
def conformance_dir() -> pathlib.Path:
    return support.require_conformance_root()


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "conformance: reads the shared Delta conformance tables (oracle comparison)"
    )
    config.addinivalue_line("markers", "slow: multi-process or long-running test")


@pytest.fixture(scope="session")
def minio(tmp_path_factory):
    """A MinIO server on loopback for this test run (see minio_server.py)."""
    from minio_server import MinioServer
    server = MinioServer(tmp_path_factory.mktemp("minio")).start()
    yield server
    server.stop()


@pytest.fixture
def s3_bucket(minio, request):
    """A fresh bucket for one test."""
    import re
    import secrets
    name = re.sub(r"[^a-z0-9-]", "-", request.node.name.lower())[:40].strip("-") + "-" + secrets.token_hex(3)
    return minio.make_bucket(name)


@pytest.fixture(params=["local", "minio"])
def place(request, tmp_path):
    """Where the test's tables live (table_place.py): a local directory, or a bucket on MinIO."""
    from table_place import TablePlace
    if request.param == "local":
        return TablePlace.local(tmp_path / "tables")
    return TablePlace.s3(request.getfixturevalue("minio"), request.getfixturevalue("s3_bucket"))


@pytest.fixture(scope="session")
def kafka(tmp_path_factory):
    """An Apache Kafka broker (KRaft) on loopback for this test run (see kafka_server.py)."""
    from kafka_server import KafkaServer
    server = KafkaServer(tmp_path_factory.mktemp("kafka")).start()
    yield server
    server.stop()


@pytest.fixture
def kafka_topic(kafka, request):
    """A name for a fresh topic of one test (create it with kafka.create_topic(name, n))."""
    import re
    import secrets
    return re.sub(r"[^a-zA-Z0-9._-]", "-", request.node.name)[:60] + "-" + secrets.token_hex(3)


@pytest.fixture(scope="session")
def spark(tmp_path_factory):
    """One local Spark 4 session with Delta Lake for the whole run (see spark_oracle.py)."""
    from spark_oracle import start_spark
    session = start_spark(tmp_path_factory.mktemp("spark"))
    yield session
    session.stop()


@pytest.fixture(scope="session")
def postgres():
    """One PostgreSQL 15 server on loopback for the run (postgres_server.py)."""
    from postgres_server import PostgresServer
    server = PostgresServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def iceberg_rest(tmp_path_factory):
    """One Apache Iceberg REST catalog server on loopback for the run, its tables in a
    SQLite file and its warehouse on local disk (iceberg_rest_server.py)."""
    from iceberg_rest_server import IcebergRestServer
    work = tmp_path_factory.mktemp("iceberg-rest")
    server = IcebergRestServer(work, f"file://{work}/wh").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def trino(tmp_path_factory, postgres, iceberg_rest):
    """One Trino 476 server on loopback for the run (trino_server.py): the Delta Lake
    connector, and Iceberg through a JDBC catalog in the PostgreSQL server (catalog
    `iceberg`) and through the REST catalog server (catalog `iceberg_rest`)."""
    from trino_server import TrinoServer
    server = TrinoServer(tmp_path_factory.mktemp("trino"), postgres, iceberg_rest).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def http_api_server():
    """One JSON API server on loopback for the run (http_api_server.py)."""
    from http_api_server import ApiServer
    server = ApiServer().start()
    yield server
    server.stop()


@pytest.fixture
def http_api(http_api_server):
    """The API server, emptied for one test."""
    http_api_server.reset()
    yield http_api_server
    http_api_server.reset()
