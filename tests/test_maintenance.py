"""Table maintenance: optimize (bin-packing, Z-order), vacuum, checkpoints and log cleanup.

Each test runs on local disk and on the MinIO fixture (the ``place`` fixture), and checks
what the peers read afterwards: deltalake and DuckDB must read exactly the rows they read
before, and time travel must still work wherever the retention promises it.
"""
from __future__ import annotations

import json
import os
import random
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import oracle


def write_batch(place, tmp_path, name, rows, *extra):
    path = tmp_path / f"in-{random.getrandbits(48):x}.parquet"
    pq.write_table(pa.Table.from_pylist(rows), path)
    return place.inlet("write", place.uri(name), "--input", path, *extra)


def rows_of(table):
    """The rows, columns by name and rows sorted: equal whatever order a reader uses."""
    return sorted(oracle.canonical_rows(table, sorted(table.column_names)))


def data_files(place, name):
    return {p for p in place.files(name) if p.endswith(".parquet") and not p.startswith("_")}


def many_small_appends(place, tmp_path, name, n=12, per=5, partitioned=True):
    rows = []
    for i in range(n):
        batch = [{"id": i * per + j, "p": "ab"[(i + j) % 2], "v": f"v{i}-{j}", "x": float(j)} for j in range(per)]
        rows += batch
        write_batch(place, tmp_path, name, batch, *(["--partition-by", "p"] if partitioned else []))
    return rows


def test_optimize_compacts_each_partition_and_changes_no_rows(place, tmp_path):
    many_small_appends(place, tmp_path, "t")
    before = rows_of(place.read_deltalake("t"))
    files_before = data_files(place, "t")
    assert len(files_before) == 24
    r = json.loads(place.inlet("optimize", place.uri("t"), "--json").stdout)
    assert r["version"] == 12 and r["attempts"] == 1
    assert r["before"]["files"] == 24 and r["after"]["files"] == 2  # one file per partition
    assert r["files_removed"] == 24 and r["files_added"] == 2 and r["partitions_optimized"] == 2
    assert r["rows"] == 60
    dt = place.delta_table("t")
    live = dt.file_uris()
    assert len(live) == 2
    assert rows_of(place.read_deltalake("t")) == before
    assert rows_of(place.read_duckdb("t")) == before
    history = dt.history(1)[0]
    assert history["operation"] == "OPTIMIZE"
    # The compaction changed no data: its log entry says so for every action.
    log = place.fs.open_input_stream(f"{place._fs_base}/t/_delta_log/{12:020d}.json").read().decode()
    actions = [json.loads(line) for line in log.splitlines()]
    changes = [a[k]["dataChange"] for a in actions for k in ("add", "remove") if k in a]
    assert len(changes) == 26 and not any(changes)
    # Older versions still read their own files.
    assert rows_of(place.read_deltalake("t", version=11)) == before
    # Nothing left to do.
    again = json.loads(place.inlet("optimize", place.uri("t"), "--json").stdout)
    assert again["version"] == -1 and again["files_removed"] == 0 and again["after"] == again["before"]
    assert place.delta_table("t").version() == 12


def test_optimize_where_and_target_size(place, tmp_path):
    many_small_appends(place, tmp_path, "t", n=8)
    big = [{"id": 1000 + i, "p": "a", "v": f"big-{i}" * 20, "x": float(i)} for i in range(3000)]
    write_batch(place, tmp_path, "t", big)
    dt = place.delta_table("t")
    sizes = {a: s for a, s in zip(dt.get_add_actions(flatten=True).column("path").to_pylist(),
                                  dt.get_add_actions(flatten=True).column("size_bytes").to_pylist())}
    big_file = max(sizes, key=sizes.get)
    target = sizes[big_file] - 1
    before = rows_of(place.read_deltalake("t"))
    r = json.loads(place.inlet("optimize", place.uri("t"), "--where", "p = 'a'", "--target-size", target,
                               "--json").stdout)
    assert r["partitions_optimized"] == 1 and r["files_removed"] == 8 and r["files_added"] == 1
    after = place.delta_table("t")
    paths = set(after.get_add_actions(flatten=True).column("path").to_pylist())
    assert big_file in paths  # already large enough: left alone
    parts = after.get_add_actions(flatten=True).column("partition.p").to_pylist()
    assert parts.count("b") == 8 and parts.count("a") == 2  # partition b untouched
    assert rows_of(place.read_duckdb("t")) == before


def test_zorder_clusters_rows_so_statistics_prune_files(tmp_path, place):
    rng = random.Random(7)
    rows = [{"id": i, "x": rng.randrange(1000), "y": rng.randrange(1000), "pad": "z" * 40} for i in range(20000)]
    for k in range(8):
        write_batch(place, tmp_path, "t", rows[k * 2500:(k + 1) * 2500])
    before = rows_of(place.read_deltalake("t"))
    size = sum(place.delta_table("t").get_add_actions(flatten=True).column("size_bytes").to_pylist())
    boxes = [((0, 199), (0, 199)), ((600, 799), (100, 299)), ((0, 199), (800, 999)), ((700, 999), (700, 999))]

    def overlaps(actions):
        def one(box):
            (x0, x1), (y0, y1) = box
            return sum(1 for a in actions
                       if a["min.x"] <= x1 and a["max.x"] >= x0 and a["min.y"] <= y1 and a["max.y"] >= y0)
        return [one(box) for box in boxes]

    # Random placement makes every file span the whole square: every box overlaps every file.
    assert overlaps(pa.table(place.delta_table("t").get_add_actions(flatten=True)).to_pylist()) == [8] * 4
    r = json.loads(place.inlet("optimize", place.uri("t"), "--zorder-by", "x,y", "--target-size", size // 8,
                               "--json").stdout)
    assert r["files_removed"] == 8 and r["files_added"] >= 4
    assert rows_of(place.read_deltalake("t")) == before
    assert rows_of(place.read_duckdb("t")) == before
    assert place.delta_table("t").history(1)[0]["operationParameters"]["zOrderBy"] == '["x","y"]'
    actions = pa.table(place.delta_table("t").get_add_actions(flatten=True)).to_pylist()
    # In Z-order, a box within a quarter of the square overlaps few of the files: each box
    # skips some, and of the four boxes' file reads at most half remain. (How many files
    # the rows fill depends on how well they compress, so the bound is relative.)
    counts = overlaps(actions)
    n = len(actions)
    assert max(counts) < n and sum(counts) <= n * len(boxes) // 2, (n, counts)


@pytest.mark.parametrize("args,message", [
    (["--where", "v = 'x'"], "may only use partition columns, and 'v' is not one (partition columns: p)"),
    (["--where", "nope = 1"], "nope"),
    (["--zorder-by", "p"], "Z-order column 'p' is a partition column"),
    (["--zorder-by", "x,nope"], "Z-order column 'nope' is not in the table"),
    (["--target-size", "0"], "--target-size must be a positive number of bytes"),
])
def test_optimize_refuses_bad_arguments_and_changes_nothing(tmp_path, args, message, run_inlet):
    from table_place import TablePlace
    place = TablePlace.local(tmp_path / "tables")
    many_small_appends(place, tmp_path, "t", n=3)
    log_before = place.files("t", "_delta_log")
    r = place.inlet("optimize", place.uri("t"), *args, check=False)
    assert r.returncode == 1
    assert r.stderr.count("\n") == 1 and message in r.stderr, r.stderr
    assert place.files("t", "_delta_log") == log_before


def test_optimize_of_a_missing_table_fails_clearly(tmp_path, run_inlet):
    r = run_inlet("optimize", tmp_path / "none", check=False)
    assert r.returncode == 1 and "not a Delta table" in r.stderr
    assert not (tmp_path / "none").exists()


def test_vacuum_deletes_only_what_no_retained_version_reads(place, tmp_path):
    many_small_appends(place, tmp_path, "t", n=6)
    write_batch(place, tmp_path, "t", [{"id": 1, "p": "a", "v": "over", "x": 1.0}], "--mode", "overwrite-partitions")
    place.inlet("optimize", place.uri("t"))
    current = rows_of(place.read_deltalake("t"))
    live = {a for a in place.delta_table("t").get_add_actions(flatten=True).column("path").to_pylist()}
    # Files vacuum must never touch: the log and hidden directories.
    place.put("t", "_tmp/leftover.parquet", b"x")
    log_before = place.files("t", "_delta_log")
    stale = data_files(place, "t") - live
    assert len(stale) == 12

    # Within the default retention (a week) nothing is old enough.
    r = json.loads(place.inlet("vacuum", place.uri("t"), "--dry-run", "--json").stdout)
    assert r["retention_hours"] == 168 and r["files"] == [] and r["deleted"]["files"] == 0

    # A retention shorter than the table's is refused unless forced.
    refused = place.inlet("vacuum", place.uri("t"), "--retention-hours", "0", check=False)
    assert refused.returncode == 1 and "delta.deletedFileRetentionDuration is 168 hours" in refused.stderr

    # With a retention of 3.6 s: files removed longer ago than that go, and an unreferenced
    # file written just now stays (it may belong to a commit in progress).
    time.sleep(3.7)
    place.put("t", "p=b/fresh-orphan.parquet", b"y")
    vacuum = ["vacuum", place.uri("t"), "--retention-hours", "0.001", "--force", "--json"]
    dry = json.loads(place.inlet(*vacuum, "--dry-run").stdout)
    assert set(dry["files"]) == stale
    assert data_files(place, "t") == live | stale | {"p=b/fresh-orphan.parquet"}  # a dry run deletes nothing
    time.sleep(3.7)
    done = json.loads(place.inlet(*vacuum).stdout)
    assert set(done["files"]) == stale | {"p=b/fresh-orphan.parquet"}
    assert done["deleted"]["files"] == 13 and done["after"]["files"] == done["before"]["files"] - 13
    assert data_files(place, "t") == live
    assert "_tmp/leftover.parquet" in place.files("t")
    log_after = place.files("t", "_delta_log")
    assert {k: v for k, v in log_after.items() if k in log_before} == log_before  # the log is only appended to
    ops = [h["operation"] for h in place.delta_table("t").history(2)]
    assert ops == ["VACUUM END", "VACUUM START"]
    assert rows_of(place.read_deltalake("t")) == current
    assert rows_of(place.read_duckdb("t")) == current


def test_vacuum_follows_the_table_retention_property(tmp_path, run_inlet):
    from table_place import TablePlace
    place = TablePlace.local(tmp_path / "tables")
    write_batch(place, tmp_path, "t", [{"id": 1}], "--property", "delta.deletedFileRetentionDuration=interval 1 second")
    write_batch(place, tmp_path, "t", [{"id": 2}], "--mode", "overwrite")
    time.sleep(1.2)
    r = json.loads(place.inlet("vacuum", place.uri("t"), "--json").stdout)
    assert r["retention_hours"] == pytest.approx(1 / 3600) and r["deleted"]["files"] == 1
    assert rows_of(place.read_deltalake("t")) == [(2,)]
    bad = run_inlet("write", tmp_path / "u", "--input", _one_row(tmp_path),
                    "--property", "delta.logRetentionDuration=forever", check=False)
    assert bad.returncode == 1 and "delta.logRetentionDuration" in bad.stderr and "interval" in bad.stderr


def _one_row(tmp_path):
    path = tmp_path / "one.parquet"
    pq.write_table(pa.table({"id": [1]}), path)
    return path


def test_vacuum_keeps_files_removed_within_the_retention_even_after_the_log_is_cleaned(tmp_path):
    # A file written long ago and removed just now must stay for time travel. Once the log is
    # cleaned up, only the checkpoint still knows about its removal.
    from table_place import TablePlace
    place = TablePlace.local(tmp_path / "tables")
    write_batch(place, tmp_path, "t", [{"id": 1}], "--property", "delta.logRetentionDuration=interval 0 seconds")
    (old,) = data_files(place, "t")
    ten_days_ago = time.time() - 10 * 24 * 3600
    os.utime(tmp_path / "tables" / "t" / old, (ten_days_ago, ten_days_ago))
    write_batch(place, tmp_path, "t", [{"id": 2}], "--mode", "overwrite")
    for i in range(3):
        write_batch(place, tmp_path, "t", [{"id": 3 + i}])
    time.sleep(0.05)
    place.inlet("checkpoint", place.uri("t"))
    assert sorted(place.files("t", "_delta_log")) == ["_delta_log/00000000000000000004.checkpoint.parquet",
                                                       "_delta_log/00000000000000000004.json",
                                                       "_delta_log/_last_checkpoint"]
    checkpoint = pq.read_table(tmp_path / "tables/t/_delta_log/00000000000000000004.checkpoint.parquet")
    removes = [r for r in checkpoint.column("remove").to_pylist() if r]
    assert [r["path"] for r in removes] == [old]
    r = json.loads(place.inlet("vacuum", place.uri("t"), "--json").stdout)
    assert r["deleted"]["files"] == 0 and old in data_files(place, "t")


def test_checkpoints_and_expired_log_cleanup_keep_every_remaining_version_readable(place, tmp_path):
    rows = []
    for i in range(25):
        batch = [{"id": i, "v": f"r{i}"}]
        rows += batch
        extra = ["--property", "delta.logRetentionDuration=interval 0 seconds"] if i == 0 else []
        write_batch(place, tmp_path, "t", batch, *extra)
    # Automatic checkpoints at 10 and 20 (delta.checkpointInterval); the cleanup after the one
    # at 20 removed everything older, since the retention is zero.
    log = sorted(place.files("t", "_delta_log"))
    assert log == ["_delta_log/00000000000000000020.checkpoint.parquet"] + \
        [f"_delta_log/{v:020d}.json" for v in range(20, 25)] + ["_delta_log/_last_checkpoint"]
    expected = rows_of(pa.Table.from_pylist(rows))
    assert rows_of(place.read_deltalake("t")) == expected
    assert rows_of(place.read_duckdb("t")) == expected
    assert rows_of(place.read_deltalake("t", version=22)) == expected[:23]
    assert rows_of(place.read_duckdb("t", version=21)) == expected[:22]
    gone = place.inlet("scan", place.uri("t"), "--version", "5", check=False)
    assert gone.returncode == 1 and "version 5" in gone.stderr

    r = json.loads(place.inlet("checkpoint", place.uri("t"), "--json").stdout)
    assert r["version"] == 24 and r["checkpoint_bytes"] > 0
    assert r["log_before"]["files"] == 7 and r["log_after"]["files"] == 3
    assert sorted(place.files("t", "_delta_log")) == ["_delta_log/00000000000000000024.checkpoint.parquet",
                                                       "_delta_log/00000000000000000024.json",
                                                       "_delta_log/_last_checkpoint"]
    assert rows_of(place.read_deltalake("t")) == expected
    assert rows_of(place.read_duckdb("t")) == expected
    # And the table goes on.
    write_batch(place, tmp_path, "t", [{"id": 25, "v": "r25"}])
    assert len(place.read_deltalake("t")) == 26


def test_checkpoint_with_the_default_retention_deletes_no_log_file(place, tmp_path):
    for i in range(5):
        write_batch(place, tmp_path, "t", [{"id": i}])
    r = json.loads(place.inlet("checkpoint", place.uri("t"), "--json").stdout)
    assert r["version"] == 4
    assert r["log_before"]["files"] == 5 and r["log_after"]["files"] == 7  # + checkpoint, _last_checkpoint
    assert json.loads(place.fs.open_input_stream(f"{place._fs_base}/t/_delta_log/_last_checkpoint").read())["version"] == 4
    assert rows_of(place.read_deltalake("t", version=0)) == [(0,)]
    assert len(place.read_duckdb("t")) == 5


def test_deletion_vectors_survive_vacuum_and_optimize_folds_them_in(place, tmp_path):
    # A table that writes deletion vectors: merges mark rows instead of rewriting files.
    write_batch(place, tmp_path, "t", [{"id": i, "v": f"a{i}"} for i in range(50)],
                "--property", "delta.enableDeletionVectors=true")
    for round_no in range(3):
        src = tmp_path / f"m{round_no}.parquet"
        pq.write_table(pa.table({"id": pa.array([round_no, 10 + round_no, 100 + round_no], pa.int64()),
                                 "v": [f"u{round_no}"] * 3}), src)
        r = json.loads(place.inlet("merge", place.uri("t"), "--input", src, "--keys", "id", "--json").stdout)
        assert r["files_marked"] >= 1 and r["files_rewritten"] == 0
    dvs = {p for p in place.files("t") if p.startswith("deletion_vector_")}
    assert len(dvs) == 3
    rows = rows_of(place.read_deltalake("t"))
    assert len(rows) == 53 and rows_of(place.read_duckdb("t")) == rows
    # Only the last DV of the first file is live; older ones are unreferenced.
    v = json.loads(place.inlet("vacuum", place.uri("t"), "--retention-hours", "0", "--force", "--json").stdout)
    left = {p for p in place.files("t") if p.startswith("deletion_vector_")}
    assert len(left) == 1 and left <= dvs and v["deleted"]["files"] >= 2
    assert rows_of(place.read_deltalake("t")) == rows and rows_of(place.read_duckdb("t")) == rows
    # Compaction applies the DVs: the new file holds only live rows and has no DV.
    place.inlet("optimize", place.uri("t"))
    adds = place.delta_table("t").get_add_actions(flatten=True)
    assert adds.num_rows == 1 and rows_of(place.read_duckdb("t")) == rows
    place.inlet("vacuum", place.uri("t"), "--retention-hours", "0", "--force")
    assert not {p for p in place.files("t") if p.startswith("deletion_vector_")}
    assert rows_of(place.read_deltalake("t")) == rows
