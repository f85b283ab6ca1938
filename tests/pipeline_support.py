"""Helpers for the pipeline tests (`inlet run`, `inlet state`, `inlet reset`).

The contract is docs/pipelines.md. These helpers:

* write source files (CSV, NDJSON, JSON arrays, Parquet) from Python rows, and pipeline
  YAML files from Python dicts (json.dumps output is valid YAML);
* run the CLI with an environment of our choosing (crash points, ${VAR} expansion) and
  parse `inlet run --json` report lines;
* read what a run left behind: the table (deltalake oracle), `inlet state --json`, and
  the raw `_delta_log` actions (txn, domainMetadata, protocol);
* model the three strategies in plain Python, so that every expected table, counter and
  watermark is computed from the same input data the test hands to inlet.

Rows are dicts of Python values: int, str, float, bool, None, and timezone-aware
datetimes (UTC) for timestamp columns.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import errno
import json
import os
import pathlib
import re
import subprocess
import time
from typing import Any, Iterable, Sequence

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import oracle
import support

UTC = datetime.timezone.utc
T0 = datetime.datetime(2024, 3, 1, tzinfo=UTC)

# How long to wait for build/inlet to reappear while the other engineer rebuilds it.
BINARY_WAIT_S = 180

# A SIGKILLed child: -9 from subprocess, 137 when a shell reports it.
KILLED = (-9, 137)

CRASH_POINTS = [
    "run.after_read",
    "write.after_data_files",
    "commit.before_log_write",
    "commit.after_log_write",
]

REPORT_FIELDS = {
    "pipeline", "table", "strategy", "status", "rows_read", "rows_skipped_watermark",
    "rows_deduplicated", "rows_rejected", "rows_written", "watermark_before",
    "watermark_after", "files_read", "files_written", "bytes_written",
    "partitions_touched", "table_version", "run", "duration_ms",
}

# ---------------------------------------------------------------------------------------
# Values and source files

PA_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int32(),
    "long": pa.int64(),
    "bigint": pa.int64(),
    "short": pa.int16(),
    "byte": pa.int8(),
    "float": pa.float32(),
    "double": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "timestamp_ntz": pa.timestamp("us"),
}


def hours(n: float) -> datetime.datetime:
    """T0 + n hours: the timestamps most tests use."""
    return T0 + datetime.timedelta(hours=n)


def format_ts(value: datetime.datetime) -> str:
    value = value.astimezone(UTC)
    if value.microsecond:
        return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def text_value(value: Any) -> Any:
    """A value as it goes into a CSV or JSON source file."""
    if isinstance(value, datetime.datetime):
        return format_ts(value)
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def arrow_schema(schema: dict[str, str | pa.DataType]) -> pa.Schema:
    return pa.schema(
        [(name, PA_TYPES[t] if isinstance(t, str) else t) for name, t in schema.items()]
    )


def to_arrow(rows: Sequence[dict], schema: dict[str, str | pa.DataType]) -> pa.Table:
    """Rows as an Arrow table with exactly the columns of ``schema`` (missing keys: null)."""
    s = arrow_schema(schema)
    return pa.table(
        {f.name: pa.array([r.get(f.name) for r in rows], type=f.type) for f in s}, schema=s
    )


def write_source(
    path: pathlib.Path,
    rows: Sequence[dict],
    *,
    fmt: str | None = None,
    columns: Sequence[str] | None = None,
    schema: dict[str, str | pa.DataType] | None = None,
) -> pathlib.Path:
    """Write ``rows`` to ``path`` as csv | ndjson | json (an array) | parquet.

    CSV writes None as an empty field; JSON formats omit a key the row dict lacks and
    write None as null. Parquet needs ``schema``.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fmt = fmt or path.suffix.lstrip(".")
    if columns is None:
        columns = list(dict.fromkeys(k for r in rows for k in r))
    if fmt == "csv":
        with path.open("w", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(columns)
            for r in rows:
                w.writerow(["" if r.get(c) is None else _csv_text(r.get(c)) for c in columns])
    elif fmt in ("ndjson", "json"):
        objs = [{c: text_value(r[c]) for c in columns if c in r} for r in rows]
        if fmt == "ndjson":
            path.write_text("".join(json.dumps(o) + "\n" for o in objs))
        else:
            path.write_text(json.dumps(objs, indent=1) + "\n")
    elif fmt == "parquet":
        assert schema is not None, "write_source: parquet needs a schema"
        pq.write_table(to_arrow(rows, {c: schema[c] for c in columns}), path)
    else:
        raise ValueError(f"unknown format {fmt}")
    return path


def _csv_text(value: Any) -> str:
    value = text_value(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# ---------------------------------------------------------------------------------------
# Pipeline files


# The table properties that make Iceberg row-level changes merge-on-read.
ICEBERG_MERGE_ON_READ = {"write.delete.mode": "merge-on-read", "write.update.mode": "merge-on-read",
                         "write.merge.mode": "merge-on-read"}
# Format version 3 merge-on-read: deletion vectors, and row lineage.
ICEBERG_V3_MERGE_ON_READ = {**ICEBERG_MERGE_ON_READ, "format-version": "3"}


def pipeline(
    name: str,
    *,
    path: str,
    dest: str,
    strategy: dict,
    fmt: str | None = None,
    schema: dict | None = None,
    keys: Sequence[str] | None = None,
    partition_by: Sequence[str] | None = None,
    quality: dict | None = None,
    properties: dict | None = None,
    table_format: str | None = None,
) -> dict:
    """One pipeline as a dict, in the shape of docs/pipelines.md. table_format: "iceberg"
    makes the destination an Iceberg table by path (default: Delta Lake), "iceberg_mor" one
    whose row-level changes are merge-on-read (position delete files), "iceberg_v3" a format
    version 3 one whose row-level changes are deletion vectors."""
    source: dict[str, Any] = {"type": "files", "path": path}
    if fmt:
        source["format"] = fmt
    if schema:
        source["schema"] = dict(schema)
    destination: dict[str, Any] = {"path": dest}
    if table_format == "iceberg_mor":  # merge-on-read: position delete files
        destination["format"] = "iceberg"
        properties = {**ICEBERG_MERGE_ON_READ, **(properties or {})}
    elif table_format == "iceberg_v3":  # merge-on-read: deletion vectors
        destination["format"] = "iceberg"
        properties = {**ICEBERG_V3_MERGE_ON_READ, **(properties or {})}
    elif table_format:
        destination["format"] = table_format
    if partition_by:
        destination["partition_by"] = list(partition_by)
    if keys:
        destination["keys"] = list(keys)
    if properties:
        destination["properties"] = dict(properties)
    out: dict[str, Any] = {
        "name": name,
        "source": source,
        "destination": destination,
        "strategy": dict(strategy),
    }
    if quality:
        out["quality"] = dict(quality)
    return out


def write_pipelines(path: pathlib.Path, *pipelines: dict) -> pathlib.Path:
    """Write a pipeline file. JSON is a subset of YAML, so json.dumps output is valid YAML."""
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"pipelines": list(pipelines)}, indent=2) + "\n")
    return path


def line_of(text: str, needle: str, start: int = 1) -> int:
    """1-based number of the first line at or after ``start`` containing ``needle``."""
    for number, line in enumerate(text.splitlines(), 1):
        if number >= start and needle in line:
            return number
    raise AssertionError(f"test setup: {needle!r} not found in the YAML text")


# ---------------------------------------------------------------------------------------
# Running the CLI


def wait_for_binary() -> pathlib.Path:
    """build/inlet, waiting a while if a rebuild has removed it."""
    binary = support.inlet_binary()
    deadline = time.monotonic() + BINARY_WAIT_S
    while not (binary.exists() and os.access(binary, os.X_OK)):
        if time.monotonic() > deadline:
            pytest.fail(f"inlet binary not found at {binary} (build it, or set INLET_BIN)",
                        pytrace=False)
        time.sleep(1)
    return binary


def _environment(env: dict[str, str | None] | None) -> dict[str, str]:
    # Fault injection set in the outer shell must not reach every test.
    faults = {"INLET_CRASH_AT", "INLET_CRASH_AFTER", "INLET_STOP_AT", "INLET_FAULT_COUNT"}
    out = {k: v for k, v in os.environ.items() if k not in faults}
    for k, v in (env or {}).items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = v
    return out


def cli(
    *args: object,
    env: dict[str, str | None] | None = None,
    cwd: str | os.PathLike | None = None,
    check: bool = True,
    timeout: float = support.DEFAULT_TIMEOUT_S,
) -> subprocess.CompletedProcess:
    """Run ``inlet ARGS`` with ``env`` added to (None: removed from) the environment.

    INLET_CRASH_AT is never inherited. With check=True a non-zero exit fails the test.
    """
    for attempt in range(20):
        cmd = [str(wait_for_binary()), *map(str, args)]
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout, cwd=cwd,
                env=_environment(env), stdin=subprocess.DEVNULL,
            )
            break
        except OSError as exc:  # the binary is being relinked right now
            if exc.errno not in (errno.ETXTBSY, errno.ENOEXEC, errno.ENOENT) or attempt == 19:
                raise
            time.sleep(1)
        except subprocess.TimeoutExpired:
            pytest.fail(f"timed out after {timeout}s: {' '.join(cmd)}", pytrace=False)
    if check and proc.returncode != 0:
        pytest.fail(
            f"inlet failed (exit {proc.returncode}): {' '.join(cmd)}\n"
            f"--- stderr ---\n{proc.stderr}\n--- stdout ---\n{proc.stdout[:2000]}",
            pytrace=False,
        )
    return proc


def popen(*args: object, env: dict[str, str | None] | None = None,
          cwd: str | os.PathLike | None = None) -> subprocess.Popen:
    cmd = [str(wait_for_binary()), *map(str, args)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_environment(env), cwd=cwd, stdin=subprocess.DEVNULL)


def parse_reports(stdout: str) -> list[dict]:
    """The JSON report lines of `inlet run --json` (every non-empty line must be one)."""
    reports = []
    for line in stdout.splitlines():
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except ValueError:
            raise AssertionError(
                f"`inlet run --json` printed a line that is not JSON: {line!r}\n{stdout[:2000]}"
            ) from None
        assert isinstance(obj, dict), f"report line is not a JSON object: {line!r}"
        reports.append(obj)
    return reports


@dataclasses.dataclass
class RunResult:
    proc: subprocess.CompletedProcess
    reports: list[dict]

    @property
    def report(self) -> dict:
        assert len(self.reports) == 1, (
            f"expected one report line, got {len(self.reports)}: {self.proc.stdout[:2000]}"
        )
        return self.reports[0]


def run(
    yaml_path: pathlib.Path,
    *args: object,
    env: dict[str, str | None] | None = None,
    cwd: str | os.PathLike | None = None,
    check: bool = True,
) -> RunResult:
    """``inlet run YAML --json ARGS`` (cwd: the YAML's folder unless given)."""
    proc = cli("run", yaml_path, "--json", *args, env=env,
               cwd=cwd if cwd is not None else pathlib.Path(yaml_path).parent, check=check)
    reports = parse_reports(proc.stdout) if proc.returncode == 0 else []
    return RunResult(proc, reports)


def run_refused(yaml_path: pathlib.Path, *args: object,
                env: dict[str, str | None] | None = None) -> str:
    """Run, expect a clean one-line refusal (exit > 0), return the error line."""
    proc = cli("run", yaml_path, "--json", *args, env=env,
               cwd=pathlib.Path(yaml_path).parent, check=False)
    line = support.check_refusal(proc)
    assert proc.returncode == 1, f"a failed run exits 1, got {proc.returncode}: {line}"
    return line


def run_crashing(yaml_path: pathlib.Path, point: str, *args: object) -> subprocess.CompletedProcess:
    """Run with INLET_CRASH_AT=point; expect death by SIGKILL."""
    proc = cli("run", yaml_path, "--json", *args, env={"INLET_CRASH_AT": point},
               cwd=pathlib.Path(yaml_path).parent, check=False)
    assert proc.returncode in KILLED, (
        f"INLET_CRASH_AT={point}: expected death by SIGKILL, got exit {proc.returncode}\n"
        f"stderr: {proc.stderr[-1500:]}\nstdout: {proc.stdout[-1500:]}"
    )
    return proc


def run_rounds_with_crash(yaml_path: pathlib.Path, src: pathlib.Path, point: str,
                          batches: Sequence[Sequence[dict]], check, crash_round: int = 1) -> None:
    """Each batch becomes src/b<N>.ndjson and one run; before the run of crash_round, a run
    is killed at point. The run after it commits (or, when the killed run had already
    written its log entry, finds no changes). check(rows so far, context) after each round."""
    seen: list[dict] = []
    for round_no, batch in enumerate(batches):
        write_source(src / f"b{round_no}.ndjson", batch, fmt="ndjson")
        if round_no == crash_round:
            run_crashing(yaml_path, point)
        status = run(yaml_path).report["status"]
        committed_before_death = round_no == crash_round and point == "commit.after_log_write"
        assert status == ("no_changes" if committed_before_death else "committed"), status
        seen += batch
        check(seen, f"round {round_no}, after a crash at {point}")


def state(table: pathlib.Path) -> dict:
    """``inlet state TABLE --json``: one object keyed by pipeline name."""
    proc = cli("state", table, "--json")
    try:
        obj = json.loads(proc.stdout)
    except ValueError:
        raise AssertionError(f"`inlet state --json` is not one JSON document:\n{proc.stdout[:2000]}")
    assert isinstance(obj, dict), f"`inlet state --json` is not an object: {proc.stdout[:500]}"
    return obj


def info(table: pathlib.Path) -> dict:
    return json.loads(cli("info", table, "--json").stdout)


def is_iceberg(table: pathlib.Path) -> bool:
    """An Iceberg table by path (metadata/, no _delta_log/): the rig's helpers read either
    format, so the exactly-once and crash suites run for both."""
    return (table / "metadata").is_dir() and not (table / "_delta_log").is_dir()


def _iceberg_metadata_files(table: pathlib.Path) -> dict[int, pathlib.Path]:
    out = {}
    for p in (table / "metadata").glob("v*.metadata.json"):
        try:
            out[int(p.name[1:].split(".")[0])] = p
        except ValueError:
            continue
    return out


def _iceberg_current(table: pathlib.Path) -> dict | None:
    files = _iceberg_metadata_files(table)
    return json.loads(files[max(files)].read_text()) if files else None


def read_table(table: pathlib.Path, version: int | None = None) -> pa.Table:
    """The table as the other engines read it: deltalake, or pyiceberg for Iceberg (at a
    sequence number when version is given)."""
    if is_iceberg(table):
        from pyiceberg.table import StaticTable
        files = _iceberg_metadata_files(table)
        static = StaticTable.from_metadata(str(files[max(files)]))
        if version is None:
            return static.scan().to_arrow()
        snap = next(s for s in static.metadata.snapshots if s.sequence_number == version)
        return static.scan(snapshot_id=snap.snapshot_id).to_arrow()
    return oracle.read_deltalake(table, version)


def without(table: pa.Table, *columns: str) -> pa.Table:
    return table.drop_columns([c for c in columns if c in table.column_names])


def assert_table(table_path: pathlib.Path, rows: Sequence[dict], schema: dict,
                 context: str = "", version: int | None = None) -> None:
    """The table (deltalake) holds exactly ``rows`` (as a multiset), typed as ``schema``."""
    got = read_table(table_path, version)
    oracle.assert_tables_equal(got, to_arrow(rows, schema), context)


def table_absent(table: pathlib.Path) -> bool:
    if is_iceberg(table):
        return not _iceberg_metadata_files(table)
    return not oracle.commit_versions(table) if (table / "_delta_log").is_dir() else True


# ---------------------------------------------------------------------------------------
# The log


def log_commits(table: pathlib.Path) -> dict[int, list[dict]]:
    """Every JSON commit's actions, by version."""
    out = {}
    for v in oracle.commit_versions(table):
        text = (table / "_delta_log" / f"{v:020d}.json").read_text()
        out[v] = [json.loads(line) for line in text.splitlines() if line.strip()]
    return out


def latest_version(table: pathlib.Path) -> int | None:
    """The newest commit: a Delta version, or an Iceberg table's last sequence number."""
    if is_iceberg(table):
        current = _iceberg_current(table)
        return current["last-sequence-number"] if current else None
    versions = oracle.commit_versions(table) if (table / "_delta_log").is_dir() else []
    return versions[-1] if versions else None


def actions(commit: list[dict], kind: str) -> list[dict]:
    return [a[kind] for a in commit if kind in a]


def protocol(table: pathlib.Path) -> dict:
    found = None
    for _, commit in sorted(log_commits(table).items()):
        for p in actions(commit, "protocol"):
            found = p
    assert found is not None, f"no protocol action in {table}/_delta_log"
    return found


def domains(table: pathlib.Path) -> dict[str, dict]:
    """Live domainMetadata actions by domain (removed ones dropped)."""
    live: dict[str, dict] = {}
    for _, commit in sorted(log_commits(table).items()):
        for d in actions(commit, "domainMetadata"):
            if d.get("removed"):
                live.pop(d["domain"], None)
            else:
                live[d["domain"]] = d
    return live


def committed_log(table: pathlib.Path) -> dict[str, bytes]:
    """Bytes of the committed JSON files (temporary leftovers of a crash are ignored); an
    Iceberg table's metadata files."""
    if is_iceberg(table):
        return {p.name: p.read_bytes() for p in _iceberg_metadata_files(table).values()}
    return {f"{v:020d}.json": (table / "_delta_log" / f"{v:020d}.json").read_bytes()
            for v in (oracle.commit_versions(table) if (table / "_delta_log").is_dir() else [])}


def assert_log_unchanged(table: pathlib.Path, before: dict[str, bytes], context: str) -> None:
    after = snapshot_log(table)
    assert after.keys() == before.keys(), (
        f"{context}: _delta_log files changed: added {sorted(after.keys() - before.keys())}, "
        f"removed {sorted(before.keys() - after.keys())}"
    )
    changed = [n for n in before if before[n] != after[n]]
    assert not changed, f"{context}: _delta_log files rewritten: {changed}"


def snapshot_log(table: pathlib.Path) -> dict[str, bytes]:
    if is_iceberg(table):
        return committed_log(table)
    return support.log_snapshot(table) if (table / "_delta_log").is_dir() else {}


MERGE_COUNTS = ("rows_inserted", "rows_updated", "rows_deleted", "rows_late", "rows_written", "rows_deduplicated")


def run_after_dry_run(yaml_path: pathlib.Path, table: pathlib.Path, context: str) -> dict:
    """`inlet run --dry-run`, which must commit nothing, then `inlet run`, which must be
    committed and do what the dry run counted (a merge strategy runs its merge dry). Returns
    the run's report."""
    before = snapshot_log(table)
    dry = run(yaml_path, "--dry-run").report
    assert_log_unchanged(table, before, f"a dry run ({context})")
    report = run(yaml_path).report
    assert dry["status"] == "dry_run" and report["status"] == "committed", (context, dry, report)
    counts = lambda r: {k: r.get(k) for k in MERGE_COUNTS}
    assert counts(dry) == counts(report), f"{context}: the dry run counted {counts(dry)}, the run did {counts(report)}"
    return report


# ---------------------------------------------------------------------------------------
# Watermarks as text


def parse_ts(text: str) -> datetime.datetime:
    t = text.strip().replace(" ", "T")
    if t.endswith("Z"):
        t = t[:-1] + "+00:00"
    value = datetime.datetime.fromisoformat(t)
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def parse_watermark(value: Any, kind: str) -> Any:
    """A watermark from a report or state ("ts" or "int" cursor), None for null."""
    if value is None:
        return None
    if kind == "int":
        return int(str(value))
    if kind == "date":
        return datetime.date.fromisoformat(str(value)[:10])
    return parse_ts(str(value))


def cursor_text(value: Any) -> str:
    return str(text_value(value))


# ---------------------------------------------------------------------------------------
# Reference models


def row_key(row: dict, keys: Sequence[str] | None, columns: Sequence[str]) -> tuple:
    if keys:
        return tuple(row.get(k) for k in keys)
    return tuple(row.get(c) for c in columns)


@dataclasses.dataclass
class Outcome:
    """What a run should do, by the model."""

    status: str  # committed | no_changes | failed
    rows_read: int = 0
    written: list = dataclasses.field(default_factory=list)
    skipped: int = 0
    deduplicated: int = 0
    watermark_before: Any = None
    watermark_after: Any = None
    run: int = 0
    files_read: int | None = None
    # Watermark runs: ids of the rows the run must look at (candidates and null-cursor rows
    # it loads or de-duplicates), and, filled in by Rig.plan, the source files that hold
    # none of them: (their rows, their rows with a cursor). A run may skip such a file
    # without reading it; rows_read and rows_skipped_watermark then leave its rows out.
    considered: set = dataclasses.field(default_factory=set)
    prunable: list = dataclasses.field(default_factory=list)

    @property
    def rows_written(self) -> int:
        return len(self.written)


class WatermarkModel:
    """The watermark strategy of docs/pipelines.md, in plain Python.

    Candidates are rows with cursor > watermark (>= when inclusive), plus, with lookback L,
    watermark - L < cursor <= watermark; with a safety margin only cursor <= now - margin.
    Candidates at or before the watermark that the table already has (by keys, else by the
    whole row) are dropped. A backfill [lo, hi) takes lo <= cursor < hi, drops rows the
    table has, and keeps the watermark. Null cursors: fail | exclude | include (include
    drops null-cursor rows the table already has).
    """

    def __init__(self, cursor: str, columns: Sequence[str], *, keys: Sequence[str] | None = None,
                 inclusive: bool = False, lookback: Any = None, safety_margin: Any = None,
                 null_cursor: str = "fail"):
        self.cursor, self.columns, self.keys = cursor, list(columns), list(keys or [])
        self.inclusive, self.lookback, self.margin = inclusive, lookback, safety_margin
        self.null_cursor = null_cursor
        self.table: list[dict] = []
        self.watermark: Any = None
        self.run = 0

    def key(self, row: dict) -> tuple:
        return row_key(row, self.keys, self.columns)

    def _selected(self, c: Any, limit: Any) -> bool:
        if limit is not None and c > limit:
            return False
        wm = self.watermark
        if wm is None or c > wm:
            return True
        if self.inclusive and c == wm:
            return True
        return self.lookback is not None and c > wm - self.lookback

    def plan(self, source: Sequence[dict], *, now: datetime.datetime | None = None,
             backfill: tuple[Any, Any] | None = None) -> Outcome:
        c = self.cursor
        nulls = [r for r in source if r.get(c) is None]
        valued = [r for r in source if r.get(c) is not None]
        out = Outcome(status="committed", rows_read=len(source),
                      watermark_before=self.watermark, watermark_after=self.watermark,
                      run=self.run)
        if nulls and self.null_cursor == "fail":
            out.status = "failed"
            return out
        have = {self.key(r) for r in self.table}
        if backfill is not None:
            lo, hi = backfill
            candidates = [r for r in valued if lo <= r[c] < hi]
            must_dedup = candidates
        else:
            limit = now - self.margin if self.margin is not None else None
            candidates = [r for r in valued if self._selected(r[c], limit)]
            must_dedup = [r for r in candidates
                          if self.watermark is not None and r[c] <= self.watermark]
        out.skipped = len(valued) - len(candidates)
        out.considered = {id(r) for r in candidates}
        if self.null_cursor == "include":
            out.considered |= {id(r) for r in nulls}
        drop = {id(r) for r in must_dedup if self.key(r) in have}
        out.deduplicated = len(drop)
        out.written = [r for r in candidates if id(r) not in drop]
        if self.null_cursor == "include":
            have_null = {self.key(r) for r in self.table if r.get(c) is None}
            for r in nulls:
                if self.key(r) in have_null:
                    out.deduplicated += 1
                else:
                    out.written.append(r)
        if backfill is None:
            loaded = [r[c] for r in out.written if r.get(c) is not None]
            if loaded:
                top = max(loaded)
                out.watermark_after = top if self.watermark is None else max(self.watermark, top)
        if not out.written:
            out.status = "no_changes"
        else:
            out.run = self.run + 1
        return out

    def apply(self, out: Outcome) -> None:
        if out.status != "committed":
            return
        self.table.extend(out.written)
        self.watermark = out.watermark_after
        self.run = out.run

    def step(self, source: Sequence[dict], **kw) -> Outcome:
        out = self.plan(source, **kw)
        self.apply(out)
        return out

    def reset(self) -> None:
        self.watermark = None


class AppendModel:
    """append: files not loaded before are appended, each exactly once."""

    def __init__(self):
        self.loaded: set[str] = set()
        self.table: list[dict] = []
        self.run = 0

    def plan(self, files: dict[str, Sequence[dict]]) -> Outcome:
        new = sorted(n for n in files if n not in self.loaded)
        rows = [r for n in new for r in files[n]]
        out = Outcome(status="committed" if new else "no_changes", rows_read=len(rows),
                      written=rows, run=self.run + (1 if new else 0), files_read=len(new))
        out.new_files = new  # type: ignore[attr-defined]
        return out

    def apply(self, out: Outcome) -> None:
        if out.status == "committed":
            self.loaded.update(out.new_files)  # type: ignore[attr-defined]
            self.table.extend(out.written)
            self.run = out.run

    def step(self, files: dict[str, Sequence[dict]]) -> Outcome:
        out = self.plan(files)
        self.apply(out)
        return out

    def reset(self) -> None:
        self.loaded = set()


def fingerprint(paths: Iterable[pathlib.Path]) -> tuple:
    """What full_refresh compares: the files' paths, sizes and modification times."""
    return tuple(sorted((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in paths))


class FullRefreshModel:
    """full_refresh: the table becomes the source whenever the source's fingerprint changed."""

    def __init__(self):
        self.table: list[dict] = []
        self.fingerprint: tuple | None = None
        self.run = 0

    def plan(self, rows: Sequence[dict], files: Iterable[pathlib.Path]) -> Outcome:
        fp = fingerprint(files)
        changed = fp != self.fingerprint
        out = Outcome(status="committed" if changed else "no_changes",
                      rows_read=len(rows), written=list(rows) if changed else [],
                      run=self.run + (1 if changed else 0))
        out.fp = fp  # type: ignore[attr-defined]
        return out

    def apply(self, out: Outcome) -> None:
        if out.status == "committed":
            self.table = list(out.written)
            self.fingerprint = out.fp  # type: ignore[attr-defined]
            self.run = out.run

    def step(self, rows: Sequence[dict], files: Iterable[pathlib.Path]) -> Outcome:
        out = self.plan(rows, files)
        self.apply(out)
        return out


# ---------------------------------------------------------------------------------------
# Checking a run against the model


def check_report(
    report: dict,
    out: Outcome,
    *,
    table: pathlib.Path,
    prev_version: int | None,
    kind: str | None = None,
    exact_skipped: bool = True,
    exact_read: bool = True,
    status: str | None = None,
    skip: Iterable[str] = (),
) -> int:
    """Assert the report agrees with the model's outcome and the log; return the version.

    A committed run adds exactly one commit (the next version) and reports it; a run that
    commits nothing reports the current version, which does not move.
    """
    want: dict[str, Any] = {
        "status": status or out.status,
        "rows_written": out.rows_written,
        "run": out.run,
    }
    if exact_read:
        want["rows_read"] = out.rows_read
    if kind is not None:
        want["rows_deduplicated"] = out.deduplicated
        if exact_skipped:
            want["rows_skipped_watermark"] = out.skipped
    if out.files_read is not None:
        want["files_read"] = out.files_read
    if out.prunable and exact_read:
        # Files holding only rows the run cannot load may go unread: accept the counts of
        # any subset of them left out (the same subset for both counters).
        for total, valued in _subset_sums(out.prunable):
            if (report.get("rows_read") == out.rows_read - total and (
                    not (kind is not None and exact_skipped)
                    or report.get("rows_skipped_watermark") == out.skipped - valued)):
                want["rows_read"] = out.rows_read - total
                if kind is not None and exact_skipped:
                    want["rows_skipped_watermark"] = out.skipped - valued
                break
    got = {k: report.get(k) for k in want}
    if kind is not None:
        for field, value in (("watermark_before", out.watermark_before),
                             ("watermark_after", out.watermark_after)):
            try:
                got[field] = parse_watermark(report.get(field), kind)
            except (ValueError, TypeError) as exc:
                raise AssertionError(f"report {field} {report.get(field)!r} does not parse: "
                                     f"{exc}\nreport: {report}") from None
            want[field] = value
    for field in skip:
        want.pop(field, None)
    bad = {k: {"got": got[k], "want": want[k]} for k in want if got[k] != want[k]}
    assert not bad, f"report differs from the model: {bad}\nfull report: {report}"

    latest = latest_version(table)
    if want["status"] == "committed":
        assert latest is not None, f"status committed but {table} has no commit"
        if prev_version is not None:
            assert latest == prev_version + 1, (
                f"a committed run should add one commit: log went {prev_version} -> {latest}"
            )
        assert report.get("table_version") == latest, (
            f"report table_version {report.get('table_version')} != latest commit {latest}"
        )
    elif want["status"] in ("no_changes", "dry_run"):
        assert latest == prev_version, (
            f"status {want['status']} but the log moved: {prev_version} -> {latest}"
        )
        if prev_version is not None:
            assert report.get("table_version") == prev_version, (
                f"report table_version {report.get('table_version')} != current {prev_version}"
            )
    return latest


def _subset_sums(items: Sequence[tuple[int, int]]) -> list[tuple[int, int]]:
    """Element-wise sums of every subset of ``items`` (the empty one first)."""
    sums = [(0, 0)]
    for a, b in items:
        sums += [(x + a, y + b) for x, y in sums]
    return sums


def check_state(table: pathlib.Path, name: str, *, run: int, kind: str | None = None,
                watermark: Any = None, loaded: Iterable[str] | None = None,
                strategy: str | None = None) -> dict:
    """`inlet state` for pipeline ``name`` agrees with the model; returns that entry."""
    st = state(table)
    assert name in st, f"inlet state has no entry for {name!r}: {st}"
    entry = st[name]
    assert entry.get("pipeline") == name, f"state entry names {entry.get('pipeline')!r}: {entry}"
    assert entry.get("run") == run, f"state run {entry.get('run')} != model {run}: {entry}"
    if strategy is not None:
        assert entry.get("strategy") == strategy, f"state strategy: {entry}"
    if kind is not None:
        got = parse_watermark(entry.get("watermark"), kind)
        assert got == watermark, f"state watermark {got!r} != model {watermark!r}: {entry}"
    if loaded is not None:
        files = entry.get("files")
        assert isinstance(files, dict), f"state files is not an object: {entry}"
        names = sorted(pathlib.PurePath(f).name for f in files)
        assert names == sorted(loaded), f"state files {names} != model {sorted(loaded)}"
        for name, (size, _mtime, sha) in files.items():
            assert isinstance(size, int) and size >= 0 and len(sha) == 64, (name, files)
    return entry


def without_paths(line: str, *paths: os.PathLike | str) -> str:
    """``line`` with the given path strings blanked (so digits in tmp paths do not count)."""
    for p in sorted((str(p) for p in paths), key=len, reverse=True):
        line = line.replace(p, "<path>")
    return line


def has_number(line: str, n: int) -> bool:
    """``n`` appears in ``line`` as a whole number (not part of a longer one)."""
    return re.search(rf"(?<!\d){n}(?!\d)", line) is not None


# ---------------------------------------------------------------------------------------
# A pipeline under test: its files, its model, and checks after every run


class Cursor:
    """The cursor column of a watermark test: a timestamp (T0 + n hours) or an integer n."""

    COLUMNS = {"ts": ("ts", "timestamp"), "int": ("seq", "long"), "date": ("d", "date")}

    def __init__(self, kind: str):
        self.kind = kind
        self.column, ctype = self.COLUMNS[kind]
        self.schema = {"id": "long", self.column: ctype, "v": "string"}

    def at(self, n: float) -> Any:
        if self.kind == "ts":
            return hours(n)
        if self.kind == "date":
            return T0.date() + datetime.timedelta(days=n)
        return n

    def span(self, n: float) -> Any:
        """A length of ``n`` cursor units, as the model computes with it."""
        if self.kind == "ts":
            return datetime.timedelta(hours=n)
        if self.kind == "date":
            return datetime.timedelta(days=n)
        return n

    def duration(self, n: int) -> Any:
        """The same length as written in the YAML file."""
        return {"ts": f"{n}h", "date": f"{n}d"}.get(self.kind, n)

    def row(self, ident: int, n: float | None, **extra: Any) -> dict:
        r = {"id": ident, self.column: None if n is None else self.at(n), "v": f"v{ident}"}
        r.update(extra)
        return r


class Rig:
    """One pipeline in ``root``: source files in root/src, table root/table, YAML
    root/pipelines.yaml, and its reference model. ``run`` runs inlet and checks the
    report, the log version, the table's rows and ``inlet state`` against the model."""

    def __init__(self, root: pathlib.Path, config: dict, model: Any, schema: dict,
                 *, kind: str | None = None):
        self.root = pathlib.Path(root)
        self.src = self.root / "src"
        self.table = self.root / "table"
        self.yaml = self.root / "pipelines.yaml"
        self.config = config
        self.name = config["name"]
        self.strategy = config["strategy"]["type"]
        self.model = model
        self.schema = schema
        self.kind = kind
        self.ext = config["source"].get("format") or "csv"
        self.files: dict[str, list[dict]] = {}
        self.version: int | None = None
        self.src.mkdir(parents=True, exist_ok=True)
        self.write_config()

    def write_config(self) -> None:
        write_pipelines(self.yaml, self.config)

    def add(self, fname: str, rows: Sequence[dict], **kw: Any) -> pathlib.Path:
        self.files[fname] = list(rows)
        return write_source(self.src / fname, rows, schema=self.schema, **kw)

    def remove(self, fname: str) -> None:
        del self.files[fname]
        (self.src / fname).unlink()

    def source_rows(self) -> list[dict]:
        return [r for name in sorted(self.files) for r in self.files[name]]

    def plan(self, *, now: Any = None, backfill: Any = None) -> Outcome:
        if self.strategy == "append":
            return self.model.plan(self.files)
        if self.strategy == "full_refresh":
            return self.model.plan(self.source_rows(), [self.src / n for n in self.files])
        out = self.model.plan(self.source_rows(), now=now, backfill=backfill)
        c = self.model.cursor
        for name in sorted(self.files):
            rows = self.files[name]
            nulls = sum(1 for r in rows if r.get(c) is None)
            if not any(id(r) in out.considered for r in rows) and (
                    nulls == 0 or self.model.null_cursor == "exclude"):
                out.prunable.append((len(rows), len(rows) - nulls))
        return out

    def run_args(self, backfill: Any) -> list[str]:
        if backfill is None:
            return []
        return ["--from", cursor_text(backfill[0]), "--to", cursor_text(backfill[1])]

    def run(self, *args: Any, now: Any = None, backfill: Any = None,
            exact_skipped: bool = True, context: str = "") -> dict:
        out = self.plan(now=now, backfill=backfill)
        res = run(self.yaml, *self.run_args(backfill), *args)
        report = res.report
        assert report.get("pipeline") == self.name, f"report names {report.get('pipeline')!r}"
        assert report.get("strategy") == self.strategy, f"report strategy: {report}"
        self.version = check_report(
            report, out, table=self.table, prev_version=self.version,
            kind=self.kind if self.strategy == "watermark" else None,
            exact_skipped=exact_skipped,
            exact_read=not (self.strategy == "full_refresh" and out.status == "no_changes"),
        )
        self.model.apply(out)
        self.check(context or f"after a run with status {out.status}")
        return report

    def refuse(self, *args: Any, context: str = "refused run") -> str:
        """Run, expect a clean one-line refusal, and that nothing changed."""
        before = snapshot_log(self.table)
        line = run_refused(self.yaml, *args)
        assert_log_unchanged(self.table, before, context)
        self.check(f"after a {context}")
        return line

    def dry_run(self, *, now: Any = None, backfill: Any = None) -> dict:
        """`--dry-run`: the report shows what a run would write; nothing is committed."""
        out = self.plan(now=now, backfill=backfill)
        before = snapshot_log(self.table)
        report = run(self.yaml, "--dry-run", *self.run_args(backfill)).report
        check_report(
            report, out, table=self.table, prev_version=self.version,
            kind=self.kind if self.strategy == "watermark" else None,
            status="dry_run", skip=("run", "watermark_after"),
        )
        assert_log_unchanged(self.table, before, "dry run")
        self.check("after a dry run")
        return report

    def crash(self, point: str, *, now: Any = None, backfill: Any = None) -> None:
        """Run with INLET_CRASH_AT=point, then check that the crash left either nothing
        (before the log write) or exactly the run's commit (after it)."""
        out = self.plan(now=now, backfill=backfill)
        assert out.status == "committed", "test setup: crash a run that has something to commit"
        before = committed_log(self.table)
        state_before = state(self.table) if self.version is not None else None
        run_crashing(self.yaml, point, *self.run_args(backfill))
        after = committed_log(self.table)
        if point == "commit.after_log_write":
            added = sorted(after.keys() - before.keys())
            assert len(added) == 1 and all(before[k] == after[k] for k in before), (
                f"crash after the log write: expected one new commit, got added {added}"
            )
            self.model.apply(out)
            self.version = latest_version(self.table)
            self.check(f"after a crash at {point} (the commit had landed)")
        else:
            assert after == before, (
                f"crash at {point} changed the committed log: "
                f"added {sorted(after.keys() - before.keys())}"
            )
            if state_before is not None:
                assert state(self.table) == state_before, f"crash at {point} changed the state"
            self.check(f"after a crash at {point} (nothing committed)")

    def check(self, context: str) -> None:
        if self.version is None:
            assert table_absent(self.table), f"{context}: the table exists but nothing committed"
            return
        assert_table(self.table, self.model.table, self.schema, context)
        entry = check_state(
            self.table, self.name, run=self.model.run, strategy=self.strategy,
            kind=self.kind if self.strategy == "watermark" else None,
            watermark=getattr(self.model, "watermark", None),
            loaded=self.model.loaded if self.strategy == "append" else None,
        )
        if self.strategy == "watermark":
            assert entry.get("cursor") == self.config["strategy"]["cursor"], entry
        if self.strategy == "full_refresh" and self.model.run:
            assert entry.get("source_fingerprint"), f"no source_fingerprint in state: {entry}"


def watermark_rig(root: pathlib.Path, kind: str, *, name: str = "wm", fmt: str = "csv",
                  keys: Sequence[str] | None = ("id",), inclusive: bool = False,
                  lookback: int | None = None, safety_margin: str | None = None,
                  margin_model: Any = None, null_cursor: str | None = None,
                  quality: dict | None = None) -> Rig:
    """A watermark pipeline over root/src/*.<fmt> with the cursor of ``kind``."""
    cur = Cursor(kind)
    strategy: dict[str, Any] = {"type": "watermark", "cursor": cur.column}
    if inclusive:
        strategy["inclusive"] = True
    if lookback is not None:
        strategy["lookback"] = cur.duration(lookback)
    if safety_margin is not None:
        strategy["safety_margin"] = safety_margin
    if null_cursor is not None:
        strategy["null_cursor"] = null_cursor
    config = pipeline(name, path=f"src/*.{fmt}", fmt=fmt, dest="table", schema=cur.schema,
                      keys=keys, strategy=strategy, quality=quality)
    model = WatermarkModel(cur.column, list(cur.schema), keys=keys, inclusive=inclusive,
                           lookback=None if lookback is None else cur.span(lookback),
                           safety_margin=margin_model, null_cursor=null_cursor or "fail")
    rig = Rig(root, config, model, cur.schema, kind=kind)
    rig.cursor = cur  # type: ignore[attr-defined]
    return rig


TS_SCHEMA = {"id": "long", "ts": "timestamp", "v": "string"}


def simple_rows(start: int, count: int, *, hour0: float = 0) -> list[dict]:
    """``count`` rows with ids start.. and timestamps T0 + hour0 + i hours."""
    return [{"id": i, "ts": hours(hour0 + k), "v": f"v{i}"}
            for k, i in enumerate(range(start, start + count))]


def append_rig(root: pathlib.Path, *, name: str = "ap", fmt: str = "csv",
               keys: Sequence[str] | None = ("id",), quality: dict | None = None,
               schema: dict | None = None) -> Rig:
    schema = schema or TS_SCHEMA
    config = pipeline(name, path=f"src/*.{fmt}", fmt=fmt, dest="table", schema=schema,
                      keys=keys, strategy={"type": "append"}, quality=quality)
    return Rig(root, config, AppendModel(), schema)


def full_refresh_rig(root: pathlib.Path, *, name: str = "fr", fmt: str = "csv",
                     keys: Sequence[str] | None = ("id",), quality: dict | None = None) -> Rig:
    config = pipeline(name, path=f"src/*.{fmt}", fmt=fmt, dest="table", schema=TS_SCHEMA,
                      keys=keys, strategy={"type": "full_refresh"}, quality=quality)
    return Rig(root, config, FullRefreshModel(), TS_SCHEMA)
