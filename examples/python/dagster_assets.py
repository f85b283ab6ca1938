"""A Dagster asset that runs an inlet pipeline and reports what it did as metadata.

    dagster dev -f examples/python/dagster_assets.py      # or materialize() as the test does

Each materialization loads only what is new since the last one: the watermark is committed
in the table with the rows, so a retried or concurrent materialization loads nothing twice.
"""
import os
from pathlib import Path

import dagster as dg

import inlet

PIPELINES = os.environ.get("INLET_PIPELINES", str(Path(__file__).with_name("pipelines.yaml")))


@dg.asset(description="Orders loaded incrementally by inlet (watermark on modified_date).")
def orders(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    [report] = inlet.run(PIPELINES, pipeline="orders")
    context.log.info(str(report))
    return dg.MaterializeResult(metadata={
        "status": report.status,
        "rows_read": report.rows_read,
        "rows_written": report.rows_written,
        "table_version": report.table_version,
        "watermark": report.watermark_after or "",
        "duration_ms": report.duration_ms,
        "table": dg.MetadataValue.path(report.table),
    })


defs = dg.Definitions(assets=[orders])
