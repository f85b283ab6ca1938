"""Pipeline files: a hand-written YAML with comments, `${VAR}` expansion, `--pipeline`,
and the errors for bad files and bad input data.

Every error is one line, `inlet: error: ...`, exit status 1, naming the file and line (and
the key) for a bad pipeline file, or the data file (row, column) for bad input; the table
is left exactly as it was, or not created.
"""

from __future__ import annotations

import re

import pytest

import pipeline_support as ps

# A pipeline file as a person writes it: comments, flow lists, quoted and bare scalars.
BASE = """\
# Pipelines for the config tests.
pipelines:
  - name: events            # letters, digits and _.- only
    source:
      type: files
      path: src/*.csv       # relative to this file
      format: csv
      schema:
        id: long
        ts: timestamp
        amount: int
        v: string
    destination:
      path: table
      keys: [id]            # a flow list
    strategy:
      type: watermark
      cursor: ts
      inclusive: false
    quality:
      min_rows: 0
      null_keys: fail
      schema_drift: "fail"  # quoted works too
"""

SCHEMA = {"id": "long", "ts": "timestamp", "amount": "int", "v": "string"}


def _rows(ids, hour0=0):
    return [{"id": i, "ts": ps.hours(hour0 + k), "amount": 10 * i, "v": f"v{i}"}
            for k, i in enumerate(ids)]


def _setup(tmp_path, text=BASE, rows=None):
    yaml = tmp_path / "pipelines.yaml"
    yaml.write_text(text)
    ps.write_source(tmp_path / "src" / "a.csv", _rows(range(4)) if rows is None else rows)
    return yaml


def _edit(old, new, text=BASE):
    assert old in text, f"test setup: {old!r} not in BASE"
    return text.replace(old, new, 1)


def test_hand_written_yaml_with_comments(tmp_path):
    yaml = _setup(tmp_path)
    report = ps.run(yaml).report
    assert (report["pipeline"], report["status"], report["rows_written"]) == (
        "events", "committed", 4), report
    assert ps.parse_watermark(report["watermark_after"], "ts") == ps.hours(3), report
    ps.assert_table(tmp_path / "table", _rows(range(4)), SCHEMA)


def test_relative_paths_are_relative_to_the_yaml_file(tmp_path):
    yaml = _setup(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    ps.run(yaml, cwd=elsewhere)
    assert not (elsewhere / "table").exists(), "the table went relative to the cwd"
    ps.assert_table(tmp_path / "table", _rows(range(4)), SCHEMA)


# ---------------------------------------------------------------------------------------
# bad pipeline files

# (id, old text, new text, the line to name (its marker text), words the error must hold)
BAD_FILES = [
    ("unknown_key", "      null_keys: fail\n", "      null_keys: fail\n      colour: red\n",
     "colour: red", ["colour"]),
    ("wrong_type", "min_rows: 0", 'min_rows: "abc"', "min_rows", ["min_rows"]),
    ("unknown_strategy", "type: watermark", "type: upsert", "upsert",
     ["strategy.type", "upsert"]),
    ("unknown_enum", "null_keys: fail", "null_keys: sometimes", "sometimes", ["null_keys"]),
    ("unknown_source_type", "type: files", "type: carrier_pigeon", "carrier_pigeon",
     ["source.type"]),
    ("unknown_column_type", "amount: int", "amount: int128", "int128", ["amount"]),
    ("bad_duration", "      inclusive: false\n", "      inclusive: false\n      lookback: soon\n",
     "lookback", ["lookback"]),
    ("bad_name", "name: events ", "name: my/events ", "my/events", ["name"]),
    ("unset_variable", "path: table", "path: ${INLET_TEST_SURELY_UNSET}/table",
     "INLET_TEST_SURELY_UNSET", ["INLET_TEST_SURELY_UNSET"]),
]


@pytest.mark.parametrize("case", BAD_FILES, ids=[c[0] for c in BAD_FILES])
def test_bad_pipeline_file(tmp_path, case):
    _, old, new, marker, words = case
    text = _edit(old, new)
    yaml = _setup(tmp_path, text)
    line = ps.run_refused(yaml, env={"INLET_TEST_SURELY_UNSET": None})
    number = ps.line_of(text, marker)
    assert re.search(rf"pipelines\.yaml:{number}\b", line), (
        f"the error should name pipelines.yaml:{number}: {line}")
    for word in words:
        assert word in line, f"the error should name {word!r}: {line}"
    assert ps.table_absent(tmp_path / "table"), "a bad pipeline file created the table"


def test_missing_required_key(tmp_path):
    text = _edit("      cursor: ts\n", "")
    yaml = _setup(tmp_path, text)
    line = ps.run_refused(yaml)
    assert "cursor" in line, line
    m = re.search(r"pipelines\.yaml:(\d+)", line)
    assert m, f"the error should name the file and line: {line}"
    first = ps.line_of(text, "strategy:")
    assert first <= int(m.group(1)) <= first + 2, (
        f"the line should point into the strategy block (lines {first}..{first + 2}): {line}")
    assert ps.table_absent(tmp_path / "table")


def test_invalid_yaml_syntax(tmp_path):
    yaml = _setup(tmp_path, _edit("keys: [id]", "keys: [id"))
    line = ps.run_refused(yaml)
    assert re.search(r"pipelines\.yaml:\d+", line), f"the error should name file and line: {line}"
    assert ps.table_absent(tmp_path / "table")


def test_duplicate_pipeline_names(tmp_path):
    one = ps.pipeline("same", path="src/*.csv", fmt="csv", dest="t1", schema=SCHEMA,
                      strategy={"type": "append"})
    two = dict(one, destination={"path": "t2"})
    yaml = ps.write_pipelines(tmp_path / "pipelines.yaml", one, two)
    ps.write_source(tmp_path / "src" / "a.csv", _rows(range(2)))
    line = ps.run_refused(yaml)
    assert "same" in line and "pipelines.yaml" in line, line
    assert ps.table_absent(tmp_path / "t1") and ps.table_absent(tmp_path / "t2")


def test_existing_table_unchanged_by_bad_file(tmp_path):
    yaml = _setup(tmp_path)
    ps.run(yaml)
    before = ps.snapshot_log(tmp_path / "table")
    yaml.write_text(_edit("min_rows: 0", "min_rows: lots"))
    ps.write_source(tmp_path / "src" / "b.csv", _rows([10], hour0=20))
    line = ps.run_refused(yaml)
    assert "min_rows" in line, line
    ps.assert_log_unchanged(tmp_path / "table", before, "bad pipeline file")


# ---------------------------------------------------------------------------------------
# variables


def test_variable_expansion(tmp_path):
    dest = tmp_path / "dest from env"
    text = _edit("path: table", "path: ${INLET_TEST_DEST}")
    text = _edit("path: src/*.csv", "path: ${INLET_TEST_SRC:-nowhere}/*.csv", text)
    yaml = _setup(tmp_path, text)
    ps.run(yaml, env={"INLET_TEST_DEST": str(dest), "INLET_TEST_SRC": "src"})
    ps.assert_table(dest, _rows(range(4)), SCHEMA, "table at ${INLET_TEST_DEST}")
    assert not (tmp_path / "nowhere").exists()


def test_variable_default(tmp_path):
    text = _edit("path: table", "path: ${INLET_TEST_UNSET_DEST:-fallback}/t")
    yaml = _setup(tmp_path, text)
    ps.run(yaml, env={"INLET_TEST_UNSET_DEST": None})
    ps.assert_table(tmp_path / "fallback" / "t", _rows(range(4)), SCHEMA,
                    "table at the default, relative to the YAML file")


# ---------------------------------------------------------------------------------------
# bad input data


def _good_then_bad(tmp_path, bad_name, bad_text):
    """A table loaded from a.csv; then ``bad_name`` is added; the run must refuse."""
    yaml = _setup(tmp_path)
    ps.run(yaml)
    (tmp_path / "src" / bad_name).write_text(bad_text)
    before = ps.snapshot_log(tmp_path / "table")
    line = ps.run_refused(yaml)
    ps.assert_log_unchanged(tmp_path / "table", before, f"bad input {bad_name}")
    ps.assert_table(tmp_path / "table", _rows(range(4)), SCHEMA, "after bad input")
    assert bad_name in line, f"the error should name the file {bad_name}: {line}"
    return ps.without_paths(line, tmp_path)


def test_malformed_csv_row(tmp_path):
    _good_then_bad(tmp_path, "b.csv", "id,ts,amount,v\n"
                   "10,2024-03-02T00:00:00Z,1,a\n"
                   "11,2024-03-02T01:00:00Z,2,b,EXTRA,FIELDS\n"
                   "12,2024-03-02T02:00:00Z,3,c\n")


@pytest.mark.parametrize("value", ["abc", "3000000000", "1.5"], ids=["text", "overflow", "fraction"])
def test_value_not_fitting_declared_type(tmp_path, value):
    rows = [f"{10 + k},2024-03-02T0{k}:00:00Z,{k},x" for k in range(6)]
    rows[4] = f"14,2024-03-02T04:00:00Z,{value},x"  # data row 5, file line 6
    line = _good_then_bad(tmp_path, "b.csv", "id,ts,amount,v\n" + "\n".join(rows) + "\n")
    assert "amount" in line, f"the error should name the column: {line}"
    assert ps.has_number(line, 5) or ps.has_number(line, 6), (
        f"the error should name the row (data row 5 or line 6): {line}")


def test_bad_timestamp_value(tmp_path):
    line = _good_then_bad(tmp_path, "b.csv", "id,ts,amount,v\n"
                          "10,2024-03-02T00:00:00Z,1,a\n"
                          "11,yesterday-ish,2,b\n")
    assert "ts" in line, line


def _ndjson_pipeline(tmp_path):
    config = ps.pipeline("js", path="src/*.ndjson", fmt="ndjson", dest="table", schema=SCHEMA,
                         keys=["id"], strategy={"type": "append"})
    yaml = ps.write_pipelines(tmp_path / "pipelines.yaml", config)
    ps.write_source(tmp_path / "src" / "a.ndjson", _rows(range(3)))
    ps.run(yaml)
    return yaml


@pytest.mark.parametrize("bad", [
    '{"id": 10, "ts": "2024-03-02T00:00:00Z", "amount": 1, "v": "a"}\n{"id": 11, "ts": \n',
    '{"id": 10, "ts": "2024-03-02T00:00:00Z", "amount": "lots", "v": "a"}\n',
], ids=["malformed", "wrong_type"])
def test_bad_json_input(tmp_path, bad):
    yaml = _ndjson_pipeline(tmp_path)
    (tmp_path / "src" / "b.ndjson").write_text(bad)
    before = ps.snapshot_log(tmp_path / "table")
    line = ps.run_refused(yaml)
    ps.assert_log_unchanged(tmp_path / "table", before, "bad JSON input")
    assert "b.ndjson" in line, f"the error should name the file: {line}"
    if "lots" in bad:
        assert "amount" in line, f"the error should name the column: {line}"
    else:  # the second line is broken; a row number, when given, must point at it
        rows = re.findall(r"\b(?:row|line) (\d+)", line)
        assert all(int(r) == 2 for r in rows), f"the error names the wrong row: {line}"
    ps.assert_table(tmp_path / "table", _rows(range(3)), SCHEMA)


def test_missing_source_path(tmp_path):
    yaml = _setup(tmp_path, _edit("path: src/*.csv", "path: not_there.csv"))
    line = ps.run_refused(yaml)
    assert "not_there.csv" in line, line
    assert ps.table_absent(tmp_path / "table")


# ---------------------------------------------------------------------------------------
# --pipeline


def _three(tmp_path):
    ps.write_source(tmp_path / "src" / "a.csv", _rows(range(3)))
    pipes = [ps.pipeline(n, path="src/*.csv", fmt="csv", dest=f"t_{n}", schema=SCHEMA,
                         strategy={"type": "append"}) for n in ("one", "two", "three")]
    return ps.write_pipelines(tmp_path / "pipelines.yaml", *pipes)


def test_run_all_pipelines_in_order(tmp_path):
    yaml = _three(tmp_path)
    res = ps.run(yaml)
    assert [r["pipeline"] for r in res.reports] == ["one", "two", "three"], res.reports
    for n in ("one", "two", "three"):
        ps.assert_table(tmp_path / f"t_{n}", _rows(range(3)), SCHEMA, n)


def test_select_one_pipeline(tmp_path):
    yaml = _three(tmp_path)
    res = ps.run(yaml, "--pipeline", "two")
    assert [r["pipeline"] for r in res.reports] == ["two"], res.reports
    ps.assert_table(tmp_path / "t_two", _rows(range(3)), SCHEMA)
    assert ps.table_absent(tmp_path / "t_one") and ps.table_absent(tmp_path / "t_three")


def test_select_unknown_pipeline(tmp_path):
    yaml = _three(tmp_path)
    line = ps.run_refused(yaml, "--pipeline", "four")
    assert "four" in line, line
    for n in ("one", "two", "three"):
        assert ps.table_absent(tmp_path / f"t_{n}")


def test_missing_pipeline_file(tmp_path):
    line = ps.run_refused(tmp_path / "absent.yaml")
    assert "absent.yaml" in line, line



def _bad_then_good(tmp_path):
    ps.write_source(tmp_path / "src" / "a.csv", _rows(range(3)))
    bad = ps.pipeline("bad", path="src/*.csv", fmt="csv", dest="t_bad", schema=SCHEMA,
                      strategy={"type": "full_refresh"}, quality={"min_rows": 100})
    good = ps.pipeline("good", path="src/*.csv", fmt="csv", dest="t_good", schema=SCHEMA,
                       strategy={"type": "full_refresh"})
    yaml = ps.write_pipelines(tmp_path / "pipelines.yaml", bad, good)
    proc = ps.cli("run", yaml, "--json", cwd=tmp_path, check=False)
    line = ps.support.check_refusal(proc)
    assert proc.returncode == 1 and "bad" in line and "min_rows" in line, line
    assert ps.table_absent(tmp_path / "t_bad")
    return proc


def test_failed_pipeline_gets_a_failed_report(tmp_path):
    """`failed` is a report status: with --json the failed pipeline still has its line."""
    proc = _bad_then_good(tmp_path)
    reports = {r.get("pipeline"): r for r in ps.parse_reports(proc.stdout)}
    assert "bad" in reports, f"no report line for the failed pipeline: {proc.stdout!r}"
    assert reports["bad"]["status"] == "failed", reports["bad"]
    assert reports["bad"]["rows_written"] == 0, reports["bad"]


def test_other_pipelines_run_after_a_failure(tmp_path):
    """`run` runs every pipeline in the file; exit 1 says that not all succeeded."""
    proc = _bad_then_good(tmp_path)
    ps.assert_table(tmp_path / "t_good", _rows(range(3)), SCHEMA, "the pipeline after a failure")
    reports = {r.get("pipeline"): r for r in ps.parse_reports(proc.stdout)}
    assert reports.get("good", {}).get("status") == "committed", proc.stdout


# ---------------------------------------------------------------------------------------
# source.schema types

ALL_TYPES = {
    "s": ("string", "string"), "i": ("int", "integer"), "l": ("long", "long"),
    "sh": ("short", "short"), "b": ("byte", "byte"), "f": ("float", "float"),
    "d": ("double", "double"), "bo": ("boolean", "boolean"), "dt": ("date", "date"),
    "ts": ("timestamp", "timestamp"), "tn": ("timestamp_ntz", "timestamp_ntz"),
    "dec": ("decimal(10,2)", "decimal(10,2)"),
}


def test_declared_types(tmp_path):
    import datetime
    import decimal

    import pyarrow as pa

    rows = [
        {"s": "x", "i": -2147483648, "l": 2**40, "sh": -32768, "b": 127, "f": 1.5, "d": 0.1,
         "bo": True, "dt": datetime.date(2024, 2, 29),
         "ts": datetime.datetime(2024, 3, 1, 12, 30, 0, 250000, tzinfo=ps.UTC),
         "tn": datetime.datetime(2024, 3, 1, 12, 30), "dec": decimal.Decimal("12345678.90")},
        {"s": "y", "i": 7, "l": -1, "sh": 0, "b": -128, "f": -0.25, "d": 1e300,
         "bo": False, "dt": datetime.date(1970, 1, 1),
         "ts": datetime.datetime(1999, 12, 31, 23, 59, 59, tzinfo=ps.UTC),
         "tn": datetime.datetime(2000, 1, 1, 0, 0, 1), "dec": decimal.Decimal("-0.05")},
    ]
    lines = [",".join(ALL_TYPES)]
    for r in rows:
        cells = []
        for name in ALL_TYPES:
            v = r[name]
            if name == "tn":
                cells.append(v.isoformat())
            elif isinstance(v, bool):
                cells.append("true" if v else "false")
            else:
                cells.append(str(ps.text_value(v)))
        lines.append(",".join(cells))
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.csv").write_text("\n".join(lines) + "\n")
    schema = {name: t for name, (t, _) in ALL_TYPES.items()}
    yaml = ps.write_pipelines(tmp_path / "p.yaml", ps.pipeline(
        "types", path="src/a.csv", dest="table", schema=schema, strategy={"type": "append"}))
    ps.run(yaml)
    got = {f["name"]: f["type"] for f in ps.info(tmp_path / "table")["schema"]}
    assert got == {name: delta for name, (_, delta) in ALL_TYPES.items()}, got
    arrow = {name: (pa.decimal128(10, 2) if t.startswith("decimal") else t)
             for name, t in schema.items()}
    ps.assert_table(tmp_path / "table", rows, arrow, "every declared type")


@pytest.mark.parametrize("fmt", ["ndjson", "json"])
def test_declared_column_absent_from_json_file_reads_null(tmp_path, fmt):
    schema = {**SCHEMA, "note": "string"}
    rows = _rows(range(3))
    ps.write_source(tmp_path / "src" / f"a.{fmt}", rows)  # no "note" anywhere
    yaml = ps.write_pipelines(tmp_path / "p.yaml", ps.pipeline(
        "absent", path=f"src/*.{fmt}", fmt=fmt, dest="table", schema=schema,
        strategy={"type": "append"}))
    ps.run(yaml)
    ps.assert_table(tmp_path / "table", rows, schema, "declared column absent from the file")
