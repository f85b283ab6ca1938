"""The code of the docs runs as written (issue 20, item 3.7)."""

from __future__ import annotations

import pathlib
import re

import pyarrow as pa
import pyarrow.parquet as pq

import support

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"


def test_reading_inlet_tables_from_other_engines(tmp_path):
    """docs/operations.md: DuckDB offline and deltalake's QueryBuilder, on a table whose
    merge marked rows in deletion vectors (which to_pyarrow_table() refuses)."""
    table = tmp_path / "t"
    pq.write_table(pa.table({"id": pa.array(range(10), pa.int64()), "v": [f"v{i}" for i in range(10)]}),
                   tmp_path / "a.parquet")
    support.run_inlet("write", table, "--input", tmp_path / "a.parquet",
                      "--property", "delta.enableDeletionVectors=true")
    pq.write_table(pa.table({"id": pa.array([3], pa.int64()), "v": ["changed"]}), tmp_path / "b.parquet")
    support.run_inlet("merge", table, "--input", tmp_path / "b.parquet", "--keys", "id")
    log = "".join(p.read_text() for p in sorted((table / "_delta_log").glob("*.json")))
    assert '"deletionVector"' in log, "the merge should have marked a deletion vector"

    text = (DOCS / "operations.md").read_text()
    section = text[text.index("## Reading inlet tables from other engines"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    scope = {"TABLE": table}
    exec(compile(code, "docs/operations.md", "exec"), scope)
    for name in ("duck", "rows"):
        got = scope[name]
        got = got.read_all() if hasattr(got, "read_all") else got
        values = dict(zip(got.column("id").to_pylist(), got.column("v").to_pylist()))
        assert len(values) == 10 and values[3] == "changed", (name, values)
