#!/usr/bin/env python3
"""Makes the seed corpora of the fuzz targets (fuzz/corpus/<target>/), once, by hand.

    .venv/bin/python fuzz/make_seeds.py [--inlet build/inlet]

Seeds come from the Delta conformance tables (../shared/conformance: commits,
checkpoints, deletion vectors written by Spark and delta-rs), from Iceberg tables
written here by pyiceberg and by inlet (metadata JSON, manifests, manifest lists), from
the pgoutput messages a real PostgreSQL sent (src/inlet/source/testdata), from the
examples' pipeline files, and from small hand-written inputs. The corpora are committed:
this script is how they were made, not a step of the build. A seed is named by the
SHA-1 of its bytes, as libFuzzer names the inputs it adds.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import re
import struct
import subprocess
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "fuzz" / "corpus"
CONFORMANCE = REPO.parent / "shared" / "conformance"
SEP = b"\n%%\n"


def seed(target: str, data: bytes) -> None:
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    (d / hashlib.sha1(data).hexdigest()).write_bytes(data)


def small_files(pattern: str, limit: int, max_size: int):
    files = sorted(p for p in CONFORMANCE.rglob(pattern) if p.stat().st_size <= max_size)
    step = max(1, len(files) // limit)
    return files[::step][:limit]


def delta_seeds() -> None:
    for p in small_files("_delta_log/*.json", 160, 64 * 1024):
        if p.name[:20].isdigit():
            seed("delta_log", p.read_bytes())
    for p in small_files("*.checkpoint*.parquet", 40, 256 * 1024):
        seed("delta_checkpoint", p.read_bytes())
    for p in small_files("deletion_vector_*.bin", 40, 64 * 1024):
        b = p.read_bytes()
        # A version byte, then per DV its big-endian size, its bytes and a CRC-32.
        i = 1
        while i + 4 <= len(b):
            (n,) = struct.unpack(">I", b[i:i + 4])
            # The target reads a 3-byte cardinality first; libFuzzer's comparison
            # tracing finds the right one from a wrong one.
            seed("delta_deletion_vector", b"\0\0\0" + b[i + 4:i + 4 + n])
            i += 4 + n + 4
    # A bitset container (more than 4096 rows in one 64K chunk): the conformance DVs hold
    # array and run containers only. Layout: the treemap's magic and bucket count, the
    # bucket's high half, then a portable bitmap without runs: cookie, container count,
    # key and cardinality - 1, the container's offset, 8 KiB of bits.
    rows = 5000
    bits = bytearray(8192)
    for r in range(rows):
        bits[r // 8] |= 1 << (r % 8)
    bitmap = struct.pack("<IIHHI", 12346, 1, 0, rows - 1, 16) + bytes(bits)
    dv = struct.pack("<IQI", 1681511377, 1, 0) + bitmap
    seed("delta_deletion_vector", rows.to_bytes(3, "little") + dv)
    for p in small_files("_delta_log/*.json", 400, 1 << 20):
        for m in re.finditer(rb'"pathOrInlineDv"\s*:\s*"([^"]+)"', p.read_bytes()):
            seed("delta_deletion_vector", m.group(1))


def iceberg_seeds(inlet: Path) -> None:
    import pyarrow as pa
    from pyiceberg.catalog.sql import SqlCatalog
    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.schema import Schema
    from pyiceberg.transforms import BucketTransform, DayTransform, IdentityTransform
    from pyiceberg.types import (DecimalType, DoubleType, LongType, NestedField, StringType,
                                 TimestamptzType)
    with tempfile.TemporaryDirectory() as tmp:
        wh = Path(tmp) / "wh"
        cat = SqlCatalog("lake", uri=f"sqlite:///{tmp}/cat.db", warehouse=f"file://{wh}")
        cat.create_namespace("ns")
        schema = Schema(NestedField(1, "id", LongType(), required=True),
                        NestedField(2, "name", StringType()),
                        NestedField(3, "amount", DecimalType(10, 2)),
                        NestedField(4, "ts", TimestamptzType()),
                        NestedField(5, "score", DoubleType()))
        spec = PartitionSpec(PartitionField(4, 1000, DayTransform(), "ts_day"),
                             PartitionField(1, 1001, BucketTransform(4), "id_bucket"),
                             PartitionField(2, 1002, IdentityTransform(), "name"))
        t = cat.create_table("ns.t", schema, partition_spec=spec,
                             properties={"format-version": "2"})
        from decimal import Decimal
        for k in range(3):
            t.append(pa.table({
                "id": pa.array([k * 10 + i for i in range(10)], pa.int64(), mask=None),
                "name": [f"n{i % 3}" for i in range(10)],
                "amount": pa.array([Decimal(f"{i}.25") for i in range(10)], pa.decimal128(10, 2)),
                "ts": pa.array([dt.datetime(2024, 1, 1 + i, tzinfo=dt.timezone.utc) for i in range(10)],
                               pa.timestamp("us", "UTC")),
                "score": [i * 0.5 for i in range(10)],
            }, schema=t.schema().as_arrow()))
        t.delete("id < 5")
        with t.update_schema() as u:
            u.add_column("extra", StringType())
        if inlet.exists():
            csv = Path(tmp) / "in.csv"
            csv.write_text("id,name,ts\n1,a,2024-01-01T00:00:00Z\n2,b,2024-01-02T10:00:00Z\n")
            for part in ("day(ts)", "bucket[8](id)", "truncate[2](name), hour(ts)"):
                dest = Path(tmp) / ("inlet_" + re.sub(r"\W", "_", part))
                for _ in range(2):
                    subprocess.run([str(inlet), "write", str(dest), "--input", str(csv),
                                    "--format", "iceberg", "--partition-by", part], check=True,
                                   capture_output=True)
                subprocess.run([str(inlet), "delete", str(dest), "--where", "id = 1"],
                               check=True, capture_output=True)
        for p in Path(tmp).rglob("*.metadata.json"):
            seed("iceberg_metadata", p.read_bytes())
        for p in Path(tmp).rglob("*.avro"):
            seed("iceberg_avro", p.read_bytes())


def pgoutput_seeds() -> None:
    b = (REPO / "src/inlet/source/testdata/pgoutput_v1.bin").read_bytes()
    i = 0
    while i + 4 <= len(b):
        (n,) = struct.unpack(">I", b[i:i + 4])
        msg = b[i + 4:i + 4 + n]
        seed("pgoutput", msg)
        # The same message inside an XLogData, as the server sends it.
        seed("pgoutput", b"w" + struct.pack(">QQq", 0x16B3748, 0x16B3800, 7) + msg)
        i += 4 + n
    seed("pgoutput", b"k" + struct.pack(">Qq", 0x16B3800, 12) + b"\x01")
    seed("pgoutput", b"0/16B3748")
    for row in (b"\x001\tabc\t\\N\t2024-01-01 10:00:00+02\t{1,2,NULL}",
                b"\x07-12.50\t{\"a\":1}\t\\\\x0aff\tP1Y2M\t1 day 02:03:04",
                b"\x0c{{1.5,2},{3,NaN}}\t{\"a b\",\"c\\\\\\\"d\"}\t2024-02-30\tinfinity"):
        seed("pgoutput", row)


def text_seeds() -> None:
    csv = [b"id,name,at,amount\n1,a,2024-01-01T10:00:00Z,1.5\n2,\"b,c\",2024-01-02 11:00:00+02:00,\n",
           b"id:long, at:timestamp, amount:decimal(10,2), day:date" + SEP +
           b"id,at,amount,day\n1,2024-01-01T10:00:00.123456Z,12.34,2024-02-29\n2,,NaN,\n",
           b"a:int" + SEP + b"x;y\n1;2\n" + SEP + b";'\\",
           b"id,flag,t\n1,true,10:00:00\n2,false,25:61:00\n"]
    for s in csv:
        seed("csv", s)
    js = [b'{"id":1,"name":"a","at":"2024-01-01T10:00:00Z","tags":["x"],"o":{"k":1}}\n{"id":2.5}\n',
          b'[{"id":1,"d":"2024-01-01"},{"id":2,"d":null}]',
          b"id:long, at:timestamp_ntz, amount:decimal(5,1)" + SEP +
          b'{"id":1,"at":"2024-01-01 10:00:00","amount":"1.25"}\n{"id":"x"}\n',
          b'{"a":{"b":[1,{"c":"2024-01-01T00:00:00+05:30"}]}}\n']
    for s in js:
        seed("json_files", s)
    dbz = json.dumps({"schema": {"type": "struct", "fields": [
        {"field": "after", "type": "struct", "optional": True, "fields": [
            {"field": "id", "type": "int64"},
            {"field": "price", "type": "bytes", "name": "org.apache.kafka.connect.data.Decimal",
             "parameters": {"scale": "2"}},
            {"field": "at", "type": "int64", "name": "io.debezium.time.MicroTimestamp"},
            {"field": "day", "type": "int32", "name": "io.debezium.time.Date"}]}]},
        "payload": {"before": None, "after": {"id": 1, "price": "AN4=", "at": 1700000000000000,
                                              "day": 19000},
                    "op": "c", "ts_ms": 1700000000000,
                    "source": {"lsn": 123, "txId": 9, "ts_ms": 1700000000000}}}).encode()
    plain = b'{"id":1,"amount":"12.50","at":"2024-01-01T00:00:00Z","day":"2024-01-01","name":"x","ok":true,"score":1e3}'
    for mode in (0, 1, 3, 5, 9, 17, 32, 33, 96, 127):
        seed("kafka_messages", bytes([mode]) + plain + b"\n" + dbz + b"\n" +
             b'{"id":2,"extra":[1,2],"at":1700000000}\nnull\n{"op":"d","before":{"id":1}}')
    schemas = [{"type": "object", "properties": {
        "id": {"type": "integer"}, "at": {"type": "string", "format": "date-time"},
        "day": {"type": "string", "format": "date"}, "kind": {"type": "string", "enum": ["a", "b"]},
        "price": {"type": "number"}, "tags": {"type": "array", "items": {"type": "string"}},
        "o": {"type": "object", "properties": {"x": {"type": ["null", "boolean"]}}}},
        "required": ["id"], "additionalProperties": False},
        {"type": "object", "properties": {"n": {"type": "integer", "minimum": 0}}},
        {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
         "properties": {"d": {"type": "string", "contentEncoding": "base64"}}}]
    for s in schemas:
        seed("json_schema", json.dumps(s).encode())
    for p in (REPO / "examples").rglob("*.yaml"):
        seed("pipeline_yaml", p.read_bytes())
    for p in (REPO / "docs").glob("*.md"):
        for m in re.finditer(r"```yaml\n(.*?)```", p.read_text(), re.S):
            seed("pipeline_yaml", m.group(1).encode())
    wheres = ["amount > 10 AND status IN ('a', 'b')", "ts >= '2024-01-01T00:00:00Z'",
              "name = 'it''s' and id <> 3", "x IS NULL AND y IS NOT NULL",
              "d BETWEEN '2024-01-01' AND '2024-02-01'", "n < -1.5e3", "`weird col` = 1",
              "a.b.c = true", "id NOT IN (1, 2, 3)", "s LIKE 'ab%'"]
    for w in wheres:
        seed("where", w.encode())
    pages = [(0, [b'[{"id":1},{"id":2,"x":[1]}]']),
             (1, [b'[{"id":1},{"id":2}]', b'[{"id":3}]', b"[]"]),
             (2 | 8, [b'{"data":[{"id":1}]}', b'{"data":[]}']),
             (3, [b'{"items":[{"id":1}],"next":"abc"}', b'[{"id":2}]']),
             (3 | 8 | 32, [b'{"data":[{"id":1}],"meta":{"next":"c2"}}', b'{"data":[],"meta":{"next":null}}']),
             (4, [b'Link: </v1/items?page=2>; rel="next"\n[{"id":1}]', b'[{"id":2}]']),
             (5 | 8 | 16, [b'{"data":[{"id":1}],"total":2,"next":"/v1/items?p=2"}',
                           b'{"data":[{"id":2}],"total":2,"next":null}']),
             (5 | 32, [b'{"links":{"next":"http://elsewhere.invalid/x"}}'])]
    for mode, ps in pages:
        seed("http_pages", bytes([mode]) + SEP.join(ps))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--inlet", default=str(REPO / "build" / "inlet"))
    args = ap.parse_args()
    delta_seeds()
    iceberg_seeds(Path(args.inlet))
    pgoutput_seeds()
    text_seeds()
    for d in sorted(CORPUS.iterdir()):
        print(f"{d.name}: {sum(1 for _ in d.iterdir())} seeds, "
              f"{sum(p.stat().st_size for p in d.iterdir()) // 1024} KiB")


if __name__ == "__main__":
    main()
