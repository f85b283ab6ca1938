"""Reference readers for Delta tables, and an order-independent table comparison.

Two oracles read a table at a version:

* deltalake (delta-rs), through its DataFusion engine (``QueryBuilder``), which handles
  deletion vectors and column mapping. (``DeltaTable.to_pyarrow_table`` is not used: it
  refuses deletion vectors, and on column-mapping tables whose protocol does not list the
  feature it silently returns all-null columns.)
* DuckDB's delta extension (``delta_scan``), from the duckdb-extension-delta wheel, loaded
  from its file because the network is closed.

``assert_tables_equal`` compares two Arrow tables as multisets of rows. It forgives
representation differences (string vs large_string vs string_view, dictionary encoding,
timestamp unit and time-zone name, decimal128 vs decimal256, column order) and nothing
else: values, column names and type families must agree. Floats compare exactly, with
NaN equal to NaN (and -0.0 equal to 0.0, as Python has it); every reader here decodes the
same Parquet bytes, so no tolerance is needed. Timestamps compare as exact instants: an
integer count of microseconds plus the nanosecond remainder, so a reader returning
nanoseconds and another returning microseconds agree whenever the instants do.
"""

from __future__ import annotations

import collections
import json
import math
import pathlib
from typing import Any, Iterable, Sequence

import pyarrow as pa
import pyarrow.compute as pc

# ---------------------------------------------------------------------------------------
# Readers


class OracleRefused(Exception):
    """The reference reader would not read the table (unsupported feature, corrupt log)."""

    def __init__(self, oracle: str, message: str):
        super().__init__(f"{oracle}: {message}")
        self.oracle = oracle
        self.message = message


def _first_line(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__


def read_deltalake(path: str | pathlib.Path, version: int | None = None,
                   storage_options: dict[str, str] | None = None) -> pa.Table:
    """The table at ``version`` (latest when None) as read by delta-rs' own engine.

    storage_options: for s3:// tables (e.g. a MinIO fixture's storage_options()).
    Raises OracleRefused when delta-rs will not open or read it.
    """
    from deltalake import DeltaTable, QueryBuilder

    try:
        dt = DeltaTable(str(path), version=version, storage_options=storage_options)
        reader = QueryBuilder().register("t", dt).execute("SELECT * FROM t")
        return _to_pyarrow(reader)
    except Exception as exc:  # delta-rs raises many exception types; all mean "refused"
        raise OracleRefused("deltalake", _first_line(exc)) from exc


def duckdb_extension_path(name: str = "delta") -> pathlib.Path:
    """Path of a DuckDB extension binary shipped by its duckdb-extension-NAME wheel."""
    import importlib

    import duckdb

    module = importlib.import_module(f"duckdb_extension_{name}")
    base = pathlib.Path(module.__file__).parent / "extensions"
    exact = base / f"v{duckdb.__version__}" / f"{name}.duckdb_extension"
    if exact.exists():
        return exact
    found = sorted(base.glob(f"*/{name}.duckdb_extension"))
    if not found:
        raise FileNotFoundError(f"no {name}.duckdb_extension under {base}")
    return found[-1]


_duckdb_state: dict[str, Any] = {}


def _duckdb_connection():
    con = _duckdb_state.get("con")
    if con is None:
        import duckdb

        con = duckdb.connect()
        # httpfs lets delta_scan read s3:// tables (with a secret, see read_duckdb).
        con.load_extension(str(duckdb_extension_path("httpfs")))
        con.load_extension(str(duckdb_extension_path()))
        # iceberg_scan (read_duckdb_iceberg) needs avro beside it.
        con.load_extension(str(duckdb_extension_path("avro")))
        con.load_extension(str(duckdb_extension_path("iceberg")))
        # Keep timestamp-with-time-zone values in UTC so that nothing depends on the host.
        con.execute("SET TimeZone = 'UTC'")
        _duckdb_state["con"] = con
    return con


def _reset_duckdb_after(exc: BaseException) -> None:
    """Drop the shared database after an internal/fatal error: DuckDB invalidates it."""
    name = type(exc).__name__
    if "Fatal" in name or "Internal" in name or "invalidated" in str(exc):
        con = _duckdb_state.pop("con", None)
        if con is not None:
            try:
                con.close()
            except Exception:
                pass


def duckdb_connection():
    """A fresh cursor on a shared in-memory DuckDB with the delta and iceberg extensions loaded."""
    return _duckdb_connection().cursor()


def _sql_string(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def read_duckdb(path: str | pathlib.Path, version: int | None = None, s3: dict[str, str] | None = None) -> pa.Table:
    """The table at ``version`` (latest when None) as read by DuckDB's delta_scan, or its
    iceberg_scan for an Iceberg table by path (version: a snapshot's sequence number).

    s3: for s3:// tables, {"endpoint": "http://host:port", "key_id": ..., "secret": ...}
    (a MinIO fixture's duckdb_s3()), made DuckDB's S3 secret for this read.
    """
    local = pathlib.Path(str(path))
    if s3 is None and (local / "metadata").is_dir() and not (local / "_delta_log").is_dir():
        return read_duckdb_iceberg(local, version)
    query = f"SELECT * FROM delta_scan({_sql_string(str(path))}"
    if version is not None:
        query += f", version => {int(version)}"
    query += ")"
    try:
        if s3 is not None:
            _duckdb_s3_secret(s3)
        return duckdb_query(query)
    except Exception as exc:
        _reset_duckdb_after(exc)
        raise OracleRefused("duckdb", _first_line(exc)) from exc


def _duckdb_s3_secret(s3: dict[str, str]) -> None:
    endpoint = s3["endpoint"]
    duckdb_connection().execute(
        f"CREATE OR REPLACE SECRET inlet_s3 (TYPE s3, KEY_ID {_sql_string(s3['key_id'])}, "
        f"SECRET {_sql_string(s3['secret'])}, "
        f"ENDPOINT {_sql_string(endpoint.split('://', 1)[-1])}, URL_STYLE 'path', "
        f"USE_SSL {'true' if endpoint.startswith('https') else 'false'}, REGION 'us-east-1')")


def read_duckdb_iceberg_metadata(metadata: str, s3: dict[str, str] | None = None) -> pa.Table:
    """The Iceberg table state a metadata file (a path or an s3:// URI) records, as DuckDB's
    iceberg_scan reads it; s3 as read_duckdb's."""
    try:
        if s3 is not None:
            _duckdb_s3_secret(s3)
        return _to_pyarrow(duckdb_connection().sql(f"SELECT * FROM iceberg_scan({_sql_string(metadata)})").arrow())
    except Exception as exc:
        _reset_duckdb_after(exc)
        raise OracleRefused("duckdb", _first_line(exc)) from exc


def read_duckdb_iceberg(table: pathlib.Path, version: int | None = None) -> pa.Table:
    """An Iceberg table by path as DuckDB's iceberg_scan reads it from its newest metadata
    file (at the snapshot of sequence number ``version`` when given)."""
    files = {}
    for p in (table / "metadata").glob("v*.metadata.json"):
        number = p.name[1:].split(".")[0]
        if number.isdigit():
            files[int(number)] = p
    if not files:
        raise OracleRefused("duckdb", f"no Iceberg metadata file in {table}")
    current = files[max(files)]
    query = f"SELECT * FROM iceberg_scan({_sql_string(str(current))}"
    if version is not None:
        metadata = json.loads(current.read_text())
        ids = [s["snapshot-id"] for s in metadata.get("snapshots", []) if s["sequence-number"] == version]
        if not ids:
            raise OracleRefused("duckdb", f"no snapshot of sequence number {version} in {current}")
        query += f", snapshot_from_id => {int(ids[0])}"
    query += ")"
    try:
        return _to_pyarrow(duckdb_connection().sql(query).arrow())
    except Exception as exc:
        _reset_duckdb_after(exc)
        raise OracleRefused("duckdb", _first_line(exc)) from exc


def duckdb_query(sql: str, **tables: pa.Table) -> pa.Table:
    """Run ``sql`` in DuckDB, with the given Arrow tables visible under their names."""
    con = duckdb_connection()
    for name, table in tables.items():
        con.register(name, table)
    return _to_pyarrow(con.sql(sql).arrow())


def _to_pyarrow(obj: Any) -> pa.Table:
    if isinstance(obj, pa.Table):
        return obj
    if isinstance(obj, pa.RecordBatchReader):
        return obj.read_all()
    if hasattr(obj, "read_all"):  # arro3 RecordBatchReader and friends
        obj = obj.read_all()
    return pa.table(obj)  # anything speaking the Arrow C stream interface


# ---------------------------------------------------------------------------------------
# Canonical form


def canonical_type(t: pa.DataType) -> str:
    """A type name with representation details removed (see module docstring)."""
    if isinstance(t, pa.BaseExtensionType):
        return canonical_type(t.storage_type)
    if pa.types.is_dictionary(t):
        return canonical_type(t.value_type)
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return "string"
    if (
        pa.types.is_binary(t)
        or pa.types.is_large_binary(t)
        or pa.types.is_binary_view(t)
        or pa.types.is_fixed_size_binary(t)
    ):
        return "binary"
    if pa.types.is_decimal(t):
        return f"decimal({t.precision},{t.scale})"
    if pa.types.is_timestamp(t):
        return "timestamp" if t.tz is not None else "timestamp_ntz"
    if pa.types.is_date(t):
        return "date"
    if pa.types.is_time(t):
        return "time"
    if pa.types.is_map(t):
        return f"map<{canonical_type(t.key_type)},{canonical_type(t.item_type)}>"
    if (
        pa.types.is_list(t)
        or pa.types.is_large_list(t)
        or pa.types.is_fixed_size_list(t)
        or pa.types.is_list_view(t)
        or pa.types.is_large_list_view(t)
    ):
        return f"list<{canonical_type(t.value_type)}>"
    if pa.types.is_struct(t):
        inner = ",".join(f"{f.name}:{canonical_type(f.type)}" for f in t)
        return f"struct<{inner}>"
    return str(t)  # bool, intN/uintN, halffloat/float/double, null, ...


class _NaN:
    """NaN that equals itself, so rows holding NaN can be counted and compared."""

    __slots__ = ()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _NaN)

    def __hash__(self) -> int:
        return 0x7FF8

    def __repr__(self) -> str:
        return "NaN"


NAN = _NaN()

_TS_TO_NS = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


class Instant(tuple):
    """An exact timestamp: (microseconds since the epoch, nanosecond remainder)."""

    __slots__ = ()

    def __repr__(self) -> str:
        import datetime

        micros, nanos = self
        try:
            text = (
                datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=micros)
            ).isoformat()
        except OverflowError:
            text = f"{micros}us"
        return f"ts({text}{'+%dns' % nanos if nanos else ''})"


def _timestamp_values(arr: pa.Array) -> list:
    ints = arr.cast(pa.int64()).to_pylist()
    per_ns = _TS_TO_NS[arr.type.unit]
    out = []
    for v in ints:
        if v is None:
            out.append(None)
        elif per_ns >= 1000:
            out.append(Instant((v * (per_ns // 1000), 0)))
        else:
            out.append(Instant(divmod(v, 1000)))
    return out


def _regroup(lengths: Sequence[int | None], flat: list) -> list:
    out, pos = [], 0
    for n in lengths:
        if n is None:
            out.append(None)
        else:
            out.append(tuple(flat[pos : pos + n]))
            pos += n
    return out


def canonical_values(arr: pa.Array | pa.ChunkedArray) -> list:
    """Python values for ``arr``, hashable and comparable across representations."""
    if isinstance(arr, pa.ChunkedArray):
        out: list = []
        for chunk in arr.chunks:
            out.extend(canonical_values(chunk))
        return out
    t = arr.type
    if isinstance(arr, pa.ExtensionArray):
        return canonical_values(arr.storage)
    if pa.types.is_dictionary(t):
        return canonical_values(arr.dictionary_decode())
    if pa.types.is_timestamp(t):
        return _timestamp_values(arr)
    if pa.types.is_date32(t):
        return arr.cast(pa.int32()).to_pylist()
    if pa.types.is_date64(t):
        return [None if v is None else v // 86_400_000 for v in arr.cast(pa.int64()).to_pylist()]
    if pa.types.is_time(t):
        per_ns = _TS_TO_NS[t.unit]
        ints = arr.cast(pa.int64() if t.bit_width == 64 else pa.int32()).to_pylist()
        return [None if v is None else v * per_ns for v in ints]
    if pa.types.is_floating(t):
        return [NAN if (v is not None and math.isnan(v)) else v for v in arr.to_pylist()]
    if pa.types.is_list_view(t):
        return canonical_values(arr.cast(pa.list_(t.value_field)))
    if pa.types.is_large_list_view(t):
        return canonical_values(arr.cast(pa.large_list(t.value_field)))
    if pa.types.is_map(t):
        # Map entries compare as a set of (key, value) pairs.
        offsets = arr.offsets.to_pylist()
        keys, items = canonical_values(arr.keys), canonical_values(arr.items)
        base = 0 if len(keys) >= offsets[-1] else offsets[0]  # absolute or relative offsets
        valid = arr.is_valid().to_pylist()
        return [
            tuple(sorted(zip(keys[lo - base : hi - base], items[lo - base : hi - base]), key=repr))
            if ok else None
            for ok, lo, hi in zip(valid, offsets, offsets[1:])
        ]
    if pa.types.is_list(t) or pa.types.is_large_list(t) or pa.types.is_fixed_size_list(t):
        lengths = pc.list_value_length(arr).to_pylist()
        return _regroup(lengths, canonical_values(pc.list_flatten(arr)))
    if pa.types.is_struct(t):
        names = [f.name for f in t]
        children = [canonical_values(child) for child in arr.flatten()]
        valid = arr.is_valid().to_pylist()
        return [
            tuple(zip(names, row)) if ok else None
            for ok, row in zip(valid, zip(*children) if children else [()] * len(arr))
        ]
    return arr.to_pylist()


def canonical_rows(table: pa.Table, columns: Sequence[str] | None = None) -> list[tuple]:
    """Rows of ``table`` as tuples of canonical values, in ``columns`` order."""
    columns = list(columns) if columns is not None else table.column_names
    cols = [canonical_values(table.column(name)) for name in columns]
    if not cols:
        return [()] * table.num_rows
    return list(zip(*cols))


def canonical_schema(table: pa.Table) -> dict[str, str]:
    return {f.name: canonical_type(f.type) for f in table.schema}


# ---------------------------------------------------------------------------------------
# Comparison


def _sorted_for_display(rows: Iterable[tuple]) -> list[tuple]:
    return sorted(rows, key=repr)


def _same_rows_in_arrow(actual: pa.Table, expected: pa.Table, names: list[str],
                        a_types: dict[str, str], e_types: dict[str, str]) -> bool:
    """True when Arrow finds the two tables equal once both are sorted: the same rows for
    certain. False means only "not shown here": the row-by-row comparison decides, with
    its canonical values (a NaN, a time zone, a nested column in another order)."""
    if actual.num_rows != expected.num_rows:
        return False
    if any(a_types[n] != e_types[n] for n in names):
        return False
    try:
        # View types (DuckDB's, deltalake's strings) as plain ones, which Arrow sorts.
        plain = pa.schema([f.with_type({pa.string_view(): pa.string(),
                                        pa.binary_view(): pa.binary()}.get(f.type, f.type))
                           for f in expected.select(names).schema])
        a = actual.select(names).cast(plain)
        e = expected.select(names).cast(plain)
        keys = [(n, "ascending") for n in names
                if not (pa.types.is_nested(e.schema.field(n).type)
                        or pa.types.is_dictionary(e.schema.field(n).type))]
        if keys:
            a, e = a.sort_by(keys), e.sort_by(keys)
        return a.combine_chunks().equals(e.combine_chunks())
    except Exception:  # a type Arrow cannot cast or sort: the comparison below decides
        return False


def diff_tables(
    actual: pa.Table,
    expected: pa.Table,
    *,
    check_types: bool = True,
    check_column_order: bool = False,
    max_rows: int = 8,
) -> str | None:
    """None when the tables hold the same multiset of rows, else a readable report."""
    problems: list[str] = []
    a_names, e_names = actual.column_names, expected.column_names
    if sorted(a_names) != sorted(e_names) or len(set(a_names)) != len(a_names):
        missing = [n for n in e_names if n not in a_names]
        extra = [n for n in a_names if n not in e_names]
        return (
            f"column names differ: actual {a_names}, expected {e_names}"
            f" (missing {missing}, unexpected {extra})"
        )
    if check_column_order and a_names != e_names:
        problems.append(f"column order differs: actual {a_names}, expected {e_names}")
    a_types, e_types = canonical_schema(actual), canonical_schema(expected)
    if check_types:
        for name in e_names:
            if a_types[name] != e_types[name] and e_types[name] != "null":
                problems.append(
                    f"column {name!r}: type {a_types[name]} "
                    f"({actual.schema.field(name).type}), expected {e_types[name]} "
                    f"({expected.schema.field(name).type})"
                )
    if not problems and _same_rows_in_arrow(actual, expected, e_names, a_types, e_types):
        return None
    a_rows = collections.Counter(canonical_rows(actual, e_names))
    e_rows = collections.Counter(canonical_rows(expected, e_names))
    if a_rows != e_rows:
        only_actual = a_rows - e_rows
        only_expected = e_rows - a_rows
        lines = [
            f"rows differ: actual has {actual.num_rows} rows, expected {expected.num_rows}; "
            f"{sum(only_actual.values())} rows only in actual, "
            f"{sum(only_expected.values())} only in expected",
            f"columns: {e_names}",
        ]
        for label, rows in (("only in actual", only_actual), ("only in expected", only_expected)):
            shown = _sorted_for_display(rows.elements())
            for row in shown[:max_rows]:
                lines.append(f"  {label}: {row!r}")
            if len(shown) > max_rows:
                lines.append(f"  ... {len(shown) - max_rows} more {label}")
        problems.append("\n".join(lines))
    return "\n".join(problems) if problems else None


def assert_tables_equal(actual: pa.Table, expected: pa.Table, context: str = "", **kwargs) -> None:
    """Fail with a readable diff unless ``actual`` and ``expected`` hold the same rows."""
    report = diff_tables(actual, expected, **kwargs)
    if report is not None:
        prefix = f"{context}: " if context else ""
        raise AssertionError(prefix + report)


# ---------------------------------------------------------------------------------------
# Log inspection


def log_versions(table_dir: str | pathlib.Path) -> list[int]:
    """Versions named by commit files or checkpoints in ``table_dir/_delta_log``."""
    import re

    pattern = re.compile(r"^(\d{20})\.(json|checkpoint\..*parquet|checkpoint\..*json)$")
    versions = set()
    log = pathlib.Path(table_dir) / "_delta_log"
    for entry in log.iterdir() if log.is_dir() else ():
        match = pattern.match(entry.name)
        if match:
            versions.add(int(match.group(1)))
    return sorted(versions)


def commit_versions(table_dir: str | pathlib.Path) -> list[int]:
    """Versions that have a ``NNNNNNNNNNNNNNNNNNNN.json`` commit file."""
    log = pathlib.Path(table_dir) / "_delta_log"
    return sorted(
        int(p.name[:20])
        for p in log.glob("*.json")
        if len(p.name) == 25 and p.name[:20].isdigit()
    )
