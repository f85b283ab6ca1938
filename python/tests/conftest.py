"""Tests of the inlet Python package, run in a fresh virtual environment with the wheel
installed (scripts/python_tests.sh). They talk to the package only through its public
API; peers (deltalake, polars, DuckDB) check what it writes."""
from __future__ import annotations

import pyarrow as pa
import pytest


@pytest.fixture
def orders() -> pa.Table:
    return pa.table({
        "id": pa.array([1, 2, 3, 4], pa.int64()),
        "customer": ["ann", "bob", "cid", "dee"],
        "amount": pa.array([10.5, 20.0, 7.25, 99.0], pa.float64()),
        "day": pa.array(["2024-05-01", "2024-05-01", "2024-05-02", "2024-05-02"]),
    })


def rows(table: pa.Table, key: str = "id") -> list[dict]:
    """The rows as dicts, sorted by key: tables compare regardless of file order."""
    return sorted(table.to_pylist(), key=lambda r: r[key])
