"""An Airflow DAG whose task runs an inlet pipeline; the task returns the run report.

    python examples/python/airflow_dag.py    # one DAG run in-process (dag.test())

As with any Airflow task, a retry runs the pipeline again: inlet's state, committed with
the rows, makes that safe (nothing is loaded twice).
"""
from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

from airflow.sdk import dag, task

PIPELINES = os.environ.get("INLET_PIPELINES", str(Path(__file__).with_name("pipelines.yaml")))


@dag(schedule="*/15 * * * *", start_date=dt.datetime(2024, 1, 1), catchup=False,
     tags=["inlet"])
def inlet_orders():
    @task(retries=2)
    def load_orders() -> dict:
        import inlet  # imported in the task: the worker has the package
        [report] = inlet.run(PIPELINES, pipeline="orders")
        return json.loads(report.to_json())

    load_orders()


dag_object = inlet_orders()

if __name__ == "__main__":
    run = dag_object.test()
    print(f"dag run {run.run_id}: {run.state}")
