"""Load any export file into header rows plus a body of text cells, whatever its format.

Every cell becomes a string (dates as ISO text) so one reader can treat CSV, XLSX and SPSS alike.
Each format is checked against the bounds (pipelines.ingest.bounds) before it is loaded.
"""

from __future__ import annotations

import csv
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipelines.ingest import bounds
from pipelines.ingest.decoding import detect_encoding
from pipelines.ingest.errors import UnreadableExport
from pipelines.ingest.xlsx import read_first_sheet

TEXT_CHUNK_CHARACTERS = 1024 * 1024


@dataclass(frozen=True)
class Grid:
    header_rows: list[list[str]]
    body: pl.DataFrame  # columns col_0..col_n, all strings
    encoding: str | None  # the text encoding of a CSV; None for workbooks and SPSS files

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
        return _split(read_first_sheet(path), None)
    if suffix == "sav":
        return _sav_grid(path)
    raise UnreadableExport(
        f"Files ending .{suffix} are not survey exports this pipeline reads "
        "(CSV, XLSX or SPSS .sav)."
    )


def _csv_grid(path: Path, con: duckdb.DuckDBPyConnection) -> Grid:
    bounds.refuse_if_larger(path, bounds.MAX_CSV_BYTES, "file", "a CSV survey export")
    encoding = detect_encoding(path)
    first_line = _first_line(path, encoding)
    if not first_line.strip():
        if _is_blank(path, encoding):
            raise UnreadableExport("The file is empty.")
        raise UnreadableExport("The first line is empty: the column names must be on line 1.")
    if ";" in first_line and "," not in first_line:
        raise UnreadableExport(
            "The file is separated by semicolons (as Excel saves CSV in some European "
            "settings, often with decimal commas). Save it again as 'CSV (comma delimited)'."
        )
    try:
        width = len(next(csv.reader([first_line])))
    except csv.Error as error:  # the only one a single line can raise: a field over the limit
        raise UnreadableExport(
            f"The first line has a column name longer than {csv.field_size_limit():,} "
            f"characters: {bounds.NOT_A_SURVEY_EXPORT}."
        ) from error
    if width > bounds.MAX_COLUMNS:
        raise UnreadableExport(
            f"The first line names {width:,} columns, more than the limit of "
            f"{bounds.MAX_COLUMNS:,}: {bounds.NOT_A_SURVEY_EXPORT}."
        )
    # DuckDB's strict CSV reader refuses ragged rows and unterminated quotes instead of
    # padding them with nulls, which is how a truncated upload is recognised.
    with _utf8_file(path, encoding) as source:
        try:
            frame = con.read_csv(
                str(source),
                header=False,
                delimiter=",",
                quotechar='"',
                escapechar='"',
                strict_mode=True,
                null_padding=False,
                auto_detect=False,
                columns={f"col_{i}": "VARCHAR" for i in range(width)},
                max_line_size=bounds.MAX_LINE_BYTES,
            ).pl()
        except duckdb.Error as error:
            raise UnreadableExport(_explain_csv_error(str(error), width)) from error
    return _split(frame, encoding)


def _first_line(path: Path, encoding: str) -> str:
    """Line 1 without its line break (and without a byte-order mark, which the codec drops)."""
    with path.open(encoding=encoding, newline="") as text:
        line = text.readline(bounds.MAX_LINE_BYTES + 1).rstrip("\r\n")
    if len(line) > bounds.MAX_LINE_BYTES:
        raise UnreadableExport(_line_too_long("Line 1"))
    return line


def _is_blank(path: Path, encoding: str) -> bool:
    with path.open(encoding=encoding, newline="") as text:
        while chunk := text.read(TEXT_CHUNK_CHARACTERS):
            if chunk.strip("\ufeff \t\r\n"):
                return False
    return True


@contextmanager
def _utf8_file(path: Path, encoding: str) -> Iterator[Path]:
    """The file itself when DuckDB can read it as it is, else a UTF-8 copy, written chunk by
    chunk to a temporary folder (never the whole text in memory). DuckDB would read a name
    with * ? or [ as a pattern: such names go through the copy too."""
    if encoding in {"utf-8", "utf-8-sig"} and not any(c in str(path) for c in "*?["):
        yield path
        return
    with tempfile.TemporaryDirectory(prefix="coprod-csv-") as folder:
        copy = Path(folder) / "export.csv"
        with (
            path.open(encoding=encoding, newline="") as source,
            copy.open("w", encoding="utf-8", newline="") as target,
        ):
            shutil.copyfileobj(source, target, TEXT_CHUNK_CHARACTERS)
        yield copy


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
        return _line_too_long(where.capitalize())
    return f"The file is not a readable CSV table ({where})."


def _line_too_long(where: str) -> str:
    return (
        f"{where} is longer than {bounds.MAX_LINE_BYTES:,} bytes (one enormous cell): "
        f"{bounds.NOT_A_SURVEY_EXPORT}."
    )


def _sav_grid(path: Path) -> Grid:
    import pyreadstat

    bounds.refuse_if_larger(path, bounds.MAX_SAV_BYTES, "file", "an SPSS survey export")
    try:
        _, header = pyreadstat.read_sav(str(path), metadataonly=True)
        _check_sav_shape(header.number_rows, header.number_columns)
        frame, _meta = pyreadstat.read_sav(
            str(path),
            apply_value_formats=True,
            user_missing=False,
            output_format="polars",
            row_limit=bounds.MAX_ROWS + 1,  # a header that understates its rows stops here too
        )
        _check_sav_shape(frame.height, frame.width)
    except UnreadableExport:
        raise
    except Exception as error:  # pyreadstat raises its own exception types per failure
        # Its messages may quote the file's content: say what is wrong, not what it said.
        raise UnreadableExport(
            "The file is not a readable SPSS .sav file: it is damaged or is another kind of "
            "file saved with a .sav name. Export it again from SPSS."
        ) from error
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
    return Grid(header_rows=[header], body=body, encoding=None)


def _check_sav_shape(rows: int | None, columns: int) -> None:
    """SPSS states rows (or None when it does not know) and columns in its header."""
    if rows is not None and rows > bounds.MAX_ROWS:
        raise UnreadableExport(
            f"The file holds {rows:,} rows, more than the limit of {bounds.MAX_ROWS:,}: "
            f"{bounds.NOT_A_SURVEY_EXPORT}."
        )
    if columns > bounds.MAX_COLUMNS:
        raise UnreadableExport(
            f"The file holds {columns:,} variables, more than the limit of "
            f"{bounds.MAX_COLUMNS:,} columns: {bounds.NOT_A_SURVEY_EXPORT}."
        )


def _split(frame: pl.DataFrame, encoding: str | None) -> Grid:
    frame = frame.rename({c: f"col_{i}" for i, c in enumerate(frame.columns)})
    longest = frame.select(pl.all().str.len_bytes().max()).max_horizontal().item() or 0
    if longest > bounds.MAX_LINE_BYTES:
        raise UnreadableExport(
            f"A cell holds {longest:,} bytes (more than {bounds.MAX_LINE_BYTES:,}): "
            f"{bounds.NOT_A_SURVEY_EXPORT}."
        )
    if frame.height == 0:
        raise UnreadableExport("The file is empty.")
    return Grid(header_rows=_text_rows(frame.head(1)), body=frame.slice(1), encoding=encoding)


def _text_rows(frame: pl.DataFrame) -> list[list[str]]:
    return [[("" if v is None else str(v)).strip() for v in row] for row in frame.rows()]
