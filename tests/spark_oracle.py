"""Apache Spark 4.0.1 with Delta Lake 4.0.1 and Apache Iceberg 1.10.0: the reference
engines of both formats, as an oracle.

pyspark comes from scripts/requirements.txt; the Delta and Iceberg jars (and the JDBC
drivers of the Iceberg SQL catalogs, and S3A for MinIO) from scripts/spark/pom.xml,
which scripts/bootstrap.sh copies into ~/.cache/inlet/spark-jars-<version>. The session
runs locally (local[2], Java 17) and is shared by the whole test run (a session starts in
6-12 s).
"""
from __future__ import annotations

import os
import pathlib
import re

import pyarrow as pa

REPO = pathlib.Path(__file__).resolve().parents[1]


def delta_jars() -> list[pathlib.Path]:
    pom = (REPO / "scripts" / "spark" / "pom.xml").read_text()
    version = re.search(r"<delta.version>(.*)</delta.version>", pom).group(1)
    folder = pathlib.Path(os.environ.get("INLET_SPARK_JARS_DIR",
                                         pathlib.Path.home() / ".cache" / "inlet" / f"spark-jars-{version}"))
    jars = sorted(folder.glob("*.jar"))
    if not any(j.name.startswith("delta-spark") for j in jars):
        raise RuntimeError(f"no Delta Lake jars in {folder}: run scripts/bootstrap.sh")
    return jars


def start_spark(work: pathlib.Path):
    from pyspark.sql import SparkSession
    jars = ",".join(str(j) for j in delta_jars())
    return (SparkSession.builder.master("local[2]").appName("inlet-tests")
            .config("spark.jars", jars)
            .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension,"
                    "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions")
            .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
            .config("spark.driver.memory", "1g")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.driver.host", "127.0.0.1")
            .config("spark.sql.warehouse.dir", str(work / "warehouse"))
            .config("spark.driver.extraJavaOptions", f"-Djava.io.tmpdir={work}")
            .getOrCreate())


def use_minio(spark, minio) -> None:
    """Spark reaches the MinIO fixture's buckets as s3:// and s3a:// (Hadoop's S3A, from
    hadoop-aws in scripts/spark/pom.xml). Set before the first read of a bucket: Hadoop
    keeps one file system per bucket."""
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    for key, value in {"fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem",
                       "fs.s3a.endpoint": minio.endpoint, "fs.s3a.endpoint.region": "us-east-1",
                       "fs.s3a.access.key": minio.access_key, "fs.s3a.secret.key": minio.secret_key,
                       "fs.s3a.path.style.access": "true",
                       "fs.s3a.connection.ssl.enabled": "false"}.items():
        conf.set(key, value)


def read(spark, table: pathlib.Path | str, version: int | None = None) -> pa.Table:
    """The table as Spark's Delta reader reads it (by path), as Arrow."""
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    return reader.load(str(table)).toArrow()


_catalogs = 0


def iceberg_jdbc_catalog(spark, uri: str, warehouse: str, user: str = "", password: str = "") -> str:
    """Defines a new Spark catalog on the Iceberg SQL catalog at `uri`
    (jdbc:postgresql:...); returns its name, which is also the catalog_name the other
    engines must use. (On a SQLite file, Spark's JDBC connection keeps a read transaction
    open and goes on seeing the catalog as it was: Spark shares catalogs in PostgreSQL.)"""
    global _catalogs
    _catalogs += 1
    name = f"ice{_catalogs}"
    prefix = f"spark.sql.catalog.{name}"
    spark.conf.set(prefix, "org.apache.iceberg.spark.SparkCatalog")
    spark.conf.set(f"{prefix}.type", "jdbc")
    spark.conf.set(f"{prefix}.uri", uri)
    spark.conf.set(f"{prefix}.warehouse", warehouse)
    spark.conf.set(f"{prefix}.cache-enabled", "false")
    if user:
        spark.conf.set(f"{prefix}.jdbc.user", user)
        spark.conf.set(f"{prefix}.jdbc.password", password)
    return name


def sql(spark, text: str) -> list[dict]:
    return [r.asDict(recursive=True) for r in spark.sql(text).collect()]
