"""The cdc strategy: change streams applied by key in sequence order, out-of-order safe.

The reference model is order-free: whatever order the events arrive in, and however they
are split into runs, a key ends as its event with the greatest sequence says, a truncate
counting as an event of every key. The tables are read with deltalake and DuckDB and must
equal the model exactly after every run.
"""
import base64
import decimal
import json
import random

import pyarrow as pa
import pytest

import oracle
import pipeline_support as ps

SOURCE_SCHEMA = {"op": "string", "k1": "string", "k2": "long", "commit_lsn": "long", "change_lsn": "long",
                 "name": "string", "amount": "long"}
TABLE_SCHEMA = {c: t for c, t in SOURCE_SCHEMA.items() if c != "op"}
UPSERTS = ["I", "U", "c", "u", "r"]


def seq(e):
    return (e["commit_lsn"], e["change_lsn"])


def order_free_model(events):
    last, truncate = {}, None
    for e in events:
        if e["op"] in ("T", "t"):
            truncate = max(truncate or seq(e), seq(e))
            continue
        key = (e["k1"], e["k2"])
        if key not in last or seq(e) > seq(last[key]):
            last[key] = e
    return [{c: e[c] for c in TABLE_SCHEMA} for e in last.values()
            if e["op"] in UPSERTS and (truncate is None or seq(e) > truncate)]


def random_events(rng, sequences, n, truncates=True):
    out = []
    for _ in range(n):
        commit, change = sequences.pop()
        r = rng.random()
        op = "T" if truncates and r < 0.02 else "D" if r < 0.25 else rng.choice(UPSERTS)
        e = {"op": op, "k1": rng.choice("abc"), "k2": rng.randrange(8), "commit_lsn": commit,
             "change_lsn": change, "name": rng.choice(["x", "y", None]), "amount": rng.randrange(1000)}
        if op == "T":
            e.update(k1=None, k2=None, name=None, amount=None)
        out.append(e)
    return out


def shuffled_sequences(rng, n):
    # Several changes per commit: (commit LSN, change LSN), compared in that order.
    seqs = [(c, ch) for c in range(1, n // 3 + 2) for ch in range(3)][:n]
    rng.shuffle(seqs)
    return seqs


def setup(tmp_path, strategy=None, partition_by=None, properties=None, table_format=None):
    src = tmp_path / "src"
    src.mkdir()
    yaml = ps.write_pipelines(tmp_path / "p.yaml", ps.pipeline(
        "c", path=str(src / "*.ndjson"), dest=str(tmp_path / "table"),
        strategy=strategy or {"type": "cdc", "sequence_by": ["commit_lsn", "change_lsn"]},
        keys=["k1", "k2"], partition_by=partition_by, schema=SOURCE_SCHEMA, properties=properties,
        table_format=table_format))
    return src, yaml


def check(tmp_path, events, context):
    expected = order_free_model(events)
    ps.assert_table(tmp_path / "table", expected, TABLE_SCHEMA, context)
    duck = oracle.read_duckdb(tmp_path / "table", None)
    oracle.assert_tables_equal(duck, ps.to_arrow(expected, TABLE_SCHEMA), context + " (DuckDB)")


@pytest.mark.parametrize("partitioned,dv,storage", [
    (False, False, "domainMetadata"), (True, False, "domainMetadata"), (False, True, "domainMetadata"),
    (True, True, "domainMetadata"), (True, True, "files"), (False, False, "iceberg"), (True, False, "iceberg"),
    (True, True, "iceberg"), (False, True, "iceberg_v3")])
def test_random_change_streams_match_the_order_free_model(tmp_path, partitioned, dv, storage):
    rng = random.Random(partitioned)
    iceberg = storage.startswith("iceberg")
    properties = {} if iceberg else {"inlet.stateStorage": storage}
    if dv:
        properties["delta.enableDeletionVectors"] = "true"
    if iceberg and dv:  # merge-on-read: position delete files, or v3 deletion vectors
        properties, table_format = {}, "iceberg_v3" if storage == "iceberg_v3" else "iceberg_mor"
    else:
        table_format = "iceberg" if iceberg else None
    src, yaml = setup(tmp_path, partition_by=["k1"] if partitioned else None, properties=properties,
                      table_format=table_format)
    sequences = shuffled_sequences(rng, 400)
    seen = []
    late_total = 0
    for round_no in range(8):
        batch = random_events(rng, sequences, rng.randrange(15, 45))
        if seen and round_no % 3 == 2:
            batch += rng.sample(seen, 3)  # replays of events already applied
        ps.write_source(src / f"b{round_no:02d}.ndjson", batch, fmt="ndjson")
        report = ps.run_after_dry_run(yaml, tmp_path / "table", f"round {round_no}")
        assert report["rows_read"] == len(batch)
        late_total += report["rows_late"]
        seen += batch
        check(tmp_path, seen, f"round {round_no}")
    assert late_total > 0, "shuffled sequences must produce late events"
    assert ps.run(yaml).report["status"] == "no_changes"
    if not iceberg:
        features = ps.protocol(tmp_path / "table").get("writerFeatures") or []
        assert ("domainMetadata" in features) == (storage == "domainMetadata"), features


@pytest.mark.parametrize("storage", ["domainMetadata", "files"])
def test_late_update_after_delete_survives_checkpoints_and_vacuum(tmp_path, storage):
    from deltalake import DeltaTable
    src, yaml = setup(tmp_path, properties={"delta.checkpointInterval": "2",
                                            "inlet.stateStorage": storage})
    ev = lambda op, k2, commit, name="v": {"op": op, "k1": "a", "k2": k2, "commit_lsn": commit, "change_lsn": 0,
                                           "name": name, "amount": 1}
    events = [ev("I", 1, 10), ev("I", 2, 11), ev("D", 1, 20), ev("D", 9, 21)]  # key 9: deleted before inserted
    ps.write_source(src / "b00.ndjson", events, fmt="ndjson")
    ps.run(yaml)
    # Many runs later (past checkpoints, and after deltalake's vacuum with zero retention)...
    for i in range(1, 8):
        batch = [ev("U", 2, 100 + i, f"n{i}")]
        ps.write_source(src / f"b{i:02d}.ndjson", batch, fmt="ndjson")
        ps.run(yaml)
        events += batch
    # deltalake's vacuum deletes unreferenced data files but not the tombstones or the
    # state. With the state in domainMetadata it cannot commit (a dry run, then the files
    # it lists are deleted by hand); with the state in files it vacuums for real.
    doomed = DeltaTable(str(tmp_path / "table")).vacuum(retention_hours=0, enforce_retention_duration=False,
                                                         dry_run=storage != "files")
    assert doomed and not [f for f in doomed if f.startswith("_inlet")], doomed
    if storage != "files":
        for f in doomed:
            (tmp_path / "table" / f).unlink()
    # ...updates older than the deletes arrive: the rows stay deleted.
    late = [ev("U", 1, 15, "zombie"), ev("I", 9, 5, "zombie")]
    ps.write_source(src / "b99.ndjson", late, fmt="ndjson")
    report = ps.run(yaml).report
    assert report["rows_late"] == 2 and report["rows_inserted"] == 0, report
    events += late
    check(tmp_path, events, "after late updates")


def test_truncate_deletes_only_older_rows(tmp_path):
    src, yaml = setup(tmp_path)
    ev = lambda op, k2, commit: {"op": op, "k1": None if op == "T" else "a", "k2": None if op == "T" else k2,
                                 "commit_lsn": commit, "change_lsn": 0, "name": "v", "amount": commit}
    first = [ev("I", 1, 10), ev("I", 2, 30)]
    ps.write_source(src / "b0.ndjson", first, fmt="ndjson")
    ps.run(yaml)
    # The truncate (at 20) arrives after key 2's change at 30: key 2 stays, key 1 goes, and a
    # late insert at 15 is discarded.
    second = [ev("T", None, 20), ev("I", 3, 15)]
    ps.write_source(src / "b1.ndjson", second, fmt="ndjson")
    report = ps.run(yaml).report
    assert report["rows_deleted"] == 1, report
    third = [ev("I", 4, 12), ev("I", 5, 25)]
    ps.write_source(src / "b2.ndjson", third, fmt="ndjson")
    report = ps.run(yaml).report
    assert report["rows_late"] == 1 and report["rows_inserted"] == 1, report
    check(tmp_path, first + second + third, "after a truncate")


@pytest.mark.parametrize("table_format", [None, "iceberg", "iceberg_mor", "iceberg_v3"])
@pytest.mark.parametrize("point", ps.CRASH_POINTS)
def test_crash_then_rerun(tmp_path, point, table_format):
    rng = random.Random(point)
    src, yaml = setup(tmp_path, table_format=table_format)
    sequences = shuffled_sequences(rng, 120)
    batches = [random_events(rng, sequences, 30) for _ in range(3)]
    ps.run_rounds_with_crash(yaml, src, point, batches, lambda seen, context: check(tmp_path, seen, context))


def test_change_data_feed_equals_deltalake(tmp_path, run_inlet):
    from deltalake import DeltaTable
    rng = random.Random(7)
    src, yaml = setup(tmp_path, properties={"delta.enableChangeDataFeed": "true"})
    sequences = shuffled_sequences(rng, 120)
    for round_no in range(3):
        ps.write_source(src / f"b{round_no}.ndjson", random_events(rng, sequences, 30, truncates=False), fmt="ndjson")
        ps.run(yaml)
    out = tmp_path / "changes.parquet"
    run_inlet("changes", tmp_path / "table", "--from-version", "0", "--output-format", "parquet", "--output", out)
    import pyarrow.parquet as pq
    ours = pq.read_table(out).drop_columns(["_commit_timestamp"])
    theirs = pa.table(DeltaTable(str(tmp_path / "table")).load_cdf(starting_version=0).read_all())
    theirs = theirs.drop_columns(["_commit_timestamp"])
    theirs = theirs.set_column(theirs.column_names.index("_commit_version"), "_commit_version",
                               theirs["_commit_version"].cast(pa.int64()))
    oracle.assert_tables_equal(ours, theirs.select(ours.column_names), "change data feed")
    kinds = set(ours["_change_type"].to_pylist())
    assert {"insert", "update_preimage", "update_postimage", "delete"} <= kinds, kinds


def test_custom_operation_mapping(tmp_path):
    strategy = {"type": "cdc", "sequence_by": "commit_lsn", "operation_column": "kind",
                "operations": {"NEW": "insert", "CHG": "update", "DEL": "delete"}}
    src = tmp_path / "src"
    src.mkdir()
    yaml = ps.write_pipelines(tmp_path / "p.yaml", ps.pipeline(
        "c", path=str(src), dest=str(tmp_path / "table"), strategy=strategy, keys=["k1", "k2"],
        schema={**TABLE_SCHEMA, "kind": "string"}))
    rows = [{"kind": "NEW", "k1": "a", "k2": 1, "commit_lsn": 1, "change_lsn": 0, "name": "x", "amount": 1},
            {"kind": "NEW", "k1": "a", "k2": 2, "commit_lsn": 2, "change_lsn": 0, "name": "x", "amount": 2},
            {"kind": "CHG", "k1": "a", "k2": 1, "commit_lsn": 3, "change_lsn": 0, "name": "y", "amount": 3},
            {"kind": "DEL", "k1": "a", "k2": 2, "commit_lsn": 4, "change_lsn": 0, "name": None, "amount": None}]
    ps.write_source(src / "b.ndjson", rows, fmt="ndjson")
    report = ps.run(yaml).report
    assert report["rows_inserted"] == 1, report
    ps.assert_table(tmp_path / "table", [{"k1": "a", "k2": 1, "commit_lsn": 3, "change_lsn": 0, "name": "y",
                                          "amount": 3}], TABLE_SCHEMA)


@pytest.mark.parametrize("bad,expected", [
    ({"op": "X"}, "unknown operation 'X' in column 'op'"),
    ({"op": None}, "the operation ('op') is null"),
    ({"commit_lsn": None}, "the sequence column 'commit_lsn' is null"),
])
def test_bad_events_are_refused_naming_file_and_row(tmp_path, bad, expected):
    src, yaml = setup(tmp_path)
    good = {"op": "I", "k1": "a", "k2": 1, "commit_lsn": 1, "change_lsn": 0, "name": "x", "amount": 1}
    ps.write_source(src / "b0.ndjson", [good], fmt="ndjson")
    ps.run(yaml)
    before = ps.committed_log(tmp_path / "table")
    rows = [dict(good, k2=2), dict(good, k2=3, **bad)]
    ps.write_source(src / "b1.ndjson", rows, fmt="ndjson")
    line = ps.run_refused(yaml)
    assert expected in line and "b1.ndjson row 2" in line, line
    ps.assert_log_unchanged(tmp_path / "table", before, "a refused run")


def test_config_errors(tmp_path):
    src, yaml = setup(tmp_path, {"type": "cdc"})
    assert "sequence_by" in ps.run_refused(yaml) and "is required" in ps.run_refused(yaml)
    yaml = ps.write_pipelines(tmp_path / "q.yaml", ps.pipeline(
        "c", path=str(src), dest=str(tmp_path / "t2"), strategy={"type": "cdc", "sequence_by": "x"}))
    assert "destination.keys" in ps.run_refused(yaml)
    yaml = ps.write_pipelines(tmp_path / "r.yaml", ps.pipeline(
        "c", path=str(src), dest=str(tmp_path / "t3"), keys=["id"],
        strategy={"type": "cdc", "sequence_by": "x", "operations": {"Z": "explode"}}))
    assert "unknown operation 'explode'" in ps.run_refused(yaml)


# ---------------------------------------------------------------------------------------
# Debezium

def _decimal(value, scale):
    n = round(value * 10 ** scale)
    return base64.b64encode(n.to_bytes(8, "big", signed=True)).decode()


def _envelope_schema():
    row = {"type": "struct", "optional": True, "fields": [
        {"type": "int32", "optional": False, "field": "id"},
        {"type": "string", "optional": True, "field": "email"},
        {"type": "bytes", "optional": True, "name": "org.apache.kafka.connect.data.Decimal",
         "parameters": {"scale": "2", "connect.decimal.precision": "10"}, "field": "balance"},
        {"type": "int32", "optional": True, "name": "io.debezium.time.Date", "field": "born"},
        {"type": "int64", "optional": True, "name": "io.debezium.time.MicroTimestamp", "field": "seen"}]}
    source = {"type": "struct", "field": "source", "fields": [
        {"type": "string", "field": "connector"}, {"type": "int64", "field": "lsn"},
        {"type": "int64", "field": "ts_ms"}]}
    return {"type": "struct", "fields": [dict(row, field="before"), dict(row, field="after"), source,
                                         {"type": "string", "field": "op"}, {"type": "int64", "field": "ts_ms"}]}


def _row(i, email, balance):
    return {"id": i, "email": email, "balance": _decimal(balance, 2), "born": 19000 + i,
            "seen": 1_700_000_000_000_000 + i}


def _event(op, lsn, before=None, after=None):
    payload = {"before": before, "after": after, "op": op, "ts_ms": 1_700_000_000_000 + lsn,
               "source": {"connector": "postgresql", "lsn": lsn, "ts_ms": 1_699_999_999_000 + lsn}}
    return {"schema": _envelope_schema(), "payload": payload}


def test_debezium_envelopes_are_decoded_natively(tmp_path):
    import datetime
    import decimal
    src = tmp_path / "src"
    src.mkdir()
    yaml = ps.write_pipelines(tmp_path / "p.yaml", ps.pipeline(
        "dbz", path=str(src), dest=str(tmp_path / "table"), fmt="debezium", keys=["id"],
        strategy={"type": "cdc", "sequence_by": "__source_lsn"}))
    first = [_event("r", 100, after=_row(1, "a@x", 10.5)), _event("c", 101, after=_row(2, "b@x", 20.25)),
             _event("c", 102, after=_row(3, "c@x", 1)), None]  # None: a Kafka tombstone
    (src / "0001.json").write_text("".join(json.dumps(e) + "\n" for e in first))
    ps.run(yaml)
    # Out of order, as a JSON array: a delete of 2, then an older update of 2, and an
    # update of 1.
    second = [_event("d", 105, before=_row(2, "b@x", 20.25)),
              _event("u", 104, before=_row(2, "b@x", 20.25), after=_row(2, "zombie", 0)),
              _event("u", 106, before=_row(1, "a@x", 10.5), after=_row(1, "a2@x", 11.75))]
    (src / "0002.json").write_text(json.dumps(second))
    report = ps.run(yaml).report
    assert report["rows_deleted"] == 1 and report["rows_updated"] == 1, report
    got = ps.read_table(tmp_path / "table")
    types = dict(zip(got.column_names, got.schema.types))
    assert types["balance"] == pa.decimal128(10, 2) and types["born"] == pa.date32(), types
    assert pa.types.is_timestamp(types["seen"]) and "__op" not in types, types
    rows = {r["id"]: r for r in got.to_pylist()}
    assert set(rows) == {1, 3}
    assert rows[1]["email"] == "a2@x" and rows[1]["balance"] == decimal.Decimal("11.75")
    assert rows[1]["born"] == datetime.date(2022, 1, 9) and rows[1]["__source_lsn"] == 106
    assert rows[1]["seen"].replace(tzinfo=None) == datetime.datetime(2023, 11, 14, 22, 13, 20, 1)


def test_debezium_unwrapped_rows_with_deleted_marker(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    yaml = ps.write_pipelines(tmp_path / "p.yaml", ps.pipeline(
        "dbz", path=str(src), dest=str(tmp_path / "table"), fmt="debezium", keys=["id"],
        strategy={"type": "cdc", "sequence_by": "__lsn"}))
    rows = [{"id": 1, "v": "a", "__op": "c", "__lsn": 1, "__deleted": "false"},
            {"id": 2, "v": "b", "__op": "c", "__lsn": 2, "__deleted": "false"},
            {"id": 1, "v": "a", "__op": "d", "__lsn": 3, "__deleted": "true"},
            {"id": 2, "v": "b2", "__op": "u", "__lsn": 4, "__deleted": "false"}]
    (src / "0001.json").write_text("".join(json.dumps(r) + "\n" for r in rows))
    ps.run(yaml)
    got = ps.read_table(tmp_path / "table").to_pylist()
    assert got == [{"id": 2, "v": "b2", "__lsn": 4}], got


def test_debezium_malformed_message_names_file_and_message(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    yaml = ps.write_pipelines(tmp_path / "p.yaml", ps.pipeline(
        "dbz", path=str(src), dest=str(tmp_path / "table"), fmt="debezium", keys=["id"],
        strategy={"type": "cdc", "sequence_by": "__source_lsn"}))
    (src / "0001.json").write_text(json.dumps(_event("c", 1, after=_row(1, "a", 1))) + "\n{not json\n")
    line = ps.run_refused(yaml)
    assert "0001.json: message 2: malformed JSON" in line, line
    assert ps.table_absent(tmp_path / "table")


def _minimal_decimal(value, scale):
    """As Debezium's precise mode sends it: BigInteger.toByteArray, two's complement, minimal."""
    n = int(decimal.Decimal(value).scaleb(scale))
    length = max(1, (n + (n < 0)).bit_length() // 8 + 1)
    return base64.b64encode(n.to_bytes(length, "big", signed=True)).decode()


def _schemaless(tmp_path, balances, handling=None):
    """A pipeline over schemaless envelopes (no schema part) whose balance is declared decimal(12,2)."""
    src = tmp_path / "src"
    src.mkdir(exist_ok=True)
    p = ps.pipeline("dbz", path=str(src), dest=str(tmp_path / "table"), fmt="debezium", keys=["id"],
                    schema={"balance": "decimal(12,2)"}, strategy={"type": "cdc", "sequence_by": "__source_lsn"})
    if handling:
        p["source"]["decimal_handling"] = handling
    events = [{"op": "c", "ts_ms": 1, "source": {"lsn": i + 1}, "before": None, "after": {"id": i, "balance": b}}
              for i, b in enumerate(balances)]
    (src / "0001.json").write_text("".join(json.dumps(e) + "\n" for e in events))
    return ps.write_pipelines(tmp_path / "p.yaml", p)


@pytest.mark.parametrize("handling", [None, "precise", "string", "double"])
def test_debezium_decimals_without_schema_follow_decimal_handling(tmp_path, handling):
    values = ["0", "0.01", "-0.01", "1.28", "-1.28", "327.67", "-327.68", "1234567890.12", "-9999999999.99"]
    if handling in (None, "precise"):
        sent = [_minimal_decimal(v, 2) for v in values]
    elif handling == "string":
        sent = values
    else:
        sent = [float(v) for v in values]
    ps.run(_schemaless(tmp_path, sent, handling))
    got = ps.read_table(tmp_path / "table")
    assert got.schema.field("balance").type == pa.decimal128(12, 2)
    rows = sorted(got.to_pylist(), key=lambda r: r["id"])
    assert [r["balance"] for r in rows] == [decimal.Decimal(v) for v in values], rows
    duck = oracle.read_duckdb(tmp_path / "table").sort_by("id")
    assert duck.column("balance").to_pylist() == [decimal.Decimal(v) for v in values]


def test_debezium_precise_decimals_refuse_text_naming_the_message(tmp_path):
    yaml = _schemaless(tmp_path, [_minimal_decimal("1.50", 2), "12.50"])
    line = ps.run_refused(yaml)
    assert "0001.json: message 2: field 'balance': bad base64 '12.50'" in line, line
    assert "decimal_handling" in line, line
    assert ps.table_absent(tmp_path / "table")


def test_decimal_handling_is_for_debezium_only(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    p = ps.pipeline("x", path=str(src), dest=str(tmp_path / "t"), fmt="ndjson", strategy={"type": "append"})
    p["source"]["decimal_handling"] = "string"
    line = ps.run_refused(ps.write_pipelines(tmp_path / "p.yaml", p))
    assert "decimal_handling" in line and "format debezium only" in line, line
    p["source"].update(format="debezium", decimal_handling="exact")
    line = ps.run_refused(ps.write_pipelines(tmp_path / "q.yaml", p))
    assert "unknown decimal handling 'exact'" in line or "'exact'" in line, line
