"""Streams started and stopped from Python, against a real Kafka broker (the test suite's
KafkaServer, tests/kafka_server.py): in a background thread and in the caller's, with
progress callbacks, and stopped by Ctrl-C after a last commit."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import inlet

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tests"))
from kafka_server import KafkaServer  # noqa: E402


@pytest.fixture(scope="module")
def kafka(tmp_path_factory):
    server = KafkaServer(tmp_path_factory.mktemp("kafka")).start()
    yield server
    server.stop()


def _events(n, start=0):
    return [(f"k{i}".encode(), json.dumps({"id": i, "name": f"n{i}"}).encode())
            for i in range(start, start + n)]


def _pipeline(kafka, topic, table):
    [p] = inlet.load_pipelines({
        "name": "events",
        "source": {"type": "kafka", "brokers": kafka.bootstrap, "topic": topic},
        "destination": {"path": str(table)},
        "strategy": {"type": "append"},
        "processing": {"flush_rows": 100, "flush_interval": "200ms"}})
    return p


def _rows(table):
    try:
        return inlet.Table(table).count()
    except inlet.TableNotFoundError:
        return 0


def test_a_stream_in_the_background_is_stopped_with_a_last_commit(tmp_path, kafka):
    topic = kafka.create_topic("py-background")
    kafka.produce(topic, _events(250))
    p = _pipeline(kafka, topic, tmp_path / "t")
    assert p.streams
    seen = []
    with inlet.Stream(p, on_progress=seen.append, progress_interval=0.1) as s:
        deadline = time.time() + 60
        while _rows(tmp_path / "t") < 250 and time.time() < deadline:
            time.sleep(0.1)
        kafka.produce(topic, _events(50, start=250))
        while _rows(tmp_path / "t") < 300 and time.time() < deadline:
            time.sleep(0.1)
    report = s.join()
    assert report.status == "stopped" and report.rows_written == 300, report.to_json()
    assert report.messages == 300
    assert _rows(tmp_path / "t") == 300
    assert seen and all(r.status == "running" for r in seen)
    # Started again, it goes on from the offsets committed with the rows: nothing twice.
    kafka.produce(topic, _events(10, start=300))
    again = p.stream(idle_exit=5.0)
    assert again.rows_written == 10 and _rows(tmp_path / "t") == 310
    with pytest.raises(inlet.InvalidInputError, match="use stream"):
        p.run()


def _holding_script(kafka, topic, table, then: str) -> str:
    """A script that loads a stream of topic into table which holds every message (neither
    flush limit is reached), then does `then` with the pipeline p."""
    return textwrap.dedent(f"""
        import time, inlet
        [p] = inlet.load_pipelines({{
            "name": "events",
            "source": {{"type": "kafka", "brokers": {kafka.bootstrap!r}, "topic": {topic!r}}},
            "destination": {{"path": {str(table)!r}}},
            "strategy": {{"type": "append"}},
            "processing": {{"flush_rows": 1000000, "flush_interval": "1h"}}}})
    """) + textwrap.dedent(then)


def test_ctrl_c_stops_a_stream_after_its_last_commit(tmp_path, kafka):
    topic = kafka.create_topic("py-ctrl-c")
    kafka.produce(topic, _events(120))
    script = _holding_script(kafka, topic, tmp_path / "t", """
        print("streaming", flush=True)
        try:
            p.stream()
        except KeyboardInterrupt:
            print("interrupted", flush=True)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "streaming"
    time.sleep(3)  # it holds the messages
    assert _rows(tmp_path / "t") == 0
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "interrupted" in out
    assert _rows(tmp_path / "t") == 120  # committed on the way out


def test_a_stream_still_running_at_exit_is_stopped_with_a_last_commit(tmp_path, kafka):
    topic = kafka.create_topic("py-at-exit")
    kafka.produce(topic, _events(80))
    script = _holding_script(kafka, topic, tmp_path / "t", """
        inlet.Stream(p).start()
        time.sleep(3)  # it holds the messages; the script ends without stopping it
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert _rows(tmp_path / "t") == 80
