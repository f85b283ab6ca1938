"""`inlet run`: the append, full_refresh and watermark strategies against a Python model.

Each test drives one pipeline through several rounds of source changes. After every run
the Rig (pipeline_support.py) checks the JSON report (status, row counters, watermarks,
run counter, table_version), that a committing run added exactly one commit and a
non-committing one none, the table's rows as deltalake reads them, and `inlet state`,
all against the reference model fed the same input rows.
"""

from __future__ import annotations

import datetime
import json

import pyarrow as pa
import pytest

import oracle
import pipeline_support as ps
import support
from pipeline_support import Cursor, hours

KINDS = ["ts", "int", "date"]

# ---------------------------------------------------------------------------------------
# append


@pytest.mark.parametrize("fmt", ["csv", "ndjson", "json", "parquet"])
def test_append_loads_each_file_once(tmp_path, fmt):
    rig = ps.append_rig(tmp_path, fmt=fmt)
    # A file the glob does not match is never read.
    (rig.src / "notes.txt").write_text("not data\n")

    rig.add(f"a.{fmt}", ps.simple_rows(0, 3))
    rig.add(f"b.{fmt}", ps.simple_rows(10, 2, hour0=5))
    report = rig.run()
    assert report["files_read"] == 2, report

    rig.run()  # nothing new: no_changes, same version

    rig.add(f"c.{fmt}", ps.simple_rows(20, 4, hour0=10))
    rig.run()

    rig.add(f"d.{fmt}", ps.simple_rows(30, 1, hour0=20))
    rig.add(f"e.{fmt}", ps.simple_rows(40, 2, hour0=30))
    rig.run()
    rig.run()
    assert len(rig.model.table) == 12


def test_append_mixed_formats_by_extension(tmp_path):
    """A directory source without `format`: each file is read by its extension."""
    root = tmp_path
    config = ps.pipeline("mixed", path="src", dest="table", schema=ps.TS_SCHEMA, keys=["id"],
                         strategy={"type": "append"})
    rig = ps.Rig(root, config, ps.AppendModel(), ps.TS_SCHEMA)
    rig.add("r1.csv", ps.simple_rows(0, 2))
    rig.add("r1.ndjson", ps.simple_rows(10, 2, hour0=3))
    rig.add("r1.json", ps.simple_rows(20, 2, hour0=6))
    rig.run()
    rig.add("r2.json", ps.simple_rows(30, 3, hour0=9))
    rig.add("r2.csv", ps.simple_rows(40, 1, hour0=12))
    rig.run()
    rig.run()


# ---------------------------------------------------------------------------------------
# full_refresh


def test_full_refresh_replaces_contents(tmp_path):
    rig = ps.full_refresh_rig(tmp_path)
    rig.add("a.csv", ps.simple_rows(0, 3))
    rig.add("b.csv", ps.simple_rows(10, 2, hour0=4))
    rig.run()
    v_first = rig.version
    first_rows = list(rig.model.table)

    rig.run()  # unchanged source: no_changes

    # Rewrite a (other rows, other size), drop b, add c.
    rig.add("a.csv", ps.simple_rows(100, 5, hour0=50))
    rig.remove("b.csv")
    rig.add("c.csv", ps.simple_rows(200, 1, hour0=60))
    rig.run()
    v_second = rig.version
    second_rows = list(rig.model.table)

    rig.add("d.csv", ps.simple_rows(300, 2, hour0=70))
    rig.run()
    rig.run()

    # Old versions still travel back to the old contents, in inlet and in deltalake.
    for version, rows in ((v_first, first_rows), (v_second, second_rows)):
        got = support.scan(rig.table, "--version", version, out_dir=tmp_path / "scan")
        oracle.assert_tables_equal(got, ps.to_arrow(rows, ps.TS_SCHEMA),
                                   f"inlet scan --version {version}")
        ps.assert_table(rig.table, rows, ps.TS_SCHEMA, f"deltalake at version {version}",
                        version=version)
    got = support.scan(rig.table, out_dir=tmp_path / "scan")
    oracle.assert_tables_equal(got, ps.to_arrow(rig.model.table, ps.TS_SCHEMA), "latest scan")


def test_full_refresh_to_empty_source_file(tmp_path):
    """A refresh whose source is a header-only file empties the table in one commit."""
    rig = ps.full_refresh_rig(tmp_path)
    rig.add("a.csv", ps.simple_rows(0, 4))
    rig.run()
    path = rig.add("a.csv", [], columns=list(ps.TS_SCHEMA))
    assert path.read_text().strip() == "id,ts,v"
    rig.run()
    assert rig.model.table == []


# ---------------------------------------------------------------------------------------
# watermark


@pytest.mark.parametrize("kind", KINDS)
def test_watermark_exclusive(tmp_path, kind):
    rig = ps.watermark_rig(tmp_path, kind, fmt="csv" if kind == "ts" else "ndjson")
    c: Cursor = rig.cursor
    ext = "csv" if kind == "ts" else "ndjson"
    rig.add(f"r1.{ext}", [c.row(i, i) for i in range(1, 6)])
    report = rig.run()
    assert report["watermark_before"] is None, report

    # New rows beyond the watermark, and a late row below it: the late row is skipped.
    rig.add(f"r2.{ext}", [c.row(i, i) for i in range(6, 9)] + [c.row(103, 3)])
    rig.run()

    rig.run()  # nothing new

    # A new row exactly at the watermark is not loaded (exclusive); one beyond it is.
    rig.add(f"r3.{ext}", [c.row(108, 8), c.row(9, 9)])
    rig.run()
    assert rig.model.watermark == c.at(9)
    assert all(r["id"] not in (103, 108) for r in rig.model.table)


@pytest.mark.parametrize("keyed", [True, False], ids=["keys", "row_hash"])
@pytest.mark.parametrize("kind", KINDS)
def test_watermark_inclusive(tmp_path, kind, keyed):
    rig = ps.watermark_rig(tmp_path, kind, fmt="ndjson", inclusive=True,
                           keys=["id"] if keyed else None)
    c: Cursor = rig.cursor
    # Two rows share the last cursor value 3.
    rig.add("r1.ndjson", [c.row(1, 1), c.row(2, 2), c.row(3, 3), c.row(4, 3)])
    rig.run()
    assert rig.model.watermark == c.at(3)

    # A third row at 3 arrives late, with rows at 4: the boundary rows already loaded are
    # dropped (deduplicated), the late one is loaded.
    rig.add("r2.ndjson", [c.row(5, 3), c.row(6, 4), c.row(7, 4)])
    report = rig.run()
    assert report["rows_deduplicated"] == 2, report

    # Another row at the boundary 4.
    rig.add("r3.ndjson", [c.row(8, 4)])
    rig.run()

    # Nothing new: every boundary row is already there.
    report = rig.run()
    assert report["status"] == "no_changes"
    ids = sorted(r["id"] for r in rig.model.table)
    assert ids == list(range(1, 9))


def test_watermark_microseconds_and_offsets(tmp_path):
    """Timestamps compare at microsecond precision, and UTC offsets in the source count."""
    rig = ps.watermark_rig(tmp_path, "ts", fmt="csv", name="micro")
    base = hours(1)
    us = lambda n: base + datetime.timedelta(microseconds=n)  # noqa: E731
    rig.add("r1.csv", [{"id": 1, "ts": us(0), "v": "a"}, {"id": 2, "ts": us(1), "v": "b"}])
    rig.run()
    assert rig.model.watermark == us(1)

    # One microsecond at the watermark (skipped), one beyond it (loaded).
    rig.add("r2.csv", [{"id": 3, "ts": us(1), "v": "c"}, {"id": 4, "ts": us(2), "v": "d"}])
    rig.run()
    assert sorted(r["id"] for r in rig.model.table) == [1, 2, 4]

    # Written with +02:00: 03:30+02:00 is 01:30Z (after the watermark), 02:59+02:00 is 00:59Z.
    (rig.src / "r3.csv").write_text(
        "id,ts,v\n5,2024-03-01T03:30:00+02:00,e\n6,2024-03-01T02:59:00+02:00,f\n")
    rig.files["r3.csv"] = [
        {"id": 5, "ts": datetime.datetime(2024, 3, 1, 1, 30, tzinfo=ps.UTC), "v": "e"},
        {"id": 6, "ts": datetime.datetime(2024, 3, 1, 0, 59, tzinfo=ps.UTC), "v": "f"},
    ]
    rig.run()
    assert sorted(r["id"] for r in rig.model.table) == [1, 2, 4, 5]


@pytest.mark.parametrize("kind", KINDS)
def test_watermark_lookback(tmp_path, kind):
    rig = ps.watermark_rig(tmp_path, kind, fmt="csv", lookback=2)
    c: Cursor = rig.cursor
    rig.add("r1.csv", [c.row(i, i) for i in range(1, 7)])
    rig.run()  # watermark 6

    # Late rows: 5 is inside the lookback (6-2 < 5 <= 6) and loaded; 4 is not (4 <= 6-2).
    # The rows at 5 and 6 the table has are re-read and not duplicated.
    rig.add("r2.csv", [c.row(105, 5), c.row(104, 4), c.row(7, 7)])
    report = rig.run()
    assert report["rows_deduplicated"] == 2, report
    ids = {r["id"] for r in rig.model.table}
    assert 105 in ids and 104 not in ids

    rig.run()  # lookback re-reads 5 < c <= 7, all present: no_changes

    rig.add("r3.csv", [c.row(106, 6), c.row(8, 8)])
    rig.run()


@pytest.mark.parametrize("kind", ["ts", "int"])
def test_watermark_rewritten_file_and_changed_options(tmp_path, kind):
    """Every source file counts each run: a file rewritten in place with new rows is read
    again, and so are old files when a new lookback reaches back into them."""
    rig = ps.watermark_rig(tmp_path, kind, fmt="csv", name="rw")
    c: Cursor = rig.cursor
    r1 = [c.row(i, i) for i in range(1, 6)]
    rig.add("r1.csv", r1)
    rig.run()
    rig.add("r2.csv", [c.row(6, 6), c.row(7, 7)])
    rig.run()
    rig.run()  # nothing new

    # r1 grows in place: a row beyond the watermark (loaded) and a late one (skipped).
    rig.add("r1.csv", r1 + [c.row(8, 8), c.row(107, 7)])
    rig.run()
    assert 8 in {r["id"] for r in rig.model.table}

    # The same pipeline with a lookback of 2 now reaches the late row at 7 (6 < 7 <= 8).
    rig.config["strategy"]["lookback"] = c.duration(2)
    rig.model.lookback = c.span(2)
    rig.write_config()
    rig.run()
    assert 107 in {r["id"] for r in rig.model.table}
    rig.run()


def test_watermark_safety_margin(tmp_path):
    """Rows newer than now - safety_margin wait for a later run (real clock)."""
    now = datetime.datetime.now(ps.UTC).replace(microsecond=0)
    ago = lambda **kw: now - datetime.timedelta(**kw)  # noqa: E731
    rig = ps.watermark_rig(tmp_path, "ts", safety_margin="1h",
                           margin_model=datetime.timedelta(hours=1))
    rows = [
        {"id": 1, "ts": ago(hours=5), "v": "a"},
        {"id": 2, "ts": ago(hours=3), "v": "b"},
        {"id": 3, "ts": ago(hours=2), "v": "c"},
        {"id": 4, "ts": ago(minutes=30), "v": "in flight"},
        {"id": 5, "ts": ago(minutes=1), "v": "in flight"},
    ]
    rig.add("r1.csv", rows)
    rig.run(now=now, exact_skipped=False)
    assert sorted(r["id"] for r in rig.model.table) == [1, 2, 3]

    # Same pipeline with a 10-minute margin: the row 30 minutes old is loaded now.
    rig.config["strategy"]["safety_margin"] = "10m"
    rig.model.margin = datetime.timedelta(minutes=10)
    rig.write_config()
    rig.run(now=now, exact_skipped=False)
    assert sorted(r["id"] for r in rig.model.table) == [1, 2, 3, 4]

    rig.config["strategy"]["safety_margin"] = "0s"
    rig.model.margin = datetime.timedelta(0)
    rig.write_config()
    rig.run(now=now, exact_skipped=False)
    assert sorted(r["id"] for r in rig.model.table) == [1, 2, 3, 4, 5]


@pytest.mark.parametrize("mode", ["fail", "exclude", "include"])
def test_watermark_null_cursor(tmp_path, mode):
    rig = ps.watermark_rig(tmp_path, "ts", fmt="ndjson", null_cursor=mode, name="nulls")
    c: Cursor = rig.cursor
    rig.add("first.ndjson", [c.row(i, i) for i in range(1, 4)])
    rig.run()

    missing = {"id": 22, "v": "no ts key"}  # cursor absent from the JSON object
    nulls = [c.row(20, None), c.row(21, None), missing]
    rig.add("second.ndjson", [c.row(4, 4), *nulls])
    if mode == "fail":
        before = ps.snapshot_log(rig.table)
        line = ps.run_refused(rig.yaml)
        ps.assert_log_unchanged(rig.table, before, "null_cursor: fail")
        assert "nulls" in line, f"the error should name the pipeline: {line}"
        assert ps.has_number(ps.without_paths(line, tmp_path), len(nulls)), (
            f"the error should say how many rows ({len(nulls)}) have a null cursor: {line}"
        )
        rig.check("after a failed run")
        return
    rig.run(exact_skipped=False)
    rig.run(exact_skipped=False)  # null rows already loaded are not loaded again

    rig.add("third.ndjson", [c.row(30, None), c.row(5, 5)])
    rig.run(exact_skipped=False)
    null_ids = sorted(r["id"] for r in rig.model.table if r.get("ts") is None)
    assert null_ids == ([] if mode == "exclude" else [20, 21, 22, 30])


@pytest.mark.parametrize("kind", KINDS)
def test_watermark_backfill(tmp_path, kind):
    rig = ps.watermark_rig(tmp_path, kind, fmt="ndjson", name="bf")
    c: Cursor = rig.cursor
    rig.add("r1.ndjson", [c.row(i, i) for i in range(10, 16)])
    rig.run()  # watermark 15

    late = [c.row(103, 3), c.row(104, 4), c.row(106, 6), c.row(108, 8), c.row(112, 12)]
    rig.add("r2.ndjson", late + [c.row(16, 16)])
    rig.run()  # loads 16 only
    assert rig.model.watermark == c.at(16)

    # [4, 12): 4, 6, 8 are loaded, 10 and 11 are already there, 3 and 12 are outside.
    window = (c.at(4), c.at(12))
    report = rig.run(backfill=window)
    assert report["rows_written"] == 3 and report["rows_deduplicated"] == 2, report
    assert ps.parse_watermark(report["watermark_after"], kind) == c.at(16), report

    rig.run(backfill=window)  # repeating it is a no-op
    rig.run()  # the main watermark did not move: nothing new
    ids = sorted(r["id"] for r in rig.model.table)
    assert ids == [10, 11, 12, 13, 14, 15, 16, 104, 106, 108]


# ---------------------------------------------------------------------------------------
# partitioning


def _derive(rows, spec):
    """Add the derived partition columns of ``spec`` (e.g. ["day(ts)", "h=hour(ts)"])."""
    out = [dict(r) for r in rows]
    schema = {}
    for item in spec:
        if "(" not in item:
            continue
        name, _, expr = item.rpartition("=")
        fn, col = expr.rstrip(")").split("(")
        name = name or f"{col}_{fn}"
        for r in out:
            t = r[col].astimezone(ps.UTC)
            r[name] = {"year": t.year, "month": t.month, "day": t.date(), "hour": t.hour}[fn]
        schema[name] = pa.date32() if fn == "day" else pa.int32()
    return out, schema


PARTITION_SPECS = {
    "day_hour": (["day(ts)", "hour(ts)"], ["ts_day", "ts_hour"]),
    "named_day_and_column": (["d=day(ts)", "v"], ["d", "v"]),
    "year_month": (["year(ts)", "month(ts)"], ["ts_year", "ts_month"]),
}


@pytest.mark.parametrize("spec", list(PARTITION_SPECS))
def test_partition_by_derived_columns(tmp_path, spec):
    partition_by, columns = PARTITION_SPECS[spec]
    config = ps.pipeline("parts", path="src/*.csv", fmt="csv", dest="table", schema=ps.TS_SCHEMA,
                         keys=["id"], partition_by=partition_by, strategy={"type": "append"})
    ps.write_pipelines(tmp_path / "p.yaml", config)
    # Around midnight and month ends, so that day, hour and month boundaries matter (UTC).
    base = datetime.datetime(2024, 1, 31, 22, 30, tzinfo=ps.UTC)
    rounds = [
        [{"id": i, "ts": base + datetime.timedelta(minutes=45 * i), "v": "ab"[i % 2]}
         for i in range(6)],
        [{"id": 10 + i, "ts": base + datetime.timedelta(minutes=50 * i), "v": "bc"[i % 2]}
         for i in range(4)],
    ]
    all_rows = []
    for n, rows in enumerate(rounds):
        ps.write_source(tmp_path / "src" / f"r{n}.csv", rows)
        report = ps.run(tmp_path / "p.yaml").report
        all_rows += rows
        expected, derived = _derive(all_rows, partition_by)
        new_parts = {tuple(r[c] for c in columns) for r in _derive(rows, partition_by)[0]}
        assert report["partitions_touched"] == len(new_parts), report

    table = tmp_path / "table"
    meta = ps.info(table)
    assert meta["partition_columns"] == columns, meta
    types = {f["name"]: f["type"] for f in meta["schema"]}
    for name, t in derived.items():
        want = "date" if t == pa.date32() else "integer"
        assert types.get(name) == want, f"derived column {name}: type {types.get(name)}, want {want}"
    schema = {**ps.TS_SCHEMA, **derived}
    ps.assert_table(table, expected, schema, f"partition_by {partition_by}")
    oracle.assert_tables_equal(oracle.read_duckdb(table), ps.to_arrow(expected, schema),
                               "duckdb")
    # Every data file sits in one partition, and its partitionValues say which.
    for commit in ps.log_commits(table).values():
        for add in ps.actions(commit, "add"):
            assert sorted(add["partitionValues"]) == sorted(columns), add


# ---------------------------------------------------------------------------------------
# reports


def test_report_fields_against_the_log(tmp_path):
    """Every report field is present, and the size fields agree with the commit."""
    config = ps.pipeline("rep", path="src/*.ndjson", fmt="ndjson", dest="table",
                         schema=ps.TS_SCHEMA, keys=["id"], partition_by=["v"],
                         strategy={"type": "watermark", "cursor": "ts"})
    ps.write_pipelines(tmp_path / "p.yaml", config)
    rows = [{"id": i, "ts": hours(i), "v": "xyz"[i % 3]} for i in range(9)]
    ps.write_source(tmp_path / "src" / "a.ndjson", rows[:5])
    ps.write_source(tmp_path / "src" / "b.ndjson", rows[5:])
    report = ps.run(tmp_path / "p.yaml").report
    missing = ps.REPORT_FIELDS - report.keys()
    assert not missing, f"report lacks {sorted(missing)}: {report}"

    table = tmp_path / "table"
    commit = ps.log_commits(table)[report["table_version"]]
    adds = ps.actions(commit, "add")
    assert report["files_read"] == 2, report
    assert report["files_written"] == len(adds), report
    assert report["bytes_written"] == sum(a["size"] for a in adds), report
    assert report["partitions_touched"] == len({a["partitionValues"]["v"] for a in adds}) == 3
    assert report["rows_rejected"] == 0 and report["rows_written"] == 9, report
    assert str(report["table"]).rstrip("/").endswith("table"), report
    assert isinstance(report["duration_ms"], (int, float)) and report["duration_ms"] >= 0
    assert ps.parse_watermark(report["watermark_after"], "ts") == hours(8)
    stats_rows = sum(json.loads(a["stats"])["numRecords"] for a in adds if a.get("stats"))
    assert stats_rows in (0, 9), f"the commit's stats count {stats_rows} rows, not 9"


def test_text_report_without_json(tmp_path):
    rig = ps.append_rig(tmp_path, name="texty")
    rig.add("a.csv", ps.simple_rows(0, 3))
    proc = ps.cli("run", rig.yaml, cwd=tmp_path)
    assert "texty" in proc.stdout, f"the text report should name the pipeline: {proc.stdout}"
    assert proc.stdout.strip() and not proc.stdout.lstrip().startswith("{"), proc.stdout
    ps.assert_table(rig.table, ps.simple_rows(0, 3), ps.TS_SCHEMA)
