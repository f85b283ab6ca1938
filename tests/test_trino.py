"""Trino 476's Delta Lake connector reads what inlet writes, and filters it correctly.

Trino reads the JSON numbers of decimal statistics as doubles. A bound with more digits
than a double holds comes back rounded, and when it is rounded inward Trino skips files
that hold matching rows (issue 20, item 3.6). inlet writes such bounds outward, so every
predicate counts in Trino what pyarrow counts on the same rows; the same table with the
bounds other writers give (the exact values) shows the hazard is real. One Trino server
serves the whole run (conftest.py: trino).
"""
from __future__ import annotations

import datetime
import decimal
import json
import random

import pyarrow as pa
import pyarrow.compute as pc

import oracle
import support


def _decimals(n: int, seed: int) -> pa.Table:
    rng = random.Random(seed)
    d18 = [decimal.Decimal(rng.randrange(-10**17, 10**17)).scaleb(-6) for _ in range(n)]
    d38 = [decimal.Decimal(rng.randrange(-10**37, 10**37)).scaleb(-10) for _ in range(n)]
    return pa.table({"id": pa.array(range(n), pa.int64()),
                     "d18": pa.array(d18, pa.decimal128(18, 6)),
                     "d38": pa.array(d38, pa.decimal128(38, 10))})


def _count(data: pa.Table, column: str, op: str, value: decimal.Decimal) -> int:
    fn = {">": pc.greater, ">=": pc.greater_equal, "<": pc.less, "<=": pc.less_equal, "=": pc.equal}[op]
    return pc.sum(fn(data[column], pa.scalar(value, data.schema.field(column).type)).cast(pa.int64())).as_py() or 0


def test_wide_decimal_bounds_filter_every_row_in_trino(trino, tmp_path):
    data = _decimals(400, 11)
    table = tmp_path / "dec"
    for i in range(40):  # one file per 10 rows: pruning decides which files are read
        support.write(table, data.slice(i * 10, 10), work_dir=tmp_path / "in")
    name = trino.register(table)
    rng = random.Random(12)
    checked = 0
    for column in ("d18", "d38"):
        values = data[column].to_pylist()
        for value in rng.sample(values, 10) + [max(values), min(values)]:
            for op in (">", ">=", "<", "<=", "="):
                got = trino.query(f"SELECT count(*) FROM {name} WHERE {column} {op} DECIMAL '{value}'")[0][0]
                assert got == _count(data, column, op, value), (column, op, value)
                checked += 1
    assert checked == 2 * 12 * 5
    # The case: one decimal(18,6) row, WHERE d > 0.
    one = tmp_path / "one"
    (tmp_path / "one.csv").write_text("id,d\n1,12345678901.123456\n")
    support.run_inlet("write", one, "--input", tmp_path / "one.csv", "--schema", "id:long,d:decimal(18,6)")
    assert trino.query(f"SELECT count(*) FROM {trino.register(one)} WHERE d > 0")[0][0] == 1


def test_exact_bounds_are_what_trino_drops_rows_for(trino, tmp_path):
    """The same one-row table with the exact bound other writers record: Trino finds
    nothing. (If a later Trino reads them exactly this fails, and the check is moot.)"""
    one = tmp_path / "exact"
    (tmp_path / "one.csv").write_text("id,d\n1,12345678901.123456\n")
    support.run_inlet("write", one, "--input", tmp_path / "one.csv", "--schema", "id:long,d:decimal(18,6)")
    log = one / "_delta_log" / "00000000000000000000.json"
    lines = []
    for line in log.read_text().splitlines():
        action = json.loads(line)
        if "add" in action:
            stats = json.loads(action["add"]["stats"])
            stats["minValues"]["d"] = stats["maxValues"]["d"] = decimal.Decimal("12345678901.123456")
            action["add"]["stats"] = json.dumps(stats, default=str).replace('"12345678901.123456"', "12345678901.123456")
        lines.append(json.dumps(action))
    log.write_text("\n".join(lines) + "\n")
    assert trino.query(f"SELECT count(*) FROM {trino.register(one)} WHERE d > 0")[0][0] == 0


def test_trino_reads_what_inlet_writes(trino, tmp_path):
    utc = datetime.timezone.utc
    n = 120
    data = pa.table({
        "id": pa.array(range(n), pa.int64()),
        "region": pa.array([["", None, "x", "y"][i % 4] for i in range(n)], pa.string()),
        "at": pa.array([datetime.datetime(2024, 3, 9, i % 24, i % 60, tzinfo=utc) for i in range(n)],
                       pa.timestamp("us", tz="UTC")),
        "day": pa.array([datetime.date(2024, 3, 1 + i % 7) for i in range(n)], pa.date32()),
        "amount": pa.array([decimal.Decimal(i).scaleb(-2) for i in range(n)], pa.decimal128(10, 2)),
    })
    table = tmp_path / "t"
    for i in range(3):
        support.write(table, data.slice(i * 40, 40), "--partition-by", "region",
                      "--property", "delta.enableDeletionVectors=true", work_dir=tmp_path / "in")
    support.run_inlet("delete", table, "--where", "id >= 100 AND amount < 1.10")
    support.run_inlet("update", table, "--set", "day=2025-01-01", "--where", "id < 5")
    name = trino.register(table)
    rows = trino.query(f"SELECT id, region, day, amount FROM {name}")
    got = sorted((r[0], r[1], r[2], r[3]) for r in rows)
    theirs = oracle.read_deltalake(table)
    expected = sorted(zip(*(theirs[c].to_pylist() for c in ("id", "region", "day", "amount"))))
    assert got == expected
    assert len(got) == n - 10
    # Empty partition strings are nulls in Trino too.
    nulls = theirs["region"].null_count
    assert nulls == 54  # 60 written ('' and null), 6 of them deleted
    assert trino.query(f"SELECT count(*) FROM {name} WHERE region IS NULL")[0][0] == nulls
