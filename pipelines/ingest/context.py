"""What reading a file needs besides the file, and the shape of what it sets aside."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import duckdb
import polars as pl

from pipelines.reference import ReferenceData
from pipelines.registry import Registry

REJECTED_SCHEMA = {
    "row_number": pl.Int64,
    "response_key": pl.String,
    "stage": pl.String,
    "source_column": pl.String,
    "value_redacted": pl.String,
    "reason": pl.String,
}


@dataclass(frozen=True)
class ReadContext:
    """What the reader needs besides the file: reference data, registry, privacy settings, and
    one DuckDB connection for the whole run (CSV parsing and keyed hashes), so that reading a
    file costs no set-up of its own."""

    reference: ReferenceData
    registry: Registry
    hash_key: bytes
    redaction_names: tuple[str, ...] = ()
    now: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    # Earlier submission times are typing or clock errors (a year 0001, 1066, 1899), not answers.
    earliest_submission: dt.datetime = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)
    con: duckdb.DuckDBPyConnection = field(default_factory=duckdb.connect)
