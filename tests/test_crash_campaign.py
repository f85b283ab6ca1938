"""The randomized crash campaign (crash_campaign.py) in its CI size: about 200 SIGKILLs at
random steps and random times, over every strategy, the row commands, maintenance, a Kafka
stream and a PostgreSQL replication stream, on Delta and Iceberg tables, on local disk and
MinIO. `make crash` is the long
form (INLET_CRASH_KILLS kills, Spark reading every table too).
"""
from __future__ import annotations

import json
import os
import pathlib
import random
import secrets
import time

import pytest

import crash_campaign as cc

pytestmark = pytest.mark.slow

SEED = int(os.environ.get("INLET_CRASH_SEED", "20261206"))

# (workload, table format, rounds): local disk. Rounds after the first carry 1-3 kills each.
LOCAL = [(kind, table_format, 6) for kind, formats in [
    ("append", ["delta", "iceberg"]),
    ("watermark", ["delta", "iceberg"]),
    ("full_refresh", ["delta", "iceberg"]),
    ("merge", ["delta", "delta_dv", "iceberg", "iceberg_mor"]),
    ("cdc", ["delta", "delta_dv", "iceberg", "iceberg_mor"]),
    ("snapshot_diff", ["delta", "iceberg"]),
    ("row_commands", ["delta", "delta_dv", "iceberg", "iceberg_mor"]),
    ("maintenance", ["delta", "iceberg"]),
] for table_format in formats]
MINIO = [("append", "delta", 4), ("merge", "iceberg", 4), ("cdc", "delta_dv", 4),
         ("row_commands", "iceberg_mor", 4), ("maintenance", "delta", 6), ("maintenance", "iceberg", 6)]
KAFKA = [("kafka", "delta", 2)]
# (workload, table format, place, rounds): the first round is the initial snapshot.
POSTGRES = [("pg_cdc", "delta", "local", 8), ("pg_cdc_split", "iceberg", "local", 8),
            ("pg_cdc", "delta_dv", "minio", 5), ("pg_cdc_split", "iceberg_mor", "minio", 5)]


def _workload(kind, table_format, place, tmp_path, seed, **kw):
    rng = random.Random(f"{seed}-{kind}-{table_format}-{place.kind}")
    work = tmp_path / f"{kind}_{table_format}"
    return cc.WORKLOADS[kind](place, table_format, work, rng, **kw), rng


@pytest.mark.parametrize("kind,table_format,rounds", LOCAL, ids=[f"{k}-{f}" for k, f, _ in LOCAL])
def test_killed_at_random_on_local_disk(tmp_path, kind, table_format, rounds):
    from table_place import TablePlace
    _campaign(cc.Place(TablePlace.local(tmp_path / "tables")), tmp_path, kind, table_format, rounds)


def _campaign(place, tmp_path, kind, table_format, rounds, **kw):
    w, rng = _workload(kind, table_format, place, tmp_path, SEED, **kw)
    campaign = cc.Campaign(rng, kills_per_round=(1, 2) if kind == "kafka" else (1, 3))
    campaign.run_workload(w, rounds)
    assert campaign.tally.kills >= 1, campaign.tally.summary()
    print(w.label, campaign.tally.summary())


@pytest.mark.parametrize("kind,table_format,rounds", MINIO, ids=[f"{k}-{f}" for k, f, _ in MINIO])
def test_killed_at_random_on_minio(tmp_path, minio, s3_bucket, kind, table_format, rounds):
    from table_place import TablePlace
    _campaign(cc.Place(TablePlace.s3(minio, s3_bucket)), tmp_path, kind, table_format, rounds)


@pytest.mark.parametrize("kind,table_format,rounds", KAFKA, ids=[f"{k}-{f}" for k, f, _ in KAFKA])
def test_a_kafka_stream_killed_at_random(tmp_path, kafka, kind, table_format, rounds):
    """Each kill costs the broker's session timeout (6 s) before the re-run gets the
    partition back, so the CI size has few."""
    from table_place import TablePlace
    _campaign(cc.Place(TablePlace.local(tmp_path / "tables")), tmp_path, kind, table_format, rounds,
              kafka=kafka)


def _pg_database(postgres, label):
    """A database of the workload's own (slots are the cluster's: each is named after it)."""
    return postgres.database(f"crash_{label}_{secrets.token_hex(3)}".replace("-", "_"))


def _drop_slots(db):
    db.drop_slots()
    db.close()


@pytest.mark.parametrize("kind,table_format,where,rounds", POSTGRES,
                         ids=[f"{k}-{f}-{p}" for k, f, p, _ in POSTGRES])
def test_a_postgres_stream_killed_at_random(tmp_path, request, postgres, kind, table_format, where, rounds):
    """PostgreSQL logical replication into the table: the initial snapshot killed mid-copy,
    then transactions killed mid-stream (and, with max_transaction_rows small, mid-transaction)."""
    from table_place import TablePlace
    if where == "minio":
        place = cc.Place(TablePlace.s3(request.getfixturevalue("minio"), request.getfixturevalue("s3_bucket")))
    else:
        place = cc.Place(TablePlace.local(tmp_path / "tables"))
    db = _pg_database(postgres, f"{kind}_{table_format}")
    try:
        _campaign(place, tmp_path, kind, table_format, rounds, db=db)
    finally:
        _drop_slots(db)


@pytest.mark.skipif(not os.environ.get("INLET_CRASH_KILLS"),
                    reason="the long campaign: make crash (INLET_CRASH_KILLS kills)")
def test_long_campaign(tmp_path_factory, minio, kafka, postgres, spark):
    """Cycles through every workload (local, MinIO, Kafka, PostgreSQL) with fresh seeds
    until INLET_CRASH_KILLS kills have landed; Spark reads every table (local and MinIO) at
    the end of its workload, as the model says."""
    from table_place import TablePlace
    import spark_oracle
    spark_oracle.use_minio(spark, minio)
    target = int(os.environ["INLET_CRASH_KILLS"])
    total = cc.Tally()
    spark_reads = 0
    cycle = 0
    started = time.monotonic()
    while total.kills < target:
        plan = ([("local", w) for w in LOCAL] + [("minio", w) for w in MINIO] + [("local", w) for w in KAFKA]
                + [(where, (kind, table_format, rounds)) for kind, table_format, where, rounds in POSTGRES])
        for where, (kind, table_format, rounds) in plan:
            tmp = tmp_path_factory.mktemp(f"c{cycle}_{kind}_{table_format}")
            if where == "minio":
                place = cc.Place(TablePlace.s3(minio, minio.make_bucket(f"crash-{cycle}-{secrets.token_hex(4)}")))
            else:
                place = cc.Place(TablePlace.local(tmp / "tables"))
            extra = {"kafka": kafka} if kind == "kafka" else {}
            if kind.startswith("pg_"):
                extra = {"db": _pg_database(postgres, f"{cycle}_{kind}_{table_format}")}
            w, rng = _workload(kind, table_format, place, tmp, f"{SEED}-{cycle}", **extra)
            campaign = cc.Campaign(rng, kills_per_round=(1, 2) if kind == "kafka" else (1, 3))
            try:
                campaign.run_workload(w, rounds * 2)
            finally:
                if "db" in extra:
                    _drop_slots(extra["db"])
            if place.exists(w.name, table_format):
                if cc.is_iceberg(table_format):
                    got = spark.read.format("iceberg").load(place.iceberg_current(w.name)).toArrow()
                else:
                    got = spark_oracle.read(spark, place.uri(w.name))
                assert cc.canonical_of(got, w.columns) == cc.canonical(w.rows, w.columns, w.schema), \
                    f"{w.label}: Spark reads otherwise than the model"
                spark_reads += 1
            total.add(campaign.tally)
            print(f"[{time.monotonic() - started:6.0f} s] cycle {cycle} {w.label}: "
                  f"{campaign.tally.kills} kills, {total.kills} in all", flush=True)
        cycle += 1
    summary = f"{total.summary()}; Spark read {spark_reads} tables (local and MinIO) as the model says"
    print(summary)
    out = os.environ.get("INLET_CRASH_REPORT")
    if out:
        pathlib.Path(out).write_text(json.dumps({
            "kills": total.kills, "step_kills": total.step_kills, "time_kills": total.time_kills,
            "missed": total.missed, "rounds": total.rounds, "checks": total.checks,
            "spark_reads": spark_reads, "cycles": cycle, "seconds": round(time.monotonic() - started),
            "by_workload": dict(total.by_workload), "summary": summary}, indent=1) + "\n")
