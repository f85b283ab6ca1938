"""The same data gives the same types whatever its input format (issue 20, item 2.1).

RFC 3339 text with a zone ("Z", "+02:00") is a UTC timestamp, a bare date is a date, a time
without a zone is a timestamp_ntz, in CSV and in JSON (arrays and NDJSON), through
`inlet write` and through pipelines; columns keep the file's order; `inlet scan
--output-format ndjson` written back gives the same schema. Tables are read by deltalake.
"""

from __future__ import annotations

import datetime
import json

import pyarrow as pa
import pytest

import oracle
import pipeline_support as ps
import support

UTC = datetime.timezone.utc
ROWS = [
    {"z": "2024-03-09T00:00:00Z", "day": "2024-03-09", "local": "2024-03-09T01:02:03",
     "offset": "2024-03-09T02:00:00+02:00", "name": "a"},
    {"z": "2024-03-10T12:30:00.5Z", "day": "2024-03-10", "local": "2024-03-10T00:00:00",
     "offset": "2024-03-10T00:00:00-01:00", "name": "b"},
]
EXPECTED = pa.schema([
    ("z", pa.timestamp("us", "UTC")), ("day", pa.date32()), ("local", pa.timestamp("us")),
    ("offset", pa.timestamp("us", "UTC")), ("name", pa.string()),
])


def _write_inputs(tmp_path):
    cols = list(ROWS[0])
    (tmp_path / "in.csv").write_text(",".join(cols) + "\n" + "".join(
        ",".join(r[c] for c in cols) + "\n" for r in ROWS))
    (tmp_path / "in.ndjson").write_text("".join(json.dumps(r) + "\n" for r in ROWS))
    (tmp_path / "in.json").write_text(json.dumps(ROWS))
    return ["in.csv", "in.ndjson", "in.json"]


def _check(table, context):
    got = oracle.read_deltalake(table)
    assert got.schema.names == EXPECTED.names, (context, got.schema)
    for f in EXPECTED:
        t = got.schema.field(f.name).type
        t = pa.string() if t == pa.string_view() else t
        assert t == f.type, (context, f.name, t)
    rows = sorted(got.to_pylist(), key=lambda r: r["name"])
    assert rows[0]["z"] == datetime.datetime(2024, 3, 9, tzinfo=UTC), (context, rows[0])
    assert rows[0]["offset"] == datetime.datetime(2024, 3, 9, tzinfo=UTC), (context, rows[0])
    assert rows[1]["offset"] == datetime.datetime(2024, 3, 10, 1, tzinfo=UTC), (context, rows[1])
    assert rows[1]["z"] == datetime.datetime(2024, 3, 10, 12, 30, 0, 500000, tzinfo=UTC), (context, rows[1])
    assert rows[0]["day"] == datetime.date(2024, 3, 9) and rows[0]["local"] == datetime.datetime(2024, 3, 9, 1, 2, 3)


@pytest.mark.parametrize("name", ["in.csv", "in.ndjson", "in.json"])
def test_write_types_the_same_data_alike(tmp_path, name):
    _write_inputs(tmp_path)
    table = tmp_path / "t"
    support.run_inlet("write", table, "--input", tmp_path / name)
    _check(table, name)
    # Written back from a scan's NDJSON: the same schema.
    out = tmp_path / "scan.ndjson"
    support.run_inlet("scan", table, "--output-format", "ndjson", "-o", out)
    support.run_inlet("write", tmp_path / "again", "--input", out)
    _check(tmp_path / "again", f"{name}, scanned and written again")


@pytest.mark.parametrize("name", ["in.csv", "in.ndjson", "in.json"])
def test_pipelines_type_the_same_data_alike(tmp_path, name):
    _write_inputs(tmp_path)
    yaml = ps.write_pipelines(tmp_path / "p.yaml", ps.pipeline(
        "p", path=name, dest="table", strategy={"type": "append"}))
    assert ps.run(yaml).report["status"] == "committed"
    _check(tmp_path / "table", f"inlet run of {name}")


# ---------------------------------------------------------------------------------------
# CSV options and compressed input (issue 20, item 2.2)


def _compress(path, text, codec):
    import pyarrow as pa
    with pa.CompressedOutputStream(str(path), codec) as out:
        out.write(text.encode())
    return path


def _table_rows(table):
    return sorted(oracle.read_deltalake(table).to_pylist(), key=lambda r: str(r))


def test_csv_options_of_inlet_write(tmp_path):
    (tmp_path / "a.tsv").write_text("id\tname\n1\tx\n2\ty\n")
    support.run_inlet("write", tmp_path / "tsv", "--input", tmp_path / "a.tsv")
    assert _table_rows(tmp_path / "tsv") == [{"id": 1, "name": "x"}, {"id": 2, "name": "y"}]

    (tmp_path / "b.txt").write_text("1;'a;b'\n2;'it\\'s'\n")
    support.run_inlet("write", tmp_path / "semi", "--input", tmp_path / "b.txt", "--input-format", "csv",
                      "--csv-delimiter", ";", "--csv-no-header", "--csv-quote", "'", "--csv-escape", "\\")
    assert _table_rows(tmp_path / "semi") == [{"f0": 1, "f1": "a;b"}, {"f0": 2, "f1": "it's"}]

    (tmp_path / "c.CSV").write_text("id,name\n1,NULL\n2,\\N\n3,\n4,text\n")
    support.run_inlet("write", tmp_path / "nulls", "--input", tmp_path / "c.CSV",
                      "--csv-null", "NULL", "--csv-null", "\\N", "--csv-null", "")
    got = {r["id"]: r["name"] for r in oracle.read_deltalake(tmp_path / "nulls").to_pylist()}
    assert got == {1: None, 2: None, 3: None, 4: "text"}, got
    line = support.check_refusal(support.run_inlet(
        "write", tmp_path / "bad", "--input", tmp_path / "c.CSV", "--csv-delimiter", "ab", check=False))
    assert "--csv-delimiter" in line, line


@pytest.mark.parametrize("name,codec", [("a.csv.gz", "gzip"), ("a.ndjson.zst", "zstd"),
                                        ("a.json.gz", "gzip"), ("hidden-gzip.csv", "gzip")])
def test_compressed_input_is_read_decompressed(tmp_path, name, codec):
    rows = [{"id": 1, "name": "x"}, {"id": 2, "name": "y"}]
    if ".csv" in name:
        text = "id,name\n1,x\n2,y\n"
    elif ".ndjson" in name:
        text = "".join(json.dumps(r) + "\n" for r in rows)
    else:
        text = json.dumps(rows)
    _compress(tmp_path / name, text, codec)
    support.run_inlet("write", tmp_path / "t", "--input", tmp_path / name)
    assert _table_rows(tmp_path / "t") == rows
    # And as a pipeline's source files.
    (tmp_path / "src").mkdir()
    (tmp_path / name).rename(tmp_path / "src" / name)
    yaml = ps.write_pipelines(tmp_path / "p.yaml", ps.pipeline(
        "p", path="src", dest="table", strategy={"type": "append"}))
    assert ps.run(yaml).report["rows_written"] == 2
    assert _table_rows(tmp_path / "table") == rows
    assert ps.run(yaml).report["status"] == "no_changes"


def test_a_pipelines_csv_options(tmp_path):
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.txt").write_text("1|x|NULL\n2|y|z\n")
    p = ps.pipeline("p", path="src/*.txt", fmt="csv", dest="table", strategy={"type": "append"})
    p["source"]["csv"] = {"delimiter": "|", "header": False, "null_values": ["NULL"]}
    yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
    assert ps.run(yaml).report["rows_written"] == 2
    assert _table_rows(tmp_path / "table") == [{"f0": 1, "f1": "x", "f2": None}, {"f0": 2, "f1": "y", "f2": "z"}]
    p["source"]["csv"] = {"delimiter": "||"}
    yaml = ps.write_pipelines(tmp_path / "p.yaml", p)
    line = ps.run_refused(yaml)
    assert "source.csv.delimiter" in line and "one character" in line, line


# ---------------------------------------------------------------------------------------
# --schema on inlet write and inlet merge (issue 20, item 2.3)


def test_schema_types_csv_text_on_write_and_merge(tmp_path):
    import decimal
    (tmp_path / "a.csv").write_text("id,price,at\n1,7.25,2024-03-09T10:00:00Z\n2,0.10,\n")
    table = tmp_path / "t"
    support.run_inlet("write", table, "--input", tmp_path / "a.csv", "--schema", "price:decimal(10,2), id:int")
    got = oracle.read_deltalake(table)
    assert got.schema.field("price").type == pa.decimal128(10, 2), got.schema
    assert got.schema.field("id").type == pa.int32(), got.schema
    assert sorted(got.column("price").to_pylist()) == [decimal.Decimal("0.10"), decimal.Decimal("7.25")]
    # merge takes it too, and a schema file.
    (tmp_path / "types.txt").write_text("# the merge's types\nprice: decimal(10,2)\nid: int\n")
    (tmp_path / "b.ndjson").write_text('{"id": 1, "price": "8.50"}\n{"id": 3, "price": 1}\n')
    support.run_inlet("merge", table, "--input", tmp_path / "b.ndjson", "--keys", "id",
                      "--schema", f"@{tmp_path / 'types.txt'}")
    got = {r["id"]: r["price"] for r in oracle.read_deltalake(table).to_pylist()}
    assert got == {1: decimal.Decimal("8.50"), 2: decimal.Decimal("0.10"), 3: decimal.Decimal("1.00")}, got
    # A value that does not fit is named by file, line and column; nothing is written.
    (tmp_path / "c.csv").write_text("id,price\n4,1.5\n5,lots\n")
    line = support.check_refusal(support.run_inlet(
        "write", table, "--input", tmp_path / "c.csv", "--schema", "price:decimal(10,2),id:int", check=False))
    assert "c.csv: line 3, column 'price'" in line and "lots" in line, line
    assert oracle.read_deltalake(table).num_rows == 3
    line = support.check_refusal(support.run_inlet(
        "write", table, "--input", tmp_path / "c.csv", "--schema", "price:money", check=False))
    assert "column 'price'" in line and "unknown type 'money'" in line, line
