"""`inlet serve` (issue 24, part 2): pipelines run on their schedules in a long-running
process, never two runs of one pipeline at once, failed runs retried with backoff; the
endpoint's metrics, health, run history and status page; SIGTERM lets runs finish; two
serve processes on one configuration never load a row twice. The pipelines read the real
HTTP API server of http_api_server.py.
"""
from __future__ import annotations

import json
import re
import signal
import threading
import time
import urllib.error
import urllib.request

import pytest

import oracle
import pipeline_support as ps


def _records(n: int, start: int = 1) -> list[dict]:
    return [{"id": i, "name": f"bay-{i}", "free": i % 7,
             "updated_at": f"2024-05-01T{(i // 60) % 24:02d}:{i % 60:02d}:00Z"}
            for i in range(start, start + n)]


class Served:
    """An `inlet serve` process and its endpoint."""

    def __init__(self, yaml, *args, env=None):
        self.proc = ps.popen("serve", yaml, "--listen", "127.0.0.1:0", "--json", *args,
                             env=env, cwd=yaml.parent)
        # Runs may report before the endpoint's line: they are kept for stop().
        self.early = ""
        for _ in range(100):
            line = self.proc.stdout.readline()
            m = re.search(r"^inlet serve: .* on (http://\S+)", line)
            if m or not line:
                break
            self.early += line
        if not m:
            self.proc.kill()
            raise AssertionError(f"serve did not start: {self.early!r} {self.proc.stderr.read()}")
        self.url = m.group(1)

    def get(self, path, token=None):
        req = urllib.request.Request(self.url + path)
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def post(self, path):
        req = urllib.request.Request(self.url + path, data=b"", method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def runs(self, pipeline=""):
        status, body = self.get(f"/api/runs?pipeline={pipeline}")
        assert status == 200, body
        return json.loads(body)["runs"]

    def wait_runs(self, n, pipeline="", timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            runs = self.runs(pipeline)
            if len(runs) >= n:
                return runs
            time.sleep(0.2)
        raise AssertionError(f"fewer than {n} runs after {timeout} s: {self.runs(pipeline)}")

    def stop(self, timeout=60):
        self.proc.send_signal(signal.SIGTERM)
        out, err = self.proc.communicate(timeout=timeout)
        return self.proc.returncode, self.early + out, err

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


@pytest.fixture
def served():
    started = []

    def start(yaml, *args, env=None):
        s = Served(yaml, *args, env=env)
        started.append(s)
        return s

    yield start
    for s in started:
        s.kill()


def _pipeline(http_api, name="api", schedule=None, strategy="snapshot_diff", dest="out",
              source=None, keys=("id",)):
    p = {"name": name,
         "source": source or {"type": "http", "url": f"{http_api.url}/page", "records": "results",
                              "paginate": {"type": "page", "total_path": "count"}},
         "destination": {"path": dest, "keys": list(keys)},
         "strategy": {"type": strategy}}
    if schedule:
        p["schedule"] = schedule
    return p


def _seconds(iso: str) -> float:
    import datetime
    return datetime.datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def _metric(text, name, **labels):
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(f"{name}{{{want}}} ") or (not labels and line.startswith(name + " ")):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"no {name}{{{want}}} in the metrics:\n{text}")


def test_runs_come_when_due_and_never_overlap(tmp_path, http_api, served):
    http_api.records = _records(30)
    calls = {"n": 0}

    def slow_first_run(path, query):
        calls["n"] += 1
        if calls["n"] == 1:
            time.sleep(2.5)  # the first run outlasts two intervals

    http_api.before_page = slow_first_run
    y = ps.write_pipelines(tmp_path / "p.yaml", _pipeline(http_api, schedule={"every": "1s"}))
    s = served(y)
    runs = s.wait_runs(4, timeout=30)
    code, out, err = s.stop()
    assert code == 0, err
    runs = sorted(runs, key=lambda r: r["started"])
    for a, b in zip(runs, runs[1:]):
        assert a["finished"] <= b["started"], ("two runs of one pipeline overlapped", a, b)
    # Two intervals came due during the slow run: one run followed it at once (run_once).
    assert runs[1]["trigger"] == "missed", runs[1]
    assert {r["trigger"] for r in runs[2:]} <= {"schedule", "missed"}
    assert runs[0]["report"]["status"] == "committed"
    assert all(r["report"]["status"] == "no_changes" for r in runs[1:]), runs
    assert len(oracle.read_deltalake(tmp_path / "out")) == 30


def test_metrics_and_the_api_match_the_run_reports(tmp_path, http_api, served):
    http_api.records = _records(20)
    y = ps.write_pipelines(tmp_path / "p.yaml",
                           _pipeline(http_api, schedule={"every": "1s"}),
                           _pipeline(http_api, name="manual", dest="out2"))
    s = served(y)
    s.wait_runs(1, pipeline="api")
    http_api.records = _records(25)
    runs = s.wait_runs(3, pipeline="api")
    status, metrics = s.get("/metrics")
    assert status == 200
    runs = s.runs("api")  # as of the metrics, give or take a run: compare with both
    status, pipelines = s.get("/api/pipelines")
    listed = {p["name"]: p for p in json.loads(pipelines)}
    assert listed["api"]["schedule"] == "every 1s"
    assert listed["manual"]["schedule"] == "manual" and listed["manual"]["last_run"] is None
    committed = _metric(metrics, "inlet_runs_total", pipeline="api", status="committed")
    written = _metric(metrics, "inlet_rows_written_total", pipeline="api")
    assert committed == sum(r["report"]["status"] == "committed" for r in runs)
    assert written == sum(r["report"]["rows_written"] for r in runs) == 25
    assert _metric(metrics, "inlet_table_version", pipeline="api") == \
        max(r["report"]["table_version"] for r in runs)
    assert _metric(metrics, "inlet_last_success_timestamp_seconds", pipeline="api") > 0
    assert _metric(metrics, "inlet_running", pipeline="manual") == 0
    # A manual run of the unscheduled pipeline.
    assert s.post("/api/pipelines/manual/run")[0] == 202
    assert s.wait_runs(1, pipeline="manual")[0]["trigger"] == "manual"
    assert s.post("/api/pipelines/nope/run")[0] == 404
    # The status page names every pipeline and draws the runs.
    status, page = s.get("/")
    assert status == 200 and "<svg" in page and "manual" in page and "every 1s" in page
    assert s.stop()[0] == 0


def test_health_ready_and_a_bearer_token(tmp_path, http_api, served):
    http_api.records = _records(5)
    token = "tok-" + "x" * 20
    y = ps.write_pipelines(tmp_path / "p.yaml", _pipeline(http_api, schedule={"every": "1h"}))
    s = served(y, "--token-env", "SERVE_TOKEN", env={"SERVE_TOKEN": token})
    assert s.get("/health") == (200, "ok\n")
    assert s.get("/ready")[0] == 200
    assert s.get("/metrics")[0] == 401
    assert s.get("/api/runs")[0] == 401
    assert s.get("/api/runs", token="wrong")[0] == 401
    assert s.get("/api/runs", token=token)[0] == 200
    code, out, err = s.stop()
    assert code == 0
    assert token not in out + err


def test_failed_runs_are_retried_with_backoff(tmp_path, http_api, served):
    http_api.records = _records(10)
    for _ in range(2):  # the scheduled run and the first retry fail
        http_api.fault("/page", status=400, body={"error": "bad"})
    y = ps.write_pipelines(tmp_path / "p.yaml", _pipeline(
        http_api, schedule={"every": "1h", "retries": 3, "retry_backoff": "1s"}))
    s = served(y)
    runs = sorted(s.wait_runs(3, timeout=20), key=lambda r: r["started"])
    assert [r["report"]["status"] for r in runs] == ["failed", "failed", "committed"]
    assert [(r["trigger"], r["attempt"]) for r in runs] == [
        ("schedule", 1), ("retry", 2), ("retry", 3)]
    t = [_seconds(r["started"]) for r in runs]
    # The backoff doubled: 1 s after the first failure, 2 s after the second.
    assert 0.95 <= t[1] - t[0] and 1.95 <= t[2] - t[1], t
    status, metrics = s.get("/metrics")
    assert _metric(metrics, "inlet_runs_total", pipeline="api", status="failed") == 2
    status, page = s.get("/")
    assert "400 Bad Request" in page  # the failure, with its error
    assert s.stop()[0] == 0


def test_sigterm_lets_the_run_under_way_finish(tmp_path, http_api, served):
    http_api.records = _records(30)
    started = {"at": None}

    def slow(path, query):
        if started["at"] is None:
            started["at"] = time.monotonic()
        time.sleep(0.7)

    http_api.before_page = slow
    y = ps.write_pipelines(tmp_path / "p.yaml", _pipeline(http_api, schedule={"every": "1h"}))
    s = served(y)
    deadline = time.monotonic() + 30
    while started["at"] is None:
        assert time.monotonic() < deadline, "the run did not start"
        time.sleep(0.05)
    code, out, err = s.stop()  # during the run's first page of three
    assert code == 0, err
    reports = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [r["status"] for r in reports] == ["committed"]
    assert len(oracle.read_deltalake(tmp_path / "out")) == 30
    assert "stopping" in err


def test_two_serves_on_one_configuration_never_load_a_row_twice(tmp_path, http_api, served):
    http_api.records = _records(20)
    source = {"type": "http", "url": f"{http_api.url}/after", "records": "items",
              "params": {"after_id": "{watermark}"},
              "incremental": {"cursor": "id", "initial": "0"}}
    y = ps.write_pipelines(tmp_path / "p.yaml", _pipeline(
        http_api, schedule={"every": "1s"}, strategy="append", source=source, keys=()))
    # The first run of each process reads the same 20 records before either commits:
    # one of them must lose the commit race.
    lock, calls = threading.Lock(), {"n": 0}

    def slow_first_fetches(path, query):
        with lock:
            calls["n"] += 1
            first = calls["n"] <= 2
        if first:
            time.sleep(2.0)

    http_api.before_page = slow_first_fetches
    a, b = served(y), served(y)
    for round_no in range(3):
        http_api.records += _records(10, start=21 + 10 * round_no)
        time.sleep(1.5)
    deadline = time.monotonic() + 60
    while True:
        table = tmp_path / "out"
        rows = len(oracle.read_deltalake(table)) if (table / "_delta_log").exists() else 0
        if rows >= 50 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
    (code_a, out_a, _), (code_b, out_b, _) = a.stop(), b.stop()
    assert code_a == 0 and code_b == 0
    reports = [json.loads(line) for line in (out_a + out_b).splitlines() if line.startswith("{")]
    assert len(reports) >= 4 and not [r for r in reports if r["status"] == "failed"], reports
    assert {r["status"] for r in reports} <= {"committed", "no_changes", "skipped"}, reports
    skipped = [r for r in reports if r["status"] == "skipped"]
    assert skipped and all(r["rows_written"] == 0 for r in skipped), reports
    assert "another writer committed first" in skipped[0]["warnings"][0], skipped[0]
    ids = sorted(r["id"] for r in oracle.read_deltalake(tmp_path / "out").to_pylist())
    assert ids == list(range(1, 51))
    assert sum(r["rows_written"] for r in reports) == 50


def test_a_schedule_on_a_stream_and_a_bad_cron_are_refused(tmp_path, http_api):
    p = _pipeline(http_api, schedule={"cron": "61 * * * *"})
    y = ps.write_pipelines(tmp_path / "p.yaml", p)
    line = ps.support.check_refusal(ps.cli("serve", y, check=False))
    assert "schedule.cron: cron minute: '61' is outside 0-59" in line, line
    p = _pipeline(http_api, schedule={"cron": "0 6 * * *", "timezone": "Mars/Olympus"})
    y = ps.write_pipelines(tmp_path / "p.yaml", p)
    line = ps.support.check_refusal(ps.cli("serve", y, check=False))
    assert "unknown time zone 'Mars/Olympus'" in line, line
    p = {"name": "k", "source": {"type": "kafka", "brokers": "127.0.0.1:1", "topic": "t"},
         "destination": {"path": "out"}, "strategy": {"type": "append"},
         "schedule": {"every": "1m"}}
    y = ps.write_pipelines(tmp_path / "p.yaml", p)
    line = ps.support.check_refusal(ps.cli("serve", y, check=False))
    assert "consumed continuously" in line, line


def test_a_stream_runs_beside_scheduled_pipelines_and_flushes_on_sigterm(
        tmp_path, http_api, served, kafka, kafka_topic):
    http_api.records = _records(10)
    kafka.create_topic(kafka_topic, 1)
    stream = {"name": "ev", "source": {"type": "kafka", "brokers": kafka.bootstrap,
                                      "topic": kafka_topic},
              "destination": {"path": "events"}, "strategy": {"type": "append"},
              # Held until a commit is due in a minute: only the stop flushes them.
              "processing": {"flush_rows": 100000, "flush_interval": "60s"}}
    y = ps.write_pipelines(tmp_path / "p.yaml", _pipeline(http_api, schedule={"every": "1h"}),
                           stream)
    s = served(y)
    s.wait_runs(1, pipeline="api")
    deadline = time.monotonic() + 60
    while s.get("/ready")[0] != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert s.get("/ready")[0] == 200
    kafka.produce(kafka_topic, [json.dumps({"id": i}).encode() for i in range(40)])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        listed = {p["name"]: p for p in json.loads(s.get("/api/pipelines")[1])}
        if (listed["ev"].get("stream") or {}).get("messages", 0) >= 40:
            break
        time.sleep(0.3)
    assert listed["ev"]["schedule"] == "continuous" and listed["ev"]["state"] == "running"
    assert not (tmp_path / "events").exists()  # nothing committed yet
    code, out, err = s.stop()
    assert code == 0, err
    ids = sorted(r["id"] for r in oracle.read_deltalake(tmp_path / "events").to_pylist())
    assert ids == list(range(40))


class Webhook:
    """A webhook receiver on loopback: keeps every JSON body posted to it; answers 500 to
    the first `fail` posts."""

    def __init__(self, fail=0):
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        hook = self
        self.bodies, self.fail, self.posts = [], fail, 0
        self.lock = threading.Lock()

        class H(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_POST(self):
                data = self.rfile.read(int(self.headers["Content-Length"]))
                with hook.lock:
                    hook.posts += 1
                    failing = hook.posts <= hook.fail
                    if not failing:
                        hook.bodies.append(json.loads(data))
                self.send_response(500 if failing else 200)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), H)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook?token=hook-secret"

    def received(self, n, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.bodies) >= n:
                    return list(self.bodies)
            time.sleep(0.1)
        raise AssertionError(f"fewer than {n} alerts after {timeout} s: {self.bodies}")

    def close(self):
        self.server.shutdown()


def test_alerts_reach_the_webhook_once_per_incident(tmp_path, http_api, served):
    http_api.records = _records(10)
    hook, slack = Webhook(fail=1), Webhook()
    y = ps.write_pipelines(tmp_path / "p.yaml", _pipeline(http_api, schedule={"every": "1s"}))
    doc = json.loads(y.read_text())
    doc["alerts"] = [
        {"name": "ops", "url": "${HOOK_URL}", "on": ["run_failed", "no_new_data"],
         "no_new_data_after": "1h"},
        {"name": "chat", "url": "${SLACK_URL}", "format": "slack", "on": ["run_failed"],
         "pipelines": ["api"]},
    ]
    y.write_text(json.dumps(doc))
    for _ in range(4):  # four failing runs in a row: one incident
        http_api.fault("/page", status=400, body={"error": "bad request"})
    s = served(y, env={"HOOK_URL": hook.url, "SLACK_URL": slack.url})
    s.wait_runs(5, timeout=30)  # then it succeeds: resolved
    bodies = hook.received(2)
    chat = slack.received(2)
    time.sleep(1.5)  # nothing more comes for the incident
    code, out, err = s.stop()
    assert code == 0
    bodies = hook.bodies
    assert [(b["event"], b["state"]) for b in bodies] == [
        ("run_failed", "firing"), ("run_failed", "resolved")], bodies
    assert "400 Bad Request" in bodies[0]["message"] and bodies[0]["pipeline"] == "api"
    assert bodies[0]["report"]["status"] == "failed"
    assert hook.posts == 3  # the first delivery got a 500 and was tried again
    assert chat[0]["text"].startswith(":red_circle: inlet: run_failed on pipeline api")
    assert "resolved after" in chat[1]["text"]
    assert len(slack.bodies) == 2
    assert "hook-secret" not in out + err
    hook.close()
    slack.close()


def test_an_alert_url_must_come_from_the_environment(tmp_path, http_api):
    y = ps.write_pipelines(tmp_path / "p.yaml", _pipeline(http_api))
    doc = json.loads(y.read_text())
    doc["alerts"] = [{"name": "ops", "url": "https://hooks.example.com/T000/B000/XXXX",
                      "on": ["run_failed"]}]
    y.write_text(json.dumps(doc))
    line = ps.run_refused(y)
    assert "alerts[0].url: is a secret" in line and "XXXX" not in line, line
    doc["alerts"] = [{"name": "ops", "url": "${U}", "on": ["no_new_data"]}]
    y.write_text(json.dumps(doc))
    assert "no_new_data_after: goes with the no_new_data event" in ps.run_refused(y, env={"U": "http://x"})


def test_the_status_page_in_headless_chromium(tmp_path, http_api, served):
    """Renders the status page in Debian's Chromium and reads the screenshot back: the
    committed runs' bars are blue, the failed run's red, and the page says what they are."""
    import shutil
    import subprocess
    from PIL import Image
    chromium = shutil.which("chromium")
    if chromium is None:
        if ps.support.in_ci():
            pytest.fail("chromium is not installed (scripts/bootstrap.sh installs it)")
        pytest.skip("chromium is not installed")
    http_api.records = _records(20)
    http_api.fault("/page", status=400, body={"error": "rejected by the test"})
    y = ps.write_pipelines(tmp_path / "p.yaml", _pipeline(http_api, schedule={"every": "1s"}))
    s = served(y)
    s.wait_runs(4)
    shot = tmp_path / "status.png"
    proc = subprocess.run(
        [chromium, "--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars",
         f"--screenshot={shot}", "--window-size=1280,720", f"{s.url}/"],
        capture_output=True, text=True, timeout=120)
    assert shot.exists(), proc.stderr[-2000:]
    dom = subprocess.run([chromium, "--headless", "--disable-gpu", "--no-sandbox", "--dump-dom",
                          f"{s.url}/"], capture_output=True, text=True, timeout=120).stdout
    assert s.stop()[0] == 0
    assert "rejected by the test" in dom and "every 1s" in dom and "<svg" in dom
    image = Image.open(shot).convert("RGB")
    assert image.size == (1280, 720)
    colours = {c for _, c in image.getcolors(maxcolors=1 << 20)}
    near = lambda rgb: any(sum(abs(a - b) for a, b in zip(rgb, c)) < 12 for c in colours)
    assert near((0x4A, 0x90, 0xD9)), "no blue bar for the committed runs"
    assert near((0xD9, 0x53, 0x4F)), "no red bar for the failed run"
    assert near((0xB0, 0xB0, 0xB0)), "no grey stub for the runs that changed nothing"


def test_no_new_data_and_quality_gate_alerts(tmp_path, http_api, served):
    http_api.records = _records(10)
    hook = Webhook()
    y = ps.write_pipelines(tmp_path / "p.yaml", _pipeline(
        http_api, schedule={"every": "1s"}))
    doc = json.loads(y.read_text())
    doc["alerts"] = [{"name": "ops", "url": "${HOOK_URL}",
                      "on": ["no_new_data", "quality_gate"], "no_new_data_after": "3s"}]
    y.write_text(json.dumps(doc))
    s = served(y, env={"HOOK_URL": hook.url})
    # The first run writes rows; then the API repeats itself, the merge writes none, and
    # after 3 s no_new_data fires.
    bodies = hook.received(1, timeout=30)
    assert (bodies[0]["event"], bodies[0]["state"]) == ("no_new_data", "firing"), bodies
    assert bodies[0]["message"].startswith("no new rows for ")
    # A key twice in the extract: the duplicate_keys gate fails the run.
    http_api.records = _records(10) + [dict(_records(1)[0], free=99)]
    bodies = hook.received(2, timeout=30)
    assert (bodies[1]["event"], bodies[1]["state"]) == ("quality_gate", "firing"), bodies
    assert "quality gate duplicate_keys" in bodies[1]["message"]
    # Fixed, with a new row: both incidents end.
    http_api.records = _records(11)
    bodies = hook.received(4, timeout=30)
    assert sorted((b["event"], b["state"]) for b in bodies[2:]) == [
        ("no_new_data", "resolved"), ("quality_gate", "resolved")], bodies
    assert s.stop()[0] == 0
    assert len(hook.bodies) == 4
    hook.close()


def test_stream_lag_alert_fires_once_while_the_lag_lasts(tmp_path, http_api, served, kafka,
                                                         kafka_topic):
    kafka.create_topic(kafka_topic, 1)
    hook = Webhook()
    stream = {"name": "ev", "source": {"type": "kafka", "brokers": kafka.bootstrap,
                                      "topic": kafka_topic},
              "destination": {"path": "events"}, "strategy": {"type": "append"},
              # Nothing is committed for a minute: the lag stays.
              "processing": {"flush_rows": 100000, "flush_interval": "60s"}}
    y = ps.write_pipelines(tmp_path / "p.yaml", stream)
    doc = json.loads(y.read_text())
    doc["alerts"] = [{"name": "lag", "url": "${HOOK_URL}", "on": ["stream_lag"],
                      "stream_lag_messages": 50}]
    y.write_text(json.dumps(doc))
    s = served(y, env={"HOOK_URL": hook.url})
    deadline = time.monotonic() + 60
    while s.get("/ready")[0] != 200 and time.monotonic() < deadline:
        time.sleep(0.2)
    kafka.produce(kafka_topic, [json.dumps({"id": i}).encode() for i in range(120)])
    bodies = hook.received(1, timeout=60)
    assert (bodies[0]["event"], bodies[0]["state"], bodies[0]["pipeline"]) == (
        "stream_lag", "firing", "ev"), bodies
    assert bodies[0]["message"].startswith("lag 120 messages"), bodies[0]
    time.sleep(3)  # progress reports go on with the same lag: no second alert
    assert len(hook.bodies) == 1, hook.bodies
    status, metrics = s.get("/metrics")
    assert 'inlet_stream_lag_messages{pipeline="ev"' in metrics
    assert s.stop()[0] == 0
    hook.close()


def test_a_failing_stream_alerts_once_and_is_started_again(tmp_path, served):
    hook = Webhook()
    stream = {"name": "ev", "source": {"type": "kafka", "brokers": "127.0.0.1:1",
                                      "topic": "t", "connect_timeout": "1s"},
              "destination": {"path": "events"}, "strategy": {"type": "append"}}
    y = ps.write_pipelines(tmp_path / "p.yaml", stream)
    doc = json.loads(y.read_text())
    doc["alerts"] = [{"name": "ops", "url": "${HOOK_URL}", "on": ["stream_failed"]}]
    y.write_text(json.dumps(doc))
    s = served(y, env={"HOOK_URL": hook.url})
    bodies = hook.received(1, timeout=30)
    assert (bodies[0]["event"], bodies[0]["state"]) == ("stream_failed", "firing"), bodies
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:  # it fails again after its 5 s pause
        listed = {p["name"]: p for p in json.loads(s.get("/api/pipelines")[1])}
        if listed["ev"]["stream_restarts"] >= 2:
            break
        time.sleep(0.3)
    assert listed["ev"]["stream_restarts"] >= 2, listed
    assert s.get("/ready")[0] == 503
    status, metrics = s.get("/metrics")
    assert _metric(metrics, "inlet_stream_restarts_total", pipeline="ev") >= 2
    assert len(hook.bodies) == 1  # one incident, however many failures
    assert s.stop()[0] == 0
    hook.close()


def test_a_failing_maintenance_step_alerts_once(tmp_path, http_api, served):
    http_api.records = _records(10)
    hook = Webhook()
    p = _pipeline(http_api, schedule={"every": "1s"})
    # A retention shorter than the table's own is refused: every vacuum fails, after
    # the run's commit.
    p["destination"]["maintenance"] = {"vacuum_interval": 1, "vacuum_retention_hours": 1}
    y = ps.write_pipelines(tmp_path / "p.yaml", p)
    doc = json.loads(y.read_text())
    doc["alerts"] = [{"name": "ops", "url": "${HOOK_URL}",
                      "on": ["maintenance_failed", "run_failed"]}]
    y.write_text(json.dumps(doc))
    s = served(y, env={"HOOK_URL": hook.url})
    bodies = hook.received(1, timeout=30)
    http_api.records = _records(12)  # a second commit, a second failing vacuum
    s.wait_runs(3)
    time.sleep(1)
    assert s.stop()[0] == 0
    assert [(b["event"], b["state"]) for b in hook.bodies] == [
        ("maintenance_failed", "firing")], hook.bodies
    assert bodies[0]["report"]["status"] == "committed" and "vacuum" in bodies[0]["message"]
    hook.close()
