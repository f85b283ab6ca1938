"""Spark 4.0.1 with Apache Iceberg 1.10.0, the reference Iceberg engine, against inlet
(issue 21, part 1 §5): Spark reads inlet's tables through a JDBC catalog on PostgreSQL and
by path, and inlet reads what Spark writes through the same catalog, merge-on-read deletes,
schema evolution and partition evolution included.
"""
from __future__ import annotations

import pyarrow as pa
import pytest

import oracle
from spark_oracle import iceberg_jdbc_catalog
from support import run_inlet, scan, write

SCHEMA = pa.schema([("id", pa.int64()), ("city", pa.string()), ("ts", pa.timestamp("us"))])


def _rows(start: int, n: int) -> pa.Table:
    import datetime
    base = datetime.datetime(2026, 12, 1)
    return pa.table({
        "id": pa.array(range(start, start + n), pa.int64()),
        "city": [f"c{i % 3}" for i in range(start, start + n)],
        "ts": pa.array([base + datetime.timedelta(hours=i) for i in range(start, start + n)],
                       pa.timestamp("us")),
    }, schema=SCHEMA)


_databases = 0


@pytest.fixture
def catalog(spark, postgres, tmp_path, monkeypatch):
    """A new JDBC catalog on PostgreSQL that Spark and inlet share: its Spark name and
    inlet's options (the password in PGPASSWORD)."""
    global _databases
    _databases += 1
    uri = postgres.create_database(f"spark_iceberg_{_databases}")
    name = iceberg_jdbc_catalog(spark, "jdbc:" + uri.replace(f"{postgres.user}@", ""),
                                f"file://{tmp_path}/wh", postgres.user, postgres.password)
    monkeypatch.setenv("PGPASSWORD", postgres.password)
    return name, ["--catalog", uri, "--catalog-name", name, "--warehouse", str(tmp_path / "wh")]


def _spark_rows(spark, sql: str) -> pa.Table:
    return spark.sql(sql).toArrow()


def test_spark_reads_inlet_catalog_tables_at_every_snapshot(spark, tmp_path, catalog):
    name, cat = catalog
    for i in range(3):
        write("lake.events", _rows(10 * i, 10), *cat, "--format", "iceberg",
              "--partition-by", "day(ts), bucket(id, 4)", work_dir=tmp_path / "in")
    table = f"{name}.lake.events"
    oracle.assert_tables_equal(_spark_rows(spark, f"SELECT * FROM {table}"), _rows(0, 30),
                               "Spark through the JDBC catalog")
    snapshots = spark.sql(f"SELECT snapshot_id FROM {table}.snapshots ORDER BY committed_at").collect()
    assert len(snapshots) == 3
    for i, s in enumerate(snapshots):
        got = _spark_rows(spark, f"SELECT * FROM {table} VERSION AS OF {s.snapshot_id}")
        oracle.assert_tables_equal(got, _rows(0, 10 * (i + 1)), f"Spark at snapshot {i + 1}")
    # Spark prunes by inlet's partition values: one day of three.
    files = spark.sql(f"SELECT count(*) AS n FROM {table}.files WHERE partition.ts_day = DATE '2026-12-01'").collect()
    assert files[0].n > 0
    got = _spark_rows(spark, f"SELECT * FROM {table} WHERE ts < TIMESTAMP '2026-12-02 00:00:00'")
    oracle.assert_tables_equal(got, _rows(0, 24), "Spark with a partition filter")
    # Spark appends through the same catalog; inlet reads it and goes on.
    spark.sql(f"INSERT INTO {table} VALUES (100, 'c9', TIMESTAMP '2026-12-03 05:00:00')")
    write("lake.events", _rows(30, 5), *cat, work_dir=tmp_path / "in")
    expected = pa.concat_tables([_rows(0, 30), pa.table({
        "id": pa.array([100], pa.int64()), "city": ["c9"],
        "ts": pa.array([pa.scalar(_rows(0, 1)["ts"][0].as_py().replace(day=3, hour=5), pa.timestamp("us"))])},
        schema=SCHEMA), _rows(30, 5)])
    oracle.assert_tables_equal(scan("lake.events", *cat, out_dir=tmp_path / "s"), expected, "inlet")
    spark.sql(f"REFRESH TABLE {table}")
    oracle.assert_tables_equal(_spark_rows(spark, f"SELECT * FROM {table}"), expected, "Spark after")


def test_spark_reads_a_file_system_table_by_path(spark, tmp_path):
    table = tmp_path / "by_path"
    write(table, _rows(0, 6), "--format", "iceberg", "--partition-by", "city", work_dir=tmp_path / "in")
    write(table, _rows(6, 6), work_dir=tmp_path / "in")
    got = spark.read.format("iceberg").load(str(table / "metadata" / "v2.metadata.json")).toArrow()
    oracle.assert_tables_equal(got, _rows(0, 12), "Spark by metadata file")


def test_inlet_reads_what_spark_writes_merge_on_read_deletes_and_evolution(spark, tmp_path, catalog):
    name, cat = catalog
    t = f"{name}.db.spark_made"
    spark.sql(f"CREATE TABLE {t} (id BIGINT, city STRING, ts TIMESTAMP_NTZ, amount INT) USING iceberg "
              "PARTITIONED BY (city) TBLPROPERTIES ('format-version'='2', "
              "'write.delete.mode'='merge-on-read', 'write.update.mode'='merge-on-read')")
    spark.sql(f"INSERT INTO {t} SELECT id, concat('c', id % 3), TIMESTAMP_NTZ '2026-12-01 00:00:00' "
              "+ make_interval(0, 0, 0, 0, id, 0, 0), CAST(id AS INT) FROM range(0, 40)")
    spark.sql(f"DELETE FROM {t} WHERE id % 5 = 0")  # position delete files
    spark.sql(f"ALTER TABLE {t} ALTER COLUMN amount TYPE BIGINT")  # int -> long
    spark.sql(f"ALTER TABLE {t} RENAME COLUMN city TO town")
    spark.sql(f"ALTER TABLE {t} ADD COLUMN note STRING")
    spark.sql(f"ALTER TABLE {t} ADD PARTITION FIELD days(ts)")  # a second partition spec
    spark.sql(f"INSERT INTO {t} VALUES (100, 'c1', TIMESTAMP_NTZ '2026-12-05 00:00:00', 7, 'late')")
    spark.sql(f"UPDATE {t} SET note = 'updated' WHERE id = 7")
    deletes = spark.sql(f"SELECT count(*) AS n FROM {t}.delete_files").collect()[0].n
    assert deletes > 0, "Spark wrote no delete files: the test would not test them"
    expected = _spark_rows(spark, f"SELECT * FROM {t}")
    got = scan("db.spark_made", *cat, out_dir=tmp_path / "s")
    assert got.schema.names == ["id", "town", "ts", "amount", "note"], got.schema
    oracle.assert_tables_equal(got, expected, "inlet reading Spark's table")
    # inlet appends to the evolved table; Spark reads the result.
    (tmp_path / "more.csv").write_text("id,town,ts,amount,note\n200,c2,2026-12-06T00:00:00,9,inlet\n")
    run_inlet(*cat, "write", "db.spark_made", "--input", tmp_path / "more.csv")
    spark.sql(f"REFRESH TABLE {t}")
    after = _spark_rows(spark, f"SELECT * FROM {t} WHERE id = 200")
    assert after.to_pylist() == [{"id": 200, "town": "c2", "ts": after["ts"][0].as_py(),
                                  "amount": 9, "note": "inlet"}], after.to_pylist()
    # inlet changes rows of the evolved table (merge-on-read, as its properties ask): files
    # of the older partition spec get position delete files under their own spec (a file
    # whose every row changes is removed instead), and Spark reads the result.
    before = _spark_rows(spark, f"SELECT * FROM {t}").to_pylist()
    count_old_spec = f"SELECT count(*) AS n FROM {t}.delete_files WHERE spec_id = 0"
    old_spec_deletes = spark.sql(count_old_spec).collect()[0].n
    run_inlet(*cat, "delete", "db.spark_made", "--where", "amount < 12")
    run_inlet(*cat, "update", "db.spark_made", "--where", "town = 'c1'", "--set", "note='by inlet'")
    want = [dict(r, note="by inlet") if r["town"] == "c1" else r for r in before if r["amount"] >= 12]
    spark.sql(f"REFRESH TABLE {t}")
    got = _spark_rows(spark, f"SELECT * FROM {t}")
    oracle.assert_tables_equal(got, pa.Table.from_pylist(want, schema=got.schema), "Spark after inlet's changes")
    assert spark.sql(count_old_spec).collect()[0].n > old_spec_deletes, "inlet wrote no delete file under spec 0"
    oracle.assert_tables_equal(scan("db.spark_made", *cat, out_dir=tmp_path / "s2"),
                               pa.Table.from_pylist(want, schema=got.schema), "inlet after its changes")


def _equality_delete_file(path, rows: pa.Table, field_ids: dict[str, int]) -> int:
    """Writes an equality delete file (Parquet with the columns' field ids); its size."""
    import pyarrow.parquet as pq
    fields = [pa.field(n, rows.schema.field(n).type, metadata={b"PARQUET:field_id": str(i).encode()})
              for n, i in field_ids.items()]
    pq.write_table(rows.cast(pa.schema(fields)), path)
    return path.stat().st_size


def _commit_id_equality_delete(spark, t: str, ids: list[int], path) -> None:
    """Commits, through Iceberg's Java API in Spark's JVM, an equality delete by id of the
    rows with `ids` over the whole (unpartitioned) table `t`, written to `path`."""
    jvm = spark._jvm
    table = jvm.org.apache.iceberg.spark.Spark3Util.loadIcebergTable(spark._jsparkSession, t)
    field = table.schema().findField("id").fieldId()
    size = _equality_delete_file(path, pa.table({"id": pa.array(ids, pa.int64())}), {"id": field})
    arr = spark.sparkContext._gateway.new_array(jvm.int, 1)
    arr[0] = field
    delete = (jvm.org.apache.iceberg.FileMetadata.deleteFileBuilder(table.spec()).ofEqualityDeletes(arr)
              .withPath(f"file://{path}").withFormat("parquet").withFileSizeInBytes(size)
              .withRecordCount(len(ids)).build())
    table.newRowDelta().addDeletes(delete).commit()


def test_inlet_applies_equality_deletes_java_commits_scoped_by_partition_and_sequence(
        spark, tmp_path, catalog):
    """Equality deletes (Flink's upserts write them; pyiceberg cannot read them): committed
    here through Iceberg's Java API in Spark's JVM. One deletes by (id) across the table,
    one by (v) in partition city=c1 only; rows appended after a delete are not deleted."""
    name, cat = catalog
    t = f"{name}.db.eq"
    spark.sql(f"CREATE TABLE {t} (id BIGINT, city STRING, v STRING) USING iceberg PARTITIONED BY (city) "
              "TBLPROPERTIES ('format-version'='2')")
    spark.sql(f"INSERT INTO {t} VALUES (1,'c1','a'), (2,'c1','dup'), (3,'c2','dup'), (4,'c2','b'), "
              "(5,'c1','c'), (6,'c2',NULL)")
    jvm = spark._jvm
    table = jvm.org.apache.iceberg.spark.Spark3Util.loadIcebergTable(spark._jsparkSession, t)
    ids = {f.name(): f.fieldId() for f in table.schema().columns()}

    def commit_delete(rows: pa.Table, columns: list[str], partition_path: str | None, spec_id: int):
        path = tmp_path / f"eq-{len(list(tmp_path.glob('eq-*')))}.parquet"
        size = _equality_delete_file(path, rows.select(columns), {c: ids[c] for c in columns})
        spec = table.specs().get(spec_id)
        arr = spark.sparkContext._gateway.new_array(jvm.int, len(columns))
        for k, c in enumerate(columns):
            arr[k] = ids[c]
        b = (jvm.org.apache.iceberg.FileMetadata.deleteFileBuilder(spec).ofEqualityDeletes(arr)
             .withPath(f"file://{path}").withFormat("parquet").withFileSizeInBytes(size)
             .withRecordCount(rows.num_rows))
        if partition_path:
            b = b.withPartitionPath(partition_path)
        table.newRowDelta().addDeletes(b.build()).commit()

    # (v) = 'dup' in partition city=c1: row 2 goes, row 3 (city c2) stays.
    commit_delete(pa.table({"v": ["dup"]}), ["v"], "city=c1", 0)
    # (id) in {4, 6} over the whole table: an unpartitioned spec's delete is global.
    table.updateSpec().removeField("city").commit()
    table.refresh()
    commit_delete(pa.table({"id": pa.array([4, 6], pa.int64())}), ["id"], None, table.spec().specId())
    # A row appended after the delete is not deleted by it.
    spark.sql(f"INSERT INTO {t} VALUES (4, 'c9', 'late')")
    spark.sql(f"REFRESH TABLE {t}")
    expected = spark.sql(f"SELECT * FROM {t}").toArrow()
    assert sorted(expected.column("id").to_pylist()) == [1, 3, 4, 5], expected.to_pylist()
    got = scan("db.eq", *cat, out_dir=tmp_path / "s")
    oracle.assert_tables_equal(got, expected, "inlet applying equality deletes")
    # Filtered and projected scans apply them too.
    got = scan("db.eq", *cat, "--where", "city = 'c2'", "--columns", "id", out_dir=tmp_path / "s")
    assert sorted(got.column("id").to_pylist()) == [3]


def test_equality_deletes_on_a_column_dropped_since_still_apply(spark, tmp_path, catalog):
    """An equality delete compares a column by field id; the column dropped afterwards (and
    one of the same name added again) does not undo the delete: the data files still hold
    the dropped column, read as the newest schema that had it types it. (Iceberg 1.10's own
    reader fails on this table in Spark: a NullPointerException looking up the field.)"""
    name, cat = catalog
    t = f"{name}.db.eq_dropped"
    spark.sql(f"CREATE TABLE {t} (id BIGINT, v STRING) USING iceberg TBLPROPERTIES ('format-version'='2')")
    spark.sql(f"INSERT INTO {t} VALUES (1, 'a'), (2, 'dup'), (3, 'dup'), (4, NULL)")
    jvm = spark._jvm
    table = jvm.org.apache.iceberg.spark.Spark3Util.loadIcebergTable(spark._jsparkSession, t)
    field = table.schema().findField("v").fieldId()
    path = tmp_path / "eq-v.parquet"
    size = _equality_delete_file(path, pa.table({"v": ["dup"]}), {"v": field})
    arr = spark.sparkContext._gateway.new_array(jvm.int, 1)
    arr[0] = field
    table.newRowDelta().addDeletes(
        jvm.org.apache.iceberg.FileMetadata.deleteFileBuilder(table.spec()).ofEqualityDeletes(arr)
        .withPath(f"file://{path}").withFormat("parquet").withFileSizeInBytes(size)
        .withRecordCount(1).build()).commit()
    spark.sql(f"ALTER TABLE {t} DROP COLUMN v")
    spark.sql(f"ALTER TABLE {t} ADD COLUMN v STRING")  # a new column under the old name
    spark.sql(f"INSERT INTO {t} VALUES (5, 'dup')")
    got = scan("db.eq_dropped", *cat, out_dir=tmp_path / "s")
    assert sorted(got.to_pylist(), key=lambda r: r["id"]) == [
        {"id": 1, "v": None}, {"id": 4, "v": None}, {"id": 5, "v": "dup"}], got.to_pylist()


def test_a_compaction_keeps_its_starting_sequence_number_under_a_concurrent_equality_delete(
        spark, tmp_path, catalog):
    """A compaction's files take the sequence number of the snapshot it read: an equality
    delete Java commits while it runs does not conflict with it (the compaction commits
    after it without planning again), and still deletes the rows it moved, in Spark and
    in inlet."""
    import json
    from test_iceberg_rows import _resume, _stopped
    name, cat = catalog
    for i in range(4):
        write("db.compact", _rows(10 * i, 10), *cat, "--format", "iceberg", work_dir=tmp_path / "in")
    t = f"{name}.db.compact"
    starting = spark.sql(f"SELECT max(sequence_number) AS s FROM {t}.entries").collect()[0].s
    compaction = _stopped([*cat, "optimize", "db.compact", "--json"], "write.after_data_files", tmp_path)
    _commit_id_equality_delete(spark, t, [5, 25], tmp_path / "eq.parquet")
    out, replans = _resume(compaction)
    report = json.loads(out.strip().splitlines()[-1])
    assert replans == 0 and report["attempts"] == 1 and report["files_removed"] == 4, report
    spark.sql(f"REFRESH TABLE {t}")
    ops = [r.operation for r in spark.sql(f"SELECT operation FROM {t}.snapshots ORDER BY committed_at").collect()]
    assert ops[-2:] == ["delete", "replace"], ops  # the compaction committed after the delete
    import pyarrow.compute as pc
    expected = _rows(0, 40).filter(pc.invert(pc.is_in(_rows(0, 40)["id"],
                                                      value_set=pa.array([5, 25], pa.int64()))))
    oracle.assert_tables_equal(spark.sql(f"SELECT * FROM {t}").toArrow(), expected, "Spark")
    oracle.assert_tables_equal(scan("db.compact", *cat, out_dir=tmp_path / "s"), expected, "inlet")
    live = spark.sql(f"SELECT sequence_number FROM {t}.entries WHERE status < 2 AND data_file.content = 0").collect()
    assert [r.sequence_number for r in live] == [starting], live


def test_inlet_applies_v3_deletion_vectors_spark_writes(spark, tmp_path, catalog):
    name, cat = catalog
    t = f"{name}.db.dv"
    _create_v3_merge_on_read(spark, t)
    spark.sql(f"INSERT INTO {t} SELECT id, concat('v', id) FROM range(0, 1000)")
    spark.sql(f"DELETE FROM {t} WHERE id % 7 = 0")
    spark.sql(f"DELETE FROM {t} WHERE id % 11 = 0")  # a second vector replaces the first
    spark.sql(f"UPDATE {t} SET v = 'changed' WHERE id = 500")
    formats = {r.file_format for r in spark.sql(f"SELECT file_format FROM {t}.delete_files").collect()}
    assert formats == {"PUFFIN"}, formats
    expected = spark.sql(f"SELECT * FROM {t}").toArrow()
    got = scan("db.dv", *cat, out_dir=tmp_path / "s")
    oracle.assert_tables_equal(got, expected, "inlet applying deletion vectors")


def _create_v3_merge_on_read(spark, t: str) -> None:
    """A format version 3 table (id, v) whose Spark deletes and updates write deletion
    vectors."""
    spark.sql(f"CREATE TABLE {t} (id BIGINT, v STRING) USING iceberg TBLPROPERTIES "
              "('format-version'='3', 'write.delete.mode'='merge-on-read', "
              "'write.update.mode'='merge-on-read')")


def _lineage(spark, t: str) -> dict:
    """Each row's id -> (v or city, _row_id, _last_updated_sequence_number), as Spark reads
    a v3 table's row lineage."""
    rows = spark.sql(f"SELECT * , _row_id, _last_updated_sequence_number FROM {t}").collect()
    return {r.id: (r[1], r._row_id, r._last_updated_sequence_number) for r in rows}


def _one_vector_per_data_file(spark, t: str) -> None:
    files = spark.sql(f"SELECT file_format, referenced_data_file FROM {t}.delete_files").collect()
    assert {f.file_format for f in files} <= {"PUFFIN"}, files
    targets = [f.referenced_data_file for f in files]
    assert len(targets) == len(set(targets)), targets


def test_inlet_keeps_the_row_lineage_of_a_v3_table_spark_wrote(spark, tmp_path, catalog):
    """On a format version 3 table Spark wrote (deletion vectors, row lineage), inlet's
    merge-on-read delete merges its marks into Spark's vectors (one per data file), its
    compaction folds them in and moves every row with its _row_id and
    _last_updated_sequence_number, and its copy-on-write merge keeps those of the rows it
    rewrites unchanged; the rows it changes are new rows."""
    name, cat = catalog
    t = f"{name}.db.lineage"
    _create_v3_merge_on_read(spark, t)
    spark.sql(f"INSERT INTO {t} SELECT id, concat('v', id) FROM range(0, 300)")
    spark.sql(f"INSERT INTO {t} SELECT id, concat('v', id) FROM range(300, 600)")
    spark.sql(f"DELETE FROM {t} WHERE id % 7 = 0")
    spark.sql(f"UPDATE {t} SET v = 'changed' WHERE id % 10 = 1")
    before = _lineage(spark, t)
    ids = [row_id for _, row_id, _ in before.values()]
    assert None not in ids and len(set(ids)) == len(ids), "Spark assigns every row an id"

    run_inlet("delete", "db.lineage", *cat, "--where", "id >= 100 AND id < 400")
    spark.sql(f"REFRESH TABLE {t}")
    expected = {k: v for k, v in before.items() if not 100 <= k < 400}
    assert _lineage(spark, t) == expected
    _one_vector_per_data_file(spark, t)
    assert spark.sql(f"SELECT count(*) AS n FROM {t}.delete_files").collect()[0].n > 0
    oracle.assert_tables_equal(scan("db.lineage", *cat, out_dir=tmp_path / "s"),
                               spark.sql(f"SELECT * FROM {t}").toArrow(), "inlet after its delete")

    run_inlet("optimize", "db.lineage", *cat)
    spark.sql(f"REFRESH TABLE {t}")
    assert _lineage(spark, t) == expected, "compaction keeps every row's lineage"
    assert spark.sql(f"SELECT count(*) AS n FROM {t}.delete_files").collect()[0].n == 0
    op = spark.sql(f"SELECT operation FROM {t}.snapshots ORDER BY committed_at DESC LIMIT 1").collect()
    assert op[0].operation == "replace", op

    # A copy-on-write merge: rows rewritten unchanged keep their lineage, changed and new
    # rows get ids past every id before and the commit's sequence number.
    spark.sql(f"ALTER TABLE {t} SET TBLPROPERTIES ('write.delete.mode'='copy-on-write', "
              "'write.update.mode'='copy-on-write')")
    changed = pa.table({"id": pa.array([2, 3, 1000], pa.int64()), "v": ["m2", "m3", "m1000"]})
    write_input = tmp_path / "m"
    write_input.mkdir()
    import pyarrow.parquet as pq
    pq.write_table(changed, write_input / "m.parquet")
    run_inlet("merge", "db.lineage", *cat, "--keys", "id", "--input", write_input / "m.parquet")
    spark.sql(f"REFRESH TABLE {t}")
    after = _lineage(spark, t)
    sequence = spark.sql(f"SELECT sequence_number FROM {t}.entries ORDER BY sequence_number DESC LIMIT 1")\
        .collect()[0].sequence_number
    top = max(row_id for _, row_id, _ in expected.values())
    for k, (v, row_id, seq) in after.items():
        if k in (2, 3, 1000):
            assert v == f"m{k}" and row_id > top and seq == sequence, (k, after[k], top, sequence)
        else:
            assert (v, row_id, seq) == expected[k], (k, after[k], expected[k])
    assert set(after) == set(expected) | {1000}
    # Spark goes on writing the table: every row id stays unique.
    spark.sql(f"INSERT INTO {t} VALUES (2000, 'spark')")
    ids = [row_id for _, row_id, _ in _lineage(spark, t).values()]
    assert len(set(ids)) == len(ids)


def test_a_deletion_vector_leaves_equality_deletes_theirs(spark, tmp_path, catalog):
    """inlet's deletion vector for a data file takes in the file's earlier position deletes
    (Spark's vector) but not the rows an equality delete deletes: those stay the equality
    delete's, so the vector's cardinality counts positions only."""
    name, cat = catalog
    t = f"{name}.db.mixed"
    _create_v3_merge_on_read(spark, t)
    spark.sql(f"INSERT INTO {t} SELECT id, concat('v', id) FROM range(0, 100)")
    _commit_id_equality_delete(spark, t, [1, 2], tmp_path / "eq.parquet")
    spark.sql(f"REFRESH TABLE {t}")
    spark.sql(f"DELETE FROM {t} WHERE id = 3")
    run_inlet("delete", "db.mixed", *cat, "--where", "id >= 10 AND id < 20")
    spark.sql(f"REFRESH TABLE {t}")
    vectors = spark.sql(f"SELECT record_count FROM {t}.delete_files WHERE file_format = 'PUFFIN'").collect()
    assert [v.record_count for v in vectors] == [11], vectors  # 3, and 10 to 19
    want = [i for i in range(100) if i not in (1, 2, 3) and not 10 <= i < 20]
    assert sorted(r.id for r in spark.sql(f"SELECT id FROM {t}").collect()) == want
    got = scan("db.mixed", *cat, out_dir=tmp_path / "s")
    assert sorted(got["id"].to_pylist()) == want


def test_spark_reads_the_row_lineage_inlet_writes(spark, tmp_path, catalog):
    """inlet's format version 3 tables: each append's rows get ids from the table's
    next-row-id (here, as each append is one file, equal to the rows' id) and the
    append's sequence number; a copy-on-write update keeps those of the rows it rewrites
    unchanged and a compaction those of every row; pyiceberg reads the same rows."""
    name, cat = catalog
    for i in range(3):
        write("lake.v3", _rows(10 * i, 10), *cat, "--format", "iceberg",
              "--property", "format-version=3", work_dir=tmp_path / "in")
    t = f"{name}.lake.v3"
    got = _lineage(spark, t)
    assert got == {i: (f"c{i % 3}", i, 1 + i // 10) for i in range(30)}, got
    run_inlet("update", "lake.v3", *cat, "--where", "id < 3", "--set", "city='x'")
    spark.sql(f"REFRESH TABLE {t}")
    after = _lineage(spark, t)
    for i in range(30):
        if i < 3:
            assert after[i][0] == "x" and after[i][1] >= 30 and after[i][2] == 4, after[i]
        else:
            assert after[i] == got[i], (i, after[i], got[i])
    run_inlet("optimize", "lake.v3", *cat)
    spark.sql(f"REFRESH TABLE {t}")
    assert _lineage(spark, t) == after
    oracle.assert_tables_equal(scan("lake.v3", *cat, out_dir=tmp_path / "s"),
                               spark.sql(f"SELECT * FROM {t}").toArrow(), "inlet and Spark")


def _age_files(root, hours: float) -> None:
    """Makes every file under root `hours` old (remove_orphan_files only takes old ones)."""
    import os
    import time
    then = time.time() - hours * 3600
    for p in root.rglob("*"):
        if p.is_file():
            os.utime(p, (then, then))


@pytest.mark.parametrize("version", [2, 3], ids=["position_deletes", "v3_deletion_vectors"])
def test_spark_reads_inlet_row_level_changes_and_inlet_goes_on_after_spark_maintenance(
        spark, tmp_path, catalog, version):
    """inlet's copy-on-write and merge-on-read changes (position delete files; on format
    version 3 deletion vectors) and a CDC pipeline's state (its documents and remembered
    deletes under _inlet/) against Spark: Spark reads every change; after Spark's
    rewrite_data_files, expire_snapshots and remove_orphan_files every engine reads the same
    rows and the pipeline goes on exactly once (a late update of a key it deleted stays
    discarded)."""
    import pipeline_support as ps
    name, cat = catalog
    src = tmp_path / "src"
    src.mkdir()
    uri = cat[1]
    p = ps.pipeline("cdc", path=str(src / "*.ndjson"), dest="", keys=["id"],
                    strategy={"type": "cdc", "sequence_by": "seq"},
                    schema={"op": "string", "id": "long", "city": "string", "seq": "long"})
    p["destination"] = {"format": "iceberg", "table": "lake.cdc", "partition_by": ["city"], "keys": ["id"],
                        "properties": ps.ICEBERG_MERGE_ON_READ if version == 2 else ps.ICEBERG_V3_MERGE_ON_READ,
                        "catalog": {"uri": uri, "name": name, "warehouse": str(tmp_path / "wh")}}
    yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
    events = [{"op": "c", "id": i, "city": f"c{i % 2}", "seq": 10 + i} for i in range(20)]
    events += [{"op": "u", "id": i, "city": f"c{i % 2}", "seq": 100 + i} for i in range(0, 20, 3)]
    events += [{"op": "d", "id": i, "city": f"c{i % 2}", "seq": 200 + i} for i in range(0, 20, 4)]
    for k in range(3):
        ps.write_source(src / f"b{k}.ndjson", events[k::3], fmt="ndjson")
        assert ps.run(yaml).report["status"] == "committed"
    t = f"{name}.lake.cdc"

    def model(evts):
        last = {}
        for e in sorted(evts, key=lambda e: e["seq"]):
            last[e["id"]] = e
        return pa.Table.from_pylist([{"id": e["id"], "city": e["city"], "seq": e["seq"]}
                                     for e in last.values() if e["op"] != "d"],
                                    schema=pa.schema([("id", pa.int64()), ("city", pa.string()),
                                                      ("seq", pa.int64())]))

    def check(context):
        spark.sql(f"REFRESH TABLE {t}")
        want = model(events)
        oracle.assert_tables_equal(_spark_rows(spark, f"SELECT * FROM {t}"), want, f"Spark, {context}")
        oracle.assert_tables_equal(scan("lake.cdc", *cat, out_dir=tmp_path / "s"), want, f"inlet, {context}")

    check("after inlet's runs")
    formats = {r.file_format for r in spark.sql(f"SELECT file_format FROM {t}.delete_files").collect()}
    assert formats == ({"PARQUET"} if version == 2 else {"PUFFIN"}), \
        f"inlet wrote no delete files of the version's kind ({formats}): the test would not test them"
    assert list((tmp_path / "wh" / "lake" / "cdc" / "_inlet").rglob("*")), "no state under _inlet/"

    # Spark's maintenance: compaction folding the deletes, expiry of every snapshot but
    # the current one, and orphan removal of everything unreferenced and old.
    spark.sql(f"CALL {name}.system.rewrite_data_files(table => 'lake.cdc', "
              "options => map('min-input-files', '1', 'delete-file-threshold', '1'))")
    spark.sql(f"CALL {name}.system.expire_snapshots(table => 'lake.cdc', "
              "older_than => TIMESTAMP '2999-01-01 00:00:00', retain_last => 1)")
    (tmp_path / "wh" / "lake" / "cdc" / "data" / "orphan.parquet").write_bytes(b"left by a crashed writer")
    _age_files(tmp_path / "wh" / "lake" / "cdc", 24 * 5)
    import datetime
    two_days_ago = (datetime.datetime.now() - datetime.timedelta(days=2)).strftime("%Y-%m-%d %H:%M:%S")
    removed = spark.sql(f"CALL {name}.system.remove_orphan_files(table => 'lake.cdc', "
                        f"older_than => TIMESTAMP '{two_days_ago}')").collect()
    assert [r.orphan_file_location for r in removed] == [
        f"file:{tmp_path}/wh/lake/cdc/data/orphan.parquet"], removed
    check("after Spark's maintenance")

    def go_on(batch, more, context):
        """The pipeline goes on: the new key loads once, and a late update of a deleted key
        stays discarded (the remembered delete survived)."""
        ps.write_source(src / f"{batch}.ndjson", more, fmt="ndjson")
        report = ps.run(yaml).report
        assert report["rows_read"] == 2 and report["rows_late"] == 1, report
        events.extend(more)
        check(context)

    go_on("b3", [{"op": "c", "id": 50, "city": "c0", "seq": 300}, {"op": "u", "id": 4, "city": "c0", "seq": 150}],
          "after the next run")

    # inlet's own maintenance next: compaction, then expiry of everything but the current
    # snapshot and removal of what nothing reaches; Spark reads the same rows, and the
    # pipeline goes on once more.
    run_inlet(*cat, "optimize", "lake.cdc")
    run_inlet(*cat, "vacuum", "lake.cdc", "--retention-hours", "0", "--force")
    check("after inlet's optimize and vacuum")
    go_on("b4", [{"op": "c", "id": 60, "city": "c1", "seq": 400}, {"op": "u", "id": 8, "city": "c0", "seq": 150}],
          "after a run following inlet's maintenance")


def test_inlet_changes_equal_sparks_changelog_view(spark, tmp_path, catalog):
    """`inlet changes` on an Iceberg table gives the rows Spark's create_changelog_view
    gives (inserts and deletes per snapshot, carry-over rows of rewrites left out). Spark's
    changelog scan refuses delete files, so the same changes made merge-on-read are held
    to what Spark says of the copy-on-write table."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq
    name, cat = catalog
    mor = ["--property", "write.delete.mode=merge-on-read", "--property", "write.update.mode=merge-on-read",
           "--property", "write.merge.mode=merge-on-read"]
    merged = _rows(8, 8).set_column(1, "city", pa.array([f"c{i % 3}" for i in range(8, 16)]))
    pq.write_table(merged, tmp_path / "m.parquet")
    ours = {}
    for table, props in (("lake.cow", []), ("lake.mor", mor)):
        write(table, _rows(0, 12), *cat, "--format", "iceberg", "--partition-by", "city", *props,
              work_dir=tmp_path / "in")
        run_inlet(*cat, "merge", table, "--keys", "id", "--input", tmp_path / "m.parquet")
        run_inlet(*cat, "delete", table, "--where", "id < 3")
        run_inlet(*cat, "update", table, "--where", "id = 5", "--set", "city='moved'")
        out = tmp_path / f"{table}.csv"
        run_inlet(*cat, "changes", table, "--from-version", "2", "--output", out)
        ours[table] = [dict(id=r["id"], city=r["city"], change=r["_change_type"], version=r["_commit_version"])
                       for r in pacsv.read_csv(out).to_pylist()]
    t = f"{name}.lake.cow"
    snaps = spark.sql(f"SELECT snapshot_id FROM {t}.snapshots ORDER BY committed_at").collect()
    seq = {r.snapshot_id: i + 1 for i, r in enumerate(snaps)}
    spark.sql(f"CALL {name}.system.create_changelog_view(table => 'lake.cow', "
              f"options => map('start-snapshot-id', '{snaps[0].snapshot_id}'), changelog_view => 'cv')")
    theirs = [dict(id=r.id, city=r.city, change=r._change_type.lower(), version=seq[r._commit_snapshot_id])
              for r in spark.sql("SELECT * FROM cv").collect()]
    key = lambda r: (r["version"], r["change"], r["id"], r["city"])
    assert sorted(ours["lake.cow"], key=key) == sorted(theirs, key=key)
    assert sorted(ours["lake.mor"], key=key) == sorted(theirs, key=key)
    assert {r["change"] for r in theirs} == {"insert", "delete"} and len({r["version"] for r in theirs}) == 3


def test_a_pipeline_state_rolled_back_by_spark_is_not_brought_back(spark, tmp_path, catalog):
    """Pipeline y commits, then pipeline x commits for the first time; Spark rolls the
    table back to y's snapshot, undoing x's rows. y's next commit must not carry x's state
    forward (from the table properties' mirror), so x's next run loads its file again."""
    import pipeline_support as ps
    name, cat = catalog
    uri = cat[1]
    pipes = []
    for p in ("x", "y"):
        (tmp_path / p).mkdir()
        pipe = ps.pipeline(p, path=str(tmp_path / p / "*.ndjson"), dest="", strategy={"type": "append"},
                           schema={"id": "long", "city": "string"})
        pipe["destination"] = {"format": "iceberg", "table": "lake.two",
                               "catalog": {"uri": uri, "name": name, "warehouse": str(tmp_path / "wh")}}
        pipes.append(pipe)
    yaml = ps.write_pipelines(tmp_path / "p.yaml", *pipes)
    ps.write_source(tmp_path / "y" / "a.ndjson", [{"id": 1, "city": "y"}], fmt="ndjson")
    ps.run(yaml, "--pipeline", "y")
    t = f"{name}.lake.two"
    first = spark.sql(f"SELECT snapshot_id FROM {t}.snapshots ORDER BY committed_at").collect()[-1].snapshot_id
    ps.write_source(tmp_path / "x" / "a.ndjson", [{"id": 2, "city": "x"}], fmt="ndjson")
    ps.run(yaml, "--pipeline", "x")
    spark.sql(f"CALL {name}.system.rollback_to_snapshot('lake.two', {first})")
    ps.write_source(tmp_path / "y" / "b.ndjson", [{"id": 3, "city": "y"}], fmt="ndjson")
    ps.run(yaml, "--pipeline", "y")
    report = ps.run(yaml, "--pipeline", "x").report
    assert report["rows_written"] == 1, report
    spark.sql(f"REFRESH TABLE {t}")
    got = sorted(r.id for r in spark.sql(f"SELECT id FROM {t}").collect())
    assert got == [1, 2, 3], got
