"""Iceberg tables inlet writes (issue 21, part 1: writing, tables by path): pyiceberg 0.12
(StaticTable) and DuckDB 1.5.5's iceberg_scan read every snapshot as inlet's model says;
the partition values inlet computes (every transform) are the ones pyiceberg's own
transforms give; concurrent appends each land once; a crash at any point leaves the
table as it was or with the whole commit.
"""
from __future__ import annotations

import datetime
import decimal
import json
import random
import subprocess

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import oracle
import support

UTC = datetime.timezone.utc

SCHEMA = pa.schema([
    ("id", pa.int64()), ("small", pa.int32()), ("flag", pa.bool_()), ("x", pa.float64()),
    ("price", pa.decimal128(10, 2)), ("day", pa.date32()), ("ts", pa.timestamp("us", tz="UTC")),
    ("local", pa.timestamp("us")), ("name", pa.string()), ("blob", pa.binary()),
    ("tags", pa.list_(pa.string())), ("point", pa.struct([("a", pa.int32()), ("b", pa.string())])),
])


def _rows(rng, start, n):
    out = []
    for i in range(start, start + n):
        null = rng.random() < 0.1
        out.append({
            "id": i, "small": None if null else rng.randrange(-50, 50), "flag": None if null else rng.random() < 0.5,
            "x": None if null else rng.uniform(-10, 10),
            "price": None if null else decimal.Decimal(rng.randrange(-99999, 99999)) / 100,
            "day": None if null else datetime.date(2023, 12, 1) + datetime.timedelta(days=rng.randrange(90)),
            "ts": None if null else datetime.datetime(2024, 3, 1, tzinfo=UTC) + datetime.timedelta(minutes=rng.randrange(-5000, 5000)),
            "local": None if null else datetime.datetime(1969, 12, 31, 23) + datetime.timedelta(hours=rng.randrange(4)),
            "name": None if null else rng.choice(["alpha", "beta", "gamma-delta-epsilon-zeta-eta", "ñandú", ""]),
            "blob": None if null else bytes([i % 256]) * (i % 20),
            "tags": None if null else [rng.choice(["a", "b"]) for _ in range(i % 3)],
            "point": None if null else {"a": i % 4, "b": None if i % 2 else "p"},
        })
    return out


def _write(table, rows, tmp_path, *args, check=True):
    return support.write(table, pa.Table.from_pylist(rows, schema=SCHEMA), "--format", "iceberg", *args,
                         work_dir=tmp_path / "in", check=check)


def _static(table, version=None):
    from pyiceberg.table import StaticTable
    hint = (table / "metadata" / "version-hint.text").read_text().strip()
    return StaticTable.from_metadata(str(table / "metadata" / f"v{version or hint}.metadata.json"))


def _duckdb(table, version=None):
    import duckdb
    con = duckdb.connect()
    con.load_extension(str(oracle.duckdb_extension_path("avro")))
    con.load_extension(str(oracle.duckdb_extension_path("iceberg")))
    target = table / "metadata" / f"v{version}.metadata.json" if version else table
    return con.execute(f"select * from iceberg_scan('{target}')").to_arrow_table()


def _days(v):
    """Dates as days since 1970 (pyiceberg gives identity dates as dates, day() as days)."""
    if isinstance(v, datetime.date) and not isinstance(v, datetime.datetime):
        return (v - datetime.date(1970, 1, 1)).days
    return v


PARTITIONS = {
    "identity": "flag, day",
    "time": "hour(ts), month(day), year(local)",
    "hash": "bucket(id, 5), truncate(name, 3), truncate(small, 10), bucket(price, 3)",
}


@pytest.mark.parametrize("partitioning", sorted(PARTITIONS))
def test_pyiceberg_and_duckdb_read_every_snapshot_inlet_writes(tmp_path, partitioning):
    table = tmp_path / "t"
    rng = random.Random(partitioning)
    model: list[list[dict]] = []      # the rows of each snapshot, by sequence number
    rows = _rows(rng, 0, 60)
    _write(table, rows, tmp_path, "--partition-by", PARTITIONS[partitioning])
    model.append(list(rows))
    more = _rows(rng, 100, 40)
    _write(table, more, tmp_path)
    model.append(model[-1] + more)
    replaced = _rows(rng, 200, 30)
    _write(table, replaced, tmp_path, "--mode", "overwrite")
    model.append(list(replaced))
    again = _rows(rng, 300, 20)
    _write(table, again, tmp_path)
    model.append(model[-1] + again)
    for seq, expected_rows in enumerate(model, start=1):
        expected = pa.Table.from_pylist(expected_rows, schema=SCHEMA)
        oracle.assert_tables_equal(support.scan(table, "--version", str(seq), out_dir=tmp_path / "s"),
                                   expected, f"inlet, version {seq}")
        static = _static(table, seq)
        oracle.assert_tables_equal(static.scan().to_arrow(), expected, f"pyiceberg, v{seq}.metadata.json")
        oracle.assert_tables_equal(_duckdb(table, seq), expected, f"DuckDB, version {seq}")
    latest = _static(table)
    assert [s.sequence_number for s in latest.snapshots()] == [1, 2, 3, 4]
    assert [s.summary.operation.value for s in latest.snapshots()] == ["append", "append", "overwrite", "append"]
    assert latest.current_snapshot().summary["total-records"] == str(len(model[-1]))
    # Every data file's partition tuple is what pyiceberg's own transforms give its rows.
    spec = latest.spec()
    schema = latest.schema()
    files = latest.inspect.files().to_pylist()
    assert files
    for f in files:
        data = pq.ParquetFile(f["file_path"].removeprefix("file://")).read()
        for field in spec.fields:
            source = schema.find_field(field.source_id)
            values = {_days(field.transform.transform(source.field_type)(v))
                      for v in data[source.name].to_pylist() if v is not None}
            values |= {None} if data[source.name].null_count else set()
            recorded = _days(f["partition"][field.name])
            assert values == {recorded}, (f["file_path"], field, values, recorded)
    # Filters are answered alike, pruned by partitions and metrics (a wrong partition value
    # or bound would lose rows).
    import pyarrow.compute as pc
    everything = pa.Table.from_pylist(model[-1], schema=SCHEMA)
    for where, expr in [("id >= 310", pc.field("id") >= 310), ("name = beta", pc.field("name") == "beta"),
                        ("name = ''", pc.field("name") == ""), ("price < 0", pc.field("price") < pa.scalar(decimal.Decimal(0), pa.decimal128(10, 2))),
                        ("day = 2023-12-05", pc.field("day") == datetime.date(2023, 12, 5)),
                        ("flag = true", pc.field("flag") == True), ("small >= 40", pc.field("small") >= 40),
                        ("ts < 2024-02-28T12:00:00Z",
                         pc.field("ts") < pa.scalar(datetime.datetime(2024, 2, 28, 12, tzinfo=UTC)))]:
        got = support.scan(table, "--where", where, out_dir=tmp_path / "s")
        oracle.assert_tables_equal(got, everything.filter(expr), f"--where {where}")


def _partition_tuple(table, row):
    """The partition tuple of a row under the table's spec, by pyiceberg's own transforms."""
    latest = _static(table)
    schema = latest.schema()
    out = []
    for field in latest.spec().fields:
        source = schema.find_field(field.source_id)
        v = row[source.name]
        out.append(None if v is None else _days(field.transform.transform(source.field_type)(v)))
    return tuple(out)


@pytest.mark.parametrize("partitioning", sorted(PARTITIONS))
def test_a_dynamic_partition_overwrite_replaces_only_the_partitions_of_its_rows(tmp_path, partitioning):
    """--mode overwrite-partitions replaces the partitions the new rows fall in, also when
    they are hidden (transforms); every other partition keeps its rows."""
    table = tmp_path / "t"
    rng = random.Random("dyn" + partitioning)
    base = _rows(rng, 0, 80)
    _write(table, base, tmp_path, "--partition-by", PARTITIONS[partitioning])
    # New rows in the partitions of a few existing rows (so some partitions are replaced
    # and the rest must stay).
    incoming = []
    for i, row in enumerate(rng.sample(base, 3)):
        new = dict(row)
        new["x"] = 1000.5 + i  # no spec partitions by x
        incoming.append(new)
    replaced = {_partition_tuple(table, r) for r in incoming}
    kept = [r for r in base if _partition_tuple(table, r) not in replaced]
    assert kept and len(kept) < len(base), "the case replaces some partitions and keeps others"
    _write(table, incoming, tmp_path, "--mode", "overwrite-partitions")
    expected = pa.Table.from_pylist(kept + incoming, schema=SCHEMA)
    oracle.assert_tables_equal(support.scan(table, out_dir=tmp_path / "s"), expected, "inlet")
    oracle.assert_tables_equal(_static(table).scan().to_arrow(), expected, "pyiceberg")
    oracle.assert_tables_equal(_duckdb(table), expected, "DuckDB")
    assert _static(table).current_snapshot().summary.operation.value == "overwrite"
    # No rows: no partition is replaced.
    _write(table, [], tmp_path, "--mode", "overwrite-partitions")
    oracle.assert_tables_equal(support.scan(table, out_dir=tmp_path / "s"), expected, "inlet, after no rows")


def test_concurrent_appends_each_land_once(tmp_path):
    table = tmp_path / "t"
    rng = random.Random(7)
    first = _rows(rng, 0, 5)
    _write(table, first, tmp_path, "--partition-by", "bucket(id, 2)")
    expected = list(first)
    inputs = []
    for w in range(6):
        rows = _rows(rng, 1000 * (w + 1), 7)
        path = tmp_path / f"c{w}.parquet"
        pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path)
        inputs.append(path)
        expected += rows
    procs = [subprocess.Popen([str(support.inlet_binary()), "write", str(table), "--input", str(p)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for p in inputs]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    want = pa.Table.from_pylist(expected, schema=SCHEMA)
    oracle.assert_tables_equal(_static(table).scan().to_arrow(), want, "pyiceberg after concurrent appends")
    oracle.assert_tables_equal(_duckdb(table), want, "DuckDB after concurrent appends")
    assert [s.sequence_number for s in _static(table).snapshots()] == list(range(1, 8))


@pytest.mark.parametrize("point", ["write.after_data_files", "commit.before_log_write", "commit.after_log_write"])
def test_a_crash_leaves_the_table_as_it_was_or_committed(tmp_path, point):
    table = tmp_path / "t"
    rng = random.Random(3)
    first = _rows(rng, 0, 10)
    _write(table, first, tmp_path, "--partition-by", "day")
    second = _rows(rng, 100, 10)
    path = tmp_path / "second.parquet"
    pq.write_table(pa.Table.from_pylist(second, schema=SCHEMA), path)
    proc = support.run_inlet("write", table, "--input", path, env={"INLET_CRASH_AT": point}, check=False)
    assert proc.returncode in (-9, 137), proc
    committed = point == "commit.after_log_write"
    expected = pa.Table.from_pylist(first + (second if committed else []), schema=SCHEMA)
    oracle.assert_tables_equal(_static(table).scan().to_arrow(), expected, f"pyiceberg after a crash at {point}")
    oracle.assert_tables_equal(support.scan(table, out_dir=tmp_path / "s"), expected, "inlet")
    # The next write goes on from there.
    _write(table, second, tmp_path)
    expected = pa.Table.from_pylist(first + second + (second if committed else []), schema=SCHEMA)
    oracle.assert_tables_equal(_duckdb(table), expected, "DuckDB after the next write")


def test_refusals_name_what_is_wrong(tmp_path):
    table = tmp_path / "t"
    rows = _rows(random.Random(1), 0, 3)
    _write(table, rows, tmp_path)
    line = support.check_refusal(_write(table, rows, tmp_path, "--partition-by", "day", check=False))
    assert "partitioning" in line, line
    line = support.check_refusal(support.write(tmp_path / "u", pa.Table.from_pylist(rows, schema=SCHEMA),
                                               "--format", "iceberg", "--partition-by", "hour(day)",
                                               work_dir=tmp_path / "in", check=False))
    assert "hour" in line and "date" in line, line
    # The seed's day(timestamp) + hour(timestamp): refused, as Spark and Trino refuse it.
    line = support.check_refusal(support.write(tmp_path / "v", pa.Table.from_pylist(rows, schema=SCHEMA),
                                               "--format", "iceberg", "--partition-by", "day(ts), hour(ts)",
                                               work_dir=tmp_path / "in", check=False))
    assert "redundant" in line and "day(ts)" in line and "hour" in line, line
    assert not (tmp_path / "v" / "metadata").exists()
    line = support.check_refusal(support.write(tmp_path / "t", pa.Table.from_pylist(rows, schema=SCHEMA),
                                               "--format", "delta", work_dir=tmp_path / "in", check=False))
    assert "is an Iceberg table" in line, line
    # An overwrite that cannot list the files it replaces (a manifest gone) commits
    # nothing, naming the manifest: it must never keep the rows it was to replace.
    import glob
    import os
    manifest = sorted(glob.glob(str(table / "metadata" / "*-m0.avro")))[0]
    os.rename(manifest, manifest + ".gone")
    before = sorted(p.name for p in (table / "metadata").iterdir())
    line = support.check_refusal(_write(table, rows, tmp_path, "--mode", "overwrite", check=False))
    assert os.path.basename(manifest) in line, line
    assert sorted(p.name for p in (table / "metadata").iterdir() if not p.name.endswith(".avro")) == \
        sorted(n for n in before if not n.endswith(".avro")), "no new metadata file"


def test_an_iceberg_table_on_either_storage(place, tmp_path):
    """A file-system Iceberg table on local disk and on S3 (MinIO): metadata files by
    conditional PUT, read back by inlet and by pyiceberg through its S3 file IO."""
    from pyiceberg.table import StaticTable
    uri = place.uri("ice")
    rng = random.Random(11)
    first, second = _rows(rng, 0, 20), _rows(rng, 100, 20)
    for i, rows in enumerate((first, second)):
        path = tmp_path / f"in{i}.parquet"
        pq.write_table(pa.Table.from_pylist(rows, schema=SCHEMA), path)
        place.inlet("write", uri, "--input", path, "--format", "iceberg", "--partition-by", "day(ts)")
    files = place.files("ice", "metadata")
    assert "metadata/v2.metadata.json" in files and "metadata/version-hint.text" in files, sorted(files)
    expected = pa.Table.from_pylist(first + second, schema=SCHEMA)
    out = tmp_path / "scan.parquet"
    place.inlet("scan", uri, "--output-format", "parquet", "--output", out)
    oracle.assert_tables_equal(pq.read_table(out), expected, f"inlet scan of {uri}")
    properties = {}
    if place.minio:
        m = place.minio
        properties = {"s3.endpoint": m.endpoint, "s3.access-key-id": m.access_key,
                      "s3.secret-access-key": m.secret_key, "s3.region": "us-east-1"}
    static = StaticTable.from_metadata(f"{uri}/metadata/v2.metadata.json", properties=properties)
    oracle.assert_tables_equal(static.scan().to_arrow(), expected, f"pyiceberg reading {uri}")
    assert static.metadata.location.endswith("/ice"), static.metadata.location


def test_what_v2_readers_need_is_what_inlet_writes(tmp_path):
    """Nanosecond input is stored as microseconds (timestamp_ns is a v3 type), a partition
    column whose name Avro does not accept still makes a readable manifest, and tables of
    other format versions are not written."""
    table = tmp_path / "t"
    data = pa.table({"event-date": pa.array([1, 2, 2], pa.int32()),
                     "at": pa.array([1_700_000_000_123_456_000, 1_700_000_000_000_001_000, None],
                                    pa.timestamp("ns"))})
    path = tmp_path / "ns.parquet"
    pq.write_table(data, path)
    support.run_inlet("write", table, "--input", path, "--format", "iceberg", "--partition-by", "event-date, at")
    meta = json.loads((table / "metadata" / "v1.metadata.json").read_text())
    types = {f["name"]: f["type"] for f in meta["schemas"][0]["fields"]}
    assert types == {"event-date": "int", "at": "timestamp"}, types
    expected = data.cast(pa.schema([("event-date", pa.int32()), ("at", pa.timestamp("us"))]))
    oracle.assert_tables_equal(_static(table).scan().to_arrow(), expected, "pyiceberg")
    oracle.assert_tables_equal(_duckdb(table), expected, "DuckDB")
    # Each file's partition tuple holds the microseconds its rows have.
    for f in _static(table).inspect.files().to_pylist():
        rows = pq.ParquetFile(f["file_path"].removeprefix("file://")).read()
        assert set(rows["at"].to_pylist()) == {f["partition"]["at"]}, f
    # A format-version 1 table is refused, naming the version.
    text = (table / "metadata" / "v1.metadata.json").read_text()
    (table / "metadata" / "v1.metadata.json").write_text(text.replace('"format-version":2', '"format-version":1'))
    line = support.check_refusal(support.run_inlet("write", table, "--input", path, check=False))
    assert "format-version 1" in line, line
    assert not (table / "metadata" / "v2.metadata.json").exists()


def test_small_manifests_of_many_appends_are_merged(tmp_path):
    """Each append adds one manifest; past commit.manifest.min-count-to-merge (100 by
    default, 4 here) the small ones are merged into one, as Java's MergeAppend does: the
    files keep the snapshot and sequence numbers they were added with, so every engine
    still reads every snapshot as it was."""
    table = tmp_path / "t"
    rng = random.Random(7)
    rows = []
    for i in range(10):
        batch = _rows(rng, i * 5, 5)
        rows += batch
        extra = ["--property", "commit.manifest.min-count-to-merge=4"] if i == 0 else []
        _write(table, batch, tmp_path, *extra)
    static = _static(table)
    manifests = static.current_snapshot().manifests(static.io)
    described = [(m.added_files_count, m.existing_files_count) for m in manifests]
    # Fewer than the minimum count stay apart; one holds the merged appends.
    assert len(manifests) <= 4 and max(m.existing_files_count for m in manifests) >= 4, described
    entries = static.inspect.entries().to_pylist()
    assert len(entries) == 10 and {e["status"] for e in entries} <= {0, 1}, entries  # EXISTING / ADDED
    assert len({e["snapshot_id"] for e in entries}) == 10
    assert sorted(e["sequence_number"] for e in entries) == list(range(1, 11))
    # Per-column compressed sizes, carried through the merge (pyiceberg's inspect needs them).
    assert all(e["data_file"]["column_sizes"] for e in entries), entries[0]["data_file"]
    expected = pa.Table.from_pylist(rows, schema=SCHEMA)
    oracle.assert_tables_equal(static.scan().to_arrow(), expected, "pyiceberg after merges")
    oracle.assert_tables_equal(_duckdb(table), expected, "DuckDB after merges")
    for v in (3, 7):
        old = _static(table, v).scan().to_arrow()
        oracle.assert_tables_equal(old, pa.Table.from_pylist(rows[:5 * v], schema=SCHEMA), f"pyiceberg at v{v}")
    # An overwrite once merging is due: its manifests still record the files it removed
    # (DELETED entries of its own snapshot), as Java's merge keeps them.
    _write(table, rows[:3], tmp_path, "--mode", "overwrite")
    static = _static(table)
    current = static.current_snapshot()
    entries = static.inspect.entries().to_pylist()
    removed = [e for e in entries if e["status"] == 2 and e["snapshot_id"] == current.snapshot_id]
    assert len(removed) == 10, [(e["status"], e["snapshot_id"]) for e in entries]
    assert sum(m.deleted_files_count for m in current.manifests(static.io)) == 10
    oracle.assert_tables_equal(static.scan().to_arrow(), pa.Table.from_pylist(rows[:3], schema=SCHEMA),
                               "after the overwrite")
    # Switched off, every append keeps its own manifest.
    plain = tmp_path / "plain"
    for i in range(6):
        extra = ["--property", "commit.manifest-merge.enabled=false",
                 "--property", "commit.manifest.min-count-to-merge=2"] if i == 0 else []
        _write(plain, _rows(rng, i, 1), tmp_path, *extra)
    assert len(_static(plain).current_snapshot().manifests(_static(plain).io)) == 6


def test_merge_schema_promotes_types_as_the_spec_allows(tmp_path):
    """int -> long, float -> double and a wider decimal keep their field ids and become the
    new schema's types; older files read with the promoted types; a column the table lacks
    is added with a fresh id."""
    table = tmp_path / "t"
    narrow = pa.schema([("id", pa.int32()), ("x", pa.float32()), ("d", pa.decimal128(5, 2))])
    wide = pa.schema([("id", pa.int64()), ("x", pa.float64()), ("d", pa.decimal128(12, 2)),
                      ("extra", pa.string())])
    first = pa.table({"id": pa.array([1, 2], pa.int32()), "x": pa.array([0.5, 1.5], pa.float32()),
                      "d": pa.array([decimal.Decimal("1.25"), None], pa.decimal128(5, 2))}, schema=narrow)
    second = pa.table({"id": pa.array([2**40], pa.int64()), "x": pa.array([1e300], pa.float64()),
                       "d": pa.array([decimal.Decimal("1234567890.12")], pa.decimal128(12, 2)),
                       "extra": ["new"]}, schema=wide)
    support.write(table, first, "--format", "iceberg", work_dir=tmp_path / "in")
    before = _static(table).schema()
    # Without --merge-schema the column keeps its type: a value it cannot hold is refused,
    # and the table stays as it was.
    proc = support.write(table, second.drop_columns(["extra"]), work_dir=tmp_path / "in", check=False)
    support.check_refusal(proc)
    assert _static(table).schema() == before
    support.write(table, second, "--merge-schema", work_dir=tmp_path / "in")
    static = _static(table)
    after = static.schema()
    assert [(f.field_id, f.name, str(f.field_type)) for f in after.fields] == [
        (before.find_field("id").field_id, "id", "long"), (before.find_field("x").field_id, "x", "double"),
        (before.find_field("d").field_id, "d", "decimal(12, 2)"), (4, "extra", "string")]
    expected = pa.concat_tables([first.cast(wide.remove(3)).append_column("extra", pa.array([None, None], pa.string())),
                                 second])
    oracle.assert_tables_equal(static.scan().to_arrow(), expected, "pyiceberg")
    oracle.assert_tables_equal(_duckdb(table), expected, "DuckDB")
    got = support.scan(table, out_dir=tmp_path / "s")
    oracle.assert_tables_equal(got, expected, "inlet")


def test_a_sort_order_is_recorded_and_every_write_follows_it(tmp_path):
    """--sort-by gives a created table its default sort order (as Java's writers and
    pyiceberg read it); every write sorts its rows by it, so each data file is sorted and
    records sort_order_id."""
    table = tmp_path / "t"
    rng = random.Random(11)
    first, second = _rows(rng, 0, 60), _rows(rng, 60, 40)
    _write(table, first, tmp_path, "--partition-by", "flag", "--sort-by", "name, id desc nulls last")
    _write(table, second, tmp_path)  # the table's order applies without --sort-by
    static = _static(table)
    order = static.sort_order()
    assert order.order_id == 1 and [(f.source_id, f.direction.value, f.null_order.value) for f in order.fields] == [
        (static.schema().find_field("name").field_id, "asc", "nulls-first"),
        (static.schema().find_field("id").field_id, "desc", "nulls-last")], order
    files = static.inspect.files().to_pylist()
    assert files and all(f["sort_order_id"] == 1 for f in files), [f["sort_order_id"] for f in files]
    for f in files:
        rows = pq.ParquetFile(f["file_path"].removeprefix("file://")).read().to_pylist()
        keys = [(r["name"] is not None, r["name"] or "", -r["id"]) for r in rows]
        assert keys == sorted(keys), f"{f['file_path']} is not in the table's sort order"
    oracle.assert_tables_equal(static.scan().to_arrow(), pa.Table.from_pylist(first + second, schema=SCHEMA),
                               "pyiceberg")
    line = support.check_refusal(_write(table, second, tmp_path, "--sort-by", "id", check=False))
    assert "sort order differs" in line, line
    line = support.check_refusal(support.write(tmp_path / "delta", pa.Table.from_pylist(first, schema=SCHEMA),
                                               "--sort-by", "id", work_dir=tmp_path / "in", check=False))
    assert "Delta table has no sort order" in line, line


def test_a_sorted_write_sorts_in_runs_of_bounded_size(tmp_path):
    """A sorted write holds at most --sort-run-size bytes of rows: each run is sorted and
    written to files of its own, so every file is sorted (and says so) however large the
    input. Three input files with a 1-byte run size: a run, and a file, per input batch."""
    table = tmp_path / "t"
    rng = random.Random(23)
    parts = [_rows(rng, 0, 50), _rows(rng, 50, 50), _rows(rng, 100, 50)]
    for part in parts:
        rng.shuffle(part)
    support.write(table, [pa.Table.from_pylist(p, schema=SCHEMA) for p in parts], "--format", "iceberg",
                  "--sort-by", "id desc", "--sort-run-size", "1", work_dir=tmp_path / "in")
    static = _static(table)
    files = static.inspect.files().to_pylist()
    assert len(files) == 3 and all(f["sort_order_id"] == 1 for f in files), files
    for f in files:
        ids = pq.read_table(f["file_path"].removeprefix("file://"))["id"].to_pylist()
        assert ids == sorted(ids, reverse=True) and len(ids) == 50, ids
    oracle.assert_tables_equal(static.scan().to_arrow(),
                               pa.Table.from_pylist([r for p in parts for r in p], schema=SCHEMA), "pyiceberg")
    # The default run holds all of it: one file, one sorted run.
    other = tmp_path / "one"
    support.write(other, [pa.Table.from_pylist(p, schema=SCHEMA) for p in parts], "--format", "iceberg",
                  "--sort-by", "id desc", work_dir=tmp_path / "in2")
    files = _static(other).inspect.files().to_pylist()
    assert len(files) == 1, files
    ids = pq.read_table(files[0]["file_path"].removeprefix("file://"))["id"].to_pylist()
    assert ids == list(range(149, -1, -1))
    proc = support.run_inlet("write", other, "--input", tmp_path / "in2" / "input-0.parquet",
                             "--input-format", "parquet", "--sort-run-size", "0", check=False)
    assert proc.returncode != 0 and "sort-run-size" in proc.stderr, proc.stderr


@pytest.mark.parametrize("order,expected", [
    ("x desc nulls last", ["nan", 2.0, 1.0, -1.0, None]),
    ("x desc nulls first", [None, "nan", 2.0, 1.0, -1.0]),
    ("x asc nulls last", [-1.0, 1.0, 2.0, "nan", None]),
    ("x asc nulls first", [None, -1.0, 1.0, 2.0, "nan"]),
])
def test_a_sort_order_puts_nan_above_every_value(tmp_path, order, expected):
    """Iceberg's sort order: NaN is greater than every other value, nulls go where the
    order says (Arrow's sort puts NaN with the nulls)."""
    import math
    table = tmp_path / "t"
    rows = pa.table({"x": pa.array([1.0, None, float("nan"), -1.0, 2.0], pa.float64())})
    support.write(table, rows, "--format", "iceberg", "--sort-by", order, work_dir=tmp_path / "in")
    files = _static(table).inspect.files()["file_path"].to_pylist()
    assert len(files) == 1
    got = pq.read_table(files[0].removeprefix("file://"))["x"].to_pylist()
    assert ["nan" if v is not None and math.isnan(v) else v for v in got] == expected, got


def test_a_sort_order_with_transforms_is_followed(tmp_path):
    """--sort-by takes transforms (bucket, truncate, day, ...): the order is recorded as
    pyiceberg reads it, and each written file holds its rows in that order, the
    transforms computed as pyiceberg's own do."""
    from pyiceberg.transforms import BucketTransform, DayTransform
    from pyiceberg.types import LongType, TimestamptzType
    table = tmp_path / "t"
    rng = random.Random(5)
    rows = _rows(rng, 0, 80)
    _write(table, rows, tmp_path, "--sort-by", "bucket(id, 4), day(ts) desc, name")
    static = _static(table)
    order = static.sort_order()
    assert [(str(f.transform), f.direction.value) for f in order.fields] == [
        ("bucket[4]", "asc"), ("day", "desc"), ("identity", "asc")], order
    bucket = BucketTransform(4).transform(LongType())
    day = DayTransform().transform(TimestamptzType())
    files = static.inspect.files().to_pylist()
    assert files and all(f["sort_order_id"] == 1 for f in files)
    for f in files:
        got = pq.ParquetFile(f["file_path"].removeprefix("file://")).read().to_pylist()
        micros = lambda ts: None if ts is None else int(ts.timestamp() * 1_000_000)
        keys = [(bucket(r["id"]), -day(micros(r["ts"])) if r["ts"] is not None else 10**9,
                 (r["name"] is not None, r["name"] or "")) for r in got]
        assert keys == sorted(keys), f"{f['file_path']} is not in the table's sort order"
    oracle.assert_tables_equal(static.scan().to_arrow(), pa.Table.from_pylist(rows, schema=SCHEMA), "pyiceberg")
