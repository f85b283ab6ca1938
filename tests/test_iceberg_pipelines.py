"""Pipelines into Iceberg tables (issue 21, part 1 §4): `destination.format: iceberg`.
The pipeline's run number and state document are committed in the same snapshot as its
rows (summary keys pointing at an object of its own), so a crash at any point and a re-run
neither loses nor repeats a file; pyiceberg reads the table after every step.
"""
from __future__ import annotations

import datetime

import pyarrow as pa
import pytest

import oracle
import pipeline_support as ps

UTC = datetime.timezone.utc
SCHEMA = {"id": "long", "ts": "timestamp", "v": "string"}


def _rows(start, n):
    return [{"id": i, "ts": ps.hours(i), "v": f"v{i}"} for i in range(start, start + n)]


def _setup(tmp_path, strategy, partition_by=None):
    (tmp_path / "src").mkdir()
    p = ps.pipeline("ice", path="src/*.csv", fmt="csv", dest="table", schema=SCHEMA,
                    keys=["id"], strategy=strategy, partition_by=partition_by)
    p["destination"]["format"] = "iceberg"
    return ps.write_pipelines(tmp_path / "p.yaml", p)


def _pyiceberg(table):
    from pyiceberg.table import StaticTable
    hint = (table / "metadata" / "version-hint.text").read_text().strip()
    return StaticTable.from_metadata(str(table / "metadata" / f"v{hint}.metadata.json"))


def _check(table, rows, context):
    expected = ps.to_arrow(rows, SCHEMA)
    got = _pyiceberg(table).scan().to_arrow()
    oracle.assert_tables_equal(got, expected, f"{context} (pyiceberg)")


@pytest.mark.parametrize("point", [None] + ps.CRASH_POINTS)
def test_an_append_pipeline_into_iceberg_loads_each_file_once(tmp_path, point):
    yaml = _setup(tmp_path, {"type": "append"}, partition_by=["v"])
    table = tmp_path / "table"
    ps.write_source(tmp_path / "src" / "a.csv", _rows(0, 5))
    report = ps.run(yaml).report
    assert report["status"] == "committed" and report["rows_written"] == 5, report
    assert report["table_version"] == 1 and report["run"] == 1, report
    _check(table, _rows(0, 5), "first run")
    ps.write_source(tmp_path / "src" / "b.csv", _rows(5, 3))
    if point:
        proc = ps.cli("run", yaml, "--json", env={"INLET_CRASH_AT": point}, cwd=tmp_path, check=False)
        assert proc.returncode in ps.KILLED, proc
        committed = point == "commit.after_log_write"
        _check(table, _rows(0, 8 if committed else 5), f"after a crash at {point}")
    report = ps.run(yaml).report
    if point == "commit.after_log_write":
        assert report["status"] == "no_changes", report
    else:
        assert report["status"] == "committed" and report["rows_written"] == 3, report
    _check(table, _rows(0, 8), "second run")
    assert ps.run(yaml).report["status"] == "no_changes"
    state = ps.state(table)["ice"]
    assert sorted(state["files"]) == ["a.csv", "b.csv"] and state["run"] == 2, state
    # The state is an object the snapshot summary points at, beside the run number.
    summary = _pyiceberg(table).current_snapshot().summary
    assert summary["inlet.app.inlet.pipeline.ice"] == "2", summary
    doc = summary["inlet.app-document.inlet.pipeline.ice"]
    assert (table / "_inlet" / "apps" / "inlet.pipeline.ice" / f"{doc}.json").is_file()


def test_a_watermark_pipeline_and_a_reset_on_iceberg(tmp_path):
    yaml = _setup(tmp_path, {"type": "watermark", "cursor": "ts"})
    table = tmp_path / "table"
    ps.write_source(tmp_path / "src" / "a.csv", _rows(0, 4))
    ps.run(yaml)
    ps.write_source(tmp_path / "src" / "b.csv", _rows(2, 5))   # 2, 3 again: at or below the watermark
    report = ps.run(yaml).report
    assert report["rows_written"] == 3 and report["rows_skipped_watermark"] == 2, report
    _check(table, _rows(0, 7), "after two runs")
    state = ps.state(table)["ice"]
    assert ps.parse_watermark(state["watermark"], "ts") == ps.hours(6), state
    ps.cli("reset", table, "--pipeline", "ice")
    assert ps.state(table) == {}
    report = ps.run(yaml).report
    # Everything again (ids 2 and 3, in both files, once: the keys de-duplicate the run).
    assert report["run"] == 3 and report["rows_written"] == 7, report
    history = _pyiceberg(table).snapshots()
    assert [s.summary["inlet.operation"] for s in history][-2] == "RESET PIPELINE"


def test_a_full_refresh_into_a_sorted_table_sorts_every_file(tmp_path):
    """destination.sort_by: the full refresh streams its files into the table, sorting in
    runs of destination.sort_run_size bytes (docs/formats.md, "Sort order"), here small
    enough that a run holds one source file's rows: each run writes files of its own,
    every data file is sorted and says so, and the next run replaces the rows."""
    (tmp_path / "src").mkdir()
    p = ps.pipeline("ice", path="src/*.csv", fmt="csv", dest="table", schema=SCHEMA,
                    strategy={"type": "full_refresh"}, table_format="iceberg")
    p["destination"]["sort_by"] = ["v desc"]
    p["destination"]["sort_run_size"] = 1
    yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
    table = tmp_path / "table"
    rows = _rows(0, 30)
    ps.write_source(tmp_path / "src" / "a.csv", rows[::2])
    ps.write_source(tmp_path / "src" / "b.csv", rows[1::2])
    for run in (1, 2):
        if run == 2:  # a new file: the next full refresh reads all three
            ps.write_source(tmp_path / "src" / "c.csv", _rows(30, 10))
            rows = _rows(0, 40)
        report = ps.run(yaml).report
        assert report["status"] == "committed" and report["rows_written"] == len(rows), report
        _check(table, rows, f"run {run}")
        static = _pyiceberg(table)
        assert static.sort_order().order_id == 1
        files = static.inspect.files().to_pylist()
        assert files and all(f["sort_order_id"] == 1 for f in files), files
        # several runs (one row would fit in one file otherwise), each file sorted
        assert len(files) >= 2, files
        for f in files:
            import pyarrow.parquet as pq
            values = pq.read_table(f["file_path"].removeprefix("file://"))["v"].to_pylist()
            assert values == sorted(values, reverse=True), values


def test_an_existing_table_of_the_other_format_is_refused(tmp_path):
    yaml = _setup(tmp_path, {"type": "append"})
    ps.write_source(tmp_path / "src" / "a.csv", _rows(0, 2))
    ps.cli("write", tmp_path / "table", "--input", tmp_path / "src" / "a.csv")   # a Delta table
    line = ps.run_refused(yaml)
    assert "is a Delta table, not an Iceberg table" in line, line
    for spec, why in (("bucket(id)", "bucket needs a width"), ("h=hour(ts)", "is Delta's"),
                      ("days(ts)", "unknown Iceberg transform 'days'")):
        p = ps.pipeline("x", path="src/*.csv", fmt="csv", dest="t2", schema=SCHEMA,
                        strategy={"type": "append"}, partition_by=[spec])
        p["destination"]["format"] = "iceberg"
        line = ps.run_refused(ps.write_pipelines(tmp_path / "q.yaml", p))
        assert "q.yaml" in line and why in line and "partition_by" in line, line
    assert not (tmp_path / "t2").exists()


def test_hidden_partition_transforms_in_a_pipeline(tmp_path):
    """The seed's partitioning by the hour of `timestamp`, plus a bucket of the id: the
    table's partition spec derives the values; no column is added to the rows."""
    yaml = _setup(tmp_path, {"type": "append"}, partition_by=["hour(ts)", "bucket(id, 4)", "v"])
    ps.write_source(tmp_path / "src" / "a.csv", _rows(0, 30))
    report = ps.run(yaml).report
    assert report["status"] == "committed" and report["rows_written"] == 30, report
    table = _pyiceberg(tmp_path / "table")
    assert [(f.name, str(f.transform)) for f in table.spec().fields] == \
        [("ts_hour", "hour"), ("id_bucket", "bucket[4]"), ("v", "identity")]
    assert table.schema().column_names == ["id", "ts", "v"]
    _check(tmp_path / "table", _rows(0, 30), "hidden partitions")
    # pyiceberg prunes by inlet's partition values: one hour of thirty.
    from pyiceberg.expressions import And, GreaterThanOrEqual, LessThan
    micros = int(ps.hours(5).timestamp()) * 1_000_000
    hour = And(GreaterThanOrEqual("ts", micros), LessThan("ts", micros + 3_600_000_000))
    plan = list(table.scan(row_filter=hour).plan_files())
    assert len(plan) == 1, [t.file.file_path for t in plan]
    ps.write_source(tmp_path / "src" / "b.csv", _rows(30, 5))
    assert ps.run(yaml).report["rows_written"] == 5
    _check(tmp_path / "table", _rows(0, 35), "second run")


def test_two_pipelines_into_one_iceberg_table_at_once_do_not_conflict(tmp_path):
    """Each inlet snapshot carries every application's keys; only a change of a
    pipeline's own state conflicts with it. Two pipelines run together, without retries,
    six times: every run commits and every row lands once."""
    import subprocess
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    pipes = []
    for name in ("a", "b"):
        p = ps.pipeline(name, path=f"{name}/*.csv", fmt="csv", dest="table", schema=SCHEMA,
                        strategy={"type": "append"})
        p["destination"]["format"] = "iceberg"
        p["processing"] = {"max_retries": 0}
        pipes.append(p)
    yaml = ps.write_pipelines(tmp_path / "p.yaml", *pipes)
    expected = []
    for round_ in range(6):
        for k, name in enumerate(("a", "b")):
            rows = _rows(1000 * round_ + 100 * k, 3)
            ps.write_source(tmp_path / name / f"r{round_}.csv", rows)
            expected += rows
        if round_ == 0:  # creating the table: two creations would conflict, as they must
            for name in ("a", "b"):
                ps.run(yaml, "--pipeline", name)
            continue
        procs = [ps.popen("run", yaml, "--pipeline", name, "--json", cwd=tmp_path) for name in ("a", "b")]
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, f"round {round_}: {err}"
    _check(tmp_path / "table", expected, "after six rounds of two pipelines")
    states = ps.state(tmp_path / "table")
    assert states["a"]["run"] == 6 and states["b"]["run"] == 6, states


def test_a_run_that_read_its_state_before_another_run_committed_loads_nothing_twice(tmp_path):
    """Run A reads its state, stops; run B loads the new file and commits; A goes on. A's
    commit is planned on the state it read: it must see that B committed the pipeline since
    (a conflict, then a re-plan that finds nothing), not append the same file again."""
    import os
    import signal
    from support import wait_stopped
    yaml = _setup(tmp_path, {"type": "append"})
    ps.write_source(tmp_path / "src" / "a.csv", _rows(0, 5))
    ps.run(yaml)
    ps.write_source(tmp_path / "src" / "b.csv", _rows(5, 3))
    proc = ps.popen("run", yaml, "--json", env={"INLET_STOP_AT": "run.after_read"}, cwd=tmp_path)
    wait_stopped(proc.pid)
    assert ps.run(yaml).report["rows_written"] == 3
    os.kill(proc.pid, signal.SIGCONT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    reports = ps.parse_reports(out)
    # It lost the commit race to B, and found nothing left: skipped, not failed.
    assert reports[-1]["status"] == "skipped" and reports[-1]["rows_written"] == 0, reports
    _check(tmp_path / "table", _rows(0, 8), "after the two runs")
