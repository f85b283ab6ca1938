"""The orchestration examples (examples/python) run as users run them: a Dagster asset
materialized twice, and an Airflow DAG run with dag.test() against a fresh metadata
database. Both load incrementally: the second run loads only the new file."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import inlet

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "python"


def _land(landing: Path, name: str, ids: range, day: str) -> None:
    landing.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.table({
        "id": pa.array(list(ids), pa.int64()),
        "modified_date": pa.array([f"{day}T10:00:{i % 60:02d}" for i in ids]).cast(pa.timestamp("us")),
    }), landing / name)


def _env(tmp_path: Path) -> dict:
    return {**os.environ, "INLET_LANDING": str(tmp_path / "landing"),
            "INLET_WAREHOUSE": str(tmp_path / "warehouse")}


def test_the_dagster_asset_reports_rows_version_and_watermark(tmp_path, monkeypatch):
    for k, v in _env(tmp_path).items():
        monkeypatch.setenv(k, v)
    sys.path.insert(0, str(EXAMPLES))
    try:
        import dagster as dg
        import dagster_assets
    finally:
        sys.path.remove(str(EXAMPLES))
    _land(tmp_path / "landing", "a.parquet", range(1, 6), "2024-05-01")

    def materialize():
        result = dg.materialize([dagster_assets.orders], instance=dg.DagsterInstance.ephemeral())
        assert result.success
        [m] = result.asset_materializations_for_node("orders")
        return {k: v.value for k, v in m.metadata.items()}

    first = materialize()
    assert (first["status"], first["rows_written"], first["table_version"]) == ("committed", 5, 0)
    assert first["watermark"].startswith("2024-05-01T10:00:05")
    _land(tmp_path / "landing", "b.parquet", range(6, 9), "2024-05-02")
    second = materialize()
    assert (second["rows_written"], second["table_version"]) == (3, 1)
    assert second["watermark"].startswith("2024-05-02T10:00:08")
    assert materialize()["status"] == "no_changes"
    assert inlet.Table(tmp_path / "warehouse" / "orders").count() == 8


def test_the_airflow_dag_runs_the_pipeline_with_dag_test(tmp_path):
    airflow_python = sys.executable
    env = {**_env(tmp_path), "AIRFLOW_HOME": str(tmp_path / "airflow"),
           "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
           "AIRFLOW__CORE__DAGS_FOLDER": str(EXAMPLES)}
    airflow = [airflow_python, "-m", "airflow"]
    db = subprocess.run([*airflow, "db", "migrate"], env=env, capture_output=True, text=True,
                        timeout=600)
    assert db.returncode == 0, db.stderr[-3000:]
    _land(tmp_path / "landing", "a.parquet", range(1, 4), "2024-05-01")
    for _ in range(2):  # the second run finds nothing new
        out = subprocess.run([airflow_python, str(EXAMPLES / "airflow_dag.py")], env=env,
                             capture_output=True, text=True, timeout=600)
        assert out.returncode == 0, out.stderr[-3000:]
        assert ": success" in out.stdout, (out.stdout[-2000:], out.stderr[-3000:])
    rows = inlet.Table(tmp_path / "warehouse" / "orders").scan()
    assert sorted(rows.column("id").to_pylist()) == [1, 2, 3]
    _land(tmp_path / "landing", "b.parquet", range(4, 6), "2024-05-02")
    out = subprocess.run([airflow_python, str(EXAMPLES / "airflow_dag.py")], env=env,
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0 and ": success" in out.stdout, out.stderr[-3000:]
    assert inlet.Table(tmp_path / "warehouse" / "orders").count() == 5
    states = inlet.Table(tmp_path / "warehouse" / "orders").pipeline_states()
    assert json.dumps(states["orders"]).count("2024-05-02") >= 1
