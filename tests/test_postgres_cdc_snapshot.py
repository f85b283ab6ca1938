"""PostgreSQL change data capture: an initial snapshot cut short (killed, stopped) goes on
where it stopped, for SCD1 and for a history (SCD2), with changes made meanwhile on both
sides of the cut. Split from test_postgres_cdc.py, whose helpers it shares
(pg_cdc_support.py)."""
from __future__ import annotations

import json
import re
import signal
import time

import pyarrow as pa
import pytest

import oracle
import pipeline_support as ps
from pg_cdc_support import _check_equal, _confirmed, _source, _table_lsn, db  # noqa: F401


def _history(t: pa.Table, key):
    """A history table's versions by key, in valid_from order."""
    out = {}
    for r in t.to_pylist():
        out.setdefault(tuple(r[c] for c in key), []).append(r)
    order = lambda v: (v["valid_from"]["_pg_commit_lsn"], v["valid_from"]["_pg_lsn"])  # noqa: E731
    return {k: sorted(vs, key=order) for k, vs in out.items()}


def _check_history(versions, current_keys):
    """Each key's versions follow one another (each ends where the next starts, or at a
    delete), and the keys current are exactly current_keys, each with one current version."""
    current = set()
    for key, vs in versions.items():
        for a, b in zip(vs, vs[1:]):
            assert a["valid_to"] is not None and not a["is_current"], (key, vs)
            assert (a["valid_to"]["_pg_commit_lsn"], a["valid_to"]["_pg_lsn"]) <= \
                (b["valid_from"]["_pg_commit_lsn"], b["valid_from"]["_pg_lsn"]), (key, vs)
        if vs[-1]["is_current"]:
            assert vs[-1]["valid_to"] is None, (key, vs)
            current.add(key)
    assert current == set(current_keys)


def _wait_for_commits(log, count, deadline):
    while time.time() < deadline and len(list(log.glob("*.json")) if log.exists() else []) < count:
        time.sleep(0.01)


@pytest.mark.parametrize("scd_type", [1, 2])
def test_an_initial_snapshot_cut_short_goes_on_where_it_stopped(tmp_path, db, scd_type):
    """A snapshot killed mid-copy goes on after the last key it committed, from the same
    slot, as of a newer snapshot; changes made meanwhile on both sides of that key (keys
    moved across it, a truncate of the table not copied yet, text keys with quotes,
    backslashes, tabs and accents) all arrive. A stop during the resumed copy ends it
    cleanly, and it goes on again. A history (SCD2) goes on too: the rows copied after the
    cut start their history at the newer snapshot, which shows the changes made before it
    (those are late), and the rows copied before it get those changes as versions."""
    db.sql("CREATE TABLE t (id int PRIMARY KEY, v text)")
    db.sql("INSERT INTO t SELECT g, repeat('v', 40) FROM generate_series(1, 200000) g")
    db.sql("CREATE TABLE k (region text, n int, v text, PRIMARY KEY (region, n))")
    db.sql("INSERT INTO k SELECT r, g, 'k' FROM generate_series(1, 300) g, "
           "unnest(ARRAY['north', E'o''neil\\\\x', E'tab\\there', 'zürich']) r")
    strategy = {"type": "cdc"} if scd_type == 1 else {"type": "cdc", "scd_type": 2}
    p = {"name": "pg", "source": {"type": "postgres_cdc", "connection": db.uri, "tables": ["t", "k"]},
         "destination": {"path": str(tmp_path / "{table}")}, "strategy": strategy,
         "processing": {"flush_bytes": 100000}}
    yaml = ps.write_pipelines(tmp_path / "pg.yaml", p)
    dest, dest_k = tmp_path / "t", tmp_path / "k"
    log = dest / "_delta_log"
    deadline = time.time() + 90
    proc = ps.popen("stream", yaml, "--catch-up", "--json", env=db.env, cwd=tmp_path)
    _wait_for_commits(log, 4, deadline)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    first = oracle.read_deltalake(dest)
    assert 0 < first.num_rows < 200000 and _table_lsn(dest) is None
    copied = max(first.column("id").to_pylist())
    # While nothing streams: rows changed on both sides of where the copy stopped, a key
    # moved from the copied part past it and one moved back, a row inserted; the table
    # not copied yet truncated and given new rows.
    db.sql(f"UPDATE t SET v = 'changed' WHERE id IN (1, 2, {copied}, {copied + 10})")
    db.sql(f"DELETE FROM t WHERE id IN (3, {copied + 5})")
    db.sql("UPDATE t SET id = 300002 WHERE id = 4")
    db.sql(f"UPDATE t SET id = 0 WHERE id = {copied + 20}")
    db.sql("INSERT INTO t VALUES (300001, 'new')")
    # (A history refuses truncates, as it does after the snapshot: it gets deletes.)
    db.sql("TRUNCATE k" if scd_type == 1 else "DELETE FROM k")
    db.sql("INSERT INTO k SELECT r, g, 'after' FROM generate_series(1, 50) g, "
           "unnest(ARRAY[E'o''neil\\\\x', 'zürich', '']) r")
    # SIGTERM during the copy: a clean stop (exit 0, status stopped) well before its end.
    before = len(list(log.glob("*.json")))
    proc = ps.popen("stream", yaml, "--json", env=db.env, cwd=tmp_path)
    _wait_for_commits(log, before + 3, deadline)
    proc.send_signal(signal.SIGTERM)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err
    assert json.loads(out)["status"] == "stopped"
    assert _table_lsn(dest) is None
    assert "resuming the initial snapshot" in err and "created replication slot" not in err, err
    db.sql("DELETE FROM t WHERE id <= 1000")
    db.sql(f"UPDATE t SET v = 'again' WHERE id IN ({copied + 30}, 150000)")
    db.sql("UPDATE k SET v = 'last' WHERE n = 7")
    proc = ps.cli("stream", yaml, "--catch-up", "--json", env=db.env, cwd=tmp_path)
    assert ps.parse_reports(proc.stdout)[0]["status"] == "caught_up", proc.stderr
    assert "resuming the initial snapshot" in proc.stderr, proc.stderr
    copied_now = int(re.search(r"initial snapshot of t: (\d+) rows", proc.stderr).group(1))
    assert copied_now < 200000 - first.num_rows, proc.stderr
    if scd_type == 1:
        _check_equal(db, dest)
        got = sorted((r["region"], r["n"], r["v"]) for r in oracle.read_deltalake(dest_k).to_pylist())
        assert got == sorted(tuple(r) for r in db.sql("SELECT region, n, v FROM k"))
    else:
        skip = ("_pg_lsn", "_pg_commit_lsn", "valid_from", "valid_to", "is_current")
        current = [r for r in oracle.read_deltalake(dest).to_pylist() if r["is_current"]]
        got = {r["id"]: {c: v for c, v in r.items() if c not in skip} for r in current}
        assert got == _source(db)
        versions = _history(oracle.read_deltalake(dest), ("id",))
        _check_history(versions, {(k,) for k in got})
        # Copied before the cut, changed after the first snapshot: both versions, the
        # first from the snapshot, the second from the change.
        if copied > 1000:
            assert [v["v"] for v in versions[(copied,)]] == ["v" * 40, "changed"]
            assert versions[(copied,)][0]["valid_from"] == {"_pg_commit_lsn": 0, "_pg_lsn": 0}
            assert versions[(copied,)][1]["valid_from"]["_pg_lsn"] > 0
        # Copied after the cut: the newer snapshot's row shows the earlier changes, so its
        # history starts there (a snapshot row: _pg_lsn 0 at that snapshot's LSN); later
        # changes follow it. ("again" came after the first resumed copy, stopped: a key
        # it had not reached yet was copied with it by the second.)
        again = (["v" * 40, "again"], ["again"])
        for key, values in [(copied + 10, [["changed"]]), (300002, [["v" * 40]]),
                            (copied + 30, again), (150000, again)]:
            vs = versions[(key,)]
            assert [v["v"] for v in vs] in values, (key, vs)
            assert vs[0]["valid_from"]["_pg_lsn"] == 0 and vs[0]["valid_from"]["_pg_commit_lsn"] > 0
        ks = _history(oracle.read_deltalake(dest_k), ("region", "n"))
        _check_history(ks, {(r[0], r[1]) for r in db.sql("SELECT region, n FROM k")})
        got = sorted((r["region"], r["n"], r["v"]) for r in oracle.read_deltalake(dest_k).to_pylist()
                     if r["is_current"])
        assert got == sorted(tuple(r) for r in db.sql("SELECT region, n, v FROM k"))
    assert _confirmed(db) <= min(_table_lsn(dest), _table_lsn(dest_k))
