"""Reads the demo's Iceberg parking table the way other engines do: pyiceberg through the
same SQL catalog (SQLite), and DuckDB's iceberg_scan from the current metadata file. Usage:
read_iceberg.py WAREHOUSE (the directory holding catalog.db)."""
import importlib
import pathlib
import sys

warehouse = pathlib.Path(sys.argv[1]).resolve()

from pyiceberg.catalog.sql import SqlCatalog  # noqa: E402

catalog = SqlCatalog("lake", uri=f"sqlite:///{warehouse / 'catalog.db'}")
table = catalog.load_table("parking_data.raw_parking_data")
print(f"pyiceberg: {len(table.metadata.snapshots)} snapshots, partition spec {table.spec()}".replace("\n", " "))
madla = table.scan(row_filter="location == 'Madla'")
rows = madla.to_arrow()
print(f"pyiceberg: {rows.num_rows} readings of Madla, from {len(list(madla.plan_files()))} data files")

import duckdb  # noqa: E402


def extension(name):
    base = pathlib.Path(importlib.import_module(f"duckdb_extension_{name}").__file__).parent / "extensions"
    return sorted(base.glob(f"*/{name}.duckdb_extension"))[-1]


con = duckdb.connect()
for name in ("avro", "iceberg"):  # by path: loading by name would try the network
    con.execute(f"LOAD '{extension(name)}'")
metadata = table.metadata_location.removeprefix("file://")
print("DuckDB iceberg_scan, average free spaces between 07:00 and 08:00 by location:")
for location, avg in con.execute(
        f"SELECT location, round(avg(available_spaces), 1) FROM iceberg_scan('{metadata}') "
        "WHERE timestamp >= TIMESTAMP '2024-03-01 07:00:00' AND timestamp < TIMESTAMP '2024-03-01 08:00:00' "
        "GROUP BY location ORDER BY location LIMIT 5").fetchall():
    print(f"   {location:<20} {avg}")
