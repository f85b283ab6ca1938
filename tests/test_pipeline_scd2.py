"""The cdc strategy with scd_type: 2: history rows (valid_from, valid_to, is_current).

The reference model is order-free: a key's versions follow from the set of its changes
sorted by sequence. Consecutive upserts with equal tracked values are one version (valid
from the first, holding the last one's values), which ends at the key's next change; a
delete ends it without a successor. Whatever order the changes arrive in and however they
are split into runs, deltalake and DuckDB must read exactly the model's rows.
"""
import random

import pyarrow as pa
import pytest

import oracle
import pipeline_support as ps
from test_pipeline_cdc import SOURCE_SCHEMA, TABLE_SCHEMA, UPSERTS, seq, shuffled_sequences

SEQ_TYPE = pa.struct([("commit_lsn", pa.int64()), ("change_lsn", pa.int64())])
HISTORY_SCHEMA = {**TABLE_SCHEMA, "valid_from": SEQ_TYPE, "valid_to": SEQ_TYPE, "is_current": "boolean"}
STRATEGY = {"type": "cdc", "sequence_by": ["commit_lsn", "change_lsn"], "scd_type": 2}


def history_model(events, tracked=None, range_of=lambda s: {"commit_lsn": s[0], "change_lsn": s[1]},
                  names=("valid_from", "valid_to", "is_current")):
    valid_from, valid_to, is_current = names
    tracked = tracked or [c for c in TABLE_SCHEMA if c not in ("k1", "k2", "commit_lsn", "change_lsn")]
    by_key = {}
    for e in events:
        by_key.setdefault((e["k1"], e["k2"]), {}).setdefault(seq(e), e)  # a replay is the same change
    out = []
    for changes in by_key.values():
        current = None
        for s in sorted(changes):
            e = changes[s]
            row = {c: e[c] for c in TABLE_SCHEMA}
            if current and e["op"] in UPSERTS and all(current[c] == row[c] for c in tracked):
                current.update(row)  # only untracked columns changed: in place
                continue
            if current:
                current.update({valid_to: range_of(s), is_current: False})
                out.append(current)
                current = None
            if e["op"] in UPSERTS:
                current = dict(row, **{valid_from: range_of(s), valid_to: None, is_current: True})
        if current:
            out.append(current)
    return out


def random_changes(rng, sequences, n, *, unique_values=True):
    out = []
    for _ in range(n):
        commit, change = sequences.pop()
        op = "D" if rng.random() < 0.2 else rng.choice(UPSERTS)
        amount = commit * 10 + change if unique_values else rng.randrange(3)
        out.append({"op": op, "k1": rng.choice("ab"), "k2": rng.randrange(6), "commit_lsn": commit,
                    "change_lsn": change, "name": rng.choice(["x", "y", None]), "amount": amount})
    return out


def setup(tmp_path, strategy=None, partition_by=None, properties=None, schema=SOURCE_SCHEMA,
          table_format=None):
    src = tmp_path / "src"
    src.mkdir()
    yaml = ps.write_pipelines(tmp_path / "p.yaml", ps.pipeline(
        "h", path=str(src / "*.ndjson"), dest=str(tmp_path / "table"), strategy=strategy or STRATEGY,
        keys=["k1", "k2"], partition_by=partition_by, schema=schema, properties=properties,
        table_format=table_format))
    return src, yaml


def check(tmp_path, expected, schema, context):
    ps.assert_table(tmp_path / "table", expected, schema, context)
    duck = oracle.read_duckdb(tmp_path / "table", None)
    oracle.assert_tables_equal(duck, ps.to_arrow(expected, schema), context + " (DuckDB)")


@pytest.mark.parametrize("partitioned,table_format", [(False, None), (True, None), (True, "iceberg"),
                                                      (False, "iceberg_mor"), (True, "iceberg_v3")])
def test_random_change_streams_build_the_order_free_history(tmp_path, partitioned, table_format):
    rng = random.Random(40 + partitioned)
    src, yaml = setup(tmp_path, partition_by=["k1"] if partitioned else None, table_format=table_format)
    sequences = shuffled_sequences(rng, 300)
    seen = []
    for round_no in range(7):
        batch = random_changes(rng, sequences, rng.randrange(15, 40))
        if seen and round_no % 3 == 2:
            batch += rng.sample(seen, 3)  # replays of changes already applied
        ps.write_source(src / f"b{round_no:02d}.ndjson", batch, fmt="ndjson")
        ps.run_after_dry_run(yaml, tmp_path / "table", f"round {round_no}")
        seen += batch
        check(tmp_path, history_model(seen), HISTORY_SCHEMA, f"round {round_no}")
    assert ps.run(yaml).report["status"] == "no_changes"


def test_tracked_columns_only_start_versions(tmp_path):
    # In order across runs (shuffled inside each file): amount changes update in place.
    rng = random.Random(3)
    src, yaml = setup(tmp_path, {**STRATEGY, "track_history_columns": ["name"]})
    seen, commit = [], 0
    for round_no in range(5):
        seqs = [(commit + i // 2 + 1, i % 2) for i in range(30)]
        commit += 15
        rng.shuffle(seqs)
        batch = random_changes(rng, list(reversed(seqs)), 30, unique_values=False)
        ps.write_source(src / f"b{round_no}.ndjson", batch, fmt="ndjson")
        ps.run(yaml)
        seen += batch
        check(tmp_path, history_model(seen, tracked=["name"]), HISTORY_SCHEMA, f"round {round_no}")


def test_single_sequence_column_and_custom_names(tmp_path):
    strategy = {"type": "cdc", "sequence_by": "commit_lsn", "scd_type": 2, "valid_from_column": "start_at",
                "valid_to_column": "end_at", "is_current_column": "current"}
    src, yaml = setup(tmp_path, strategy)
    ev = lambda op, k2, commit, name: {"op": op, "k1": "a", "k2": k2, "commit_lsn": commit, "change_lsn": 0,
                                       "name": name, "amount": 1}
    first = [ev("I", 1, 10, "x"), ev("I", 2, 11, "x"), ev("U", 1, 20, "y")]
    ps.write_source(src / "b0.ndjson", first, fmt="ndjson")
    report = ps.run(yaml).report
    assert (report["rows_inserted"], report["rows_updated"]) == (3, 0), report
    # A delete, then a late update of key 1 between its two versions.
    second = [ev("D", 2, 30, None), ev("U", 1, 15, "late")]
    ps.write_source(src / "b1.ndjson", second, fmt="ndjson")
    report = ps.run(yaml).report
    assert (report["rows_inserted"], report["rows_updated"], report["rows_deleted"]) == (1, 2, 1), report
    names = ("start_at", "end_at", "current")
    expected = history_model(first + second, range_of=lambda s: s[0], names=names)
    schema = {**TABLE_SCHEMA, "start_at": "long", "end_at": "long", "current": "boolean"}
    check(tmp_path, expected, schema, "custom names")
    assert sorted((r["name"], r["start_at"], r["end_at"]) for r in expected if r["k2"] == 1) == [
        ("late", 15, 20), ("x", 10, 15), ("y", 20, None)]


def test_truncate_is_refused_naming_file_and_row(tmp_path):
    src, yaml = setup(tmp_path)
    good = {"op": "I", "k1": "a", "k2": 1, "commit_lsn": 1, "change_lsn": 0, "name": "x", "amount": 1}
    ps.write_source(src / "b0.ndjson", [good], fmt="ndjson")
    ps.run(yaml)
    before = ps.committed_log(tmp_path / "table")
    ps.write_source(src / "b1.ndjson", [dict(good, commit_lsn=2), dict(good, op="t", k1=None, k2=None, commit_lsn=3)],
                    fmt="ndjson")
    line = ps.run_refused(yaml)
    assert "b1.ndjson row 2" in line and "cannot be applied to a history" in line, line
    ps.assert_log_unchanged(tmp_path / "table", before, "a refused run")


@pytest.mark.parametrize("table_format", [None, "iceberg", "iceberg_mor", "iceberg_v3"])
@pytest.mark.parametrize("point", ps.CRASH_POINTS)
def test_crash_then_rerun(tmp_path, point, table_format):
    rng = random.Random(point)
    src, yaml = setup(tmp_path, table_format=table_format)
    sequences = shuffled_sequences(rng, 90)
    batches = [random_changes(rng, sequences, 30) for _ in range(3)]
    ps.run_rounds_with_crash(yaml, src, point, batches,
                             lambda seen, context: check(tmp_path, history_model(seen), HISTORY_SCHEMA, context))


def test_change_data_feed_equals_deltalake(tmp_path, run_inlet):
    from deltalake import DeltaTable
    import pyarrow.parquet as pq
    rng = random.Random(8)
    src, yaml = setup(tmp_path, properties={"delta.enableChangeDataFeed": "true"})
    sequences = shuffled_sequences(rng, 90)
    for round_no in range(3):
        ps.write_source(src / f"b{round_no}.ndjson", random_changes(rng, sequences, 30), fmt="ndjson")
        ps.run(yaml)
    out = tmp_path / "changes.parquet"
    run_inlet("changes", tmp_path / "table", "--from-version", "0", "--output-format", "parquet", "--output", out)
    ours = pq.read_table(out).drop_columns(["_commit_timestamp"])
    theirs = pa.table(DeltaTable(str(tmp_path / "table")).load_cdf(starting_version=0).read_all())
    theirs = theirs.drop_columns(["_commit_timestamp"])
    theirs = theirs.set_column(theirs.column_names.index("_commit_version"), "_commit_version",
                               theirs["_commit_version"].cast(pa.int64()))
    oracle.assert_tables_equal(ours, theirs.select(ours.column_names), "change data feed")
    kinds = set(ours["_change_type"].to_pylist())
    assert {"insert", "update_preimage", "update_postimage"} <= kinds, kinds
    # Closing a version is an update: its preimage is current, its postimage is not.
    pre = [r for r in ours.to_pylist() if r["_change_type"] == "update_preimage"]
    assert pre and all(r["valid_to"] is None or not r["is_current"] for r in pre)


def test_config_errors(tmp_path):
    src, yaml = setup(tmp_path, {**STRATEGY, "scd_type": 3})
    assert "must be 1 (current state) or 2 (history)" in ps.run_refused(yaml)
    yaml = ps.write_pipelines(tmp_path / "q.yaml", ps.pipeline(
        "h", path=str(src), dest=str(tmp_path / "t2"), keys=["k1"],
        strategy={"type": "cdc", "sequence_by": "commit_lsn", "track_history_columns": ["name"]}))
    assert "applies only with scd_type: 2" in ps.run_refused(yaml)
    yaml = ps.write_pipelines(tmp_path / "r.yaml", ps.pipeline(
        "h", path=str(src), dest=str(tmp_path / "t3"), keys=["k1"],
        strategy={"type": "merge", "scd_type": 2}))
    assert "applies only to the cdc strategy" in ps.run_refused(yaml)


def test_a_current_state_table_refuses_history(tmp_path):
    src, yaml = setup(tmp_path, {"type": "cdc", "sequence_by": ["commit_lsn", "change_lsn"]})
    good = {"op": "I", "k1": "a", "k2": 1, "commit_lsn": 1, "change_lsn": 0, "name": "x", "amount": 1}
    ps.write_source(src / "b0.ndjson", [good], fmt="ndjson")
    ps.run(yaml)
    before = ps.committed_log(tmp_path / "table")
    yaml = ps.write_pipelines(tmp_path / "p.yaml", ps.pipeline(
        "h", path=str(src / "*.ndjson"), dest=str(tmp_path / "table"), strategy=STRATEGY, keys=["k1", "k2"],
        schema=SOURCE_SCHEMA))
    ps.write_source(src / "b1.ndjson", [dict(good, commit_lsn=2)], fmt="ndjson")
    line = ps.run_refused(yaml)
    assert "no history column 'valid_from'" in line, line
    ps.assert_log_unchanged(tmp_path / "table", before, "a refused run")


def test_cli_merge_with_history(tmp_path, run_inlet):
    import json
    import pyarrow.parquet as pq
    table = tmp_path / "table"
    batches = [
        [("a", 1, "x", 10, False), ("b", 1, "x", 11, False)],
        [("a", 2, "y", 20, False), ("b", 3, None, 12, True), ("a", 3, "x", 15, False)],  # a@15: late, untracked
    ]
    results = []
    for i, rows in enumerate(batches):
        path = tmp_path / f"b{i}.parquet"
        pq.write_table(pa.table({"id": [r[0] for r in rows], "amount": [r[1] for r in rows],
                                 "name": [r[2] for r in rows], "v": [r[3] for r in rows],
                                 "gone": [r[4] for r in rows]}), path)
        out = run_inlet("merge", table, "--input", path, "--keys", "id", "--sequence-by", "v", "--delete-flag", "gone",
                        "--history", "--track-columns", "name", "--json").stdout
        results.append(json.loads(out))
    assert (results[1]["rows_inserted"], results[1]["rows_updated"], results[1]["rows_deleted"]) == (1, 2, 1), results
    got = sorted((r["id"], r["name"], r["amount"], r["v"], r["valid_from"], r["valid_to"], r["is_current"])
                 for r in oracle.read_deltalake(table).to_pylist())
    # a@15 only changes amount: it updates a's first version in place.
    assert got == [("a", "x", 3, 15, 10, 20, False), ("a", "y", 2, 20, 20, None, True),
                   ("b", "x", 1, 11, 11, 12, False)], got
    bad = run_inlet("merge", table, "--input", tmp_path / "b0.parquet", "--keys", "id", "--track-columns", "name",
                    check=False)
    assert bad.returncode != 0 and "--track-columns needs --history" in bad.stderr, bad.stderr
