"""The DuckDB warehouse: one short-lived connection per step, because DuckDB allows one writer.

Nothing else (the UI, GX, analysts) opens this file: they read the published Parquet.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import polars as pl

# Work larger than this spills to <warehouse>.tmp rather than growing. dbt's profile sets its own
# limit (COPROD_DUCKDB_MEMORY_LIMIT, 2 GB) for the large joins; the pipeline's own steps read and
# write in bounded batches, and their cache of the warehouse stays smaller, so that a national
# history's run fits in 4 GiB with dbt's process and the readers' processes together.
MEMORY_LIMIT = os.environ.get("COPROD_DUCKDB_STEP_MEMORY_LIMIT", "1GB")


def dbt_warehouse_vars(path: Path) -> list[str]:
    """The dbt arguments that name the warehouse a build writes (profiles.yml reads the var), so
    that dbt, in its own process, writes this run's warehouse and no other."""
    return ["--vars", json.dumps({"warehouse": str(path)})]


@contextmanager
def connect(path: Path, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(
        str(path),
        read_only=read_only,
        config={"memory_limit": MEMORY_LIMIT, "preserve_insertion_order": False},
    )
    try:
        yield con
    finally:
        con.close()


def replace_table(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> None:
    schema = name.split(".")[0]
    con.execute(f"create schema if not exists {schema}")
    con.register("_frame", frame.to_arrow())
    try:
        con.execute(f"create or replace table {name} as select * from _frame")
    finally:
        con.unregister("_frame")


def table_exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    schema, table = name.split(".")
    return bool(
        scalar(
            con,
            "select count(*) from information_schema.tables "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        )
    )


def scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    """The single value a query returns (fully fetched, so the connection is free after)."""
    return con.sql(sql, params=params or None).fetchall()[0][0]


def read_table(
    con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None
) -> pl.DataFrame:
    """Query into polars; timestamps come back in UTC whatever the session's zone."""
    frame = pl.from_arrow(con.sql(sql, params=params or None).to_arrow_table())
    return frame.with_columns(
        pl.col(name).dt.convert_time_zone("UTC")
        for name, dtype in frame.schema.items()
        if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None
    )
