"""PostgreSQL as a destination (issue 23, part 3): `destination.type: postgres` writes a
table of the real PostgreSQL 15 server the `postgres` fixture starts, the seed's hot store.
Each commit is one database transaction holding the rows and the pipeline's state (run
state, Kafka offsets) in inlet's state table. What the table holds is read back with
psycopg2 and compared with a model of the source, and with the same pipeline loaded into a
Delta table read by deltalake; inlet is killed mid-commit and mid-stream.
"""
from __future__ import annotations

import datetime as dt
import decimal
import itertools
import json
import random
import signal
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import oracle
import pipeline_support as ps
from support import check_refusal

_names = itertools.count()


@pytest.fixture
def db(postgres):
    """A database of its own, owned by the test role, and a psycopg2 connection to it."""
    d = postgres.database(f"dst{next(_names)}")
    yield d
    d.close()


def _dest(db, table="public.hot", **extra):
    return {"type": "postgres", "connection": db.uri, "table": table, **extra}


def _files_pipeline(tmp_path, db, strategy, *, name="p", fmt="csv", keys=None, dest=None,
                    schema=None, **dest_extra):
    p = {"name": name, "source": {"type": "files", "path": str(tmp_path / "in"), "format": fmt},
         "destination": dest or _dest(db, **dest_extra), "strategy": strategy}
    if schema:
        p["source"]["schema"] = schema
    if keys:
        p["destination"]["keys"] = keys
    return p


def _rows(db, table="hot", order="id"):
    cols = [r[0] for r in db.sql(
        "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 "
        "AND NOT attisdropped ORDER BY attnum", table)]
    return [dict(zip(cols, r)) for r in db.sql(f'SELECT * FROM {table} ORDER BY {order}')]


def _state(db, table="public.hot"):
    return {app: (version, json.loads(doc) if doc and doc.startswith("{") else doc)
            for app, version, doc in db.sql(
                "SELECT app_id, version, document FROM inlet_state WHERE table_name = %s", table)}


def test_appends_every_type_and_records_its_state_in_the_same_database(tmp_path, db):
    schema = pa.schema([("id", pa.int64()), ("small", pa.int16()), ("i", pa.int32()),
                        ("f", pa.float64()), ("amount", pa.decimal128(12, 3)),
                        ("name", pa.string()), ("ok", pa.bool_()), ("day", pa.date32()),
                        ("at", pa.timestamp("us")), ("at_utc", pa.timestamp("us", tz="UTC")),
                        ("raw", pa.binary()), ("tags", pa.list_(pa.int32())),
                        ("point", pa.struct([("x", pa.int32()), ("label", pa.string())]))])
    rows = [
        {"id": 1, "small": -32768, "i": 2147483647, "f": 0.1, "amount": decimal.Decimal("-123456789.125"),
         "name": "tab\there, quote ' and \\ backslash", "ok": True, "day": dt.date(1, 1, 1),
         "at": dt.datetime(2024, 2, 29, 23, 59, 59, 999999),
         "at_utc": dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc), "raw": b"\x00\xff",
         "tags": [1, None, 3], "point": {"x": 7, "label": "é"}},
        {k: None for k in schema.names} | {"id": 2},
    ]
    (tmp_path / "in").mkdir()
    pq.write_table(pa.Table.from_pylist(rows, schema), tmp_path / "in" / "a.parquet")
    yaml = ps.write_pipelines(tmp_path / "p.yaml", _files_pipeline(tmp_path, db, {"type": "append"}, fmt="parquet"))
    report = ps.run(yaml, env=db.env).report
    assert report["rows_written"] == 2, report
    types = dict(db.sql("SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute "
                        "WHERE attrelid = 'hot'::regclass AND attnum > 0"))
    assert types == {"id": "bigint", "small": "smallint", "i": "integer", "f": "double precision",
                     "amount": "numeric(12,3)", "name": "text", "ok": "boolean", "day": "date",
                     "at": "timestamp without time zone", "at_utc": "timestamp with time zone",
                     "raw": "bytea", "tags": "integer[]", "point": "jsonb"}
    got = _rows(db)
    assert got[0]["amount"] == decimal.Decimal("-123456789.125")
    assert got[0]["name"] == rows[0]["name"] and got[0]["day"] == dt.date(1, 1, 1)
    assert got[0]["at"] == rows[0]["at"] and got[0]["at_utc"] == rows[0]["at_utc"]
    assert bytes(got[0]["raw"]) == b"\x00\xff" and got[0]["tags"] == [1, None, 3]
    assert got[0]["point"] == {"x": 7, "label": "é"} and got[0]["f"] == 0.1
    assert all(v is None for k, v in got[1].items() if k != "id")
    # The pipeline's state is in the state table, committed with the rows; the commit in
    # the history.
    state = _state(db)
    assert state["inlet.pipeline.p"][0] == 1 and "a.parquet" in state["inlet.pipeline.p"][1]["files"], state
    version, owner = state[""]  # the table's version, and its oid
    assert version == 1 and owner == str(db.sql("SELECT 'hot'::regclass::oid")[0][0]), state
    assert db.sql("SELECT version, operation FROM inlet_state_history") == [(1, "INLET RUN")]
    # A second run finds nothing new and commits nothing.
    again = ps.run(yaml, env=db.env).report
    assert again["rows_written"] == 0 and len(_rows(db)) == 2, again
    # A new file with a new column: refused, naming it, until schema_drift allows it.
    pq.write_table(pa.table({"id": [3], "extra": ["x"]}), tmp_path / "in" / "b.parquet")
    line = check_refusal(ps.cli("run", yaml, env=db.env, check=False))
    assert "'extra'" in line and "schema_drift" in line, line
    assert len(_rows(db)) == 2
    p = _files_pipeline(tmp_path, db, {"type": "append"}, fmt="parquet")
    p["quality"] = {"schema_drift": "add_columns"}
    yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
    ps.run(yaml, env=db.env)
    assert [r["extra"] for r in _rows(db)] == [None, None, "x"]


def test_merge_upserts_and_deletes_as_delta_does(tmp_path, db):
    """Rounds of random upserts and deletes by key, into PostgreSQL and into a Delta table
    from the same files: both equal the model after every round."""
    rng = random.Random(23)
    strategy = {"type": "merge", "delete_flag": "gone"}
    pg = _files_pipeline(tmp_path, db, strategy, name="hot", keys=["id"])
    lake = _files_pipeline(tmp_path, db, strategy, name="lake", keys=["id"],
                           dest={"path": str(tmp_path / "lake")})
    yaml = ps.write_pipelines(tmp_path / "p.yaml", pg, lake)
    model = {}
    for round_ in range(5):
        rows = []
        for _ in range(300):
            k = rng.randrange(200)
            gone = rng.random() < 0.2
            rows.append({"id": k, "v": f"r{round_}-{rng.randrange(1000)}", "n": rng.randrange(100),
                         "gone": "true" if gone else "false"})
            if gone:
                model.pop(k, None)
            else:
                model[k] = (rows[-1]["v"], rows[-1]["n"])
        ps.write_source(tmp_path / "in" / f"r{round_}.csv", rows)
        reports = ps.run(yaml, env=db.env).reports
        assert all(r["status"] == "committed" for r in reports), reports
        got = {r["id"]: (r["v"], r["n"]) for r in _rows(db)}
        assert got == model, f"round {round_}"
        delta = oracle.read_deltalake(tmp_path / "lake").to_pylist()
        assert {r["id"]: (r["v"], r["n"]) for r in delta} == model
    # The created table's primary key is the pipeline's keys.
    assert db.sql("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                  "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = 'hot'::regclass AND i.indisprimary") == [("id",)]
    history = db.sql("SELECT version, operation FROM inlet_state_history ORDER BY version")
    assert [v for v, _ in history] == [1, 2, 3, 4, 5]


def test_cdc_changes_out_of_order_match_the_order_free_model(tmp_path, db):
    """The cdc strategy into PostgreSQL: random inserts, updates, deletes and truncates
    arrive out of order, split into runs, some replayed; after every run the table equals
    the order-free model the lakehouse tables are tested against (test_pipeline_cdc.py),
    as does a Delta table the same events go into. A change older than a delete or a
    truncate does not bring a row back: deletes are remembered beside the table."""
    import test_pipeline_cdc as cdc
    rng = random.Random(5)
    src = tmp_path / "src"
    src.mkdir()
    source = {"type": "files", "path": str(src / "*.ndjson"), "format": "ndjson",
              "schema": dict(cdc.SOURCE_SCHEMA)}
    strategy = {"type": "cdc", "sequence_by": ["commit_lsn", "change_lsn"]}
    hot = {"name": "hot", "source": source, "strategy": strategy,
           "destination": {**_dest(db), "keys": ["k1", "k2"]}}
    lake = {"name": "lake", "source": source, "strategy": strategy,
            "destination": {"path": str(tmp_path / "lake"), "keys": ["k1", "k2"]}}
    yaml = ps.write_pipelines(tmp_path / "p.yaml", hot, lake)
    sequences = cdc.shuffled_sequences(rng, 400)
    seen, late = [], 0
    key = lambda r: (r["k1"], r["k2"])
    for round_no in range(8):
        batch = cdc.random_events(rng, sequences, rng.randrange(15, 45))
        if seen and round_no % 3 == 2:
            batch += rng.sample(seen, 3)  # replays of events already applied
        ps.write_source(src / f"b{round_no:02d}.ndjson", batch, fmt="ndjson")
        reports = {r["pipeline"]: r for r in ps.parse_reports(
            ps.cli("run", yaml, "--json", env=db.env).stdout)}
        assert reports["hot"]["rows_read"] == len(batch), reports["hot"]
        for n in ("rows_late", "rows_inserted", "rows_deleted"):
            assert reports["hot"][n] == reports["lake"][n], (round_no, n, reports)
        late += reports["hot"]["rows_late"]
        seen += batch
        expected = sorted(cdc.order_free_model(seen), key=key)
        got = sorted(({c: r[c] for c in cdc.TABLE_SCHEMA} for r in _rows(db, order="k1, k2")), key=key)
        assert got == expected, f"round {round_no}"
        ps.assert_table(tmp_path / "lake", expected, cdc.TABLE_SCHEMA, f"round {round_no} (Delta)")
    assert late > 0, "shuffled sequences must produce late events"
    reports = ps.parse_reports(ps.cli("run", yaml, "--json", env=db.env).stdout)
    assert all(r["status"] == "no_changes" for r in reports), reports
    # The deletes remembered: a table of keys and sequences beside the table.
    remembered = db.sql("SELECT count(*) FROM pg_tables WHERE tablename LIKE 'inlet_state_deletes_%%'")
    assert remembered == [(1,)], remembered


def _hot_and_lake(tmp_path, db, seq_type):
    """cdc by `seq` from NDJSON files into PostgreSQL ("hot") and into Delta ("lake", the
    reference): the source directory and the pipelines' file."""
    src = tmp_path / "src"
    src.mkdir()
    schema = {"op": "string", "id": "long", "seq": seq_type, "v": "string"}
    source = {"type": "files", "path": str(src / "*.ndjson"), "format": "ndjson", "schema": schema}
    strategy = {"type": "cdc", "sequence_by": ["seq"]}
    yaml = ps.write_pipelines(
        tmp_path / "p.yaml",
        {"name": "hot", "source": source, "strategy": strategy, "destination": {**_dest(db), "keys": ["id"]}},
        {"name": "lake", "source": source, "strategy": strategy,
         "destination": {"path": str(tmp_path / "lake"), "keys": ["id"]}})
    return src, yaml


def _check_steps(tmp_path, db, src, yaml, steps):
    """Each step's events in a file of their own, then a run: both destinations count the
    same late changes (`late`, unless None) and hold the (id, seq) rows `want`."""
    for k, (events, want, late) in enumerate(steps):
        ps.write_source(src / f"b{k}.ndjson", events, fmt="ndjson")
        reports = {r["pipeline"]: r for r in ps.parse_reports(
            ps.cli("run", yaml, "--json", env=db.env).stdout)}
        hot, lake = reports["hot"], reports["lake"]
        for n in ("rows_late", "rows_inserted", "rows_updated", "rows_deleted"):
            assert hot[n] == lake[n], (k, n, hot, lake)
        if late is not None:
            assert hot["rows_late"] == late, (k, hot)
        assert [(r["id"], r["seq"]) for r in _rows(db)] == want, k
        lake_rows = oracle.read_deltalake(tmp_path / "lake").to_pylist()
        assert sorted((r["id"], r["seq"]) for r in lake_rows) == want, k


def _ev(op, i, seq):
    return {"op": op, "id": i, "seq": seq, "v": f"{op}{seq}"}


def test_a_late_change_after_a_delete_or_truncate_stays_out(tmp_path, db):
    """Run by run, into PostgreSQL and into Delta (the reference): a delete of a key the
    table never had, then its older insert; a truncate, then an older insert of another
    key; a newer insert after the truncate. Both count the same late changes and hold the
    same rows."""
    src, yaml = _hot_and_lake(tmp_path, db, "long")
    ev = _ev
    steps = [
        ([ev("I", 1, 10), ev("I", 2, 30), ev("D", 9, 40)], [(1, 10), (2, 30)], 0),
        ([ev("I", 9, 35), ev("U", 1, 5)], [(1, 10), (2, 30)], 2),            # both late
        # 15: before its own batch's truncate, dropped with it (not late)
        ([{"op": "T", "id": None, "seq": 20, "v": None}, ev("I", 3, 15)], [(2, 30)], 0),
        ([ev("I", 4, 12), ev("I", 5, 25), ev("D", 2, 31)], [(5, 25)], 1),    # 4: before the truncate
        ([ev("U", 2, 29)], [(5, 25)], 1),                                     # before the delete
        ([ev("I", 2, 29), ev("U", 2, 32)], [(2, 32), (5, 25)], None),        # 32: after it
    ]
    _check_steps(tmp_path, db, src, yaml, steps)
    [(document,)] = db.sql("SELECT document FROM inlet_state WHERE app_id = 'inlet.tombstones'")
    assert json.loads(document) == {"sequence_by": ["seq"], "truncated_before": [20]}


def test_a_merge_ordered_against_the_table_with_a_delete_flag_matches_delta(tmp_path, db):
    """merge with order_by (stale_rows: skip, the default) and a delete_flag: a delete is
    remembered, so an older row arriving later does not bring the key back; PostgreSQL and
    Delta, fed the same files, hold the same rows and count the same."""
    src = tmp_path / "src"
    src.mkdir()
    schema = {"id": "long", "version": "long", "v": "string", "deleted": "boolean"}
    source = {"type": "files", "path": str(src / "*.ndjson"), "format": "ndjson", "schema": schema}
    strategy = {"type": "merge", "order_by": "version", "delete_flag": "deleted"}
    yaml = ps.write_pipelines(
        tmp_path / "p.yaml",
        {"name": "hot", "source": source, "strategy": strategy, "destination": {**_dest(db), "keys": ["id"]}},
        {"name": "lake", "source": source, "strategy": strategy,
         "destination": {"path": str(tmp_path / "lake"), "keys": ["id"]}})
    row = lambda i, version, deleted=False: {"id": i, "version": version, "v": f"v{version}", "deleted": deleted}
    steps = [[row(1, 1), row(2, 1), row(3, 1)],
             [row(1, 5, True), row(2, 2), row(4, 9, True)],   # 4: a delete of a key never seen
             [row(1, 3), row(4, 8), row(2, 1), row(3, 2)],    # 1, 4, 2: late
             [row(1, 6)]]                                      # newer than the delete
    for k, rows in enumerate(steps):
        ps.write_source(src / f"b{k}.ndjson", rows, fmt="ndjson")
        reports = {r["pipeline"]: r for r in ps.parse_reports(
            ps.cli("run", yaml, "--json", env=db.env).stdout)}
        for n in ("rows_late", "rows_inserted", "rows_updated", "rows_deleted"):
            assert reports["hot"][n] == reports["lake"][n], (k, n, reports)
        lake = sorted((r["id"], r["version"]) for r in oracle.read_deltalake(tmp_path / "lake").to_pylist())
        assert [(r["id"], r["version"]) for r in _rows(db)] == lake, k
    assert lake == [(1, 6), (2, 2), (3, 2)], lake
    assert reports["hot"]["rows_late"] == 0


def test_a_merge_into_a_table_without_a_unique_key_is_refused_and_changes_nothing(tmp_path, db):
    db.sql("CREATE TABLE hot (id bigint, v text)")
    db.sql("INSERT INTO hot VALUES (1, 'old')")
    ps.write_source(tmp_path / "in" / "a.csv", [{"id": 1, "v": "new"}])
    yaml = ps.write_pipelines(tmp_path / "p.yaml",
                              _files_pipeline(tmp_path, db, {"type": "merge"}, keys=["id"]))
    line = check_refusal(ps.cli("run", yaml, env=db.env, check=False))
    assert "primary key or unique index" in line and "ADD PRIMARY KEY (\"id\")" in line, line
    assert db.sql("SELECT * FROM hot") == [(1, "old")]
    assert db.sql("SELECT count(*) FROM inlet_state WHERE app_id <> ''") == [(0,)]
    db.sql("ALTER TABLE hot ADD PRIMARY KEY (id)")
    ps.run(yaml, env=db.env)
    assert db.sql("SELECT * FROM hot") == [(1, "new")]


def test_values_the_table_refuses_fail_clearly_and_change_nothing(tmp_path, db):
    db.sql("CREATE TABLE hot (id integer PRIMARY KEY, v uuid, at timestamptz)")
    ps.write_source(tmp_path / "in" / "a.csv",
                    [{"id": 1, "v": "0b9b4a3e-8a0d-4a3a-9a57-1d1a1a1a1a1a", "at": "2024-01-01T00:00:00Z"}])
    yaml = ps.write_pipelines(tmp_path / "p.yaml", _files_pipeline(
        tmp_path, db, {"type": "append"}, schema={"id": "long", "v": "string", "at": "timestamp"}))
    ps.run(yaml, env=db.env)
    # The text goes into the uuid column, the int64 into the integer one.
    assert db.sql("SELECT id, v::text FROM hot") == [(1, "0b9b4a3e-8a0d-4a3a-9a57-1d1a1a1a1a1a")]
    ps.write_source(tmp_path / "in" / "b.csv", [{"id": 2, "v": "not-a-uuid", "at": "2024-01-02T00:00:00Z"}])
    line = check_refusal(ps.cli("run", yaml, env=db.env, check=False))
    assert "public.hot" in line and "uuid" in line and "not-a-uuid" in line, line
    ps.write_source(tmp_path / "in" / "b.csv", [{"id": 2**40, "v": None, "at": "2024-01-02T00:00:00Z"}])
    line = check_refusal(ps.cli("run", yaml, env=db.env, check=False))
    assert "out of range" in line, line
    assert db.sql("SELECT count(*) FROM hot") == [(1,)]
    state = _state(db)
    assert list(state["inlet.pipeline.p"][1]["files"]) == ["a.csv"], state


def test_snapshot_diff_applies_only_the_changes(tmp_path, db):
    rng = random.Random(5)
    source = {i: rng.randrange(1000) for i in range(500)}
    strategy = {"type": "snapshot_diff", "max_delete_percent": 50}
    yaml = ps.write_pipelines(tmp_path / "p.yaml", _files_pipeline(tmp_path, db, strategy, keys=["id"]))
    for round_ in range(4):
        ps.write_source(tmp_path / "in" / "extract.csv", [{"id": k, "v": v} for k, v in source.items()])
        report = ps.run(yaml, env=db.env).report
        assert {r["id"]: r["v"] for r in _rows(db)} == source, f"round {round_}"
        if round_:
            assert report["rows_inserted"] == inserted and report["rows_deleted"] == deleted, report
            assert report["rows_updated"] == updated, report
        # Next round: some updates, deletes and inserts.
        updated = deleted = inserted = 0
        for k in list(source):
            r = rng.random()
            if r < 0.05:
                del source[k]
                deleted += 1
            elif r < 0.1:
                source[k] = source[k] + 1
                updated += 1
        for k in range(1000 + round_ * 10, 1000 + round_ * 10 + 7):
            source[k] = 0
            inserted += 1
    # An unchanged extract commits nothing.
    before = db.sql("SELECT max(version) FROM inlet_state_history")
    ps.run(yaml, env=db.env)
    assert db.sql("SELECT max(version) FROM inlet_state_history") == before


@pytest.mark.parametrize("point", ["postgres.before_commit", "postgres.after_commit"])
def test_a_killed_commit_neither_loses_nor_doubles_a_row(tmp_path, db, point):
    ps.write_source(tmp_path / "in" / "a.csv", [{"id": i, "v": f"a{i}"} for i in range(1000)])
    yaml = ps.write_pipelines(tmp_path / "p.yaml", _files_pipeline(tmp_path, db, {"type": "append"}))
    ps.run(yaml, env=db.env)
    ps.write_source(tmp_path / "in" / "b.csv", [{"id": i, "v": f"b{i}"} for i in range(1000, 3000)])
    proc = ps.cli("run", yaml, "--json", env={**db.env, "INLET_CRASH_AT": point}, check=False)
    assert proc.returncode in ps.KILLED, proc
    landed = point == "postgres.after_commit"
    assert db.sql("SELECT count(*) FROM hot") == [(3000 if landed else 1000,)]
    after = ps.run(yaml, env=db.env).report
    assert after["rows_written"] == (0 if landed else 2000), after
    ids = [r[0] for r in db.sql("SELECT id FROM hot ORDER BY id")]
    assert ids == list(range(3000))


def test_a_dropped_connection_fails_the_commit_and_loses_nothing(tmp_path, db):
    ps.write_source(tmp_path / "in" / "a.csv", [{"id": i, "v": "x"} for i in range(100)])
    yaml = ps.write_pipelines(tmp_path / "p.yaml", _files_pipeline(tmp_path, db, {"type": "append"}))
    proc = ps.popen("run", yaml, env={**db.env, "INLET_STOP_AT": "postgres.before_commit"})
    deadline = time.time() + 60
    while time.time() < deadline:  # stopped at the point, its transaction open
        with open(f"/proc/{proc.pid}/stat") as f:
            if f.read().split()[2] == "T":
                break
        time.sleep(0.1)
    killed = db.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                    "AND pid <> pg_backend_pid() AND state LIKE 'idle in transaction%%'", db.name)
    assert killed == [(True,)], killed
    proc.send_signal(signal.SIGCONT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    line = check_refusal_text(err)
    assert db.name in line and "commit" in line, line
    assert db.sql("SELECT count(*) FROM pg_tables WHERE tablename = 'hot'") == [(0,)]
    assert ps.run(yaml, env=db.env).report["rows_written"] == 100
    assert db.sql("SELECT count(*) FROM hot") == [(100,)]


def _sessions(db) -> int:
    """Sessions the server has started in the test's database, once the count settles (a
    session's stats reach the shared counters as it ends)."""
    last = None
    for _ in range(50):
        db.sql("SELECT pg_stat_clear_snapshot()")
        n = db.sql("SELECT sessions FROM pg_stat_database WHERE datname = %s", db.name)[0][0]
        if n == last:
            return n
        last = n
        time.sleep(0.2)
    return last


def test_a_run_reads_and_commits_in_one_session(tmp_path, db):
    """The destination keeps the session it read the table's state and columns in for the
    commit (the commit's statements still one transaction, checked inside it): every run
    opens one connection, which is two sessions (ADBC's driver opens one more, briefly, to
    learn the server's types). A run used to open three connections once the table
    existed."""
    ps.write_source(tmp_path / "in" / "a.csv", [{"id": i, "v": "x"} for i in range(10)])
    yaml = ps.write_pipelines(tmp_path / "p.yaml", _files_pipeline(tmp_path, db, {"type": "append"}))
    sessions = [_sessions(db)]
    assert ps.run(yaml, env=db.env).report["rows_written"] == 10
    sessions.append(_sessions(db))
    for k, name in enumerate("bcd"):
        ps.write_source(tmp_path / "in" / f"{name}.csv", [{"id": 10 + 5 * k + i, "v": name} for i in range(5)])
        assert ps.run(yaml, env=db.env).report["rows_written"] == 5
        sessions.append(_sessions(db))
    assert [b - a for a, b in zip(sessions, sessions[1:])] == [2, 2, 2, 2], sessions
    assert db.sql("SELECT count(*) FROM hot") == [(25,)]
    assert _state(db)["inlet.pipeline.p"][0] == 4  # the run number, in the commit


def check_refusal_text(stderr: str) -> str:
    lines = [l for l in stderr.splitlines() if l.strip()]
    assert lines, "no error message"
    return lines[-1]


def test_connection_errors_are_clear_and_keep_the_password(tmp_path, db):
    ps.write_source(tmp_path / "in" / "a.csv", [{"id": 1}])
    yaml = ps.write_pipelines(tmp_path / "p.yaml", _files_pipeline(tmp_path, db, {"type": "append"}))
    line = check_refusal(ps.cli("run", yaml, env={"PGPASSWORD": "wrong-secret-42"}, check=False))
    assert "password authentication failed" in line and db.name in line, line
    assert "wrong-secret-42" not in line
    missing = db.uri.rsplit("/", 1)[0] + "/no_such_db"
    yaml = ps.write_pipelines(tmp_path / "p.yaml", _files_pipeline(
        tmp_path, db, {"type": "append"}, dest={"type": "postgres", "connection": missing, "table": "hot"}))
    line = check_refusal(ps.cli("run", yaml, env=db.env, check=False))
    assert "no_such_db" in line and "does not exist" in line, line
    assert db.sql("SELECT count(*) FROM pg_tables WHERE tablename IN ('hot', 'inlet_state')") == [(0,)]


def test_config_refuses_what_a_postgres_destination_cannot_do(tmp_path, db):
    cases = [
        ({"type": "cdc", "sequence_by": ["seq"], "scd_type": 2}, {}, "no history of versions"),
        ({"type": "append"}, {"partition_by": ["day"]}, "partition_by"),
        ({"type": "append"}, {"path": "x"}, "path"),
        ({"type": "append"}, {"state_table": "a.b"}, "state_table"),
    ]
    for strategy, extra, needle in cases:
        p = _files_pipeline(tmp_path, db, strategy, keys=["id"], **extra)
        yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
        line = check_refusal(ps.cli("run", yaml, env=db.env, check=False))
        assert needle in line, (extra, line)
    p = _files_pipeline(tmp_path, db, {"type": "append"})
    p["destination"]["type"] = "mysql"
    line = check_refusal(ps.cli("run", ps.write_pipelines(tmp_path / "p.yaml", p), check=False))
    assert "unknown destination type 'mysql'" in line, line


# --- Kafka into PostgreSQL and Delta: the seed's dual sink.

def _kafka_pipeline(kafka, topic, name, destination, strategy):
    return {"name": name,
            "source": {"type": "kafka", "brokers": kafka.bootstrap, "topic": topic, "group": f"inlet-{name}",
                       "properties": {"session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"}},
            "destination": destination, "strategy": strategy,
            "processing": {"flush_rows": 300, "flush_interval": "100ms"}}


def _stream_hot_and_lake(tmp_path, db, kafka, topic, strategy, flush_rows, cols):
    """One topic streamed by `strategy` into PostgreSQL ("hot") and into Delta ("lake")
    until idle, in flushes of flush_rows: the reports by pipeline, and each table's rows
    as sorted tuples of cols."""
    hot = _kafka_pipeline(kafka, topic, "hot", {**_dest(db), "keys": ["id"]}, strategy)
    lake = _kafka_pipeline(kafka, topic, "lake", {"path": str(tmp_path / "lake"), "keys": ["id"]}, strategy)
    for p in (hot, lake):
        p["processing"] = {"flush_rows": flush_rows, "flush_interval": "100ms"}
    yaml = ps.write_pipelines(tmp_path / "p.yaml", hot, lake)
    proc = ps.cli("stream", yaml, "--json", "--idle-exit", 3, env=db.env, timeout=180)
    reports = {r["pipeline"]: r for r in ps.parse_reports(proc.stdout)}
    assert all(r["status"] == "idle" for r in reports.values()), reports
    lake_rows = sorted(tuple(r[c] for c in cols) for r in oracle.read_deltalake(tmp_path / "lake").to_pylist())
    hot_rows = sorted(tuple(r[c] for c in cols) for r in _rows(db))
    return reports, hot_rows, lake_rows


def test_kafka_into_postgres_and_delta_exactly_once_under_kill_9(tmp_path, db, kafka, kafka_topic):
    """One topic into a PostgreSQL upsert and a Delta append, as independent consumer
    groups; the PostgreSQL stream is killed at random moments. At the end PostgreSQL holds
    each key's last message and its state table each partition's last offset; Delta holds
    every message once."""
    kafka.create_topic(kafka_topic, 3)
    hot = _kafka_pipeline(kafka, kafka_topic, "hot", {**_dest(db), "keys": ["device"]}, {"type": "merge"})
    lake = _kafka_pipeline(kafka, kafka_topic, "lake", {"path": str(tmp_path / "lake")}, {"type": "append"})
    yaml = ps.write_pipelines(tmp_path / "p.yaml", hot, lake)
    hot_only = ps.write_pipelines(tmp_path / "hot.yaml", hot)
    rng = random.Random(11)
    seq = 0
    for round_ in range(5):
        msgs = []
        for _ in range(1500):
            seq += 1
            d = rng.randrange(50)
            # One device is always on one partition (keyed), so its messages stay in order.
            msgs.append((f"d{d}".encode(), json.dumps({"device": d, "reading": seq, "round": round_}).encode()))
        kafka.produce(kafka_topic, msgs)
        proc = ps.popen("stream", hot_only, env=db.env)
        time.sleep(rng.uniform(0.5, 2.0))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    proc = ps.cli("stream", yaml, "--json", "--idle-exit", 10, env=db.env, timeout=300)
    reports = {r["pipeline"]: r for r in ps.parse_reports(proc.stdout)}
    assert all(r["status"] == "idle" for r in reports.values()), reports
    # Delta: every message once; its last reading per device is PostgreSQL's row.
    lake_rows = oracle.read_deltalake(tmp_path / "lake").to_pylist()
    assert sorted(r["reading"] for r in lake_rows) == list(range(1, seq + 1))
    last = {}
    for r in sorted(lake_rows, key=lambda r: (r["_kafka_partition"], r["_kafka_offset"])):
        last[r["device"]] = r["reading"]
    got = {r["device"]: r["reading"] for r in _rows(db, order="device")}
    assert got == last
    state = _state(db)
    ends = kafka.end_offsets(kafka_topic)
    for p, end in ends.items():
        if end:
            assert state[f"inlet.kafka/{kafka_topic}/{p}"][0] == end - 1, state


def test_a_stream_goes_on_when_its_kept_session_is_ended(tmp_path, db, kafka, kafka_topic):
    """A stream's commits share a kept session; the server ending it while idle (a
    restart, an idle timeout, an administrator) costs nothing: the next commit opens a new
    one. Debezium-like changes (cdc, with deletes) go through it, and each commit's
    statements are one transaction (checked inside each)."""
    kafka.create_topic(kafka_topic, 1)
    hot = _kafka_pipeline(kafka, kafka_topic, "hot", {**_dest(db), "keys": ["id"]},
                          {"type": "cdc", "sequence_by": ["seq"]})
    yaml = ps.write_pipelines(tmp_path / "p.yaml", hot)
    msg = lambda op, i, seq: (str(i).encode(), json.dumps({"op": op, "id": i, "seq": seq, "v": f"{op}{seq}"}).encode())
    proc = ps.popen("stream", yaml, env=db.env)
    try:
        def wait_for(n):
            deadline = time.time() + 60
            while time.time() < deadline:
                if db.sql("SELECT count(*) FROM pg_tables WHERE tablename = 'hot'") == [(1,)] and \
                        db.sql("SELECT count(*) FROM hot") == [(n,)]:
                    return
                time.sleep(0.2)
            raise AssertionError(f"the table did not reach {n} rows")
        kafka.produce(kafka_topic, [msg("c", i, 10 + i) for i in range(20)])
        wait_for(20)
        ended = db.sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                       "AND pid <> pg_backend_pid() AND state = 'idle'", db.name)
        assert ended and all(r == (True,) for r in ended), ended
        kafka.produce(kafka_topic, [msg("d", i, 100 + i) for i in range(5)] +
                      [msg("u", 5, 3)])  # older than the row: late
        wait_for(15)
        kafka.produce(kafka_topic, [msg("c", 0, 50)])  # older than its delete: stays out
        kafka.produce(kafka_topic, [msg("c", 99, 200)])
        wait_for(16)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert [r["id"] for r in _rows(db)] == list(range(5, 20)) + [99]
    assert _rows(db)[0]["seq"] == 15


def test_the_dual_sink_example(tmp_path, db, kafka, kafka_topic):
    """examples/dual_sink/pipeline.yaml, run as its comment says."""
    import support
    kafka.create_topic(kafka_topic, 2)
    events = [{"device": d % 4, "ts": f"2024-05-01T10:{d:02d}:00Z", "temp": 20 + d} for d in range(12)]
    kafka.produce(kafka_topic, [(f"d{e['device']}".encode(), json.dumps(e).encode()) for e in events])
    example = support.REPO_ROOT / "examples" / "dual_sink" / "pipeline.yaml"
    env = {**db.env, "EVENTS_BROKERS": kafka.bootstrap, "EVENTS_TOPIC": kafka_topic, "HOT_DB": db.uri,
           "EVENTS_TABLE": str(tmp_path / "events")}
    proc = ps.cli("stream", example, "--json", "--idle-exit", 3, env=env, cwd=tmp_path, timeout=120)
    reports = {r["pipeline"]: r for r in ps.parse_reports(proc.stdout)}
    assert reports["hot_store"]["status"] == "idle" and reports["data_lake"]["rows_written"] == 12, reports
    hot = {r["device"]: r["temp"] for r in _rows(db, "device_latest", order="device")}
    assert hot == {0: 28, 1: 29, 2: 30, 3: 31}
    lake = oracle.read_deltalake(tmp_path / "events")
    assert sorted(lake.column("temp").to_pylist()) == [e["temp"] for e in events]
    assert "ts_day" in lake.column_names


def test_messages_lacking_fields_update_postgres_as_they_update_delta(tmp_path, db, kafka, kafka_topic):
    """A message that lacks a field keeps the table's value for it (a partial update), also
    within one batch and across a delete; a field that appears later adds a column. The
    PostgreSQL table ends equal to a Delta table merged from the same topic."""
    kafka.create_topic(kafka_topic, 1)
    rng = random.Random(3)
    msgs = []
    for i in range(600):
        k = rng.randrange(30)
        m = {"id": k}
        for field in ("a", "b"):
            if rng.random() < 0.6:
                m[field] = rng.choice([None, rng.randrange(1000)])
        if i > 300 and rng.random() < 0.5:
            m["late"] = f"x{i}"
        m["gone"] = rng.random() < 0.05
        msgs.append((f"{k}".encode(), json.dumps(m).encode()))
    kafka.produce(kafka_topic, msgs)
    cols = ["id", "a", "b", "late"]
    reports, hot_rows, lake_rows = _stream_hot_and_lake(
        tmp_path, db, kafka, kafka_topic, {"type": "merge", "delete_flag": "gone"}, 97, cols)
    # The model: each message applied in turn.
    model = {}
    for _, value in msgs:
        m = json.loads(value)
        if m.pop("gone"):
            model.pop(m["id"], None)
            continue
        row = model.setdefault(m["id"], {c: None for c in cols})
        row.update(m)
    want = sorted(tuple(r[c] for c in cols) for r in model.values())
    assert hot_rows == want
    assert lake_rows == want
    assert any(r[3] is not None for r in hot_rows) and any(r[1] is not None for r in hot_rows)


def test_out_of_order_partial_changes_with_deletes_and_truncates_match_delta(tmp_path, db, kafka, kafka_topic):
    """cdc from a topic whose messages come out of sequence order, lack fields (partial
    updates), delete keys and truncate the table: the PostgreSQL table ends equal to a
    Delta table fed the same topic, counts included. A value given before a key's delete
    (or a truncate) is not carried past it."""
    kafka.create_topic(kafka_topic, 1)
    rng = random.Random(17)
    seqs = list(range(1, 901))
    rng.shuffle(seqs)
    msgs = []
    for i, seq in enumerate(seqs):
        if rng.random() < 0.01:
            m = {"op": "t", "id": None, "seq": seq}
        else:
            k = rng.randrange(25)
            m = {"op": "d" if rng.random() < 0.15 else rng.choice("cu"), "id": k, "seq": seq}
            for field in ("a", "b"):
                if rng.random() < 0.6:
                    m[field] = rng.choice([None, rng.randrange(1000)])
        msgs.append((b"k", json.dumps(m).encode()))
    kafka.produce(kafka_topic, msgs)
    cols = ["id", "seq", "a", "b"]
    reports, hot_rows, lake_rows = _stream_hot_and_lake(
        tmp_path, db, kafka, kafka_topic, {"type": "cdc", "sequence_by": ["seq"]}, 83, cols)
    assert hot_rows == lake_rows
    assert len(hot_rows) > 5 and any(r[2] is None for r in hot_rows)
    for n in ("rows_late", "rows_deleted"):
        assert reports["hot"][n] == reports["lake"][n], (n, reports)
    assert reports["hot"]["rows_late"] > 0


def test_text_sequences_order_by_their_bytes_under_a_linguistic_collation(tmp_path, postgres):
    """In a database whose default collation is ICU's root ('a' < 'B' < 'b'), a text
    sequence still orders by its bytes ('B' < 'a' < 'b'), as in Delta: run by run, the
    winner within a batch, a change against the table's row, a remembered delete and a
    truncate decide the same rows and counts in both."""
    db = postgres.database(f"dst{next(_names)}", "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'und'")
    try:
        [(collation,)] = db.sql("SELECT 'a' < 'B'")
        assert collation, "the database should collate linguistically"
        src, yaml = _hot_and_lake(tmp_path, db, "string")
        ev = _ev
        steps = [
            # within a batch: 'a' is newer than 'B' by bytes
            ([ev("I", 1, "B"), ev("U", 1, "a"), ev("I", 2, "a")], [(1, "a"), (2, "a")], 0),
            # against the row: 'B' is older than 'a' (late), 'b' newer
            ([ev("U", 1, "B"), ev("U", 2, "b")], [(1, "a"), (2, "b")], 1),
            # a delete at 'c'; then a change at 'C' (older by bytes) stays out
            ([ev("D", 2, "c")], [(1, "a")], 0),
            ([ev("I", 2, "C")], [(1, "a")], 1),
            # a truncate at 'a' takes 'a'; then 'Z' (older by bytes) stays out, 'b' goes in
            ([{"op": "T", "id": None, "seq": "a", "v": None}], [], 0),
            ([ev("I", 3, "Z"), ev("I", 4, "b")], [(4, "b")], 1),
        ]
        _check_steps(tmp_path, db, src, yaml, steps)
    finally:
        db.close()


def test_text_staged_into_typed_sequence_columns_orders_as_the_table_types_it(tmp_path, db):
    """A table whose sequence columns are an integer and a timestamptz, fed strings (a
    schema of strings): staged rows rank, and compare with the table's rows, as the
    table's types order them ('10' after '9'), and no collation is applied to a type that
    has none."""
    db.sql("CREATE TABLE hot (id bigint PRIMARY KEY, n integer, ts timestamptz, v text)")
    src = tmp_path / "src"
    src.mkdir()
    schema = {"op": "string", "id": "long", "n": "string", "ts": "string", "v": "string"}
    source = {"type": "files", "path": str(src / "*.ndjson"), "format": "ndjson", "schema": schema}
    yaml = ps.write_pipelines(tmp_path / "p.yaml", {
        "name": "hot", "source": source, "strategy": {"type": "cdc", "sequence_by": ["n", "ts"]},
        "destination": {**_dest(db), "keys": ["id"]}})
    ev = lambda op, i, n, v: {"op": op, "id": i, "n": n, "ts": "2026-12-07T10:00:00Z", "v": v}  # noqa: E731
    ps.write_source(src / "a.ndjson", [ev("I", 1, "10", "ten"), ev("U", 1, "9", "nine"),
                                        ev("I", 2, "9", "nine"), ev("D", 3, "5", None)], fmt="ndjson")
    report = ps.parse_reports(ps.cli("run", yaml, "--json", env=db.env).stdout)[0]
    assert report["status"] == "committed", report
    assert [(r["id"], r["n"], r["v"]) for r in _rows(db)] == [(1, 10, "ten"), (2, 9, "nine")]
    # against the table's rows and the remembered delete: 9 < 10 is late, 11 applies
    ps.write_source(src / "b.ndjson", [ev("U", 1, "9", "late"), ev("U", 2, "11", "eleven"),
                                        ev("I", 3, "4", "late")], fmt="ndjson")
    report = ps.parse_reports(ps.cli("run", yaml, "--json", env=db.env).stdout)[0]
    assert report["rows_late"] == 2, report
    assert [(r["id"], r["n"], r["v"]) for r in _rows(db)] == [(1, 10, "ten"), (2, 11, "eleven")]


def test_a_truncate_takes_the_rows_at_its_own_sequence(tmp_path, db):
    """A truncate deletes the rows at or before its sequence, in another run as in its own
    (as Delta does): sequences need not be unique."""
    src, yaml = _hot_and_lake(tmp_path, db, "long")
    ps.write_source(src / "a.ndjson", [_ev("c", 1, 20), _ev("c", 2, 21)], fmt="ndjson")
    ps.cli("run", yaml, env=db.env)
    ps.write_source(src / "b.ndjson", [{"op": "t", "id": None, "seq": 20, "v": None}], fmt="ndjson")
    ps.cli("run", yaml, env=db.env)
    lake = sorted(r["id"] for r in oracle.read_deltalake(tmp_path / "lake").to_pylist())
    assert [r["id"] for r in _rows(db)] == lake == [2]


def test_the_table_commands_read_a_postgres_table_by_uri(tmp_path, db):
    """`inlet state`, `history`, `info` and `scan` take postgresql://...#schema.table."""
    ps.write_source(tmp_path / "in" / "a.csv", [{"id": i, "v": f"x{i}"} for i in range(5)])
    yaml = ps.write_pipelines(tmp_path / "p.yaml", _files_pipeline(tmp_path, db, {"type": "append"}))
    ps.run(yaml, env=db.env)
    uri = f"{db.uri}#public.hot"
    state = json.loads(ps.cli("state", uri, "--json", env=db.env).stdout)
    assert state["p"]["run"] == 1, state
    history = json.loads(ps.cli("history", uri, "--json", env=db.env).stdout)
    assert [(h["version"], h["operation"]) for h in history] == [(1, "INLET RUN")], history
    info = json.loads(ps.cli("info", uri, "--json", env=db.env).stdout)
    assert info["format"] == "postgres" and info["version"] == 1, info
    out = ps.cli("scan", uri, "--where", "id >= 3", "--output-format", "ndjson", env=db.env).stdout
    assert sorted(json.loads(l)["v"] for l in out.splitlines()) == ["x3", "x4"]
    assert db.server.password not in json.dumps([state, history, info])
    ps.cli("reset", uri, "--pipeline", "p", env=db.env)
    assert ps.run(yaml, env=db.env).report["rows_written"] == 5  # loaded again after the reset


def test_a_table_dropped_and_created_again_is_loaded_afresh(tmp_path, db):
    """The states belong to the table they were committed with: after a DROP TABLE the
    files pipeline loads everything again, into a new table, instead of believing it is
    done; `table: hot` and `table: public.hot` are one table with one state."""
    ps.write_source(tmp_path / "in" / "a.csv", [{"id": i} for i in range(3)])
    yaml = ps.write_pipelines(tmp_path / "p.yaml", _files_pipeline(tmp_path, db, {"type": "append"}, table="hot"))
    ps.run(yaml, env=db.env)
    assert _state(db)["inlet.pipeline.p"][0] == 1  # recorded under public.hot
    db.sql("DROP TABLE hot")
    assert ps.run(yaml, env=db.env).report["rows_written"] == 3
    db.sql("DROP TABLE hot")
    db.sql("CREATE TABLE hot (id bigint, note text DEFAULT 'made by hand')")
    assert ps.run(yaml, env=db.env).report["rows_written"] == 3
    assert db.sql("SELECT count(*), min(note) FROM hot") == [(3, "made by hand")]
    history = db.sql("SELECT version, operation FROM inlet_state_history ORDER BY version")
    # The table made by hand is recorded as a new table (its own commit), then loaded.
    assert [op for _, op in history] == ["INLET RUN", "INLET RUN", "NEW TABLE", "INLET RUN"], history


def test_modes_keep_postgres_rules_and_delta_semantics(tmp_path, db):
    # A value too long for varchar(n) is refused, not cut (keys included).
    db.sql("CREATE TABLE hot (id varchar(3) PRIMARY KEY, v text)")
    ps.write_source(tmp_path / "in" / "a.csv", [{"id": "abcd", "v": "x"}])
    yaml = ps.write_pipelines(tmp_path / "p.yaml", _files_pipeline(tmp_path, db, {"type": "merge"}, keys=["id"]))
    line = check_refusal(ps.cli("run", yaml, env=db.env, check=False))
    assert "too long" in line and "public.hot" in line, line
    assert db.sql("SELECT count(*) FROM hot") == [(0,)]
    db.sql("DROP TABLE hot")
    # insert_only keeps matched rows, delete flag or not; new keys flagged are not inserted.
    ps.write_source(tmp_path / "in" / "a.csv", [{"id": 1, "v": "a", "gone": False}])
    strategy = {"type": "merge", "mode": "insert_only", "delete_flag": "gone"}
    yaml = ps.write_pipelines(tmp_path / "p.yaml", _files_pipeline(tmp_path, db, strategy, keys=["id"]))
    ps.run(yaml, env=db.env)
    ps.write_source(tmp_path / "in" / "b.csv", [{"id": 1, "v": "b", "gone": True},
                                                {"id": 2, "v": "c", "gone": True},
                                                {"id": 3, "v": "d", "gone": False}])
    report = ps.run(yaml, env=db.env).report
    assert db.sql("SELECT id, v FROM hot ORDER BY id") == [(1, "a"), (3, "d")]
    assert report["rows_inserted"] == 1 and report["rows_deleted"] == 0, report
    # delete_insert keeps several rows per key: its table has no primary key.
    db.sql("DROP TABLE hot")
    db.sql("DELETE FROM inlet_state")
    for f in (tmp_path / "in").iterdir():
        f.unlink()
    ps.write_source(tmp_path / "in" / "a.csv", [{"id": 1, "v": "a"}, {"id": 1, "v": "b"}, {"id": 2, "v": "c"}])
    yaml = ps.write_pipelines(tmp_path / "p.yaml", _files_pipeline(
        tmp_path, db, {"type": "merge", "mode": "delete_insert"}, keys=["id"]))
    ps.run(yaml, env=db.env)
    ps.write_source(tmp_path / "in" / "b.csv", [{"id": 1, "v": "z"}])
    ps.run(yaml, env=db.env)
    assert db.sql("SELECT id, v FROM hot ORDER BY id, v") == [(1, "z"), (2, "c")]


def test_a_table_replaced_while_a_run_holds_its_state_makes_the_run_start_over(tmp_path, db):
    """A run read the state of the table, which is then dropped and created again before
    the run commits: its decisions rest on the old table, so its commit conflicts, and the
    retry loads the new table from the start."""
    ps.write_source(tmp_path / "in" / "a.csv", [{"id": i} for i in range(3)])
    yaml = ps.write_pipelines(tmp_path / "p.yaml", _files_pipeline(tmp_path, db, {"type": "append"}))
    ps.run(yaml, env=db.env)
    ps.write_source(tmp_path / "in" / "b.csv", [{"id": i} for i in range(3, 5)])
    proc = ps.popen("run", yaml, "--json", env={**db.env, "INLET_STOP_AT": "run.after_read"})

    def stopped():
        with open(f"/proc/{proc.pid}/stat") as f:
            return f.read().split()[2] == "T"
    deadline = time.time() + 60
    while not stopped() and time.time() < deadline:
        time.sleep(0.05)
    db.sql("DROP TABLE hot")
    db.sql("CREATE TABLE hot (id bigint)")
    while proc.poll() is None and time.time() < deadline:  # the retry stops there again
        proc.send_signal(signal.SIGCONT)
        time.sleep(0.2)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    report = ps.parse_reports(out)[0]
    assert report["rows_written"] == 5 and report["status"] == "committed", report
    assert sorted(r[0] for r in db.sql("SELECT id FROM hot")) == list(range(5))
