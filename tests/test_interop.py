"""Tables written by inlet read right in deltalake and DuckDB, and the other way round.

Every expected answer is the Arrow data the test itself wrote (or derived from it with
plain Python/pyarrow/DuckDB), compared order-free with oracle.assert_tables_equal, which
also checks that each column keeps its type family (int8 stays int8, timestamp with time
zone stays an instant, timestamp without stays wall-clock, decimal keeps precision/scale).
"""

from __future__ import annotations

import collections
import datetime
import decimal
import json
import pathlib

import pyarrow as pa
import pyarrow.compute as pc
import pytest

import oracle
import support

UTC = datetime.timezone.utc

# ---------------------------------------------------------------------------------------
# Data


_STRINGS = ["plain", "ünïcödé", "世界", "emoji 🚀", "", "quote ' and \"", "comma,new\nline"]
_PRIMITIVE_COLUMNS = [
    ("b", pa.bool_()),
    ("i8", pa.int8()),
    ("i16", pa.int16()),
    ("i32", pa.int32()),
    ("i64", pa.int64()),
    ("f32", pa.float32()),
    ("f64", pa.float64()),
    ("d10", pa.decimal128(10, 2)),
    ("d38", pa.decimal128(38, 9)),
    ("s", pa.string()),
    ("bin", pa.binary()),
    ("dt", pa.date32()),
    ("ts", pa.timestamp("us", tz="UTC")),
    ("ntz", pa.timestamp("us")),
]


def _primitive_value(name: str, i: int):
    sign = -1 if i % 2 else 1
    if name == "b":
        return i % 3 == 0
    if name == "i8":
        return [-128, 127, 0, -1][i % 4] if i < 4 else (i * 37) % 256 - 128
    if name == "i16":
        return [-32768, 32767][i % 2] if i < 2 else (i * 1001) % 65536 - 32768
    if name == "i32":
        return [-(2**31), 2**31 - 1][i % 2] if i < 2 else (i * 2654435761) % 2**32 - 2**31
    if name == "i64":
        return [-(2**63), 2**63 - 1][i % 2] if i < 2 else sign * i * 10**15
    if name == "f32":
        special = [float("nan"), float("inf"), float("-inf"), -0.0]
        return special[i] if i < 4 else sign * i / 3  # i/3 is rounded to float32 by Arrow
    if name == "f64":
        special = [float("-inf"), float("nan"), 5e-324, 1.7976931348623157e308]
        return special[i] if i < 4 else sign * i * 1.1
    if name == "d10":
        return decimal.Decimal(sign * (i * 1234567891 % 10**10)).scaleb(-2)
    if name == "d38":
        return decimal.Decimal(sign * (i * 12345678901234567890123 % 10**38)).scaleb(-9)
    if name == "s":
        return f"{_STRINGS[i % len(_STRINGS)]}#{i}"
    if name == "bin":
        return bytes([i % 256, 0, 255]) + b"\n\x00"
    if name == "dt":
        return datetime.date(2024, 2, 29) + datetime.timedelta(days=(i * 397) % 40000 - 20000)
    if name == "ts":
        base = datetime.datetime(2024, 1, 1, tzinfo=UTC)
        return base + datetime.timedelta(seconds=sign * i * 86_399, microseconds=i * 7)
    if name == "ntz":
        base = datetime.datetime(2024, 1, 1)
        return base + datetime.timedelta(seconds=sign * i * 3_599, microseconds=i * 11)
    raise KeyError(name)


def primitive_table(start: int, count: int) -> pa.Table:
    """Rows id=start..start+count-1 holding every primitive type; each column is null in
    some rows (column k is null when id % 5 == k % 5), and id % 11 == 10 is null throughout."""
    ids = list(range(start, start + count))
    cols = {"id": pa.array(ids, pa.int64())}
    for k, (name, typ) in enumerate(_PRIMITIVE_COLUMNS):
        values = [
            None if (i % 5 == k % 5 or i % 11 == 10) else _primitive_value(name, i) for i in ids
        ]
        cols[name] = pa.array(values, typ)
    return pa.table(cols)


PARTITION_VALUES = {
    "string": (
        pa.string(),
        ["plain", "with space", "a/b", "k=v", "100%", "12:30:00", "ünï 世界", "x%2Fy", None],
    ),
    "int": (pa.int64(), [0, -7, 123456789012, 2**63 - 1, None]),
    "date": (
        pa.date32(),
        [datetime.date(2024, 1, 1), datetime.date(1970, 1, 1), datetime.date(1969, 12, 31), None],
    ),
    "timestamp": (
        pa.timestamp("us", tz="UTC"),
        [
            datetime.datetime(2024, 1, 1, tzinfo=UTC),
            datetime.datetime(2024, 6, 30, 23, 59, 59, 999999, tzinfo=UTC),
            datetime.datetime(1960, 2, 29, 12, 0, 0, 1, tzinfo=UTC),
            None,
        ],
    ),
}


def with_partition(data: pa.Table, typ: pa.DataType, values: list, offset: int = 0) -> pa.Table:
    col = [values[(i + offset) % len(values)] for i in range(data.num_rows)]
    return data.append_column("part", pa.array(col, typ))


def concat(*tables: pa.Table) -> pa.Table:
    return pa.concat_tables(tables)


# ---------------------------------------------------------------------------------------
# Checks


def check_readers(
    table: pathlib.Path,
    expected: dict[int, pa.Table],
    scratch: pathlib.Path,
    *,
    duckdb: bool = True,
    inlet: bool = True,
) -> None:
    """deltalake, DuckDB and inlet read ``expected[v]`` at every version v, and the last
    one without a version."""
    latest = max(expected)
    for v, exp in sorted(expected.items()):
        oracle.assert_tables_equal(oracle.read_deltalake(table, v), exp, f"deltalake@v{v}")
        if duckdb:
            oracle.assert_tables_equal(oracle.read_duckdb(table, v), exp, f"duckdb@v{v}")
        if inlet:
            got = support.scan(table, "--version", v, out_dir=scratch)
            oracle.assert_tables_equal(got, exp, f"inlet scan --version {v}")
    oracle.assert_tables_equal(oracle.read_deltalake(table), expected[latest], "deltalake@latest")
    if duckdb:
        oracle.assert_tables_equal(oracle.read_duckdb(table), expected[latest], "duckdb@latest")
    if inlet:
        oracle.assert_tables_equal(support.scan(table, out_dir=scratch), expected[latest],
                                   "inlet scan (latest)")


def commit_actions(table: pathlib.Path, version: int) -> list[dict]:
    path = table / "_delta_log" / f"{version:020d}.json"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def delta_version(table: pathlib.Path) -> int:
    from deltalake import DeltaTable

    return DeltaTable(str(table)).version()


# ---------------------------------------------------------------------------------------
# inlet writes, others read


def test_every_primitive_type_with_nulls(tmp_path):
    table = tmp_path / "t"
    data = primitive_table(0, 23)
    support.write(table, data, work_dir=tmp_path / "in")
    assert delta_version(table) == 0
    check_readers(table, {0: data}, tmp_path / "out")


@pytest.mark.parametrize("encoding", ["default", "plain"])
def test_integer_columns_without_dictionary_read_alike(tmp_path, encoding):
    """Integer columns (ints, dates, timestamps, decimals up to precision 18) too distinct
    for a dictionary are written DELTA_BINARY_PACKED (or PLAIN with the table property
    inlet.parquet.integerEncoding=plain), and read back alike in deltalake, DuckDB and inlet."""
    import pyarrow.parquet as pq

    table = tmp_path / "t"
    n = 40000
    sign = [-1 if i % 2 else 1 for i in range(n)]
    data = pa.table({
        "id": pa.array(range(n), pa.int64()),
        "i32": pa.array([None if i % 7 == 3 else (i * 2654435761) % 2**32 - 2**31 for i in range(n)], pa.int32()),
        "i64": pa.array([[-(2**63), 2**63 - 1][i] if i < 2 else sign[i] * i * 10**14 for i in range(n)], pa.int64()),
        "d10": pa.array([decimal.Decimal(sign[i] * (i * 1234567891 % 10**10)).scaleb(-2) for i in range(n)],
                        pa.decimal128(10, 2)),
        "d18": pa.array([None if i % 7 == 5 else decimal.Decimal(sign[i] * (i * 98765432123457 % 10**18)).scaleb(-4)
                         for i in range(n)], pa.decimal128(18, 4)),
        "d7": pa.array([decimal.Decimal(sign[i] * (i * 7919 % 10**7)).scaleb(-2) for i in range(n)],
                       pa.decimal128(7, 2)),
        "dt": pa.array([datetime.date(2024, 2, 29) + datetime.timedelta(days=(i * 397) % 40000 - 20000)
                        for i in range(n)], pa.date32()),
        "ts": pa.array([datetime.datetime(2024, 1, 1, tzinfo=UTC) + datetime.timedelta(seconds=sign[i] * i * 86_399,
                                                                                     microseconds=i * 7)
                        for i in range(n)], pa.timestamp("us", tz="UTC")),
    })
    args = ["--property", "inlet.parquet.integerEncoding=plain"] if encoding == "plain" else []
    support.write(table, data, *args, work_dir=tmp_path / "in")
    encodings = collections.defaultdict(set)
    for f in table.glob("*.parquet"):
        meta = pq.ParquetFile(f).metadata
        for c in range(meta.num_columns):
            chunk = meta.row_group(0).column(c)
            encodings[chunk.path_in_schema].update(chunk.encodings)
    delta = {c for c, e in encodings.items() if "DELTA_BINARY_PACKED" in e}
    if encoding == "plain":
        assert not delta, encodings
    else:
        assert {"id", "i32", "i64", "d7", "d10", "d18", "ts"} <= delta, encodings
    check_readers(table, {0: data}, tmp_path / "out")


def test_integer_encoding_property_is_checked(tmp_path):
    (tmp_path / "x.csv").write_text("id\n1\n")
    line = support.run_inlet("write", tmp_path / "t", "--input", tmp_path / "x.csv", "--property",
                             "inlet.parquet.integerEncoding=zigzag", check=False)
    assert line.returncode != 0 and "inlet.parquet.integerEncoding" in line.stderr, line.stderr
    assert not (tmp_path / "t" / "_delta_log").exists()


def test_several_commits_each_version_readable(tmp_path):
    table = tmp_path / "t"
    batches = [primitive_table(0, 7), primitive_table(100, 5), primitive_table(200, 11)]
    expected = {}
    for v, batch in enumerate(batches):
        support.write(table, batch, "--mode", "append", work_dir=tmp_path / "in")
        expected[v] = concat(*batches[: v + 1])
    assert delta_version(table) == 2
    check_readers(table, expected, tmp_path / "out")


def test_several_input_files_in_one_commit(tmp_path):
    table = tmp_path / "t"
    parts = [primitive_table(0, 4), primitive_table(10, 4), primitive_table(20, 4)]
    support.write(table, parts, work_dir=tmp_path / "in")
    assert delta_version(table) == 0, "one write command must make one commit"
    check_readers(table, {0: concat(*parts)}, tmp_path / "out")


@pytest.mark.parametrize("kind", sorted(PARTITION_VALUES))
def test_partitioned_by(kind, tmp_path):
    typ, values = PARTITION_VALUES[kind]
    table = tmp_path / "t"
    first = with_partition(primitive_table(0, 2 * len(values)), typ, values)
    second = with_partition(primitive_table(500, len(values) + 1), typ, values, offset=1)
    support.write(table, first, "--partition-by", "part", work_dir=tmp_path / "in")
    support.write(table, second, work_dir=tmp_path / "in")

    from deltalake import DeltaTable

    assert DeltaTable(str(table)).metadata().partition_columns == ["part"]
    adds = [a["add"] for a in commit_actions(table, 0) if "add" in a]
    assert all("part" in add["partitionValues"] for add in adds), "partitionValues must name every partition column"
    assert any(add["partitionValues"]["part"] is None for add in adds), (
        "rows with a null partition value must land in an add whose partitionValues holds null"
    )
    check_readers(table, {0: first, 1: concat(first, second)}, tmp_path / "out")


def test_partitioned_by_two_columns(tmp_path):
    table = tmp_path / "t"
    s_typ, s_vals = PARTITION_VALUES["string"]
    d_typ, d_vals = PARTITION_VALUES["date"]
    data = with_partition(primitive_table(0, 30), s_typ, s_vals)
    data = data.append_column(
        "part2", pa.array([d_vals[i % len(d_vals)] for i in range(data.num_rows)], d_typ)
    )
    support.write(table, data, "--partition-by", "part,part2", work_dir=tmp_path / "in")
    from deltalake import DeltaTable

    assert DeltaTable(str(table)).metadata().partition_columns == ["part", "part2"]
    check_readers(table, {0: data}, tmp_path / "out")


def test_checkpoint(tmp_path):
    table = tmp_path / "t"
    batches = [primitive_table(100 * v, 6) for v in range(5)]
    expected = {}
    support.write(
        table, batches[0], "--property", "delta.checkpointInterval=2", work_dir=tmp_path / "in"
    )
    expected[0] = batches[0]
    for v in range(1, 5):
        support.write(table, batches[v], work_dir=tmp_path / "in")
        expected[v] = concat(*batches[: v + 1])

    from deltalake import DeltaTable

    assert DeltaTable(str(table)).metadata().configuration.get("delta.checkpointInterval") == "2"
    log = table / "_delta_log"
    checkpoints = sorted(log.glob("*.checkpoint*.parquet"))
    assert checkpoints, f"no checkpoint after 5 commits with interval 2: {sorted(p.name for p in log.iterdir())}"
    last = log / "_last_checkpoint"
    assert last.exists(), "_last_checkpoint is missing"
    last_version = json.loads(last.read_text())["version"]
    assert any(int(p.name[:20]) == last_version for p in checkpoints), (
        f"_last_checkpoint names version {last_version}, checkpoints: {[p.name for p in checkpoints]}"
    )
    check_readers(table, expected, tmp_path / "out")

    # The checkpoint alone must carry the state: drop every commit it covers and read again.
    alone = support.copy_table(table, tmp_path / "alone")
    for commit in (alone / "_delta_log").glob("*.json"):
        if commit.name[:20].isdigit() and int(commit.name[:20]) <= last_version:
            commit.unlink()
    latest = expected[max(expected)]
    oracle.assert_tables_equal(oracle.read_deltalake(alone), latest, "deltalake, checkpoint only")
    oracle.assert_tables_equal(oracle.read_duckdb(alone), latest, "duckdb, checkpoint only")
    oracle.assert_tables_equal(support.scan(alone, out_dir=tmp_path / "out"), latest,
                               "inlet, checkpoint only")


def test_overwrite(tmp_path):
    table = tmp_path / "t"
    a, b, c = primitive_table(0, 9), primitive_table(100, 4), primitive_table(200, 6)
    support.write(table, a, work_dir=tmp_path / "in")
    support.write(table, b, "--mode", "append", work_dir=tmp_path / "in")
    support.write(table, c, "--mode", "overwrite", work_dir=tmp_path / "in")
    removes = [x for x in commit_actions(table, 2) if "remove" in x]
    assert removes, "an overwrite must remove the files it replaces"
    check_readers(table, {0: a, 1: concat(a, b), 2: c}, tmp_path / "out")


def without(data: pa.Table, column: str, value) -> pa.Table:
    """Rows whose ``column`` is not ``value`` (SQL-free: null rows are kept)."""
    return data.filter(pc.fill_null(pc.not_equal(data[column], value), True))


def test_replace_where(tmp_path):
    table = tmp_path / "t"
    typ, _ = PARTITION_VALUES["string"]
    old = with_partition(primitive_table(0, 12), typ, ["x", "y", "z"])
    new_x = with_partition(primitive_table(1000, 5), typ, ["x"])
    new_w = with_partition(primitive_table(2000, 3), typ, ["w"])
    support.write(table, old, "--partition-by", "part", work_dir=tmp_path / "in")
    support.write(table, new_x, "--mode", "overwrite", "--replace-where", "part = 'x'",
                  work_dir=tmp_path / "in")
    v1 = concat(without(old, "part", "x"), new_x)
    # A predicate that matches no existing rows replaces nothing.
    support.write(table, new_w, "--mode", "overwrite", "--replace-where", "part = 'w'",
                  work_dir=tmp_path / "in")
    v2 = concat(v1, new_w)
    check_readers(table, {0: old, 1: v1, 2: v2}, tmp_path / "out")


def test_overwrite_partitions(tmp_path):
    table = tmp_path / "t"
    typ, _ = PARTITION_VALUES["string"]
    old = with_partition(primitive_table(0, 16), typ, ["x", "y", "z", None])
    support.write(table, old, "--partition-by", "part", work_dir=tmp_path / "in")

    incoming = with_partition(primitive_table(1000, 6), typ, ["x", "w"])
    support.write(table, incoming, "--mode", "overwrite-partitions", work_dir=tmp_path / "in")
    keep = pc.invert(pc.fill_null(pc.is_in(old["part"], pa.array(["x", "w"])), False))
    v1 = concat(old.filter(keep), incoming)

    nulls = with_partition(primitive_table(3000, 2), typ, [None])
    support.write(table, nulls, "--mode", "overwrite-partitions", work_dir=tmp_path / "in")
    v2 = concat(v1.filter(pc.is_valid(v1["part"])), nulls)
    check_readers(table, {0: old, 1: v1, 2: v2}, tmp_path / "out")


# ---------------------------------------------------------------------------------------
# deltalake writes, inlet reads


def test_inlet_reads_deltalake_tables_at_every_version(tmp_path):
    from deltalake import DeltaTable, write_deltalake

    table = tmp_path / "t"
    s_typ, s_vals = PARTITION_VALUES["string"]

    def batch(start, count):
        data = with_partition(primitive_table(start, count), s_typ, s_vals)
        return data.append_column("n", pa.array([i % 3 for i in range(count)], pa.int32()))

    expected: dict[int, pa.Table] = {}
    a, b, c, d = batch(0, 20), batch(100, 9), batch(200, 12), batch(300, 5)
    write_deltalake(str(table), a, partition_by=["part", "n"])
    expected[0] = a
    write_deltalake(str(table), b, mode="append")
    expected[1] = concat(a, b)
    write_deltalake(str(table), c, mode="append")
    expected[2] = concat(a, b, c)
    DeltaTable(str(table)).create_checkpoint()
    write_deltalake(str(table), d, mode="overwrite")
    expected[3] = d
    write_deltalake(str(table), a, mode="append")
    expected[4] = concat(d, a)
    only_space = a.filter(pc.equal(a["part"], "with space"))
    write_deltalake(str(table), only_space, mode="overwrite", predicate="part = 'with space'")
    expected[5] = concat(without(expected[4], "part", "with space"), only_space)
    DeltaTable(str(table)).delete("n = 1")
    expected[6] = without(expected[5], "n", 1)
    assert DeltaTable(str(table)).version() == 6
    assert list((table / "_delta_log").glob("*.checkpoint*.parquet")), "setup: no checkpoint"
    check_readers(table, expected, tmp_path / "out")


# ---------------------------------------------------------------------------------------
# scan options, on a table written by deltalake so that only inlet's reader is under test


def _filter_table() -> pa.Table:
    n = 40
    return pa.table(
        {
            "id": pa.array(range(n), pa.int64()),
            "n": pa.array([None if i % 7 == 3 else i % 4 for i in range(n)], pa.int32()),
            "x": pa.array([None if i % 9 == 0 else (i - 10) * 0.5 for i in range(n)], pa.float64()),
            "s": pa.array([None if i % 5 == 2 else ["a", "b", "ü 世界", "c d"][i % 4] for i in range(n)]),
            "d": pa.array([datetime.date(2024, 1, 1) + datetime.timedelta(days=i % 10) for i in range(n)]),
            "dec": pa.array([decimal.Decimal(i * 25 - 300).scaleb(-2) for i in range(n)], pa.decimal128(10, 2)),
            "p": pa.array([None if i % 6 == 5 else ["x", "y", "z"][i % 3] for i in range(n)]),
        }
    )


@pytest.fixture(scope="module")
def filter_table(tmp_path_factory):
    from deltalake import write_deltalake

    path = tmp_path_factory.mktemp("filter") / "t"
    data = _filter_table()
    half = data.num_rows // 2
    write_deltalake(str(path), data.slice(0, half), partition_by=["p"])
    write_deltalake(str(path), data.slice(half), mode="append")
    return path, data


@pytest.mark.parametrize(
    "columns",
    [["id"], ["s", "id"], ["p"], ["dec", "p", "x"], ["id", "n", "x", "s", "d", "dec", "p"]],
    ids=lambda c: ",".join(c),
)
def test_scan_columns(filter_table, columns, tmp_path):
    path, data = filter_table
    got = support.scan(path, "--columns", ",".join(columns), out_dir=tmp_path)
    assert got.column_names == columns, "--columns returns exactly the named columns, in that order"
    oracle.assert_tables_equal(got, data.select(columns), f"--columns {','.join(columns)}")


def test_scan_unknown_column_is_refused(filter_table, tmp_path):
    path, _ = filter_table
    line = support.expect_refusal("scan", path, "--columns", "id,no_such_column")
    assert "no_such_column" in line


WHERE_PREDICATES = [
    "id > 30",
    "id >= 3 AND id < 9",
    "n = 2",
    "n != 2",
    "n IS NULL",
    "n IS NOT NULL",
    "x <= 2.5",
    "x > -1.5 AND x < 3",
    "s = 'b'",
    "s != 'b'",
    "s = 'ü 世界'",
    "s = 'c d'",
    "s IS NULL",
    "s IS NOT NULL AND n = 1",
    "p = 'x'",
    "p != 'x'",
    "p IS NULL",
    "p IS NOT NULL AND id < 10",
    "d < '2024-01-04'",
    "d = '2024-01-10'",
    "dec >= 1.25",
    "dec < -2",
    "n = 2 AND p = 'y' AND x > 0",
    "id > 1000",
]


@pytest.mark.parametrize("predicate", WHERE_PREDICATES)
def test_scan_where(filter_table, predicate, tmp_path):
    path, data = filter_table
    expected = oracle.duckdb_query(f"SELECT * FROM data WHERE {predicate}", data=data)
    got = support.scan(path, "--where", predicate, out_dir=tmp_path)
    oracle.assert_tables_equal(got, expected, f"--where {predicate!r}")


def test_scan_where_with_columns_and_version(filter_table, tmp_path):
    path, data = filter_table
    first = data.slice(0, data.num_rows // 2)
    expected = oracle.duckdb_query("SELECT s, id FROM first WHERE p = 'x' AND id > 3", first=first)
    got = support.scan(path, "--version", 0, "--columns", "s,id", "--where", "p = 'x' AND id > 3",
                       out_dir=tmp_path)
    oracle.assert_tables_equal(got, expected, "--version 0 --columns s,id --where ...")


@pytest.mark.parametrize("limit", [0, 1, 7, 39, 40, 1000])
def test_scan_limit(filter_table, limit, tmp_path):
    path, data = filter_table
    got = support.scan(path, "--limit", limit, out_dir=tmp_path)
    assert got.num_rows == min(limit, data.num_rows)
    assert sorted(got.column_names) == sorted(data.column_names)
    everything = collections.Counter(oracle.canonical_rows(data))
    returned = collections.Counter(oracle.canonical_rows(got, data.column_names))
    assert not returned - everything, f"--limit {limit} returned rows that are not in the table"


def test_scan_limit_after_where(filter_table, tmp_path):
    path, data = filter_table
    got = support.scan(path, "--where", "p = 'y'", "--limit", 3, out_dir=tmp_path)
    assert got.num_rows == 3
    assert set(got["p"].to_pylist()) == {"y"}


def test_an_empty_string_partition_value_is_null_in_every_engine(tmp_path):
    """Issue 20, item 3.5: "" in a partition column was written as partitionValues "" (null
    to the protocol, DuckDB and to_pyarrow_table, '' to Spark and deltalake's query
    engine). It is written as null, as Spark does; every engine counts the same nulls."""
    import json

    import pyarrow.parquet as pq
    from deltalake import DeltaTable, QueryBuilder

    pq.write_table(pa.table({"id": pa.array([1, 2, 3], pa.int64()), "region": ["", None, "x"]}),
                   tmp_path / "e.parquet")
    table = tmp_path / "t"
    support.run_inlet("write", table, "--input", tmp_path / "e.parquet", "--partition-by", "region")
    log = [json.loads(x) for x in (table / "_delta_log" / "00000000000000000000.json").read_text().splitlines()]
    values = sorted(str(a["add"]["partitionValues"]["region"]) for a in log if "add" in a)
    assert values == ["None", "x"], values
    dt = DeltaTable(str(table))
    engine = QueryBuilder().register("t", dt).execute(
        "SELECT count(*) AS n FROM t WHERE region IS NULL").read_all()
    assert engine.column("n").to_pylist() == [2]
    duck = oracle.read_duckdb(table, None)
    assert duck.column("region").null_count == 2
