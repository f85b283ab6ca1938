"""Bad logs, bad files, bad schemas: inlet refuses cleanly and leaves the log untouched.

Each case builds a small valid table with inlet, damages something (or tries something
illegal), snapshots the bytes of every file under `_delta_log`, runs inlet, and asserts:
a non-zero exit, exactly one line on stderr starting "inlet: error:" that names the
problem (file, version, feature or column), and a `_delta_log` byte-identical afterwards.
"""

from __future__ import annotations

import json
import pathlib
import re

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import oracle
import support


def _rows(start: int, count: int) -> pa.Table:
    ids = list(range(start, start + count))
    return pa.table(
        {
            "id": pa.array(ids, pa.int64()),
            "amount_cents": pa.array([i * 100 for i in ids], pa.int64()),
            "name": pa.array([f"row {i}" for i in ids]),
        }
    )


@pytest.fixture
def small_table(tmp_path) -> pathlib.Path:
    """A two-commit table (versions 0 and 1) written by inlet."""
    table = tmp_path / "table"
    support.write(table, _rows(0, 5), work_dir=tmp_path / "in")
    support.write(table, _rows(100, 3), work_dir=tmp_path / "in")
    assert oracle.commit_versions(table) == [0, 1]
    return table


def _commit(table: pathlib.Path, version: int) -> pathlib.Path:
    return table / "_delta_log" / f"{version:020d}.json"


def _append_input(tmp_path: pathlib.Path, data: pa.Table | None = None) -> pathlib.Path:
    path = tmp_path / "append.parquet"
    pq.write_table(data if data is not None else _rows(1000, 2), path)
    return path


def _refuse_and_keep_log(table: pathlib.Path, *args: object) -> str:
    """Run inlet ARGS, expect a clean refusal, and the log unchanged; return the line."""
    before = support.log_snapshot(table)
    line = support.expect_refusal(*args)
    after = support.log_snapshot(table)
    assert after.keys() == before.keys(), (
        f"_delta_log files changed: added {sorted(after.keys() - before.keys())}, "
        f"removed {sorted(before.keys() - after.keys())}"
    )
    changed = [name for name in before if before[name] != after[name]]
    assert not changed, f"_delta_log files rewritten: {changed}"
    return line


def _names_version(line: str, version: int) -> bool:
    return f"{version:020d}.json" in line or re.search(rf"version\D{{0,3}}{version}\b", line) is not None


def _scan_args(table: pathlib.Path, tmp_path: pathlib.Path, *extra: object) -> list[object]:
    return ["scan", table, *extra, "--output-format", "parquet", "--output", tmp_path / "out.parquet"]


def _truncate_mid_line(data: bytes) -> bytes:
    """A prefix of ``data`` whose last line is cut short (so it is not valid JSON)."""
    for cut in range(len(data) // 2, len(data) - 1):
        tail = data[:cut].rsplit(b"\n", 1)[-1]
        if tail.strip():
            try:
                json.loads(tail)
            except ValueError:
                return data[:cut]
    raise AssertionError("could not find a cut that breaks a JSON line")


# ---------------------------------------------------------------------------------------
# Damaged logs


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_damaged_last_commit(small_table, tmp_path, damage):
    commit = _commit(small_table, 1)
    if damage == "truncated":
        commit.write_bytes(_truncate_mid_line(commit.read_bytes()))
    else:
        commit.write_bytes(b"\x00\xffnot json at all {{{\n\x01\x02")

    with pytest.raises(oracle.OracleRefused):  # the oracle agrees that this log is broken
        oracle.read_deltalake(small_table)

    line = _refuse_and_keep_log(small_table, *_scan_args(small_table, tmp_path))
    assert _names_version(line, 1), f"the error should name commit 1 or its file: {line}"

    # Appending on top of a broken log must not commit anything.
    line = _refuse_and_keep_log(
        small_table, "write", small_table, "--input", _append_input(tmp_path), "--input-format", "parquet"
    )
    assert _names_version(line, 1), f"the error should name commit 1 or its file: {line}"


def test_missing_data_file(small_table, tmp_path):
    adds = [
        json.loads(line)["add"]
        for line in _commit(small_table, 1).read_text().splitlines()
        if line.strip() and "add" in json.loads(line)
    ]
    assert adds, "setup: commit 1 has no add action"
    from urllib.parse import unquote

    victim = small_table / unquote(adds[0]["path"])
    assert victim.exists(), f"setup: {victim} does not exist"
    victim.unlink()

    line = _refuse_and_keep_log(small_table, *_scan_args(small_table, tmp_path))
    assert victim.name in line, f"the error should name the missing file {victim.name}: {line}"

    # Version 0 does not need the file and stays readable.
    got = support.scan(small_table, "--version", 0, out_dir=tmp_path / "v0")
    oracle.assert_tables_equal(got, _rows(0, 5), "scan --version 0 with a file of v1 missing")


def _set_protocol(table: pathlib.Path, protocol: dict) -> None:
    """Replace every protocol action in the table's commits by ``protocol``."""
    replaced = 0
    for commit in sorted((table / "_delta_log").glob("*.json")):
        lines = commit.read_text().splitlines()
        out = []
        for line in lines:
            if line.strip() and "protocol" in json.loads(line):
                line = json.dumps({"protocol": protocol})
                replaced += 1
            out.append(line)
        commit.write_text("\n".join(out) + "\n")
    assert replaced, "setup: no protocol action found in the commits"


def test_unsupported_reader_feature(small_table, tmp_path):
    _set_protocol(
        small_table,
        {
            "minReaderVersion": 3,
            "minWriterVersion": 7,
            "readerFeatures": ["someFutureFeature"],
            "writerFeatures": ["someFutureFeature"],
        },
    )
    with pytest.raises(oracle.OracleRefused, match="someFutureFeature"):
        oracle.read_deltalake(small_table)

    line = _refuse_and_keep_log(small_table, *_scan_args(small_table, tmp_path))
    assert "someFutureFeature" in line, line
    line = _refuse_and_keep_log(small_table, "info", small_table, "--json")
    assert "someFutureFeature" in line, line
    line = _refuse_and_keep_log(
        small_table, "write", small_table, "--input", _append_input(tmp_path), "--input-format", "parquet"
    )
    assert "someFutureFeature" in line, line


def test_unsupported_writer_feature_blocks_writes_only(small_table, tmp_path):
    _set_protocol(
        small_table,
        {"minReaderVersion": 1, "minWriterVersion": 7, "writerFeatures": ["someFutureWriterFeature"]},
    )
    expected = pa.concat_tables([_rows(0, 5), _rows(100, 3)])
    # Readers do not care about writer features.
    oracle.assert_tables_equal(oracle.read_deltalake(small_table), expected, "deltalake")
    got = support.scan(small_table, out_dir=tmp_path / "out")
    oracle.assert_tables_equal(got, expected, "inlet scan with an unknown writer feature")
    line = _refuse_and_keep_log(
        small_table, "write", small_table, "--input", _append_input(tmp_path), "--input-format", "parquet"
    )
    assert "someFutureWriterFeature" in line, line


# ---------------------------------------------------------------------------------------
# Bad writes


def test_append_with_incompatible_column_type(small_table, tmp_path):
    bad = _rows(1000, 2).set_column(
        1, "amount_cents", pa.array(["twelve", "thirteen"], pa.string())
    )
    line = _refuse_and_keep_log(
        small_table, "write", small_table, "--input", _append_input(tmp_path, bad), "--input-format", "parquet"
    )
    assert "amount_cents" in line, f"the error should name the column: {line}"
    # The table still reads as before.
    expected = pa.concat_tables([_rows(0, 5), _rows(100, 3)])
    oracle.assert_tables_equal(oracle.read_deltalake(small_table), expected, "deltalake after refused write")


def test_write_with_missing_input_file(small_table, tmp_path):
    missing = tmp_path / "no-such-input.parquet"
    line = _refuse_and_keep_log(
        small_table, "write", small_table, "--input", missing, "--input-format", "parquet"
    )
    assert missing.name in line, line


def test_write_with_corrupt_input_file(small_table, tmp_path):
    corrupt = tmp_path / "corrupt.parquet"
    corrupt.write_bytes(b"PAR1 this is not really parquet")
    line = _refuse_and_keep_log(
        small_table, "write", small_table, "--input", corrupt, "--input-format", "parquet"
    )
    assert corrupt.name in line, line


@pytest.mark.parametrize("fmt, text", [
    ("ndjson", b'{"id": 1, "name": "a"}\n{"id": 2, "name": "caf\xe9"}\n'),
    ("json", b'[{"id": 1, "name": "a"},\n {"id": 2, "name": "caf\xe9"}]'),
])
def test_write_with_text_that_is_not_utf8(small_table, tmp_path, fmt, text):
    # Latin-1 bytes in a JSON string: a table's strings are UTF-8, so the file is refused
    # at its line rather than its bytes passed on to every reader of the table.
    bad = tmp_path / f"latin1.{fmt}"
    bad.write_bytes(text)
    line = _refuse_and_keep_log(small_table, "write", small_table, "--input", bad)
    assert bad.name in line and "line 2" in line, line


@pytest.mark.parametrize("text, needle", [
    (b'{"id": 1}\nnull\n', "line 2: null where a record"),
    (b'null', "line 1: null where a record"),
    (b'{"id": 1}\n{"id": 2}\n7\n', "line 3: a value that is not an object"),
])
def test_write_with_a_json_line_that_is_not_a_record(small_table, tmp_path, text, needle):
    # A top-level null once crashed Arrow's JSON reader (found by fuzzing); other values
    # became rows of nulls. Each is refused at its line.
    bad = tmp_path / "records.ndjson"
    bad.write_bytes(text)
    line = _refuse_and_keep_log(small_table, "write", small_table, "--input", bad)
    assert bad.name in line and needle in line, line


def test_failed_create_leaves_no_table(tmp_path):
    table = tmp_path / "new-table"
    line = support.expect_refusal(
        "write", table, "--input", tmp_path / "absent.parquet", "--input-format", "parquet"
    )
    assert "absent.parquet" in line, line
    assert not list(table.glob("_delta_log/*.json")), "a failed first write must not create a table"


def test_write_to_a_regular_file(tmp_path):
    path = tmp_path / "plain-file"
    path.write_bytes(b"not a table\n")
    data = _append_input(tmp_path)
    line = support.expect_refusal("write", path, "--input", data, "--input-format", "parquet")
    assert path.name in line, f"the error should name the path: {line}"
    assert path.read_bytes() == b"not a table\n", "the file must be left alone"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["append.parquet", "plain-file"]

    line = support.expect_refusal(*_scan_args(path, tmp_path))
    assert "not a delta table" in line.lower() or path.name in line, line


@pytest.mark.parametrize("args,needle", [
    (["--mode", "upsert", "--missing", "keep"], "--missing applies only to --mode snapshot"),
    (["--mode", "snapshot", "--missing", "soft_delete"], "--soft-delete-column"),
    (["--mode", "snapshot", "--missing", "erase"], "unknown --missing 'erase'"),
    (["--mode", "snapshot", "--delete-flag", "name"], "snapshot mode takes no"),
    (["--mode", "snapshot", "--missing", "soft_delete", "--soft-delete-column", "gone"], "column 'gone' is not in the table"),
])
def test_snapshot_merge_options_are_checked(small_table, tmp_path, args, needle):
    """Snapshot merges refuse options that do not fit them, naming what is wrong; the table
    stays as it was (a soft-delete column the table lacks needs --merge-schema)."""
    line = _refuse_and_keep_log(small_table, "merge", small_table, "--input", _append_input(tmp_path),
                                "--keys", "id", *args)
    assert needle in line, line


@pytest.mark.parametrize("text, line_no", [
    (b"id,amount_cents,name\n1,100,a\n2,200,b,extra\n", 3),
    (b"id,amount_cents,name\n1,100,a\n2,200,b\n3,300\n", 4),
])
def test_write_with_a_csv_row_of_the_wrong_width(small_table, tmp_path, text, line_no):
    bad = tmp_path / "rows.csv"
    bad.write_bytes(text)
    line = _refuse_and_keep_log(small_table, "write", small_table, "--input", bad)
    assert bad.name in line and f"row {line_no} (the header counted)" in line and "fields" in line, line


def test_merge_with_an_update_column_the_table_lacks(small_table, tmp_path):
    line = _refuse_and_keep_log(small_table, "merge", small_table, "--input", _append_input(tmp_path),
                                "--input-format", "parquet", "--keys", "id", "--update-columns", "nosuch")
    assert "'nosuch'" in line and "not a column of the table" in line, line


@pytest.mark.parametrize("command", ["scan", "restore"])
def test_a_negative_version_is_refused(small_table, tmp_path, command):
    args = _scan_args(small_table, tmp_path, "--version", "-1") if command == "scan" else \
        ["restore", small_table, "--version", "-1"]
    line = _refuse_and_keep_log(small_table, *args)
    assert "--version" in line, line


def test_restoring_an_iceberg_table_says_what_to_do_instead(tmp_path):
    table = tmp_path / "ice"
    support.write(table, _rows(0, 3), "--format", "iceberg", work_dir=tmp_path / "in")
    support.write(table, _rows(10, 3), work_dir=tmp_path / "in")
    line = support.expect_refusal("restore", table, "--version", "1")
    assert "does not restore Iceberg tables" in line and "rollback_to_snapshot" in line, line
    assert "does not write them" not in line


def test_a_dry_run_refuses_a_redundant_iceberg_partitioning(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    (src / "a.ndjson").write_text('{"id": 1, "ts": "2024-05-01T08:00:00Z"}\n')
    pipeline = tmp_path / "p.yaml"
    pipeline.write_text(f"""
pipelines:
  - name: parking
    source: {{type: files, path: {src}, format: ndjson, schema: {{id: int, ts: timestamp}}}}
    strategy: {{type: full_refresh}}
    destination:
      path: {tmp_path / 't'}
      format: iceberg
      partition_by: ["day(ts)", "hour(ts)"]
""")
    for dry in (["--dry-run"], []):
        line = support.expect_refusal("run", pipeline, *dry)
        assert "p.yaml:" in line and "hour(ts)" in line and "redundant" in line, line
    assert not (tmp_path / "t").exists()
