"""A local Stavanger parking API for `make demo`: the current reading of each facility,
paginated (?page=N&per_page=M, {"data": [...], "meta": {"total": N}}), like the seed's
parking API. Each fetch of page 1 starts a new cycle 15 minutes later: in most cycles many
facilities report new free spaces, in some only one does (an insignificant change), and
Madla's reading arrives a cycle late (its timestamp is older than the others').

Usage: server.py [--port 0]   (prints "http://127.0.0.1:PORT" once listening)
"""
import argparse
import datetime
import json
import pathlib
import random
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# The facilities and the first reading's time of the file-based example.
sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent / "parking"))
from generate import FACILITIES, START  # noqa: E402


class Parking:
    def __init__(self):
        self.lock = threading.Lock()
        self.cycle = 0
        self.readings = {name: self.reading(name, lat, lon, cap, 0)
                         for name, lat, lon, cap in FACILITIES}

    @staticmethod
    def reading(name, lat, lon, cap, cycle):
        at = START + datetime.timedelta(minutes=15 * cycle)
        free = random.Random(f"{name}{cycle}").randrange(cap + 1)
        return {"location": name, "latitude": lat, "longitude": lon, "capacity": cap,
                "available_spaces": free, "timestamp": at.isoformat().replace("+00:00", "Z")}

    def next_cycle(self):
        with self.lock:
            self.cycle += 1
            c = self.cycle
            # Every third cycle only one facility changes: 10% of the rows.
            changing = FACILITIES[:1] if c % 3 == 0 else FACILITIES[c % 2::2] + FACILITIES[:2]
            for name, lat, lon, cap in changing:
                # Madla reports late: its reading is a cycle old when it arrives.
                self.readings[name] = self.reading(name, lat, lon, cap,
                                                   c - 1 if name == "Madla" else c)

    def page(self, page, per_page):
        with self.lock:
            rows = [self.readings[name] for name, *_ in FACILITIES]
        return {"data": rows[(page - 1) * per_page: page * per_page],
                "meta": {"total": len(rows), "page": page}}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    parking = Parking()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *a):
            pass

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            q = dict(urllib.parse.parse_qsl(url.query))
            if url.path != "/v1/parking/readings":
                self.send_error(404)
                return
            page, per_page = int(q.get("page", 1)), int(q.get("per_page", 4))
            if page == 1:
                parking.next_cycle()
            body = json.dumps(parking.page(page, per_page)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    print(f"http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
