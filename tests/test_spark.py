"""Apache Spark 4.0.1 with Delta Lake 4.0.1 reads what inlet writes, and writes to it.

Spark is the reference Delta engine. Each table inlet writes here (types, partitions with
empty strings and nulls, deletion vectors, the change data feed, compaction,
checkpoints, time travel, a pipeline's table) must read in Spark exactly as in deltalake
and DuckDB. One Spark session serves the whole run (conftest.py: spark).
"""
from __future__ import annotations

import datetime
import decimal
import json

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import oracle
import spark_oracle
import support


def _rows(n: int = 60) -> pa.Table:
    utc = datetime.timezone.utc
    return pa.table({
        "id": pa.array(range(n), pa.int64()),
        "region": pa.array([["", None, "x", "y"][i % 4] for i in range(n)], pa.string()),
        "amount": pa.array([decimal.Decimal(f"{12345678901 + i}.{i:06d}") for i in range(n)],
                           pa.decimal128(18, 6)),
        "at": pa.array([datetime.datetime(2024, 3, 9, i % 24, i % 60, tzinfo=utc) for i in range(n)],
                       pa.timestamp("us", tz="UTC")),
        "day": pa.array([datetime.date(2024, 3, 1 + i % 7) for i in range(n)], pa.date32()),
        "score": pa.array([i / 7 for i in range(n)], pa.float64()),
        "ok": pa.array([i % 3 == 0 for i in range(n)]),
        "tags": pa.array([[f"t{i}", "z"] if i % 5 else None for i in range(n)], pa.list_(pa.string())),
        "info": pa.array([{"a": i, "b": f"b{i}"} for i in range(n)],
                         pa.struct([("a", pa.int64()), ("b", pa.string())])),
    })


def _same_everywhere(spark, table, context: str, version: int | None = None) -> pa.Table:
    """The table read by Spark equals deltalake's and DuckDB's reading; returns it."""
    got = spark_oracle.read(spark, table, version)
    for name, other in (("deltalake", oracle.read_deltalake(table, version)),
                        ("duckdb", oracle.read_duckdb(table, version))):
        oracle.assert_tables_equal(got.select(other.column_names), other, f"{context}: Spark vs {name}")
    return got


def test_types_and_partitions_with_empty_strings_and_nulls(spark, tmp_path):
    data = _rows()
    table = tmp_path / "t"
    support.write(table, data, "--partition-by", "region", work_dir=tmp_path / "in")
    got = _same_everywhere(spark, table, "types")
    # An empty partition string is written as null (item 3.5): every engine counts the
    # same nulls, and Spark's SQL agrees.
    expected = data.set_column(1, "region", pc.if_else(pc.equal(data["region"], ""), None, data["region"]))
    oracle.assert_tables_equal(got.select(expected.column_names), expected, "Spark vs the input")
    nulls = spark_oracle.sql(spark, f"SELECT count(*) AS n FROM delta.`{table}` WHERE region IS NULL")[0]["n"]
    assert nulls == 30, nulls
    duck = oracle.read_duckdb(table)
    assert duck.filter(pc.is_null(duck["region"])).num_rows == nulls
    # Decimal bounds wider than a double filter correctly (item 3.6).
    top = f"SELECT count(*) AS n FROM delta.`{table}` WHERE amount {{}} 12345678960.000059"
    assert spark_oracle.sql(spark, top.format(">"))[0]["n"] == 0
    assert spark_oracle.sql(spark, top.format(">="))[0]["n"] == 1


def test_deletion_vectors_and_row_commands(spark, tmp_path):
    data = _rows(200).select(["id", "region", "score"])
    table = tmp_path / "t"
    for i in range(4):
        support.write(table, data.slice(i * 50, 50), "--property", "delta.enableDeletionVectors=true",
                      work_dir=tmp_path / "in")
    support.run_inlet("delete", table, "--where", "score < 10")
    support.run_inlet("update", table, "--set", "region='moved'", "--where", "id >= 150")
    log = "".join(p.read_text() for p in sorted((table / "_delta_log").glob("*.json")))
    assert '"deletionVector"' in log
    got = _same_everywhere(spark, table, "deletion vectors")
    assert got.num_rows == 200 - 70
    history = spark_oracle.sql(spark, f"DESCRIBE HISTORY delta.`{table}`")
    assert [h["operation"] for h in history[:2]] == ["UPDATE", "DELETE"]


def test_change_data_feed_reads_alike(spark, tmp_path):
    data = _rows(100).select(["id", "region", "score"])
    table = tmp_path / "t"
    support.write(table, data, "--property", "delta.enableChangeDataFeed=true", work_dir=tmp_path / "in")
    patch = tmp_path / "patch.csv"
    patch.write_text("id,score\n1,100.5\n2,200.5\n500,1.5\n")
    support.run_inlet("merge", table, "--input", patch, "--keys", "id")
    support.run_inlet("delete", table, "--where", "id >= 90")
    spark_changes = (spark.read.format("delta").option("readChangeFeed", "true")
                     .option("startingVersion", 1).load(str(table)).toArrow())
    ours = support.run_inlet("changes", table, "--from-version", 1, "--output-format", "ndjson").stdout
    ours = [json.loads(line) for line in ours.splitlines()]
    key = lambda r: (r["_commit_version"], r["_change_type"], r["id"])  # noqa: E731
    assert sorted(key(r) for r in spark_changes.to_pylist()) == sorted(key(r) for r in ours)
    assert sorted(r["_change_type"] for r in ours).count("update_postimage") == 2


def test_checkpoints_compaction_and_time_travel(spark, tmp_path):
    data = _rows(40).select(["id", "region", "day", "score"])
    table = tmp_path / "t"
    support.write(table, data.slice(0, 10), "--partition-by", "day", work_dir=tmp_path / "in")
    for i in range(1, 4):
        support.write(table, data.slice(i * 10, 10), work_dir=tmp_path / "in")
    support.run_inlet("optimize", table)
    support.run_inlet("checkpoint", table)
    support.run_inlet("delete", table, "--where", "id < 5")
    for version in (0, 2, None):
        got = _same_everywhere(spark, table, f"version {version}", version)
        if version == 0:
            assert got.num_rows == 10


@pytest.mark.parametrize("storage", ["domainMetadata", "files"])
def test_spark_appends_to_a_pipeline_table_and_the_pipeline_goes_on(spark, tmp_path, storage):
    """A table a pipeline keeps (with its state in the table, in either place) stays
    writable by Spark, and the next run neither loses nor repeats a file."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.csv").write_text("id,v\n1,a\n2,b\n")
    yaml = tmp_path / "p.yaml"
    yaml.write_text("pipelines:\n  - name: p\n    source: {path: src/*.csv}\n"
                    "    destination: {path: t, properties: {inlet.stateStorage: " + storage + "}}\n"
                    "    strategy: {type: append}\n")
    support.run_inlet("run", yaml)
    table = tmp_path / "t"
    spark.createDataFrame([(9, "spark")], "id long, v string").write.format("delta").mode("append").save(str(table))
    (src / "b.csv").write_text("id,v\n3,c\n")
    support.run_inlet("run", yaml)
    got = _same_everywhere(spark, table, "pipeline table")
    assert sorted(got["id"].to_pylist()) == [1, 2, 3, 9]


def test_spark_reads_and_writes_inlet_tables_on_minio(spark, tmp_path, minio, s3_bucket):
    """On object storage too: a Delta table with deletion vectors and an Iceberg
    merge-on-read table that inlet keeps on MinIO read in Spark (through S3A) as in the
    other engines; Spark appends to the Delta table and inlet goes on from there."""
    from table_place import TablePlace
    import pipeline_support as ps
    place = TablePlace.s3(minio, s3_bucket)
    spark_oracle.use_minio(spark, minio)
    data = _rows().drop_columns(["info"])
    path = tmp_path / "in.parquet"
    import pyarrow.parquet as pq
    pq.write_table(data, path)
    delta = place.uri("d")
    place.inlet("write", delta, "--input", path, "--partition-by", "region",
                "--property", "delta.enableDeletionVectors=true")
    place.inlet("delete", delta, "--where", "id >= 10 AND id < 19")
    place.inlet("update", delta, "--where", "id < 9", "--set", "score=-1")
    got = spark_oracle.read(spark, delta)
    want = place.read_deltalake("d")
    oracle.assert_tables_equal(got.select(want.column_names), want, "Spark vs deltalake on MinIO")
    assert got.num_rows == 60 - 9
    # Spark appends; inlet reads its commit and appends after it.
    spark.createDataFrame([(1000, "spark")], "id long, region string").write.format("delta") \
        .mode("append").option("mergeSchema", "false").save(delta)
    place.inlet("write", delta, "--input", path)
    ids = sorted(place.read_deltalake("d").column("id").to_pylist())
    assert ids.count(1000) == 1 and len(ids) == 51 + 1 + 60
    assert sorted(spark_oracle.read(spark, delta).column("id").to_pylist()) == ids

    ice = place.uri("i")
    place.inlet("write", ice, "--input", path, "--format", "iceberg", "--partition-by", "day",
                *[a for k, v in ps.ICEBERG_MERGE_ON_READ.items() for a in ("--property", f"{k}={v}")])
    place.inlet("delete", ice, "--where", "id >= 20 AND id < 32")
    import re
    versions = {int(m.group(1)): f for f in place.files("i", "metadata")
                if (m := re.fullmatch(r"metadata/v(\d+)\.metadata\.json", f))}
    current = versions[max(versions)]
    got = spark.read.format("iceberg").load(f"{ice}/{current}").toArrow()
    from pyiceberg.table import StaticTable
    want = StaticTable.from_metadata(f"{ice}/{current}", properties={
        "s3.endpoint": minio.endpoint, "s3.access-key-id": minio.access_key,
        "s3.secret-access-key": minio.secret_key, "s3.region": "us-east-1"}).scan().to_arrow()
    oracle.assert_tables_equal(got.select(want.column_names).sort_by("id"), want.sort_by("id"),
                               "Spark vs pyiceberg on MinIO")
    assert sorted(got.column("id").to_pylist()) == [i for i in range(60) if not 20 <= i < 32]
