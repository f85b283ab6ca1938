"""The randomized crash campaign: SIGKILL at random moments, nothing lost, nothing doubled.

The named crash points (INLET_CRASH_AT) prove the commit protocol at the places we chose.
This campaign does what LevelDB's and RocksDB's crash tests do: it kills inlet at moments it
did not choose, during every strategy, a stream, the row commands and the maintenance
commands, on Delta and Iceberg tables, on local disk and on MinIO, and checks every table
against a reference model after each kill and after the re-run that follows.

A workload is a sequence of rounds. Each round changes the source (new files, a rewritten
extract, change events, messages on a topic) or is a maintenance command, and the model says
what the table holds before and after it. A round is run up to three times with a kill
(each attempt may land in the recovery of the previous one), then once to completion:

* a kill at a random *step*: INLET_CRASH_AFTER=N, N drawn from 1 to the number of steps the
  last complete run of the workload took (a step is one write that changes the world: a
  data file opened, a batch handed to Parquet, a file closed, put or deleted, a named crash
  point; src/inlet/common/fault.h);
* or a kill at a random *time*: SIGKILL from here after a delay drawn from 0 to the last
  complete run's duration, which lands anywhere: in start-up, reading, Parquet encoding,
  an HTTP request to MinIO, the middle of a SQLite or catalog commit.

After a kill the table must read exactly as the model before the round or after it, in
every peer reader; after the completing run, exactly as after it. Rows are compared as
multisets, so one row doubled or lost fails. Only kills that landed (the process died of
SIGKILL) are counted.

`tests/test_crash_campaign.py` runs it in `make test` (about 100 kills);
`make crash` runs the long campaign (INLET_CRASH_KILLS, default 1000) with Spark reading
every local table at the end of its workload.
"""
from __future__ import annotations

import collections
import dataclasses
import datetime
import json
import os
import pathlib
import random
import signal
import subprocess
import tempfile
import time
from typing import Any, Callable, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

import oracle
import pipeline_support as ps
import support

UTC = datetime.timezone.utc
T0 = datetime.datetime(2025, 1, 1, tzinfo=UTC)

# Every table of the campaign has these columns (a cdc table adds its sequence column).
SCHEMA = {"id": "long", "name": "string", "amount": "double", "ts": "timestamp"}

TABLE_FORMATS = {
    # name: (pipeline destination fields, `inlet write` arguments)
    "delta": ({}, []),
    "delta_dv": ({"properties": {"delta.enableDeletionVectors": "true"}},
                 ["--property", "delta.enableDeletionVectors=true"]),
    "iceberg": ({"format": "iceberg"}, ["--format", "iceberg"]),
    "iceberg_mor": ({"format": "iceberg", "properties": dict(ps.ICEBERG_MERGE_ON_READ)},
                    ["--format", "iceberg"] + [a for k, v in ps.ICEBERG_MERGE_ON_READ.items()
                                              for a in ("--property", f"{k}={v}")]),
}


def is_iceberg(table_format: str) -> bool:
    return table_format.startswith("iceberg")


@dataclasses.dataclass
class Tally:
    """What a campaign did, for its report and the README."""
    kills: int = 0            # runs that died of SIGKILL
    step_kills: int = 0
    time_kills: int = 0
    missed: int = 0           # a kill drawn after the run had ended: it completed
    rounds: int = 0
    checks: int = 0           # table reads compared with the model
    by_workload: dict = dataclasses.field(default_factory=lambda: collections.Counter())

    def add(self, other: "Tally") -> None:
        for f in ("kills", "step_kills", "time_kills", "missed", "rounds", "checks"):
            setattr(self, f, getattr(self, f) + getattr(other, f))
        self.by_workload.update(other.by_workload)

    def summary(self) -> str:
        return (f"{self.kills} kills ({self.step_kills} at a random step, {self.time_kills} at a "
                f"random time; {self.missed} drawn after the run ended), {self.rounds} rounds, "
                f"{self.checks} table reads checked against the model: 0 rows lost, 0 doubled")


# ---------------------------------------------------------------------------------------
# Rows and the model


def row(ident: int, amount: float, hour: float, name: str | None = None) -> dict:
    return {"id": ident, "name": name if name is not None else f"n{ident}", "amount": float(amount),
            "ts": T0 + datetime.timedelta(hours=hour)}


def canonical(rows: Sequence[dict], columns: Sequence[str], schema: dict) -> list[tuple]:
    table = ps.to_arrow(list(rows), {c: schema[c] for c in columns})
    return sorted(oracle.canonical_rows(table, columns), key=repr)


def canonical_of(table: pa.Table, columns: Sequence[str]) -> list[tuple]:
    missing = [c for c in columns if c not in table.column_names]
    assert not missing, f"the table lacks columns {missing}: it has {table.column_names}"
    return sorted(oracle.canonical_rows(table.select(list(columns)), columns), key=repr)


def describe_difference(got: list[tuple], want: list[tuple]) -> str:
    g, w = collections.Counter(got), collections.Counter(want)
    extra, lost = g - w, w - g
    doubled = {k: v for k, v in extra.items() if k in w}
    return (f"{len(got)} rows, expected {len(want)}: {sum(lost.values())} lost "
            f"(e.g. {list(lost)[:3]}), {sum(extra.values())} extra (e.g. {list(extra)[:3]}), "
            f"doubled: {list(doubled)[:3]}")


# ---------------------------------------------------------------------------------------
# Where the tables are, and who reads them


class Place:
    """A table's storage: a local directory or a MinIO bucket (table_place.TablePlace)."""

    def __init__(self, place: Any):
        self.p = place

    @property
    def kind(self) -> str:
        return self.p.kind

    def uri(self, name: str) -> str:
        return self.p.uri(name)

    def env(self) -> dict[str, str]:
        return dict(self.p.env)

    def destination(self, name: str, table_format: str) -> dict:
        """A pipeline's destination for the table."""
        dest_extra, _ = TABLE_FORMATS[table_format]
        return {"path": self.uri(name), **json.loads(json.dumps(dest_extra))}

    def exists(self, name: str, table_format: str) -> bool:
        """Whether the table has a first commit (a run killed before it leaves none)."""
        if is_iceberg(table_format):
            return bool(self.iceberg_versions(name))
        return any(rel.rsplit("/", 1)[-1][:20].isdigit() and rel.endswith(".json")
                   for rel in self.p.files(name, "_delta_log"))

    def iceberg_versions(self, name: str) -> dict[int, str]:
        versions = {}
        for rel in self.p.files(name, "metadata"):
            base = rel.rsplit("/", 1)[-1]
            if base.startswith("v") and base.endswith(".metadata.json") and base[1:-14].isdigit():
                versions[int(base[1:-14])] = rel
        return versions

    def iceberg_current(self, name: str) -> str:
        versions = self.iceberg_versions(name)
        assert versions, f"no metadata file in {self.uri(name)}"
        return f"{self.uri(name)}/{versions[max(versions)]}"

    def readers(self, table_format: str) -> dict[str, Callable[[str], pa.Table]]:
        if not is_iceberg(table_format):
            return {"deltalake": self.p.read_deltalake, "duckdb": self.p.read_duckdb}
        out = {"pyiceberg": self.read_pyiceberg}
        if self.kind == "local":
            out["duckdb"] = lambda name: oracle.read_duckdb_iceberg(pathlib.Path(self.uri(name)))
        else:
            out["duckdb"] = lambda name: oracle.read_duckdb_iceberg_metadata(
                self.iceberg_current(name), s3=self.p.duckdb_s3)
        return out

    def read_pyiceberg(self, name: str) -> pa.Table:
        from pyiceberg.table import StaticTable
        props = {}
        if self.p.minio:
            m = self.p.minio
            props = {"s3.endpoint": m.endpoint, "s3.access-key-id": m.access_key,
                     "s3.secret-access-key": m.secret_key, "s3.region": "us-east-1"}
        return StaticTable.from_metadata(self.iceberg_current(name), properties=props).scan().to_arrow()


# ---------------------------------------------------------------------------------------
# Workloads


@dataclasses.dataclass
class Round:
    args: list          # the inlet command
    after: list[dict]   # the model's rows once the round is done
    prepare: Callable[[], None] | None = None   # changes the source (run once, before the kills)
    kill: bool = True   # false: a set-up step, run once to completion
    # false: running the command again after it committed would apply it twice (`inlet
    # write` appends); after a kill, the round completes only if the table is as before.
    idempotent: bool = True
    # A stream commits batch by batch: after a kill the table may hold any prefix of the
    # round's changes, so the round lists the model after each (None: before or after only).
    prefixes: list[list[dict]] | None = None
    # An initial snapshot copied in chunks: after a kill the table may hold any part of
    # `after`, each row at most once (a snapshot taken again may hold less than before).
    partial: bool = False


class Workload:
    """A table in one format and place, and the rounds that change it. Subclasses build the
    rounds; the model is the list of rows the table holds after each."""

    kind = "?"
    columns: Sequence[str] = tuple(SCHEMA)
    schema = SCHEMA

    def __init__(self, place: Place, table_format: str, work: pathlib.Path, rng: random.Random):
        self.place, self.table_format, self.work, self.rng = place, table_format, work, rng
        self.name = f"{self.kind}_{table_format}"
        self.src = work / "src"
        self.src.mkdir(parents=True, exist_ok=True)
        self.yaml = work / "pipelines.yaml"
        self.rows: list[dict] = []      # the model: the table now
        self.next_id = 0

    @property
    def label(self) -> str:
        return f"{self.kind}/{self.table_format}/{self.place.kind}"

    def uri(self) -> str:
        return self.place.uri(self.name)

    def env(self) -> dict[str, str]:
        """The environment inlet runs in (the place's credentials, a source's)."""
        return self.place.env()

    def ids(self, n: int) -> list[int]:
        out = list(range(self.next_id, self.next_id + n))
        self.next_id += n
        return out

    def pipeline(self, source: dict, strategy: dict, keys: Sequence[str] | None = ("id",),
                 schema: dict | None = None) -> None:
        dest = self.place.destination(self.name, self.table_format)
        if keys:
            dest["keys"] = list(keys)
        src = dict(source)
        src.setdefault("schema", dict(schema or self.schema))
        ps.write_pipelines(self.yaml, {"name": "p", "source": src, "destination": dest,
                                       "strategy": strategy})

    def run_args(self) -> list:
        return ["run", self.yaml, "--json"]

    def write_file(self, fname: str, rows: Sequence[dict], schema: dict | None = None) -> None:
        ps.write_source(self.src / fname, rows, schema=schema or self.schema)

    def replace_extract(self, i: int, rows: Sequence[dict]) -> None:
        """The source becomes one Parquet extract of rows (full refresh, snapshot diff)."""
        for old in self.src.glob("*.parquet"):
            old.unlink()
        self.write_file(f"extract_{i:03d}.parquet", rows)

    def rounds(self, n: int):
        """Yields n rounds (a generator: each is built when the previous one is done)."""
        raise NotImplementedError


class Append(Workload):
    """New files, appended: each round adds two files of new rows."""
    kind = "append"

    def rounds(self, n):
        self.pipeline({"type": "files", "path": str(self.src / "*.csv"), "format": "csv"},
                      {"type": "append"}, keys=None)
        for i in range(n):
            files = {f"r{i:03d}_{k}.csv": [row(j, self.rng.random() * 100, j / 10)
                                           for j in self.ids(self.rng.randint(20, 60))]
                     for k in range(2)}
            after = self.rows + [r for rows in files.values() for r in rows]

            def prepare(files=files):
                for fname, rows in files.items():
                    self.write_file(fname, rows)
            yield Round(self.run_args(), after, prepare)


class Watermark(Workload):
    """A timestamp watermark: each round's file has new rows past the watermark and some
    late rows behind it, which must not load."""
    kind = "watermark"

    def rounds(self, n):
        self.pipeline({"type": "files", "path": str(self.src / "*.ndjson"), "format": "ndjson"},
                      {"type": "watermark", "cursor": "ts"})
        hour = 0.0
        for i in range(n):
            watermark, fresh = hour, []
            for j in self.ids(self.rng.randint(20, 60)):
                hour += self.rng.random()
                fresh.append(row(j, self.rng.random() * 100, hour))
            late = [row(j, 1.0, self.rng.random() * watermark) for j in self.ids(5)] if self.rows else []
            after = self.rows + fresh

            def prepare(i=i, rows=fresh + late):
                self.write_file(f"r{i:03d}.ndjson", rows)
            yield Round(self.run_args(), after, prepare)


class FullRefresh(Workload):
    """One extract, replaced every round: the table is exactly the latest."""
    kind = "full_refresh"

    def rounds(self, n):
        self.pipeline({"type": "files", "path": str(self.src / "*.parquet"), "format": "parquet"},
                      {"type": "full_refresh"}, keys=None)
        for i in range(n):
            rows = [row(j, self.rng.random() * 100, j / 10) for j in self.ids(self.rng.randint(30, 120))]

            yield Round(self.run_args(), rows, lambda i=i, rows=rows: self.replace_extract(i, rows))


class Merge(Workload):
    """Upserts by key with deletes: each round updates some keys, deletes some, inserts new."""
    kind = "merge"
    file_schema = {**SCHEMA, "gone": "boolean"}

    def rounds(self, n):
        self.pipeline({"type": "files", "path": str(self.src / "*.csv"), "format": "csv"},
                      {"type": "merge", "mode": "upsert", "delete_flag": "gone"},
                      schema=self.file_schema)
        for i in range(n):
            table = {r["id"]: r for r in self.rows}
            batch = []
            for k in self.rng.sample(sorted(table), min(len(table), 15)):
                batch.append({**row(k, self.rng.random() * 100, i), "gone": False})
            for k in self.rng.sample(sorted(table), min(len(table), 5)):
                if all(b["id"] != k for b in batch):
                    batch.append({**row(k, 0, i), "gone": True})
            batch += [{**row(j, self.rng.random() * 100, i), "gone": False}
                      for j in self.ids(self.rng.randint(10, 40))]
            for b in batch:
                if b["gone"]:
                    table.pop(b["id"], None)
                else:
                    table[b["id"]] = {c: b[c] for c in SCHEMA}

            def prepare(i=i, batch=batch):
                self.write_file(f"r{i:03d}.csv", batch, self.file_schema)
            yield Round(self.run_args(), list(table.values()), prepare)


class Cdc(Workload):
    """Change events by key with a sequence, out of order within and across rounds (late
    events that must lose to what the table has, and updates after a delete)."""
    kind = "cdc"
    columns = ("id", "name", "amount", "ts", "seq")
    schema = {**SCHEMA, "seq": "long"}
    file_schema = {**SCHEMA, "seq": "long", "op": "string"}

    def rounds(self, n):
        self.pipeline({"type": "files", "path": str(self.src / "*.ndjson"), "format": "ndjson"},
                      {"type": "cdc", "sequence_by": "seq", "operation_column": "op"},
                      schema=self.file_schema)
        latest: dict[int, dict] = {}    # key -> the greatest-sequence event applied so far
        seq, used = 1000, set()
        keys = self.ids(60)
        for i in range(n):
            events = []
            for _ in range(self.rng.randint(30, 90)):
                k = self.rng.choice(keys)
                seq += 10
                s = seq
                # A late event: a sequence older than some already applied (sequences are
                # unique, so which event wins never rests on a tie).
                late = self.rng.random() < 0.2
                while late and (s == seq or s in used):
                    s = seq - 10 * self.rng.randint(1, 40) + self.rng.randint(1, 9)
                used.add(s)
                op = self.rng.choice(["u", "u", "c", "d"])
                events.append({**row(k, self.rng.random() * 100, s / 100), "seq": s, "op": op})
            for e in events:
                cur = latest.get(e["id"])
                if cur is None or e["seq"] > cur["seq"]:
                    latest[e["id"]] = e
            after = [{c: e[c] for c in self.columns} for e in latest.values() if e["op"] != "d"]

            def prepare(i=i, events=events):
                self.write_file(f"r{i:03d}.ndjson", events, self.file_schema)
            yield Round(self.run_args(), after, prepare)


class SnapshotDiff(Workload):
    """A full extract diffed by key: changed rows updated, missing keys deleted."""
    kind = "snapshot_diff"

    def rounds(self, n):
        self.pipeline({"type": "files", "path": str(self.src / "*.parquet"), "format": "parquet"},
                      {"type": "snapshot_diff", "deletes": "delete"})
        extract = {j: row(j, j, j / 10) for j in self.ids(80)}
        for i in range(n):
            if i:
                for k in self.rng.sample(sorted(extract), 10):
                    extract[k] = row(k, self.rng.random() * 100, i)
                for k in self.rng.sample(sorted(extract), 8):
                    del extract[k]
                for j in self.ids(self.rng.randint(5, 20)):
                    extract[j] = row(j, self.rng.random() * 100, i)
            rows = list(extract.values())

            yield Round(self.run_args(), rows, lambda i=i, rows=rows: self.replace_extract(i, rows))


class RowCommands(Workload):
    """`inlet delete` and `inlet update` on a table of many files."""
    kind = "row_commands"

    def rounds(self, n):
        for i in range(n):
            if not self.rows or i % 3 == 0:
                rows = [row(j, j % 100, j / 10) for j in self.ids(self.rng.randint(40, 100))]
                path = self.work / f"in{i}.parquet"
                pq.write_table(ps.to_arrow(rows, self.schema), path)
                _, write_args = TABLE_FORMATS[self.table_format]
                yield Round(["write", self.uri(), "--input", path, *write_args], self.rows + rows,
                            idempotent=False)
                continue
            lo = self.rng.choice(self.rows)["id"]
            hi = lo + self.rng.randint(3, 30)
            if i % 3 == 1:
                after = [r for r in self.rows if not lo <= r["id"] < hi]
                yield Round(["delete", self.uri(), "--where", f"id >= {lo} AND id < {hi}"], after)
            else:
                amount = float(self.rng.randint(1000, 2000))
                after = [{**r, "amount": amount} if lo <= r["id"] < hi else r for r in self.rows]
                yield Round(["update", self.uri(), "--where", f"id >= {lo} AND id < {hi}",
                             "--set", f"amount={amount}"], after)


class Maintenance(Workload):
    """Small appends, then optimize, checkpoint and vacuum, each killed: the rows never
    change, and each command's re-run finishes its job."""
    kind = "maintenance"

    def rounds(self, n):
        commands = ["optimize", "checkpoint", "vacuum"]
        for i in range(n):
            for k in range(3):
                rows = [row(j, j % 50, j / 10) for j in self.ids(self.rng.randint(5, 20))]
                path = self.work / f"in{i}_{k}.parquet"
                pq.write_table(ps.to_arrow(rows, self.schema), path)
                _, write_args = TABLE_FORMATS[self.table_format]
                after = self.rows + rows
                yield Round(["write", self.uri(), "--input", path, *write_args], after, kill=False)
            command = commands[i % len(commands)]
            args = [command, self.uri()]
            if command == "vacuum":
                args += ["--retention-hours", "0", "--force"]
            yield Round(args, self.rows)


class KafkaStream(Workload):
    """`inlet stream` from a Kafka topic, upserting by key: each round produces messages;
    the stream commits batches until the topic is idle."""
    kind = "kafka"
    columns = ("id", "name", "amount")
    schema = {"id": "long", "name": "string", "amount": "double"}

    def __init__(self, *a, kafka: Any, **kw):
        super().__init__(*a, **kw)
        self.kafka = kafka
        self.topic = kafka.create_topic(f"crash-{self.table_format}-{self.place.kind}-{os.getpid()}-"
                                        f"{self.rng.randrange(1 << 30)}")

    def rounds(self, n):
        dest = {**self.place.destination(self.name, self.table_format), "keys": ["id"]}
        source = {"type": "kafka", "brokers": self.kafka.bootstrap, "topic": self.topic,
                  "group": f"g-{self.topic}", "schema": {"id": "long", "name": "string", "amount": "double"},
                  "properties": {"session.timeout.ms": "6000", "heartbeat.interval.ms": "1000"}}
        ps.write_pipelines(self.yaml, {"name": "p", "source": source, "destination": dest,
                                       "strategy": {"type": "merge"},
                                       "processing": {"flush_rows": 40, "flush_interval": "200ms"}})
        table: dict[int, dict] = {}
        keys = self.ids(80)
        for i in range(n):
            messages, prefixes = [], [list(table.values())]
            for _ in range(self.rng.randint(60, 200)):
                k = self.rng.choice(keys)
                value = {"id": k, "name": f"v{i}_{len(messages)}", "amount": self.rng.random() * 100}
                table[k] = value
                messages.append((str(k).encode(), json.dumps(value).encode()))
                prefixes.append(list(table.values()))

            def prepare(messages=messages):
                self.kafka.produce(self.topic, messages)
            yield Round(["stream", self.yaml, "--json", "--idle-exit", "2"], list(table.values()),
                        prepare, prefixes=prefixes)


class PgCdc(Workload):
    """`inlet stream --catch-up` following a PostgreSQL table through a replication slot
    (pgoutput), cdc strategy. The first round is the initial snapshot, copied in chunks:
    killed mid-copy, it goes on where it stopped (or takes it again), so the table may hold
    part of it, never a row twice. Each later round commits transactions of single-row
    inserts, updates, key changes and deletes, now and then a TRUNCATE; the stream applies
    them transaction by transaction, so after a kill the table is the source as of one of
    the round's transaction ends.

    `pg_cdc_split` sets processing.max_transaction_rows to 5: a transaction with more
    changes goes to the table in parts, so after a kill the table may be the source as of
    any change (statements of one row each, so the order of changes is the order of the
    statements). `connection` points the stream elsewhere (a fault proxy); the model is
    always read through the database's own connection."""
    kind = "pg_cdc"
    columns = ("id", "name", "amount")
    schema = {"id": "long", "name": "string", "amount": "double"}
    max_transaction_rows: int | None = None

    def __init__(self, *a, db: Any, connection: str | None = None, **kw):
        super().__init__(*a, **kw)
        self.db = db
        self.connection = connection or db.uri
        db.sql("CREATE TABLE t (id bigint PRIMARY KEY, name text, amount double precision)")

    def env(self) -> dict[str, str]:
        return {**self.place.env(), **self.db.env}

    def rounds(self, n):
        dest = self.place.destination(self.name, self.table_format)
        processing = {"flush_rows": 25, "flush_bytes": 2048}
        if self.max_transaction_rows:
            processing["max_transaction_rows"] = self.max_transaction_rows
        source = {"type": "postgres_cdc", "connection": self.connection, "table": "t",
                  "slot": f"crash_{self.db.name}"}
        ps.write_pipelines(self.yaml, {"name": "p", "source": source, "destination": dest,
                                       "strategy": {"type": "cdc"}, "processing": processing})
        args = ["stream", self.yaml, "--catch-up", "--json"]
        table: dict[int, dict] = {}
        for j in self.ids(self.rng.randint(150, 400)):
            table[j] = {"id": j, "name": f"s{j}", "amount": self.rng.random() * 100}
        snapshot = list(table.values())

        def seed(rows=snapshot):
            with self.db.conn.cursor() as cur:
                cur.executemany("INSERT INTO t VALUES (%(id)s, %(name)s, %(amount)s)", rows)
        yield Round(args, snapshot, seed, partial=True)

        for i in range(1, n):
            transactions, prefixes = [], [list(table.values())]
            for t in range(self.rng.randint(2, 6)):
                statements = []
                if self.rng.random() < 0.05:
                    statements.append(("TRUNCATE t", ()))
                    table.clear()
                    if self.max_transaction_rows:
                        prefixes.append([])
                for _ in range(self.rng.randint(1, 12)):
                    op = self.rng.random() if table else 0.0
                    if op < 0.35:
                        j = self.ids(1)[0]
                        table[j] = {"id": j, "name": f"i{i}_{t}", "amount": self.rng.random() * 100}
                        statements.append(("INSERT INTO t VALUES (%s, %s, %s)",
                                           (j, table[j]["name"], table[j]["amount"])))
                    elif op < 0.75:
                        j = self.rng.choice(sorted(table))
                        table[j] = {**table[j], "name": f"u{i}_{t}", "amount": self.rng.random() * 100}
                        statements.append(("UPDATE t SET name = %s, amount = %s WHERE id = %s",
                                           (table[j]["name"], table[j]["amount"], j)))
                    elif op < 0.85:
                        old, new = self.rng.choice(sorted(table)), self.ids(1)[0]
                        table[new] = {**table.pop(old), "id": new}
                        statements.append(("UPDATE t SET id = %s WHERE id = %s", (new, old)))
                    else:
                        j = self.rng.choice(sorted(table))
                        del table[j]
                        statements.append(("DELETE FROM t WHERE id = %s", (j,)))
                    if self.max_transaction_rows:
                        prefixes.append(list(table.values()))
                transactions.append(statements)
                if not self.max_transaction_rows:
                    prefixes.append(list(table.values()))

            def prepare(transactions=transactions):
                for statements in transactions:
                    with self.db.conn.cursor() as cur:
                        cur.execute("BEGIN")
                        for sql, params in statements:
                            cur.execute(sql, params)
                        cur.execute("COMMIT")
            yield Round(args, list(table.values()), prepare, prefixes=prefixes)


class PgCdcSplit(PgCdc):
    kind = "pg_cdc_split"
    max_transaction_rows = 5


WORKLOADS = {c.kind: c for c in (Append, Watermark, FullRefresh, Merge, Cdc, SnapshotDiff,
                                  RowCommands, Maintenance, KafkaStream, PgCdc, PgCdcSplit)}


# ---------------------------------------------------------------------------------------
# The campaign


class Campaign:
    """Runs workloads round by round, killing each round's command at random moments."""

    def __init__(self, rng: random.Random, *, kills_per_round: tuple[int, int] = (1, 3),
                 log: Callable[[str], None] = lambda _: None):
        self.rng = rng
        self.kills_per_round = kills_per_round
        self.log = log
        self.tally = Tally()

    def check(self, w: Workload, allowed: list[list[dict]], context: str, at_least: int = 0) -> int:
        """The table, in every peer reader, is one of the allowed states (multisets of rows).
        Returns which (the same for every reader): of equal states (a row inserted, then
        deleted), the first at or after at_least."""
        wants = [canonical(rows, w.columns, w.schema) for rows in allowed]

        def which(got):
            same = [i for i, want in enumerate(wants) if want == got]
            return min([i for i in same if i >= at_least] or same)
        if not w.place.exists(w.name, w.table_format):
            assert any(not want for want in wants), f"{w.label} {context}: no table, expected rows"
            return which([])
        found = set()
        for reader, read in w.place.readers(w.table_format).items():
            try:
                got = canonical_of(read(w.name), w.columns)
            except oracle.OracleRefused as exc:
                raise AssertionError(f"{w.label} {context}: {reader} cannot read the table: {exc}") from exc
            self.tally.checks += 1
            if got in wants:
                found.add(which(got))
                continue
            g = collections.Counter(got)
            closest = min(wants, key=lambda want: sum(((g - collections.Counter(want))
                                                       + (collections.Counter(want) - g)).values()))
            raise AssertionError(f"{w.label} {context}: {reader} reads a state the model does not allow: "
                                 f"{describe_difference(got, closest)}")
        assert len(found) == 1, f"{w.label} {context}: the readers disagree"
        return found.pop()

    def check_part(self, w: Workload, whole: list[dict], context: str) -> None:
        """The table, in every peer reader, holds part of `whole` (a snapshot cut short):
        no row that is not in it, none twice."""
        if not w.place.exists(w.name, w.table_format):
            return
        want = collections.Counter(canonical(whole, w.columns, w.schema))
        for reader, read in w.place.readers(w.table_format).items():
            try:
                got = collections.Counter(canonical_of(read(w.name), w.columns))
            except oracle.OracleRefused as exc:
                raise AssertionError(f"{w.label} {context}: {reader} cannot read the table: {exc}") from exc
            self.tally.checks += 1
            extra = got - want
            assert not extra, (f"{w.label} {context}: {reader} reads rows the snapshot does not hold "
                               f"or holds them twice: {sum(extra.values())}, e.g. {list(extra)[:3]}")

    def attempt(self, w: Workload, args: list, env: dict, estimate: "Estimate") -> tuple[bool, str]:
        """One run of args with a kill drawn at random. Returns (killed, how)."""
        count_file = tempfile.NamedTemporaryFile(prefix="inlet-steps-", delete=False)
        count_file.close()
        env = dict(env, INLET_FAULT_COUNT=count_file.name)
        cmd = [str(support.inlet_binary()), *map(str, args)]
        by_step = self.rng.random() < 0.5
        started = time.monotonic()
        try:
            if by_step:
                n = self.rng.randint(1, max(1, estimate.steps))
                how = f"step {n} of ~{estimate.steps}"
                proc = subprocess.run(cmd, env=ps._environment(dict(env, INLET_CRASH_AFTER=str(n))),
                                      capture_output=True, text=True, timeout=300)
                rc, err = proc.returncode, proc.stderr
            else:
                delay = self.rng.uniform(0, estimate.seconds)
                how = f"{delay * 1000:.0f} ms of ~{estimate.seconds * 1000:.0f}"
                proc = subprocess.Popen(cmd, env=ps._environment(env), stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, text=True)
                try:
                    proc.wait(timeout=delay)
                except subprocess.TimeoutExpired:
                    proc.send_signal(signal.SIGKILL)
                _, err = proc.communicate(timeout=300)
                rc = proc.returncode
            if rc == -signal.SIGKILL:
                self.tally.kills += 1
                self.tally.step_kills += by_step
                self.tally.time_kills += not by_step
                self.tally.by_workload[w.label] += 1
                return True, how
            assert rc == 0, f"{w.label}: {' '.join(map(str, args[:2]))} failed ({how}): rc {rc}\n{err}"
            self.tally.missed += 1
            estimate.learn(count_file.name, time.monotonic() - started)
            return False, how
        finally:
            os.unlink(count_file.name)

    def run_workload(self, w: Workload, rounds: int) -> None:
        env = w.env()
        estimates: dict[str, Estimate] = collections.defaultdict(Estimate)
        before = list(w.rows)
        for i, rnd in enumerate(w.rounds(rounds)):
            estimate = estimates[rnd.args[0]]
            if rnd.prepare:
                rnd.prepare()
            allowed = rnd.prefixes if rnd.prefixes is not None else [before, rnd.after]
            # The first round calibrates: its length is what later kills are drawn from.
            done, reached = False, 0
            if rnd.kill:
                for k in range(self.rng.randint(*self.kills_per_round)):
                    killed, how = self.attempt(w, rnd.args, env, estimate)
                    context = (f"round {i} ({rnd.args[0]}), "
                               f"{'killed at ' if killed else 'completed, kill drawn at '}{how}")
                    # A run that completed is the round done; a killed one may be anywhere
                    # between, but never behind a state the table already reached.
                    if killed and rnd.partial:
                        self.check_part(w, rnd.after, context)
                        continue
                    state = self.check(w, allowed if killed else [rnd.after], context, reached)
                    if not killed:
                        state = len(allowed) - 1
                    assert state >= reached, f"{w.label} {context}: the table went back to an earlier state"
                    reached = state
                    done = not killed or (not rnd.idempotent and state == len(allowed) - 1)
                    if done:
                        break
            if done and not rnd.idempotent:
                w.rows = before = list(rnd.after)
                self.tally.rounds += 1
                continue
            # Then it completes.
            count_file = tempfile.NamedTemporaryFile(prefix="inlet-steps-", delete=False)
            count_file.close()
            started = time.monotonic()
            proc = support.run_inlet(*rnd.args, env=dict(env, INLET_FAULT_COUNT=count_file.name), check=False)
            elapsed = time.monotonic() - started
            assert proc.returncode == 0, f"{w.label} round {i}: {rnd.args[0]} failed: {proc.stderr}"
            if rnd.kill:
                estimate.learn(count_file.name, elapsed)
            os.unlink(count_file.name)
            self.check(w, [rnd.after], f"round {i} ({rnd.args[0]}) after the completing run")
            w.rows = before = list(rnd.after)
            self.tally.rounds += 1
        # The step counter works: complete runs took steps, so step kills were drawn
        # across a run and not all at step 1.
        assert max(e.steps for e in estimates.values() if e.known) > 1, \
            f"{w.label}: complete runs counted no steps (INLET_FAULT_COUNT, FaultStep)"
        self.log(f"{w.label}: {self.tally.by_workload[w.label]} kills")


class Estimate:
    """How long a complete run of a workload's command is: the most steps and seconds seen
    (before the first, a guess: a kill drawn beyond the run's end is a completed run)."""

    def __init__(self):
        self.steps = 8
        self.seconds = 0.15
        self.known = False

    def learn(self, count_file: str, seconds: float) -> None:
        text = pathlib.Path(count_file).read_text().strip()
        assert text.isdigit(), f"INLET_FAULT_COUNT was not written by a run that completed: {text!r}"
        steps = int(text)  # 0 for a run that found its work done
        if not self.known:
            self.steps, self.seconds, self.known = steps, seconds, True
        self.steps = max(self.steps, steps)
        self.seconds = max(self.seconds, seconds)
