"""The Iceberg REST catalog restarted under a running Kafka stream into one of its tables.

(The broker's restart is in test_stream_kafka.py, PostgreSQL's under a CDC stream in
test_postgres_cdc.py, MinIO's in test_s3_outage.py.) While the catalog is down the stream
cannot commit: it either waits and goes on, or stops with one clear error naming the catalog
(bounded: it does not hang), and a stream started again goes on from the offsets committed in
the table. Either way every message is in the table exactly once.
"""
from __future__ import annotations

import collections
import json
import time

import pytest

import pipeline_support as ps

pytestmark = pytest.mark.slow


def _events(n, start=0):
    return [(f"k{i % 13}".encode(), json.dumps({"id": i, "name": f"n{i}"}).encode())
            for i in range(start, start + n)]


def test_rest_catalog_restarted_mid_stream(tmp_path, kafka, kafka_topic, iceberg_rest):
    from pyiceberg.catalog import load_catalog
    kafka.create_topic(kafka_topic, 2)
    ns = f"restart_{kafka_topic.replace('-', '_')}"
    p = {"name": "ev",
         "source": {"type": "kafka", "brokers": kafka.bootstrap, "topic": kafka_topic,
                    "schema": {"id": "long", "name": "string"}},
         "destination": {"catalog": {"uri": iceberg_rest.uri}, "table": f"{ns}.ev"},
         "strategy": {"type": "append"},
         "processing": {"flush_rows": 100, "flush_interval": "100ms"}}
    yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
    kafka.produce(kafka_topic, _events(1500))
    proc = ps.popen("stream", yaml, "--json", "--idle-exit", "8")
    outcomes = []
    try:
        time.sleep(3)                 # commits under way
        iceberg_rest.stop()
        kafka.produce(kafka_topic, _events(1500, 1500))
        time.sleep(4)                 # the catalog is down while messages come
        iceberg_rest.restart()
        out, err = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    outcomes.append(proc.returncode)
    if proc.returncode != 0:
        errors = [line for line in err.splitlines() if line.startswith("inlet: error:")]
        assert proc.returncode == 1 and len(errors) == 1, err
        assert "REST catalog" in errors[0] and iceberg_rest.uri.split("//")[1] in errors[0], errors[0]
        # Started again, it goes on from the offsets the table holds.
        again = ps.cli("stream", yaml, "--json", "--idle-exit", "8", timeout=180)
        outcomes.append(again.returncode)
    table = load_catalog("rest", type="rest", uri=iceberg_rest.uri).load_table(f"{ns}.ev")
    ids = collections.Counter(table.scan().to_arrow().column("id").to_pylist())
    doubled = [i for i, n in ids.items() if n > 1]
    assert not doubled, f"messages written twice: {doubled[:10]}"
    assert sorted(ids) == list(range(3000)), f"{3000 - len(ids)} messages lost"
    print(f"exit codes {outcomes}; {len(table.metadata.snapshots)} snapshots, every message once")
