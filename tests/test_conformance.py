"""inlet reads every conformance table, at every version its log names, as the oracle does.

For each table folder (a folder holding `_delta_log`, found at any depth under
conformance/delta-golden and conformance/delta-rs-tables) and each version named by a
commit or checkpoint file, plus "latest" (no --version) and one version past the end:

* the oracle is deltalake (delta-rs' own engine); when deltalake refuses, DuckDB's delta
  extension is asked instead (it reads a few features deltalake 1.6 refuses, such as
  vacuumProtocolCheck and typeWidening-preview);
* when an oracle answers, `inlet scan --version V` must return the same rows (order-free,
  see oracle.py for what representation differences are forgiven);
* when both refuse (corrupt or incomplete log, missing or fake data files, unsupported
  feature, version out of range), inlet must refuse too: non-zero exit, one line on
  stderr starting "inlet: error:".

Folders that are not tables at all (no `_delta_log` directly inside) must be refused with a
"not a Delta table" error.
"""

from __future__ import annotations

import pathlib
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import oracle
import support

pytestmark = pytest.mark.conformance

COLLECTIONS = ("delta-golden", "delta-rs-tables")

# Tables (or "table@vN") that inlet refuses on purpose although an oracle reads them.
# Key: path relative to the conformance folder. Value: why we refuse.
EXPECTED_REFUSALS: dict[str, str] = {}

# Cases ("table@vN" or "table") that inlet reads on purpose although both oracles refuse:
# the reason, and the expected answer (hand-written, so keep these few and tiny).
EXPECTED_READS: dict[str, tuple[str, pa.Table]] = {}

# Tables where the primary oracle (deltalake) is known to be wrong; DuckDB is used instead.
KNOWN_ORACLE_DISAGREEMENTS: dict[str, str] = {
    "delta-rs-tables/table_with_edge_timestamps": (
        "INT96 timestamps of 9999-12-30/31: deltalake 1.6 decodes them through int64 "
        "nanoseconds and wraps around to 1816-03-28/29; DuckDB, the Parquet values and the "
        "file statistics in the log all say 9999-12-3x"
    ),
}


@dataclass(frozen=True)
class Case:
    rel: str  # table folder relative to the conformance root
    version: int | None  # None: latest

    @property
    def id(self) -> str:
        return f"{self.rel}@{'latest' if self.version is None else f'v{self.version}'}"


def _discover() -> tuple[list[Case], list[str]]:
    root = support.conformance_root()
    cases: list[Case] = []
    not_tables: list[str] = []
    for collection in COLLECTIONS:
        base = root / collection
        if not base.is_dir():
            continue
        for log in sorted(base.rglob("_delta_log")):
            if not log.is_dir():
                continue
            table = log.parent
            rel = table.relative_to(root).as_posix()
            versions = oracle.log_versions(table)
            for v in versions:
                cases.append(Case(rel, v))
            cases.append(Case(rel, None))
            cases.append(Case(rel, (max(versions) + 1) if versions else 0))
        for entry in sorted(base.iterdir()):
            if entry.is_dir() and not (entry / "_delta_log").is_dir():
                not_tables.append(entry.relative_to(root).as_posix())
    return cases, not_tables


CASES, NOT_TABLES = _discover()
_MISSING = ["conformance-data-missing"]


def oracle_answer(rel: str, version: int | None):
    """(expected table or None, which oracle answered, the refusals met on the way)."""
    path = support.conformance_root() / rel
    readers = [("deltalake", oracle.read_deltalake), ("duckdb", oracle.read_duckdb)]
    if rel in KNOWN_ORACLE_DISAGREEMENTS:
        readers = [("duckdb", oracle.read_duckdb)]
    refusals: list[str] = []
    for name, read in readers:
        try:
            return read(path, version), name, tuple(refusals)
        except oracle.OracleRefused as exc:
            refusals.append(str(exc))
    return None, None, tuple(refusals)


def _scan_args(table: pathlib.Path, version: int | None, out: pathlib.Path) -> list[object]:
    args: list[object] = ["scan", table]
    if version is not None:
        args += ["--version", version]
    return args + ["--output-format", "parquet", "--output", out]


@pytest.mark.parametrize("case", CASES or _MISSING, ids=lambda c: getattr(c, "id", str(c)))
def test_scan_matches_oracle(case, conformance_dir, inlet_bin, tmp_path):
    if not isinstance(case, Case):
        pytest.fail(f"no conformance tables found under {conformance_dir}")
    table = conformance_dir / case.rel
    out = tmp_path / "scan.parquet"
    expected, source, refusals = oracle_answer(case.rel, case.version)
    on_purpose = EXPECTED_REFUSALS.get(case.id) or EXPECTED_REFUSALS.get(case.rel)
    read_anyway = EXPECTED_READS.get(case.id) or EXPECTED_READS.get(case.rel)
    if read_anyway is not None:
        assert expected is None, (
            f"{case.id} is in EXPECTED_READS but {source} now reads it: drop the entry"
        )
        expected, source = read_anyway[1], f"EXPECTED_READS ({read_anyway[0]})"

    proc = support.run_inlet(*_scan_args(table, case.version, out), check=False)

    if expected is None or on_purpose:
        why = on_purpose or "the oracles refuse: " + " | ".join(refusals)
        try:
            support.check_refusal(proc)
        except AssertionError as exc:
            raise AssertionError(f"{case.id}: inlet must refuse ({why})\n{exc}") from None
        return

    assert proc.returncode == 0, (
        f"{case.id}: inlet refused a table that {source} reads "
        f"({expected.num_rows} rows): {proc.stderr.strip()}"
    )
    assert out.exists(), f"{case.id}: inlet exited 0 but did not write {out}"
    actual = pq.read_table(out)
    oracle.assert_tables_equal(actual, expected, context=f"{case.id} (oracle: {source})")


@pytest.mark.parametrize("rel", NOT_TABLES or _MISSING)
def test_not_a_table_is_refused(rel, conformance_dir, inlet_bin, tmp_path):
    if rel == _MISSING[0]:
        pytest.fail(f"no conformance folders found under {conformance_dir}")
    path = conformance_dir / rel
    # The oracle agrees that this is no table.
    with pytest.raises(oracle.OracleRefused):
        oracle.read_deltalake(path)
    line = support.expect_refusal(*_scan_args(path, None, tmp_path / "out.parquet"))
    assert "not a delta table" in line.lower() or str(path) in line, line
    assert not (path / "_delta_log").exists(), "a read must not create a _delta_log"
