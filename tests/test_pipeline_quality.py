"""Quality gates of `inlet run`: row bounds, null and duplicate keys, schema drift, dry runs.

A run that fails a gate commits nothing: the `_delta_log` bytes are compared before and
after, and the table and `inlet state` still match the model. Quarantined rows land in
the table at quarantine_path with a `_reject_reason` column; the rest is loaded.
"""

from __future__ import annotations

import collections

import pytest

import oracle
import pipeline_support as ps
from pipeline_support import Cursor


def _rows(ids, *, hour0=0, **extra):
    return [{"id": i, "ts": ps.hours(hour0 + k), "v": f"v{k}-{i}", **extra}
            for k, i in enumerate(ids)]


# ---------------------------------------------------------------------------------------
# min_rows / max_rows


def test_min_and_max_rows(tmp_path):
    rig = ps.full_refresh_rig(tmp_path, quality={"min_rows": 2, "max_rows": 4})
    rig.add("a.csv", _rows(range(2)))  # exactly min_rows
    rig.run()

    rig.add("a.csv", _rows([10]))
    line = rig.refuse(context="run below min_rows")
    assert "min_rows" in line, f"the error should name the gate: {line}"

    rig.add("a.csv", _rows(range(20, 25)))
    line = rig.refuse(context="run above max_rows")
    assert "max_rows" in line, f"the error should name the gate: {line}"

    rig.add("a.csv", _rows(range(30, 34)))  # exactly max_rows
    rig.run()


def test_min_rows_counts_after_deduplication(tmp_path):
    """Inclusive watermark: the boundary row re-read is dropped before min_rows is checked."""
    rig = ps.watermark_rig(tmp_path, "int", fmt="ndjson", inclusive=True,
                           quality={"min_rows": 2})
    c: Cursor = rig.cursor
    rig.add("r1.ndjson", [c.row(1, 1), c.row(2, 2), c.row(3, 3)])
    rig.run()
    rig.add("r2.ndjson", [c.row(4, 4)])  # reads 3 and 4, but only 4 is new
    line = rig.refuse(context="one new row with min_rows 2")
    assert "min_rows" in line, line
    rig.add("r3.ndjson", [c.row(5, 5)])
    rig.run()


# ---------------------------------------------------------------------------------------
# null keys


def _quarantine_rows(path):
    """The rejected rows (source columns only) and their reasons. Other bookkeeping
    columns the quarantine table may carry are not part of the contract and are ignored."""
    table = ps.read_table(path)
    assert "_reject_reason" in table.column_names, (
        f"quarantine table lacks _reject_reason: {table.column_names}"
    )
    missing = [c for c in ps.TS_SCHEMA if c not in table.column_names]
    assert not missing, f"quarantine table lacks source columns {missing}: {table.column_names}"
    reasons = table.column("_reject_reason").to_pylist()
    assert all(isinstance(r, str) and r.strip() for r in reasons), f"empty reasons: {reasons}"
    return table.select(list(ps.TS_SCHEMA)), reasons


def _commit_rows_by_hand(rig, fname, loaded_rows):
    """Record in the model a committed append of ``fname`` that loaded ``loaded_rows``."""
    rig.model.loaded.add(fname)
    rig.model.table.extend(loaded_rows)
    rig.model.run += 1
    rig.version = ps.latest_version(rig.table)


@pytest.mark.parametrize("mode", ["fail", "quarantine", "allow"])
def test_null_keys(tmp_path, mode):
    rig = ps.append_rig(tmp_path, fmt="ndjson", name="nk", quality={
        "null_keys": mode, "duplicate_keys": "allow", "quarantine_path": "rejects"})
    rig.add("a.ndjson", _rows([1, 2, 3]))
    rig.run()

    rows = _rows([10, None, 11, None, 12], hour0=10)
    del rows[3]["id"]  # a key absent from the JSON object is null too
    rig.add("b.ndjson", rows)
    if mode == "fail":
        line = rig.refuse(context="null_keys: fail")
        assert "null" in line.lower() and "id" in line, line
        assert "nk" in line, f"the error should name the pipeline: {line}"
        return
    if mode == "allow":
        rig.run()
        return
    prev = rig.version
    report = ps.run(rig.yaml).report
    good = [r for r in rows if r.get("id") is not None]
    bad = [r for r in rows if r.get("id") is None]
    assert (report["status"], report["rows_written"], report["rows_rejected"]) == (
        "committed", len(good), len(bad)), report
    _commit_rows_by_hand(rig, "b.ndjson", good)
    assert rig.version == prev + 1
    rig.check("after quarantining null keys")
    got, reasons = _quarantine_rows(tmp_path / "rejects")
    oracle.assert_tables_equal(got, ps.to_arrow(bad, ps.TS_SCHEMA), "quarantine table")
    assert all("null" in r.lower() for r in reasons), reasons


# ---------------------------------------------------------------------------------------
# duplicate keys


@pytest.mark.parametrize("mode", ["fail", "quarantine", "allow"])
def test_duplicate_keys(tmp_path, mode):
    rig = ps.append_rig(tmp_path, fmt="ndjson", name="dk", quality={
        "duplicate_keys": mode, "null_keys": "fail", "quarantine_path": "rejects"})
    rig.add("a.ndjson", _rows([1, 2, 3]))
    rig.run()

    # Within the run: 10, 11 and 12 are duplicated (10 across two files); 13 is not.
    b = _rows([10, 11, 11, 12, 12, 12], hour0=10)
    c = _rows([13, 10], hour0=20)
    rig.add("b.ndjson", b)
    rig.add("c.ndjson", c)
    if mode == "fail":
        line = rig.refuse(context="duplicate_keys: fail")
        assert "duplicate" in line.lower(), line
        return
    if mode == "allow":
        rig.run()
        return
    prev = rig.version
    report = ps.run(rig.yaml).report
    source = b + c
    table = ps.read_table(rig.table)
    new = [r for r in table.to_pylist() if r["id"] >= 10]
    got, reasons = _quarantine_rows(tmp_path / "rejects")
    rejected = got.to_pylist()
    # Nothing lost, nothing doubled: loaded + rejected is exactly the run's rows.
    key = lambda r: (r["id"], r["v"])  # noqa: E731
    assert collections.Counter(map(key, new + rejected)) == collections.Counter(map(key, source))
    ids = collections.Counter(r["id"] for r in new)
    assert all(n == 1 for n in ids.values()), f"duplicate keys were loaded: {ids}"
    assert 13 in ids, "the row with a unique key must be loaded"
    assert (report["rows_written"], report["rows_rejected"]) == (len(new), len(rejected)), report
    assert all("dup" in r.lower() for r in reasons), reasons
    _commit_rows_by_hand(rig, "b.ndjson", [r for r in source if key(r) in set(map(key, new))])
    rig.model.loaded.add("c.ndjson")
    assert rig.version == prev + 1
    rig.check("after quarantining duplicate keys")


IDENTICAL_CASES = {
    # (keys, duplicate_keys) -> whether the identical copy is folded into one row
    "keys_fail": (["id"], "fail", True),
    "keys_quarantine": (["id"], "quarantine", True),
    "keys_allow": (["id"], "allow", False),
    "no_keys": (None, "fail", False),
}


@pytest.mark.parametrize("case", list(IDENTICAL_CASES))
def test_identical_rows_in_one_run(tmp_path, case):
    """docs: with keys, a row identical in every column to an earlier row of the same run is
    the same row: the copy is dropped and counted as de-duplicated, not rejected, unless
    duplicate_keys is allow (every row loads). Without keys nothing is folded."""
    keys, mode, folded = IDENTICAL_CASES[case]
    rig = ps.append_rig(tmp_path, fmt="ndjson", name="same", keys=keys,
                        quality={"duplicate_keys": mode, "quarantine_path": "rejects"})
    rows = _rows([1, 2, 3])
    a = rows + [dict(rows[1])]  # a copy within the file
    b = [dict(rows[2])]  # and one in another file of the same run
    rig.add("a.ndjson", a)
    rig.add("b.ndjson", b)
    if not folded:
        report = rig.run()
        assert report["rows_deduplicated"] == 0 and report["rows_written"] == 5, report
        return
    report = ps.run(rig.yaml).report
    got = {k: report[k] for k in ("status", "rows_read", "rows_written", "rows_deduplicated",
                                  "rows_rejected")}
    assert got == {"status": "committed", "rows_read": 5, "rows_written": 3,
                   "rows_deduplicated": 2, "rows_rejected": 0}, report
    _commit_rows_by_hand(rig, "a.ndjson", rows)
    rig.model.loaded.add("b.ndjson")
    rig.check("after folding identical rows")
    assert ps.table_absent(tmp_path / "rejects"), "identical copies are not rejects"


# ---------------------------------------------------------------------------------------
# schema drift


@pytest.mark.parametrize("mode", ["fail", "add_columns", "ignore"])
def test_schema_drift(tmp_path, mode):
    rig = ps.append_rig(tmp_path, fmt="ndjson", name="drift",
                        quality={"schema_drift": mode})
    rig.add("a.ndjson", _rows([1, 2, 3]))
    rig.run()

    rig.add("b.ndjson", [{**r, "extra": f"e{r['id']}", "score": r["id"] / 4}
                         for r in _rows([10, 11], hour0=10)])
    if mode == "fail":
        line = rig.refuse(context="schema_drift: fail")
        assert "extra" in line or "score" in line, f"the error should name a new column: {line}"
        return
    if mode == "add_columns":
        rig.schema = {**ps.TS_SCHEMA, "extra": "string", "score": "double"}
    rig.run()
    types = {f["name"]: f["type"] for f in ps.info(rig.table)["schema"]}
    if mode == "add_columns":
        assert types.get("extra") == "string" and types.get("score") == "double", types
        commit = ps.log_commits(rig.table)[rig.version]
        assert ps.actions(commit, "metaData"), "the new schema must be in the same commit"
    else:
        assert set(types) == set(ps.TS_SCHEMA), types
    oracle.assert_tables_equal(oracle.read_duckdb(rig.table),
                               ps.to_arrow(rig.model.table, rig.schema), "duckdb")


def test_narrower_source_type_is_widened(tmp_path):
    schema = {**ps.TS_SCHEMA, "n": "long"}
    rig = ps.append_rig(tmp_path, fmt="csv", schema=schema)
    rig.add("a.csv", _rows([1, 2], n=5_000_000_000))
    rig.run()
    # The same pipeline now declares n as int: int values go into the long column.
    rig.config["source"]["schema"]["n"] = "int"
    rig.write_config()
    rig.add("b.csv", _rows([3, 4], n=7))
    rig.run()
    types = {f["name"]: f["type"] for f in ps.info(rig.table)["schema"]}
    assert types["n"] == "long", types


# ---------------------------------------------------------------------------------------
# dry run


def test_dry_run_commits_nothing(tmp_path):
    rig = ps.watermark_rig(tmp_path, "ts", name="dry")
    c: Cursor = rig.cursor
    rig.add("r1.csv", [c.row(i, i) for i in range(1, 6)])
    report = rig.dry_run()  # the table does not even exist yet
    assert ps.table_absent(rig.table), "a dry run created the table"
    assert report["rows_written"] == 5, report
    rig.run()

    rig.add("r2.csv", [c.row(6, 6), c.row(7, 7), c.row(102, 2)])
    state_before = ps.state(rig.table)
    rig.dry_run()
    assert ps.state(rig.table) == state_before
    rig.run()


def test_dry_run_reports_gate_failure(tmp_path):
    """A dry run checks the gates too: one that would fail, fails, and commits nothing."""
    rig = ps.full_refresh_rig(tmp_path, quality={"max_rows": 2})
    rig.add("a.csv", _rows(range(3)))
    before = ps.snapshot_log(rig.table)
    line = ps.run_refused(rig.yaml, "--dry-run")
    assert "max_rows" in line, line
    ps.assert_log_unchanged(rig.table, before, "dry run over max_rows")
    assert ps.table_absent(rig.table)
