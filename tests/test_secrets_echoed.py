"""Secrets stay out of messages even when a server quotes them back.

A real HTTP server on loopback answers every request with an error whose text quotes the
request's headers and body, as some gateways and proxies do. inlet's REST catalog client
(bearer token and OAuth2 client credentials), its S3 client (a session token) and its HTTP
source (a secret far into a long error body) must not let the secret through in stderr,
stdout or the --json report. A PostgreSQL URI whose password holds an unencoded '@' is
refused before connecting: libpq would split it at the first '@' and show the rest as a
host name.
"""
from __future__ import annotations

import http.server
import json
import os
import socketserver
import threading

import pytest

from support import run_inlet

SECRET = "s3cr3t-XYZ-0123456789abcdef"


class _Echo(http.server.BaseHTTPRequestHandler):
    pad = 0

    def _answer(self):
        if self.command == "HEAD":  # "not found": the client goes on to list, a GET
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("latin-1") if length else ""
        quoted = json.dumps({"headers": dict(self.headers), "body": body})
        text = "E" * self.pad + " denied: " + quoted
        if self.path.startswith("/items"):  # the HTTP source: the key after `pad` bytes
            key = self.headers.get("X-Api-Key") or (self.headers.get("Authorization") or "").split(" ")[-1]
            out = "E" * self.pad + "token " + key + " rejected"
            ctype = "text/plain"
        elif self.path.startswith("/v1/") or "oauth" in self.path:
            out = json.dumps({"error": {"message": text, "type": "NotAuthorizedException", "code": 401}})
            ctype = "application/json"
        else:  # S3 and the HTTP source
            out = f"<Error><Code>AccessDenied</Code><Message>{text}</Message></Error>"
            ctype = "application/xml"
        data = out.encode()
        self.send_response(401 if self.path.startswith("/v1/") else 403)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _answer

    def log_message(self, *args):
        pass


@pytest.fixture
def echo():
    """The server's base URL; its handler class (to set the padding)."""
    handler = type("Echo", (_Echo,), {})
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", handler
    server.shutdown()
    server.server_close()


def _no_secret(proc, *secrets):
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0, text
    for s in secrets:
        assert s not in text, text
        # Nor a recognisable part of it.
        assert s[:12] not in text and s[-12:] not in text, text
    return text


def test_a_rest_catalog_that_quotes_the_bearer_token(tmp_path, echo):
    url, _ = echo
    proc = run_inlet("--catalog", url, "tables", env={"INLET_CATALOG_TOKEN": SECRET}, check=False)
    text = _no_secret(proc, SECRET)
    assert "401" in text and "***" in text, text


def test_a_token_endpoint_that_quotes_the_client_secret(tmp_path, echo):
    url, _ = echo
    proc = run_inlet("--catalog", url, "scan", "ns.t",
                     env={"INLET_CATALOG_CREDENTIAL": "client:" + SECRET}, check=False)
    _no_secret(proc, SECRET)


def test_an_s3_endpoint_that_quotes_the_session_token(tmp_path, echo):
    url, _ = echo
    env = {"AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "k" + SECRET,
           "AWS_SESSION_TOKEN": SECRET, "AWS_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true"}
    (tmp_path / "one.ndjson").write_text('{"id": 1}\n')
    for args in (["scan", "s3://bucket/t"], ["write", "s3://bucket/t", "--input", tmp_path / "one.ndjson"]):
        proc = run_inlet(*args, env=env, check=False)
        _no_secret(proc, SECRET, "k" + SECRET)


HTTP_SECRETS = {
    "header": 'headers: {X-Api-Key: "${API_KEY}"}',
    "bearer_header": 'headers: {Authorization: "Bearer ${API_KEY}"}',
    "auth": 'auth: {type: bearer, token: "${API_KEY}"}',
}


@pytest.mark.parametrize("pad", [0, 180, 190])  # the key at, across and past the cut
@pytest.mark.parametrize("given", sorted(HTTP_SECRETS))
def test_an_http_source_secret_far_into_an_error_body(tmp_path, echo, pad, given):
    url, handler = echo
    handler.pad = pad
    (tmp_path / "p.yaml").write_text(f"""
pipelines:
  - name: api
    source:
      type: http
      url: {url}/items
      {HTTP_SECRETS[given]}
      params: {{limit: "${{LIMIT}}"}}
      records: items
      format: json
    strategy: {{type: full_refresh}}
    destination: {{path: {tmp_path / 't'}}}
  - name: files
    source: {{type: files, path: {tmp_path / '1000'}, format: csv}}
    strategy: {{type: append}}
    destination: {{path: {tmp_path / 'f'}}}
""")
    (tmp_path / "1000").mkdir()
    (tmp_path / "1000" / "x.csv").write_text("a,b\n1,2,3\n")
    proc = run_inlet("run", tmp_path / "p.yaml", "--json", env={"API_KEY": SECRET, "LIMIT": "1000"},
                     check=False)
    text = _no_secret(proc, SECRET)
    # Messages keep the first 200 bytes of a body: the key must not show cut short either.
    assert "token " + SECRET[:4] not in text, text
    # A value from the environment that is no secret (a page size) is not masked in the
    # other pipeline's messages.
    assert "/1000/x.csv" in text, text


@pytest.mark.parametrize("password", ["P@ssw0rd-XYZ", "s3cr3t@XYZ:/?#"])
def test_a_postgres_uri_with_an_unencoded_at_sign_is_refused_without_showing_it(tmp_path, password):
    (tmp_path / "p.yaml").write_text(f"""
pipelines:
  - name: a
    source:
      type: postgres
      connection: "postgresql://loader:${{PGPASS}}@127.0.0.1:1/shop"
      table: t
    strategy: {{type: full_refresh}}
    destination: {{path: {tmp_path / 't'}}}
""")
    proc = run_inlet("run", tmp_path / "p.yaml", env={"PGPASS": password}, check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0
    assert "p.yaml:" in text and "percent-encoded" in text and "%40" in text, text
    for part in password.replace("@", " ").replace(":", " ").replace("/", " ").split():
        if len(part) >= 3:
            assert part not in text, text
    proc = run_inlet("--catalog", f"postgresql://loader:{password}@127.0.0.1:1/shop", "tables", check=False)
    text = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "percent-encoded" in text, text
    for part in password.replace("@", " ").replace(":", " ").replace("/", " ").split():
        if len(part) >= 3:
            assert part not in text, text
