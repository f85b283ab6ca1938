"""The merge strategy: new files merged into the table by key, against a reference model.

The model is a dict from key to row: per key the source row with the greatest `version`
wins (ties: the later row), a true `deleted` flag removes the key, and the modes decide what
a match does. In upsert mode `order_by` also compares with the table: a winner applies only
when its version is greater than the table row's and than its key's last delete. The table (Delta Lake, or Iceberg) is read with deltalake or pyiceberg and with DuckDB
and must equal the model exactly.
"""
import random

import pytest

import oracle
import pipeline_support as ps

SCHEMA = {"id": "long", "region": "string", "amount": "long", "version": "long"}
COLUMNS = list(SCHEMA)


def model_merge(model, rows, mode, ignore_null_updates=False, update_columns=None, gone=None):
    """gone: with order_by compared with the table (upsert), each key's last delete version."""
    winners = {}
    for r in rows:  # later rows win ties
        if r["id"] not in winners or r["version"] >= winners[r["id"]]["version"]:
            winners[r["id"]] = r
    if mode == "delete_insert":
        # Every row of the batch's keys goes; every unflagged source row comes in.
        batch_keys = {r["id"] for r in rows}
        for k in [k for k, v in model.items() if v["id"] in batch_keys]:
            del model[k]
        for r in rows:
            if not r.get("deleted"):
                model[object()] = {c: r[c] for c in COLUMNS}
        return 0
    late = 0
    for key, r in winners.items():
        row = {c: r[c] for c in COLUMNS}
        if gone is not None and mode == "upsert":
            floor = max(model[key]["version"] if key in model else -1, gone.get(key, -1))
            if r["version"] <= floor:
                late += 1
                continue
        if r.get("deleted"):
            if mode == "upsert":
                model.pop(key, None)
                if gone is not None:
                    gone[key] = r["version"]
            continue
        if key not in model:
            model[key] = row
        elif mode == "upsert":
            old = model[key]
            for c in COLUMNS:
                if c == "id" or (update_columns and c not in update_columns):
                    continue
                if ignore_null_updates and row[c] is None:
                    continue
                old[c] = row[c]
    return late


def random_batch(rng, n, keys=40, with_delete=True):
    rows = []
    for _ in range(n):
        rows.append({"id": rng.randrange(keys), "region": rng.choice(["n", "s", None]),
                     "amount": None if rng.random() < 0.2 else rng.randrange(1000),
                     "version": rng.randrange(5),
                     "deleted": with_delete and rng.random() < 0.1})
    return rows


DV = {"delta.enableDeletionVectors": "true"}  # merge-on-read: changed rows marked in deletion vectors


def setup(tmp_path, strategy, partition_by=None, properties=None, table_format=None):
    src = tmp_path / "src"
    src.mkdir()
    schema = {"id": "long", "region": "string", "amount": "long", "version": "long"}
    if "delete_flag" in strategy:
        schema["deleted"] = "boolean"  # consumed by the merge, never written
    yaml = ps.write_pipelines(tmp_path / "p.yaml", ps.pipeline(
        "m", path=str(src / "*.ndjson"), dest=str(tmp_path / "table"), strategy=strategy,
        keys=["id"], partition_by=partition_by, schema=schema, properties=properties,
        table_format=table_format))
    return src, yaml


@pytest.mark.parametrize("mode,partitioned,dv,table_format", [
    ("upsert", False, False, None), ("upsert", True, False, None),
    ("insert_only", False, False, None), ("delete_insert", False, False, None),
    ("upsert", False, True, None), ("upsert", True, True, None),
    ("insert_only", False, True, None), ("delete_insert", True, True, None),
    ("upsert", False, False, "iceberg"), ("upsert", True, False, "iceberg"),
    ("insert_only", False, False, "iceberg"), ("delete_insert", True, False, "iceberg"),
    ("upsert", False, False, "iceberg_mor"), ("upsert", True, False, "iceberg_mor"),
    ("delete_insert", True, False, "iceberg_mor"),
    ("upsert", True, False, "iceberg_v3"), ("delete_insert", False, False, "iceberg_v3")])
def test_random_batches_match_the_model(tmp_path, mode, partitioned, dv, table_format):
    rng = random.Random(f"{mode}{partitioned}{dv}")
    strategy = {"type": "merge", "mode": mode, "order_by": "version", "delete_flag": "deleted"}
    src, yaml = setup(tmp_path, strategy, ["region"] if partitioned else None, DV if dv else None,
                      table_format=table_format)
    model, gone = {}, {}
    lates = 0
    for round_no in range(5):
        rows = random_batch(rng, rng.randrange(10, 40))
        ps.write_source(src / f"b{round_no:02d}.ndjson", rows, fmt="ndjson")
        report = ps.run_after_dry_run(yaml, tmp_path / "table", f"{mode} round {round_no}")
        late = model_merge(model, rows, mode, gone=gone)
        assert report["rows_late"] == late, (late, report)
        lates += late
        expected = list(model.values())
        ps.assert_table(tmp_path / "table", expected, SCHEMA, f"{mode} round {round_no}")
        duck = oracle.read_duckdb(tmp_path / "table", None)
        oracle.assert_tables_equal(duck, ps.to_arrow(expected, SCHEMA), f"{mode} round {round_no} (DuckDB)")
    again = ps.run(yaml).report
    assert again["status"] == "no_changes", again
    if mode == "upsert":
        assert lates > 0, "the random batches should hold rows older than the table's"
    if dv and mode != "insert_only":
        log = "".join(p.read_text() for p in sorted((tmp_path / "table" / "_delta_log").glob("*.json")))
        assert '"deletionVector"' in log, "changed rows must be marked in deletion vectors"
    if table_format == "iceberg_mor" and mode == "upsert":
        assert list((tmp_path / "table" / "data").rglob("*-deletes.parquet")), \
            "changed rows must be marked in position delete files"
    if table_format == "iceberg_v3" and mode == "upsert":
        assert list((tmp_path / "table" / "data").rglob("*-dv.puffin")), \
            "changed rows must be marked in deletion vectors"


@pytest.mark.parametrize("dv", [False, True])
def test_partial_updates(tmp_path, dv):
    strategy = {"type": "merge", "ignore_null_updates": True, "update_columns": ["amount"]}
    src, yaml = setup(tmp_path, strategy, properties=DV if dv else None)
    first = [{"id": 1, "region": "n", "amount": 10, "version": 1}, {"id": 2, "region": "s", "amount": 20, "version": 1}]
    ps.write_source(src / "a.ndjson", first, fmt="ndjson")
    ps.run(yaml)
    second = [{"id": 1, "region": "CHANGED", "amount": None, "version": 2},
              {"id": 2, "region": "CHANGED", "amount": 25, "version": 2}]
    ps.write_source(src / "b.ndjson", second, fmt="ndjson")
    report = ps.run(yaml).report
    assert report["rows_updated"] == 2 and report["rows_inserted"] == 0, report
    model = {r["id"]: dict(r) for r in first}
    model_merge(model, second, "upsert", ignore_null_updates=True, update_columns=["amount"])
    assert model[1]["amount"] == 10 and model[2]["amount"] == 25 and model[2]["region"] == "s"
    ps.assert_table(tmp_path / "table", list(model.values()), SCHEMA)
    duck = oracle.read_duckdb(tmp_path / "table", None)
    oracle.assert_tables_equal(duck, ps.to_arrow(list(model.values()), SCHEMA), "partial updates (DuckDB)")


@pytest.mark.parametrize("table_format", [None, "iceberg", "iceberg_mor", "iceberg_v3"])
@pytest.mark.parametrize("point", ["run.after_read", "write.after_data_files",
                                   "commit.before_log_write", "commit.after_log_write"])
def test_crash_then_rerun(tmp_path, point, table_format):
    strategy = {"type": "merge", "order_by": "version", "delete_flag": "deleted"}
    src, yaml = setup(tmp_path, strategy, table_format=table_format)
    rng = random.Random(point)
    model, gone = {}, {}
    for round_no in range(3):
        rows = random_batch(rng, 25)
        ps.write_source(src / f"b{round_no}.ndjson", rows, fmt="ndjson")
        if round_no == 1:
            ps.run_crashing(yaml, point)
        ps.run(yaml)
        model_merge(model, rows, "upsert", gone=gone)
        ps.assert_table(tmp_path / "table", list(model.values()), SCHEMA, f"after a crash at {point}")


def _versions(table):
    return sorted((r["id"], r["amount"], r["version"]) for r in ps.read_table(table).to_pylist())


@pytest.mark.parametrize("dv", [False, True])
def test_an_older_row_in_a_later_file_does_not_overwrite_a_newer_one(tmp_path, dv):
    """The issue's case: a later file with an older updated_at overwrote a newer row."""
    src, yaml = setup(tmp_path, {"type": "merge", "order_by": "version"},
                      properties=DV if dv else None)
    ps.write_source(src / "a.ndjson", [{"id": 1, "region": "n", "amount": 10, "version": 5},
                                       {"id": 2, "region": "n", "amount": 20, "version": 5}])
    ps.run(yaml)
    ps.write_source(src / "b.ndjson", [{"id": 1, "region": "n", "amount": 99, "version": 3},
                                       {"id": 2, "region": "n", "amount": 21, "version": 6},
                                       {"id": 3, "region": "s", "amount": 30, "version": 1}])
    report = ps.run(yaml).report
    assert (report["rows_updated"], report["rows_inserted"], report["rows_late"]) == (1, 1, 1), report
    assert _versions(tmp_path / "table") == [(1, 10, 5), (2, 21, 6), (3, 30, 1)]
    text = ps.cli("run", yaml, "--dry-run", cwd=tmp_path).stdout
    assert "merge:" in text, text

    # A null order_by cannot be compared: refused, naming the file and row.
    ps.write_source(src / "c.ndjson", [{"id": 4, "region": "n", "amount": 1, "version": None}])
    line = ps.run_refused(yaml)
    assert "c.ndjson row 1" in line and "order_by column 'version' is null" in line, line


def test_stale_rows_apply_orders_the_batch_only(tmp_path):
    src, yaml = setup(tmp_path, {"type": "merge", "order_by": "version", "stale_rows": "apply"})
    ps.write_source(src / "a.ndjson", [{"id": 1, "region": "n", "amount": 10, "version": 5}])
    ps.run(yaml)
    ps.write_source(src / "b.ndjson", [{"id": 1, "region": "n", "amount": 99, "version": 3},
                                       {"id": 1, "region": "n", "amount": 98, "version": 2}])
    report = ps.run(yaml).report
    assert report["rows_updated"] == 1 and report["rows_late"] == 0, report
    assert _versions(tmp_path / "table") == [(1, 99, 3)]
