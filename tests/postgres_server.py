"""A real PostgreSQL 15 server on loopback for the catalog tests (and, later, sources).

Debian's postgresql-15 (scripts/bootstrap.sh installs it) provides initdb and pg_ctl in
/usr/lib/postgresql/15/bin. PostgreSQL refuses to run as root: when the tests run as root
the cluster belongs to the `postgres` user Debian's package creates. Connections over TCP
need a password (scram-sha-256), so tests see the password handling a real deployment
has; each run makes a role with a random password.
"""
from __future__ import annotations

import os
import pathlib
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile

PG_BIN = pathlib.Path(os.environ.get("INLET_PG_BIN", "/usr/lib/postgresql/15/bin"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    def __init__(self):
        self.port = _free_port()
        self.user = "inlet"
        self.password = secrets.token_hex(12)
        self._as_root = os.geteuid() == 0
        # Outside pytest's root-only temporary tree: the server's user must reach it.
        self.dir = pathlib.Path(tempfile.mkdtemp(prefix="inlet-pg-"))
        self.data = self.dir / "data"

    def _run(self, *args: str, **kw) -> subprocess.CompletedProcess:
        cmd = list(args)
        if self._as_root:
            cmd = ["runuser", "-u", "postgres", "--"] + cmd
        return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)

    def start(self) -> "PostgresServer":
        if not (PG_BIN / "initdb").exists():
            raise RuntimeError(f"no PostgreSQL at {PG_BIN}: run scripts/bootstrap.sh")
        if self._as_root:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres",
                  "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8")
        self._make_certificates()
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"),
                  "-o", f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} "
                  "-c wal_level=logical -c max_connections=100 -c ssl=on "
                  "-c max_replication_slots=64 -c max_wal_senders=64 "
                  f"-c ssl_cert_file={self.dir / 'server.crt'} "
                  f"-c ssl_key_file={self.dir / 'server.key'}", "-w", "start")
        # REPLICATION: change data capture opens replication connections and slots.
        self.sql(f"CREATE ROLE {self.user} LOGIN CREATEDB REPLICATION "
                 f"PASSWORD '{self.password}'")
        return self

    def _make_certificates(self) -> None:
        """A certificate authority of the run's own (ca.crt, which clients verify the server
        with: sslmode=verify-full&sslrootcert=...) and a server certificate for 127.0.0.1
        that it signed. Clients that ask for nothing still connect (sslmode=prefer)."""
        d = self.dir
        run = lambda *a: subprocess.run(["openssl", *a], check=True, capture_output=True)  # noqa: E731
        run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=inlet test CA",
            "-keyout", str(d / "ca.key"), "-out", str(d / "ca.crt"))
        run("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1",
            "-keyout", str(d / "server.key"), "-out", str(d / "server.csr"))
        (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
        run("x509", "-req", "-in", str(d / "server.csr"), "-CA", str(d / "ca.crt"),
            "-CAkey", str(d / "ca.key"), "-CAcreateserial", "-days", "2",
            "-extfile", str(d / "san.ext"), "-out", str(d / "server.crt"))
        os.chmod(d / "server.key", 0o600)
        if self._as_root:
            pw = pwd.getpwnam("postgres")
            for name in ("server.key", "server.crt"):
                os.chown(d / name, pw.pw_uid, pw.pw_gid)
        self.ca_file = d / "ca.crt"

    def restart(self) -> None:
        """Restarts the server (fast shutdown: sessions are cut), with the same options."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.dir / "log"),
                  "-m", "fast", "-w", "restart")

    def sql(self, statement: str, db: str = "postgres") -> str:
        """Runs one statement as the superuser over the local socket; its output."""
        return self._run(str(PG_BIN / "psql"), "-h", str(self.dir), "-p", str(self.port),
                         "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-At",
                         "-c", statement).stdout

    def create_database(self, name: str, options: str = "") -> str:
        """A new database owned by the test role (options: more of CREATE DATABASE's, such
        as a locale); its URI without the password (which comes from PGPASSWORD, see
        env())."""
        self.sql(f"CREATE DATABASE {name} OWNER {self.user} {options}")
        return f"postgresql://{self.user}@127.0.0.1:{self.port}/{name}"

    def database(self, name: str, options: str = "") -> "Database":
        """A new database owned by the test role, with a psycopg2 connection to it."""
        return Database(self, name, self.create_database(name, options))

    def sqlalchemy_uri(self, name: str) -> str:
        return f"postgresql+psycopg2://{self.user}:{self.password}@127.0.0.1:{self.port}/{name}"

    def env(self) -> dict:
        return {**os.environ, "PGPASSWORD": self.password}

    def stop(self) -> None:
        try:
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


class Database:
    """A test's own database: its URI (without the password), the environment that gives
    the password, and sql() over an autocommit psycopg2 connection, made again when the
    server restarted under it."""

    def __init__(self, server: PostgresServer, name: str, uri: str):
        self.server, self.name, self.uri = server, name, uri
        self.env = {"PGPASSWORD": server.password}
        self.conn = None
        self.connect()

    def connect(self):
        import psycopg2
        self.conn = psycopg2.connect(host="127.0.0.1", port=self.server.port,
                                     user=self.server.user, password=self.server.password,
                                     dbname=self.name)
        self.conn.autocommit = True
        return self.conn

    def sql(self, statement: str, *params):
        import psycopg2
        if self.conn.closed:
            self.connect()
        try:
            return self._run(statement, params)
        except psycopg2.OperationalError:  # the server restarted under this session
            self.connect()
            return self._run(statement, params)

    def _run(self, statement, params):
        with self.conn.cursor() as cur:
            cur.execute(statement, params or None)
            return cur.fetchall() if cur.description else None

    def drop_slots(self) -> None:
        """Drops this database's replication slots (they hold WAL for the whole cluster)."""
        for (slot,) in self.sql("SELECT slot_name FROM pg_replication_slots WHERE database = %s", self.name):
            try:
                self.sql("SELECT pg_drop_replication_slot(%s)", slot)
            except Exception:  # noqa: BLE001 - still in use by a killed stream's server process
                pass

    def close(self) -> None:
        self.conn.close()
