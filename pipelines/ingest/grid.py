"""Load any export file into header rows plus a body of text cells, whatever its format.

Every cell becomes a string (dates as ISO text) so one reader can treat CSV, XLSX and SPSS alike.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipelines.ingest.decoding import decode_export
from pipelines.ingest.errors import UnreadableExport


@dataclass(frozen=True)
class Grid:
    header_rows: list[list[str]]
    body: pl.DataFrame  # columns col_0..col_n, all strings
    encoding: str

    def with_header_rows(self, count: int) -> Grid:
        """Move rows from the body into the header until it has `count` rows (once the survey
        tool, and so its number of header rows, is known from the first row)."""
        extra = count - len(self.header_rows)
        if extra <= 0:
            return self
        if self.body.height < extra:
            raise UnreadableExport(
                f"The file has fewer rows than the {count} header rows this survey tool writes."
            )
        return Grid(
            self.header_rows + _text_rows(self.body.head(extra)),
            self.body.slice(extra),
            self.encoding,
        )


def load_grid(path: Path, con: duckdb.DuckDBPyConnection) -> Grid:
    """The file's first row as header, every other row as body (see Grid.with_header_rows).

    CSV is parsed by DuckDB on `con`, the run's connection (no set-up per file)."""
    suffix = path.suffix.lower().lstrip(".")
    if suffix == "csv":
        return _csv_grid(path, con)
    if suffix in {"xlsx", "xlsm"}:
        return _rows_grid(_xlsx_rows(path), "xlsx")
    if suffix == "sav":
        return _sav_grid(path)
    raise UnreadableExport(
        f"Files ending .{suffix} are not survey exports this pipeline reads "
        "(CSV, XLSX or SPSS .sav)."
    )


MAX_LINE_BYTES = 1_000_000  # no survey export has a 1 MB line; a longer one means corruption


def _csv_grid(path: Path, con: duckdb.DuckDBPyConnection) -> Grid:
    raw = path.read_bytes()
    if not raw.strip():
        raise UnreadableExport("The file is empty.")
    text, encoding = decode_export(raw)
    if not text.strip("\ufeff \t\r\n"):
        raise UnreadableExport("The file is empty.")
    if "\x00" in text:
        raise UnreadableExport(
            "The file holds binary data (NUL bytes), so it is not a CSV text "
            "file; it may be a spreadsheet or archive saved with a .csv name."
        )
    first_line = text.lstrip("\ufeff").splitlines()[0]
    if not first_line.strip():
        raise UnreadableExport("The first line is empty: the column names must be on line 1.")
    if ";" in first_line and "," not in first_line:
        raise UnreadableExport(
            "The file is separated by semicolons (as Excel saves CSV in some European "
            "settings, often with decimal commas). Save it again as 'CSV (comma delimited)'."
        )
    try:
        width = len(next(csv.reader([first_line])))
    except csv.Error as error:
        raise UnreadableExport(f"The first line is not a CSV header ({error}).") from error
    # DuckDB's strict CSV reader refuses ragged rows and unterminated quotes instead of
    # padding them with nulls, which is how a truncated upload is recognised. UTF-8 files (the
    # common case) are read from disk as they are; only other encodings go through a copy.
    # (DuckDB would read a name with * ? or [ as a pattern: such names go through the copy too.)
    as_is = encoding.startswith("utf-8") and not any(c in str(path) for c in "*?[")
    source = str(path) if as_is else io.BytesIO(text.encode("utf-8"))
    try:
        frame = con.read_csv(
            source,
            header=False,
            delimiter=",",
            quotechar='"',
            escapechar='"',
            strict_mode=True,
            null_padding=False,
            auto_detect=False,
            columns={f"col_{i}": "VARCHAR" for i in range(width)},
            max_line_size=MAX_LINE_BYTES,
        ).pl()
    except duckdb.Error as error:
        raise UnreadableExport(_explain_csv_error(str(error), width)) from error
    return _split(frame, encoding)


def _explain_csv_error(message: str, width: int) -> str:
    """DuckDB's message quotes the offending line, which may hold personal data: say what is
    wrong and where, without repeating the content."""
    line = re.search(r"CSV Error on Line: (\d+)", message)
    where = f"line {line.group(1)}" if line else "a line"
    found = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", message)
    if found:
        return (
            f"{where.capitalize()} has {found.group(2)} columns where the header has "
            f"{found.group(1)}: the file was probably cut off during upload (truncated) or a "
            "line was broken. Export it again."
        )
    if "unterminated quote" in message:
        return (
            f"{where.capitalize()} opens a quoted value that never closes: the file was "
            "probably cut off in the middle of a row. Export it again."
        )
    if "line size" in message.lower() or "maximum line" in message.lower():
        return (
            f"{where.capitalize()} is longer than {MAX_LINE_BYTES:,} bytes (one enormous "
            "cell): this is not a survey export as written by a survey tool."
        )
    return f"The file is not a readable CSV table ({where})."


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


def _rows_grid(rows: list[list[object]], encoding: str) -> Grid:
    if not rows:
        raise UnreadableExport("The workbook's first sheet is empty.")
    width = max(len(r) for r in rows)
    columns = [f"col_{i}" for i in range(width)]
    text_rows = [[_cell_text(v) for v in r] + [None] * (width - len(r)) for r in rows]
    frame = pl.DataFrame(text_rows, schema={c: pl.String for c in columns}, orient="row")
    return _split(frame, encoding)


def _sav_grid(path: Path) -> Grid:
    import pyreadstat

    try:
        frame, _meta = pyreadstat.read_sav(
            str(path), apply_value_formats=True, user_missing=False, output_format="polars"
        )
    except Exception as error:  # pyreadstat raises its own exception types per failure
        raise UnreadableExport(f"The file is not a readable SPSS .sav file: {error}") from error
    header = list(frame.columns)
    body = frame.select(
        (
            pl.col(c).dt.strftime("%Y-%m-%d %H:%M:%S")
            if frame[c].dtype == pl.Datetime
            else pl.col(c).cast(pl.String)
        ).alias(f"col_{i}")
        for i, c in enumerate(header)
    )
    # Whole numbers stored as doubles print as "3.0"; labels matter, not floats.
    body = body.with_columns(pl.all().str.replace(r"^(-?\d+)\.0$", "$1"))
    return Grid(header_rows=[header], body=body, encoding="spss")


def _split(frame: pl.DataFrame, encoding: str) -> Grid:
    frame = frame.rename({c: f"col_{i}" for i, c in enumerate(frame.columns)})
    longest = frame.select(pl.all().str.len_bytes().max()).max_horizontal().item() or 0
    if longest > MAX_LINE_BYTES:
        raise UnreadableExport(
            f"A cell holds {longest:,} bytes (more than {MAX_LINE_BYTES:,}): "
            "this is not a survey export as written by a survey tool."
        )
    if frame.height == 0:
        raise UnreadableExport("The file is empty.")
    return Grid(header_rows=_text_rows(frame.head(1)), body=frame.slice(1), encoding=encoding)


def _text_rows(frame: pl.DataFrame) -> list[list[str]]:
    return [[("" if v is None else str(v)).strip() for v in row] for row in frame.rows()]
