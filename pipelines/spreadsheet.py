"""CSV files written for people to open in Excel: safe from formula injection.

A cell that starts with =, +, -, @ (or a tab or carriage return) is run by Excel as a formula,
so a respondent who types "=HYPERLINK(...)" could attack whoever opens the file. Such cells
get a leading apostrophe, which Excel shows as text and does not display.
"""

from __future__ import annotations

import os
from pathlib import Path

import polars as pl

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(frame: pl.DataFrame) -> pl.DataFrame:
    pattern = "^[" + "".join("\\" + c if c in "+-" else c for c in FORMULA_STARTS) + "]"
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(pattern))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name, dtype in frame.schema.items()
        if dtype == pl.String
    )


def write_csv_for_excel(frame: pl.DataFrame, path: Path) -> None:
    """UTF-8 with a BOM (so Excel reads accents right), written aside then renamed into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(b"\xef\xbb\xbf" + neutralise_formulas(frame).write_csv().encode("utf-8"))
    os.replace(partial, path)
