"""inlet.Table: a Delta Lake or Apache Iceberg table, the same calls for both."""
from __future__ import annotations

import datetime as _dt
import json
from typing import Any, Mapping, Optional, Sequence, Union

import pyarrow as pa

from . import _inlet

TimeLike = Union[_dt.datetime, _dt.date, str, int]


def _millis(as_of: Optional[TimeLike]) -> Optional[int]:
    """Milliseconds since the epoch: ints are taken as such, naive datetimes as UTC."""
    if as_of is None:
        return None
    if isinstance(as_of, bool):
        raise TypeError("as_of: a datetime, an ISO 8601 string or milliseconds, not a bool")
    if isinstance(as_of, int):
        return as_of
    if isinstance(as_of, _dt.datetime):
        if as_of.tzinfo is None:
            as_of = as_of.replace(tzinfo=_dt.timezone.utc)
        return int(as_of.timestamp() * 1000)
    if isinstance(as_of, _dt.date):
        return _millis(_dt.datetime(as_of.year, as_of.month, as_of.day))
    if isinstance(as_of, str):
        return _inlet.parse_timestamp_ms(as_of)
    raise TypeError(f"as_of: a datetime, an ISO 8601 string or milliseconds, not {type(as_of).__name__}")


def _arrow(data: Any) -> Any:
    """Something with __arrow_c_stream__: data itself when it has it (pyarrow, polars,
    DuckDB, pandas >= 2.2), else pandas frames, dicts of columns and lists of dicts."""
    if type(data).__module__.startswith("pandas"):
        # Before the protocol: pandas' own export writes a non-default index as a column.
        return pa.Table.from_pandas(data, preserve_index=False)
    if hasattr(data, "__arrow_c_stream__"):
        return data
    if isinstance(data, Mapping):
        return pa.table(dict(data))
    if isinstance(data, list) and all(isinstance(r, Mapping) for r in data):
        return pa.Table.from_pylist(data)
    return data  # the engine says what it cannot read


def _literal(value: Any) -> Optional[str]:
    """A value for update(set=...) as inlet's literal text (None sets null)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (_dt.datetime, _dt.date)):
        return value.isoformat()
    return str(value)


def _inlet_error(e: Exception) -> Exception:
    """An error inlet's engine raised while a stream was read, which reaches Python through
    Arrow's C stream as pyarrow's exception: the same message, as inlet's class."""
    from . import _errors
    if isinstance(e, _errors.InletError):
        return e
    if isinstance(e, OSError):  # pyarrow's ArrowIOError is OSError
        return _errors.StorageError(str(e))
    if isinstance(e, (pa.ArrowInvalid, pa.ArrowTypeError)):
        return _errors.InvalidInputError(str(e))
    if isinstance(e, pa.ArrowNotImplementedError):
        return _errors.UnsupportedFeatureError(str(e))
    return _errors.InletError(str(e))


def _reraise(e: Exception) -> None:
    """Raises e as inlet's class (itself when it is one already)."""
    error = _inlet_error(e)
    if error is e:
        raise e
    raise error from e


def _read_all(reader: pa.RecordBatchReader) -> pa.Table:
    try:
        return reader.read_all()
    except (pa.ArrowException, OSError) as e:
        _reraise(e)


def _translated(reader: pa.RecordBatchReader) -> pa.RecordBatchReader:
    """The reader's batches, with its errors raised as inlet's classes."""
    def batches():
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except (pa.ArrowException, OSError) as e:
                _reraise(e)
            yield batch
    return pa.RecordBatchReader.from_batches(reader.schema, batches())


def _list(value: Union[str, Sequence[str], None]) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


class _SchemaCapsule:
    """A schema capsule, handed to pyarrow through the PyCapsule protocol."""

    def __init__(self, capsule: Any) -> None:
        self._capsule = capsule

    def __arrow_c_schema__(self) -> Any:
        return self._capsule


class Table:
    """A table at a location: a local path, ``file://`` or ``s3://`` URI (Delta Lake, or
    Apache Iceberg by path), or ``Table.from_catalog`` for an Iceberg catalog's table.

    ``Table(uri)`` opens an existing table (``TableNotFoundError`` when there is none);
    ``Table.open_or_create(uri)`` or ``write_table`` also takes an empty location, which
    the first write turns into a table. ``storage_options`` override the environment for
    object storage: endpoint, region, access_key_id, secret_access_key, session_token,
    addressing, ca_bundle.

    Every call reads the table afresh, works with the GIL released, and is safe from
    several threads and processes (commits are atomic; a lost race raises
    ``CommitConflictError`` or, where the operation is retried, runs again).
    """

    def __init__(self, uri: str, *, storage_options: Optional[Mapping[str, str]] = None,
                 _native: Optional[_inlet.Table] = None) -> None:
        self._t = _native or _inlet.Table.open(str(uri), dict(storage_options or {}))

    @classmethod
    def open_or_create(cls, uri: str, *, format: Optional[str] = None,
                       storage_options: Optional[Mapping[str, str]] = None) -> "Table":
        """The table at uri, or the place its first write creates it, as ``format``
        ("delta", the default, or "iceberg")."""
        return cls(uri, _native=_inlet.Table.open_or_create(
            str(uri), dict(storage_options or {}), format))

    @classmethod
    def from_catalog(cls, identifier: str, *, catalog: Union[str, Mapping[str, str]],
                     create: bool = False,
                     storage_options: Optional[Mapping[str, str]] = None) -> "Table":
        """The Iceberg table ``namespace.table`` of a catalog: ``sqlite:PATH``,
        ``postgresql://...`` or ``http(s)://`` (REST), or a dict with ``uri`` and any of
        name, warehouse, location, token, credential, oauth2_server_uri, scope,
        ca_bundle. With ``create`` a missing table is created by the first write."""
        options = {"uri": catalog} if isinstance(catalog, str) else dict(catalog)
        return cls(identifier, _native=_inlet.Table.open_in_catalog(
            options, identifier, dict(storage_options or {}), create))

    @property
    def location(self) -> str:
        return self._t.location

    def __repr__(self) -> str:
        return f"inlet.Table({self.location!r})"

    # Reading -----------------------------------------------------------------------

    def scan_batches(self, columns: Optional[Sequence[str]] = None, where: Optional[str] = None,
                     *, version: Optional[int] = None, as_of: Optional[TimeLike] = None,
                     ref: Optional[str] = None, limit: Optional[int] = None,
                     batch_size: Optional[int] = None) -> pa.RecordBatchReader:
        """The rows as a stream of record batches, read as they are consumed.

        ``where``: inlet's filter syntax, ``"col op literal [AND ...]"`` (=, !=, <, <=,
        >, >=, IN (...), IS [NOT] NULL), used to skip files by partition values and
        statistics and to filter rows exactly. ``version``, ``as_of`` (a datetime, ISO
        8601 text or milliseconds) or ``ref`` (an Iceberg snapshot id, tag or branch)
        pick the snapshot; the latest by default."""
        stream = self._t.scan(_list(columns), where or "", version, _millis(as_of), ref,
                              -1 if limit is None else limit, batch_size or 0)
        return _translated(pa.RecordBatchReader.from_stream(stream))

    def scan(self, columns: Optional[Sequence[str]] = None, where: Optional[str] = None,
             *, version: Optional[int] = None, as_of: Optional[TimeLike] = None,
             ref: Optional[str] = None, limit: Optional[int] = None) -> pa.Table:
        """The rows as a pyarrow.Table (see scan_batches)."""
        stream = self._t.scan(_list(columns), where or "", version, _millis(as_of), ref,
                              -1 if limit is None else limit, 0)
        return _read_all(pa.RecordBatchReader.from_stream(stream))

    def info(self, *, version: Optional[int] = None, as_of: Optional[TimeLike] = None,
             ref: Optional[str] = None) -> _inlet.TableInfo:
        """What the table looks like at a snapshot (the latest by default)."""
        return self._t.info(version, _millis(as_of), ref)

    def schema(self, *, version: Optional[int] = None) -> pa.Schema:
        """The table's schema (user column names) as a pyarrow.Schema."""
        return pa.schema(_SchemaCapsule(self.info(version=version).schema_capsule))

    @property
    def version(self) -> int:
        """The latest version."""
        return self.info().version

    def count(self, *, version: Optional[int] = None) -> int:
        """Live rows, from the files' statistics when they all have them, else by a scan."""
        n = self._t.row_count(version)
        if n is not None:
            return n
        return sum(b.num_rows for b in self.scan_batches(columns=[], version=version))

    def history(self, limit: Optional[int] = None) -> list[_inlet.HistoryEntry]:
        """The commits, newest first."""
        return self._t.history(-1 if limit is None else limit)

    def changes(self, from_version: int, to_version: Optional[int] = None, *,
                file_level: bool = False) -> pa.Table:
        """The rows inserted, updated and deleted by versions from..to (inclusive), with
        _change_type, _commit_version and _commit_timestamp (docs/formats.md, "Change data
        files"; on Iceberg, Spark's changelog view)."""
        return _read_all(pa.RecordBatchReader.from_stream(
            self._t.changes(from_version, to_version, file_level)))

    def pipeline_states(self, *, version: Optional[int] = None) -> dict[str, dict]:
        """The state each pipeline keeps in this table (its watermark, files, run)."""
        return {name: json.loads(doc) for name, doc in self._t.pipeline_states(version).items()}

    # Writing -----------------------------------------------------------------------

    def write(self, data: Any, *, mode: str = "append",
              partition_by: Union[str, Sequence[str], None] = None,
              replace_where: Optional[str] = None,
              sort_by: Union[str, Sequence[str], None] = None,
              properties: Optional[Mapping[str, str]] = None,
              update_properties: bool = False, merge_schema: bool = False,
              target_file_size: Optional[int] = None, compression: Optional[str] = None,
              app_id: Optional[str] = None, app_version: Optional[int] = None,
              app_document: Optional[str] = None) -> _inlet.CommitResult:
        """Writes data (anything with ``__arrow_c_stream__``; also pandas frames, dicts of
        columns, lists of dicts) in one atomic commit, streaming it.

        ``mode``: append, overwrite (with ``replace_where``: only the matching
        partitions) or overwrite_partitions. ``partition_by``, ``sort_by`` and
        ``properties`` apply when the write creates the table: ``partition_by`` takes
        columns, and on Iceberg also transforms such as ``day(ts)``; ``sort_by`` is
        Iceberg's (a Delta table has no sort order). ``app_id`` with ``app_version``
        commits the application's version with the rows, exactly once: when the table
        already has that version of the application (or a later one), nothing is read or
        written and the result is the table's version with ``rows_written`` 0.
        ``app_document`` keeps a document of the application's with the rows."""
        return self._t.write(_arrow(data), mode, _list(partition_by), replace_where or "",
                             _list(sort_by), dict(properties or {}), update_properties,
                             merge_schema, target_file_size, compression, app_id,
                             app_version, app_document)

    def merge(self, data: Any, keys: Union[str, Sequence[str]], *, mode: str = "upsert",
              order_by: Optional[str] = None, delete_flag: Optional[str] = None,
              ignore_null_updates: bool = False,
              update_columns: Union[str, Sequence[str], None] = None,
              sequence_by: Union[str, Sequence[str], None] = None,
              truncate_flag: Optional[str] = None, history: bool = False,
              track_columns: Union[str, Sequence[str], None] = None,
              valid_from: str = "valid_from", valid_to: str = "valid_to",
              is_current: str = "is_current", missing: str = "delete",
              soft_delete_column: Optional[str] = None,
              max_delete_percent: Optional[float] = None, merge_schema: bool = False,
              partition_by: Union[str, Sequence[str], None] = None,
              properties: Optional[Mapping[str, str]] = None, dry_run: bool = False,
              max_retries: int = 10) -> _inlet.MergeResult:
        """Merges data into the table by ``keys`` in one atomic commit, as ``inlet merge``.

        ``mode``: upsert (matched keys updated, new keys inserted), insert_only,
        delete_insert, or snapshot (data is the complete extract: changed rows replaced,
        keys that left handled as ``missing`` says: delete, soft_delete with
        ``soft_delete_column``, keep; ``max_delete_percent`` guards against a truncated
        extract). ``order_by`` picks the winner among a key's source rows;
        ``delete_flag`` is a boolean column deleting its key; ``sequence_by`` makes it
        change data capture (out-of-order safe, deletes remembered), with
        ``history=True`` for SCD type 2 (``valid_from``/``valid_to``/``is_current``,
        ``track_columns``). ``dry_run`` counts without writing. A merge that loses to a
        conflicting commit runs again up to ``max_retries`` times."""
        args = _inlet.MergeArgs()
        args.keys = _list(keys)
        args.mode = mode
        args.order_by = order_by or ""
        args.delete_flag = delete_flag or ""
        args.ignore_null_updates = ignore_null_updates
        args.update_columns = _list(update_columns)
        args.sequence_by = _list(sequence_by)
        args.truncate_flag = truncate_flag or ""
        args.history = history
        args.track_columns = _list(track_columns)
        args.valid_from, args.valid_to, args.is_current = valid_from, valid_to, is_current
        args.missing = missing
        args.soft_delete_column = soft_delete_column or ""
        args.max_delete_percent = max_delete_percent
        args.merge_schema = merge_schema
        args.partition_by = _list(partition_by)
        args.properties = dict(properties or {})
        args.dry_run = dry_run
        args.max_retries = max_retries
        return self._t.merge(_arrow(data), args)

    def delete(self, where: Optional[str] = None, *, every_row: bool = False,
               dry_run: bool = False, max_retries: int = 10) -> _inlet.MergeResult:
        """Deletes the rows ``where`` selects (every row needs ``every_row=True``). Lost
        to a conflicting commit, it runs again up to ``max_retries`` times."""
        return self._t.delete(where or "", every_row, dry_run, max_retries)

    def update(self, set: Mapping[str, Any], where: Optional[str] = None, *,
               every_row: bool = False, dry_run: bool = False,
               max_retries: int = 10) -> _inlet.MergeResult:
        """Sets columns (``{"status": "closed", "note": None}``) of the rows ``where``
        selects. Lost to a conflicting commit, it runs again up to ``max_retries``
        times."""
        if not set:
            raise ValueError("update needs at least one column to set")
        return self._t.update([(c, _literal(v)) for c, v in set.items()], where or "",
                              every_row, dry_run, max_retries)

    def restore(self, version: Optional[int] = None, *,
                as_of: Optional[TimeLike] = None) -> _inlet.RestoreResult:
        """The table as of a version or time, committed as a new version."""
        return self._t.restore(version, _millis(as_of))

    def reset_pipeline(self, name: str) -> int:
        """Clears a pipeline's state (its next run starts afresh); returns the version."""
        return self._t.reset_pipeline(name)

    # Maintenance -------------------------------------------------------------------

    def optimize(self, where: Optional[str] = None, *, target_size: Optional[int] = None,
                 zorder_by: Union[str, Sequence[str], None] = None) -> _inlet.OptimizeResult:
        """Compacts small files (per partition; Z-ordered by ``zorder_by``) in one commit
        that changes no rows."""
        return self._t.optimize(where or "", target_size or 0, _list(zorder_by))

    def vacuum(self, retention_hours: Optional[float] = None, *, dry_run: bool = False,
               enforce_retention: bool = True) -> _inlet.VacuumResult:
        """Deletes files no version within the retention reads."""
        return self._t.vacuum(retention_hours, dry_run, enforce_retention)

    def checkpoint(self) -> _inlet.CheckpointResult:
        """Compacts the table's metadata, and cleans up expired metadata files."""
        return self._t.checkpoint()


def write_table(uri: str, data: Any, *, mode: str = "append", format: Optional[str] = None,
                storage_options: Optional[Mapping[str, str]] = None,
                **options: Any) -> Table:
    """Writes data to the table at uri, creating it (as ``format``: delta by default, or
    iceberg) when there is none; returns the table. ``options`` are Table.write's."""
    table = Table.open_or_create(uri, format=format, storage_options=storage_options)
    table.write(data, mode=mode, **options)
    return table
