"""A real Apache Iceberg REST catalog server on loopback for the catalog tests.

Apache Iceberg's own REST fixture (org.apache.iceberg.rest.RESTCatalogServer, 1.10.0) over a
JdbcCatalog whose database is a SQLite file under the test's directory (or, when given, a
PostgreSQL database), from the jars scripts/bootstrap.sh fetched with Maven
($HOME/.cache/inlet/iceberg-rest-1.10.0, or INLET_ICEBERG_REST_DIR). The fixture's own main()
serves on every interface, so scripts/iceberg-rest/LoopbackRESTCatalogServer.java runs it on
127.0.0.1 only. The fixture takes its settings from CATALOG_* environment variables
(CATALOG_URI -> uri, CATALOG_JDBC_USER -> jdbc.user, CATALOG_REST_PORT -> rest.port, ...);
the server asks for no credentials. It can be stopped and started again on the same port and
catalog (an outage that ends).
"""
from __future__ import annotations

import os
import pathlib
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request

REPO = pathlib.Path(__file__).resolve().parents[1]
LAUNCHER = REPO / "scripts" / "iceberg-rest" / "LoopbackRESTCatalogServer.java"
ICEBERG_VERSION = "1.10.0"


def rest_libs() -> pathlib.Path:
    default = pathlib.Path.home() / ".cache" / "inlet" / f"iceberg-rest-{ICEBERG_VERSION}"
    return pathlib.Path(os.environ.get("INLET_ICEBERG_REST_DIR", default))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class IcebergRestServer:
    """`warehouse` is the catalog's warehouse location (file:///... or s3://...). By default the
    catalog's tables live in work/"catalog.db"; `catalog_uri` (with `jdbc_user` and
    `jdbc_password`) puts them elsewhere, e.g. jdbc:postgresql://127.0.0.1:PORT/DB.
    `catalog_name` is the JDBC catalog_name of its rows (the fixture's default is
    rest_backend): engines that share the catalog database must use the same one."""

    def __init__(self, work: pathlib.Path, warehouse: str, *, catalog_name: str | None = None,
                 catalog_uri: str | None = None, jdbc_user: str | None = None,
                 jdbc_password: str | None = None, minio=None):
        self.work = work
        # With a MinIO server, the catalog reads and writes table files through S3FileIO.
        self.minio = minio
        self.warehouse = warehouse
        self.catalog_db = work / "catalog.db"
        self.catalog_uri = catalog_uri or f"jdbc:sqlite:{self.catalog_db}"
        self.catalog_name = catalog_name
        self._jdbc_user = jdbc_user
        self._jdbc_password = jdbc_password
        self.port = _free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.log_path = work / "rest.log"
        self.proc: subprocess.Popen | None = None

    def _env(self) -> dict[str, str]:
        # The fixture turns every CATALOG_* variable into a catalog property: none may leak in
        # from the environment of the tests.
        env = {k: v for k, v in os.environ.items() if not k.startswith("CATALOG_")}
        env.update({"CATALOG_URI": self.catalog_uri, "CATALOG_WAREHOUSE": self.warehouse,
                    "CATALOG_REST_HOST": "127.0.0.1", "CATALOG_REST_PORT": str(self.port)})
        if self.catalog_name:
            env["CATALOG_CATALOG_NAME"] = self.catalog_name
        if self._jdbc_user is not None:
            env["CATALOG_JDBC_USER"] = self._jdbc_user
        if self._jdbc_password is not None:
            env["CATALOG_JDBC_PASSWORD"] = self._jdbc_password
        if self.minio is not None:
            m = self.minio
            env.update({"CATALOG_IO__IMPL": "org.apache.iceberg.aws.s3.S3FileIO",
                        "CATALOG_S3_ENDPOINT": m.endpoint, "CATALOG_S3_PATH__STYLE__ACCESS": "true",
                        "CATALOG_S3_ACCESS__KEY__ID": m.access_key,
                        "CATALOG_S3_SECRET__ACCESS__KEY": m.secret_key,
                        "CATALOG_CLIENT_REGION": "us-east-1"})
        return env

    def start(self) -> "IcebergRestServer":
        libs = rest_libs()
        fixture = libs / f"iceberg-open-api-{ICEBERG_VERSION}-test-fixtures.jar"
        if not fixture.is_file():
            raise RuntimeError(f"Iceberg REST catalog jars not found in {libs} (run scripts/bootstrap.sh)")
        java = shutil.which("java")
        if java is None:
            raise RuntimeError("no java on PATH for the Iceberg REST catalog (run scripts/bootstrap.sh)")
        self.work.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        try:
            # Java compiles the launcher in memory at each start; C1 alone makes that quick.
            self.proc = subprocess.Popen(
                [java, "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx512m",
                 "-cp", str(libs / "*"), str(LAUNCHER)],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=self._env())
        finally:
            log.close()
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(self.uri + "/v1/config", timeout=1).read()
                return self
            except (urllib.error.URLError, ConnectionError, OSError):
                if self.proc.poll() is not None or time.time() > deadline:
                    self.stop()
                    raise RuntimeError("the Iceberg REST catalog did not start: " + self._log_tail())
                time.sleep(0.1)

    def _log_tail(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-3000:]
        except OSError:
            return "(no log)"

    def restart(self) -> None:
        """Start again after stop(), on the same port and catalog."""
        self.start()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
