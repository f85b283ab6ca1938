"""The CLI contract: help, history, info, time travel, formats, paths and usage errors."""

from __future__ import annotations

import csv
import datetime
import io
import json
import os
import pathlib
import re
import subprocess
import time

import pyarrow as pa
import pyarrow.csv as pa_csv
import pyarrow.json as pa_json
import pyarrow.parquet as pq
import pytest

import oracle
import support

UTC = datetime.timezone.utc
COMMANDS = ["write", "scan", "history", "info"]


def _rows(start: int, count: int) -> pa.Table:
    ids = list(range(start, start + count))
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "name": pa.array([f"name {i}" for i in ids]),
            "p": pa.array(["even" if i % 2 == 0 else "odd" for i in ids]),
        }
    )


@pytest.fixture
def three_versions(tmp_path):
    """A table with versions 0 (create), 1 (append), 2 (overwrite); returns (path, {v: rows})."""
    table = tmp_path / "table"
    a, b, c = _rows(0, 4), _rows(10, 3), _rows(20, 2)
    support.write(table, a, "--partition-by", "p", work_dir=tmp_path / "in")
    support.write(table, b, "--mode", "append", work_dir=tmp_path / "in")
    support.write(table, c, "--mode", "overwrite", work_dir=tmp_path / "in")
    return table, {0: a, 1: pa.concat_tables([a, b]), 2: c}


def _json_stdout(proc) -> object:
    try:
        return json.loads(proc.stdout)
    except ValueError as exc:
        raise AssertionError(f"stdout is not one JSON document: {exc}\n{proc.stdout[:1000]}") from None


# ---------------------------------------------------------------------------------------
# help and usage errors


def test_top_level_help():
    proc = support.run_inlet("--help")
    assert proc.stdout.strip(), "inlet --help printed nothing on stdout"
    for command in COMMANDS:
        assert command in proc.stdout, f"inlet --help does not mention {command!r}"


HELP_MENTIONS = {
    "write": ["--input", "--input-format", "--mode", "--partition-by", "--replace-where", "--property"],
    "scan": ["--version", "--as-of", "--columns", "--where", "--limit", "--output", "--output-format"],
    "history": ["--json"],
    "info": ["--json"],
}


@pytest.mark.parametrize("command", COMMANDS)
def test_command_help(command):
    proc = support.run_inlet(command, "--help")
    for option in HELP_MENTIONS[command]:
        assert option in proc.stdout, f"inlet {command} --help does not mention {option}"


@pytest.mark.parametrize(
    "args",
    [
        ["frobnicate"],
        ["scan"],
        ["scan", "{table}", "--no-such-option"],
        ["scan", "{table}", "--limit", "many"],
        ["scan", "{table}", "--output-format", "xlsx"],
        ["write", "{table}"],
        ["write", "{table}", "--input", "{input}", "--mode", "sideways"],
        ["history"],
        ["info"],
    ],
    ids=lambda a: " ".join(a),
)
def test_usage_errors_are_one_line(args, three_versions, tmp_path):
    table, _ = three_versions
    data = tmp_path / "x.parquet"
    import pyarrow.parquet as pq

    pq.write_table(_rows(0, 1), data)
    before = support.log_snapshot(table)
    support.expect_refusal(*[a.format(table=table, input=data) for a in args])
    assert support.log_snapshot(table) == before


# ---------------------------------------------------------------------------------------
# history


def test_history_json(tmp_path):
    start_ms = int(time.time() * 1000)
    table = tmp_path / "table"
    support.write(table, _rows(0, 4), "--partition-by", "p", work_dir=tmp_path / "in")
    support.write(table, _rows(10, 3), "--mode", "append", work_dir=tmp_path / "in")
    support.write(table, _rows(20, 2), "--mode", "overwrite", work_dir=tmp_path / "in")
    support.write(table, _rows(30, 2), "--mode", "append", work_dir=tmp_path / "in")
    end_ms = int(time.time() * 1000)

    history = _json_stdout(support.run_inlet("history", table, "--json"))
    assert isinstance(history, list), "history --json prints one JSON array"
    assert sorted(e["version"] for e in history) == [0, 1, 2, 3]
    for entry in history:
        assert isinstance(entry["version"], int)
        assert isinstance(entry["timestamp"], int), entry
        assert start_ms - 60_000 <= entry["timestamp"] <= end_ms + 60_000, (
            f"timestamp {entry['timestamp']} is not epoch ms of this test's run"
        )
        assert isinstance(entry["operation"], str) and entry["operation"], entry
        assert isinstance(entry["operationParameters"], dict), entry

    from deltalake import DeltaTable

    theirs = {e["version"]: e["operation"] for e in DeltaTable(str(table)).history()}
    ours = {e["version"]: e["operation"] for e in history}
    assert ours == theirs, "history operations differ from what deltalake reads in the log"


HISTORY_TABLES = [
    "delta-rs-tables/simple_table",
    "delta-rs-tables/delta-0.8.0-partitioned",
    "delta-rs-tables/simple_table_with_checkpoint",
    "delta-golden/basic-with-inserts-updates",
    "delta-golden/time-travel-partition-changes-b",
]


@pytest.mark.parametrize("rel", HISTORY_TABLES)
def test_history_of_conformance_tables(rel, conformance_dir):
    from deltalake import DeltaTable

    table = conformance_dir / rel
    theirs = {e["version"]: e for e in DeltaTable(str(table)).history()}
    history = _json_stdout(support.run_inlet("history", table, "--json"))
    ours = {e["version"]: e for e in history}
    assert sorted(ours) == sorted(theirs)
    for v, entry in theirs.items():
        assert ours[v]["operation"] == entry.get("operation"), f"version {v}"
        assert isinstance(ours[v]["timestamp"], int)


# ---------------------------------------------------------------------------------------
# info


def _features(value) -> list[str]:
    return sorted(value or [])


def _check_info_against_deltalake(info: dict, table: pathlib.Path) -> None:
    from deltalake import DeltaTable

    dt = DeltaTable(str(table))
    protocol, metadata = dt.protocol(), dt.metadata()
    adds = pa.table(dt.get_add_actions(flatten=True))
    assert info["version"] == dt.version()
    assert info["partition_columns"] == list(metadata.partition_columns)
    assert info["min_reader_version"] == protocol.min_reader_version
    assert info["min_writer_version"] == protocol.min_writer_version
    assert _features(info["reader_features"]) == _features(protocol.reader_features)
    assert _features(info["writer_features"]) == _features(protocol.writer_features)
    assert info["properties"] == dict(metadata.configuration)
    assert info["num_files"] == adds.num_rows
    assert info["size_bytes"] == sum(adds["size_bytes"].to_pylist())
    fields = dt.schema().fields
    assert [f["name"] for f in info["schema"]] == [f.name for f in fields]
    for ours, theirs in zip(info["schema"], fields):
        assert ours["nullable"] == theirs.nullable, ours
        if type(theirs.type).__name__ == "PrimitiveType":
            delta_type = theirs.type.type  # the protocol's name: "long", "string", "decimal(10,2)"
            assert ours["type"] == delta_type, f"{ours['name']}: type {ours['type']!r}, Delta type {delta_type!r}"
        else:
            assert ours["type"], ours  # nested types: present; their spelling is not pinned


def test_info_json(tmp_path):
    table = tmp_path / "table"
    data = pa.table(
        {
            "id": pa.array([1, 2], pa.int64()),
            "small": pa.array([1, None], pa.int16()),
            "price": pa.array([1.5, None], pa.float64()),
            "day": pa.array([datetime.date(2024, 1, 1), None]),
            "at": pa.array([datetime.datetime(2024, 1, 1, tzinfo=UTC), None], pa.timestamp("us", tz="UTC")),
            "p": pa.array(["a", "b"]),
        }
    )
    support.write(table, data, "--partition-by", "p", "--property", "delta.appendOnly=false",
                  "--property", "inlet.test.key=some value", work_dir=tmp_path / "in")
    support.write(table, data, work_dir=tmp_path / "in")
    info = _json_stdout(support.run_inlet("info", table, "--json"))
    assert isinstance(info, dict), "info --json prints one JSON object"
    required = {
        "version", "schema", "partition_columns", "min_reader_version", "min_writer_version",
        "reader_features", "writer_features", "properties", "num_files", "size_bytes",
    }
    assert required <= info.keys(), f"missing keys: {sorted(required - info.keys())}"
    assert info["version"] == 1
    assert info["partition_columns"] == ["p"]
    assert info["properties"].get("inlet.test.key") == "some value"
    assert info["properties"].get("delta.appendOnly") == "false"
    assert {f["name"]: f["type"] for f in info["schema"]} == {
        "id": "long", "small": "short", "price": "double", "day": "date", "at": "timestamp", "p": "string",
    }
    data_files = [p for p in table.rglob("*.parquet") if "_delta_log" not in p.parts]
    assert info["num_files"] == len(data_files)
    assert info["size_bytes"] == sum(p.stat().st_size for p in data_files)
    _check_info_against_deltalake(info, table)


INFO_TABLES = [
    "delta-rs-tables/simple_table",
    "delta-rs-tables/delta-0.8.0-partitioned",
    "delta-rs-tables/simple_table_with_checkpoint",
    "delta-rs-tables/table-with-dv-small",
    "delta-rs-tables/table_with_column_mapping",
    "delta-golden/data-reader-partition-values",
    "delta-golden/v2-checkpoint-parquet",
]


@pytest.mark.parametrize("rel", INFO_TABLES)
def test_info_of_conformance_tables(rel, conformance_dir):
    table = conformance_dir / rel
    info = _json_stdout(support.run_inlet("info", table, "--json"))
    _check_info_against_deltalake(info, table)


# ---------------------------------------------------------------------------------------
# time travel


def test_version_time_travel(three_versions, tmp_path):
    table, expected = three_versions
    for v, rows in expected.items():
        got = support.scan(table, "--version", v, out_dir=tmp_path / "out")
        oracle.assert_tables_equal(got, rows, f"--version {v}")
    line = support.expect_refusal("scan", table, "--version", 3)
    assert re.search(r"\b3\b", line.replace(str(table), "")), f"the error should name version 3: {line}"


def _iso(ms: int) -> str:
    return datetime.datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def test_as_of_time_travel(tmp_path):
    table = tmp_path / "table"
    batches = [_rows(0, 3), _rows(10, 2), _rows(20, 4)]
    for batch in batches:
        support.write(table, batch, "--mode", "append", work_dir=tmp_path / "in")
        time.sleep(0.05)
    expected = {v: pa.concat_tables(batches[: v + 1]) for v in range(3)}
    log = table / "_delta_log"

    commit_info = [
        next((a["commitInfo"] for a in map(json.loads, filter(str.strip, (log / f"{v:020d}.json").read_text().splitlines()))
              if "commitInfo" in a), {})
        for v in range(3)
    ]
    ict = [ci.get("inCommitTimestamp") for ci in commit_info]
    if all(isinstance(t, int) for t in ict):
        times = ict  # In-Commit Timestamps rule; file times are ignored
        assert times[0] < times[1] < times[2]
        iso_ok = False
    else:
        day = 86_400_000
        base = int(datetime.datetime(2024, 1, 1, tzinfo=UTC).timestamp() * 1000)
        times = [base, base + day, base + 2 * day]
        for v, ms in enumerate(times):
            os.utime(log / f"{v:020d}.json", (ms / 1000, ms / 1000))
        iso_ok = True

    queries = [  # (as-of argument, expected version)
        (str(times[0]), 0),
        (str(times[0] + (times[1] - times[0]) // 2), 0),
        (str(times[1]), 1),
        (str(times[2] - 1), 1),
        (str(times[2] + 10 * 86_400_000), 2),
    ]
    if iso_ok:
        queries += [
            (_iso(times[0] + 3_600_000), 0),
            (_iso(times[1]), 1),
            ("2024-01-02T01:00:00+01:00", 1),
            (_iso(times[2] + 1000), 2),
        ]

    from deltalake import DeltaTable

    for arg, version in queries:
        ms = int(arg) if arg.isdigit() else int(
            datetime.datetime.fromisoformat(arg.replace("Z", "+00:00")).timestamp() * 1000
        )
        dt = DeltaTable(str(table))
        dt.load_as_version(datetime.datetime.fromtimestamp(ms / 1000, UTC))
        assert dt.version() == version, f"setup: deltalake picks v{dt.version()} for {arg}, test expects v{version}"
        got = support.scan(table, "--as-of", arg, out_dir=tmp_path / "out")
        oracle.assert_tables_equal(got, expected[version], f"--as-of {arg} (version {version})")

    support.expect_refusal("scan", table, "--as-of", str(times[0] - 1))
    if iso_ok:
        support.expect_refusal("scan", table, "--as-of", "2023-12-31T23:59:59Z")


# ---------------------------------------------------------------------------------------
# tables that are not there


@pytest.mark.parametrize("command", ["scan", "info", "history"])
@pytest.mark.parametrize("kind", ["missing", "empty-dir", "dir-without-log"])
def test_not_a_delta_table(command, kind, tmp_path):
    path = tmp_path / "nothing-here"
    if kind != "missing":
        path.mkdir()
    if kind == "dir-without-log":
        (path / "data.txt").write_text("hello")
    line = support.expect_refusal(command, path)
    assert "not a delta table" in line.lower() or str(path) in line, line
    assert not (path / "_delta_log").exists(), f"{command} must not create a table"


# ---------------------------------------------------------------------------------------
# paths, formats


def test_file_uri(tmp_path):
    table = tmp_path / "table with space"
    uri = table.as_uri()  # file:///.../table%20with%20space
    data = _rows(0, 5)
    support.write(uri, data, work_dir=tmp_path / "in")
    assert (table / "_delta_log").is_dir(), f"{uri} must name the folder {table}"
    oracle.assert_tables_equal(oracle.read_deltalake(table), data, "deltalake of a table written via file://")
    by_uri = support.scan(uri, out_dir=tmp_path / "out")
    by_path = support.scan(table, out_dir=tmp_path / "out")
    oracle.assert_tables_equal(by_uri, data, "scan file://")
    oracle.assert_tables_equal(by_path, data, "scan path")


def test_relative_path(tmp_path):
    data = _rows(0, 3)
    src = tmp_path / "x.parquet"
    import pyarrow.parquet as pq

    pq.write_table(data, src)
    support.run_inlet("write", "rel-table", "--input", "x.parquet", cwd=tmp_path)
    oracle.assert_tables_equal(oracle.read_deltalake(tmp_path / "rel-table"), data, "relative path")


TEXTY = pa.table(
    {
        "id": pa.array([1, 2, 3], pa.int64()),
        "name": pa.array(["plain", "comma, and \"quotes\"", "ünï 世界"]),
    }
)


@pytest.fixture
def texty_table(tmp_path):
    table = tmp_path / "texty"
    support.write(table, TEXTY, work_dir=tmp_path / "in")
    return table


def _csv_rows(text: str) -> tuple[list[str], list[tuple[str, ...]]]:
    rows = list(csv.reader(io.StringIO(text)))
    return rows[0], sorted(tuple(r) for r in rows[1:])


def test_scan_csv_to_stdout_by_default(texty_table):
    proc = support.run_inlet("scan", texty_table)
    header, rows = _csv_rows(proc.stdout)
    assert header == ["id", "name"]
    assert rows == sorted((str(i), n) for i, n in zip(TEXTY["id"].to_pylist(), TEXTY["name"].to_pylist()))


def test_scan_csv_to_file(texty_table, tmp_path):
    out = tmp_path / "out.csv"
    proc = support.run_inlet("scan", texty_table, "--output", out, "--output-format", "csv")
    assert out.exists()
    assert _csv_rows(out.read_text(encoding="utf-8")) == _csv_rows(support.run_inlet("scan", texty_table).stdout)
    assert proc.stdout.strip() == "", "with --output, rows go to the file, not stdout"


def test_scan_ndjson(tmp_path):
    table = tmp_path / "t"
    data = pa.table({"id": pa.array([1, 2], pa.int64()), "name": pa.array(["ü \"q\"", None])})
    support.write(table, data, work_dir=tmp_path / "in")
    proc = support.run_inlet("scan", table, "--output-format", "ndjson")
    lines = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert sorted(lines, key=lambda r: r["id"]) == data.to_pylist()


@pytest.mark.parametrize(
    "filename, fmt_args",
    [("in.csv", []), ("in.txt", ["--input-format", "csv"])],
)
def test_write_from_csv(tmp_path, filename, fmt_args):
    src = tmp_path / filename
    src.write_text('id,name,score\n1,alpha,1.5\n2,"with, comma",-2.25\n3,ünï,0\n', encoding="utf-8")
    expected = pa_csv.read_csv(src)  # pyarrow's inference is the reference
    table = tmp_path / "t"
    support.run_inlet("write", table, "--input", src, *fmt_args)
    oracle.assert_tables_equal(oracle.read_deltalake(table), expected, f"write from {filename}")


@pytest.mark.parametrize(
    "filename, fmt_args",
    [("in.ndjson", []), ("in.data", ["--input-format", "ndjson"])],
)
def test_write_from_ndjson(tmp_path, filename, fmt_args):
    src = tmp_path / filename
    src.write_text('{"id": 1, "name": "alpha", "score": 1.5}\n{"id": 2, "name": null, "score": -2.25}\n'
                   '{"id": 3, "name": "ünï", "score": null}\n', encoding="utf-8")
    expected = pa_json.read_json(src)
    table = tmp_path / "t"
    support.run_inlet("write", table, "--input", src, *fmt_args)
    oracle.assert_tables_equal(oracle.read_deltalake(table), expected, f"write from {filename}")


def test_write_from_several_parquet_files_by_extension(tmp_path):
    import pyarrow.parquet as pq

    a, b = _rows(0, 3), _rows(10, 2)
    pq.write_table(a, tmp_path / "a.parquet")
    pq.write_table(b, tmp_path / "b.parquet")
    table = tmp_path / "t"
    support.run_inlet("write", table, "--input", tmp_path / "a.parquet", "--input", tmp_path / "b.parquet")
    oracle.assert_tables_equal(oracle.read_deltalake(table), pa.concat_tables([a, b]), "two inputs")
    assert oracle.commit_versions(table) == [0]


def test_partition_and_properties_only_at_creation(tmp_path):
    table = tmp_path / "t"
    support.write(table, _rows(0, 2), "--partition-by", "p", "--property", "inlet.k=1", work_dir=tmp_path / "in")
    # Later writes may repeat or omit them; the table keeps what it was created with.
    support.write(table, _rows(10, 2), work_dir=tmp_path / "in")
    from deltalake import DeltaTable

    dt = DeltaTable(str(table))
    assert dt.metadata().partition_columns == ["p"]
    assert dt.metadata().configuration.get("inlet.k") == "1"
    oracle.assert_tables_equal(oracle.read_deltalake(table), pa.concat_tables([_rows(0, 2), _rows(10, 2)]), "")


# ---------------------------------------------------------------------------------------
# merge --dry-run

def _tree(root: pathlib.Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


MERGE_COUNTS = ("rows_inserted", "rows_updated", "rows_deleted", "source_duplicates", "late_discarded",
                "files_scanned", "files_rewritten", "files_marked", "changed")


@pytest.mark.parametrize("case,dv", [(c, dv) for c in ("upsert", "snapshot_soft", "sequenced") for dv in (False, True)]
                         + [("history", False)])
def test_merge_dry_run_counts_what_the_merge_does(tmp_path, case, dv):
    """`inlet merge --dry-run` reads and matches, reports the merge's counts, and leaves
    every file of the table as it was; the real merge then does what it counted."""
    table = tmp_path / "t"
    ids = list(range(40))
    first = pa.table({"id": pa.array(ids, pa.int64()), "v": pa.array(ids, pa.int64()),
                      "seq": pa.array([1] * 40, pa.int64())})
    if case == "snapshot_soft":
        first = first.append_column("gone", pa.array([False] * 40))
    if case == "history":  # a history table is made by its first history merge
        pq.write_table(first, tmp_path / "first.parquet")
        support.run_inlet("merge", table, "--input", tmp_path / "first.parquet", "--keys", "id", "--sequence-by",
                          "seq", "--history")
    else:
        args = ["--target-file-size", "1"] + (["--property", "delta.enableDeletionVectors=true"] if dv else [])
        support.write(table, first, *args, work_dir=tmp_path / "in")
    # 5 updates (one of them with an older sequence: late when sequenced), a duplicate key,
    # 3 new keys; as an extract of the whole table, keys 10.. are missing.
    ids2 = [0, 1, 2, 3, 4, 4, 100, 101, 102]
    seq2 = [2, 2, 2, 2, 0, 3, 2, 2, 2]
    change = pa.table({"id": pa.array(ids2, pa.int64()), "v": pa.array([i + 1000 for i in ids2], pa.int64()),
                       "seq": pa.array(seq2, pa.int64())})
    src = tmp_path / "change.parquet"
    merge = ["merge", table, "--input", src, "--keys", "id"]
    if case == "snapshot_soft":
        change = change.filter(pa.array([s != 0 for s in seq2]))
        merge += ["--mode", "snapshot", "--missing", "soft_delete", "--soft-delete-column", "gone"]
    pq.write_table(change, src)
    if case in ("sequenced", "history"):
        merge += ["--sequence-by", "seq"]
    if case == "history":
        merge += ["--history"]
    before = _tree(table)
    dry = _json_stdout(support.run_inlet(*merge, "--dry-run", "--json"))
    assert _tree(table) == before, "a dry run changed the table's files"
    assert dry["version"] == -1 and dry["dry_run"] is True, dry
    text = support.run_inlet(*merge, "--dry-run").stdout
    assert re.match(rf"dry run on {re.escape(str(table))}, nothing written: {dry['rows_inserted']} would be "
                    rf"inserted, {dry['rows_updated']} updated, {dry['rows_deleted']} deleted", text), text
    real = _json_stdout(support.run_inlet(*merge, "--json"))
    assert real["version"] >= 1 and real["dry_run"] is False, real
    assert {k: dry[k] for k in MERGE_COUNTS} == {k: real[k] for k in MERGE_COUNTS}
    assert dry["rows_updated"] > 0 and dry["rows_inserted"] > 0, dry


@pytest.mark.parametrize("props", [[], ["delta.enableDeletionVectors=true"], ["delta.enableChangeDataFeed=true"]],
                         ids=["copy_on_write", "deletion_vectors", "change_data_feed"])
def test_delete_insert_by_partition_key_replaces_partitions(tmp_path, props):
    """`--mode delete_insert` keyed by the partition columns replaces the partitions of the
    input: their files are removed unread (read only when a change data feed needs the
    deleted rows), other partitions stay, and deltalake and DuckDB read the model."""
    table = tmp_path / "t"
    rows = [{"day": f"d{i % 4}", "id": i, "v": i} for i in range(40)]
    args = ["--partition-by", "day", "--target-file-size", "1"] + [x for p in props for x in ("--property", p)]
    support.write(table, pa.Table.from_pylist(rows), *args, work_dir=tmp_path / "in")
    support.write(table, pa.Table.from_pylist(rows[:8]), "--mode", "append", work_dir=tmp_path / "in2")
    rows += rows[:8]  # two files in each partition
    batch = [{"day": "d1", "id": 100, "v": 1}, {"day": "d1", "id": 101, "v": 2}, {"day": "d9", "id": 102, "v": 3}]
    pq.write_table(pa.Table.from_pylist(batch), tmp_path / "b.parquet")
    merge = ["merge", table, "--input", tmp_path / "b.parquet", "--keys", "day", "--mode", "delete_insert", "--json"]
    before = _tree(table)
    dry = _json_stdout(support.run_inlet(*merge, "--dry-run"))
    assert _tree(table) == before
    out = _json_stdout(support.run_inlet(*merge))
    d1 = [r for r in rows if r["day"] == "d1"]
    assert (out["rows_deleted"], out["rows_inserted"], out["files_removed"]) == (len(d1), 3, 2), out
    cdf = "delta.enableChangeDataFeed=true" in props
    assert out["files_scanned"] == (2 if cdf else 0), out
    assert {k: dry[k] for k in MERGE_COUNTS} == {k: out[k] for k in MERGE_COUNTS}
    expected = pa.Table.from_pylist([r for r in rows if r["day"] != "d1"] + batch).cast(
        pa.schema([("day", pa.string()), ("id", pa.int64()), ("v", pa.int64())]))
    for reader in (oracle.read_deltalake, oracle.read_duckdb):
        oracle.assert_tables_equal(reader(table).select(["day", "id", "v"]), expected, reader.__name__)
    if cdf:
        changes = support.run_inlet("changes", table, "--from-version", "2", "--output-format", "ndjson").stdout
        types = [json.loads(line)["_change_type"] for line in changes.splitlines()]
        assert sorted(types) == ["delete"] * len(d1) + ["insert"] * 3, types


# Issue 20, item 1: a merge input that lacks some of the table's columns is a partial
# update. A matched row keeps the table's values for them, and a new key gets nulls. This
# holds for `inlet merge` copy-on-write and with deletion vectors, and for the merge strategy.
_PARKING = (
    "id,lot,spaces_free,event_date,updated_at\n"
    "1,north,10,2024-03-01,2024-03-01T10:00:00Z\n"
    "2,south,20,2024-03-01,2024-03-01T10:00:00Z\n"
    "3,east,30,2024-03-02,2024-03-02T10:00:00Z\n"
)


def _check_partial_update(table: pathlib.Path) -> None:
    rows = {r["id"]: r for r in oracle.read_deltalake(table).to_pylist()}
    assert sorted(rows) == [1, 2, 3, 4], rows
    assert rows[3]["spaces_free"] == 42
    assert rows[3]["lot"] == "east", rows[3]  # kept, not nulled
    assert rows[3]["event_date"] == datetime.date(2024, 3, 2)
    assert rows[3]["updated_at"] is not None
    assert rows[1]["lot"] == "north" and rows[1]["spaces_free"] == 10  # untouched
    assert rows[4]["spaces_free"] == 7 and rows[4]["lot"] is None  # new key: nulls


@pytest.mark.parametrize("dv", [False, True], ids=["copy-on-write", "deletion-vectors"])
def test_merge_keeps_the_columns_its_input_lacks(tmp_path, dv):
    data = tmp_path / "data.csv"
    data.write_text(_PARKING)
    table = tmp_path / "t"
    props = ["--property", "delta.enableDeletionVectors=true"] if dv else []
    support.run_inlet("write", table, "--input", data, *props)
    patch = tmp_path / "p.csv"
    patch.write_text("id,spaces_free\n3,42\n4,7\n")
    out = _json_stdout(support.run_inlet("merge", table, "--input", patch, "--keys", "id", "--json"))
    assert (out["rows_updated"], out["rows_inserted"]) == (1, 1), out
    _check_partial_update(table)


def test_merge_strategy_keeps_the_columns_its_input_lacks(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.csv").write_text(_PARKING)
    table = tmp_path / "t"
    yaml = tmp_path / "p.yaml"
    yaml.write_text(
        "pipelines:\n  - name: parking\n    source: {path: src/*.csv}\n"
        "    destination: {path: t, keys: [id]}\n    strategy: {type: merge}\n")
    support.run_inlet("run", yaml)
    (src / "b.csv").write_text("id,spaces_free\n3,42\n4,7\n")
    report = _json_stdout(support.run_inlet("run", yaml, "--json"))
    assert report["status"] == "committed", report
    assert (report["rows_updated"], report["rows_inserted"]) == (1, 1), report
    _check_partial_update(table)


@pytest.mark.parametrize("declared", [False, True], ids=["inferred", "declared-schema"])
@pytest.mark.parametrize("strategy", ["merge", "cdc", "cdc-scd2"])
def test_a_file_lacking_columns_keeps_the_tables_values_in_a_run_of_several(tmp_path, strategy, declared):
    """Two files in one run, one with every column and one without lot: the rows of the
    second keep the table's lot (a new key gets null), as they would in runs of their own;
    also when source.schema declares lot. A history's new version takes lot from the
    key's previous version."""
    src = tmp_path / "src"
    src.mkdir()
    cdc = strategy.startswith("cdc")

    def write(name, header, rows):
        if cdc:
            header = "op," + header
            rows = ["u," + r for r in rows]
        (src / name).write_text("\n".join([header, *rows]) + "\n")

    write("a.csv", "id,lot,spaces_free,seq", ["1,north,10,1", "2,south,20,1", "3,east,30,1"])
    strategy_yaml = {"merge": "{type: merge}",
                     "cdc": "{type: cdc, sequence_by: seq}",
                     "cdc-scd2": "{type: cdc, sequence_by: seq, scd_type: 2}"}[strategy]
    schema = ("    source: {path: src/*.csv, schema: {id: long, lot: string, spaces_free: long, seq: long}}\n"
              if declared else "    source: {path: src/*.csv}\n")
    yaml = tmp_path / "p.yaml"
    yaml.write_text("pipelines:\n  - name: parking\n" + schema +
                    f"    destination: {{path: t, keys: [id]}}\n    strategy: {strategy_yaml}\n")
    support.run_inlet("run", yaml)
    write("b.csv", "id,lot,spaces_free,seq", ["1,NORTH,11,2"])
    write("c.csv", "id,spaces_free,seq", ["3,42,2", "4,7,2"])
    report = _json_stdout(support.run_inlet("run", yaml, "--json"))
    assert report["status"] == "committed" and report["files_read"] == 2, report
    table = tmp_path / "t"
    for read in (oracle.read_deltalake, oracle.read_duckdb):
        rows = read(table).to_pylist()
        if strategy == "cdc-scd2":
            rows = [r for r in rows if r["is_current"]]
        got = {r["id"]: (r["lot"], r["spaces_free"]) for r in rows}
        assert got == {1: ("NORTH", 11), 2: ("south", 20), 3: ("east", 42), 4: (None, 7)}, (read, got)
    assert "__inlet" not in json.dumps(oracle.read_deltalake(table).schema.names)


def test_snapshot_merge_refuses_deleting_more_than_asked(tmp_path):
    """inlet merge --mode snapshot --max-delete-percent: an extract that would delete more
    of the table is refused, dry or not, and nothing is committed; without the option
    there is no limit."""
    data = tmp_path / "data.csv"
    data.write_text(_PARKING)
    table = tmp_path / "t"
    support.run_inlet("write", table, "--input", data)
    one = tmp_path / "one.csv"
    one.write_text(_PARKING.splitlines()[0] + "\n" + _PARKING.splitlines()[1] + "\n")  # 2 of 3 keys leave
    log_before = sorted(p.name for p in (table / "_delta_log").iterdir())
    for dry in ([], ["--dry-run"]):
        r = support.run_inlet("merge", table, "--input", one, "--keys", "id", "--mode", "snapshot",
                              "--max-delete-percent", "50", *dry, check=False)
        assert r.returncode == 1, r.stderr
        assert "max_delete_percent" in r.stderr and "2 of the table's 3 rows" in r.stderr, r.stderr
    assert sorted(p.name for p in (table / "_delta_log").iterdir()) == log_before
    bad = support.run_inlet("merge", table, "--input", one, "--keys", "id", "--max-delete-percent", "50",
                            check=False)
    assert bad.returncode == 1 and "applies only to --mode snapshot" in bad.stderr, bad.stderr
    out = _json_stdout(support.run_inlet("merge", table, "--input", one, "--keys", "id", "--mode", "snapshot",
                                         "--json"))
    assert out["rows_deleted"] == 2, out


# ---------------------------------------------------------------------------------------
# Partial output and half-created tables (issue 20, item 1.6)


def _write_parquet(path: pathlib.Path, table: pa.Table) -> pathlib.Path:
    pq.write_table(table, path)
    return path


def test_a_failed_create_leaves_no_table_behind(tmp_path):
    """The second input's schema differs: the create fails after the first was written."""
    (tmp_path / "a.csv").write_text("id,v\n1,a\n2,b\n")
    (tmp_path / "b.csv").write_text("id,w\n3,5\n")
    table = tmp_path / "t"
    line = support.check_refusal(support.run_inlet(
        "write", table, "--input", tmp_path / "a.csv", tmp_path / "b.csv", check=False))
    assert "b.csv" in line, line
    assert not (table / "_delta_log").exists(), "a failed create must leave no _delta_log/"
    line = support.check_refusal(support.run_inlet("scan", table, check=False))
    assert "not a Delta table" in line and "commits" not in line, line
    support.run_inlet("write", table, "--input", tmp_path / "a.csv")
    assert oracle.read_deltalake(table).num_rows == 2


def test_a_failed_scan_leaves_no_partial_output(tmp_path):
    table = tmp_path / "t"
    support.run_inlet("write", table, "--input", _write_parquet(tmp_path / "a.parquet", _rows(0, 50)))
    support.run_inlet("write", table, "--input", _write_parquet(tmp_path / "b.parquet", _rows(50, 50)))
    log = [json.loads(x) for x in (table / "_delta_log" / "00000000000000000001.json").read_text().splitlines()]
    added = [a["add"]["path"] for a in log if "add" in a]
    assert added, log
    (table / added[0]).unlink()  # the scan fails when it reaches this file
    for fmt in ("csv", "ndjson", "parquet"):
        out = tmp_path / f"out.{fmt}"
        out.write_text("the previous output\n")
        line = support.check_refusal(support.run_inlet(
            "scan", table, "-o", out, "--output-format", fmt, check=False))
        assert added[0].split("/")[-1] in line, line
        assert out.read_text() == "the previous output\n", f"{fmt}: the old output must stay"
        fresh = tmp_path / f"fresh.{fmt}"
        support.check_refusal(support.run_inlet(
            "scan", table, "-o", fresh, "--output-format", fmt, check=False))
        assert not fresh.exists(), f"{fmt}: a failed scan must leave no partial file"
        assert not [p.name for p in tmp_path.iterdir() if ".tmp" in p.name], "temporary files left"


def test_parquet_streams_to_a_pipe(tmp_path):
    """`inlet scan t --output-format parquet | cat` failed with `lseek failed`."""
    table = tmp_path / "t"
    support.run_inlet("write", table, "--input", _write_parquet(tmp_path / "a.parquet", _rows(0, 30)))
    proc = subprocess.run([str(support.inlet_binary()), "scan", str(table), "--output-format", "parquet"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False, timeout=60)
    assert proc.returncode == 0, proc.stderr.decode()
    got = pq.read_table(io.BytesIO(proc.stdout))
    assert sorted(got.column("id").to_pylist()) == list(range(30))


def test_an_unknown_command_is_named_with_a_suggestion(tmp_path):
    proc = support.run_inlet("scna", tmp_path / "t", check=False)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "inlet: error: unknown command 'scna' (did you mean 'scan'?); see inlet --help", proc.stderr
    proc = support.run_inlet("frobnicate", tmp_path / "t", check=False)
    assert proc.returncode == 2 and "unknown command 'frobnicate'" in proc.stderr
    assert "did you mean" not in proc.stderr, proc.stderr


def test_log_level_and_quiet_are_global_options(tmp_path):
    (tmp_path / "a.csv").write_text("id\n1\n")
    table = tmp_path / "t"
    for args in (["--log-level", "debug"], ["--quiet"], ["-q"]):
        support.run_inlet("write", table, "--input", tmp_path / "a.csv", *args)  # after the command
        support.run_inlet(*args, "info", table)  # before it
    proc = support.run_inlet("info", table, "--log-level", "loud", check=False)
    assert proc.returncode == 2 and "--log-level" in proc.stderr, proc.stderr


# Issue 20, item 3.1: table properties and partitioning of an existing table are applied or
# refused, never silently ignored.


def test_properties_of_an_existing_table_are_set(tmp_path):
    from deltalake import DeltaTable
    (tmp_path / "a.csv").write_text("id,v\n1,a\n2,b\n")
    table = tmp_path / "t"
    support.run_inlet("write", table, "--input", tmp_path / "a.csv")
    out = _json_stdout(support.run_inlet("alter", table, "--property", "delta.enableChangeDataFeed=true",
                                         "--property", "delta.logRetentionDuration=interval 60 days", "--json"))
    assert out["version"] == 1, out
    dt = DeltaTable(str(table))
    assert dt.metadata().configuration == {"delta.enableChangeDataFeed": "true",
                                           "delta.logRetentionDuration": "interval 60 days"}
    protocol = dt.protocol()
    assert protocol.min_writer_version >= 4 or "changeDataFeed" in (protocol.writer_features or [])
    assert dt.history(1)[0]["operation"] == "SET TBLPROPERTIES"
    assert dt.to_pyarrow_table().num_rows == 2
    # inlet write --property on the existing table sets it with the rows, in one commit.
    support.run_inlet("write", table, "--input", tmp_path / "a.csv", "--property", "delta.appendOnly=true")
    dt = DeltaTable(str(table))
    assert dt.version() == 2 and dt.metadata().configuration["delta.appendOnly"] == "true"
    line = support.check_refusal(support.run_inlet("write", table, "--input", tmp_path / "a.csv",
                                                   "--mode", "overwrite", check=False))
    assert "append-only" in line, line
    line = support.check_refusal(support.run_inlet(
        "alter", table, "--property", "delta.columnMapping.mode=name", check=False))
    assert "columnMapping" in line, line


def test_partitioning_of_an_existing_table_is_not_silently_ignored(tmp_path):
    (tmp_path / "a.csv").write_text("id,v\n1,a\n2,b\n")
    table = tmp_path / "t"
    support.run_inlet("write", table, "--input", tmp_path / "a.csv", "--partition-by", "v")
    support.run_inlet("write", table, "--input", tmp_path / "a.csv", "--partition-by", "v")  # the same: fine
    before = sorted(p.name for p in (table / "_delta_log").iterdir())
    line = support.check_refusal(support.run_inlet("write", table, "--input", tmp_path / "a.csv",
                                                   "--partition-by", "id", check=False))
    assert "partitioned by [v], not [id]" in line, line
    assert sorted(p.name for p in (table / "_delta_log").iterdir()) == before


# Issue 20, item 4: errors in everyday use.


def test_everyday_errors_say_what_to_do(tmp_path):
    (tmp_path / "m.csv").write_text("id,lot,is_deleted\n1,a,false\n")
    table = tmp_path / "t"
    support.run_inlet("write", table, "--input", tmp_path / "m.csv")
    # A missing key column is named, not the delete flag.
    line = support.check_refusal(support.run_inlet(
        "merge", table, "--input", tmp_path / "m.csv", "--keys", "nosuch", "--delete-flag", "is_deleted",
        check=False))
    assert "key column 'nosuch'" in line and "is_deleted" not in line, line
    # Nested columns cannot be CSV: the error says what can.
    (tmp_path / "s.json").write_text('[{"id": 1, "s": {"a": 1}}]')
    support.run_inlet("write", tmp_path / "st", "--input", tmp_path / "s.json")
    line = support.check_refusal(support.run_inlet("scan", tmp_path / "st", check=False))
    assert "column 's'" in line and "ndjson or parquet" in line, line
    # The vacuum refusal names its flag.
    line = support.check_refusal(support.run_inlet("vacuum", table, "--retention-hours", "0", check=False))
    assert "--force" in line, line
    # A filesystem error carries the system's reason.
    (tmp_path / "file").write_text("x")
    line = support.check_refusal(support.run_inlet(
        "write", tmp_path / "file" / "t", "--input", tmp_path / "m.csv", check=False))
    assert "Not a directory" in line, line
    # Lines count from 1, in inlet write as in inlet run.
    (tmp_path / "bad.ndjson").write_text('{"id": 1}\n{"id":\n')
    line = support.check_refusal(support.run_inlet("write", tmp_path / "b", "--input", tmp_path / "bad.ndjson",
                                                   check=False))
    assert "bad.ndjson: line 2: malformed JSON" in line, line


def test_json_output_carries_errors_too(tmp_path):
    proc = support.run_inlet("info", tmp_path / "nosuch", "--json", check=False)
    support.check_refusal(proc)
    out = json.loads(proc.stdout)
    assert out["kind"] == "table_not_found" and "not a Delta table" in out["error"], out
    (tmp_path / "m.csv").write_text("id\n1\n")
    proc = support.run_inlet("merge", tmp_path / "t", "--input", tmp_path / "m.csv", "--keys", "nope",
                             "--json", check=False)
    support.check_refusal(proc)
    assert "nope" in json.loads(proc.stdout)["error"], proc.stdout


# Issue 20, item 3.1: restore, and idempotent writes.


def _ids(table, version=None):
    return sorted(oracle.read_deltalake(table, version).column("id").to_pylist())


def test_restore_to_a_version_or_a_time(tmp_path):
    from deltalake import DeltaTable
    table = tmp_path / "t"
    support.run_inlet("write", table, "--input", _write_parquet(tmp_path / "a.parquet", _rows(0, 10)))
    support.run_inlet("write", table, "--input", _write_parquet(tmp_path / "b.parquet", _rows(10, 5)))
    (tmp_path / "c.csv").write_text("id,name,p\n3,changed,odd\n99,new,odd\n")
    support.run_inlet("merge", table, "--input", tmp_path / "c.csv", "--keys", "id")
    support.run_inlet("write", table, "--input", _write_parquet(tmp_path / "d.parquet", _rows(50, 2)),
                      "--mode", "overwrite")
    v1 = oracle.read_deltalake(table, 1)
    out = _json_stdout(support.run_inlet("restore", table, "--version", "1", "--json"))
    assert out["version"] == 4 and out["restored_version"] == 1, out
    oracle.assert_tables_equal(oracle.read_deltalake(table), v1, "restored to version 1 (deltalake)")
    oracle.assert_tables_equal(oracle.read_duckdb(table, None), v1, "restored to version 1 (DuckDB)")
    dt = DeltaTable(str(table))
    assert dt.history(1)[0]["operation"] == "RESTORE"
    # By time: the version current at version 2's commit time.
    ts = dt.history()[-3]["timestamp"]  # version 2 (history is newest first)
    support.run_inlet("restore", table, "--as-of", str(ts))
    oracle.assert_tables_equal(oracle.read_deltalake(table), oracle.read_deltalake(table, 2), "as of v2")
    line = support.check_refusal(support.run_inlet("restore", table, "--version", "5", check=False))
    assert "current version" in line, line
    line = support.check_refusal(support.run_inlet("restore", table, check=False))
    assert "--version or --as-of" in line, line


def test_restore_refuses_a_vacuumed_version_and_leaves_the_table(tmp_path):
    table = tmp_path / "t"
    support.run_inlet("write", table, "--input", _write_parquet(tmp_path / "a.parquet", _rows(0, 10)))
    support.run_inlet("write", table, "--input", _write_parquet(tmp_path / "b.parquet", _rows(10, 5)),
                      "--mode", "overwrite")
    support.run_inlet("vacuum", table, "--retention-hours", "0", "--force")
    before = sorted(p.name for p in (table / "_delta_log").iterdir())
    line = support.check_refusal(support.run_inlet("restore", table, "--version", "0", check=False))
    assert "is gone" in line and ".parquet" in line, line
    assert sorted(p.name for p in (table / "_delta_log").iterdir()) == before
    assert _ids(table) == list(range(10, 15))


def test_a_write_with_an_application_version_is_idempotent(tmp_path):
    table = tmp_path / "t"
    a = _write_parquet(tmp_path / "a.parquet", _rows(0, 10))
    first = _json_stdout(support.run_inlet("write", table, "--input", a, "--app-id", "etl",
                                           "--app-version", "1", "--json"))
    assert first["rows"] == 10 and "skipped" not in first, first
    again = _json_stdout(support.run_inlet("write", table, "--input", a, "--app-id", "etl",
                                           "--app-version", "1", "--json"))
    assert again["skipped"] is True and again["rows"] == 0, again
    assert _ids(table) == list(range(10)), "a retried write must not append twice"
    support.run_inlet("write", table, "--input", a, "--app-id", "etl", "--app-version", "2")
    text = support.run_inlet("write", table, "--input", a, "--app-id", "etl", "--app-version", "1").stdout
    assert text.startswith("skipped:"), text
    assert _ids(table) == sorted(list(range(10)) * 2)
    log = (table / "_delta_log" / "00000000000000000001.json").read_text()
    assert '"txn":{"appId":"etl"' in log.replace(" ", "") and '"version":2' in log.replace(" ", ""), log
    line = support.check_refusal(support.run_inlet("write", table, "--input", a, "--app-id", "etl", check=False))
    assert "--app-version" in line, line


def test_a_progress_line_on_a_terminal_only(tmp_path):
    """Issue 20, item 4: long writes, merges, scans and optimizes show a progress line on
    a terminal (here a pseudo-terminal; INLET_PROGRESS_AFTER_MS=0 shows it at once), and
    nothing when stderr is not one."""
    import pty
    rows = 300_000
    pq.write_table(pa.table({"id": pa.array(range(rows), pa.int64()),
                             "v": pa.array([f"value {i}" for i in range(rows)])}), tmp_path / "a.parquet")
    args = [str(support.inlet_binary()), "write", str(tmp_path / "t"), "--input", str(tmp_path / "a.parquet")]
    env = dict(os.environ, INLET_PROGRESS_AFTER_MS="0")
    main, secondary = pty.openpty()
    proc = subprocess.run(args, stdout=subprocess.PIPE, stderr=secondary, env=env, timeout=120)
    os.close(secondary)
    shown = b""
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:
            break
        if not chunk:
            break
        shown += chunk
    os.close(main)
    assert proc.returncode == 0, shown
    assert b"inlet: writing" in shown, shown[:500]
    assert shown.endswith(b"\r\x1b[K"), "the line is cleared at the end"
    quiet = subprocess.run(args[:2] + [str(tmp_path / "t2")] + args[3:], capture_output=True, env=env, timeout=120)
    assert quiet.returncode == 0 and quiet.stderr == b"", quiet.stderr


def test_an_installed_inlet_is_relocatable(tmp_path):
    """Issue 20, item 4: `cmake --install` gives an inlet that finds its Arrow libraries
    beside it, wherever the prefix is moved (its RUNPATH pointed into the checkout's .venv)."""
    import shutil
    build = support.inlet_binary().parent
    if not (build / "cmake_install.cmake").exists():
        pytest.skip(f"{build} is not a CMake build directory")
    subprocess.run(["cmake", "--install", str(build), "--prefix", str(tmp_path / "a")],
                   check=True, capture_output=True, timeout=300)
    shutil.move(tmp_path / "a", tmp_path / "b")
    binary = tmp_path / "b" / "bin" / "inlet"
    dynamic = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True, check=True).stdout
    assert "[$ORIGIN/../lib/inlet]" in dynamic, dynamic
    libs = subprocess.run(["ldd", str(binary)], capture_output=True, text=True, check=True).stdout
    for name in ("libarrow.so", "libparquet.so", "libarrow_compute.so"):
        line = next(x for x in libs.splitlines() if name in x)
        resolved = os.path.normpath(line.split("=>")[1].split("(")[0].strip())
        assert resolved.startswith(str(tmp_path / "b" / "lib" / "inlet")), line
    assert "not found" not in libs, libs
    (tmp_path / "a.csv").write_text("id\n1\n2\n")
    subprocess.run([str(binary), "write", str(tmp_path / "t"), "--input", str(tmp_path / "a.csv")],
                   check=True, capture_output=True, timeout=60)
    out = subprocess.run([str(binary), "scan", str(tmp_path / "t")], check=True, capture_output=True,
                         text=True, timeout=60).stdout
    assert out.split() == ["\"id\"", "1", "2"], out
