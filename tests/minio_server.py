"""A real MinIO server on loopback for the object-storage tests.

The server runs as its own process with its own data directory and random root
credentials; the tests use a separate user (readwrite policy) created per run, and a bucket
per test. Anonymous access stays off. The binaries come from scripts/bootstrap.sh
($HOME/.cache/inlet/bin, or INLET_TOOLS_DIR).
"""
from __future__ import annotations

import os
import pathlib
import secrets
import socket
import subprocess
import time
import urllib.error
import urllib.request

TOOLS = pathlib.Path(os.environ.get("INLET_TOOLS_DIR", pathlib.Path.home() / ".cache" / "inlet" / "bin"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MinioServer:
    def __init__(self, root: pathlib.Path):
        self.root = root
        self.port = _free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self._root_user = "root" + secrets.token_hex(4)
        self._root_password = secrets.token_hex(16)
        self.access_key = "inlet" + secrets.token_hex(4)
        self.secret_key = secrets.token_hex(16)
        self.proc: subprocess.Popen | None = None
        self._mc_config = root / "mc"

    def start(self) -> "MinioServer":
        data = self.root / "data"
        data.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, "MINIO_ROOT_USER": self._root_user, "MINIO_ROOT_PASSWORD": self._root_password,
               "MINIO_BROWSER": "off", "MINIO_UPDATE": "off"}
        log = open(self.root / "minio.log", "wb")
        self.proc = subprocess.Popen(
            [str(TOOLS / "minio"), "server", str(data), "--address", f"127.0.0.1:{self.port}", "--quiet"],
            stdout=log, stderr=subprocess.STDOUT, env=env, stdin=subprocess.DEVNULL)
        deadline = time.time() + 30
        while True:
            try:
                # ready, not live: a live server may still be initialising (and refuse
                # admin requests, "Server not initialized yet").
                urllib.request.urlopen(self.endpoint + "/minio/health/ready", timeout=1)
                break
            except (urllib.error.URLError, ConnectionError, OSError):
                if self.proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError("MinIO did not start: " + (self.root / "minio.log").read_text()[-2000:])
                time.sleep(0.2)
        self.mc("alias", "set", "t", self.endpoint, self._root_user, self._root_password)
        self.mc("admin", "user", "add", "t", self.access_key, self.secret_key)
        self.mc("admin", "policy", "attach", "t", "readwrite", "--user", self.access_key)
        return self

    def mc(self, *args: str) -> str:
        deadline = time.time() + 30
        while True:
            r = subprocess.run([str(TOOLS / "mc"), "--config-dir", str(self._mc_config), *args],
                               capture_output=True, text=True, timeout=60)
            if r.returncode == 0:
                return r.stdout
            # A restarted server answers before it has finished initialising.
            if "not initialized" in (r.stderr + r.stdout) and time.time() < deadline:
                time.sleep(0.5)
                continue
            raise RuntimeError(f"mc {' '.join(args[:3])} failed: {r.stderr or r.stdout}")

    def make_bucket(self, name: str) -> str:
        self.mc("mb", f"t/{name}")
        return name

    def env(self, **overrides: str) -> dict[str, str]:
        """The variables inlet reads (AWS_*), for the test user."""
        env = {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": self.access_key,
               "AWS_SECRET_ACCESS_KEY": self.secret_key, "AWS_REGION": "us-east-1",
               "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent", "AWS_CONFIG_FILE": "/nonexistent"}
        env.update(overrides)
        return env

    def storage_options(self) -> dict[str, str]:
        """deltalake's storage_options for the test user."""
        return {"AWS_ENDPOINT_URL": self.endpoint, "AWS_ACCESS_KEY_ID": self.access_key,
                "AWS_SECRET_ACCESS_KEY": self.secret_key, "AWS_REGION": "us-east-1", "AWS_ALLOW_HTTP": "true"}

    def duckdb_s3(self) -> dict[str, str]:
        """The S3 settings oracle.read_duckdb takes, for the test user."""
        return {"endpoint": self.endpoint, "key_id": self.access_key, "secret": self.secret_key}

    def restart(self) -> None:
        """Start again after stop(), on the same port and data (an outage that ends)."""
        self.start()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
