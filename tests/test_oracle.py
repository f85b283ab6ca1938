"""The comparison in oracle.py forgives representation and nothing else."""

from __future__ import annotations

import datetime
import decimal

import pyarrow as pa
import pytest

import oracle

UTC = datetime.timezone.utc


def _diff(a: pa.Table, b: pa.Table, **kw):
    return oracle.diff_tables(a, b, **kw)


def test_row_order_and_column_order_are_ignored():
    a = pa.table({"x": [1, 2, 3], "y": ["a", "b", "c"]})
    b = pa.table({"y": ["c", "a", "b"], "x": [3, 1, 2]})
    assert _diff(a, b) is None
    assert "column order" in _diff(a, b, check_column_order=True)


def test_duplicates_count():
    a = pa.table({"x": [1, 1, 2]})
    b = pa.table({"x": [1, 2, 2]})
    report = _diff(a, b)
    assert report is not None and "only in actual: (1,)" in report and "only in expected: (2,)" in report


@pytest.mark.parametrize(
    "left, right",
    [
        (pa.array(["a", None], pa.string()), pa.array(["a", None], pa.large_string())),
        (pa.array(["a", None], pa.string()), pa.array(["a", None], pa.string_view())),
        (pa.array(["a", "a", None]).dictionary_encode(), pa.array(["a", "a", None])),
        (pa.array([b"\x00", None], pa.binary()), pa.array([b"\x00", None], pa.large_binary())),
        (
            pa.array([1_700_000_000_123_456], pa.timestamp("us", tz="UTC")),
            pa.array([1_700_000_000_123_456_000], pa.timestamp("ns", tz="Etc/UTC")),
        ),
        (
            pa.array([1_700_000_000_123], pa.timestamp("ms", tz="UTC")),
            pa.array([1_700_000_000_123_000], pa.timestamp("us", tz="America/New_York")),
        ),
        (pa.array([19000, None], pa.date32()), pa.array([19000 * 86_400_000, None], pa.date64())),
        (
            pa.array([decimal.Decimal("1.10")], pa.decimal128(10, 2)),
            pa.array([decimal.Decimal("1.10")], pa.decimal256(10, 2)),
        ),
        (pa.array([float("nan"), None, -0.0]), pa.array([float("nan"), None, 0.0])),
        (
            pa.array([[1, None], None, []], pa.list_(pa.int32())),
            pa.array([[1, None], None, []], pa.large_list(pa.int32())),
        ),
        (
            pa.array([[("k", 1), ("j", 2)], None], pa.map_(pa.string(), pa.int64())),
            pa.array([[("j", 2), ("k", 1)], None], pa.map_(pa.large_string(), pa.int64())),
        ),
    ],
    ids=[
        "large_string", "string_view", "dictionary", "large_binary", "ts_unit_tzname",
        "ts_ms_vs_us", "date64", "decimal256", "nan_and_negzero", "large_list", "map_order",
    ],
)
def test_representation_differences_are_forgiven(left, right):
    assert _diff(pa.table({"c": left}), pa.table({"c": right})) is None


@pytest.mark.parametrize(
    "left, right",
    [
        (pa.array([1], pa.int64()), pa.array([2], pa.int64())),
        (pa.array([1], pa.int32()), pa.array([1], pa.int64())),  # a type change is a bug
        (pa.array([1.0], pa.float32()), pa.array([1.0], pa.float64())),
        (pa.array([float("nan")]), pa.array([None], pa.float64())),
        (pa.array([1.0]), pa.array([1.0000000000000002])),
        (pa.array(["a"]), pa.array([None], pa.string())),
        (pa.array(["a"]), pa.array([b"a"])),
        (
            pa.array([1_700_000_000_123_456], pa.timestamp("us", tz="UTC")),
            pa.array([1_700_000_000_123_456], pa.timestamp("us")),  # instant vs wall clock
        ),
        (
            pa.array([1_700_000_000_123_456_001], pa.timestamp("ns", tz="UTC")),
            pa.array([1_700_000_000_123_456], pa.timestamp("us", tz="UTC")),
        ),
        (
            pa.array([decimal.Decimal("1.10")], pa.decimal128(10, 2)),
            pa.array([decimal.Decimal("1.10")], pa.decimal128(10, 3)),
        ),
        (
            pa.array([{"a": 1, "b": None}]),
            pa.array([{"a": 1, "b": 2}]),
        ),
        (
            pa.array([[("k", 1)]], pa.map_(pa.string(), pa.int64())),
            pa.array([[("k", 2)]], pa.map_(pa.string(), pa.int64())),
        ),
    ],
    ids=[
        "value", "int_width", "float_width", "nan_vs_null", "last_ulp", "null_vs_value",
        "string_vs_binary", "tz_vs_ntz", "sub_microsecond", "decimal_scale", "struct_field",
        "map_value",
    ],
)
def test_real_differences_are_reported(left, right):
    assert _diff(pa.table({"c": left}), pa.table({"c": right})) is not None


def test_column_names_must_match():
    report = _diff(pa.table({"a": [1]}), pa.table({"b": [1]}))
    assert report is not None and "missing ['b']" in report


def test_edge_timestamps_survive_canonicalisation():
    year_9999 = datetime.datetime(9999, 12, 31, tzinfo=UTC)
    a = pa.table({"t": pa.array([year_9999], pa.timestamp("us", tz="UTC"))})
    b = pa.table({"t": pa.array([datetime.datetime(1816, 3, 29, tzinfo=UTC)], pa.timestamp("us", tz="UTC"))})
    assert _diff(a, a) is None
    assert _diff(a, b) is not None


def test_deltalake_and_duckdb_read_a_deltalake_table_alike(tmp_path):
    """Both oracles agree on a table holding every primitive type."""
    from deltalake import write_deltalake

    data = pa.table(
        {
            "i": pa.array([1, None, 3], pa.int64()),
            "f": pa.array([float("nan"), 1.5, None], pa.float32()),
            "s": pa.array(["ü 世界", None, ""]),
            "d": pa.array([decimal.Decimal("-1.23"), None, decimal.Decimal("0.00")], pa.decimal128(10, 2)),
            "t": pa.array([datetime.datetime(2024, 1, 1, 1, 2, 3, 456789, tzinfo=UTC), None, None],
                          pa.timestamp("us", tz="UTC")),
            "p": pa.array(["a b", "x/y", None]),
        }
    )
    write_deltalake(str(tmp_path), data, partition_by=["p"])
    oracle.assert_tables_equal(oracle.read_deltalake(tmp_path), data, "deltalake")
    oracle.assert_tables_equal(oracle.read_duckdb(tmp_path), data, "duckdb")
    oracle.assert_tables_equal(oracle.read_duckdb(tmp_path, version=0), data, "duckdb@v0")
