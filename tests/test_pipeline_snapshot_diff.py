"""The snapshot_diff strategy against a reference model.

Each round writes a full extract; the table must then equal the model: the extract's rows
(by key), plus, for soft deletes, the missing keys flagged; rounds whose change is below
min_change_percent commit nothing. The hybrid policy full-refreshes every N runs.
"""
import random

import pytest

import oracle
import pipeline_support as ps

SCHEMA = {"id": "long", "name": "string"}


def setup(tmp_path, properties=None, batch_size=None, table_format=None, fmt="csv", **strategy):
    src = tmp_path / "src"
    src.mkdir()
    p = ps.pipeline(
        "d", path=str(src / f"*.{fmt}"), dest=str(tmp_path / "table"),
        strategy={"type": "snapshot_diff", **strategy}, keys=["id"], schema={"id": "long", "name": "string"},
        properties=properties, table_format=table_format)
    if batch_size:  # files roll between batches
        p["processing"] = {"batch_size": batch_size}
    return src, ps.write_pipelines(tmp_path / "p.yaml", p)


# FORMATS: a CSV extract is read into memory and diffed; a Parquet one streams through
# the merge (Table::MergeExtract), spilled to disk as its keys are indexed and its rows
# hashed (into a table with deletion vectors or merge-on-read deletes, only the rows that
# differ from the table's, hashed first). Both must give the same tables.
FORMATS = ["csv", "parquet"]


def write_extract(src, rows, fmt, name="extract"):
    return ps.write_source(src / f"{name}.{fmt}", rows, fmt=fmt, columns=["id", "name"], schema=SCHEMA)


def extract(rng, keys):
    return [{"id": k, "name": rng.choice(["a", "b", "c"])} for k in sorted(keys)]


# Without a threshold the diff runs inside the merge, in one pass over the table; with one
# (here so small that every change passes it) the merge first runs dry, to count the change.
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("two_pass", [False, True], ids=["one_pass", "two_pass"])
@pytest.mark.parametrize("deletes,dv,table_format", [
    ("delete", False, None), ("soft_delete", False, None), ("keep", False, None),
    ("delete", True, None), ("soft_delete", True, None),
    ("delete", False, "iceberg"), ("soft_delete", False, "iceberg"),
    ("delete", False, "iceberg_mor"), ("soft_delete", False, "iceberg_mor"),
    ("delete", False, "iceberg_v3")])
def test_rounds_match_the_model(tmp_path, deletes, dv, two_pass, table_format, fmt):
    strategy = {"deletes": deletes}
    if deletes == "soft_delete":
        strategy["soft_delete_column"] = "is_deleted"
    if two_pass:
        strategy["min_change_percent"] = 1e-6
    # Small files: most rounds leave some files unchanged and rewrite others.
    properties = ({"write.target-file-size-bytes": "1024"} if table_format
                  else {"delta.targetFileSize": "1024"})
    if dv:
        properties["delta.enableDeletionVectors"] = "true"
    src, yaml = setup(tmp_path, properties, batch_size=25, table_format=table_format, fmt=fmt, **strategy)
    rng = random.Random(deletes)
    keys = set(range(200))
    model = {}
    for round_no in range(5):
        rows = extract(rng, keys)
        write_extract(src, rows, fmt)
        report = ps.run(yaml).report
        current = {r["id"]: r for r in rows}
        if not model:
            model = {k: dict(r, is_deleted=False) for k, r in current.items()}
            expected_changes = None
        else:
            inserts = [k for k in current if k not in model]
            updates = [k for k in current if k in model and (model[k]["name"] != current[k]["name"] or model[k]["is_deleted"])]
            missing = [k for k in model if k not in current and not model[k]["is_deleted"]]
            if deletes == "keep":
                missing = []
            for k in inserts + updates:
                model[k] = dict(current[k], is_deleted=False)
            for k in missing:
                if deletes == "delete":
                    del model[k]
                else:
                    model[k]["is_deleted"] = True
            expected_changes = len(inserts) + len(updates) + len(missing)
        if expected_changes == 0:
            assert report["status"] == "no_changes", report
        else:
            assert report["status"] == "committed", report
        if expected_changes:
            assert report["rows_inserted"] + report["rows_updated"] + report["rows_deleted"] == expected_changes, report
        schema = dict(SCHEMA, is_deleted="boolean") if deletes == "soft_delete" else SCHEMA
        rows_expected = [{c: v for c, v in r.items() if c in schema} for r in model.values()]
        ps.assert_table(tmp_path / "table", rows_expected, schema, f"{deletes} round {round_no}")
        duck = oracle.read_duckdb(tmp_path / "table", None)
        oracle.assert_tables_equal(duck, ps.to_arrow(rows_expected, schema), f"{deletes} round {round_no} (DuckDB)")
        # Next extract: some keys leave, some arrive, some come back.
        keys = {k for k in keys if rng.random() > 0.03} | {rng.randrange(300) for _ in range(6)}


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("dv", [False, True], ids=["copy_on_write", "deletion_vectors"])
def test_only_files_with_a_change_are_written(tmp_path, dv, fmt):
    properties = {"delta.targetFileSize": "1"}  # a file per batch
    if dv:
        properties["delta.enableDeletionVectors"] = "true"
    src, yaml = setup(tmp_path, properties, batch_size=100, fmt=fmt)
    rows = [{"id": i, "name": f"n{i}"} for i in range(2000)]
    write_extract(src, rows, fmt)
    ps.run(yaml)
    files = ps.info(tmp_path / "table")["num_files"]
    assert files >= 10, files
    rows[1234]["name"] = "changed"
    write_extract(src, rows, fmt)
    report = ps.run(yaml).report
    assert report["status"] == "committed", report
    assert (report["rows_inserted"], report["rows_updated"], report["rows_deleted"]) == (0, 1, 0), report
    assert report["changed_percent"] == pytest.approx(100 / 2000), report
    commit = ps.log_commits(tmp_path / "table")[ps.latest_version(tmp_path / "table")]
    removed = ps.actions(commit, "remove")
    added = ps.actions(commit, "add")
    # One file held the row: it alone is rewritten (or given a deletion vector, the new
    # version of the row going to a new file).
    assert len(removed) == 1, removed
    if dv:
        assert sorted(a["path"] for a in added if a.get("deletionVector")) == [removed[0]["path"]], added
        assert len(added) == 2, added
    else:
        assert not any(a.get("deletionVector") for a in added), added
    ps.assert_table(tmp_path / "table", rows, SCHEMA, "one row changed")
    oracle.assert_tables_equal(oracle.read_deltalake(tmp_path / "table", None), ps.to_arrow(rows, SCHEMA),
                               "one row changed (deltalake)")
    # The same extract under another name (a new fingerprint): nothing differs, nothing is
    # committed.
    (src / f"extract.{fmt}").rename(src / f"extract2.{fmt}")
    before = ps.snapshot_log(tmp_path / "table")
    report = ps.run(yaml).report
    assert report["status"] == "no_changes", report
    ps.assert_log_unchanged(tmp_path / "table", before, "an unchanged extract")



def test_below_threshold_commits_nothing(tmp_path):
    src, yaml = setup(tmp_path, min_change_percent=50)
    rows = [{"id": i, "name": "a"} for i in range(10)]
    ps.write_source(src / "extract.csv", rows, fmt="csv")
    ps.run(yaml)
    rows[0]["name"] = "changed"  # 10% changed: below 50%
    ps.write_source(src / "extract.csv", rows, fmt="csv")
    before = ps.snapshot_log(tmp_path / "table")
    report = ps.run(yaml).report
    assert report["status"] == "no_significant_changes", report
    assert report["changed_percent"] == pytest.approx(10.0), report
    ps.assert_log_unchanged(tmp_path / "table", before, "a change below the threshold")


@pytest.mark.parametrize("threshold", [0, 1e-6], ids=["one_pass", "counted_first"])
def test_dry_run_reports_the_diff_and_commits_nothing(tmp_path, threshold):
    """`inlet run --dry-run` diffs the extract with the table (the merge, run dry) and
    reports what a run would change; the run then changes exactly that."""
    src, yaml = setup(tmp_path, {"delta.targetFileSize": "1"}, batch_size=10, min_change_percent=threshold)
    rows = [{"id": i, "name": "a"} for i in range(40)]
    ps.write_source(src / "extract.csv", rows, fmt="csv")
    ps.run(yaml)
    rows = [dict(r, name="b") if r["id"] == 3 else r for r in rows if r["id"] != 7] + [{"id": 99, "name": "new"}]
    ps.write_source(src / "extract.csv", rows, fmt="csv")
    before = ps.snapshot_log(tmp_path / "table")
    dry = ps.run(yaml, "--dry-run").report
    ps.assert_log_unchanged(tmp_path / "table", before, "a dry run")
    counts = ("rows_inserted", "rows_updated", "rows_deleted", "rows_written", "changed_percent")
    assert dry["status"] == "dry_run", dry
    assert {k: dry[k] for k in counts} == {"rows_inserted": 1, "rows_updated": 1, "rows_deleted": 1,
                                           "rows_written": 2, "changed_percent": pytest.approx(3 * 100 / 40)}, dry
    real = ps.run(yaml).report
    assert real["status"] == "committed", real
    assert {k: real[k] for k in counts} == {k: dry[k] for k in counts}, (dry, real)
    ps.assert_table(tmp_path / "table", rows, SCHEMA, "after the dry run and the run")
    # Nothing left to change: a dry run says so.
    (src / "extract.csv").rename(src / "extract2.csv")
    assert ps.run(yaml, "--dry-run").report["status"] == "no_changes"


def test_hybrid_full_refresh_every_n_runs(tmp_path):
    src, yaml = setup(tmp_path, full_refresh_every_runs=2)
    for round_no in range(4):
        rows = [{"id": i, "name": f"v{round_no}"} for i in range(5)]
        ps.write_source(src / "extract.csv", rows, fmt="csv")
        report = ps.run(yaml).report
        assert report["status"] == "committed", report
        # Runs 1 and 3 are full refreshes (no diff, so no changed_percent); 2 and 4 diff.
        assert ("changed_percent" in report) == (round_no % 2 == 1), (round_no, report)
        ps.assert_table(tmp_path / "table", rows, SCHEMA, f"round {round_no}")


def test_keys_are_required(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    yaml = ps.write_pipelines(tmp_path / "p.yaml", ps.pipeline(
        "d", path=str(src / "x.csv"), dest=str(tmp_path / "table"), strategy={"type": "snapshot_diff"}))
    line = ps.run_refused(yaml)
    assert "destination.keys" in line, line


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("table_format", [None, "iceberg", "iceberg_mor", "iceberg_v3"])
@pytest.mark.parametrize("point", ["run.after_read", "write.after_data_files",
                                   "commit.before_log_write", "commit.after_log_write"])
def test_crash_then_rerun(tmp_path, point, table_format, fmt):
    """A diff killed at a named point leaves the table as it was (or committed, when it died
    after writing its log entry); the next run brings the table to the extract."""
    size = {"write.target-file-size-bytes": "1"} if table_format else {"delta.targetFileSize": "1"}
    src, yaml = setup(tmp_path, size, batch_size=50, deletes="soft_delete",
                      soft_delete_column="is_deleted", table_format=table_format, fmt=fmt)
    rows = [{"id": i, "name": "a"} for i in range(300)]
    write_extract(src, rows, fmt)
    ps.run(yaml)
    changed = [dict(r, name="b") if r["id"] % 50 == 7 else r for r in rows if r["id"] % 60 != 11]
    changed += [{"id": 1000, "name": "new"}]
    write_extract(src, changed, fmt)
    before = ps.snapshot_log(tmp_path / "table")
    ps.run_crashing(yaml, point)
    if point != "commit.after_log_write":
        ps.assert_log_unchanged(tmp_path / "table", before, f"a run killed at {point}")
    report = ps.run(yaml).report
    assert report["status"] == ("no_changes" if point == "commit.after_log_write" else "committed"), report
    expected = [dict(r, is_deleted=False) for r in changed]
    expected += [dict(r, is_deleted=True) for r in rows if r["id"] % 60 == 11]
    schema = dict(SCHEMA, is_deleted="boolean")
    ps.assert_table(tmp_path / "table", expected, schema, f"after a crash at {point}")


# Issue 20, item 5: an empty or truncated extract must not empty the table. By default a
# snapshot_diff run may delete at most 50% of the table's rows; max_delete_percent sets the
# share (100 allows any). A refused run commits nothing, exits 1 and says why.
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("deletes", ["delete", "soft_delete"])
@pytest.mark.parametrize("empty", [True, False], ids=["empty", "truncated"])
def test_an_empty_or_truncated_extract_is_refused(tmp_path, deletes, empty, fmt):
    strategy = {"deletes": deletes}
    if deletes == "soft_delete":
        strategy["soft_delete_column"] = "is_deleted"
    src, yaml = setup(tmp_path, fmt=fmt, **strategy)
    rows = [{"id": i, "name": "a"} for i in range(100)]
    write_extract(src, rows, fmt)
    ps.run(yaml)  # the first run loads the extract (a full refresh)
    ps.run(yaml)  # nothing changed
    kept = [] if empty else rows[:30]  # 100% or 70% of the keys leave
    write_extract(src, kept, fmt)
    before = ps.snapshot_log(tmp_path / "table")
    line = ps.run_refused(yaml)
    assert "max_delete_percent" in line and ("100%" in line or "70%" in line), line
    ps.assert_log_unchanged(tmp_path / "table", before, "a refused extract")
    assert len(oracle.read_deltalake(tmp_path / "table")) == 100


def test_max_delete_percent_lets_a_large_delete_through(tmp_path):
    src, yaml = setup(tmp_path, max_delete_percent=80)
    rows = [{"id": i, "name": "a"} for i in range(100)]
    ps.write_source(src / "extract.csv", rows, fmt="csv")
    ps.run(yaml)
    ps.write_source(src / "extract.csv", rows[:30], fmt="csv")  # 70% deleted: allowed at 80
    report = ps.run(yaml).report
    assert report["status"] == "committed" and report["rows_deleted"] == 70, report
    ps.write_source(src / "extract.csv", rows[:3], fmt="csv")  # 90% of 30: more than 80
    assert "max_delete_percent" in ps.run_refused(yaml)
    ps.assert_table(tmp_path / "table", rows[:30], SCHEMA, "after the refused run")


def test_the_full_refresh_of_snapshot_diff_is_guarded_too(tmp_path):
    src, yaml = setup(tmp_path, full_refresh_every_runs=1)  # every run a full refresh
    rows = [{"id": i, "name": "a"} for i in range(100)]
    ps.write_source(src / "extract.csv", rows, fmt="csv")
    ps.run(yaml)
    ps.write_source(src / "extract.csv", [], fmt="csv", columns=["id", "name"])
    before = ps.snapshot_log(tmp_path / "table")
    line = ps.run_refused(yaml)
    assert "the extract has 0 rows where the table has 100" in line, line
    ps.assert_log_unchanged(tmp_path / "table", before, "a refused full refresh")


def test_full_refresh_takes_the_guard_when_asked(tmp_path):
    # full_refresh empties the table for an empty extract unless max_delete_percent says
    # otherwise (test_pipeline_strategies.test_full_refresh_to_empty_source_file).
    src = tmp_path / "src"
    src.mkdir()
    p = ps.pipeline("f", path=str(src / "*.csv"), dest=str(tmp_path / "table"),
                    strategy={"type": "full_refresh", "max_delete_percent": 10}, keys=["id"], schema=SCHEMA)
    yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
    rows = [{"id": i, "name": "a"} for i in range(100)]
    ps.write_source(src / "extract.csv", rows, fmt="csv")
    ps.run(yaml)
    ps.write_source(src / "extract.csv", rows[:50], fmt="csv")
    assert "replacing it would delete 50% of them" in ps.run_refused(yaml)
    ps.write_source(src / "extract.csv", rows[:95], fmt="csv")
    assert ps.run(yaml).report["status"] == "committed"


def test_max_delete_percent_is_checked(tmp_path):
    for bad in ["150", "-1", "lots"]:
        (tmp_path / bad).mkdir()
        src, yaml = setup(tmp_path / bad, max_delete_percent=bad)
        assert "max_delete_percent" in ps.run_refused(yaml)
    src = tmp_path / "merge_src"
    src.mkdir()
    p = ps.pipeline("m", path=str(src / "*.csv"), dest=str(tmp_path / "m"),
                    strategy={"type": "merge", "max_delete_percent": 10}, keys=["id"])
    line = ps.run_refused(ps.write_pipelines(tmp_path / "m.yaml", p))
    assert "applies only to the snapshot_diff and full_refresh strategies" in line, line


@pytest.mark.parametrize("table", ["spilled", "change_data_feed", "deletion_vectors"])
def test_a_streamed_extract_with_a_repeated_key(tmp_path, table):
    """A Parquet extract streams through the merge batch by batch: a key repeated in a
    later batch (here another file) with the same values counts as a duplicate, whether
    those values are the table's or new ones; with other values it refuses the run naming
    the key, and commits nothing. A table with a change data feed reads the stream into
    memory (its update images need the rows); one with deletion vectors hashes its rows
    first and keeps only the extract's rows that differ: the same."""
    properties = {"change_data_feed": {"delta.enableChangeDataFeed": "true"},
                  "deletion_vectors": {"delta.enableDeletionVectors": "true"}}.get(table)
    src, yaml = setup(tmp_path, properties, fmt="parquet")
    rows = [{"id": i, "name": "a"} for i in range(20)]
    write_extract(src, rows, "parquet", name="part1")
    ps.run(yaml)
    rows[3]["name"] = "b"
    rows[8]["name"] = "b"
    write_extract(src, rows[:10], "parquet", name="part1")
    write_extract(src, rows[5:], "parquet", name="part2")  # ids 5..9 twice, identical
    report = ps.run(yaml).report
    assert report["status"] == "committed" and report["rows_deduplicated"] == 5, report
    assert (report["rows_inserted"], report["rows_updated"], report["rows_deleted"]) == (0, 2, 0), report
    ps.assert_table(tmp_path / "table", rows, SCHEMA, "identical repeats")
    before = ps.snapshot_log(tmp_path / "table")
    # the table's values first, then others; and the other way round
    for first, then in (("a", "c"), ("c", "a")):
        write_extract(src, [dict(r, name=first) if r["id"] == 7 else r for r in rows[:10]], "parquet", name="part1")
        write_extract(src, [dict(r, name=then) if r["id"] == 7 else r for r in rows[5:]], "parquet", name="part2")
        line = ps.run_refused(yaml)
        assert "the extract holds key (id=7) twice, with different values" in line, (first, line)
        ps.assert_log_unchanged(tmp_path / "table", before, "a key repeated with other values")


def test_streamed_and_in_memory_diffs_agree_on_files_of_different_columns(tmp_path):
    """Parquet files whose columns differ (a column one file lacks, an int32 key beside an
    int64 one) stream as a read in memory unifies them; both runs give the same table. The
    in-memory run is forced by a min_change_percent, which counts the change first. Into a
    table with deletion vectors the stream is compared with the table's rows hashed first:
    the same again."""
    tables = {}
    for mode, threshold in [("streamed", 0), ("in_memory", 1e-6), ("streamed_dv", 0)]:
        src = tmp_path / mode / "src"
        src.mkdir(parents=True)
        p = ps.pipeline("d", path=str(src / "*.parquet"), dest=str(tmp_path / mode / "table"),
                        strategy={"type": "snapshot_diff", "min_change_percent": threshold}, keys=["id"],
                        properties={"delta.enableDeletionVectors": "true"} if mode.endswith("dv") else None)
        yaml = ps.write_pipelines(tmp_path / mode / "p.yaml", p)
        ps.write_source(src / "a.parquet", [{"id": i, "name": f"n{i}", "size": i * 10} for i in range(50)],
                        fmt="parquet", schema={"id": "long", "name": "string", "size": "long"})
        ps.write_source(src / "b.parquet", [{"id": i, "name": f"n{i}"} for i in range(50, 80)],
                        fmt="parquet", schema={"id": "int", "name": "string"})
        assert ps.run(yaml).report["status"] == "committed"
        ps.write_source(src / "a.parquet", [{"id": i, "name": f"m{i}" if i % 7 == 0 else f"n{i}", "size": i * 10}
                                            for i in range(0, 50, 2)],
                        fmt="parquet", schema={"id": "long", "name": "string", "size": "long"})
        # Identical repeats of keys within a file: the key gate folds them.
        ps.write_source(src / "b.parquet", [{"id": i, "name": f"n{i}"} for i in list(range(50, 90)) + [60, 61]],
                        fmt="parquet", schema={"id": "int", "name": "string"})
        report = ps.run(yaml).report
        assert report["status"] == "committed", (mode, report)
        counts = (report["rows_inserted"], report["rows_updated"], report["rows_deleted"],
                  report["rows_read"], report["rows_deduplicated"])
        assert counts == (10, 4, 25, 67, 2), (mode, report)
        tables[mode] = oracle.read_duckdb(tmp_path / mode / "table", None)
    oracle.assert_tables_equal(tables["streamed"], tables["in_memory"], "streamed vs in memory")
    oracle.assert_tables_equal(tables["streamed_dv"], tables["in_memory"], "deletion vectors vs in memory")
    assert tables["streamed"].num_rows == 65


def test_streamed_diffs_name_the_file_and_keep_the_gates(tmp_path):
    """Errors of a streamed extract name the file a row came from; a repeat that differs only
    in a column the run adds (schema_drift: add_columns) is a different row, refused."""
    src = tmp_path / "src"
    src.mkdir()
    p = ps.pipeline("d", path=str(src / "*.parquet"), dest=str(tmp_path / "table"),
                    strategy={"type": "snapshot_diff"}, keys=["id"],
                    quality={"schema_drift": "add_columns"})
    yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
    rows = [{"id": i, "name": "a"} for i in range(10)]
    write_extract(src, rows, "parquet", name="a")
    ps.run(yaml)
    ps.write_source(src / "b.parquet", [{"id": 20, "name": "x"}, {"id": None, "name": "y"}],
                    fmt="parquet", schema=SCHEMA)
    line = ps.run_refused(yaml)
    assert "null key" in line and "b.parquet" in line, line
    extra = {"id": "long", "name": "string", "extra": "long"}
    ps.write_source(src / "a.parquet", [dict(r, extra=1) for r in rows], fmt="parquet", schema=extra)
    ps.write_source(src / "b.parquet", [{"id": 5, "name": "a", "extra": 2}], fmt="parquet", schema=extra)
    before = ps.snapshot_log(tmp_path / "table")
    line = ps.run_refused(yaml)
    assert "holds key (id=5) twice, with different values" in line, line
    ps.assert_log_unchanged(tmp_path / "table", before, "a repeat differing in an added column")


@pytest.mark.parametrize("strategy", ["full_refresh", "snapshot_diff"])
def test_declared_types_reconcile_parquet_files(tmp_path, strategy):
    """A declared column type applies to each file before their schemas are unified, as a
    read in memory does: a column stored as int32 in one file and as text in another reads
    as the declared string (the full refresh and the diff both stream)."""
    src = tmp_path / "src"
    src.mkdir()
    p = ps.pipeline("d", path=str(src / "*.parquet"), dest=str(tmp_path / "table"),
                    strategy={"type": strategy}, keys=["id"] if strategy == "snapshot_diff" else None,
                    schema={"code": "string"})
    yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
    ps.write_source(src / "a.parquet", [{"id": 1, "code": 7}, {"id": 2, "code": 8}], fmt="parquet",
                    schema={"id": "long", "code": "int"})
    ps.write_source(src / "b.parquet", [{"id": 3, "code": "x9"}], fmt="parquet",
                    schema={"id": "long", "code": "string"})
    assert ps.run(yaml).report["status"] == "committed"
    # Again with a row more: the diff streams now too (its first run was a full refresh).
    ps.write_source(src / "b.parquet", [{"id": 3, "code": "x9"}, {"id": 4, "code": "y"}],
                    fmt="parquet", schema={"id": "long", "code": "string"})
    report = ps.run(yaml).report
    assert report["status"] == "committed" and report["rows_read"] == 4, report
    got = sorted(oracle.read_deltalake(tmp_path / "table").to_pylist(), key=lambda r: r["id"])
    assert got == [{"id": 1, "code": "7"}, {"id": 2, "code": "8"}, {"id": 3, "code": "x9"},
                   {"id": 4, "code": "y"}], got


@pytest.mark.parametrize("table_format", [None, "iceberg_mor"], ids=["delta", "iceberg_mor"])
def test_a_table_holding_a_key_twice_diffs_as_copy_on_write_does(tmp_path, table_format):
    """A table that marks deleted rows is hashed before a streamed extract is read, by
    key; one holding a key twice (appended so) is compared row by row as the extract's
    rows are matched instead, as a copy-on-write table is: both end with the same rows, the
    extract's (a key's second copy is deleted, as docs/pipelines.md says)."""
    rows = [{"id": i, "name": "a"} for i in range(6)] + [{"id": 3, "name": "a"}, {"id": 4, "name": "x"}]
    tables = {}
    for marks in (False, True):
        d = tmp_path / ("marks" if marks else "rewrites")
        (d / "seed").mkdir(parents=True)
        (d / "src").mkdir()
        ps.write_source(d / "seed" / "rows.parquet", rows, fmt="parquet", columns=["id", "name"], schema=SCHEMA)
        properties = None
        fmt = table_format if marks else (table_format and "iceberg")
        if marks and not table_format:
            properties = {"delta.enableDeletionVectors": "true"}
        seed = ps.pipeline("seed", path=str(d / "seed" / "*.parquet"), dest=str(d / "table"),
                           strategy={"type": "append"}, schema=SCHEMA, properties=properties,
                           table_format=fmt)
        diff = ps.pipeline("diff", path=str(d / "src" / "*.parquet"), dest=str(d / "table"),
                           strategy={"type": "snapshot_diff"}, keys=["id"], schema=SCHEMA,
                           properties=properties, table_format=fmt)
        yaml = ps.write_pipelines(d / "p.yaml", seed, diff)
        ps.cli("run", yaml, "--pipeline", "seed")
        # 1 changed, 5 gone, 6 new; 3 (twice, equal) and 4 (twice, one equal) given as before
        extract = [{"id": 0, "name": "a"}, {"id": 1, "name": "b"}, {"id": 2, "name": "a"},
                   {"id": 3, "name": "a"}, {"id": 4, "name": "a"}, {"id": 6, "name": "n"}]
        write_extract(d / "src", extract, "parquet")
        report = ps.parse_reports(ps.cli("run", yaml, "--pipeline", "diff", "--json").stdout)[0]
        assert report["status"] == "committed", report
        got = oracle.read_duckdb(d / "table", None)
        tables[marks] = (sorted((r["id"], r["name"]) for r in got.to_pylist()),
                         {k: report[k] for k in ("rows_inserted", "rows_updated", "rows_deleted")})
    assert tables[True] == tables[False], tables
    assert tables[True][0] == sorted((r["id"], r["name"]) for r in extract), tables
    # 1 updated; 5 gone and the second copies of 3 and 4 deleted; 6 inserted.
    assert tables[True][1] == {"rows_inserted": 1, "rows_updated": 1, "rows_deleted": 3}, tables
