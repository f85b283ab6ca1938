"""A JSON API on loopback for the tests of the http source: Python's own HTTP server in a
thread, serving one list of records in every pagination style, behind each kind of
authentication, with faults to inject (statuses with Retry-After, slow, truncated and
malformed responses) and a log of the requests it got.

Routes (page size `page_size`, records `records`):
  /offset?offset=&limit=      {"data": {"items": [...]}, "meta": {"total": N}}
  /page?page=&per_page=       {"results": [...], "count": N}        (pages from 1)
  /cursor?cursor=             {"items": [...], "next_cursor": "..."|null}
  /link?page=                 [...] with a Link: <...>; rel="next" header
  /next?page=                 {"items": [...], "links": {"next": "/next?page=2"|null}}
  /all                        [...]
  /stuck?page=                {"items": [...]} the first page, whatever the page asked for
  /redirect?to=URL            307 to URL
  /since?updated_since=       [...] the records with updated_at >= the parameter
  /after?after_id=            {"items": [...]} the records with id > the parameter
  /search (POST)              {"items": [...]}, the body's "since" applied as above
  /oauth/token (POST)         OAuth2 client credentials
"""
from __future__ import annotations

import base64
import gzip
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class ApiServer:
    def __init__(self) -> None:
        self.records: list[dict] = []
        self.page_size = 10
        self.lock = threading.Lock()
        self.requests: list[dict] = []
        self.faults: list[tuple[str, dict]] = []
        # None, or ("bearer", token), ("basic", user, password), ("api_key", name, value,
        # "header"|"query"), ("oauth2", client_id, client_secret).
        self.auth: tuple | None = None
        self.tokens: set[str] = set()
        self.token_lifetime = 3600
        self.token_fails = False
        self.gzip = False
        # Called with (path, query) before a data page is made: tests change the records
        # between fetches with it.
        self.before_page = None
        self._server: ThreadingHTTPServer | None = None

    # -- control ------------------------------------------------------------------------

    def start(self, cert: str | None = None, key: str | None = None) -> "ApiServer":
        """Serves HTTP, or HTTPS with cert and key (PEM files)."""
        api = self
        self._scheme = "https" if cert else "http"

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # quiet
                pass

            def do_GET(self):
                api._serve(self, "GET")

            def do_POST(self):
                api._serve(self, "POST")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if cert:
            import ssl
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(cert, key)
            self._server.socket = ctx.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    @property
    def url(self) -> str:
        return f"{self._scheme}://127.0.0.1:{self._server.server_address[1]}"

    def reset(self) -> None:
        with self.lock:
            self.records = []
            self.page_size = 10
            self.requests = []
            self.faults = []
            self.auth = None
            self.tokens = set()
            self.token_lifetime = 3600
            self.token_fails = False
            self.gzip = False
            self.before_page = None

    def fault(self, path: str, **kind) -> None:
        """The next request to a path starting with `path` gets this fault (once): status=
        (with retry_after=, body=), slow= seconds, truncate=True, malformed=True."""
        with self.lock:
            self.faults.append((path, kind))

    def data_requests(self, path: str = "/") -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["path"].startswith(path)
                    and r["path"] != "/oauth/token"]

    def token_requests(self) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["path"] == "/oauth/token"]

    # -- serving ------------------------------------------------------------------------

    def _serve(self, h: BaseHTTPRequestHandler, method: str) -> None:
        parsed = urllib.parse.urlsplit(h.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(parsed.query, keep_blank_values=True).items()}
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        with self.lock:
            self.requests.append({"method": method, "path": parsed.path, "query": query,
                                  "headers": dict(h.headers), "body": body,
                                  "t": time.monotonic()})
            fault = None
            for i, (prefix, kind) in enumerate(self.faults):
                if parsed.path.startswith(prefix):
                    fault = self.faults.pop(i)[1]
                    break
        if parsed.path == "/oauth/token":
            return self._token(h, body)
        if fault:
            if "slow" in fault:
                time.sleep(fault["slow"])
            elif "status" in fault:
                headers = {}
                if "retry_after" in fault:
                    headers["Retry-After"] = str(fault["retry_after"])
                return self._send(h, fault["status"], fault.get("body", {"error": "injected"}), headers)
            elif fault.get("truncate"):
                data = json.dumps(self._page(parsed.path, query, body)[0]).encode()
                h.send_response(200)
                h.send_header("Content-Type", "application/json")
                h.send_header("Content-Length", str(len(data)))
                h.end_headers()
                h.wfile.write(data[: len(data) // 2])
                h.wfile.flush()
                h.close_connection = True
                return
            elif fault.get("malformed"):
                return self._send_raw(h, 200, b'{"items": [{"id": 1}, {"id": 2', {})
        if parsed.path == "/redirect":
            return self._send(h, 307, {}, {"Location": query["to"]})
        if not self._authorized(h, query):
            # Echoes what it got, as careless APIs do: a client must mask it.
            return self._send(h, 401, {"error": "unauthorized", "query": query,
                                       "authorization": h.headers.get("Authorization"),
                                       "x-api-key": h.headers.get("X-Api-Key")}, {})
        if self.before_page:
            self.before_page(parsed.path, query)
        page, headers = self._page(parsed.path, query, body)
        if page is None:
            return self._send(h, 404, {"error": "no such route"}, {})
        self._send(h, 200, page, headers)

    def _authorized(self, h, query) -> bool:
        auth = self.auth
        given = h.headers.get("Authorization", "")
        if auth is None:
            return True
        if auth[0] == "bearer":
            return given == f"Bearer {auth[1]}"
        if auth[0] == "basic":
            return given == "Basic " + base64.b64encode(f"{auth[1]}:{auth[2]}".encode()).decode()
        if auth[0] == "api_key":
            _, name, value, where = auth
            return (query.get(name) if where == "query" else h.headers.get(name)) == value
        if auth[0] == "oauth2":
            with self.lock:
                return given.startswith("Bearer ") and given[7:] in self.tokens
        return False

    def _token(self, h, body: bytes) -> None:
        form = {k: v[-1] for k, v in urllib.parse.parse_qs(body.decode()).items()}
        _, client_id, secret = self.auth if self.auth and self.auth[0] == "oauth2" else (None, None, None)
        given_id, given_secret = form.get("client_id"), form.get("client_secret")
        basic = h.headers.get("Authorization", "")
        if basic.startswith("Basic "):
            given_id, given_secret = [urllib.parse.unquote(p) for p in
                                      base64.b64decode(basic[6:]).decode().split(":", 1)]
        if self.token_fails or form.get("grant_type") != "client_credentials" or \
                (given_id, given_secret) != (client_id, secret):
            return self._send(h, 401, {"error": "invalid_client", "got": form}, {})
        with self.lock:
            token = f"tok-{len(self.tokens) + 1}-{time.monotonic_ns()}"
            self.tokens.add(token)
        self._send(h, 200, {"access_token": token, "token_type": "Bearer",
                            "expires_in": self.token_lifetime}, {})

    def _page(self, path: str, query: dict, body: bytes):
        with self.lock:
            records = list(self.records)
            size = self.page_size
        total = len(records)
        if path == "/offset":
            offset, limit = int(query.get("offset", 0)), int(query.get("limit", size))
            return {"data": {"items": records[offset:offset + limit]}, "meta": {"total": total}}, {}
        if path == "/page":
            page, per = int(query.get("page", 1)), int(query.get("per_page", size))
            return {"results": records[(page - 1) * per: page * per], "count": total}, {}
        if path == "/cursor":
            start = int(query["cursor"][1:]) if query.get("cursor") else 0
            nxt = f"c{start + size}" if start + size < total else None
            return {"items": records[start:start + size], "next_cursor": nxt}, {}
        if path == "/link":
            page = int(query.get("page", 1))
            headers = {}
            if page * size < total:
                headers["Link"] = (f'<{self.url}/link?page=1>; rel="first", '
                                   f'<{self.url}/link?page={page + 1}>; rel="next"')
            return records[(page - 1) * size: page * size], headers
        if path == "/next":
            page = int(query.get("page", 1))
            nxt = f"/next?page={page + 1}" if page * size < total else None
            return {"items": records[(page - 1) * size: page * size], "links": {"next": nxt}}, {}
        if path == "/stuck":  # ignores its paging parameters
            return {"items": records[:size]}, {}
        if path == "/all":
            return records, {}
        if path == "/since":
            since = query.get("updated_since", "")
            return [r for r in records if r["updated_at"] >= since], {}
        if path == "/after":
            after = int(query.get("after_id") or 0)
            return {"items": [r for r in records if r["id"] > after]}, {}
        if path == "/search":
            since = json.loads(body or b"{}").get("since") or ""
            return {"items": [r for r in records if r["updated_at"] >= since]}, {}
        return None, {}

    def _send(self, h, status: int, obj, headers: dict) -> None:
        self._send_raw(h, status, json.dumps(obj).encode(), headers)

    def _send_raw(self, h, status: int, data: bytes, headers: dict) -> None:
        if self.gzip and "gzip" in h.headers.get("Accept-Encoding", ""):
            data = gzip.compress(data)
            headers = {**headers, "Content-Encoding": "gzip"}
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        for k, v in headers.items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(data)
