"""Load any export file into header rows plus a body of text cells, whatever its format.

Every cell becomes a string (dates as ISO text) so one reader can treat CSV, XLSX and SPSS alike.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.ingest.decoding import decode_export
from pipelines.ingest.errors import UnreadableExport


@dataclass(frozen=True)
class Grid:
    header_rows: list[list[str]]
    body: pl.DataFrame  # columns col_0..col_n, all strings
    encoding: str


def load_grid(path: Path, header_rows: int) -> Grid:
    suffix = path.suffix.lower().lstrip(".")
    if suffix == "csv":
        return _csv_grid(path.read_bytes(), header_rows)
    if suffix in {"xlsx", "xlsm"}:
        return _rows_grid(_xlsx_rows(path), header_rows, "xlsx")
    if suffix == "sav":
        return _sav_grid(path)
    raise UnreadableExport(f"Files ending .{suffix} are not survey exports this pipeline reads "
                           "(CSV, XLSX or SPSS .sav).")


def _csv_grid(raw: bytes, header_rows: int) -> Grid:
    if not raw.strip():
        raise UnreadableExport("The file is empty.")
    text, encoding = decode_export(raw)
    try:
        frame = pl.read_csv(
            io.BytesIO(text.encode("utf-8")),
            has_header=False,
            infer_schema=False,
            quote_char='"',
        )
    except pl.exceptions.PolarsError as error:
        raise UnreadableExport(f"The file is not a readable CSV table: {error}") from error
    return _split(frame, header_rows, encoding)


def _xlsx_rows(path: Path) -> list[list[object]]:
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_path(str(path))
        return workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    except (CalamineError, ValueError, OSError) as error:
        raise UnreadableExport(
            f"The file is not a readable Excel workbook ({type(error).__name__}: {error}). "
            "It may be a web page or CSV saved with an .xlsx name."
        ) from error


def _cell_text(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.strftime("%Y-%m-%d")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _rows_grid(rows: list[list[object]], header_rows: int, encoding: str) -> Grid:
    if not rows:
        raise UnreadableExport("The workbook's first sheet is empty.")
    width = max(len(r) for r in rows)
    columns = [f"col_{i}" for i in range(width)]
    text_rows = [[_cell_text(v) for v in r] + [None] * (width - len(r)) for r in rows]
    frame = pl.DataFrame(text_rows, schema={c: pl.String for c in columns}, orient="row")
    return _split(frame, header_rows, encoding)


def _sav_grid(path: Path) -> Grid:
    import pyreadstat

    try:
        frame, _meta = pyreadstat.read_sav(str(path), apply_value_formats=True,
                                           user_missing=False, output_format="polars")
    except Exception as error:  # pyreadstat raises its own exception types per failure
        raise UnreadableExport(f"The file is not a readable SPSS .sav file: {error}") from error
    header = list(frame.columns)
    body = frame.select(
        (pl.col(c).dt.strftime("%Y-%m-%d %H:%M:%S") if frame[c].dtype == pl.Datetime
         else pl.col(c).cast(pl.String)).alias(f"col_{i}")
        for i, c in enumerate(header)
    )
    # Whole numbers stored as doubles print as "3.0"; labels matter, not floats.
    body = body.with_columns(pl.all().str.replace(r"^(-?\d+)\.0$", "$1"))
    return Grid(header_rows=[header], body=body, encoding="spss")


def _split(frame: pl.DataFrame, header_rows: int, encoding: str) -> Grid:
    frame = frame.rename({c: f"col_{i}" for i, c in enumerate(frame.columns)})
    if frame.height < header_rows:
        raise UnreadableExport(f"The file has fewer rows than the {header_rows} header row(s) "
                               "this survey tool writes.")
    headers = [[("" if v is None else str(v)).strip() for v in row]
               for row in frame.head(header_rows).rows()]
    return Grid(header_rows=headers, body=frame.slice(header_rows), encoding=encoding)
