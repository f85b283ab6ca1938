"""HTTP APIs as a source (issue 24, part 1): `source.type: http` walks a real HTTP server's
pages (http_api_server.py, on loopback) in every pagination style, behind every kind of
authentication, through faults (429 and 503 with Retry-After, slow, truncated and malformed
responses, records moving between pages), and loads them with each strategy. What lands is
read back by delta-rs; a failed run names the URL without its secrets and commits nothing.
"""
from __future__ import annotations

import json
import pathlib

import pyarrow as pa
import pytest

import oracle
import pipeline_support as ps

SECRET = "s3cr3t-t0ken-value"


def _records(n: int, start: int = 1, day: int = 1) -> list[dict]:
    return [{"id": i, "name": f"bay-{i}", "free": i % 7,
             "updated_at": f"2024-05-{day:02d}T{(i // 60) % 24:02d}:{i % 60:02d}:00Z"}
            for i in range(start, start + n)]


def _pipeline(tmp_path, source: dict, strategy, *, keys=None, dest="out", name="api",
              extra=None):
    src = {"type": "http", **source}
    d = {"path": dest}
    if keys:
        d["keys"] = keys
    p = {"name": name, "source": src, "destination": d,
         "strategy": strategy if isinstance(strategy, dict) else {"type": strategy}}
    p.update(extra or {})
    return ps.write_pipelines(tmp_path / "p.yaml", p)


def _table(path) -> list[dict]:
    t = oracle.read_deltalake(path)
    return sorted(t.to_pylist(), key=lambda r: r["id"])


def _expected(records, columns=("id", "name", "free", "updated_at")) -> list[dict]:
    return sorted(({c: r.get(c) for c in columns} for r in records), key=lambda r: r["id"])


PAGINATIONS = {
    "offset": ({"url": "{api}/offset", "records": "data.items",
                "paginate": {"type": "offset", "limit": 7, "total_path": "meta.total"}}, 4),
    "page": ({"url": "{api}/page", "records": "results",
              "paginate": {"type": "page", "page_size_param": "per_page", "page_size": 10,
                           "total_path": "count"}}, 3),
    "cursor": ({"url": "{api}/cursor", "records": "items",
                "paginate": {"type": "cursor", "cursor_path": "next_cursor"}}, 3),
    "link": ({"url": "{api}/link", "paginate": {"type": "link"}}, 3),
    "next_url": ({"url": "{api}/next", "records": "items",
                  "paginate": {"type": "next_url", "next_url_path": "links.next"}}, 3),
    "none": ({"url": "{api}/all"}, 1),
}


def _source(http_api, style: str) -> dict:
    source, _ = PAGINATIONS[style]
    return json.loads(json.dumps(source).replace("{api}", http_api.url))


@pytest.mark.parametrize("style", sorted(PAGINATIONS))
def test_every_pagination_style_loads_every_record_once(tmp_path, http_api, style):
    http_api.records = _records(25)
    y = _pipeline(tmp_path, _source(http_api, style), "full_refresh")
    report = ps.run(y).report
    assert report["status"] == "committed"
    assert report["rows_written"] == 25
    assert _table(tmp_path / "out") == _expected(http_api.records)
    assert len(http_api.data_requests()) == PAGINATIONS[style][1]


def test_an_unchanged_api_commits_nothing_and_a_changed_one_is_diffed(tmp_path, http_api):
    http_api.records = _records(30)
    y = _pipeline(tmp_path, _source(http_api, "cursor"), "snapshot_diff", keys=["id"])
    assert ps.run(y).report["status"] == "committed"
    version = ps.info(tmp_path / "out")["version"]
    # The same records in another order: the same extract.
    http_api.records = list(reversed(http_api.records))
    assert ps.run(y).report["status"] == "no_changes"
    assert ps.info(tmp_path / "out")["version"] == version
    # One changed, one gone, one new.
    records = sorted(http_api.records, key=lambda r: r["id"])
    records[4] = {**records[4], "free": 99}
    del records[10]
    records.append(_records(1, start=31)[0])
    http_api.records = records
    report = ps.run(y).report
    assert report["status"] == "committed"
    assert (report["rows_inserted"], report["rows_updated"], report["rows_deleted"]) == (1, 1, 1)
    assert _table(tmp_path / "out") == _expected(records)


def test_small_changes_are_skipped_by_min_change_percent(tmp_path, http_api):
    http_api.records = _records(100)
    y = _pipeline(tmp_path, _source(http_api, "offset"),
                  {"type": "snapshot_diff", "min_change_percent": 5}, keys=["id"])
    assert ps.run(y).report["status"] == "committed"
    records = [dict(r) for r in http_api.records]
    for r in records[:2]:
        r["free"] += 1
    http_api.records = records
    report = ps.run(y).report
    assert report["status"] == "no_significant_changes", report
    for r in records[2:10]:
        r["free"] += 1
    assert ps.run(y).report["status"] == "committed"
    assert _table(tmp_path / "out") == _expected(records)


def test_watermark_strategy_sends_its_watermark_and_loads_only_newer(tmp_path, http_api):
    http_api.records = _records(20)
    y = _pipeline(tmp_path, {"url": f"{http_api.url}/since",
                             "params": {"updated_since": "{watermark}"},
                             "schema": {"updated_at": "timestamp"}},
                  {"type": "watermark", "cursor": "updated_at"})
    report = ps.run(y).report
    assert report["rows_written"] == 20
    first = http_api.data_requests()[0]
    assert "updated_since" not in first["query"]  # no watermark yet, no initial value
    http_api.records += _records(5, start=21)
    report = ps.run(y).report
    assert report["rows_written"] == 5
    # The API's since-parameter is inclusive: the boundary record came again and was
    # recognised as loaded.
    sent = http_api.data_requests()[-1]["query"]["updated_since"]
    assert sent == "2024-05-01T00:20:00Z"
    assert len(_table(tmp_path / "out")) == 25


def test_incremental_cursor_appends_each_record_once(tmp_path, http_api):
    http_api.records = _records(10)
    y = _pipeline(tmp_path, {"url": f"{http_api.url}/search", "method": "POST",
                             "body": '{"since": "{watermark}"}', "records": "items",
                             "incremental": {"cursor": "updated_at",
                                             "initial": "2024-05-01T00:05:00Z"}},
                  "merge", keys=["id"])
    report = ps.run(y).report
    assert report["rows_written"] == 6  # from the initial value on
    assert json.loads(http_api.data_requests()[0]["body"]) == {"since": "2024-05-01T00:05:00Z"}
    http_api.records += _records(3, start=11)
    ps.run(y)
    assert json.loads(http_api.data_requests()[-1]["body"]) == {"since": "2024-05-01T00:10:00Z"}
    assert ps.state(tmp_path / "out")["api"]["api_cursor"] == "2024-05-01T00:13:00Z"
    assert _table(tmp_path / "out") == _expected(http_api.records[4:])


def test_append_without_an_incremental_cursor_is_refused(tmp_path, http_api):
    y = _pipeline(tmp_path, {"url": f"{http_api.url}/all"}, "append")
    line = ps.run_refused(y)
    assert "every run would append every record again" in line
    assert http_api.data_requests() == []


@pytest.mark.parametrize("kind", ["bearer", "basic", "api_key_header", "api_key_query"])
def test_each_kind_of_auth_reaches_the_api_and_its_secret_never_shows(tmp_path, http_api, kind):
    http_api.records = _records(12)
    env = {"API_SECRET": SECRET}
    auth = {
        "bearer": {"type": "bearer", "token": "${API_SECRET}"},
        "basic": {"type": "basic", "username": "ingest", "password": "${API_SECRET}"},
        "api_key_header": {"type": "api_key", "name": "X-Api-Key", "value": "${API_SECRET}"},
        "api_key_query": {"type": "api_key", "name": "appid", "value": "${API_SECRET}",
                          "in": "query"},
    }[kind]
    http_api.auth = {
        "bearer": ("bearer", SECRET), "basic": ("basic", "ingest", SECRET),
        "api_key_header": ("api_key", "X-Api-Key", SECRET, "header"),
        "api_key_query": ("api_key", "appid", SECRET, "query"),
    }[kind]
    y = _pipeline(tmp_path, {**_source(http_api, "page"), "auth": auth}, "full_refresh")
    assert ps.run(y, env=env).report["rows_written"] == 12
    # A refused credential: one clear error naming the URL, no retry, no secret.
    http_api.auth = (http_api.auth[0], "other", "other", *http_api.auth[3:])
    before = len(http_api.data_requests())
    proc = ps.cli("run", y, "--json", env=env, cwd=tmp_path, check=False)
    line = ps.support.check_refusal(proc)
    assert "401 Unauthorized" in line and f"{http_api.url}/page?page=1" in line, line
    assert SECRET not in proc.stderr + proc.stdout
    assert len(http_api.data_requests()) == before + 1
    assert len(_table(tmp_path / "out")) == 12


def test_a_secret_written_into_the_file_is_refused(tmp_path, http_api):
    y = _pipeline(tmp_path, {"url": f"{http_api.url}/all",
                             "auth": {"type": "bearer", "token": SECRET}}, "full_refresh")
    line = ps.run_refused(y)
    assert "source.auth.token: is a secret: give it from the environment as ${VAR}" in line
    assert SECRET not in line


def test_oauth2_token_is_fetched_once_per_run_and_renewed_when_refused(tmp_path, http_api):
    http_api.records = _records(35)
    http_api.auth = ("oauth2", "inlet-client", SECRET)
    auth = {"type": "oauth2", "token_url": f"{http_api.url}/oauth/token",
            "client_id": "inlet-client", "client_secret": "${API_SECRET}"}
    y = _pipeline(tmp_path, {**_source(http_api, "cursor"), "auth": auth}, "full_refresh")
    env = {"API_SECRET": SECRET}
    assert ps.run(y, env=env).report["rows_written"] == 35
    assert len(http_api.token_requests()) == 1
    assert len(http_api.data_requests()) == 4
    # The server forgets its tokens in the middle of a run: one new token, and the run goes on.
    calls = {"n": 0}

    def revoke(path, query):
        calls["n"] += 1
        if calls["n"] == 2:
            with http_api.lock:
                http_api.tokens.clear()

    http_api.before_page = revoke
    http_api.records = _records(36)
    assert ps.run(y, env=env).report["rows_written"] == 36
    assert len(http_api.token_requests()) == 3
    # A token endpoint that refuses the client: one clear error, no secret.
    http_api.before_page = None
    http_api.tokens.clear()
    http_api.token_fails = True
    proc = ps.cli("run", y, "--json", env=env, cwd=tmp_path, check=False)
    line = ps.support.check_refusal(proc)
    assert "OAuth2 token endpoint" in line and "401 Unauthorized" in line, line
    assert SECRET not in proc.stderr + proc.stdout
    assert len(_table(tmp_path / "out")) == 36


def test_429_and_503_are_retried_honouring_retry_after(tmp_path, http_api):
    http_api.records = _records(25)
    http_api.fault("/offset", status=503, retry_after=1)
    http_api.fault("/offset", status=429, retry_after=1)
    http_api.fault("/offset", status=502)
    y = _pipeline(tmp_path, {**_source(http_api, "offset"),
                             "retries": {"max": 3, "backoff": "50ms"}}, "full_refresh")
    report = ps.run(y).report
    assert report["rows_written"] == 25
    times = [r["t"] for r in http_api.data_requests()]
    assert len(times) == 4 + 3
    # Retry-After: 1 was waited out twice; the 502's backoff is 25 to 50 ms.
    assert times[1] - times[0] >= 0.95 and times[2] - times[1] >= 0.95, times
    assert times[3] - times[2] < 0.9, times
    assert _table(tmp_path / "out") == _expected(http_api.records)


def test_retries_run_out_with_one_error_and_nothing_committed(tmp_path, http_api):
    http_api.records = _records(25)
    y = _pipeline(tmp_path, {**_source(http_api, "offset"),
                             "retries": {"max": 2, "backoff": "10ms"}}, "full_refresh")
    ps.run(y)
    version = ps.info(tmp_path / "out")["version"]
    http_api.records = _records(26)
    for _ in range(3):
        http_api.fault("/offset", status=503, body={"error": "maintenance"})
    line = ps.run_refused(y)
    assert "503 Service Unavailable" in line and "(3 attempts)" in line and "maintenance" in line
    assert f"{http_api.url}/offset?offset=0&limit=7" in line
    assert ps.info(tmp_path / "out")["version"] == version


def test_a_retry_after_longer_than_allowed_fails_at_once(tmp_path, http_api):
    http_api.records = _records(5)
    http_api.fault("/all", status=429, retry_after=3600)
    y = _pipeline(tmp_path, {"url": f"{http_api.url}/all"}, "full_refresh")
    line = ps.run_refused(y)
    assert "429 Too Many Requests" in line and "retry after 3600 s" in line, line
    assert len(http_api.data_requests()) == 1


@pytest.mark.parametrize("fault", ["truncate", "slow"])
def test_truncated_and_slow_responses_are_retried(tmp_path, http_api, fault):
    http_api.records = _records(25)
    http_api.fault("/link", **({"truncate": True} if fault == "truncate" else {"slow": 3}))
    y = _pipeline(tmp_path, {**_source(http_api, "link"), "timeout": "1s",
                             "retries": {"backoff": "10ms"}}, "full_refresh")
    assert ps.run(y).report["rows_written"] == 25
    assert len(http_api.data_requests()) == 4


def test_malformed_json_fails_naming_the_page(tmp_path, http_api):
    http_api.records = _records(25)
    y = _pipeline(tmp_path, _source(http_api, "next_url"), "full_refresh")
    ps.run(y)
    version = ps.info(tmp_path / "out")["version"]
    http_api.records = _records(26)
    # The second page is malformed.
    http_api.before_page = lambda path, query: (
        http_api.fault("/next", malformed=True) if query.get("page") is None else None)
    line = ps.run_refused(y)
    assert f"GET {http_api.url}/next?page=2: the response is not JSON" in line, line
    assert ps.info(tmp_path / "out")["version"] == version


def test_records_moving_between_pages_fail_the_run(tmp_path, http_api):
    http_api.records = _records(25)
    y = _pipeline(tmp_path, _source(http_api, "offset"), "full_refresh")
    ps.run(y)
    version = ps.info(tmp_path / "out")["version"]
    # A record is inserted at the front while the second page is being fetched: offset
    # paging would read one record twice and miss none, or (a deletion) miss one.
    def insert(path, query):
        if query.get("offset") == "7":
            with http_api.lock:
                http_api.records.insert(0, {"id": 0, "name": "new", "free": 1,
                                            "updated_at": "2024-05-01T00:00:00Z"})
    http_api.before_page = insert
    line = ps.run_refused(y)
    assert "record count changed from 25 to 26" in line, line
    assert ps.info(tmp_path / "out")["version"] == version


def test_a_response_without_the_records_path_names_the_lists_it_has(tmp_path, http_api):
    http_api.records = _records(3)
    y = _pipeline(tmp_path, {"url": f"{http_api.url}/offset", "records": "items"},
                  "full_refresh")
    line = ps.run_refused(y)
    assert "nothing at records: items (its lists: data.items)" in line, line


def test_max_pages_stops_a_runaway_api(tmp_path, http_api):
    http_api.records = _records(25)
    source = _source(http_api, "cursor")
    source["paginate"]["max_pages"] = 2
    y = _pipeline(tmp_path, source, "full_refresh")
    line = ps.run_refused(y)
    assert "more than max_pages (2) pages" in line
    assert not (tmp_path / "out").exists()


def test_a_response_over_the_size_limit_is_refused(tmp_path, http_api):
    http_api.records = _records(200)
    y = _pipeline(tmp_path, {"url": f"{http_api.url}/all", "max_response_size": "2KB"},
                  "full_refresh")
    line = ps.run_refused(y)
    assert "larger than max_response_size (2048 bytes)" in line, line


def test_gzip_responses_and_declared_types(tmp_path, http_api):
    http_api.records = _records(25)
    http_api.gzip = True
    y = _pipeline(tmp_path, {**_source(http_api, "page"),
                             "schema": {"id": "int", "updated_at": "timestamp"}},
                  "full_refresh")
    ps.run(y)
    t = oracle.read_deltalake(tmp_path / "out")
    assert t.schema.field("id").type == pa.int32()
    assert pa.types.is_timestamp(t.schema.field("updated_at").type)
    assert any("gzip" in r["headers"].get("Accept-Encoding", "") for r in http_api.data_requests())
    assert len(t) == 25


def test_raw_responses_are_archived_per_run(tmp_path, http_api):
    http_api.records = _records(25)
    y = _pipeline(tmp_path, {**_source(http_api, "link"), "archive_dir": "archive"},
                  "full_refresh")
    ps.run(y)
    runs = list((tmp_path / "archive").iterdir())
    assert len(runs) == 1
    pages = sorted(p.name for p in runs[0].iterdir())
    assert pages == ["page-00001.json", "page-00002.json", "page-00003.json"]
    assert json.loads((runs[0] / "page-00003.json").read_text()) == http_api.records[20:]


def test_a_record_that_does_not_fit_names_its_page_and_place(tmp_path, http_api):
    http_api.records = _records(25)
    http_api.records[13]["id"] = "fourteen"
    y = _pipeline(tmp_path, {**_source(http_api, "page"), "schema": {"id": "long"}},
                  "full_refresh")
    line = ps.run_refused(y)
    assert f"{http_api.url}/page?page=2&per_page=10: record 4: field 'id'" in line, line
    assert not (tmp_path / "out").exists()


def test_append_with_an_incremental_cursor_loads_each_record_once(tmp_path, http_api):
    http_api.records = _records(10)
    y = _pipeline(tmp_path, {"url": f"{http_api.url}/after", "records": "items",
                             "params": {"after_id": "{watermark}"},
                             "incremental": {"cursor": "id", "initial": "0"}}, "append")
    assert ps.run(y).report["rows_written"] == 10
    assert http_api.data_requests()[-1]["query"]["after_id"] == "0"
    assert ps.run(y).report["status"] == "no_changes"
    http_api.records += _records(3, start=11)
    assert ps.run(y).report["rows_written"] == 3
    assert http_api.data_requests()[-1]["query"]["after_id"] == "10"
    assert [r["id"] for r in _table(tmp_path / "out")] == list(range(1, 14))
    assert ps.state(tmp_path / "out")["api"]["api_cursor"] == "13"


def test_cdc_events_from_an_api_apply_in_sequence_order(tmp_path, http_api):
    http_api.records = [
        {"id": 1, "op": "insert", "seq": 1, "name": "a", "updated_at": "1"},
        {"id": 2, "op": "insert", "seq": 2, "name": "b", "updated_at": "2"},
        {"id": 1, "op": "update", "seq": 4, "name": "a2", "updated_at": "4"},
        {"id": 1, "op": "update", "seq": 3, "name": "stale", "updated_at": "3"},  # late
        {"id": 2, "op": "delete", "seq": 5, "name": None, "updated_at": "5"},
    ]
    y = _pipeline(tmp_path, {"url": f"{http_api.url}/since",
                             "params": {"updated_since": "{watermark}"},
                             "incremental": {"cursor": "updated_at"}},
                  {"type": "cdc", "sequence_by": "seq"}, keys=["id"])
    ps.run(y)
    assert [(r["id"], r["name"]) for r in _table(tmp_path / "out")] == [(1, "a2")]
    assert ps.state(tmp_path / "out")["api"]["api_cursor"] == "5"
    http_api.records.append({"id": 2, "op": "insert", "seq": 6, "name": "b2", "updated_at": "6"})
    ps.run(y)
    assert [(r["id"], r["name"]) for r in _table(tmp_path / "out")] == [(1, "a2"), (2, "b2")]


@pytest.mark.parametrize("point", ["run.after_read", "write.after_data_files",
                                   "commit.before_log_write", "commit.after_log_write"])
def test_a_run_killed_mid_load_loses_and_doubles_nothing(tmp_path, http_api, point):
    http_api.records = _records(10)
    y = _pipeline(tmp_path, {"url": f"{http_api.url}/since",
                             "params": {"updated_since": "{watermark}"},
                             "incremental": {"cursor": "updated_at"}},
                  "merge", keys=["id"])
    ps.run(y)
    http_api.records += _records(10, start=11)
    ps.run_crashing(y, point)
    ps.run(y)
    # The killed run's commit landed (after_log_write) or did not: either way each record
    # is there once, with the cursor the committed rows reached.
    assert _table(tmp_path / "out") == _expected(http_api.records)
    assert ps.state(tmp_path / "out")["api"]["api_cursor"] == "2024-05-01T00:20:00Z"


def test_an_iceberg_table_partitioned_by_hour_read_by_pyiceberg_and_duckdb(tmp_path, http_api):
    http_api.records = [dict(r, updated_at=f"2024-05-0{1 + i % 3}T{i % 24:02d}:00:00Z")
                        for i, r in enumerate(_records(40))]
    p = {"name": "parking", "source": {"type": "http", **_source(http_api, "next_url"),
                                       "schema": {"updated_at": "timestamp"}},
         "destination": {"path": "ice", "format": "iceberg", "keys": ["id"],
                         "partition_by": ["hour(updated_at)"]},
         "strategy": {"type": "snapshot_diff"}}
    y = ps.write_pipelines(tmp_path / "p.yaml", p)
    ps.run(y)
    records = [dict(r) for r in http_api.records]
    records[3]["free"] = 42
    http_api.records = records
    report = ps.run(y).report
    assert report["rows_updated"] == 1
    got = ps.read_table(tmp_path / "ice").sort_by("id").to_pylist()  # pyiceberg
    assert [(r["id"], r["free"]) for r in got] == [(r["id"], r["free"]) for r in records]
    duck = oracle.read_duckdb_iceberg(tmp_path / "ice")
    assert duck.num_rows == 40


def test_the_hybrid_policy_refreshes_fully_every_n_runs(tmp_path, http_api):
    y = _pipeline(tmp_path, _source(http_api, "page"),
                  {"type": "snapshot_diff", "full_refresh_every_runs": 2}, keys=["id"])
    for round_no in range(4):
        http_api.records = [dict(r, free=round_no) for r in _records(20)]
        report = ps.run(y).report
        assert report["status"] == "committed", report
        # Runs 1 and 3 are full refreshes (no diff, so no changed_percent); 2 and 4 diff.
        assert ("changed_percent" in report) == (round_no % 2 == 1), (round_no, report)
        assert _table(tmp_path / "out") == _expected(http_api.records)


@pytest.mark.parametrize("source, strategy, message", [
    ({"url": "ftp://x/y"}, "full_refresh", "source.url: expected an http:// or https:// URL"),
    ({"url": "http://x/y", "body": "{}"}, "full_refresh", "source.body: goes with method: POST"),
    ({"url": "http://x/y", "paginate": {"type": "cursor"}}, "full_refresh",
     "source.paginate.cursor_path: is required"),
    ({"url": "http://x/y", "paginate": {"type": "offset", "cursor_path": "a"}}, "full_refresh",
     "source.paginate.cursor_path: unknown key"),
    ({"url": "http://x/y", "records": "a..b"}, "full_refresh", "is not a JSON path"),
    ({"url": "http://x/y", "params": {"since": "{watermark}"}}, "full_refresh",
     "{watermark} has no value"),
    ({"url": "http://x/y", "params": {"since": "{watermark}"},
      "incremental": {"cursor": "at"}}, {"type": "watermark", "cursor": "at"},
     "incremental.cursor: the watermark strategy's cursor gives {watermark} its value"),
    ({"url": "http://x/y", "incremental": {"cursor": "at"}}, "merge", "nothing sends it"),
    ({"url": "http://x/y", "headers": {"Authorization": "Bearer abc"}}, "full_refresh",
     "source.headers.Authorization: is a secret"),
    ({"url": "http://x/y", "max_response_size": "lots"}, "full_refresh",
     "expected a size such as 64MB"),
    ({"url": "http://x/y", "retries": {"backoff": "10s", "max_backoff": "1s"}}, "full_refresh",
     "must not be less than backoff"),
    ({"url": "http://x/y", "auth": {"type": "oauth2", "client_id": "a",
                                    "client_secret": "${X}"}}, "full_refresh",
     "source.auth.token_url: is required"),
])
def test_configuration_errors_name_the_key(tmp_path, source, strategy, message):
    y = _pipeline(tmp_path, source, strategy, keys=["id"])
    line = ps.run_refused(y, env={"X": "x"})
    assert message in line, line
    assert "p.yaml:" in line


def test_append_through_an_inclusive_since_parameter_loads_the_boundary_once(tmp_path, http_api):
    http_api.records = _records(10)
    y = _pipeline(tmp_path, {"url": f"{http_api.url}/since",
                             "params": {"updated_since": "{watermark}"},
                             "schema": {"updated_at": "timestamp"},
                             "incremental": {"cursor": "updated_at", "format": "unix"}},
                  "append")
    assert ps.run(y).report["rows_written"] == 10
    assert ps.state(tmp_path / "out")["api"]["api_cursor"] == "1714522200"  # 00:10:00Z
    # The API compares text, and gets seconds: it sends everything again, and the records
    # at or before the cursor are left out.
    http_api.records += _records(2, start=11)
    assert ps.run(y).report["rows_written"] == 2
    assert http_api.data_requests()[-1]["query"]["updated_since"] == "1714522200"
    assert [r["id"] for r in _table(tmp_path / "out")] == list(range(1, 13))
    assert ps.run(y).report["status"] == "no_changes"


def test_a_wrong_cursor_path_fails_rather_than_loading_one_page(tmp_path, http_api):
    http_api.records = _records(25)
    source = _source(http_api, "cursor")
    source["paginate"]["cursor_path"] = "meta.next"
    y = _pipeline(tmp_path, source, "full_refresh")
    line = ps.run_refused(y)
    assert "nothing at paginate.cursor_path (meta.next)" in line, line
    assert not (tmp_path / "out").exists()


def test_an_api_that_repeats_its_last_page_fails(tmp_path, http_api):
    http_api.records = _records(25)
    y = _pipeline(tmp_path, {"url": f"{http_api.url}/stuck", "records": "items",
                             "paginate": {"type": "page"}}, "full_refresh")
    line = ps.run_refused(y)
    assert "gave the same page twice in a row" in line, line


def test_exactly_max_pages_pages_load(tmp_path, http_api):
    http_api.records = _records(30)
    source = _source(http_api, "offset")
    source["paginate"] = {"type": "offset", "limit": 10, "max_pages": 3}
    y = _pipeline(tmp_path, source, "full_refresh")
    assert ps.run(y).report["rows_written"] == 30  # the empty fourth page ends the paging
    http_api.records = _records(31)
    assert "more than max_pages (3) pages" in ps.run_refused(y)


def test_credentials_follow_a_redirect_within_the_api_only(tmp_path, http_api):
    http_api.records = _records(5)
    http_api.auth = ("bearer", SECRET)
    auth = {"type": "bearer", "token": "${API_SECRET}"}
    env = {"API_SECRET": SECRET}
    same = f"{http_api.url}/redirect?to=/all"
    y = _pipeline(tmp_path, {"url": same, "auth": auth}, "full_refresh")
    assert ps.run(y, env=env).report["rows_written"] == 5
    other = http_api.url.replace("127.0.0.1", "localhost") + "/all"
    y = _pipeline(tmp_path, {"url": f"{http_api.url}/redirect?to={other}", "auth": auth},
                  "full_refresh", dest="out2")
    proc = ps.cli("run", y, "--json", env=env, cwd=tmp_path, check=False)
    line = ps.support.check_refusal(proc)
    assert "redirected to another host (http://localhost:" in line, line
    assert not any(r["path"] == "/all" and "localhost" in r["headers"].get("Host", "")
                   for r in http_api.data_requests())


def test_secrets_in_params_and_headers_are_masked_too(tmp_path, http_api):
    http_api.records = _records(5)
    http_api.auth = ("api_key", "X-Api-Key", "right", "header")
    y = _pipeline(tmp_path, {"url": f"{http_api.url}/all?sig=${{SIG}}",
                             "params": {"appid": "${API_SECRET}"},
                             "headers": {"X-Api-Key": "${API_SECRET}"}}, "full_refresh")
    proc = ps.cli("run", y, "--json", env={"API_SECRET": SECRET, "SIG": "sig-value-42"},
                  cwd=tmp_path, check=False)
    line = ps.support.check_refusal(proc)
    assert "401 Unauthorized" in line and "***" in line, line
    assert SECRET not in proc.stderr + proc.stdout
    assert "sig-value-42" not in proc.stderr + proc.stdout


def test_a_json_schema_file_types_and_checks_the_records(tmp_path, http_api):
    http_api.records = [dict(r, status="free" if r["id"] % 2 else "busy") for r in _records(12)]
    (tmp_path / "reading.schema.json").write_text(json.dumps({
        "type": "object",
        "properties": {"id": {"type": "integer"}, "name": {"type": "string"},
                       "free": {"type": "integer"},
                       "updated_at": {"type": "string", "format": "date-time"},
                       "status": {"type": "string", "enum": ["free", "busy"]}},
        "required": ["id", "status"]}))
    y = _pipeline(tmp_path, {**_source(http_api, "page"), "schema_file": "reading.schema.json"},
                  "full_refresh")
    assert ps.run(y).report["rows_written"] == 12
    t = oracle.read_deltalake(tmp_path / "out")
    assert pa.types.is_timestamp(t.schema.field("updated_at").type)
    http_api.records[5]["status"] = "closed"
    line = ps.run_refused(y)
    assert "record 6: field 'status': 'closed' is not one of the schema's enum values" in line, line


def test_https_with_a_private_ca_bundle_and_the_verify_switch(tmp_path):
    import subprocess
    from http_api_server import ApiServer
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-subj", "/CN=127.0.0.1", "-addext",
                    "subjectAltName=IP:127.0.0.1", "-days", "1"],
                   check=True, capture_output=True)
    api = ApiServer().start(cert=str(cert), key=str(key))
    try:
        api.records = _records(12)
        source = {"url": f"{api.url}/link", "paginate": {"type": "link"}}
        # The server's certificate is not one the system trusts: one error, no retries.
        y = _pipeline(tmp_path, source, "full_refresh")
        line = ps.run_refused(y)
        assert f"GET {api.url}/link" in line and "certificate" in line.lower(), line
        assert len(api.data_requests()) == 0  # refused in the handshake
        y = _pipeline(tmp_path, {**source, "tls": {"ca_bundle": "cert.pem"}}, "full_refresh")
        assert ps.run(y).report["rows_written"] == 12
        y = _pipeline(tmp_path, {**source, "tls": {"verify": False}}, "full_refresh",
                      dest="out2")
        assert ps.run(y).report["rows_written"] == 12
    finally:
        api.stop()


def test_an_archived_run_replays_without_the_api(tmp_path, http_api):
    http_api.records = _records(25)
    y = _pipeline(tmp_path, {**_source(http_api, "link"), "archive_dir": "archive"},
                  "full_refresh")
    ps.run(y)
    run_dir = next((tmp_path / "archive").iterdir())
    requests = len(http_api.data_requests())
    http_api.records = _records(3)  # the API moved on; the archive did not
    y = _pipeline(tmp_path, {**_source(http_api, "link"), "replay": str(run_dir)},
                  "full_refresh", dest="replayed")
    report = ps.run(y).report
    assert report["rows_written"] == 25 and report["files_read"] == 3
    assert len(http_api.data_requests()) == requests
    assert _table(tmp_path / "replayed") == _table(tmp_path / "out")
    y = _pipeline(tmp_path, {**_source(http_api, "link"), "replay": "nowhere"}, "full_refresh",
                  dest="none")
    assert "cannot list the archived pages in" in ps.run_refused(y)
    (tmp_path / "empty").mkdir()
    y = _pipeline(tmp_path, {**_source(http_api, "link"), "replay": "empty"}, "full_refresh",
                  dest="none")
    assert "holds no archived pages" in ps.run_refused(y)
