"""The snapshot_diff strategy against a reference model.

Each round writes a full extract; the table must then equal the model: the extract's rows
(by key), plus, for soft deletes, the missing keys flagged; rounds whose change is below
min_change_percent commit nothing. The hybrid policy full-refreshes every N runs.
"""
import random

import pytest

import oracle
import pipeline_support as ps

SCHEMA = {"id": "long", "name": "string"}


def setup(tmp_path, properties=None, **strategy):
    src = tmp_path / "src"
    src.mkdir()
    yaml = ps.write_pipelines(tmp_path / "p.yaml", ps.pipeline(
        "d", path=str(src / "extract.csv"), dest=str(tmp_path / "table"),
        strategy={"type": "snapshot_diff", **strategy}, keys=["id"], schema={"id": "long", "name": "string"},
        properties=properties))
    return src, yaml


def extract(rng, keys):
    return [{"id": k, "name": rng.choice(["a", "b", "c"])} for k in sorted(keys)]


@pytest.mark.parametrize("deletes,dv", [("delete", False), ("soft_delete", False), ("keep", False),
                                        ("delete", True), ("soft_delete", True)])
def test_rounds_match_the_model(tmp_path, deletes, dv):
    strategy = {"deletes": deletes}
    if deletes == "soft_delete":
        strategy["soft_delete_column"] = "is_deleted"
    src, yaml = setup(tmp_path, {"delta.enableDeletionVectors": "true"} if dv else None, **strategy)
    rng = random.Random(deletes)
    keys = set(range(20))
    model = {}
    for round_no in range(5):
        rows = extract(rng, keys)
        ps.write_source(src / "extract.csv", rows, fmt="csv")
        report = ps.run(yaml).report
        current = {r["id"]: r for r in rows}
        if not model:
            model = {k: dict(r, is_deleted=False) for k, r in current.items()}
            expected_changes = None
        else:
            inserts = [k for k in current if k not in model]
            updates = [k for k in current if k in model and (model[k]["name"] != current[k]["name"] or model[k]["is_deleted"])]
            missing = [k for k in model if k not in current and not model[k]["is_deleted"]]
            if deletes == "keep":
                missing = []
            for k in inserts + updates:
                model[k] = dict(current[k], is_deleted=False)
            for k in missing:
                if deletes == "delete":
                    del model[k]
                else:
                    model[k]["is_deleted"] = True
            expected_changes = len(inserts) + len(updates) + len(missing)
        if expected_changes == 0:
            assert report["status"] == "no_changes", report
        else:
            assert report["status"] == "committed", report
        if expected_changes:
            assert report["rows_inserted"] + report["rows_updated"] + report["rows_deleted"] == expected_changes, report
        schema = dict(SCHEMA, is_deleted="boolean") if deletes == "soft_delete" else SCHEMA
        rows_expected = [{c: v for c, v in r.items() if c in schema} for r in model.values()]
        ps.assert_table(tmp_path / "table", rows_expected, schema, f"{deletes} round {round_no}")
        duck = oracle.read_duckdb(tmp_path / "table", None)
        oracle.assert_tables_equal(duck, ps.to_arrow(rows_expected, schema), f"{deletes} round {round_no} (DuckDB)")
        # Next extract: some keys leave, some arrive, some come back.
        keys = {k for k in keys if rng.random() > 0.15} | {rng.randrange(30) for _ in range(3)}


def test_below_threshold_commits_nothing(tmp_path):
    src, yaml = setup(tmp_path, min_change_percent=50)
    rows = [{"id": i, "name": "a"} for i in range(10)]
    ps.write_source(src / "extract.csv", rows, fmt="csv")
    ps.run(yaml)
    rows[0]["name"] = "changed"  # 10% changed: below 50%
    ps.write_source(src / "extract.csv", rows, fmt="csv")
    before = ps.snapshot_log(tmp_path / "table")
    report = ps.run(yaml).report
    assert report["status"] == "no_significant_changes", report
    assert report["changed_percent"] == pytest.approx(10.0), report
    ps.assert_log_unchanged(tmp_path / "table", before, "a change below the threshold")


def test_hybrid_full_refresh_every_n_runs(tmp_path):
    src, yaml = setup(tmp_path, full_refresh_every_runs=2)
    for round_no in range(4):
        rows = [{"id": i, "name": f"v{round_no}"} for i in range(5)]
        ps.write_source(src / "extract.csv", rows, fmt="csv")
        report = ps.run(yaml).report
        assert report["status"] == "committed", report
        # Runs 1 and 3 are full refreshes (no diff, so no changed_percent); 2 and 4 diff.
        assert ("changed_percent" in report) == (round_no % 2 == 1), (round_no, report)
        ps.assert_table(tmp_path / "table", rows, SCHEMA, f"round {round_no}")


def test_keys_are_required(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    yaml = ps.write_pipelines(tmp_path / "p.yaml", ps.pipeline(
        "d", path=str(src / "x.csv"), dest=str(tmp_path / "table"), strategy={"type": "snapshot_diff"}))
    line = ps.run_refused(yaml)
    assert "destination.keys" in line, line
