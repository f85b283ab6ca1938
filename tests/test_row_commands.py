"""inlet delete and inlet update (issue 20, item 3.1): rows chosen by --where, changed in
one commit, against a model computed with pyarrow on the same rows.

Each case is read back with deltalake's query engine and DuckDB, on copy-on-write tables
and on tables with deletion vectors, and on a table delta-rs wrote itself. Refusals leave
the log exactly as it was.
"""
from __future__ import annotations

import datetime
import json
import random

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import oracle
import support

DV = ["--property", "delta.enableDeletionVectors=true"]


def _rows(n: int = 400, seed: int = 3) -> pa.Table:
    rng = random.Random(seed)
    return pa.table({
        "id": pa.array(range(n), pa.int64()),
        "region": pa.array([rng.choice(["north", "south", "east", ""]) or None for _ in range(n)]),
        "amount": pa.array([rng.randrange(1000) if rng.random() > 0.05 else None for _ in range(n)], pa.int64()),
        "day": pa.array([datetime.date(2024, 3, 1 + i % 5) for i in range(n)], pa.date32()),
    })


def _make(tmp_path, *args, name="t", batches=4):
    table = tmp_path / name
    data = _rows()
    step = data.num_rows // batches
    for i in range(batches):  # several files
        support.write(table, data.slice(i * step, step), *args, work_dir=tmp_path / f"in-{name}")
    return table, data


def _json(proc) -> dict:
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _check(table, expected: pa.Table, context: str) -> None:
    want = sorted(expected.to_pylist(), key=lambda r: r["id"])
    for name, read in (("deltalake", oracle.read_deltalake), ("duckdb", oracle.read_duckdb)):
        got = sorted(read(table).select(expected.column_names).to_pylist(), key=lambda r: r["id"])
        assert len(got) == len(want), (context, name, len(got), len(want))
        assert got == want, (context, name)


@pytest.mark.parametrize("layout", ["plain", "partitioned", "deletion-vectors"])
def test_delete_where_removes_exactly_the_matching_rows(tmp_path, layout):
    args = {"plain": [], "partitioned": ["--partition-by", "day"], "deletion-vectors": DV}[layout]
    table, data = _make(tmp_path, *args)
    out = _json(support.run_inlet("delete", table, "--where", "amount < 300 AND region = 'north'", "--json"))
    keep = pc.invert(pc.fill_null(pc.and_(pc.less(data["amount"], 300), pc.equal(data["region"], "north")), False))
    expected = data.filter(keep)
    assert out["rows_deleted"] == data.num_rows - expected.num_rows > 0, out
    if layout == "deletion-vectors":
        assert out["files_marked"] > 0 and out["files_rewritten"] == 0, out
    _check(table, expected, "delete amount < 300 AND region = 'north'")
    # Nulls never match a comparison; IS NULL selects them.
    out = _json(support.run_inlet("delete", table, "--where", "amount IS NULL", "--json"))
    expected = expected.filter(pc.is_valid(expected["amount"]))
    assert out["rows_deleted"] > 0, out
    _check(table, expected, "delete amount IS NULL")
    from deltalake import DeltaTable  # the operations are in the history delta-rs reads
    ops = [h["operation"] for h in DeltaTable(str(table)).history()]
    assert ops[:2] == ["DELETE", "DELETE"], ops


def test_a_delete_by_partition_removes_files_unread(tmp_path):
    table, data = _make(tmp_path, "--partition-by", "day")
    out = _json(support.run_inlet("delete", table, "--where", "day <= 2024-03-02", "--json"))
    expected = data.filter(pc.greater(data["day"], pa.scalar(datetime.date(2024, 3, 2))))
    assert out["rows_deleted"] == data.num_rows - expected.num_rows, out
    assert out["files_scanned"] == 0 and out["files_rewritten"] > 0, out
    _check(table, expected, "delete by partition")


@pytest.mark.parametrize("layout", ["plain", "deletion-vectors", "change-data-feed"])
def test_update_sets_the_columns_of_the_matching_rows(tmp_path, layout):
    args = {"plain": ["--partition-by", "region"], "deletion-vectors": DV,
            "change-data-feed": ["--property", "delta.enableChangeDataFeed=true"]}[layout]
    table, data = _make(tmp_path, *args)
    version = oracle.log_versions(table)[-1]
    out = _json(support.run_inlet("update", table, "--set", "region='west side'", "--set", "amount=NULL",
                                  "--set", "day=2025-01-01", "--where", "amount >= 900", "--json"))
    hit = pc.fill_null(pc.greater_equal(data["amount"], 900), False)
    n = pc.sum(hit.cast(pa.int64())).as_py()
    assert out["rows_updated"] == n > 0, out
    expected = pa.table({
        "id": data["id"],
        "region": pc.if_else(hit, pa.scalar("west side"), data["region"]),
        "amount": pc.if_else(hit, pa.scalar(None, pa.int64()), data["amount"]),
        "day": pc.if_else(hit, pa.scalar(datetime.date(2025, 1, 1)), data["day"]),
    })
    _check(table, expected, "update")
    if layout == "change-data-feed":
        changes = support.run_inlet("changes", table, "--from-version", version + 1, "--output-format", "ndjson").stdout
        kinds = sorted(json.loads(line)["_change_type"] for line in changes.splitlines())
        assert kinds == ["update_postimage"] * n + ["update_preimage"] * n, kinds
        from deltalake import DeltaTable
        cdf = DeltaTable(str(table)).load_cdf(starting_version=version + 1).read_all()
        assert sorted(cdf["_change_type"].to_pylist()) == kinds


def test_dry_runs_and_misses_change_nothing(tmp_path):
    table, data = _make(tmp_path)
    before = support.log_snapshot(table)
    out = _json(support.run_inlet("delete", table, "--where", "amount > 500", "--dry-run", "--json"))
    assert out["rows_deleted"] > 0 and out["version"] == -1, out
    out = _json(support.run_inlet("update", table, "--set", "amount=1", "--where", "id > 100000", "--json"))
    assert out["rows_updated"] == 0 and not out["changed"], out
    assert support.log_snapshot(table) == before
    _check(table, data, "unchanged")


def test_refusals_name_the_problem_and_leave_the_table(tmp_path):
    table, data = _make(tmp_path)
    before = support.log_snapshot(table)
    cases = [
        (("delete", table), "needs --where"),
        (("delete", table, "--where", "nosuch = 1"), "nosuch"),
        (("delete", table, "--where", "amount = 'many'"), "amount"),
        (("update", table, "--set", "amount='lots'", "--where", "id = 1"), "cannot set 'amount'"),
        (("update", table, "--set", "nosuch=1", "--all"), "no column 'nosuch'"),
        (("update", table, "--set", "amount", "--all"), "column=value"),
        (("delete", tmp_path / "absent", "--all"), "absent"),
    ]
    for args, needle in cases:
        line = support.expect_refusal(*args)
        assert needle in line, (args, line)
    assert support.log_snapshot(table) == before
    _check(table, data, "after refusals")


def test_a_table_delta_rs_wrote_is_deleted_from_and_read_back(tmp_path):
    from deltalake import DeltaTable, write_deltalake
    data = _rows(200)
    table = tmp_path / "rs"
    write_deltalake(str(table), data.slice(0, 100))
    write_deltalake(str(table), data.slice(100), mode="append")
    support.run_inlet("delete", table, "--where", "id >= 50 AND id < 150")
    support.run_inlet("update", table, "--set", "amount=7", "--where", "id < 10")
    expected = data.filter(pc.invert(pc.and_(pc.greater_equal(data["id"], 50), pc.less(data["id"], 150))))
    hit = pc.less(expected["id"], 10)
    expected = expected.set_column(2, "amount", pc.if_else(hit, pa.scalar(7, pa.int64()), expected["amount"]))
    _check(table, expected, "delta-rs table")
    DeltaTable(str(table)).delete("id = 0")  # delta-rs still writes it
    assert oracle.read_deltalake(table).num_rows == expected.num_rows - 1
