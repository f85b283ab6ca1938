"""Reading Iceberg tables that another engine wrote (issue 21: "Reading straight from a
metadata file", and reading: time travel, schema evolution, several partition specs,
pruning by column metrics).

pyiceberg 0.12 writes the tables through its SQL catalog on SQLite; inlet opens them by
metadata file and by directory, and must read every snapshot exactly as pyiceberg does.
"""
from __future__ import annotations

import datetime
import decimal
import json
import random

import pyarrow as pa
import pytest

import oracle
import support

UTC = datetime.timezone.utc


def _catalog(tmp_path):
    from pyiceberg.catalog.sql import SqlCatalog
    cat = SqlCatalog("default", uri=f"sqlite:///{tmp_path}/catalog.db", warehouse=f"file://{tmp_path}/wh")
    cat.create_namespace("ns")
    return cat


def _schema():
    from pyiceberg.schema import Schema
    from pyiceberg.types import (BinaryType, BooleanType, DateType, DecimalType, DoubleType,
                                 FloatType, IntegerType, ListType, LongType, MapType, NestedField,
                                 StringType, StructType, TimestampType, TimestamptzType)
    return Schema(
        NestedField(1, "id", LongType(), required=True),
        NestedField(2, "flag", BooleanType()),
        NestedField(3, "small", IntegerType()),
        NestedField(4, "f", FloatType()),
        NestedField(5, "x", DoubleType()),
        NestedField(6, "price", DecimalType(10, 2)),
        NestedField(7, "big", DecimalType(38, 10)),
        NestedField(8, "day", DateType()),
        NestedField(9, "ts", TimestampType()),
        NestedField(10, "tstz", TimestamptzType()),
        NestedField(11, "name", StringType()),
        NestedField(12, "blob", BinaryType()),
        NestedField(13, "tags", ListType(14, StringType(), element_required=False)),
        NestedField(15, "attrs", MapType(16, StringType(), 17, LongType(), value_required=False)),
        NestedField(18, "point", StructType(NestedField(19, "a", IntegerType()),
                                            NestedField(20, "b", StringType()))),
    )


def _rows(rng, start, n):
    out = []
    for i in range(start, start + n):
        null = rng.random() < 0.15
        out.append({
            "id": i,
            "flag": None if null else rng.random() < 0.5,
            "small": None if null else rng.randrange(-1000, 1000),
            "f": None if null else rng.choice([1.5, -0.25, float("nan"), 3.0]),
            "x": None if null else rng.uniform(-1e6, 1e6),
            "price": None if null else decimal.Decimal(rng.randrange(-99999, 99999)) / 100,
            "big": None if null else decimal.Decimal(rng.randrange(-10**20, 10**20)) / 10**10,
            "day": None if null else datetime.date(2024, 1, 1) + datetime.timedelta(days=rng.randrange(400)),
            "ts": None if null else datetime.datetime(2024, 3, 1) + datetime.timedelta(seconds=rng.randrange(10**7)),
            "tstz": None if null else datetime.datetime(2024, 3, 1, tzinfo=UTC) + datetime.timedelta(minutes=rng.randrange(10**5)),
            "name": None if null else rng.choice(["alpha", "beta", "gamma", "délta", ""]) + str(i % 7),
            "blob": None if null else bytes([i % 256, 7]),
            "tags": None if null else [rng.choice(["a", "b", None]) for _ in range(rng.randrange(3))],
            "attrs": None if null else {f"k{j}": (None if j == 2 else j * i) for j in range(rng.randrange(4))},
            "point": None if null else {"a": i % 5, "b": None if i % 3 else "p"},
        })
    return out


def _arrow(table, rows):
    schema = table.schema().as_arrow()
    return pa.Table.from_pylist(rows, schema=schema)


def _inlet(target, tmp_path, *args):
    return support.scan(target, *args, out_dir=tmp_path / "scans")


def test_every_snapshot_of_a_pyiceberg_table_reads_as_pyiceberg_reads_it(tmp_path):
    from pyiceberg.expressions import GreaterThanOrEqual, LessThan
    from pyiceberg.partitioning import PartitionField, PartitionSpec
    from pyiceberg.transforms import BucketTransform, DayTransform, IdentityTransform, TruncateTransform
    cat = _catalog(tmp_path)
    spec = PartitionSpec(
        PartitionField(source_id=2, field_id=1000, transform=IdentityTransform(), name="flag"),
        PartitionField(source_id=10, field_id=1001, transform=DayTransform(), name="tstz_day"),
        PartitionField(source_id=1, field_id=1002, transform=BucketTransform(4), name="id_bucket"),
        PartitionField(source_id=11, field_id=1003, transform=TruncateTransform(3), name="name_trunc"))
    t = cat.create_table("ns.t", schema=_schema(), partition_spec=spec)
    rng = random.Random(21)
    for n in range(3):
        t.append(_arrow(t, _rows(rng, 100 * n, 40)))
    t.delete(LessThan("id", 20))                 # copy-on-write: an overwrite snapshot
    t.overwrite(_arrow(t, _rows(rng, 500, 10)), overwrite_filter=GreaterThanOrEqual("id", 200))
    t = cat.load_table("ns.t")
    table_dir = tmp_path / "wh" / "ns" / "t"
    metadata_file = t.metadata_location.removeprefix("file://")
    snapshots = t.snapshots()
    assert len(snapshots) >= 5
    for s in snapshots:
        expected = t.scan(snapshot_id=s.snapshot_id).to_arrow()
        got = _inlet(table_dir, tmp_path, "--version", str(s.sequence_number))
        oracle.assert_tables_equal(got, expected, f"snapshot {s.snapshot_id} (sequence {s.sequence_number})")
        by_id = _inlet(metadata_file, tmp_path, "--ref", str(s.snapshot_id))
        oracle.assert_tables_equal(by_id, expected, f"snapshot {s.snapshot_id} by id")
    latest = t.scan().to_arrow()
    oracle.assert_tables_equal(_inlet(metadata_file, tmp_path), latest, "by metadata file")
    oracle.assert_tables_equal(_inlet(table_dir, tmp_path), latest, "by directory")
    # Filters on every kind of column: the same rows as pyarrow's filter, with files
    # pruned by their metrics (a wrong bound would lose rows).
    import pyarrow.compute as pc
    cases = [("id >= 530", pc.field("id") >= 530), ("small < 0", pc.field("small") < 0),
             ("price > 100.5", pc.field("price") > decimal.Decimal("100.5")),
             ("day = 2024-06-01", pc.field("day") == datetime.date(2024, 6, 1)),
             ("name = beta3", pc.field("name") == "beta3"), ("flag = true", pc.field("flag") == True),
             ("tstz < 2024-03-20T00:00:00Z", pc.field("tstz") < pa.scalar(datetime.datetime(2024, 3, 20, tzinfo=UTC))),
             ("x IS NULL", pc.field("x").is_null()), ("big <= 0", pc.field("big") <= decimal.Decimal(0))]
    for where, expr in cases:
        got = _inlet(table_dir, tmp_path, "--where", where)
        oracle.assert_tables_equal(got, latest.filter(expr), f"--where {where}")
    history = json.loads(support.run_inlet("history", table_dir, "--json").stdout)
    assert [h["version"] for h in history] == sorted((s.sequence_number for s in snapshots), reverse=True)
    assert {h["operation"] for h in history} >= {"append", "overwrite"}, history
    info = json.loads(support.run_inlet("info", table_dir, "--json").stdout)
    assert info["format"] == "iceberg" and info["version"] == snapshots[-1].sequence_number, info


def test_schema_evolution_and_partition_evolution(tmp_path):
    from pyiceberg.schema import Schema
    from pyiceberg.transforms import IdentityTransform, MonthTransform
    from pyiceberg.types import IntegerType, LongType, NestedField, StringType, TimestamptzType
    cat = _catalog(tmp_path)
    t = cat.create_table("ns.e", schema=Schema(
        NestedField(1, "id", IntegerType(), required=False), NestedField(2, "loc", StringType()),
        NestedField(3, "ts", TimestamptzType()), NestedField(4, "gone", StringType())))
    base = datetime.datetime(2024, 1, 1, tzinfo=UTC)
    t.append(pa.Table.from_pylist([{"id": i, "loc": f"l{i % 3}", "ts": base + datetime.timedelta(days=20 * i), "gone": "g"}
                                   for i in range(6)], schema=t.schema().as_arrow()))
    with t.update_schema() as u:
        u.rename_column("loc", "place")
        u.add_column("extra", StringType())
        u.update_column("id", LongType())
        u.delete_column("gone")
    with t.update_spec() as u:
        u.add_field("ts", MonthTransform(), "ts_month")
        u.add_field("place", IdentityTransform(), "place")
    t = cat.load_table("ns.e")
    t.append(pa.Table.from_pylist([{"id": 2**40 + i, "place": "new", "ts": base, "extra": f"e{i}"} for i in range(3)],
                                  schema=t.schema().as_arrow()))
    t = cat.load_table("ns.e")
    table_dir = tmp_path / "wh" / "ns" / "e"
    for s in t.snapshots():
        expected = t.scan(snapshot_id=s.snapshot_id).to_arrow()
        got = _inlet(table_dir, tmp_path, "--version", str(s.sequence_number))
        oracle.assert_tables_equal(got, expected, f"snapshot {s.sequence_number}")
    latest = _inlet(table_dir, tmp_path)
    oracle.assert_tables_equal(latest, t.scan().to_arrow(), "latest, current schema")
    assert latest.schema.field("id").type == pa.int64() and "gone" not in latest.column_names
    got = _inlet(table_dir, tmp_path, "--where", "place = l1")
    assert sorted(got["id"].to_pylist()) == [1, 4], got


def test_bad_iceberg_metadata_fails_clearly(tmp_path):
    from pyiceberg.schema import Schema
    from pyiceberg.types import LongType, NestedField
    cat = _catalog(tmp_path)
    t = cat.create_table("ns.b", schema=Schema(NestedField(1, "id", LongType())))
    t.append(pa.Table.from_pylist([{"id": 1}], schema=t.schema().as_arrow()))
    t = cat.load_table("ns.b")
    metadata_file = t.metadata_location.removeprefix("file://")
    table_dir = tmp_path / "wh" / "ns" / "b"
    # A write is refused, naming the table, and changes nothing.
    before = sorted(p.name for p in (table_dir / "metadata").iterdir())
    src = tmp_path / "in.csv"
    src.write_text("id\n2\n")
    line = support.check_refusal(support.run_inlet("write", table_dir, "--input", src, check=False))
    assert "Iceberg" in line and "named by a catalog" in line and str(table_dir) in line, line
    assert sorted(p.name for p in (table_dir / "metadata").iterdir()) == before
    # A manifest list that is gone is named.
    manifest_list = t.current_snapshot().manifest_list.removeprefix("file://")
    moved = manifest_list + ".moved"
    import os
    os.rename(manifest_list, moved)
    line = support.check_refusal(support.run_inlet("scan", metadata_file, check=False))
    assert manifest_list.split("/")[-1] in line, line
    os.rename(moved, manifest_list)
    # A corrupt manifest list is named, with the byte.
    data = open(manifest_list, "rb").read()
    open(manifest_list, "wb").write(data[: len(data) // 2])
    line = support.check_refusal(support.run_inlet("scan", metadata_file, check=False))
    assert "corrupt Avro file" in line and manifest_list.split("/")[-1] in line, line
    # A corrupt metadata file is named.
    open(metadata_file, "w").write("{not json")
    line = support.check_refusal(support.run_inlet("scan", metadata_file, check=False))
    assert metadata_file.split("/")[-1] in line, line
    # A directory with neither a Delta log nor Iceberg metadata is neither.
    (tmp_path / "empty").mkdir()
    line = support.check_refusal(support.run_inlet("scan", tmp_path / "empty", check=False))
    assert "not a Delta table" in line and "Iceberg" in line, line


def test_a_format_version_1_table_reads_by_snapshot_id(tmp_path):
    from pyiceberg.schema import Schema
    from pyiceberg.types import LongType, NestedField, StringType
    cat = _catalog(tmp_path)
    t = cat.create_table("ns.v1", schema=Schema(NestedField(1, "id", LongType()), NestedField(2, "s", StringType())),
                         properties={"format-version": "1"})
    for n in range(2):
        t.append(pa.Table.from_pylist([{"id": n, "s": f"s{n}"}], schema=t.schema().as_arrow()))
    t = cat.load_table("ns.v1")
    table_dir = tmp_path / "wh" / "ns" / "v1"
    first = t.snapshots()[0]
    got = _inlet(table_dir, tmp_path, "--ref", str(first.snapshot_id))
    oracle.assert_tables_equal(got, t.scan(snapshot_id=first.snapshot_id).to_arrow(), "v1 by snapshot id")
    oracle.assert_tables_equal(_inlet(table_dir, tmp_path), t.scan().to_arrow(), "v1 latest")
    line = support.check_refusal(support.run_inlet("scan", table_dir, "--version", "0", check=False))
    assert "format version 1" in line and "--ref" in line, line
