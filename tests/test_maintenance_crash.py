"""Optimize and vacuum killed at named points (INLET_CRASH_AT, SIGKILL), on local disk and MinIO.

A killed maintenance command must leave the table exactly as readable as before: readers see
the same rows, and a re-run finishes the job. What a killed optimize wrote but never
committed is an orphan that a later vacuum removes; a killed vacuum leaves files that no
retained version reads, which the next vacuum deletes.
"""
from __future__ import annotations

import json

import pytest

from test_maintenance import data_files, many_small_appends, rows_of

OPTIMIZE_POINTS = ["write.after_data_files", "commit.before_log_write", "commit.after_log_write"]
VACUUM_POINTS = ["commit.before_log_write", "vacuum.after_start", "vacuum.after_half_deleted", "vacuum.before_end"]


def killed(place, *args, point):
    proc = place.inlet(*args, env={"INLET_CRASH_AT": point}, check=False)
    assert proc.returncode == -9, f"INLET_CRASH_AT={point}: exit {proc.returncode}\n{proc.stderr}"


def live_files(place, name):
    return set(place.delta_table(name).get_add_actions(flatten=True).column("path").to_pylist())


def assert_reads(place, name, rows):
    assert rows_of(place.read_deltalake(name)) == rows
    assert rows_of(place.read_duckdb(name)) == rows


@pytest.mark.parametrize("point", OPTIMIZE_POINTS)
def test_optimize_killed_at_a_named_point(place, tmp_path, point):
    many_small_appends(place, tmp_path, "t", n=6)  # 12 files in 2 partitions, version 5
    rows = rows_of(place.read_deltalake("t"))
    killed(place, "optimize", place.uri("t"), point=point)
    committed = point == "commit.after_log_write"
    assert place.delta_table("t").version() == (6 if committed else 5)
    assert len(live_files(place, "t")) == (2 if committed else 12)
    assert_reads(place, "t", rows)
    # Before the commit, the 2 compacted files are written and unreferenced; after it, the
    # 12 small files are the unreferenced ones.
    unreferenced = data_files(place, "t") - live_files(place, "t")
    assert len(unreferenced) == (12 if committed else 2)
    orphans = set() if committed else unreferenced

    # The re-run finishes the job, or finds it done.
    r = json.loads(place.inlet("optimize", place.uri("t"), "--json").stdout)
    assert (r["version"] == -1) == committed
    assert place.delta_table("t").version() == 6
    assert len(live_files(place, "t")) == 2
    assert_reads(place, "t", rows)

    # What the killed run wrote but never committed is unreferenced: vacuum removes it with
    # the compacted small files, and readers are unaffected.
    v = json.loads(place.inlet("vacuum", place.uri("t"), "--retention-hours", "0", "--force", "--json").stdout)
    assert v["deleted"]["files"] == 12 + len(orphans)
    assert data_files(place, "t") == live_files(place, "t")
    assert_reads(place, "t", rows)


@pytest.mark.parametrize("point", VACUUM_POINTS)
def test_vacuum_killed_at_a_named_point(place, tmp_path, point):
    many_small_appends(place, tmp_path, "t", n=6)
    place.inlet("optimize", place.uri("t"))  # 12 small files removed, 2 live
    rows = rows_of(place.read_deltalake("t"))
    stale = data_files(place, "t") - live_files(place, "t")
    assert len(stale) == 12
    vacuum = ["vacuum", place.uri("t"), "--retention-hours", "0", "--force", "--json"]
    killed(place, *vacuum, point=point)
    left = data_files(place, "t") - live_files(place, "t")
    expected_left = {"commit.before_log_write": 12, "vacuum.after_start": 12,
                     "vacuum.after_half_deleted": 6, "vacuum.before_end": 0}[point]
    assert len(left) == expected_left and left <= stale
    ops = [h["operation"] for h in place.delta_table("t").history(1)]
    assert ops == (["OPTIMIZE"] if point == "commit.before_log_write" else ["VACUUM START"])
    assert_reads(place, "t", rows)

    r = json.loads(place.inlet(*vacuum).stdout)
    assert r["deleted"]["files"] == expected_left
    assert data_files(place, "t") == live_files(place, "t")
    if expected_left:
        assert [h["operation"] for h in place.delta_table("t").history(2)] == ["VACUUM END", "VACUUM START"]
    assert_reads(place, "t", rows)
