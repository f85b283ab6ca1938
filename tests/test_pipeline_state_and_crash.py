"""Pipeline state and exactly-once: `inlet state`, `inlet reset`, the log actions that carry
the state, crashes at every named point, and concurrent runs of one pipeline, with the
state kept in domainMetadata (the default) and in files (inlet.stateStorage=files, which
keeps the table writable by delta-rs).

Exactly-once is proven the LevelDB way: kill the process (SIGKILL via INLET_CRASH_AT) at
each crash point, re-run, and compare the table with the reference model, which knows
which runs committed. Nothing may be lost and nothing loaded twice.
"""

from __future__ import annotations

import json
import subprocess

import pyarrow as pa
import pytest

import oracle
import pipeline_support as ps
import support
from pipeline_support import Cursor

pytestmark = pytest.mark.slow

# Where a table keeps pipeline state (docs/pipelines.md, "State and exactly-once"): a Delta
# table's domainMetadata or files, or an Iceberg table's snapshot summaries (and objects).
STORAGES = ["domainMetadata", "files", "iceberg"]


def _keep_state_in(rig, storage):
    """Make rig's pipeline keep its state in ``storage`` (set when the table is created)."""
    if storage == "iceberg":
        rig.config["destination"]["format"] = "iceberg"
        rig.write_config()
    elif storage != "domainMetadata":
        rig.config["destination"].setdefault("properties", {})["inlet.stateStorage"] = storage
        rig.write_config()
    return rig


def _assert_kept_in(table, storage):
    """In files mode the log has no domainMetadata and the protocol never gains the
    feature; each state document is the object its txn points at. An Iceberg table is
    one (pyiceberg read it all along)."""
    if storage == "iceberg":
        assert ps.is_iceberg(table) or ps.table_absent(table), f"{table} is not an Iceberg table"
        return
    if storage != "files" or ps.latest_version(table) is None:
        return
    proto = ps.protocol(table)
    assert "domainMetadata" not in (proto.get("writerFeatures") or []), proto
    assert proto["minWriterVersion"] < 7, f"the protocol should stay as the data needs it: {proto}"
    for v, commit in ps.log_commits(table).items():
        assert not ps.actions(commit, "domainMetadata"), f"version {v} has domainMetadata"
    for name, entry in ps.state(table).items():
        doc_id = _document_id(table, f"inlet.pipeline.{name}")
        doc = table / "_inlet" / "apps" / f"inlet.pipeline.{name}" / f"{doc_id}.json"
        assert json.loads(doc.read_text()) == entry, f"{doc} is not the state inlet reports"


def _document_id(table, app):
    """The version of the latest txn pointing at app's document (files mode)."""
    found = None
    for _, commit in sorted(ps.log_commits(table).items()):
        for t in ps.actions(commit, "txn"):
            if t.get("appId") == f"inlet.document:{app}":
                found = t["version"]
    return found

# ---------------------------------------------------------------------------------------
# state


def _two_pipelines_one_table(root):
    """Pipelines "wm" (watermark on src_w) and "ap" (append on src_a) into one table."""
    cur = Cursor("ts")
    wm = ps.pipeline("wm", path="src_w/*.csv", fmt="csv", dest="table", schema=cur.schema,
                     keys=["id"], strategy={"type": "watermark", "cursor": "ts"})
    ap = ps.pipeline("ap", path="src_a/*.ndjson", fmt="ndjson", dest="table", schema=cur.schema,
                     keys=["id"], strategy={"type": "append"})
    yaml = ps.write_pipelines(root / "pipelines.yaml", wm, ap)
    return yaml, cur


def test_state_json_shape_and_reset(tmp_path):
    yaml, cur = _two_pipelines_one_table(tmp_path)
    table = tmp_path / "table"
    w_rows = [cur.row(i, i) for i in range(1, 5)]
    a_rows = [cur.row(100 + i, 50 + i) for i in range(3)]
    ps.write_source(tmp_path / "src_w" / "w1.csv", w_rows)
    ps.write_source(tmp_path / "src_a" / "a1.ndjson", a_rows[:2])
    ps.write_source(tmp_path / "src_a" / "a2.ndjson", a_rows[2:])

    res = ps.run(yaml)
    assert [r["pipeline"] for r in res.reports] == ["wm", "ap"], "one report each, in order"
    assert [r["status"] for r in res.reports] == ["committed", "committed"], res.reports
    ps.assert_table(table, w_rows + a_rows, cur.schema)

    st = ps.state(table)
    assert set(st) == {"wm", "ap"}, f"state should be keyed by pipeline name: {st}"
    w, a = st["wm"], st["ap"]
    assert (w["pipeline"], w["strategy"], w["run"], w["cursor"]) == ("wm", "watermark", 1, "ts"), w
    assert ps.parse_watermark(w["watermark"], "ts") == cur.at(4), w
    assert (a["pipeline"], a["strategy"], a["run"]) == ("ap", "append", 1), a
    assert sorted(a["files"]) == ["a1.ndjson", "a2.ndjson"]
    for entry in (w, a):
        ps.parse_ts(entry["updated_at"])  # a timestamp
    # The text form names both.
    text = ps.cli("state", table).stdout
    assert "wm" in text and "ap" in text, text

    # state is what the log's domainMetadata says.
    live = ps.domains(table)
    for name in ("wm", "ap"):
        config = json.loads(live[f"inlet.pipeline.{name}"]["configuration"])
        differ = {k: (config[k], st[name].get(k)) for k in config if st[name].get(k) != config[k]}
        assert not differ, f"state of {name} differs from its domainMetadata: {differ}"

    # reset ap: one commit of its own; ap's state is gone, wm's stays, rows stay.
    before = ps.latest_version(table)
    ps.cli("reset", table, "--pipeline", "ap")
    assert ps.latest_version(table) == before + 1, "reset commits once"
    reset_commit = ps.log_commits(table)[before + 1]
    assert not ps.actions(reset_commit, "add"), "reset must not touch data"
    removed = [d for d in ps.actions(reset_commit, "domainMetadata") if d.get("removed")]
    assert [d["domain"] for d in removed] == ["inlet.pipeline.ap"], reset_commit
    st2 = ps.state(table)
    assert set(st2) == {"wm"} and st2["wm"] == w, st2
    ps.assert_table(table, w_rows + a_rows, cur.schema, "rows stay after a reset")

    # The next run: ap reloads all its files (rows already loaded stay, so twice); wm has
    # nothing new.
    res = ps.run(yaml)
    by_name = {r["pipeline"]: r for r in res.reports}
    assert by_name["wm"]["status"] == "no_changes", by_name["wm"]
    assert by_name["ap"]["status"] == "committed" and by_name["ap"]["rows_written"] == 3
    assert by_name["ap"]["files_read"] == 2, by_name["ap"]
    ps.assert_table(table, w_rows + a_rows + a_rows, cur.schema, "after reset and re-run")
    st3 = ps.state(table)
    assert st3["ap"]["run"] == by_name["ap"]["run"], st3
    assert sorted(st3["ap"]["files"]) == [
        "a1.ndjson", "a2.ndjson"]


def test_reset_watermark_starts_from_scratch(tmp_path):
    rig = ps.watermark_rig(tmp_path, "int", fmt="ndjson", name="again")
    c: Cursor = rig.cursor
    rig.add("r1.ndjson", [c.row(i, i) for i in range(1, 4)])
    rig.run()
    ps.cli("reset", rig.table, "--pipeline", "again")
    assert "again" not in ps.state(rig.table)
    rig.version += 1
    rig.model.reset()
    rig.add("r2.ndjson", [c.row(4, 4)])
    out = rig.model.plan(rig.source_rows())
    report = ps.run(rig.yaml).report
    # No watermark: every row is read as new again; the exclusive strategy does not dedupe.
    ps.check_report(report, out, table=rig.table, prev_version=rig.version, kind="int",
                    skip=("run",))
    rig.model.apply(out)
    rig.model.run = report["run"]
    rig.version = report["table_version"]
    rig.check("after reset and re-run")


def test_state_of_table_without_pipelines(tmp_path):
    table = tmp_path / "plain"
    ps.write_source(tmp_path / "in.csv", ps.simple_rows(0, 2))
    ps.cli("write", table, "--input", tmp_path / "in.csv")
    assert ps.state(table) == {}


def test_state_survives_checkpoints(tmp_path):
    """With a checkpoint every 2 commits, the state must be read back from checkpoints."""
    rig = ps.watermark_rig(tmp_path, "ts", fmt="csv", name="cp")
    rig.config["destination"]["properties"] = {"delta.checkpointInterval": "2"}
    rig.write_config()
    c: Cursor = rig.cursor
    for n in range(5):
        rig.add(f"r{n}.csv", [c.row(10 * n + i, 10 * n + i) for i in range(3)])
        rig.run(context=f"round {n} with checkpoints")
    assert ps.info(rig.table)["properties"].get("delta.checkpointInterval") == "2"
    assert list((rig.table / "_delta_log").glob("*.checkpoint*.parquet")), "no checkpoint written"
    rig.run(context="nothing new after checkpoints")


# ---------------------------------------------------------------------------------------
# exactly-once in the log


def test_txn_and_domain_metadata_in_each_commit(tmp_path):
    # The table exists before the pipeline: created by `inlet write` at writer version 2.
    table = tmp_path / "table"
    seed = [{"id": 0, "ts": ps.hours(0), "v": "seed"}]
    ps.write_source(tmp_path / "seed.csv", seed)
    ps.cli("write", table, "--input", tmp_path / "seed.csv")
    proto0 = ps.protocol(table)
    assert proto0.get("minWriterVersion", 0) < 7, f"setup: {proto0}"

    rig = ps.watermark_rig(tmp_path, "ts", name="eo")
    rig.model.table = list(seed)
    rig.version = ps.latest_version(table)
    c: Cursor = rig.cursor
    for n in range(3):
        rig.add(f"r{n}.csv", [c.row(10 * n + i + 1, 3 * n + i + 1) for i in range(3)])
        report = rig.run()
        commit = ps.log_commits(table)[report["table_version"]]
        txns = [t for t in ps.actions(commit, "txn") if t.get("appId") == "inlet.pipeline.eo"]
        assert len(txns) == 1 and txns[0]["version"] == report["run"] == n + 1, commit
        dms = [d for d in ps.actions(commit, "domainMetadata")
               if d.get("domain") == "inlet.pipeline.eo"]
        assert len(dms) == 1 and not dms[0].get("removed"), commit
        config = json.loads(dms[0]["configuration"])
        assert (config["pipeline"], config["strategy"], config["run"]) == ("eo", "watermark", n + 1)
        assert config["cursor"] == "ts", config
        assert ps.parse_ts(config["watermark"]) == rig.model.watermark, config
        assert ps.actions(commit, "add"), "the data is in the same commit as the state"

    proto = ps.protocol(table)
    assert proto["minWriterVersion"] == 7, proto
    features = set(proto.get("writerFeatures") or [])
    # Writer version 2 implied appendOnly and invariants; they must be kept.
    assert {"domainMetadata", "appendOnly", "invariants"} <= features, proto
    assert proto["minReaderVersion"] == proto0["minReaderVersion"], (
        f"reader version changed: {proto0} -> {proto}")
    expected = ps.to_arrow(rig.model.table, rig.schema)
    oracle.assert_tables_equal(oracle.read_deltalake(table), expected, "deltalake")
    oracle.assert_tables_equal(oracle.read_duckdb(table), expected, "duckdb")
    got = support.scan(table, out_dir=tmp_path / "scan")
    oracle.assert_tables_equal(got, expected, "inlet scan")


def test_txn_and_document_object_in_each_commit(tmp_path):
    """inlet.stateStorage=files: each commit carries the run's txn and a txn pointing at
    the state document, an object of its own; no domainMetadata, no protocol change."""
    rig = _keep_state_in(ps.watermark_rig(tmp_path, "ts", name="eo"), "files")
    c: Cursor = rig.cursor
    seen = set()
    for n in range(3):
        rig.add(f"r{n}.csv", [c.row(10 * n + i + 1, 3 * n + i + 1) for i in range(3)])
        report = rig.run()
        commit = ps.log_commits(rig.table)[report["table_version"]]
        txns = {t["appId"]: t["version"] for t in ps.actions(commit, "txn")}
        assert txns.get("inlet.pipeline.eo") == report["run"] == n + 1, commit
        doc_id = txns.get("inlet.document:inlet.pipeline.eo")
        assert isinstance(doc_id, int) and doc_id > 0 and doc_id not in seen, commit
        seen.add(doc_id)
        doc = json.loads((rig.table / "_inlet/apps/inlet.pipeline.eo" / f"{doc_id}.json").read_text())
        assert (doc["pipeline"], doc["run"], doc["cursor"]) == ("eo", n + 1, "ts"), doc
        assert ps.parse_ts(doc["watermark"]) == rig.model.watermark, doc
        assert not ps.actions(commit, "domainMetadata"), commit
        assert ps.actions(commit, "add"), "the data is in the same commit as the state"
    assert ps.protocol(rig.table) == {"minReaderVersion": 1, "minWriterVersion": 2}
    _assert_kept_in(rig.table, "files")
    # A reset clears the pointer (version 0); the run number stays.
    ps.cli("reset", rig.table, "--pipeline", "eo")
    commit = ps.log_commits(rig.table)[ps.latest_version(rig.table)]
    assert [(t["appId"], t["version"]) for t in ps.actions(commit, "txn")] == [
        ("inlet.document:inlet.pipeline.eo", 0)], commit
    assert ps.state(rig.table) == {}
    # After the reset the run starts afresh (the run number keeps growing). A document
    # deleted by hand is then an error naming it, not a silent fresh start.
    report = ps.run(rig.yaml).report
    assert report["status"] == "committed" and report["run"] == 4, report
    doc_id = _document_id(rig.table, "inlet.pipeline.eo")
    path = rig.table / "_inlet/apps/inlet.pipeline.eo" / f"{doc_id}.json"
    path.unlink()
    line = ps.run_refused(rig.yaml)
    assert f"{doc_id}.json" in line and "inlet.pipeline.eo" in line, line
    line = support.check_refusal(ps.cli("state", rig.table, check=False))
    assert f"{doc_id}.json" in line, line
    # The way out: a reset clears the pointer without reading the lost document.
    ps.cli("reset", rig.table, "--pipeline", "eo")
    assert ps.state(rig.table) == {}
    assert ps.run(rig.yaml).report["status"] == "committed"
    # Properties that would let the pointer expire are refused.
    line = support.check_refusal(ps.cli("alter", rig.table, "--property",
                                        "delta.setTransactionRetentionDuration=interval 1 days",
                                        check=False))
    assert "setTransactionRetentionDuration" in line and "inlet.stateStorage" in line, line


def test_delta_rs_writes_a_table_whose_state_is_kept_in_files(tmp_path):
    """Issue 20, item 3.2: delta-rs appends, deletes, compacts, checkpoints and vacuums a
    pipeline's table between runs; the pipeline goes on, loading each file once. With the
    state in domainMetadata delta-rs refuses to write the same table."""
    from deltalake import DeltaTable, write_deltalake
    rig = _keep_state_in(ps.append_rig(tmp_path, fmt="csv"), "files")
    _next_input(rig, 0)
    rig.run()
    schema = DeltaTable(str(rig.table)).schema().to_arrow()
    extra = ps.simple_rows(900, 3, hour0=50)
    write_deltalake(str(rig.table), pa.Table.from_pylist(extra).cast(pa.schema(schema)), mode="append")
    rig.model.table += extra
    dt = DeltaTable(str(rig.table))
    dt.delete("id = 901")
    rig.model.table = [r for r in rig.model.table if r["id"] != 901]
    DeltaTable(str(rig.table)).optimize.compact()
    DeltaTable(str(rig.table)).create_checkpoint()
    DeltaTable(str(rig.table)).vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
    assert list((rig.table / "_inlet/apps").rglob("*.json")), "delta-rs's vacuum must keep inlet's state"
    rig.version = ps.latest_version(rig.table)
    rig.check("after delta-rs wrote the table")
    for n in (1, 2):
        _next_input(rig, n)
        rig.run(context=f"run {n} after delta-rs wrote the table")
        write_deltalake(str(rig.table), pa.Table.from_pylist([extra[0]]).cast(pa.schema(schema)),
                        mode="append")
        rig.model.table.append(extra[0])
        rig.version = ps.latest_version(rig.table)
    assert ps.run(rig.yaml).report["status"] == "no_changes"
    rig.check("at the end")
    _assert_kept_in(rig.table, "files")
    expected = ps.to_arrow(rig.model.table, rig.schema)
    oracle.assert_tables_equal(oracle.read_deltalake(rig.table), expected, "deltalake")
    oracle.assert_tables_equal(oracle.read_duckdb(rig.table), expected, "duckdb")

    # The default keeps the state in domainMetadata, which delta-rs 1.6 does not write.
    other = ps.append_rig(tmp_path / "default", fmt="csv")
    _next_input(other, 0)
    other.run()
    with pytest.raises(Exception, match="DomainMetadata"):
        write_deltalake(str(other.table), pa.Table.from_pylist(extra).cast(pa.schema(schema)),
                        mode="append")


def test_switching_an_existing_table_to_files_moves_the_state(tmp_path):
    """`inlet alter TABLE --property inlet.stateStorage=files`: the next commit moves the
    state to a file and removes the domain; the pipeline neither reloads nor skips."""
    rig = ps.append_rig(tmp_path, fmt="csv")
    _next_input(rig, 0)
    rig.run()
    ps.cli("alter", rig.table, "--property", "inlet.stateStorage=files")
    rig.version = ps.latest_version(rig.table)
    rig.check("after the alter")  # the state is still the domain's
    _next_input(rig, 1)
    report = rig.run(context="the first run that keeps its state in a file")
    commit = ps.log_commits(rig.table)[report["table_version"]]
    assert [d for d in ps.actions(commit, "domainMetadata")] == [
        {"domain": "inlet.pipeline.ap", "configuration": "", "removed": True}], commit
    assert _document_id(rig.table, "inlet.pipeline.ap"), commit
    _next_input(rig, 2)
    rig.run(context="the run after")
    line = support.check_refusal(ps.cli("alter", rig.table, "--property", "inlet.stateStorage=log",
                                        check=False))
    assert "domainMetadata or files" in line, line


def test_vacuum_keeps_the_state_documents_time_travel_reads(tmp_path):
    """Replaced state documents are vacuumed like data files; the latest one, and those of
    versions within the retention, stay."""
    rig = _keep_state_in(ps.append_rig(tmp_path, fmt="csv"), "files")
    for n in range(4):
        _next_input(rig, n)
        rig.run()
    docs = rig.table / "_inlet/apps/inlet.pipeline.ap"
    assert len(list(docs.iterdir())) == 4
    # Within the default retention (7 days) nothing is deleted.
    ps.cli("vacuum", rig.table)
    assert len(list(docs.iterdir())) == 4
    ps.cli("vacuum", rig.table, "--retention-hours", "0", "--force")
    latest = _document_id(rig.table, "inlet.pipeline.ap")
    assert [p.name for p in docs.iterdir()] == [f"{latest}.json"]
    rig.version = ps.latest_version(rig.table)  # vacuum's own commits
    rig.check("after vacuum")
    _next_input(rig, 4)
    rig.run(context="after vacuum")


# ---------------------------------------------------------------------------------------
# crashes


def _rig_for(strategy, root):
    if strategy == "append":
        return ps.append_rig(root, fmt="csv")
    if strategy == "full_refresh":
        return ps.full_refresh_rig(root)
    return ps.watermark_rig(root, "ts", fmt="csv", inclusive=True)


def _next_input(rig, n):
    """Round n's change of the source for any strategy."""
    if rig.strategy == "full_refresh":
        rig.add(f"a.{rig.ext}", ps.simple_rows(100 * n, 3 + n, hour0=10 * n))
    elif rig.strategy == "append":
        rig.add(f"f{n}.{rig.ext}", ps.simple_rows(100 * n, 2 + n, hour0=10 * n))
    else:
        c: Cursor = rig.cursor
        # Rows beyond the watermark, and one more at the current boundary (inclusive).
        rows = [c.row(100 * n + i, 10 * n + i) for i in range(3)]
        if n:
            rows.append(c.row(100 * n + 50, 10 * (n - 1) + 2))
        rig.add(f"f{n}.{rig.ext}", rows)


@pytest.mark.parametrize("storage", STORAGES)
@pytest.mark.parametrize("point", ps.CRASH_POINTS)
@pytest.mark.parametrize("strategy", ["append", "full_refresh", "watermark"])
def test_crash_then_rerun(tmp_path, strategy, point, storage):
    rig = _keep_state_in(_rig_for(strategy, tmp_path), storage)
    _next_input(rig, 0)
    rig.run()
    _next_input(rig, 1)
    rig.crash(point)
    rig.run(context=f"re-run after a crash at {point}")  # completes, or has nothing left
    _next_input(rig, 2)
    rig.run(context="the round after")
    _assert_kept_in(rig.table, storage)


@pytest.mark.parametrize("storage", STORAGES)
@pytest.mark.parametrize("point", ps.CRASH_POINTS)
def test_crash_on_first_run(tmp_path, point, storage):
    """A crash while the table is being created leaves no table, or a complete one."""
    rig = _keep_state_in(ps.watermark_rig(tmp_path, "int", fmt="ndjson"), storage)
    _next_input(rig, 0)
    rig.crash(point)
    if point != "commit.after_log_write":
        assert ps.table_absent(rig.table)
    rig.run(context=f"re-run after a crash at {point}")
    _next_input(rig, 1)
    rig.run(context="the round after")
    _assert_kept_in(rig.table, storage)


@pytest.mark.parametrize("point", ps.CRASH_POINTS)
def test_crash_with_quarantine(tmp_path, point):
    """A run that quarantines rows writes two tables. A crash anywhere, then a re-run:
    each good row is in the table once and each rejected row in the quarantine once."""
    rig = ps.append_rig(tmp_path, fmt="ndjson", name="qc", quality={
        "null_keys": "quarantine", "duplicate_keys": "allow", "quarantine_path": "rejects"})
    good = ps.simple_rows(0, 3)
    bad = [{"id": None, "ts": ps.hours(10 + i), "v": f"bad{i}"} for i in range(2)]
    (rig.src / "a.ndjson").write_text("".join(
        json.dumps({k: ps.text_value(v) for k, v in r.items()}) + "\n" for r in good + bad))
    proc = ps.cli("run", rig.yaml, "--json", env={"INLET_CRASH_AT": point}, cwd=tmp_path,
                  check=False)
    assert proc.returncode in ps.KILLED, f"expected SIGKILL at {point}: {proc.returncode}"
    res = ps.run(rig.yaml)
    if res.report["status"] == "committed":
        assert res.report["rows_rejected"] == len(bad), res.report
    ps.assert_table(rig.table, good, ps.TS_SCHEMA, f"table after a crash at {point}")
    rejects = ps.read_table(tmp_path / "rejects").select(list(ps.TS_SCHEMA))
    oracle.assert_tables_equal(rejects, ps.to_arrow(bad, ps.TS_SCHEMA),
                               f"quarantine after a crash at {point} and a re-run")
    assert ps.run(rig.yaml).report["status"] == "no_changes"


def test_crash_during_backfill(tmp_path):
    rig = ps.watermark_rig(tmp_path, "int", fmt="ndjson", name="bfc")
    c: Cursor = rig.cursor
    rig.add("r1.ndjson", [c.row(i, i) for i in range(10, 14)])
    rig.run()
    rig.add("late.ndjson", [c.row(100 + i, i) for i in range(2, 8)])
    window = (c.at(3), c.at(6))
    rig.crash("commit.before_log_write", backfill=window)
    rig.crash("write.after_data_files", backfill=window)
    rig.run(backfill=window)
    rig.run(backfill=window)


# ---------------------------------------------------------------------------------------
# concurrent runs of one pipeline

ROUNDS = 8


def _race(rig):
    """Start two runs of the pipeline together; return [(returncode, stdout, stderr)]."""
    procs = [ps.popen("run", rig.yaml, "--json", cwd=rig.root) for _ in range(2)]
    out = []
    for p in procs:
        try:
            stdout, stderr = p.communicate(timeout=support.DEFAULT_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            p.kill()
            raise
        out.append((p.returncode, stdout, stderr))
    return out


def _txn_versions(table, app_id):
    """(commit version, txn version) of every txn of ``app_id`` in the log, in order; on
    Iceberg, (sequence number, run) of every snapshot whose summary changed the run."""
    if ps.is_iceberg(table):
        from pyiceberg.table import StaticTable
        files = sorted((table / "metadata").glob("v*.metadata.json"),
                       key=lambda p: int(p.name[1:].split(".")[0]))
        snaps = StaticTable.from_metadata(str(files[-1])).metadata.snapshots
        out, last = [], None
        for s in sorted(snaps, key=lambda s: s.sequence_number):
            run = s.summary.additional_properties.get(f"inlet.app.{app_id}")
            if run is not None and run != last:
                out.append((s.sequence_number, int(run)))
            last = run
        return out
    return [(v, t["version"]) for v, commit in sorted(ps.log_commits(table).items())
            for t in ps.actions(commit, "txn") if t.get("appId") == app_id]


@pytest.mark.parametrize("storage", STORAGES)
@pytest.mark.parametrize("retries", [None, 0], ids=["default_retries", "no_retries"])
@pytest.mark.parametrize("strategy", ["append", "watermark"])
def test_concurrent_runs_load_each_row_once(tmp_path, strategy, retries, storage):
    """Two runs of one pipeline at once, ROUNDS times with new input in between. With
    retries the loser may re-plan and find nothing to do; without, it must fail with a
    one-line conflict error. Either way every row lands once, and each run number is
    committed once (the txn versions in the log strictly increase)."""
    rig = (ps.append_rig(tmp_path, fmt="csv") if strategy == "append"
           else ps.watermark_rig(tmp_path, "ts", fmt="csv", inclusive=True))
    _keep_state_in(rig, storage)
    if retries is not None:
        rig.config["processing"] = {"max_retries": retries}
        rig.write_config()
    commits = 0
    conflicts = 0
    for n in range(ROUNDS):
        _next_input(rig, n)
        expected = rig.plan()
        assert expected.status == "committed"
        committed_rows = 0
        failed = False
        for code, stdout, stderr in _race(rig):
            if code == 0:
                for report in ps.parse_reports(stdout):
                    # skipped: lost the race, and found nothing left after the winner.
                    assert report["status"] in ("committed", "no_changes", "skipped"), report
                    if report["status"] == "skipped":
                        assert report["rows_written"] == 0, report
                    if report["status"] == "committed":
                        commits += 1
                        committed_rows += report["rows_written"]
                continue
            failed = True
            conflicts += 1
            proc = subprocess.CompletedProcess(["inlet", "run"], code, stdout, stderr)
            line = support.check_refusal(proc)
            assert "conflict" in line.lower(), f"the loser should report a conflict: {line}"
        if failed:
            res = ps.run(rig.yaml)
            assert res.report["status"] in ("committed", "no_changes"), res.report
            if res.report["status"] == "committed":
                commits += 1
                committed_rows += res.report["rows_written"]
        txns = _txn_versions(rig.table, f"inlet.pipeline.{rig.name}")
        runs = [t for _, t in txns]
        assert all(a < b for a, b in zip(runs, runs[1:])), (
            f"round {n}: two commits carry the same run number, so two runs both committed "
            f"(commit version, txn version): {txns}"
        )
        assert committed_rows == expected.rows_written, (
            f"round {n}: runs together wrote {committed_rows} rows, the model {expected.rows_written}"
        )
        rig.model.apply(expected)
        rig.model.run = commits
        rig.version = ps.latest_version(rig.table)
        rig.check(f"after concurrent round {n}")
    # The log holds exactly one commit per committed run.
    assert (ps.latest_version(rig.table) if storage == "iceberg"
            else len(oracle.commit_versions(rig.table))) == commits
    _assert_kept_in(rig.table, storage)
