"""A fault-injecting TCP proxy on loopback, for object storage and catalogs that fail.

Put it in front of a server (MinIO, the Iceberg REST catalog) and point inlet at it. Every
chunk of bytes it relays draws a fault at random (seeded), with probability `rate`:

* towards the server: `reset_request` drops the connection (RST) before the chunk reaches
  the server, so a request is lost or cut short;
* towards the client: `reset_response` drops the connection after the server has acted on
  the request but before the client hears of it (the ambiguous outcome a commit must
  survive); `truncate` relays half of the chunk, then drops the connection; `delay` stalls
  the chunk for up to `max_delay` seconds, then relays it.

`enabled` turns the faults off (a clean pass-through); `faults` counts what it did.
"""
from __future__ import annotations

import collections
import random
import socket
import struct
import threading
import time


class FaultProxy:
    KINDS = ("reset_request", "reset_response", "truncate", "delay")

    def __init__(self, upstream_host: str, upstream_port: int, *, rate: float = 0.05,
                 seed: int = 0, max_delay: float = 1.5, kinds: tuple[str, ...] = KINDS):
        self.upstream = (upstream_host, upstream_port)
        self.rate = rate
        self.max_delay = max_delay
        self.kinds = kinds
        self.enabled = True
        self.faults: collections.Counter = collections.Counter()
        self.connections = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def total(self) -> int:
        with self._lock:
            return sum(self.faults.values())

    def close(self) -> None:
        self._closed = True
        self._listener.close()

    # -----------------------------------------------------------------------------------

    def _draw(self, direction: str) -> str | None:
        with self._lock:
            if not self.enabled or self._rng.random() >= self.rate:
                return None
            kinds = [k for k in self.kinds if (k == "reset_request") == (direction == "up")]
            if not kinds:
                return None
            kind = self._rng.choice(kinds)
            self.faults[kind] += 1
            return kind

    def _delay(self) -> float:
        with self._lock:
            return self._rng.uniform(0.05, self.max_delay)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=10)
                server.settimeout(None)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self.connections += 1
            pair = _Pair(client, server)
            threading.Thread(target=self._pump, args=(pair, client, server, "up"), daemon=True).start()
            threading.Thread(target=self._pump, args=(pair, server, client, "down"), daemon=True).start()

    def _pump(self, pair: "_Pair", src: socket.socket, dst: socket.socket, direction: str) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    return
                fault = self._draw(direction)
                if fault in ("reset_request", "reset_response"):
                    pair.reset()
                    return
                if fault == "truncate":
                    dst.sendall(data[: max(1, len(data) // 2)])
                    pair.reset()
                    return
                if fault == "delay":
                    time.sleep(self._delay())
                dst.sendall(data)
        except OSError:
            pair.reset()


class _Pair:
    def __init__(self, a: socket.socket, b: socket.socket):
        self.a, self.b = a, b
        self._once = threading.Lock()
        self._done = False

    def reset(self) -> None:
        with self._once:
            if self._done:
                return
            self._done = True
        _reset(self.a)
        _reset(self.b)


def _reset(sock: socket.socket) -> None:
    """Close with an RST (SO_LINGER 0), as a crashed peer or a middlebox would. The pump
    thread blocked reading the socket is woken first (SHUT_RD sends nothing): while a
    thread is inside recv() the kernel keeps the socket open, and close() alone would
    leave the peer waiting for an answer that never comes."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RD)
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
