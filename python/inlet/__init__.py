"""inlet: Delta Lake and Apache Iceberg tables kept in sync with their sources.

Tables::

    import inlet, pyarrow as pa
    t = inlet.write_table("warehouse/orders", pa.table({"id": [1, 2], "v": ["a", "b"]}))
    t.merge(polars_frame, keys=["id"])           # any __arrow_c_stream__ object
    t.scan(where="id > 1").to_pandas()

Pipelines (the YAML format of ``inlet run``, from a file or a dict)::

    report = inlet.run("pipelines.yaml")[0]
    report.status, report.rows_written, report.watermark_after

The documentation is docs/python.md in inlet's repository.
"""
from __future__ import annotations

import importlib.util as _util
import os as _os

import pyarrow  # noqa: F401  (loads the Arrow C++ libraries the engine links)

# PostgreSQL sources load Apache Arrow's ADBC driver at run time: the one installed beside
# this package (pip install adbc-driver-postgresql) unless INLET_ADBC_POSTGRESQL says.
_adbc = _util.find_spec("adbc_driver_postgresql")
if _adbc and _adbc.origin and not _os.environ.get("INLET_ADBC_POSTGRESQL"):
    _driver = _os.path.join(_os.path.dirname(_adbc.origin), "libadbc_driver_postgresql.so")
    if _os.path.exists(_driver):
        _os.environ["INLET_ADBC_POSTGRESQL"] = _driver

from ._errors import (
    CommitConflictError,
    InletError,
    InvalidInputError,
    SchemaMismatchError,
    StorageError,
    TableNotFoundError,
    UnsupportedFeatureError,
)
from ._inlet import (
    CheckpointResult,
    CommitResult,
    FileCounts,
    HistoryEntry,
    MaintenanceReport,
    MergeResult,
    OptimizeResult,
    RestoreResult,
    RunReport,
    StreamReport,
    TableInfo,
    VacuumResult,
)
from ._pipeline import Pipeline, Stream, load, load_pipelines, run
from ._table import Table, write_table

__all__ = [
    "CheckpointResult", "CommitConflictError", "CommitResult", "FileCounts", "HistoryEntry",
    "InletError", "InvalidInputError", "MaintenanceReport", "MergeResult", "OptimizeResult",
    "Pipeline", "RestoreResult", "RunReport", "SchemaMismatchError", "StorageError", "Stream",
    "StreamReport", "Table", "TableInfo", "TableNotFoundError", "UnsupportedFeatureError",
    "VacuumResult", "load", "load_pipelines", "run", "write_table",
]
__version__ = "0.1.0"
