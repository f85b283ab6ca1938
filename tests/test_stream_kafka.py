"""inlet stream: Kafka topics into Delta tables, exactly once, against a real broker.

Every test creates its own topic on the session's Apache Kafka broker (kafka_server.py),
produces with confluent-kafka (librdkafka), runs `inlet stream` as a process, and reads the
table back with deltalake and DuckDB. Exactly once is checked by (partition, offset): the
table holds each produced message once, with the value that was produced at that offset.
"""
from __future__ import annotations

import json
import random
import signal
import time

import pytest

import oracle
import pipeline_support as ps


def stream_pipeline(tmp_path, kafka, topic, name="ev", *, group=None, processing=None, dead_letters=True,
                    strategy=None, keys=None, schema=None, extra_source=None, table="table", maintenance=None,
                    table_format=None):
    # A killed consumer's partitions move once its session times out: 6 s, the broker's least.
    source = {"type": "kafka", "brokers": kafka.bootstrap, "topic": topic,
              "properties": {"session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"}}
    if group:
        source["group"] = group
    if schema:
        source["schema"] = schema
    for k, v in (extra_source or {}).items():
        if k == "properties":
            source["properties"].update(v)
        else:
            source[k] = v
    p = {"name": name, "source": source, "destination": {"path": str(tmp_path / table)},
         "strategy": strategy or {"type": "append"},
         "processing": processing or {"flush_rows": 500, "flush_interval": "300ms"}}
    if keys:
        p["destination"]["keys"] = keys
    if table_format:
        p["destination"]["format"] = table_format
    if maintenance:
        p["destination"]["maintenance"] = maintenance
    if dead_letters:
        p["dead_letters"] = {"path": str(tmp_path / "dead")}
    return ps.write_pipelines(tmp_path / f"{name}.yaml", p)


def stream(yaml, *args, idle=3, check=True, timeout=180):
    proc = ps.cli("stream", yaml, "--json", "--idle-exit", idle, *args, check=check, timeout=timeout)
    return proc, (ps.parse_reports(proc.stdout) if proc.stdout.strip() else [])


def events(n, start=0):
    return [(f"k{i % 97}".encode(), json.dumps({"id": i, "name": f"n{i}", "amount": i * 0.5}).encode())
            for i in range(start, start + n)]


def produced_by_offset(kafka, topic):
    """(partition, offset) -> id of every message in the topic, read back with librdkafka."""
    from confluent_kafka import Consumer, TopicPartition
    ends = kafka.end_offsets(topic)
    c = Consumer({"bootstrap.servers": kafka.bootstrap, "group.id": "inlet-tests-reader", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, p, 0) for p in ends])
    out, want = {}, sum(ends.values())
    deadline = time.time() + 60
    while len(out) < want and time.time() < deadline:
        m = c.poll(1)
        if m is None or m.error():
            continue
        try:
            out[(m.partition(), m.offset())] = json.loads(m.value())["id"]
        except (ValueError, KeyError, TypeError):
            out[(m.partition(), m.offset())] = None
    c.close()
    assert len(out) == want, f"read back {len(out)} of {want} messages"
    return out


def assert_exactly_once(tmp_path, kafka, topic, table="table"):
    expected = {k: v for k, v in produced_by_offset(kafka, topic).items() if v is not None}
    got = ps.read_table(tmp_path / table)
    keys = list(zip(got.column("_kafka_partition").to_pylist(), got.column("_kafka_offset").to_pylist()))
    dupes = len(keys) - len(set(keys))
    assert dupes == 0, f"{dupes} messages written twice"
    missing = set(expected) - set(keys)
    assert not missing, f"{len(missing)} messages lost, e.g. {sorted(missing)[:5]}"
    ids = dict(zip(keys, got.column("id").to_pylist()))
    assert ids == expected
    # The table records every partition's last offset in its log (txn actions).
    versions = {}
    for commit in ps.log_commits(tmp_path / table).values():
        for t in ps.actions(commit, "txn"):
            versions[t["appId"]] = max(versions.get(t["appId"], -1), t["version"])
    ends = kafka.end_offsets(topic)
    for p, end in ends.items():
        if end:
            assert versions[f"inlet.kafka/{topic}/{p}"] == end - 1
    duck = oracle.read_duckdb(tmp_path / table)
    assert duck.num_rows == got.num_rows
    return got


def test_stream_writes_every_message_once_with_metadata(tmp_path, kafka, kafka_topic):
    kafka.create_topic(kafka_topic, 3)
    kafka.produce(kafka_topic, events(3000))
    yaml = stream_pipeline(tmp_path, kafka, kafka_topic, extra_source={"include_headers": True})
    _, (report,) = stream(yaml)
    assert report["status"] == "idle" and report["rows_written"] == 3000 and report["dead_letters"] == 0, report
    got = assert_exactly_once(tmp_path, kafka, kafka_topic)
    assert {f.name: str(f.type).replace("string_view", "string") for f in got.schema} == {
        "id": "int64", "name": "string", "amount": "double", "_kafka_topic": "string",
        "_kafka_partition": "int32", "_kafka_offset": "int64", "_kafka_timestamp": "timestamp[us, tz=UTC]",
        "_kafka_key": "string", "_kafka_headers": "string", "_ingested_at": "timestamp[us, tz=UTC]"}
    by_id = {r["id"]: r for r in got.to_pylist()}
    assert by_id[5]["_kafka_key"] == "k5" and by_id[5]["name"] == "n5" and by_id[5]["_kafka_topic"] == kafka_topic
    # A second run finds nothing new and commits nothing.
    before = ps.latest_version(tmp_path / "table")
    _, (again,) = stream(yaml, idle=2)
    assert again["rows_written"] == 0 and ps.latest_version(tmp_path / "table") == before
    # New messages, a new field: the table gains a column.
    kafka.produce(kafka_topic, [(b"x", json.dumps({"id": 3000, "name": "late", "amount": 1, "extra": True}).encode())])
    stream(yaml, idle=2)
    got = assert_exactly_once(tmp_path, kafka, kafka_topic)
    assert got.column("extra").to_pylist().count(True) == 1
    # The group's offsets follow the table's (monitoring only).
    assert kafka.committed("inlet-ev", kafka_topic) == kafka.end_offsets(kafka_topic)


def test_kill_9_at_random_moments_loses_and_doubles_nothing(tmp_path, kafka, kafka_topic):
    kafka.create_topic(kafka_topic, 4)
    yaml = stream_pipeline(tmp_path, kafka, kafka_topic, processing={"flush_rows": 300, "flush_interval": "100ms"})
    rng = random.Random(7)
    produced = 0
    for round_ in range(6):
        kafka.produce(kafka_topic, events(2500, produced))
        produced += 2500
        proc = ps.popen("stream", yaml)
        time.sleep(rng.uniform(0.5, 2.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    # Idle for longer than the killed consumers' session timeout: their partitions come back.
    _, (report,) = stream(yaml, idle=10)
    assert report["status"] == "idle", report
    assert_exactly_once(tmp_path, kafka, kafka_topic)


def test_a_stream_into_an_iceberg_table_is_exactly_once_under_kill_9(tmp_path, kafka, kafka_topic):
    """destination.format: iceberg: each commit records every partition's last offset in
    its snapshot summary; kill -9 at random moments, then a new field, and pyiceberg reads
    each message once."""
    from pyiceberg.table import StaticTable
    kafka.create_topic(kafka_topic, 3)
    yaml = stream_pipeline(tmp_path, kafka, kafka_topic, processing={"flush_rows": 300, "flush_interval": "100ms"},
                           table_format="iceberg")
    rng = random.Random(21)
    produced = 0
    for round_ in range(3):
        kafka.produce(kafka_topic, events(1500, produced))
        produced += 1500
        proc = ps.popen("stream", yaml)
        time.sleep(rng.uniform(0.5, 1.5))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    kafka.produce(kafka_topic, [(b"x", json.dumps({"id": produced, "name": "late", "amount": 1, "extra": True}).encode())])
    _, (report,) = stream(yaml, idle=10)
    assert report["status"] == "idle", report
    table = tmp_path / "table"
    hint = (table / "metadata" / "version-hint.text").read_text().strip()
    t = StaticTable.from_metadata(str(table / "metadata" / f"v{hint}.metadata.json"))
    got = t.scan().to_arrow()
    keys = list(zip(got.column("_kafka_partition").to_pylist(), got.column("_kafka_offset").to_pylist()))
    assert len(keys) == len(set(keys)), f"{len(keys) - len(set(keys))} messages written twice"
    expected = produced_by_offset(kafka, kafka_topic)
    assert dict(zip(keys, got.column("id").to_pylist())) == expected
    assert got.column("extra").to_pylist().count(True) == 1
    summary = t.current_snapshot().summary
    for p, end in kafka.end_offsets(kafka_topic).items():
        if end:
            assert summary[f"inlet.app.inlet.kafka/{kafka_topic}/{p}"] == str(end - 1), summary


def test_consumers_in_one_group_share_partitions_exactly_once(tmp_path, kafka, kafka_topic):
    kafka.create_topic(kafka_topic, 6)
    yaml = stream_pipeline(tmp_path, kafka, kafka_topic, processing={"flush_rows": 200, "flush_interval": "200ms"})
    procs = [ps.popen("stream", yaml, "--json") for _ in range(3)]
    produced = 0
    rng = random.Random(3)
    for round_ in range(5):
        kafka.produce(kafka_topic, events(2000, produced))
        produced += 2000
        time.sleep(1)
        # A consumer leaves (killed or stopped) and another joins: partitions move.
        victim = rng.randrange(len(procs))
        procs[victim].send_signal(signal.SIGKILL if round_ % 2 else signal.SIGTERM)
        procs[victim].wait()
        procs[victim] = ps.popen("stream", yaml, "--json")
    time.sleep(2)
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    stream(yaml, idle=10)  # whatever the last ones left
    assert_exactly_once(tmp_path, kafka, kafka_topic)


def test_bad_messages_go_to_dead_letters_and_the_stream_goes_on(tmp_path, kafka, kafka_topic):
    kafka.create_topic(kafka_topic, 2)
    good = events(100)
    bad = [(b"b1", b"{not json"), (b"b2", b'{"id": "seven", "name": "x", "amount": 1}'),
           (b"b3", b"[1, 2]"), (b"b4", None), (b"b5", b'{"id": 1, "name": "x", "amount": "lots"}')]
    kafka.produce(kafka_topic, good[:50] + bad + good[50:], partition=0)
    yaml = stream_pipeline(tmp_path, kafka, kafka_topic, schema={"id": "long", "name": "string", "amount": "double"})
    _, (report,) = stream(yaml)
    assert report["rows_written"] == 100 and report["dead_letters"] == 5, report
    dead = sorted(ps.read_table(tmp_path / "dead").to_pylist(), key=lambda d: d["_kafka_offset"])
    assert [d["_kafka_offset"] for d in dead] == [50, 51, 52, 53, 54]
    assert dead[0]["value"] == b"{not json" and "malformed JSON" in dead[0]["error"]
    assert "field 'id'" in dead[1]["error"] and "expected an integer" in dead[1]["error"], dead[1]
    assert "not a JSON object" in dead[2]["error"] and dead[3]["value"] is None
    assert "field 'amount'" in dead[4]["error"] and dead[4]["_kafka_key"] == b"b5"
    got = ps.read_table(tmp_path / "table")
    assert sorted(got.column("id").to_pylist()) == list(range(100))
    # Read again from scratch (a new table): the dead letters are not doubled.
    stream(yaml, idle=2)
    assert ps.read_table(tmp_path / "dead").num_rows == 5


def test_a_json_schema_file_types_the_columns_and_checks_each_message(tmp_path, kafka, kafka_topic):
    import datetime
    kafka.create_topic(kafka_topic, 1)
    (tmp_path / "schemas").mkdir()
    (tmp_path / "schemas" / "events.json").write_text(json.dumps({
        "$schema": "http://json-schema.org/draft-07/schema#", "title": "user events", "type": "object",
        "properties": {"id": {"type": "integer"}, "ts": {"type": "string", "format": "date-time"},
                       "kind": {"type": "string", "enum": ["view", "click"]}, "amount": {"type": ["number", "null"]},
                       "ctx": {"type": "object"}},
        "required": ["id", "ts", "kind"], "additionalProperties": False}))
    good = [{"id": i, "ts": f"2026-11-0{1 + i % 5}T10:00:00Z", "kind": ["view", "click"][i % 2], "amount": i / 4,
             "ctx": {"page": i}} for i in range(20)]
    bad = [{"id": 100, "ts": "2026-11-01T10:00:00Z", "kind": "purchase"},           # not in the enum
           {"id": 101, "kind": "view"},                                           # ts is required
           {"id": 102, "ts": "yesterday", "kind": "view"},                        # not a date-time
           {"id": 103, "ts": "2026-11-01T10:00:00Z", "kind": "view", "extra": 1},  # additionalProperties
           {"id": "104", "ts": "2026-11-01T10:00:00Z", "kind": "view"}]            # not an integer
    kafka.produce(kafka_topic, [(b"k", json.dumps(m).encode()) for m in good[:10] + bad + good[10:]])
    yaml = stream_pipeline(tmp_path, kafka, kafka_topic, extra_source={"schema_file": "schemas/events.json"},
                           processing={"flush_rows": 7, "flush_interval": "100ms"})
    _, (report,) = stream(yaml)
    assert report["rows_written"] == 20 and report["dead_letters"] == 5, report
    got = ps.read_table(tmp_path / "table")
    types = {f.name: str(f.type) for f in got.schema}
    assert types["id"] == "int64" and types["ts"] == "timestamp[us, tz=UTC]" and types["amount"] == "double", types
    rows = sorted(got.to_pylist(), key=lambda r: r["id"])
    assert rows[3]["ts"] == datetime.datetime(2026, 11, 4, 10, tzinfo=datetime.timezone.utc)
    assert json.loads(rows[3]["ctx"]) == {"page": 3}
    errors = [d["error"] for d in sorted(ps.read_table(tmp_path / "dead").to_pylist(), key=lambda d: d["_kafka_offset"])]
    assert "'purchase' is not one of the schema's enum values" in errors[0], errors
    assert "required field 'ts'" in errors[1] and "field 'ts'" in errors[2], errors
    assert "field 'extra' is not in the schema" in errors[3] and "field 'id'" in errors[4], errors
    # A schema keyword inlet does not check is refused when the pipeline is read.
    (tmp_path / "schemas" / "strict.json").write_text(json.dumps(
        {"type": "object", "properties": {"id": {"type": "integer", "minimum": 0}}}))
    strict = stream_pipeline(tmp_path, kafka, kafka_topic, name="strict",
                             extra_source={"schema_file": "schemas/strict.json"})
    proc, _ = stream(strict, check=False)
    assert proc.returncode != 0 and "strict.json" in proc.stderr and "keyword 'minimum'" in proc.stderr, proc.stderr


def test_without_dead_letters_a_bad_message_stops_the_stream_naming_it(tmp_path, kafka, kafka_topic):
    kafka.create_topic(kafka_topic, 1)
    kafka.produce(kafka_topic, events(10) + [(b"k", b'{"id": 1,')] + events(10, 10))
    yaml = stream_pipeline(tmp_path, kafka, kafka_topic, dead_letters=False,
                           processing={"flush_rows": 1000, "flush_interval": "60s"})
    proc, _ = stream(yaml, check=False)
    assert proc.returncode == 1
    assert f"message {kafka_topic}/0@10: malformed JSON" in proc.stderr, proc.stderr
    assert "dead_letters.path" in proc.stderr
    assert ps.table_absent(tmp_path / "table")


def test_sigterm_commits_what_is_held_and_exits_cleanly(tmp_path, kafka, kafka_topic):
    kafka.create_topic(kafka_topic, 2)
    yaml = stream_pipeline(tmp_path, kafka, kafka_topic, processing={"flush_rows": 1000000, "flush_interval": "1h"})
    proc = ps.popen("stream", yaml, "--json")
    kafka.produce(kafka_topic, events(700))
    time.sleep(4)
    assert ps.table_absent(tmp_path / "table")  # nothing is due yet
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    (report,) = ps.parse_reports(out)
    assert report["status"] == "stopped" and report["rows_written"] == 700 and report["commits"] == 1, report
    assert_exactly_once(tmp_path, kafka, kafka_topic)


def test_broker_killed_and_restarted_mid_stream_loses_nothing(tmp_path, kafka, kafka_topic):
    kafka.create_topic(kafka_topic, 3)
    yaml = stream_pipeline(tmp_path, kafka, kafka_topic, processing={"flush_rows": 200, "flush_interval": "100ms"})
    kafka.produce(kafka_topic, events(2000))
    proc = ps.popen("stream", yaml, "--json", "--idle-exit", "15")
    time.sleep(2)
    kafka.restart(down_seconds=5, kill=True)  # an outage: the stream waits, then goes on
    kafka.produce(kafka_topic, events(2000, 2000))
    out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    (report,) = ps.parse_reports(out)
    assert report["status"] == "idle" and report["rows_written"] == 4000, report
    assert_exactly_once(tmp_path, kafka, kafka_topic)


def read_metrics(path):
    """Prometheus text -> {(name, frozenset(labels)): value}."""
    import re
    out = {}
    for line in path.read_text().splitlines():
        if line.startswith("#") or not line.strip():
            continue
        m = re.fullmatch(r'(\w+)\{(.*)\} (-?\d+)', line)
        assert m, line
        labels = frozenset(re.findall(r'(\w+)="([^"]*)"', m.group(2)))
        out[(m.group(1), labels)] = int(m.group(3))
    return out


def test_metrics_file_shows_counts_and_lag_while_running(tmp_path, kafka, kafka_topic):
    kafka.create_topic(kafka_topic, 2)
    bad = [(b"b", b"{oops")]
    kafka.produce(kafka_topic, events(600) + bad, partition=0)
    yaml = stream_pipeline(tmp_path, kafka, kafka_topic, processing={"flush_rows": 100, "flush_interval": "100ms"})
    metrics = tmp_path / "inlet.prom"
    proc = ps.popen("stream", yaml, "--json", "--metrics-file", metrics, "--metrics-interval", "0.3")
    labels = frozenset({("pipeline", "ev"), ("topic", kafka_topic)})
    deadline, seen = time.time() + 60, {}
    while time.time() < deadline:
        seen = read_metrics(metrics) if metrics.exists() else {}
        # The bad message comes after the 600 good ones: a snapshot may show them written
        # before it is consumed.
        if (seen.get(("inlet_stream_rows_written_total", labels)) == 600
                and seen.get(("inlet_stream_dead_letters_total", labels)) == 1):
            break
        time.sleep(0.2)
    assert seen[("inlet_stream_rows_written_total", labels)] == 600, seen
    assert seen[("inlet_stream_dead_letters_total", labels)] == 1 and seen[("inlet_stream_running", labels)] == 1
    assert seen[("inlet_stream_table_version", labels)] >= 0
    lag0 = ("inlet_stream_lag_messages", labels | {("partition", "0")})
    # The lag of partition 0 (known from the fetches) is 0 once everything is committed.
    deadline = time.time() + 30
    while read_metrics(metrics).get(lag0) != 0 and time.time() < deadline:
        time.sleep(0.2)
    assert read_metrics(metrics).get(lag0) == 0, read_metrics(metrics)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    final = read_metrics(metrics)
    assert final[("inlet_stream_running", labels)] == 0 and final[("inlet_stream_messages_total", labels)] == 601
    assert "inlet_stream_commits_total" in metrics.read_text() and not list(tmp_path.glob("inlet.prom.tmp*"))


def test_maintenance_policies_run_between_stream_commits(tmp_path, kafka, kafka_topic):
    kafka.create_topic(kafka_topic, 1)
    kafka.produce(kafka_topic, events(1000))
    yaml = stream_pipeline(tmp_path, kafka, kafka_topic, processing={"flush_rows": 100, "flush_interval": "60s"},
                           maintenance={"optimize_interval": 4, "checkpoint_interval": 5})
    _, (report,) = stream(yaml)
    assert report["commits"] == 10 and report["maintenance_runs"] >= 2 and report["maintenance_failures"] == 0, report
    operations = [a["commitInfo"]["operation"] for c in ps.log_commits(tmp_path / "table").values()
                  for a in c if "commitInfo" in a]
    assert operations.count("OPTIMIZE") == 2, operations
    assert (tmp_path / "table" / "_delta_log" / "_last_checkpoint").exists()
    assert_exactly_once(tmp_path, kafka, kafka_topic)


def test_upsert_mode_keeps_the_latest_message_per_key(tmp_path, kafka, kafka_topic):
    kafka.create_topic(kafka_topic, 1)
    msgs = [(b"k", json.dumps({"user": i % 10, "visits": i}).encode()) for i in range(200)]
    kafka.produce(kafka_topic, msgs)
    yaml = stream_pipeline(tmp_path, kafka, kafka_topic, strategy={"type": "merge"}, keys=["user"],
                           processing={"flush_rows": 37, "flush_interval": "100ms"})
    stream(yaml)
    got = {r["user"]: r["visits"] for r in ps.read_table(tmp_path / "table").to_pylist()}
    assert got == {u: 190 + u for u in range(10)}


@pytest.mark.parametrize("strategy", ["merge", "cdc"])
def test_a_message_lacking_fields_is_a_partial_update(tmp_path, kafka, kafka_topic, strategy):
    """Issue 20, item 1.1: a message that lacks a field keeps the table's value for it
    (an explicit null sets null; a new key gets null), whatever the batches: messages of a
    key fold in order within a batch, and not across a delete."""
    kafka.create_topic(kafka_topic, 1)
    rng = random.Random(20 + (strategy == "cdc"))
    model, msgs, seq = {}, [], 0
    for _ in range(600):
        seq += 1
        key = rng.randrange(12)
        if strategy == "cdc" and rng.random() < 0.12:
            msgs.append({"op": "d", "id": key, "seq": seq})
            model.pop(key, None)
            continue
        msg = {"id": key}
        for field in ("lot", "free", "note"):
            if rng.random() < 0.55:
                msg[field] = None if rng.random() < 0.1 else (f"{field}{seq}" if field != "free" else seq)
        row = model.setdefault(key, {"lot": None, "free": None, "note": None})
        row.update({f: v for f, v in msg.items() if f != "id"})
        if strategy == "cdc":
            msg.update({"op": "u", "seq": seq})
        msgs.append(msg)
    kafka.produce(kafka_topic, [(b"k", json.dumps(m).encode()) for m in msgs[:350]])
    strat = {"type": "merge"} if strategy == "merge" else {"type": "cdc", "sequence_by": "seq"}
    # Declared types: a field absent from a whole batch must not leave a column untyped.
    schema = {"id": "long", "lot": "string", "free": "long", "note": "string"}
    if strategy == "cdc":
        schema.update({"op": "string", "seq": "long"})
    yaml = stream_pipeline(tmp_path, kafka, kafka_topic, strategy=strat, keys=["id"], schema=schema,
                           processing={"flush_rows": 23, "flush_interval": "100ms"})
    stream(yaml)
    kafka.produce(kafka_topic, [(b"k", json.dumps(m).encode()) for m in msgs[350:]])
    stream(yaml)
    for read in (ps.read_table, oracle.read_duckdb):
        got = {r["id"]: {f: r[f] for f in ("lot", "free", "note")} for r in read(tmp_path / "table").to_pylist()}
        assert got == model, read
    assert not [c for c in ps.read_table(tmp_path / "table").column_names if "given" in c]


def test_sasl_credentials_come_from_the_environment_and_stay_secret(tmp_path, kafka, kafka_topic):
    from kafka_server import SASL_PASSWORD, SASL_USER
    kafka.create_topic(kafka_topic, 2)
    kafka.produce(kafka_topic, events(300))
    auth = {"properties": {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
                           "sasl.username": SASL_USER, "sasl.password": "${KAFKA_PASSWORD}"}}
    yaml = stream_pipeline(tmp_path, kafka, kafka_topic, extra_source=auth)
    text = yaml.read_text().replace(kafka.bootstrap, kafka.sasl_bootstrap)
    yaml.write_text(text)
    proc = ps.cli("stream", yaml, "--json", "--idle-exit", 3, env={"KAFKA_PASSWORD": SASL_PASSWORD}, timeout=120)
    (report,) = ps.parse_reports(proc.stdout)
    assert report["rows_written"] == 300, report
    assert_exactly_once(tmp_path, kafka, kafka_topic)
    for f in (tmp_path / "table" / "_delta_log").glob("*.json"):
        assert SASL_PASSWORD not in f.read_text()
    assert SASL_PASSWORD not in proc.stdout + proc.stderr
    # A wrong password: the stream fails with an authentication error, and says nothing of it.
    wrong = "not-" + SASL_PASSWORD
    proc = ps.cli("stream", yaml, "--json", "--idle-exit", 3, env={"KAFKA_PASSWORD": wrong}, check=False,
                  timeout=120)
    assert proc.returncode == 1 and "pipeline ev: kafka:" in proc.stderr and "Authentication failed" in proc.stderr
    assert ps.parse_reports(proc.stdout)[0]["status"] == "failed"
    assert wrong not in proc.stdout + proc.stderr


def test_config_errors_are_clear_and_secrets_stay_secret(tmp_path, kafka, kafka_topic):
    yaml = stream_pipeline(tmp_path, kafka, kafka_topic)
    line = ps.run_refused(yaml)
    assert "has a kafka source: run it with inlet stream" in line or "no pipeline for inlet run" in line, line
    bad = stream_pipeline(tmp_path, kafka, kafka_topic, name="own", extra_source={"properties": {"group.id": "x"}})
    proc, _ = stream(bad, check=False)
    assert proc.returncode == 1 and "group.id" in proc.stderr and "is set by inlet" in proc.stderr
    secret = "s3cr3t-Pa55word"
    leak = stream_pipeline(tmp_path, kafka, kafka_topic, name="leak",
                           extra_source={"properties": {"sasl.mechanism": "NOPE", "sasl.password": secret}})
    proc, _ = stream(leak, check=False)
    assert proc.returncode == 1 and "sasl.mechanism" in proc.stderr, proc.stderr
    assert secret not in proc.stderr + proc.stdout


# -- Debezium change streams ---------------------------------------------------------------

DBZ_ROW_SCHEMA = {"type": "struct", "optional": True, "fields": [
    {"type": "int32", "optional": False, "field": "id"},
    {"type": "string", "optional": True, "field": "name"},
    {"type": "int64", "optional": True, "field": "balance"},
    {"type": "int32", "optional": True, "name": "io.debezium.time.Date", "field": "born"}]}
DBZ_SCHEMA = {"type": "struct", "fields": [
    dict(DBZ_ROW_SCHEMA, field="before"), dict(DBZ_ROW_SCHEMA, field="after"),
    {"type": "struct", "field": "source", "fields": [{"type": "int64", "field": "lsn"}, {"type": "int64", "field": "ts_ms"}]},
    {"type": "string", "field": "op"}, {"type": "int64", "field": "ts_ms"}]}


def dbz_message(op, lsn, row, with_schema):
    payload = {"before": row if op in ("u", "d") else None, "after": None if op == "d" else row, "op": op,
               "ts_ms": 1_700_000_000_000 + lsn, "source": {"lsn": lsn, "ts_ms": 1_700_000_000_000 + lsn}}
    doc = {"schema": DBZ_SCHEMA, "payload": payload} if with_schema else payload
    return (json.dumps({"id": row["id"]}).encode(), json.dumps(doc).encode())


def dbz_change_stream(rng, keys, changes):
    """A snapshot (op=r) of every key, then random creates, updates and deletes, each delete
    followed by its tombstone; some events are sent again after newer ones for their key.
    Returns the messages and the source's final state."""
    state, sent, lsn = {}, [], 0

    def row(i):
        return {"id": i, "name": rng.choice(["ann", "bob", None]), "balance": rng.randrange(10**6),
                "born": rng.randrange(20000)}
    for i in range(keys):
        lsn += 1
        state[i] = row(i)
        sent.append(dbz_message("r", lsn, state[i], with_schema=True))
    for _ in range(changes):
        lsn += 1
        i = rng.randrange(keys + keys // 4)
        if i in state and rng.random() < 0.2:
            sent.append(dbz_message("d", lsn, state.pop(i), with_schema=rng.random() < 0.5))
            sent.append((json.dumps({"id": i}).encode(), None))  # the tombstone
        else:
            op = "u" if i in state else "c"
            state[i] = row(i)
            sent.append(dbz_message(op, lsn, state[i], with_schema=rng.random() < 0.5))
        if rng.random() < 0.05:
            sent.append(rng.choice(sent[-40:]))  # an old event, again
    # A connector restarted from an old offset sends a stretch again: updates of deleted
    # keys among them must not bring those keys back.
    sent.extend(sent[len(sent) // 3:len(sent) // 3 + 400])
    return sent, state


def test_debezium_cdc_stream_ends_as_the_sources_final_state(tmp_path, kafka, kafka_topic):
    import datetime
    kafka.create_topic(kafka_topic, 3)
    rng = random.Random(11)
    msgs, state = dbz_change_stream(rng, 300, 3000)
    bad = [(b'{"id": 1}', b'{"payload": {"op": "u", "before": null, "after": {"id": 1'),  # malformed
           (b'{"id": 2}', json.dumps({"op": "x", "after": {"id": 2}, "source": {"lsn": 1}}).encode()),
           (b'{"id": 3}', json.dumps({"op": "u", "after": {"name": "no id"}, "source": {"lsn": 9**9}}).encode())]
    yaml = stream_pipeline(tmp_path, kafka, kafka_topic, keys=["id"],
                           extra_source={"format": "debezium", "include_key": False},
                           strategy={"type": "cdc", "sequence_by": "__source_lsn"},
                           processing={"flush_rows": 250, "flush_interval": "100ms"})
    # Half the stream, a kill -9 mid-way, then the rest and the bad messages.
    half = len(msgs) // 2
    kafka.produce(kafka_topic, msgs[:half])
    proc = ps.popen("stream", yaml)
    time.sleep(1.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    kafka.produce(kafka_topic, msgs[half:] + bad)
    _, (report,) = stream(yaml, idle=10)
    assert report["status"] == "idle" and report["dead_letters"] == 3, report
    assert report["tombstones"] > 0 and report["rows_late"] > 0, report
    expected = sorted(({"id": i, **{k: v for k, v in r.items() if k != "id"}} for i, r in state.items()),
                      key=lambda r: r["id"])
    epoch = datetime.date(1970, 1, 1)
    for r in expected:
        r["born"] = epoch + datetime.timedelta(days=r["born"])
    columns = ["id", "name", "balance", "born"]
    for reader in (ps.read_table, oracle.read_duckdb):
        got = reader(tmp_path / "table")
        rows = sorted(({c: r[c] for c in columns} for r in got.to_pylist()), key=lambda r: r["id"])
        assert rows == expected, reader.__name__
    got = ps.read_table(tmp_path / "table")
    types = {f.name: str(f.type) for f in got.schema}
    assert types["born"] == "date32[day]" and types["id"] == "int32" and "__op" not in types, types
    dead = sorted(ps.read_table(tmp_path / "dead").to_pylist(), key=lambda d: d["_kafka_offset"])
    errors = " | ".join(d["error"] for d in dead)
    assert "malformed JSON" in errors and "unknown operation 'x'" in errors and "key field 'id'" in errors, errors


def test_an_unreachable_broker_fails_the_stream_in_bounded_time(tmp_path):
    """The issue's case: `inlet stream` against an unreachable broker never exited (also with
    --idle-exit 3) and printed raw librdkafka `%3|...|FAIL|` lines."""
    yaml = tmp_path / "p.yaml"
    yaml.write_text(json.dumps({"pipelines": [{
        "name": "ev", "destination": {"path": "table"}, "strategy": {"type": "append"},
        "source": {"type": "kafka", "brokers": "127.0.0.1:1", "topic": "t",
                   "connect_timeout": "2s"}}]}))
    started = time.monotonic()
    proc = ps.cli("stream", yaml, "--idle-exit", 3, check=False, timeout=60)
    took = time.monotonic() - started
    assert proc.returncode == 1, proc
    assert took < 30, f"the stream took {took:.0f} s to give up"
    errors = [line for line in proc.stderr.splitlines() if line.strip()]
    assert len(errors) == 1, proc.stderr
    assert "no broker of 127.0.0.1:1 answered within 2 s" in errors[0], errors
    assert "source.connect_timeout" in errors[0] and "Connection refused" in errors[0], errors
    assert "%3|" not in proc.stderr
    assert not (tmp_path / "table" / "_delta_log").exists()
    # librdkafka's log goes through inlet's, shown from --log-level info.
    proc = ps.cli("stream", yaml, "--idle-exit", 3, "--log-level", "info", check=False, timeout=60)
    assert proc.returncode == 1
    assert "%3|" not in proc.stderr and "inlet: info: kafka ev" in proc.stderr, proc.stderr
