"""Row-level changes and compaction on Iceberg tables (issue 22): inlet merge, delete and
update (copy-on-write overwrite snapshots) and inlet optimize (a replace snapshot), read
back by pyiceberg and DuckDB's iceberg_scan at every snapshot and checked against a model;
concurrent commits are validated as the spec says (a row-level commit conflicts only with
what touched the files it rewrites or the partitions it read; a compaction only with what
removed its files), the loser re-plans and nothing is lost or doubled.

The strategies' own model and crash tests (test_pipeline_merge, _cdc, _scd2,
_snapshot_diff) run on Iceberg as well.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import oracle
import support

SCHEMA = pa.schema([("id", pa.int64()), ("region", pa.string()), ("amount", pa.int64())])


def _static(table):
    from pyiceberg.table import StaticTable
    hint = (table / "metadata" / "version-hint.text").read_text().strip()
    return StaticTable.from_metadata(str(table / "metadata" / f"v{hint}.metadata.json"))


def _check(table, model, context):
    want = pa.Table.from_pylist(sorted(model.values(), key=lambda r: r["id"]), schema=SCHEMA)
    oracle.assert_tables_equal(_static(table).scan().to_arrow(), want, f"pyiceberg, {context}")
    oracle.assert_tables_equal(oracle.read_duckdb(table), want, f"DuckDB, {context}")


def _input(tmp_path, rows, name):
    path = tmp_path / f"{name}.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path)
    return path


def _small_appends(table, tmp_path, commits, rows_each, *args):
    """`commits` appends of `rows_each` rows (ids k*10+j, regions a/b) into a new Iceberg
    table partitioned by region; the rows by id."""
    model = {}
    for k in range(commits):
        rows = [{"id": k * 10 + j, "region": "ab"[j % 2], "amount": k} for j in range(rows_each)]
        support.run_inlet("write", table, "--format", "iceberg", "--partition-by", "region", *args,
                          "--input", _input(tmp_path, rows, f"b{k}"))
        model.update({r["id"]: r for r in rows})
    return model


def _operations(table):
    return [s.summary.operation.value for s in _static(table).snapshots()]


MERGE_ON_READ = ["--property", "write.delete.mode=merge-on-read", "--property", "write.update.mode=merge-on-read",
                 "--property", "write.merge.mode=merge-on-read"]


def _live_delete_files(table):
    return [p for p in _static(table).inspect.delete_files()["file_path"].to_pylist()]


def _deletion_vectors(table):
    """The live deletion vectors of the current snapshot, as (data file, cardinality):
    at most one per data file (spec "Deletion Vectors"). The delete manifests are read with
    DuckDB's read_avro (pyiceberg does not show referenced_data_file). table: a path, or a
    pyiceberg table."""
    static = _static(table) if isinstance(table, os.PathLike) else table
    con = oracle.duckdb_connection()
    files = []
    for mf in static.current_snapshot().manifests(static.io):
        if mf.content.value != 1:
            continue
        path = mf.manifest_path.removeprefix("file://")
        files += con.sql(f"SELECT data_file.file_format, data_file.referenced_data_file, "
                         f"data_file.record_count, data_file.content_offset, "
                         f"data_file.content_size_in_bytes FROM read_avro('{path}') "
                         f"WHERE status < 2").fetchall()
    assert {f[0] for f in files} <= {"PUFFIN"}, files
    assert all(f[3] is not None and f[4] is not None for f in files), files
    targets = [f[1] for f in files]
    assert len(targets) == len(set(targets)), f"more than one vector per data file: {targets}"
    return [(f[1], f[2]) for f in files]


@pytest.mark.parametrize("version,merge_on_read", [(2, False), (2, True), (3, False), (3, True)],
                         ids=["copy_on_write", "merge_on_read", "v3_copy_on_write", "v3_deletion_vectors"])
def test_merge_delete_and_update_follow_the_model_in_every_engine(tmp_path, version, merge_on_read):
    table = tmp_path / "t"
    rows = [{"id": i, "region": "nsew"[i % 4], "amount": i * 10} for i in range(40)]
    support.run_inlet("write", table, "--format", "iceberg", "--partition-by", "region",
                      "--target-file-size", "600", "--input", _input(tmp_path, rows, "first"),
                      "--property", f"format-version={version}",
                      *(MERGE_ON_READ if merge_on_read else []))
    meta = _static(table).metadata
    assert meta.format_version == version and "format-version" not in meta.properties, meta
    model = {r["id"]: dict(r) for r in rows}
    _check(table, model, "created")

    source = [{"id": i, "region": "nsew"[i % 4], "amount": -i} for i in range(30, 50)]
    out = support.run_inlet("merge", table, "--keys", "id", "--input", _input(tmp_path, source, "src")).stdout
    assert "10 inserted, 10 updated" in out, out
    for r in source:
        model[r["id"]] = dict(r)
    _check(table, model, "after merge")

    out = support.run_inlet("delete", table, "--where", "amount < 50").stdout
    deleted = [k for k, r in model.items() if r["amount"] < 50]
    assert f"deleted {len(deleted)} rows" in out, out
    for k in deleted:
        del model[k]
    _check(table, model, "after delete")

    out = support.run_inlet("update", table, "--where", "region = 'n'", "--set", "amount=7").stdout
    for r in model.values():
        if r["region"] == "n":
            r["amount"] = 7
    _check(table, model, "after update")
    last = _static(table).current_snapshot().summary
    if merge_on_read:
        # Changed rows are marked in position delete files (v3: deletion vectors, one per
        # data file, each holding the file's earlier deletes too); the update's new
        # versions are new rows.
        assert _operations(table) == ["append", "overwrite", "delete", "overwrite"]
        delete = _static(table).snapshots()[2].summary
        assert _live_delete_files(table)
        if version == 2:
            assert int(delete["added-position-delete-files"]) >= 1, delete
        else:
            assert int(delete["added-dvs"]) >= 1, delete
            # The update marked rows of files the delete had marked: their vectors replaced.
            assert int(last["removed-dvs"]) >= 1, last
            vectors = _deletion_vectors(table)
            assert sum(n for _, n in vectors) == int(last["total-position-deletes"]), (vectors, last)
    else:
        assert _operations(table) == ["append", "overwrite", "overwrite", "overwrite"]
        # Files of partitions nothing touched are kept: the update rewrote region n only.
        assert int(last["deleted-data-files"]) == int(last["added-data-files"]) >= 1, last
        assert not _live_delete_files(table)
    # format-version is a setting of the metadata, never stored as a property; a downgrade
    # is refused and leaves the table as it was.
    support.run_inlet("alter", table, "--property", f"format-version={version}")
    assert "format-version" not in _static(table).metadata.properties
    if version == 3:
        snapshots = len(_static(table).snapshots())
        line = support.check_refusal(support.run_inlet("alter", table, "--property", "format-version=2",
                                                       check=False))
        assert "downgrade" in line, line
        assert len(_static(table).snapshots()) == snapshots
    # Time travel still reads the first snapshot.
    first = _static(table).snapshots()[0]
    assert _static(table).scan(snapshot_id=first.snapshot_id).to_arrow().num_rows == 40
    # Compaction folds the deletes into the new files, and the delete files go with
    # their data files.
    report = json.loads(support.run_inlet("optimize", table, "--json").stdout.strip().splitlines()[-1])
    assert not _live_delete_files(table)
    if merge_on_read:
        assert report["files_removed"] >= 1, report
    if report["files_removed"]:
        assert _static(table).current_snapshot().summary.operation.value == "replace"
    _check(table, model, "after optimize")


def test_compaction_packs_small_files_into_a_replace_snapshot(tmp_path):
    table = tmp_path / "t"
    model = _small_appends(table, tmp_path, 12, 6)
    before = _static(table)
    assert len(before.inspect.files()) == 24
    out = support.run_inlet("optimize", table, "--json").stdout
    report = json.loads(out.strip().splitlines()[-1])
    assert report["files_removed"] == 24 and report["files_added"] == 2, report
    after = _static(table)
    assert len(after.inspect.files()) == 2
    assert after.current_snapshot().summary.operation.value == "replace"
    _check(table, model, "after optimize")
    # Nothing to do a second time.
    again = json.loads(support.run_inlet("optimize", table, "--json").stdout.strip().splitlines()[-1])
    assert again["files_removed"] == 0 and again["version"] == -1, again
    # The snapshot before the compaction still reads the same rows from the old files.
    old = after.scan(snapshot_id=before.current_snapshot().snapshot_id).to_arrow()
    assert old.num_rows == len(model)


def _stopped(args, point, tmp_path):
    proc = subprocess.Popen([str(support.inlet_binary()), *map(str, args)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, "INLET_STOP_AT": point},
                            cwd=tmp_path)
    support.wait_stopped(proc.pid)
    return proc


def _state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return "gone"


def _resume(proc):
    """Continues a stopped inlet; returns its output and how many times it stopped at its
    point again (each a fresh plan after a conflict)."""
    import time
    again = 0
    os.kill(proc.pid, signal.SIGCONT)
    deadline = time.time() + 120
    while proc.poll() is None and time.time() < deadline:
        if _state(proc.pid) == "T":
            again += 1
            os.kill(proc.pid, signal.SIGCONT)
        time.sleep(0.02)
    out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    return out, again


@pytest.mark.parametrize("same_partition", [False, True], ids=["other_partition", "same_partition"])
def test_a_merge_meeting_a_concurrent_append(tmp_path, same_partition):
    """An append into a partition the merge did not read lets the merge commit on top of it
    (no new plan); one into a partition it read makes it plan again, so that the merge sees
    the appended rows, and nothing is lost. The key includes the partition column, so the
    merge reads only the source's partition."""
    table = tmp_path / "t"
    rows = [{"id": i, "region": "ab"[i % 2], "amount": 0} for i in range(10)]
    support.run_inlet("write", table, "--format", "iceberg", "--partition-by", "region",
                      "--input", _input(tmp_path, rows, "first"))
    model = {r["id"]: dict(r) for r in rows}
    source = [{"id": 0, "region": "a", "amount": 1}, {"id": 100, "region": "a", "amount": 1}]
    merge = _stopped(["merge", table, "--keys", "region,id", "--input", _input(tmp_path, source, "src")],
                     "write.after_data_files", tmp_path)
    # The appended row has a key the merge also inserts: planned again, the merge updates it.
    appended = [{"id": 100, "region": "a" if same_partition else "b", "amount": 2}]
    support.run_inlet("write", table, "--input", _input(tmp_path, appended, "append"))
    out, replans = _resume(merge)
    assert replans == (1 if same_partition else 0), (replans, out)
    model = {(r["region"], r["id"]): r for r in model.values()}
    for r in appended + source:
        model[(r["region"], r["id"])] = dict(r)
    want = pa.Table.from_pylist(list(model.values()), schema=SCHEMA)
    oracle.assert_tables_equal(_static(table).scan().to_arrow(), want, "pyiceberg")
    oracle.assert_tables_equal(oracle.read_duckdb(table), want, "DuckDB")
    history = _static(table).snapshots()
    assert [s.summary.operation.value for s in history] == ["append", "append", "overwrite"]
    assert ("1 inserted, 1 updated" if not same_partition else "0 inserted, 2 updated") in out, out


def test_a_compaction_meeting_concurrent_appends_and_a_delete(tmp_path):
    """Appends during a compaction do not conflict with it; a delete that rewrote one of its
    files does, and the compaction plans again on the new snapshot."""
    table = tmp_path / "t"
    model = {}
    for k in range(4):
        rows = [{"id": k * 10 + j, "region": "a", "amount": k} for j in range(3)]
        support.run_inlet("write", table, "--format", "iceberg", "--input", _input(tmp_path, rows, f"b{k}"))
        model.update({r["id"]: r for r in rows})
    compaction = _stopped(["optimize", table, "--json"], "write.after_data_files", tmp_path)
    appended = [{"id": 99, "region": "b", "amount": 9}]
    support.run_inlet("write", table, "--input", _input(tmp_path, appended, "append"))
    model[99] = appended[0]
    out, replans = _resume(compaction)
    report = json.loads(out.strip().splitlines()[-1])
    assert replans == 0 and report["attempts"] == 1 and report["files_removed"] == 4, report
    _check(table, model, "after a compaction beside an append")

    for k in range(3):
        rows = [{"id": 500 + k, "region": "c", "amount": k}]
        support.run_inlet("write", table, "--input", _input(tmp_path, rows, f"c{k}"))
        model[500 + k] = rows[0]
    compaction = _stopped(["optimize", table, "--json"], "write.after_data_files", tmp_path)
    support.run_inlet("delete", table, "--where", "id = 501")
    del model[501]
    out, replans = _resume(compaction)
    report = json.loads(out.strip().splitlines()[-1])
    assert replans == 1 and report["attempts"] == 2, report
    _check(table, model, "after a compaction that lost to a delete")
    # The losing attempt's files are gone; every data file left is referenced.
    referenced = {os.path.basename(p) for p in _static(table).inspect.files()["file_path"].to_pylist()}
    on_disk = {p.name for p in (table / "data").rglob("*.parquet")}
    live_or_history = set()
    for s in _static(table).snapshots():
        live_or_history |= {os.path.basename(p) for p in
                            _static(table).inspect.files(snapshot_id=s.snapshot_id)["file_path"].to_pylist()}
    assert referenced <= on_disk and on_disk <= live_or_history, on_disk - live_or_history


def _files_under(table):
    return {str(p.relative_to(table)) for p in table.rglob("*") if p.is_file()}


def _reached(table):
    """Every file the table's snapshots reach, relative to the table (pyiceberg's view)."""
    static = _static(table)
    out = set()
    io = static.io
    for s in static.snapshots():
        out.add(s.manifest_list)
        for m in s.manifests(io):
            out.add(m.manifest_path)
        out |= set(static.inspect.files(snapshot_id=s.snapshot_id)["file_path"].to_pylist())
    return {p.split(str(table) + "/", 1)[1] for p in out}


def test_vacuum_expires_snapshots_and_deletes_what_nothing_reaches(tmp_path):
    table = tmp_path / "t"
    model = _small_appends(table, tmp_path, 5, 4)
    support.run_inlet("delete", table, "--where", "id = 11")
    del model[11]
    support.run_inlet("optimize", table)
    (table / "data" / "orphan.parquet").write_bytes(b"left by a crashed writer")
    before = _files_under(table)

    # The default retention (history.expire.max-snapshot-age-ms, 5 days) keeps everything
    # this young; a shorter one is refused unless forced.
    dry = json.loads(support.run_inlet("vacuum", table, "--dry-run", "--json").stdout)
    assert dry["retention_hours"] == 120 and dry["files"] == [], dry
    refused = support.run_inlet("vacuum", table, "--retention-hours", "0", check=False)
    assert refused.returncode != 0 and "history.expire.max-snapshot-age-ms" in refused.stderr, refused.stderr
    assert _files_under(table) == before

    dry = json.loads(support.run_inlet("vacuum", table, "--retention-hours", "0", "--force", "--dry-run",
                                       "--json").stdout)
    assert "data/orphan.parquet" in dry["files"] and _files_under(table) == before, dry
    assert len(_static(table).snapshots()) == 7
    done = json.loads(support.run_inlet("vacuum", table, "--retention-hours", "0", "--force", "--json").stdout)
    assert sorted(done["files"]) == sorted(dry["files"]), (done, dry)
    assert done["deleted"]["files"] == len(dry["files"]) > 10, done
    left = _files_under(table)
    assert left == (before - set(done["files"])) | {"metadata/v8.metadata.json"}
    # Only the current snapshot is left; everything it reaches is there, and nothing else
    # but metadata files.
    assert len(_static(table).snapshots()) == 1
    assert _reached(table) <= left
    assert {f for f in left - _reached(table) if not f.endswith(".metadata.json") and
            not f.endswith("version-hint.text")} == set()
    _check(table, model, "after vacuum")
    # The table goes on.
    rows = [{"id": 1000, "region": "c", "amount": 1}]
    support.run_inlet("merge", table, "--keys", "id", "--input", _input(tmp_path, rows, "after"))
    model[1000] = rows[0]
    _check(table, model, "a merge after vacuum")


def test_vacuum_keeps_the_snapshot_holding_a_pipelines_state(tmp_path):
    """Another engine's append carries no inlet state: the snapshot that has the pipeline's
    latest state outlives expiry, so the next run loads nothing twice."""
    from pyiceberg.catalog.sql import SqlCatalog
    import pipeline_support as ps
    warehouse = tmp_path / "wh"
    catalog_uri = f"sqlite:{warehouse}/catalog.db"
    src = tmp_path / "src"
    src.mkdir()
    p = ps.pipeline("p", path=str(src / "*.ndjson"), dest="", strategy={"type": "append"},
                    schema={"id": "long", "region": "string", "amount": "long"})
    p["destination"] = {"format": "iceberg", "table": "ns.t",
                        "catalog": {"uri": catalog_uri, "warehouse": str(warehouse)}}
    yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
    first = [{"id": 1, "region": "a", "amount": 1}]
    ps.write_source(src / "a.ndjson", first, fmt="ndjson")
    ps.run(yaml)
    catalog = SqlCatalog("default", uri=f"sqlite:///{warehouse}/catalog.db", warehouse=f"file://{warehouse}")
    theirs = [{"id": 2, "region": "b", "amount": 2}]
    catalog.load_table("ns.t").append(pa.Table.from_pylist(theirs, schema=SCHEMA))
    support.run_inlet("--catalog", catalog_uri, "vacuum", "ns.t", "--retention-hours", "0", "--force")
    assert len(catalog.load_table("ns.t").snapshots()) == 2
    second = [{"id": 3, "region": "a", "amount": 3}]
    ps.write_source(src / "b.ndjson", second, fmt="ndjson")
    report = ps.run(yaml).report
    assert report["rows_written"] == 1 and report["files_read"] == 1, report
    got = catalog.load_table("ns.t").scan().to_arrow()
    oracle.assert_tables_equal(got, pa.Table.from_pylist(first + theirs + second, schema=SCHEMA), "after vacuum")


def test_an_empty_string_partition_is_not_null_to_row_level_changes(tmp_path):
    """Iceberg keeps '' apart from null in partition values; a delete of the null
    partition must not take the '' one with it (the engine's partition predicates read
    an empty value as null, so such tables are read rather than pruned)."""
    table = tmp_path / "t"
    rows = [{"id": 1, "region": "", "amount": 1}, {"id": 2, "region": None, "amount": 2},
            {"id": 3, "region": "a", "amount": 3}]
    support.run_inlet("write", table, "--format", "iceberg", "--partition-by", "region",
                      "--input", _input(tmp_path, rows, "first"))
    support.run_inlet("delete", table, "--where", "region IS NULL")
    _check(table, {1: rows[0], 3: rows[2]}, "after deleting the null partition")
    support.run_inlet("update", table, "--where", "region = ''", "--set", "amount=10")
    _check(table, {1: dict(rows[0], amount=10), 3: rows[2]}, "after updating the '' partition")


def _concurrent_writers(run, table, tmp_path, check):
    """4 appenders, 2 mergers and a compaction at once on one table (run: the inlet CLI
    with the table's catalog or storage); every commit lands exactly once and no row is
    lost or doubled."""
    import threading
    failures = []
    model_lock = threading.Lock()
    appended = []

    def inlet(*args):
        r = run(*args, check=False, timeout=300)
        if r.returncode != 0:
            failures.append(f"{args[0]}: {r.stderr}")
        return r

    def appender(w):
        for k in range(4):
            rows = [{"id": 10_000 * (w + 1) + 10 * k + j, "region": "ab"[j % 2], "amount": k} for j in range(3)]
            if inlet("write", table, "--input", _input(tmp_path, rows, f"a{w}-{k}")).returncode == 0:
                with model_lock:
                    appended.extend(rows)

    def merger(m):
        for k in range(3):
            rows = [{"id": 500_000 + 100 * m + j, "region": "ab"[j % 2], "amount": 100 * k + m} for j in range(5)]
            inlet("merge", table, "--keys", "id", "--max-retries", "50",
                  "--input", _input(tmp_path, rows, f"m{m}-{k}"))

    def compactor():
        for _ in range(3):
            inlet("optimize", table)

    threads = ([threading.Thread(target=appender, args=(w,)) for w in range(4)]
               + [threading.Thread(target=merger, args=(m,)) for m in range(2)]
               + [threading.Thread(target=compactor)])
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not failures, failures
    model = {r["id"]: r for r in appended}
    for m in range(2):
        for j in range(5):
            model[500_000 + 100 * m + j] = {"id": 500_000 + 100 * m + j, "region": "ab"[j % 2], "amount": 200 + m}
    check(model)


FIRST = [{"id": 1, "region": "a", "amount": 0}]


def _want(model):
    model[1] = FIRST[0]
    return pa.Table.from_pylist(sorted(model.values(), key=lambda r: r["id"]), schema=SCHEMA)


def test_appenders_mergers_and_a_compaction_at_once_on_a_sqlite_catalog(tmp_path):
    _at_once_on_sqlite(tmp_path, [])


def test_appenders_mergers_and_a_compaction_at_once_on_a_v3_table(tmp_path, spark):
    """The same on a format version 3 merge-on-read table: the mergers' deletion vectors
    and row ids hold under concurrency (Spark reads every row with a distinct _row_id)."""
    # The mergers' keys start in the files of the first commit, beside each other's and
    # FIRST: their merges mark rows there (one vector per file, merged across commits).
    seed = FIRST + [{"id": 500_000 + 100 * m + j, "region": "ab"[j % 2], "amount": -1}
                    for m in range(2) for j in range(5)]
    _at_once_on_sqlite(tmp_path, ["--property", "format-version=3", *MERGE_ON_READ], spark, seed)


def _at_once_on_sqlite(tmp_path, create_args, spark=None, seed=FIRST):
    from pyiceberg.catalog.sql import SqlCatalog
    cat = ["--catalog", f"sqlite:{tmp_path}/wh/catalog.db", "--warehouse", str(tmp_path / "wh")]
    support.run_inlet(*cat, "write", "ns.busy", "--partition-by", "region", "--input", _input(tmp_path, seed, "f"),
                      *create_args)

    def check(model):
        catalog = SqlCatalog("default", uri=f"sqlite:///{tmp_path}/wh/catalog.db", warehouse=f"file://{tmp_path}/wh")
        table = catalog.load_table("ns.busy")
        oracle.assert_tables_equal(table.scan().to_arrow(), _want(model), "pyiceberg")
        if spark is not None:
            got = spark.read.format("iceberg").load(table.metadata_location.removeprefix("file://"))
            got = got.select("id", "region", "amount", "_row_id").toArrow()
            oracle.assert_tables_equal(got.drop_columns(["_row_id"]), _want(model), "Spark")
            ids = got["_row_id"].to_pylist()
            assert None not in ids and len(set(ids)) == len(ids), "row ids must be distinct"
            assert max(ids) < table.metadata.next_row_id
            _deletion_vectors(table)  # at most one per data file
            assert any(snap.summary.get("added-dvs") for snap in table.snapshots()), \
                "the mergers mark rows in deletion vectors"
        ops = [s.summary.operation.value for s in table.snapshots()]
        # Every commit landed once: the table's creation, 16 appends, 6 merges (the first of
        # each merger only inserts: an append) and the compactions.
        assert len(ops) == 1 + 16 + 6 + ops.count("replace") and "overwrite" in ops, ops
        assert "replace" in ops, ops
        # Commits that lost a race left none of their manifests or manifest lists behind.
        reached = set()
        for snap in table.snapshots():
            reached.add(snap.manifest_list)
            reached |= {m.manifest_path for m in snap.manifests(table.io)}
        on_disk = {f"file://{p}" for p in (tmp_path / "wh" / "ns" / "busy" / "metadata").glob("*.avro")}
        assert on_disk == reached, sorted(on_disk - reached)

    _concurrent_writers(lambda *a, **k: support.run_inlet(*cat, *a, **k), "ns.busy", tmp_path, check)


@pytest.mark.parametrize("place", ["minio"], indirect=True)
def test_appenders_mergers_and_a_compaction_at_once_by_path_on_minio(place, tmp_path):
    table = place.uri("busy")
    place.inlet("write", table, "--format", "iceberg", "--partition-by", "region",
                "--input", _input(tmp_path, FIRST, "f"))

    def check(model):
        out = tmp_path / "scan.parquet"
        place.inlet("scan", table, "--output-format", "parquet", "--output", out)
        oracle.assert_tables_equal(pq.read_table(out), _want(model), "inlet on MinIO")

    _concurrent_writers(place.inlet, table, tmp_path, check)


def test_appenders_mergers_and_a_compaction_at_once_on_a_postgresql_catalog(tmp_path, postgres):
    uri = postgres.create_database("busy_catalog")
    cat = ["--catalog", uri, "--warehouse", str(tmp_path / "wh")]
    env = {"PGPASSWORD": postgres.password}
    run = lambda *a, **k: support.run_inlet(*cat, *a, env=env, **k)
    run("write", "ns.busy", "--partition-by", "region", "--input", _input(tmp_path, FIRST, "f"))

    def check(model):
        out = tmp_path / "scan.parquet"
        run("scan", "ns.busy", "--output-format", "parquet", "--output", out)
        oracle.assert_tables_equal(pq.read_table(out), _want(model), "inlet through PostgreSQL")

    _concurrent_writers(run, "ns.busy", tmp_path, check)


def test_appenders_mergers_and_a_compaction_at_once_on_a_rest_catalog(tmp_path, iceberg_rest):
    from pyiceberg.catalog import load_catalog
    cat = ["--catalog", iceberg_rest.uri]
    run = lambda *a, **k: support.run_inlet(*cat, *a, **k)
    run("write", "busyrest.t", "--partition-by", "region", "--input", _input(tmp_path, FIRST, "f"))

    def check(model):
        table = load_catalog("rest", type="rest", uri=iceberg_rest.uri).load_table("busyrest.t")
        oracle.assert_tables_equal(table.scan().to_arrow(), _want(model), "pyiceberg through REST")

    _concurrent_writers(run, "busyrest.t", tmp_path, check)


@pytest.mark.parametrize("version,merge_on_read", [(2, False), (2, True), (3, False)],
                         ids=["copy_on_write", "merge_on_read", "v3_copy_on_write"])
def test_trino_reads_every_snapshot_of_inlet_row_level_changes(tmp_path, trino, postgres, version,
                                                                merge_on_read):
    """Trino 476 reads each snapshot of a table inlet merges into, deletes from and updates
    (copy-on-write, merge-on-read position deletes, and a format version 3 table with row
    lineage), through the JDBC catalog on PostgreSQL, as pyiceberg does. (Trino 476 refuses
    deletion vectors, "Unexpected PUFFIN file format": trinodb/trino#27788 added them later
    than the last Trino on Maven Central.)"""
    from pyiceberg.catalog.sql import SqlCatalog
    cat = trino.iceberg_catalog_args()
    env = {"PGPASSWORD": postgres.password}
    name = f"rows_{'mor' if merge_on_read else 'cow'}_v{version}"
    rows = [{"id": i, "region": "nsew"[i % 4], "amount": i} for i in range(30)]
    support.run_inlet(*cat, "write", f"lake.{name}", "--partition-by", "region", "--target-file-size", "600",
                      "--input", _input(tmp_path, rows, "first"), *(MERGE_ON_READ if merge_on_read else []),
                      "--property", f"format-version={version}", env=env)
    src = [{"id": i, "region": "nsew"[i % 4], "amount": -i} for i in range(20, 40)]
    support.run_inlet(*cat, "merge", f"lake.{name}", "--keys", "id", "--input", _input(tmp_path, src, "src"),
                      env=env)
    support.run_inlet(*cat, "delete", f"lake.{name}", "--where", "id < 7", env=env)
    support.run_inlet(*cat, "update", f"lake.{name}", "--where", "region = 'e'", "--set", "amount=0", env=env)
    pg = SqlCatalog(trino_catalog := "trino_iceberg", uri=postgres.sqlalchemy_uri("trino_iceberg"))
    table = pg.load_table(f"lake.{name}")
    assert trino_catalog == cat[cat.index("--catalog-name") + 1]
    if merge_on_read:
        assert len(table.inspect.delete_files()) > 0
    for snap in table.snapshots():
        want = table.scan(snapshot_id=snap.snapshot_id).to_arrow().sort_by("id").to_pylist()
        got = trino.query(f"SELECT id, region, amount FROM iceberg.lake.{name} "
                          f"FOR VERSION AS OF {snap.snapshot_id} ORDER BY id")
        assert got == [[r["id"], r["region"], r["amount"]] for r in want], snap.sequence_number


def test_checkpoint_rewrites_many_small_manifests_into_one(tmp_path):
    table = tmp_path / "t"
    model = _small_appends(table, tmp_path, 8, 3, "--property", "commit.manifest-merge.enabled=false")
    support.run_inlet("delete", table, "--where", "id = 11")
    del model[11]
    before = _static(table)
    n = len(before.current_snapshot().manifests(before.io))
    assert n >= 8, n
    out = json.loads(support.run_inlet("checkpoint", table, "--json").stdout.strip().splitlines()[-1])
    assert out["log_before"]["files"] == n and out["log_after"]["files"] == 1, out
    after = _static(table)
    assert len(after.current_snapshot().manifests(after.io)) == 1
    summary = after.current_snapshot().summary
    assert summary.operation.value == "replace" and summary["manifests-replaced"] == str(n), summary
    _check(table, model, "after rewriting the manifests")
    # Nothing to do a second time; the table goes on.
    again = json.loads(support.run_inlet("checkpoint", table, "--json").stdout.strip().splitlines()[-1])
    assert again["log_before"]["files"] == 1 and again["version"] == out["version"], again
    rows = [{"id": 900, "region": "c", "amount": 9}]
    support.run_inlet("merge", table, "--keys", "id", "--input", _input(tmp_path, rows, "after"))
    model[900] = rows[0]
    _check(table, model, "a merge after rewriting the manifests")


def _sqlite_appends(tmp_path, name, commits):
    """`commits` one-row appends (ids 0, 1, ...) to table `name` of a SQLite catalog: the
    catalog's inlet arguments and pyiceberg's catalog."""
    from pyiceberg.catalog.sql import SqlCatalog
    cat = ["--catalog", f"sqlite:{tmp_path}/wh/catalog.db", "--warehouse", str(tmp_path / "wh")]
    for k in range(commits):
        rows = [{"id": k, "region": "a", "amount": k}]
        support.run_inlet(*cat, "write", name, "--input", _input(tmp_path, rows, f"b{k}"))
    return cat, SqlCatalog("default", uri=f"sqlite:///{tmp_path}/wh/catalog.db",
                           warehouse=f"file://{tmp_path}/wh")


def test_vacuum_keeps_what_each_branch_asks_to_keep(tmp_path):
    """A branch's own min-snapshots-to-keep (set by pyiceberg) outweighs the retention:
    vacuum keeps that many snapshots of its history; main keeps its newest only."""
    cat, catalog = _sqlite_appends(tmp_path, "ns.br", 5)
    table = catalog.load_table("ns.br")
    head = table.current_snapshot().snapshot_id
    table.manage_snapshots().create_branch(head, "audit", min_snapshots_to_keep=3).commit()
    support.run_inlet(*cat, "write", "ns.br", "--input", _input(tmp_path, [{"id": 9, "region": "a", "amount": 9}], "m"))
    support.run_inlet(*cat, "vacuum", "ns.br", "--retention-hours", "0", "--force")
    table = catalog.load_table("ns.br")
    kept = {s.sequence_number for s in table.snapshots()}
    # audit's head (5) and two ancestors (4, 3); main's newest (6).
    assert kept == {3, 4, 5, 6}, kept
    assert sorted(table.scan(snapshot_id=table.snapshot_by_name("audit").snapshot_id).to_arrow()["id"].to_pylist()) \
        == [0, 1, 2, 3, 4]


def test_vacuum_removes_refs_past_their_max_ref_age(tmp_path):
    """A tag or branch whose head is older than its max-ref-age-ms goes (and then what only
    it kept); one without the setting, and main, stay (Java's expire_snapshots does the
    same)."""
    import time
    cat, catalog = _sqlite_appends(tmp_path, "ns.refs", 3)
    table = catalog.load_table("ns.refs")
    first = table.snapshots()[0].snapshot_id
    table.manage_snapshots().create_tag(first, "old", max_ref_age_ms=1).commit()
    table.manage_snapshots().create_tag(first, "kept").commit()
    time.sleep(0.01)
    report = json.loads(support.run_inlet(*cat, "vacuum", "ns.refs", "--retention-hours", "0", "--force",
                                          "--json").stdout.strip().splitlines()[-1])
    assert report["refs_removed"] == ["old"], report
    table = catalog.load_table("ns.refs")
    assert set(table.metadata.refs) == {"main", "kept"}, table.metadata.refs
    assert table.snapshot_by_name("kept").snapshot_id == first
    # With the table's history.expire.max-ref-age-ms the other tag goes too, never main.
    support.run_inlet(*cat, "alter", "ns.refs", "--property", "history.expire.max-ref-age-ms=1")
    time.sleep(0.01)
    support.run_inlet(*cat, "vacuum", "ns.refs", "--retention-hours", "0", "--force")
    table = catalog.load_table("ns.refs")
    assert set(table.metadata.refs) == {"main"}, table.metadata.refs
    assert [s.snapshot_id for s in table.snapshots()] == [table.current_snapshot().snapshot_id]
    assert sorted(table.scan().to_arrow()["id"].to_pylist()) == [0, 1, 2]


def test_an_upgraded_table_gets_vectors_holding_its_position_deletes(tmp_path):
    """inlet alter --property format-version=3 upgrades a v2 merge-on-read table: its next
    commit gives every data manifest row ids, and a delete then writes deletion vectors
    that take in the files' position deletes, whose files leave the snapshot."""
    table = tmp_path / "t"
    rows = [{"id": i, "region": "ab"[i % 2], "amount": i} for i in range(40)]
    support.run_inlet("write", table, "--format", "iceberg", "--partition-by", "region",
                      "--input", _input(tmp_path, rows, "first"), *MERGE_ON_READ)
    model = {r["id"]: r for r in rows}
    support.run_inlet("delete", table, "--where", "id < 10")
    for k in range(10):
        del model[k]
    assert all(p.endswith("-deletes.parquet") for p in _live_delete_files(table))
    support.run_inlet("alter", table, "--property", "format-version=3")
    meta = _static(table).metadata
    assert meta.format_version == 3 and meta.next_row_id == 40, meta.next_row_id
    support.run_inlet("delete", table, "--where", "id >= 30")
    for k in range(30, 40):
        del model[k]
    _check(table, model, "after the upgrade's first delete")
    vectors = _deletion_vectors(table)
    assert len(vectors) == 2 and sum(n for _, n in vectors) == 20, vectors
    assert all(p.endswith("-dv.puffin") for p in _live_delete_files(table))
    summary = _static(table).current_snapshot().summary
    assert summary["added-dvs"] == "2" and summary["removed-position-delete-files"] == "2", summary
    assert summary["total-position-deletes"] == "20", summary
