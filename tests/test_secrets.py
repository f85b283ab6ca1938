"""No secret ever shows: one sweep over every command and the service, with every kind of
secret set, searching everything they leave behind.

The secrets: MinIO's S3 secret key, a PostgreSQL password, a Kafka SASL password, an HTTP
API's bearer token, a webhook URL's token, and the service endpoint's own token; and wrong
values of the first four, which reach the error paths. inlet runs the pipelines (`inlet run`
at --log-level debug), streams Kafka with a metrics file, serves them all with alerts, and
answers every read command; then every byte it wrote or said is searched for each secret
and its usual encodings (URL-encoded, base64, as an HTTP Basic credential): stdout and
stderr of every process, the metrics file, every page of the endpoint, every alert body,
and every file of every table and dead-letter directory, on local disk and in the bucket.
The feature tests check each secret where it is used (test_http_source, test_stream_kafka,
test_postgres_*, test_iceberg_*, test_serve, test_s3_*); this one checks that none escapes
anywhere.
"""
from __future__ import annotations

import base64
import json
import re
import secrets as pysecrets
import time
import urllib.parse

import pytest

import pipeline_support as ps
from test_serve import Served, Webhook, _records

pytestmark = pytest.mark.slow


def _forms(secret: str) -> set[str]:
    """The ways a secret can be written down by mistake."""
    forms = {secret, urllib.parse.quote(secret, safe=""), base64.b64encode(secret.encode()).decode()}
    # As the password of an HTTP Basic credential, whatever the user: base64 of "user:secret"
    # holds the base64 of the secret shifted to each of the three alignments.
    for pad in range(3):
        encoded = base64.b64encode(b"x" * pad + b":" + secret.encode()).decode()
        forms.add(encoded[(pad + 1) * 4 // 3 + 2:-4])
    return forms


class Sweep:
    """Everything inlet said or wrote, by where it came from."""

    def __init__(self, secrets: dict[str, str]):
        self.secrets = secrets
        self.texts: dict[str, str] = {}

    def add(self, where: str, text: str | bytes) -> None:
        if isinstance(text, bytes):
            text = text.decode("utf-8", errors="replace")
        self.texts[where] = self.texts.get(where, "") + text

    def proc(self, where: str, proc) -> None:
        self.add(f"{where} (stdout)", proc.stdout or "")
        self.add(f"{where} (stderr)", proc.stderr or "")

    def files(self, root, label: str) -> int:
        n = 0
        for path in sorted(root.rglob("*")):
            if path.is_file():
                self.add(f"{label}/{path.relative_to(root)}", path.read_bytes())
                n += 1
        return n

    def bucket(self, place) -> int:
        import pyarrow.fs as pafs
        n = 0
        for info in place.fs.get_file_info(pafs.FileSelector(place._fs_base, recursive=True)):
            if info.type == pafs.FileType.File:
                with place.fs.open_input_stream(info.path) as f:
                    self.add(f"s3 object {info.path}", f.read())
                n += 1
        return n

    def findings(self) -> list[str]:
        out = []
        for name, secret in self.secrets.items():
            for form in _forms(secret):
                for where, text in self.texts.items():
                    if form in text:
                        out.append(f"{name} in {where}")
        return out


def test_no_secret_in_any_output_log_report_metric_alert_or_table_file(
        tmp_path, minio, s3_bucket, postgres, kafka, http_api):
    from kafka_server import SASL_PASSWORD, SASL_USER
    from table_place import TablePlace

    api_token = "api-" + pysecrets.token_hex(12)
    hook_token = "hook-" + pysecrets.token_hex(12)
    serve_token = "serve-" + pysecrets.token_hex(12)
    secrets = {"S3 secret key": minio.secret_key, "PostgreSQL password": postgres.password,
               "Kafka SASL password": SASL_PASSWORD, "API token": api_token,
               "webhook token": hook_token, "serve token": serve_token}
    wrong = {f"wrong {k}": "wrong-" + pysecrets.token_hex(10) for k in
             ("S3 secret key", "PostgreSQL password", "Kafka SASL password", "API token")}
    for name, value in secrets.items():
        assert len(value) >= 8, f"{name} is too short to search for"
    sweep = Sweep({**secrets, **wrong})
    bucket = TablePlace.s3(minio, s3_bucket)

    # The sources: an HTTP API wanting the token, a PostgreSQL table, a Kafka topic behind SASL.
    http_api.records = _records(30)
    http_api.auth = ("bearer", api_token)
    db = postgres.database("secrets_src")
    db.sql("CREATE TABLE orders (id int PRIMARY KEY, amount numeric(8,2), at timestamptz)")
    db.sql("INSERT INTO orders SELECT g, g * 1.5, timestamptz '2024-01-01' + g * interval '1 hour' "
           "FROM generate_series(1, 200) g")
    topic = kafka.create_topic(f"secrets-{pysecrets.token_hex(4)}")
    kafka.produce(topic, [(str(i).encode(), json.dumps({"id": i, "v": f"m{i}"}).encode())
                          for i in range(100)])

    api = {"name": "api", "schedule": {"every": "1s"},
           "source": {"type": "http", "url": f"{http_api.url}/page", "records": "results",
                      "paginate": {"type": "page", "total_path": "count"},
                      "auth": {"type": "bearer", "token": "${API_TOKEN}"}},
           "destination": {"path": bucket.uri("api"), "keys": ["id"]},
           "strategy": {"type": "snapshot_diff"}}
    pg = {"name": "pg", "schedule": {"every": "1s"},
          "source": {"type": "postgres", "connection": db.uri, "password": "${PG_PASSWORD}",
                     "table": "orders"},
          "destination": {"path": bucket.uri("pg_ice"), "format": "iceberg"},
          "strategy": {"type": "watermark", "cursor": "at"}}
    stream = {"name": "ks",
              "source": {"type": "kafka", "brokers": kafka.sasl_bootstrap, "topic": topic,
                         "schema": {"id": "long", "v": "string"},
                         "properties": {"security.protocol": "SASL_PLAINTEXT", "sasl.mechanism": "PLAIN",
                                        "sasl.username": SASL_USER, "sasl.password": "${KAFKA_PASSWORD}"}},
              "destination": {"path": str(tmp_path / "tables" / "ks")},
              "processing": {"flush_rows": 30, "flush_interval": "300ms"},
              "dead_letters": {"path": str(tmp_path / "tables" / "dead")},
              "strategy": {"type": "append"}}
    alerts = [{"name": "ops", "url": "${HOOK_URL}", "on": ["run_failed"]}]
    runs_yaml = tmp_path / "runs.yaml"
    runs_yaml.write_text(json.dumps({"alerts": alerts, "pipelines": [api, pg]}))
    stream_yaml = tmp_path / "stream.yaml"
    stream_yaml.write_text(json.dumps({"pipelines": [stream]}))
    all_yaml = tmp_path / "all.yaml"
    all_yaml.write_text(json.dumps({"alerts": alerts, "pipelines": [api, pg, stream]}))

    hook = Webhook()
    hook.url = hook.url.replace("hook-secret", hook_token)
    env = {**bucket.env, "API_TOKEN": api_token, "PG_PASSWORD": postgres.password,
           "KAFKA_PASSWORD": SASL_PASSWORD, "HOOK_URL": hook.url, "SERVE_TOKEN": serve_token,
           "PGPASSWORD": None}
    debug = ["--log-level", "debug"]

    # inlet run, at debug level, twice (the second finds its state).
    for i in range(2):
        proc = ps.cli(*debug, "run", runs_yaml, "--json", env=env, timeout=120)
        sweep.proc(f"inlet run #{i}", proc)
        assert [r["status"] for r in ps.parse_reports(proc.stdout)] == \
            (["committed", "committed"] if i == 0 else ["no_changes", "no_changes"]), proc.stdout
    # inlet stream, with its metrics file.
    metrics = tmp_path / "stream.prom"
    proc = ps.cli(*debug, "stream", stream_yaml, "--json", "--idle-exit", 2, "--metrics-file", metrics,
                  "--metrics-interval", 0.2, env=env, timeout=120)
    sweep.proc("inlet stream", proc)
    assert ps.parse_reports(proc.stdout)[0]["rows_written"] == 100, proc.stdout
    sweep.add("stream metrics file", metrics.read_text())

    # Every read command on every table.
    tables = [bucket.uri("api"), bucket.uri("pg_ice"), str(tmp_path / "tables" / "ks")]
    for t in tables:
        for command in (["info", t, "--json"], ["history", t, "--json"], ["state", t, "--json"],
                        ["scan", t, "--limit", "5"], ["changes", t] if "pg_ice" not in t else ["info", t]):
            proc = ps.cli(*debug, *command, env=env, check=False, timeout=60)
            sweep.proc(f"inlet {command[0]} {t}", proc)
    for t in tables[:1]:
        for command in (["optimize", t, "--json"], ["checkpoint", t], ["vacuum", t, "--dry-run", "--json"]):
            proc = ps.cli(*debug, *command, env=env, timeout=60)
            sweep.proc(f"inlet {command[0]} {t}", proc)

    # Wrong secrets: the errors name the place, not the value.
    for var, name in (("API_TOKEN", "API token"), ("PG_PASSWORD", "PostgreSQL password")):
        proc = ps.cli(*debug, "run", runs_yaml, "--json", env={**env, var: wrong[f"wrong {name}"]},
                      check=False, timeout=120)
        assert proc.returncode != 0, f"a wrong {name} was accepted"
        sweep.proc(f"inlet run with a wrong {name}", proc)
    proc = ps.cli(*debug, "stream", stream_yaml, "--json", "--idle-exit", 2,
                  env={**env, "KAFKA_PASSWORD": wrong["wrong Kafka SASL password"]}, check=False, timeout=120)
    assert proc.returncode != 0
    sweep.proc("inlet stream with a wrong SASL password", proc)
    proc = ps.cli(*debug, "info", bucket.uri("api"),
                  env={**env, "AWS_SECRET_ACCESS_KEY": wrong["wrong S3 secret key"]}, check=False, timeout=60)
    assert proc.returncode != 0
    sweep.proc("inlet info with a wrong S3 secret key", proc)

    # inlet serve: every pipeline, the stream, an alert that fires and resolves, the endpoint.
    http_api.fault("/page", status=400, body={"error": "refused by the test"})
    db.sql("INSERT INTO orders VALUES (1000, 1.0, now())")
    kafka.produce(topic, [(b"x", json.dumps({"id": 1000, "v": "late"}).encode())])
    s = Served(all_yaml, "--token-env", "SERVE_TOKEN", "--log-level", "debug", env=env)
    try:
        hook.received(2, timeout=60)  # the failed run, then the next one resolving it
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            status, body = s.get("/metrics", token=serve_token)
            if re.search(r'inlet_stream_rows_written_total\{pipeline="ks"[^}]*\} 101\b', body):
                break
            time.sleep(0.5)
        for path in ("/metrics", "/api/pipelines", "/api/runs", "/api/runs?pipeline=api", "/",
                     "/health", "/ready"):
            status, body = s.get(path, token=serve_token)
            assert status == 200, (path, status, body)
            sweep.add(f"serve GET {path}", body)
        status, body = s.get("/metrics", token="not-" + serve_token)
        assert status == 401
        sweep.add("serve GET /metrics with a wrong token", body)
    finally:
        code, out, err = s.stop()
    sweep.add("inlet serve (stdout)", s.early + out)
    sweep.add("inlet serve (stderr)", err)
    assert code == 0, err
    sweep.add("alert bodies", json.dumps(hook.bodies))
    hook.close()
    assert [(b["event"], b["state"]) for b in hook.bodies[:2]] == [
        ("run_failed", "firing"), ("run_failed", "resolved")], hook.bodies

    # Everything on disk and in the bucket.
    local_files = sweep.files(tmp_path, "local")
    objects = sweep.bucket(bucket)
    assert local_files >= 10 and objects >= 10, (local_files, objects)

    # Each secret was in use, so an empty result is not for want of secrets: the API
    # answered the token, PostgreSQL the password, the broker the SASL login (rows were
    # written), the webhook got its alerts, the endpoint answered its token and refused
    # another.
    found = sweep.findings()
    assert not found, "secrets found:\n" + "\n".join(found)
