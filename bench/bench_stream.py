#!/usr/bin/env python3
"""Streaming ingest: 1M JSON messages from a real Kafka broker into a partitioned Delta table.

Run from the repository root:

    .venv/bin/python bench/bench_stream.py [--messages 1000000] [--partitions 4] [--rounds 2]

A KRaft Apache Kafka broker (tests/kafka_server.py, the jars the bootstrap fetched) runs on
loopback. The topic is filled once with N JSON messages of 8 fields (~200 bytes each: an
event id, a user id, an event type out of 6, an ISO timestamp over 7 days, an amount, a
country, a device and a URL path). Each timed round reads the whole topic, from the earliest
offset, with a new consumer group into a new table partitioned by day(ts) and event_type,
committing every --flush-rows messages, and stops once the topic has been idle for 1 s.

Contenders, each in a fresh child process, alternating:
- inlet: `inlet stream PIPELINE.yaml --idle-exit 1` (declared schema, metadata columns,
  exactly-once offsets in each commit);
- python: what people glue together: confluent-kafka (librdkafka) consume() in batches,
  json.loads, pyarrow.Table.from_pylist, then deltalake.write_deltalake(partition_by=...)
  every --flush-rows messages. No offsets in the table: it is not exactly once.

Per round: wall seconds, CPU (user+sys) seconds, peak RSS (the process's own, /usr/bin/time -f %M). Throughput per core is
messages / CPU second; wall throughput excludes the 1 s idle wait. Both tables are checked:
N rows, N distinct event ids, the same sum of amounts. The target (issue 6) is 250,000
messages/s per core for inlet.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from bench_write import REPO, median, run_child  # noqa: E402

TARGET_PER_CORE = 250_000
IDLE_S = 1
EVENT_TYPES = ["view", "click", "add_to_cart", "purchase", "search", "logout"]

CHILD_PYTHON = r"""
import json, sys, time
t0 = time.perf_counter()
import pyarrow as pa, pyarrow.compute as pc
from confluent_kafka import Consumer
from deltalake import write_deltalake
brokers, topic, group, table, flush_rows, idle_s = sys.argv[1:7]
flush_rows, idle_s = int(flush_rows), float(idle_s)
c = Consumer({"bootstrap.servers": brokers, "group.id": group, "auto.offset.reset": "earliest",
              "enable.auto.commit": False})
c.subscribe([topic])
schema = pa.schema([("event_id", pa.string()), ("user_id", pa.int64()), ("event_type", pa.string()),
                    ("ts", pa.string()), ("amount", pa.float64()), ("country", pa.string()),
                    ("device", pa.string()), ("url", pa.string()), ("_kafka_partition", pa.int32()),
                    ("_kafka_offset", pa.int64())])
rows, total, last_seen = [], 0, time.perf_counter()

def flush():
    global rows, total
    if not rows:
        return
    t = pa.Table.from_pylist(rows, schema=schema)
    t = t.set_column(3, "ts", pc.cast(t["ts"], pa.timestamp("us", tz="UTC")))
    t = t.append_column("day", pc.strftime(t["ts"], format="%Y-%m-%d"))
    write_deltalake(table, t, mode="append", partition_by=["day", "event_type"])
    total += len(rows)
    rows = []
    c.commit(asynchronous=True)

while True:
    msgs = c.consume(num_messages=10000, timeout=0.1)
    now = time.perf_counter()
    if not msgs:
        if now - last_seen >= idle_s:
            break
        continue
    last_seen = now
    for m in msgs:
        if m.error():
            continue
        r = json.loads(m.value())
        r["_kafka_partition"] = m.partition()
        r["_kafka_offset"] = m.offset()
        rows.append(r)
    if len(rows) >= flush_rows:
        flush()
flush()
c.close()
print(json.dumps({"messages": total}))
"""


def make_messages(n: int, seed: int) -> list[bytes]:
    import random
    rng = random.Random(seed)
    base = 1_763_000_000  # seconds: messages span 7 days from here
    out = []
    for i in range(n):
        ts = base + rng.randrange(7 * 86400)
        doc = {"event_id": f"{rng.getrandbits(64):016x}-{i:012d}", "user_id": rng.randrange(10_000_000),
               "event_type": EVENT_TYPES[rng.randrange(6)],
               "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ts)) + f".{rng.randrange(1000):03d}Z",
               "amount": round(rng.random() * 500, 2), "country": rng.choice(["DE", "FR", "US", "BR", "IN", "JP"]),
               "device": rng.choice(["ios", "android", "web", "desktop"]),
               "url": "/" + "/".join(rng.choice(["shop", "item", "cart", "cat", "deal", "help"]) for _ in range(3))
                      + f"?ref={rng.randrange(10**6)}"}
        out.append(json.dumps(doc, separators=(",", ":")).encode())
    return out


def produce(kafka, topic: str, messages: list[bytes]) -> float:
    from confluent_kafka import Producer
    p = Producer({"bootstrap.servers": kafka.bootstrap, "linger.ms": 20, "batch.size": 1_000_000,
                  "queue.buffering.max.messages": 2_000_000, "acks": "all"})
    t0 = time.perf_counter()
    for i, m in enumerate(messages):
        while True:
            try:
                p.produce(topic, m, key=str(i).encode())
                break
            except BufferError:
                p.poll(0.05)
        if i % 10000 == 0:
            p.poll(0)
    if p.flush(120) != 0:
        raise RuntimeError("messages not acknowledged")
    return time.perf_counter() - t0


def warm_up(kafka, topic: str) -> None:
    """The broker creates its group-offsets topic when a group first joins (seconds): done
    here, so that no timed round pays for it."""
    from confluent_kafka import Consumer
    c = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": "bench-warm-up", "auto.offset.reset": "earliest"})
    c.subscribe([topic])
    deadline = time.time() + 60
    while time.time() < deadline:
        m = c.poll(1)
        if m is not None and not m.error():
            break
    c.close()


def inlet_yaml(path: Path, kafka, topic: str, group: str, table: Path, flush_rows: int) -> Path:
    doc = {"pipelines": [{
        "name": "events",
        "source": {"type": "kafka", "brokers": kafka.bootstrap, "topic": topic, "group": group, "include_key": False,
                   "schema": {"event_id": "string", "user_id": "long", "event_type": "string", "ts": "timestamp",
                              "amount": "double", "country": "string", "device": "string", "url": "string"}},
        "destination": {"path": str(table), "partition_by": ["day=day(ts)", "event_type"]},
        "strategy": {"type": "append"},
        "processing": {"flush_rows": flush_rows, "flush_interval": "30s"}}]}
    path.write_text(json.dumps(doc, indent=2))  # JSON is YAML
    return path


def check_table(path: Path, n: int) -> dict:
    from deltalake import DeltaTable
    dt = DeltaTable(str(path))
    t = dt.to_pyarrow_table(columns=["event_id", "amount"])
    import pyarrow.compute as pc
    distinct = len(pc.unique(t["event_id"]))
    return {"rows": t.num_rows, "distinct": distinct, "amount": round(pc.sum(t["amount"]).as_py(), 2),
            "files": len(dt.file_uris()), "ok": t.num_rows == n and distinct == n}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--messages", type=int, default=1_000_000)
    ap.add_argument("--partitions", type=int, default=4)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--flush-rows", type=int, default=250_000)
    ap.add_argument("--contenders", default="inlet,python")
    ap.add_argument("--seed", type=int, default=5)
    ap.add_argument("--inlet", default="build/inlet")
    args = ap.parse_args()
    from kafka_server import KafkaServer
    inlet = Path(args.inlet) if Path(args.inlet).is_absolute() else REPO / args.inlet
    contenders = [c for c in args.contenders.split(",") if c]
    work = Path(tempfile.mkdtemp(prefix="inlet-bench-stream-", dir=str(REPO / "bench" / "out")
                                 if (REPO / "bench" / "out").is_dir() else None))
    kafka = KafkaServer(work / "kafka")
    (work / "kafka").mkdir(parents=True)
    kafka.start()
    try:
        t0 = time.perf_counter()
        messages = make_messages(args.messages, args.seed)
        size = sum(len(m) for m in messages)
        topic = "events"
        kafka.create_topic(topic, args.partitions)
        produced_s = produce(kafka, topic, messages)
        warm_up(kafka, topic)
        print(f"topic {topic}: {args.messages:,} messages x {size / args.messages:.0f} bytes "
              f"({size / 1e6:.0f} MB) in {args.partitions} partitions; generated and produced in "
              f"{time.perf_counter() - t0:.1f} s (produce {produced_s:.1f} s)")
        print(f"host: {os.cpu_count()} cores, {platform.platform()}; flush every {args.flush_rows:,} messages; "
              f"table partitioned by day(ts), event_type")
        del messages
        results: dict[str, list[dict]] = {c: [] for c in contenders}
        failed = False
        for r in range(args.rounds):
            order = contenders if r % 2 == 0 else contenders[::-1]
            for name in order:
                run_dir = work / f"{name}-{r}"
                run_dir.mkdir()
                table = run_dir / "table"
                group = f"bench-{name}-{r}"
                if name == "inlet":
                    y = inlet_yaml(run_dir / "p.yaml", kafka, topic, group, table, args.flush_rows)
                    cmd = [str(inlet), "stream", str(y), "--json", "--idle-exit", str(IDLE_S)]
                else:
                    cmd = [sys.executable, "-c", CHILD_PYTHON, kafka.bootstrap, topic, group, str(table),
                           str(args.flush_rows), str(IDLE_S)]
                res = run_child(cmd, run_dir)
                if res["exit_code"] != 0:
                    print(f"  {name} round {r}: FAILED exit {res['exit_code']}: {res['stderr_tail'][-800:]}")
                    failed = True
                    continue
                res["check"] = check_table(table, args.messages)
                res["busy_s"] = res["wall_s"] - IDLE_S
                res["per_core"] = args.messages / res["cpu_s"]
                res["per_s"] = args.messages / res["busy_s"]
                if not res["check"]["ok"]:
                    failed = True
                results[name].append(res)
                print(f"  {name:6s} round {r}: wall {res['wall_s']:6.2f} s  cpu {res['cpu_s']:6.2f} s  "
                      f"RSS {res['peak_rss_mib']:6.0f} MiB  {res['per_core']:>10,.0f} msg/s/core  "
                      f"{res['per_s']:>10,.0f} msg/s  files {res['check']['files']}  "
                      f"rows {res['check']['rows']:,} distinct {res['check']['distinct']:,} "
                      f"sum {res['check']['amount']}")
                shutil.rmtree(table, ignore_errors=True)
        sums = {c: {x["check"]["amount"] for x in rs} for c, rs in results.items() if rs}
        if len({a for s in sums.values() for a in s}) > 1:
            print(f"MISMATCH: sums of amount differ: {sums}")
            failed = True
        print("\nsummary (medians; RSS max)")
        print(f"  {'contender':10s} {'msg/s/core':>12s} {'msg/s':>10s} {'cpu s':>7s} {'wall s':>7s} {'RSS MiB':>8s}")
        med = {}
        for c, rs in results.items():
            if not rs:
                continue
            med[c] = {"per_core": median([x["per_core"] for x in rs]), "per_s": median([x["per_s"] for x in rs]),
                      "cpu": median([x["cpu_s"] for x in rs]), "wall": median([x["wall_s"] for x in rs]),
                      "rss": max(x["peak_rss_mib"] for x in rs)}
            m = med[c]
            print(f"  {c:10s} {m['per_core']:>12,.0f} {m['per_s']:>10,.0f} {m['cpu']:>7.2f} {m['wall']:>7.2f} "
                  f"{m['rss']:>8.0f}")
        if "inlet" in med and "python" in med:
            a, b = med["inlet"], med["python"]
            print(f"  inlet / python: {a['per_core'] / b['per_core']:.2f}x per core, {a['per_s'] / b['per_s']:.2f}x "
                  f"wall, {a['rss'] / b['rss']:.2f}x RSS")
        if "inlet" in med:
            ok = med["inlet"]["per_core"] >= TARGET_PER_CORE
            print(f"  target >= {TARGET_PER_CORE:,} msg/s per core: {'met' if ok else 'NOT met'} "
                  f"({med['inlet']['per_core']:,.0f})")
        return 1 if failed else 0
    finally:
        kafka.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
