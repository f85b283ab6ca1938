"""Pipelines from Python: the YAML format of ``inlet run`` (docs/pipelines.md), from a
file or a dict, run once, streamed, and their state read from their tables."""
from __future__ import annotations

import atexit
import json
import os
import re
import threading
import weakref
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence, Union

from . import _inlet
from ._errors import InvalidInputError, TableNotFoundError
from ._table import Table

Definition = Union[str, "os.PathLike[str]", Mapping[str, Any]]


class Pipeline:
    """One validated pipeline: ``load_pipelines`` makes them."""

    def __init__(self, native: _inlet.Pipeline) -> None:
        self._p = native

    name = property(lambda self: self._p.name)
    strategy = property(lambda self: self._p.strategy, doc="full_refresh, append, ...")
    table = property(lambda self: self._p.table, doc="The destination table's location.")
    source_kind = property(lambda self: self._p.source_kind, doc="files, kafka, http, ...")
    streams = property(lambda self: self._p.streams,
                       doc="Whether the source is streamed (stream()) rather than run.")

    def __repr__(self) -> str:
        return f"inlet.Pipeline({self.name!r}, strategy={self.strategy!r}, table={self.table!r})"

    def run(self, *, dry_run: bool = False, backfill: Optional[tuple[str, str]] = None
            ) -> _inlet.RunReport:
        """Runs the pipeline once: reads what its strategy needs and commits the rows with
        its state in one table commit. ``backfill=(from, to)`` loads ``from <= cursor <
        to`` without moving the watermark. Raises InletError (naming the pipeline) when
        the run fails: the table is then as it was, but for the chunks already committed
        by a run that reads in chunks (a postgres source's ``chunk_rows``), which the
        next run goes on from."""
        start, end = backfill if backfill else (None, None)
        if self.streams:
            raise InvalidInputError(
                f"pipeline '{self.name}' has a {self.source_kind} source: use stream()")
        return _inlet.run_pipeline(self._p, dry_run, start, end)

    def stream(self, *, idle_exit: Optional[float] = None, catch_up: bool = False,
               on_progress: Optional[Callable[[_inlet.StreamReport], None]] = None,
               progress_interval: float = 1.0) -> _inlet.StreamReport:
        """Streams the pipeline (Kafka, postgres_cdc) in this thread until Ctrl-C (which
        commits what it holds, then raises KeyboardInterrupt), ``idle_exit`` seconds
        without a message, or, with ``catch_up``, once the table holds what the source
        had at the start. ``Stream`` runs it in the background instead."""
        return Stream(self, idle_exit=idle_exit, catch_up=catch_up,
                      on_progress=on_progress, progress_interval=progress_interval)._run()

    def state(self) -> Optional[dict]:
        """The state this pipeline keeps in its table; None before its first commit."""
        try:
            states = Table(self.table).pipeline_states()
        except TableNotFoundError:
            return None
        return states.get(self.name)

    def reset(self) -> int:
        """Clears the pipeline's state (its next run starts afresh; rows stay)."""
        return Table(self.table).reset_pipeline(self.name)


# Streams still running when the interpreter exits are stopped (a last commit) and
# waited for before anything is torn down: their threads are daemons, which Python would
# otherwise end mid-commit.
_running: "weakref.WeakSet[Stream]" = weakref.WeakSet()


@atexit.register
def _stop_running_streams() -> None:
    for s in list(_running):
        s.stop()
    for s in list(_running):
        if s._thread:
            s._thread.join()


class Stream:
    """A pipeline streaming in a background thread: ``start()``, then ``stop()`` (which
    commits what the stream holds) and ``join()`` for its report. Streams still running
    when Python exits are stopped the same way first."""

    def __init__(self, pipeline: Pipeline, *, idle_exit: Optional[float] = None,
                 catch_up: bool = False,
                 on_progress: Optional[Callable[[_inlet.StreamReport], None]] = None,
                 progress_interval: float = 1.0) -> None:
        if not pipeline.streams:
            raise InvalidInputError(
                f"pipeline '{pipeline.name}' has a {pipeline.source_kind} source: use run()")
        self.pipeline = pipeline
        self._stop = _inlet.StopFlag()
        self._args = (int((idle_exit or 0) * 1000), catch_up, on_progress,
                      int(progress_interval * 1000))
        self._thread: Optional[threading.Thread] = None
        self._report: Optional[_inlet.StreamReport] = None
        self._error: Optional[BaseException] = None

    def _run(self) -> _inlet.StreamReport:
        return _inlet.run_stream(self.pipeline._p, self._stop, *self._args)

    def _target(self) -> None:
        try:
            self._report = self._run()
        except BaseException as e:  # noqa: BLE001  (handed to join())
            self._error = e
        finally:
            _running.discard(self)

    def start(self) -> "Stream":
        if self._thread:
            raise RuntimeError("the stream was started already")
        self._thread = threading.Thread(target=self._target, name=f"inlet-{self.pipeline.name}",
                                        daemon=True)
        _running.add(self)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Asks the stream to commit what it holds and stop; join() waits for it."""
        self._stop.set()

    def join(self, timeout: Optional[float] = None) -> _inlet.StreamReport:
        """Waits for the stream to end; its report, or its error raised."""
        if not self._thread:
            raise RuntimeError("the stream was not started")
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise TimeoutError(f"stream '{self.pipeline.name}' still running")
        if self._error:
            raise self._error
        assert self._report is not None
        return self._report

    def __enter__(self) -> "Stream":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
        if exc[0] is None:
            self.join()
        elif self._thread:
            self._thread.join()


def load_pipelines(definition: Definition, *, base_dir: Union[str, "os.PathLike[str]", None] = None
                   ) -> list[Pipeline]:
    """The pipelines of a YAML file, or of a dict in the same shape (``{"pipelines":
    [...]}``, or one pipeline's dict). ${VAR} expands from the environment; relative
    paths resolve against the file's directory (a dict's: ``base_dir``, default the
    working directory). Raises InvalidInputError naming the file, line and key."""
    if isinstance(definition, Mapping):
        doc = dict(definition)
        if "pipelines" not in doc:
            doc = {"pipelines": [doc]}
        # JSON is YAML: the dict goes through the same parser and checks as a file.
        text = json.dumps(doc, default=str)
        base = os.fspath(base_dir) if base_dir is not None else os.getcwd()
        natives = _inlet.parse_pipeline_text(text, "<dict>", base)
    else:
        natives = _inlet.load_pipeline_file(os.fspath(definition))
    return [Pipeline(p) for p in natives]


def run(definition: Definition, *, pipeline: Optional[str] = None, dry_run: bool = False,
        backfill: Optional[tuple[str, str]] = None) -> list[_inlet.RunReport]:
    """Runs the file's (or dict's) pipelines with bounded sources once, in order, or
    only the one named; stops at the first that fails, raising its error."""
    pipelines = load_pipelines(definition)
    chosen = [p for p in pipelines if (p.name == pipeline if pipeline else not p.streams)]
    if not chosen:
        names = ", ".join(p.name for p in pipelines)
        raise InvalidInputError(
            f"no pipeline {'named ' + repr(pipeline) if pipeline else 'to run'} (there are: {names})")
    return [p.run(dry_run=dry_run, backfill=backfill) for p in chosen]


def load(source: Union[str, "os.PathLike[str]"], table: Union[str, "os.PathLike[str]"], *,
         strategy: str = "append", cursor: Optional[str] = None,
         keys: Union[str, Sequence[str], None] = None, format: Optional[str] = None,
         name: Optional[str] = None, lookback: Optional[str] = None,
         partition_by: Union[str, Sequence[str], None] = None,
         table_format: Optional[str] = None, dry_run: bool = False,
         **strategy_options: Any) -> _inlet.RunReport:
    """One call for the common case: loads files at ``source`` (a file, directory or glob)
    into ``table`` incrementally with a strategy, and returns the run's report. The
    state is kept in the table, so calling it again loads only what is new::

        inlet.load("landing/orders/*.parquet", "warehouse/orders",
                   strategy="watermark", cursor="modified_date")

    ``strategy``: append (new files), watermark (rows past ``cursor``, with
    ``lookback``), merge (upsert by ``keys``), snapshot_diff (by ``keys``), cdc,
    full_refresh. Other strategy settings go in ``strategy_options``."""
    src = os.fspath(source)
    strategy_doc: dict[str, Any] = {"type": strategy, **strategy_options}
    if cursor:
        strategy_doc["cursor"] = cursor
    if lookback:
        strategy_doc["lookback"] = lookback
    destination: dict[str, Any] = {"path": os.path.abspath(os.fspath(table))}
    if keys:
        destination["keys"] = [keys] if isinstance(keys, str) else list(keys)
    if partition_by:
        destination["partition_by"] = [partition_by] if isinstance(partition_by, str) else list(partition_by)
    if table_format:
        destination["format"] = table_format
    source_doc: dict[str, Any] = {"type": "files", "path": os.path.abspath(src)}
    if format:
        source_doc["format"] = format
    pipeline_name = name or re.sub(r"[^A-Za-z0-9_.-]", "_", Path(os.fspath(table)).name) or "load"
    doc = {"name": pipeline_name, "source": source_doc, "destination": destination,
           "strategy": strategy_doc}
    return load_pipelines(doc)[0].run(dry_run=dry_run)
