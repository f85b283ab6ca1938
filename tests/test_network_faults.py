"""Object storage, the Iceberg REST catalog and PostgreSQL failing: loads, merges, CDC, row
commands and maintenance on MinIO, commits to the REST catalog and a PostgreSQL replication
stream, each through a fault-injecting TCP proxy (fault_proxy.py) that resets connections
before and after the server acted, truncates responses and stalls them.

Each command either succeeds or fails with one clear error (a positive exit, never a crash),
and after every attempt the table, read from MinIO directly, is exactly as the model says
before or after the round: nothing lost, nothing doubled, whatever the network did. A failed
round is tried again (as a scheduler would) until it completes; the faults are counted.
"""
from __future__ import annotations

import os
import random
import zlib

import pytest

import crash_campaign as cc
import support
from fault_proxy import FaultProxy

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("INLET_CRASH_SEED", "20261206"))
# (workload, table format, rounds)
WORKLOADS = [("append", "delta", 5), ("merge", "iceberg", 5), ("cdc", "delta_dv", 5),
             ("row_commands", "iceberg_mor", 6), ("maintenance", "delta", 3), ("snapshot_diff", "iceberg", 4)]
MAX_ATTEMPTS = 12


class ThroughProxy(cc.Place):
    """inlet reaches the bucket through the proxy; the readers reach MinIO directly."""

    def __init__(self, place, proxy):
        super().__init__(place)
        self.proxy = proxy

    def env(self):
        return dict(self.p.env, AWS_ENDPOINT_URL=self.proxy.endpoint)


def _one_error(proc) -> str:
    assert proc.returncode > 0, f"inlet died of signal {-proc.returncode}:\n{proc.stderr[-2000:]}"
    errors = [line for line in proc.stderr.splitlines() if line.startswith("inlet: error:")]
    assert len(errors) == 1, f"expected one error line:\n{proc.stderr[-2000:]}"
    return errors[0]


def _rounds_through_faults(w, proxy, rounds, rng):
    """Runs the workload's rounds, each tried again until it completes (the proxy is clean
    for the last try); after every attempt the table is as before or after the round."""
    campaign = cc.Campaign(rng)
    failures, errors, recovered = 0, set(), 0
    before = list(w.rows)
    for i, rnd in enumerate(w.rounds(rounds)):
        if rnd.prepare:
            rnd.prepare()
        allowed = rnd.prefixes if rnd.prefixes is not None else [before, rnd.after]
        reached = 0
        for attempt in range(MAX_ATTEMPTS + 1):
            proxy.enabled = attempt < MAX_ATTEMPTS  # the last try has a clean network
            proc = support.run_inlet(*rnd.args, env=w.env(), check=False, timeout=300)
            proxy.enabled = False  # the readers see the table as it is
            # A stream that lost its connection and went on says so.
            recovered += proc.stderr.count("; reconnecting") + proc.stderr.count("; starting again")
            context = f"round {i} ({rnd.args[0]}) attempt {attempt}, rc {proc.returncode}"
            if proc.returncode == 0:
                break
            failures += 1
            errors.add(_one_error(proc))
            if rnd.partial:
                campaign.check_part(w, rnd.after, context)
                continue
            # A stream that failed holds any prefix of the round, never behind one it held.
            state = campaign.check(w, allowed, context, reached)
            assert state >= reached, f"{w.label} {context}: the table went back to an earlier state"
            reached = state
            if not rnd.idempotent and state == len(allowed) - 1:
                break
        else:
            raise AssertionError(f"{w.label} round {i}: still failing on a clean network:\n{proc.stderr}")
        campaign.check(w, [rnd.after], f"round {i} after it completed")
        w.rows = before = list(rnd.after)
    print(f"{w.label}: {proxy.total()} faults injected ({dict(proxy.faults)}) over "
          f"{proxy.connections} connections; {failures} runs failed cleanly, {recovered} times a run "
          f"connected again and went on; {campaign.tally.checks} table reads as the model says")
    for line in sorted(errors):
        print("   ", line)
    assert proxy.total() - proxy.faults["delay"] > 0, "no connection was reset or cut short"
    return errors, recovered


@pytest.mark.parametrize("kind,table_format,rounds", WORKLOADS, ids=[f"{k}-{f}" for k, f, _ in WORKLOADS])
def test_object_storage_faults_lose_and_double_nothing(tmp_path, minio, s3_bucket, kind, table_format, rounds):
    from table_place import TablePlace
    host, port = minio.endpoint.split("//")[1].split(":")
    proxy = FaultProxy(host, int(port), rate=0.05, seed=zlib.crc32(f"{SEED}-{kind}-{table_format}".encode()))
    try:
        place = ThroughProxy(TablePlace.s3(minio, s3_bucket), proxy)
        rng = random.Random(f"{SEED}-{kind}-{table_format}-faults")
        w = cc.WORKLOADS[kind](place, table_format, tmp_path / "w", rng)
        _rounds_through_faults(w, proxy, rounds, rng)
    finally:
        proxy.close()


class RestCatalog(cc.Place):
    """Tables of the REST catalog, which inlet reaches through the proxy; pyiceberg reads
    them through the catalog directly."""

    kind = "rest"

    def __init__(self, server, proxy, namespace):
        self.server, self.proxy, self.ns = server, proxy, namespace

    def env(self):
        return {}

    def uri(self, name):
        return f"{self.ns}.{name}"

    def destination(self, name, table_format):
        dest_extra, _ = cc.TABLE_FORMATS[table_format]
        return {"catalog": {"uri": self.proxy.endpoint}, "table": self.uri(name),
                **{k: v for k, v in dest_extra.items() if k != "format"}}

    def _table(self, name):
        from pyiceberg.catalog import load_catalog
        return load_catalog("rest", type="rest", uri=self.server.uri).load_table(self.uri(name))

    def exists(self, name, table_format):
        from pyiceberg.exceptions import NoSuchTableError
        try:
            return self._table(name).metadata.current_snapshot_id is not None
        except NoSuchTableError:
            return False

    def readers(self, table_format):
        return {"pyiceberg": lambda name: self._table(name).scan().to_arrow()}


CATALOG_WORKLOADS = [("append", "iceberg", 6), ("merge", "iceberg_mor", 6), ("cdc", "iceberg", 5),
                     ("watermark", "iceberg", 5)]


@pytest.mark.parametrize("kind,table_format,rounds", CATALOG_WORKLOADS,
                         ids=[f"{k}-{f}" for k, f, _ in CATALOG_WORKLOADS])
def test_rest_catalog_faults_lose_and_double_nothing(tmp_path, iceberg_rest, kind, table_format, rounds):
    """Requests to the Iceberg REST catalog reset, cut short and stalled, among them commits
    the catalog applied but whose answer never came back (the commit state is unknown)."""
    host, port = iceberg_rest.uri.split("//")[1].split("/")[0].split(":")
    proxy = FaultProxy(host, int(port), rate=0.08, seed=zlib.crc32(f"{SEED}-{kind}-rest".encode()))
    try:
        ns = f"faults_{kind}_{random.Random().randrange(1 << 30)}"
        from pyiceberg.catalog import load_catalog
        load_catalog("rest", type="rest", uri=iceberg_rest.uri).create_namespace(ns)
        place = RestCatalog(iceberg_rest, proxy, ns)
        rng = random.Random(f"{SEED}-{kind}-{table_format}-rest")
        w = cc.WORKLOADS[kind](place, table_format, tmp_path / "w", rng)
        _rounds_through_faults(w, proxy, rounds, rng)
    finally:
        proxy.close()


@pytest.mark.parametrize("kind,table_format,rounds", [("pg_cdc", "delta", 5), ("pg_cdc_split", "iceberg", 4)],
                         ids=["pg_cdc-delta", "pg_cdc_split-iceberg"])
def test_postgres_connection_faults_lose_and_double_nothing(tmp_path, postgres, kind, table_format, rounds):
    """A PostgreSQL replication stream whose connections (the snapshot's COPY, the
    replication protocol, the catalog queries) are reset, cut short and stalled: the
    stream reconnects or stops with one clear error, and the next run goes on from the
    position the table holds."""
    from table_place import TablePlace
    import secrets
    proxy = FaultProxy("127.0.0.1", postgres.port, rate=0.03,
                       seed=zlib.crc32(f"{SEED}-{kind}-pg".encode()))
    db = postgres.database(f"faults_{kind}_{secrets.token_hex(3)}")
    try:
        place = cc.Place(TablePlace.local(tmp_path / "tables"))
        rng = random.Random(f"{SEED}-{kind}-{table_format}-pg")
        through = db.uri.replace(f":{postgres.port}/", f":{proxy.port}/")
        w = cc.WORKLOADS[kind](place, table_format, tmp_path / "w", rng, db=db, connection=through)
        errors, recovered = _rounds_through_faults(w, proxy, rounds, rng)
        assert recovered > 0, "no stream connected again after a fault"
        for error in errors:
            # libpq's lines made one, each said once.
            assert "\t" not in error and error.count("closed the connection unexpectedly") <= 1, error
            assert "PostgreSQL" in error and "postgresql://inlet@127.0.0.1:" in error, error
    finally:
        proxy.close()
        db.drop_slots()
        db.close()
