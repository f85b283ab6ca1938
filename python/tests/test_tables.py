"""Tables from Python: round trips with pyarrow, polars and DuckDB, read back by
deltalake (delta-rs), and every table operation."""
from __future__ import annotations

import datetime as dt
import time

import deltalake
import duckdb
import polars as pl
import pyarrow as pa
import pytest

import inlet
from conftest import rows


def test_pyarrow_round_trip_read_by_delta_rs(tmp_path, orders):
    t = inlet.write_table(tmp_path / "t", orders, partition_by=["day"])
    assert t.version == 0
    assert t.info().partition_columns == ["day"]
    assert rows(t.scan()) == rows(orders)
    assert rows(deltalake.DeltaTable(str(tmp_path / "t")).to_pyarrow_table()) == rows(orders)
    assert t.schema() == orders.schema
    assert t.count() == 4


def test_scan_columns_filter_limit_and_reader(tmp_path, orders):
    t = inlet.write_table(tmp_path / "t", orders)
    got = t.scan(columns=["customer", "id"], where="amount >= 10 AND day = '2024-05-01'")
    assert got.column_names == ["customer", "id"]
    assert rows(got) == [{"customer": "ann", "id": 1}, {"customer": "bob", "id": 2}]
    assert t.scan(limit=1).num_rows == 1
    reader = t.scan_batches(batch_size=2)
    assert isinstance(reader, pa.RecordBatchReader)
    assert sum(b.num_rows for b in reader) == 4


def test_polars_in_and_out(tmp_path, orders):
    frame = pl.from_arrow(orders)
    t = inlet.write_table(tmp_path / "t", frame)
    back = pl.from_arrow(t.scan()).sort("id")
    assert back.equals(frame.sort("id"))
    t.merge(pl.DataFrame({"id": [2, 9], "customer": ["bo", "new"], "amount": [1.0, 2.0],
                          "day": ["2024-05-03", "2024-05-03"]}), keys="id")
    assert pl.from_arrow(t.scan()).sort("id")["customer"].to_list() == \
        ["ann", "bo", "cid", "dee", "new"]


def test_duckdb_relations_in_and_out(tmp_path):
    rel = duckdb.sql("select range::bigint as id, 'x' || range as name from range(5000)")
    t = inlet.write_table(tmp_path / "t", rel)
    scanned = t.scan()
    assert scanned.num_rows == 5000
    count = duckdb.sql("select count(*), sum(id) from scanned").fetchone()
    assert count == (5000, sum(range(5000)))


def test_pandas_dicts_and_lists_of_dicts(tmp_path):
    import pandas as pd
    frame = pd.DataFrame({"id": [0, 1, 2], "v": ["z", "a", "b"]})
    t = inlet.write_table(tmp_path / "t", frame[frame.id > 0])  # an index of 1, 2: not written
    assert t.schema().names == ["id", "v"]
    t.write({"id": [3], "v": ["c"]})
    t.write([{"id": 4, "v": "d"}])
    assert [r["id"] for r in rows(t.scan())] == [1, 2, 3, 4]


def test_a_record_batch_reader_over_a_python_generator(tmp_path):
    schema = pa.schema([("id", pa.int64())])

    def batches():
        for i in range(10):
            yield pa.record_batch([pa.array(range(i * 100, i * 100 + 100), pa.int64())],
                                  schema=schema)

    produced = []

    def counted():
        for b in batches():
            produced.append(b.num_rows)
            yield b

    reader = pa.RecordBatchReader.from_batches(schema, counted())
    t = inlet.write_table(tmp_path / "t", reader)
    assert t.count() == 1000 and len(produced) == 10
    assert sorted(r["id"] for r in t.scan().to_pylist()) == list(range(1000))


def test_write_modes_and_time_travel(tmp_path, orders):
    t = inlet.write_table(tmp_path / "t", orders, partition_by="day")
    # Commit times are the log files' modification times, which the kernel keeps
    # coarsely (a few ms): leave a margin on both sides.
    time.sleep(0.05)
    before = dt.datetime.now(dt.timezone.utc)
    time.sleep(0.05)
    t.write(orders.slice(0, 1), mode="overwrite", replace_where="day = '2024-05-01'")
    assert sorted(r["id"] for r in t.scan().to_pylist()) == [1, 3, 4]
    t.write(orders.slice(3, 1), mode="overwrite_partitions")
    assert sorted(r["id"] for r in t.scan().to_pylist()) == [1, 4]
    t.write(orders.slice(0, 2), mode="overwrite")
    assert t.count() == 2
    assert t.scan(version=1).num_rows == 3
    assert t.scan(as_of=before).num_rows == 4  # version 0 was the latest then
    assert t.scan(as_of=dt.datetime.now(dt.timezone.utc)).num_rows == 2
    assert [h.operation for h in t.history()][:2] == ["WRITE", "WRITE"]
    assert len(t.history(limit=2)) == 2


def test_every_merge_mode(tmp_path, orders):
    t = inlet.write_table(tmp_path / "t", orders)
    change = pa.table({"id": pa.array([2, 5], pa.int64()), "customer": ["B", "E"],
                       "amount": [1.0, 2.0], "day": ["2024-05-09", "2024-05-09"]})
    r = t.merge(change, keys=["id"], dry_run=True)
    assert (r.rows_inserted, r.rows_updated, r.version) == (1, 1, -1)
    assert t.version == 0
    r = t.merge(change, keys=["id"])
    assert (r.rows_inserted, r.rows_updated, r.version) == (1, 1, 1)
    assert {x["id"]: x["customer"] for x in t.scan().to_pylist()}[2] == "B"

    r = t.merge(change.set_column(1, "customer", pa.array(["no", "no"])), keys="id",
                mode="insert_only")
    assert (r.rows_inserted, r.rows_updated) == (0, 0)
    r = t.merge(pa.table({"id": pa.array([5, 5], pa.int64()), "customer": ["E1", "E2"],
                          "amount": [3.0, 4.0], "day": ["d", "d"]}), keys="id",
                mode="delete_insert")
    assert sorted(x["customer"] for x in t.scan(where="id = 5").to_pylist()) == ["E1", "E2"]

    extract = pa.table({"id": pa.array([1, 2], pa.int64()), "customer": ["ann", "B"],
                        "amount": [10.5, 1.0], "day": ["2024-05-01", "2024-05-09"]})
    with pytest.raises(inlet.InvalidInputError, match=r"\(max_delete_percent\).*Nothing was committed"):
        t.merge(extract, keys="id", mode="snapshot", max_delete_percent=10)
    r = t.merge(extract, keys="id", mode="snapshot")
    assert r.rows_deleted == 4 and sorted(x["id"] for x in t.scan().to_pylist()) == [1, 2]
    r = t.merge(extract, keys="id", mode="snapshot")
    assert not r.changed and r.version == -1


def test_snapshot_soft_delete_and_keep(tmp_path, orders):
    t = inlet.Table.open_or_create(tmp_path / "t")
    two = orders.slice(0, 2)
    for extract in (orders, two):  # the first creates the table, with its flag column
        t.merge(extract, keys="id", mode="snapshot", missing="soft_delete",
                soft_delete_column="deleted")
    flags = {x["id"]: x["deleted"] for x in t.scan().to_pylist()}
    assert flags == {1: False, 2: False, 3: True, 4: True}
    t2 = inlet.write_table(tmp_path / "t2", orders)
    r = t2.merge(two, keys="id", mode="snapshot", missing="keep")
    assert not r.changed and t2.count() == 4
    with pytest.raises(inlet.InvalidInputError, match="soft_delete_column"):
        t2.merge(two, keys="id", mode="snapshot", missing="soft_delete")
    with pytest.raises(inlet.InvalidInputError, match="only to mode='snapshot'"):
        t2.merge(two, keys="id", missing="keep")


def test_cdc_merge_is_out_of_order_safe_and_keeps_history(tmp_path):
    schema = pa.schema([("id", pa.int64()), ("v", pa.string()), ("seq", pa.int64()),
                        ("op_delete", pa.bool_())])
    t = inlet.Table.open_or_create(tmp_path / "cdc")
    first = pa.table({"id": [1, 2], "v": ["a", "b"], "seq": [5, 5],
                      "op_delete": [False, False]}, schema=schema)
    t.merge(first, keys="id", sequence_by="seq", delete_flag="op_delete")
    late = pa.table({"id": [1, 2], "v": ["old", None], "seq": [3, 9],
                     "op_delete": [False, True]}, schema=schema)
    r = t.merge(late, keys="id", sequence_by="seq", delete_flag="op_delete")
    assert (r.late_discarded, r.rows_deleted) == (1, 1)
    assert [(x["id"], x["v"]) for x in t.scan().to_pylist()] == [(1, "a")]

    h = inlet.Table.open_or_create(tmp_path / "scd2")
    h.merge(first.drop_columns(["op_delete"]), keys="id", sequence_by="seq", history=True)
    h.merge(pa.table({"id": [1], "v": ["a2"], "seq": [7]},
                     schema=pa.schema([("id", pa.int64()), ("v", pa.string()),
                                       ("seq", pa.int64())])),
            keys="id", sequence_by="seq", history=True)
    versions = sorted((x["v"], x["is_current"]) for x in h.scan(where="id = 1").to_pylist())
    assert versions == [("a", False), ("a2", True)]


def test_delete_update_restore_changes(tmp_path, orders):
    t = inlet.write_table(tmp_path / "t", orders,
                          properties={"delta.enableChangeDataFeed": "true"})
    assert t.delete("amount < 10").rows_deleted == 1
    with pytest.raises(inlet.InvalidInputError, match="every_row|every row"):
        t.delete()
    r = t.update({"customer": "zed", "amount": None}, where="id = 4")
    assert r.rows_updated == 1
    assert {x["id"]: (x["customer"], x["amount"]) for x in t.scan().to_pylist()}[4] == ("zed", None)
    changes = t.changes(1)
    kinds = sorted(changes.column("_change_type").to_pylist())
    assert kinds == ["delete", "update_postimage", "update_preimage"]
    restored = t.restore(0)
    assert restored.restored_version == 0 and rows(t.scan()) == rows(orders)


def test_maintenance(tmp_path, orders):
    t = inlet.write_table(tmp_path / "t", orders)
    for _ in range(4):
        t.write(orders)
    o = t.optimize()
    assert o.before.files == 5 and o.after.files == 1 and o.rows == 20
    assert t.count() == 20
    v = t.vacuum(retention_hours=0, enforce_retention=False, dry_run=True)
    assert v.dry_run and len(v.files) == 5
    c = t.checkpoint()
    assert c.version == t.version and c.checkpoint_bytes > 0
    # delta-rs reads the compacted, checkpointed table: the same 20 rows.
    assert rows(deltalake.DeltaTable(str(tmp_path / "t")).to_pyarrow_table()) == \
        sorted(orders.to_pylist() * 5, key=lambda r: r["id"])


def test_iceberg_by_path(tmp_path, orders):
    t = inlet.write_table(tmp_path / "ice", orders, format="iceberg", partition_by=["day"])
    assert t.info().format == "iceberg"
    t.merge(orders.slice(0, 1).set_column(1, "customer", pa.array(["ANN"])), keys="id")
    assert {x["id"]: x["customer"] for x in t.scan().to_pylist()}[1] == "ANN"
    assert inlet.Table(tmp_path / "ice").count() == 4


def test_app_state_commits_with_the_rows(tmp_path, orders):
    t = inlet.write_table(tmp_path / "t", orders, app_id="loader", app_version=7,
                          app_document='{"offset": 42}')
    assert t.history()[0].version == 0
    with pytest.raises(inlet.InvalidInputError, match="need app_id"):
        t.write(orders, app_version=8)


def test_an_application_version_is_written_once(tmp_path, orders):
    """app_id + app_version is an idempotent write, as inlet write --app-id/--app-version:
    a version the table has (or an older one) writes nothing and reads nothing."""
    t = inlet.write_table(tmp_path / "t", orders, app_id="loader", app_version=5)
    n = t.count()
    again = t.write(orders, app_id="loader", app_version=5)
    assert (again.version, again.rows_written) == (0, 0)
    older = t.write(orders, app_id="loader", app_version=4)
    assert (older.version, older.rows_written) == (0, 0)
    assert t.count() == n and len(t.history()) == 1

    def never():  # a source that must not be read
        raise AssertionError("read")
        yield  # pragma: no cover
    skipped = t.write(pa.RecordBatchReader.from_batches(orders.schema, never()),
                      app_id="loader", app_version=5)
    assert skipped.rows_written == 0
    newer = t.write(orders, app_id="loader", app_version=6)
    assert (newer.version, newer.rows_written) == (1, n)
    assert t.count() == 2 * n


def test_filters_work_after_a_plain_import_inlet(tmp_path, orders):
    """Arrow's compute functions are registered by the package itself: a scan filter,
    a delete and an update work in a process that imported nothing but inlet (and
    pyarrow, without pyarrow.compute)."""
    import subprocess
    import sys
    inlet.write_table(tmp_path / "t", orders)
    code = (
        "import sys, inlet\n"
        "assert 'pyarrow.compute' not in sys.modules, 'the case needs pyarrow.compute unloaded'\n"
        "t = inlet.Table(sys.argv[1])\n"
        "n = t.scan(where='id > 1').num_rows\n"
        "t.delete('id = 2'); t.update({'customer': 'Z'}, where='id = 3')\n"
        "print(n, t.count())\n")
    out = subprocess.run([sys.executable, "-c", code, str(tmp_path / "t")], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    n = sum(1 for r in orders.to_pylist() if r["id"] > 1)
    assert out.stdout.split() == [str(n), str(orders.num_rows - 1)], out.stdout


def test_errors_while_reading_are_inlets(tmp_path, orders):
    """An error met while a scan's stream is read (a file vacuumed away) is raised as
    inlet's class, not as pyarrow's."""
    t = inlet.write_table(tmp_path / "t", orders)
    t.write(orders, mode="overwrite")
    t.vacuum(0, enforce_retention=False)  # version 0's files are gone
    with pytest.raises(inlet.StorageError, match="part-"):
        t.scan(version=0)
    with pytest.raises(inlet.StorageError, match="part-"):
        t.scan_batches(version=0).read_all()
    assert t.scan().num_rows == orders.num_rows


def test_all_null_and_categorical_columns_are_written(tmp_path, orders):
    """A column of pyarrow's null type (all-None data) takes the table's type; dictionary
    columns (pandas and polars categoricals, polars enums over string views) decode."""
    t = inlet.write_table(tmp_path / "t", orders)
    extra = orders.slice(0, 1).set_column(3, "day", pa.nulls(1))
    assert extra.schema.field("day").type == pa.null()
    t.merge(extra, keys="id")
    assert {r["id"]: r["day"] for r in t.scan().to_pylist()}[1] is None
    cats = pl.DataFrame({"id": [7, 8], "customer": ["x", "y"], "amount": [1.0, 2.0],
                         "day": ["2024-05-09", "2024-05-09"]}).with_columns(
        pl.col("customer").cast(pl.Categorical), pl.col("day").cast(pl.Enum(["2024-05-09"])))
    t.write(cats)
    got = {r["id"]: (r["customer"], r["day"]) for r in t.scan().to_pylist()}
    assert got[7] == ("x", "2024-05-09") and got[8] == ("y", "2024-05-09")


def test_a_categorical_with_unused_categories_is_written(tmp_path):
    """Only the values rows use are converted: a pandas-style categorical keeps categories
    no row has, which need not fit the table's type."""
    t = inlet.write_table(tmp_path / "ice", pa.table({"id": pa.array([5], pa.int64())}), format="iceberg")
    ids = pa.DictionaryArray.from_arrays(pa.array([0, 1], pa.int32()), pa.array(["1", "2", "x"]))
    t.write(pa.table({"id": ids}))
    assert sorted(r["id"] for r in t.scan().to_pylist()) == [1, 2, 5]
