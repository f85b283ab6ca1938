"""Regenerates src/inlet/source/testdata/pgoutput_v1.bin: pgoutput messages (protocol
version 1) captured from a real PostgreSQL 15 server, which source/pgoutput_test.cc decodes.

The workload: a table with a primary key and a TOASTable column under REPLICA IDENTITY
DEFAULT, and one under REPLICA IDENTITY FULL; an insert, an update leaving the TOASTed
value alone, an update of the key, a delete, and a truncate of both tables, each in a
transaction of its own. The file is the messages in order, each as a 4-byte big-endian
length and its bytes (pg_logical_slot_peek_binary_changes' data column).

    .venv/bin/python tests/make_pgoutput_vectors.py
"""
from __future__ import annotations

import pathlib
import struct

import psycopg2

from postgres_server import PostgresServer

OUT = pathlib.Path(__file__).resolve().parents[1] / "src/inlet/source/testdata/pgoutput_v1.bin"


def main() -> None:
    server = PostgresServer().start()
    try:
        server.create_database("vectors")
        server.sql(f"ALTER ROLE {server.user} REPLICATION")
        conn = psycopg2.connect(host="127.0.0.1", port=server.port, user=server.user,
                                password=server.password, dbname="vectors")
        conn.autocommit = True
        cur = conn.cursor()
        cur.execute("CREATE TABLE items (id int PRIMARY KEY, price numeric(8,2), doc text)")
        cur.execute("ALTER TABLE items ALTER COLUMN doc SET STORAGE EXTERNAL")
        cur.execute("CREATE TABLE audit (id int, note text)")
        cur.execute("ALTER TABLE audit REPLICA IDENTITY FULL")
        cur.execute("CREATE PUBLICATION vectors FOR TABLE items, audit")
        cur.execute("SELECT pg_create_logical_replication_slot('vectors', 'pgoutput')")
        big = "0123456789" * 400  # 4,000 bytes, stored out of line (TOAST), uncompressed
        cur.execute("INSERT INTO items VALUES (1, 9.50, %s)", (big,))
        cur.execute("UPDATE items SET price = 10.25 WHERE id = 1")  # doc unchanged: 'u'
        cur.execute("UPDATE items SET id = 2 WHERE id = 1")  # the key: old key sent
        cur.execute("INSERT INTO audit VALUES (7, NULL)")
        cur.execute("DELETE FROM audit WHERE id = 7")  # FULL: the whole old row
        cur.execute("DELETE FROM items WHERE id = 2")  # DEFAULT: the key only
        cur.execute("TRUNCATE items, audit")
        cur.execute("SELECT data FROM pg_logical_slot_peek_binary_changes('vectors', NULL, "
                    "NULL, 'proto_version', '1', 'publication_names', 'vectors')")
        out = b"".join(struct.pack(">I", len(bytes(d))) + bytes(d) for (d,) in cur.fetchall())
        OUT.write_bytes(out)
        print(f"wrote {OUT} ({len(out)} bytes)")
    finally:
        server.stop()


if __name__ == "__main__":
    main()
