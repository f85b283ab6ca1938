"""A merge into a table that holds a key more than once (the same file appended twice): an
upsert updates every row of the key, as SQL's MERGE updates each target row a source row
matches; a snapshot leaves the extract's row once. Counts are never negative, no row goes
missing, on Delta (copy-on-write and deletion vectors) and Iceberg (copy-on-write, position
deletes, v3 deletion vectors), read back by deltalake, pyiceberg and DuckDB.
"""
from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import oracle
import support

SCHEMA = pa.schema([("id", pa.int64()), ("v", pa.string())])

LAYOUTS = {
    "delta": ["--format", "delta"],
    "delta_dv": ["--format", "delta", "--property", "delta.enableDeletionVectors=true"],
    "iceberg": ["--format", "iceberg"],
    "iceberg_mor": ["--format", "iceberg", "--property", "write.merge.mode=merge-on-read"],
    "iceberg_v3_dv": ["--format", "iceberg", "--property", "format-version=3",
                      "--property", "write.merge.mode=merge-on-read"],
}


def _input(tmp_path, rows, name):
    path = tmp_path / f"{name}.parquet"
    pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path)
    return path


def _table_with_each_key_twice(tmp_path, layout):
    table = tmp_path / "t"
    rows = [{"id": i, "v": f"old{i}"} for i in range(6)]
    path = _input(tmp_path, rows, "base")
    support.run_inlet("write", table, "--input", path, *LAYOUTS[layout])
    support.run_inlet("write", table, "--input", path)
    return table, rows


def _check(table, layout, want_rows, context):
    want = pa.Table.from_pylist(want_rows, schema=SCHEMA)
    oracle.assert_tables_equal(support.scan(table, out_dir=table.parent / "scan"), want, f"inlet, {context}")
    if layout.startswith("delta"):
        oracle.assert_tables_equal(oracle.read_deltalake(table), want, f"deltalake, {context}")
        oracle.assert_tables_equal(oracle.read_duckdb(table), want, f"DuckDB, {context}")
    else:
        oracle.assert_tables_equal(oracle.read_duckdb_iceberg(table), want, f"DuckDB, {context}")


def _merge(table, tmp_path, rows, *args):
    out = support.run_inlet("merge", table, "--keys", "id", "--input", _input(tmp_path, rows, "src"),
                            "--json", *args).stdout
    return json.loads(out)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_an_upsert_updates_every_row_of_a_key_the_table_holds_twice(tmp_path, layout):
    table, rows = _table_with_each_key_twice(tmp_path, layout)
    source = [{"id": 1, "v": "new1"}, {"id": 4, "v": "new4"}, {"id": 9, "v": "new9"}]
    dry = _merge(table, tmp_path, source, "--dry-run")
    report = _merge(table, tmp_path, source)
    for r in (dry, report):
        assert (r["rows_updated"], r["rows_inserted"], r["rows_deleted"]) == (4, 1, 0), r
    by_id = {1: "new1", 4: "new4"}
    want = [{"id": r["id"], "v": by_id.get(r["id"], r["v"])} for r in rows + rows] + [source[2]]
    _check(table, layout, want, "after the upsert")


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
def test_a_snapshot_leaves_each_key_of_the_extract_once(tmp_path, layout):
    table, rows = _table_with_each_key_twice(tmp_path, layout)
    # The extract: keys 0-2 as they were, 3 changed, 4-5 gone, 9 new.
    extract = rows[:3] + [{"id": 3, "v": "new3"}, {"id": 9, "v": "new9"}]
    report = _merge(table, tmp_path, extract, "--mode", "snapshot")
    # Deleted: the second row of keys 0-3 (kept or replaced once) and both rows of 4 and 5.
    assert (report["rows_updated"], report["rows_inserted"], report["rows_deleted"]) == (1, 1, 8), report
    _check(table, layout, extract, "after the snapshot")


@pytest.mark.parametrize("layout", ["delta", "iceberg"])
def test_a_change_older_than_a_later_copy_of_its_key_counts_no_update(tmp_path, layout):
    """With sequence_by, a source row newer than one copy of its key in the table and older
    than the other is late. Whether the older copy is met first (it is then gone for the
    newer one, counted deleted) or second (it stays) depends on the order the files are
    read; either way the counts say what happened, and never a negative insert."""
    table = tmp_path / "t"
    schema = pa.schema([("id", pa.int64()), ("seq", pa.int64()), ("v", pa.string())])

    def put(rows, name, *args):
        path = tmp_path / f"{name}.parquet"
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), path)
        return support.run_inlet(*args[:1], table, "--input", path, *args[1:])

    put([{"id": 1, "seq": 5, "v": "a"}], "a", "write", *LAYOUTS[layout])
    put([{"id": 1, "seq": 10, "v": "b"}], "b", "write")
    out = put([{"id": 1, "seq": 7, "v": "c"}], "c", "merge", "--keys", "id", "--sequence-by", "seq",
              "--json").stdout
    r = json.loads(out)
    assert (r["rows_inserted"], r["rows_updated"], r["late_discarded"]) == (0, 0, 1), r
    got = sorted(support.scan(table, out_dir=tmp_path / "scan").to_pylist(), key=lambda x: x["seq"])
    b = {"id": 1, "seq": 10, "v": "b"}
    assert got == ([b] if r["rows_deleted"] == 1 else [{"id": 1, "seq": 5, "v": "a"}, b]), (r, got)
