"""Coding sheets an analyst returns: files dropped into data/coding/, read as safely as exports.

The same rules as the inbox (pipelines/ingest/archive.py): only regular files that live in the
folder are opened (no link, pipe, device or file with other hard links), hidden files and notes
are skipped, and a file is read from one snapshot of its bytes, checked against the sha256 it
was listed with. A sheet is at most MAX_BYTES; an .xlsx is then checked for zip bombs and size
like an export (pipelines/ingest/xlsx.py) before it is loaded; a .csv is UTF-8 (with or without
a BOM) or, as Excel re-saves it, Windows-1252.
"""

from __future__ import annotations

import csv
import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from pipelines.coding.layout import COLUMNS, MAX_ROWS
from pipelines.ingest import bounds
from pipelines.ingest.archive import ArrivedFile, arrived_files, open_regular
from pipelines.ingest.errors import UnreadableExport
from pipelines.ingest.xlsx import read_first_sheet

MAX_BYTES = 16 * bounds.MIB  # a full sheet of MAX_ROWS long answers is a few MB
READABLE = (".xlsx", ".csv")


class RefusedSheet(ValueError):
    """A sheet that cannot be read at all; the message says why in plain words."""


@dataclass(frozen=True)
class ReturnedSheet:
    file: ArrivedFile
    # One row per sheet row below the header: row number in the sheet (2 = first data row) and
    # the value of each known column (None where blank or absent).
    rows: list[tuple[int, dict[str, str | None]]]


def returned_files(coding_dir: Path) -> list[ArrivedFile]:
    return arrived_files((coding_dir,))


def read_returned(file: ArrivedFile) -> ReturnedSheet:
    if file.refused:
        raise RefusedSheet(f"Not opened: {file.refused}")
    suffix = file.path.suffix.lower()
    if suffix not in READABLE:
        raise RefusedSheet(
            "Not a coding sheet: only the .xlsx or .csv written to data/review/ is read here."
        )
    if file.size > MAX_BYTES:
        raise RefusedSheet(
            f"The file is {file.size / bounds.MIB:,.0f} MiB, more than the limit of "
            f"{MAX_BYTES / bounds.MIB:,.0f} MiB for a coding sheet of at most {MAX_ROWS:,} rows."
        )
    content = _snapshot(file)
    try:
        grid = _xlsx_grid(content) if suffix == ".xlsx" else _csv_grid(content)
    except UnreadableExport as error:
        raise RefusedSheet(str(error)) from error
    if not grid:
        raise RefusedSheet("The sheet is empty.")
    header = [(cell or "").strip() for cell in grid[0]]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise RefusedSheet(
            f"Row 1 lacks the column(s) {', '.join(missing)}: return the sheet as it was "
            "written, with only the code column filled in."
        )
    if len(grid) - 1 > MAX_ROWS:
        raise RefusedSheet(
            f"The sheet has {len(grid) - 1:,} rows, more than the {MAX_ROWS:,} a coding sheet has."
        )
    where = {name: header.index(name) for name in COLUMNS}
    rows = []
    for number, cells in enumerate(grid[1:], start=2):
        values = {
            name: (cells[i] if i < len(cells) and cells[i] not in ("", None) else None)
            for name, i in where.items()
        }
        if any(v is not None for v in values.values()):
            rows.append((number, values))
    return ReturnedSheet(file, rows)


def _snapshot(file: ArrivedFile) -> bytes:
    """The file's bytes, read once through a descriptor that refuses links, and only if they
    are the bytes it was listed with (a sheet still being saved is read by a later run)."""
    import hashlib

    with open_regular(file.path) as handle:
        content = handle.read(MAX_BYTES + 1)
    if len(content) > MAX_BYTES or hashlib.sha256(content).hexdigest() != file.sha256:
        raise RefusedSheet(
            "The file changed while it was being read (it is probably still being saved): "
            "it will be read once it has stopped changing."
        )
    return content


def _xlsx_grid(content: bytes) -> list[list[str | None]]:
    with tempfile.TemporaryDirectory() as folder:
        copy = Path(folder) / "sheet.xlsx"
        copy.write_bytes(content)
        frame: pl.DataFrame = read_first_sheet(copy)
    return [list(row) for row in frame.iter_rows()]


def _csv_grid(content: bytes) -> list[list[str | None]]:
    if content.startswith(b"\xef\xbb\xbf"):
        content = content[3:]
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        text = content.decode("cp1252", errors="replace")
    if any(len(line) > bounds.MAX_LINE_BYTES for line in text.splitlines()):
        raise RefusedSheet("A line of the file is longer than any coding sheet's.")
    try:
        return [row for row in csv.reader(io.StringIO(text, newline=""))]
    except csv.Error as error:
        raise RefusedSheet(f"The CSV cannot be read: {error}.") from error
