"""A token-enforcing gateway in front of the real Iceberg REST catalog server, on loopback.

Apache Iceberg's REST fixture (iceberg_rest_server.py) hands out tokens at /v1/oauth/tokens but
lets every request through with or without one. Deployments put the catalog behind an OAuth2
gateway or identity provider instead; this is the smallest such gateway, so that the tests see
what a client must get right:

- `POST <token_path>` is the client credentials grant (RFC 6749 section 4.4): a form with
  grant_type=client_credentials, client_id, client_secret and scope. A wrong client or secret
  gets 401 {"error": "invalid_client"}; a good one a fresh random bearer token.
- Every other request needs `Authorization: Bearer <a token it issued and has not revoked>`;
  otherwise 401 with the REST specification's error model. Authorised requests are forwarded,
  body and status unchanged, to the catalog server.

`revoke()` forgets every issued token (as when they expire). The gateway counts what it saw, so
a test can tell that a client fetched a token, was refused, or sent requests without one.
"""
from __future__ import annotations

import http.client
import http.server
import json
import secrets
import threading
import urllib.parse


class AuthProxy:
    def __init__(self, upstream: str, client_id: str, client_secret: str, *,
                 token_path: str = "/v1/oauth/tokens", scope: str = "catalog"):
        self.upstream = urllib.parse.urlsplit(upstream)
        self.client_id = client_id
        self.client_secret = client_secret
        self.token_path = token_path
        self.scope = scope
        self.tokens: set[str] = set()
        self.counts = {"tokens_issued": 0, "token_refused": 0, "unauthorised": 0, "forwarded": 0}
        self._lock = threading.Lock()
        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.uri = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def issue(self) -> str:
        token = secrets.token_urlsafe(24)
        with self._lock:
            self.tokens.add(token)
            self.counts["tokens_issued"] += 1
        return token

    def revoke(self) -> None:
        with self._lock:
            self.tokens.clear()

    def count(self, what: str) -> int:
        with self._lock:
            return self.counts[what]

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def _reply(self, status: int, body: bytes, content_type="application/json",
                       encoding: str | None = None):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                if encoding:
                    self.send_header("Content-Encoding", encoding)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)

            def _body(self) -> bytes:
                n = int(self.headers.get("Content-Length") or 0)
                return self.rfile.read(n) if n else b""

            def _token(self, body: bytes):
                form = urllib.parse.parse_qs(body.decode())
                one = {k: v[0] for k, v in form.items()}
                good = (one.get("grant_type") == "client_credentials"
                        and one.get("client_id") == proxy.client_id
                        and one.get("client_secret") == proxy.client_secret
                        and proxy.scope in one.get("scope", "").split())
                if not good:
                    with proxy._lock:
                        proxy.counts["token_refused"] += 1
                    return self._reply(401, json.dumps(
                        {"error": "invalid_client",
                         "error_description": "unknown client or wrong secret"}).encode())
                self._reply(200, json.dumps({"access_token": proxy.issue(), "token_type": "bearer",
                                             "expires_in": 3600,
                                             "issued_token_type":
                                                 "urn:ietf:params:oauth:token-type:access_token"}
                                            ).encode())

            def _any(self):
                body = self._body()
                path = urllib.parse.urlsplit(self.path).path
                if self.command == "POST" and path == proxy.token_path:
                    return self._token(body)
                auth = self.headers.get("Authorization", "")
                with proxy._lock:
                    ok = auth.startswith("Bearer ") and auth[len("Bearer "):] in proxy.tokens
                    proxy.counts["forwarded" if ok else "unauthorised"] += 1
                if not ok:
                    return self._reply(401, json.dumps({"error": {
                        "message": "Not authorized: a valid bearer token is required",
                        "type": "NotAuthorizedException", "code": 401}}).encode())
                up = proxy.upstream
                conn = http.client.HTTPConnection(up.hostname, up.port, timeout=60)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "authorization", "content-length",
                                                "connection")}
                conn.request(self.command, self.path, body=body or None, headers=headers)
                r = conn.getresponse()
                data = r.read()
                conn.close()
                self._reply(r.status, data, r.getheader("Content-Type") or "application/json",
                            r.getheader("Content-Encoding"))

            do_GET = do_POST = do_DELETE = do_HEAD = do_PUT = _any

        return Handler
