"""Read the first sheet of an XLSX workbook as text cells, once it is known to be safe to load.

python-calamine builds the whole sheet in memory before returning a single row, as a rectangle
from its first to its last cell (two cells, A1 and XFD1048576, make it ask for 512 GiB and abort
the process), and it unpacks zip parts without checking their declared sizes. So everything that
could exhaust memory is checked first with the standard library, one chunk at a time: that the
file is a zip archive at all, what its parts unpack to (zip bombs), and how far the first sheet
reaches, as its XML declares and as its cells really do.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import re
import zipfile
import zlib
from collections.abc import Iterator
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING
from xml.etree import ElementTree
from xml.parsers import expat

import polars as pl

from pipelines.ingest import bounds
from pipelines.ingest.decoding import is_binary
from pipelines.ingest.errors import UnreadableExport

if TYPE_CHECKING:
    from python_calamine import CalamineSheet

CHUNK_BYTES = 1024 * 1024
SNIFF_BYTES = 4096
MAX_INDEX_PART_BYTES = 1024 * 1024  # workbook.xml and its relationships: a few KB in practice
ROWS_PER_BATCH = 2_000  # rows held as Python objects at a time while converting

NOT_A_WORKBOOK = "The file is not a readable Excel workbook"
DAMAGED = f"{NOT_A_WORKBOOK}: its contents are damaged. Export it again."
NO_SHEET = (
    f"{NOT_A_WORKBOOK}: it is a zip archive without an Excel sheet in it (perhaps another kind "
    "of document saved with an .xlsx name)."
)
ZIP_BOMB = "this is a zip bomb or a damaged file"
_DAMAGED_ARCHIVE_ERRORS = (
    zipfile.BadZipFile,
    zlib.error,
    EOFError,
    OSError,  # a seek to an offset the damaged table of contents gives
    ElementTree.ParseError,
    expat.ExpatError,
)

# Up to 4 letters and 10 digits: beyond XFD1048576, the last cell Excel has, yet still bounded.
_CELL_REFERENCE = re.compile(r"([A-Z]{0,4})([0-9]{0,10})")


def read_first_sheet(path: Path) -> pl.DataFrame:
    """The first sheet from A1 to its last cell, one String column per sheet column: dates as
    ISO text, whole numbers without ".0", empty cells null."""
    _check_before_loading(path)
    from python_calamine import CalamineError, CalamineWorkbook

    try:
        with CalamineWorkbook.from_path(str(path)) as workbook:
            sheet = workbook.get_sheet_by_index(0)
    except (CalamineError, ValueError, OSError) as error:
        raise UnreadableExport(DAMAGED) from error
    return _text_cells(sheet)


def _check_before_loading(path: Path) -> None:
    bounds.refuse_if_larger(
        path, bounds.MAX_XLSX_BYTES, "workbook", "an Excel survey export",
        "export the survey as CSV instead",
    )  # fmt: skip
    if not zipfile.is_zipfile(path):
        raise UnreadableExport(_what_it_is_instead(path))
    try:
        with zipfile.ZipFile(path) as archive:
            _check_archive(archive)
    except (NotImplementedError, RuntimeError) as error:  # zipfile's errors for both
        raise UnreadableExport(
            f"{NOT_A_WORKBOOK}: it is compressed or encrypted in a way Excel does not write. "
            "Open it in Excel and save it again as .xlsx."
        ) from error
    except _DAMAGED_ARCHIVE_ERRORS as error:
        raise UnreadableExport(DAMAGED) from error


def _check_archive(archive: zipfile.ZipFile) -> None:
    _check_declared_sizes(archive.infolist())
    sheet = _first_sheet(archive)
    extent = _SheetExtent()
    for chunk in _unpacked_chunks(archive, sheet):
        extent.feed(chunk)
    for part in archive.infolist():  # calamine may unpack any of them
        if part is not sheet:
            for _chunk in _unpacked_chunks(archive, part):
                pass


def _what_it_is_instead(path: Path) -> str:
    """What a file named .xlsx that is not a zip archive is, judged by its first bytes."""
    with path.open("rb") as file:
        head = file.read(SNIFF_BYTES)
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<html", b"<!doctype", b"<table")):
        return (
            f"{NOT_A_WORKBOOK}: it is an HTML page saved with an .xlsx name. Open it in a "
            "browser or Excel and save it as .xlsx or CSV."
        )
    if start.startswith(b"\xd0\xcf\x11\xe0"):  # an OLE compound file
        return (
            f"{NOT_A_WORKBOOK}: it is an Excel 97-2003 .xls workbook (or a password-protected "
            "workbook) saved with an .xlsx name. Save it as .xlsx, without a password."
        )
    first_line = start.split(b"\n", 1)[0]
    if not is_binary(head) and any(separator in first_line for separator in b",;\t"):
        return f"{NOT_A_WORKBOOK}: it is a CSV text file saved with an .xlsx name."
    return f"{NOT_A_WORKBOOK}: it is not an Excel workbook at all, or it is damaged."


def _check_declared_sizes(parts: list[zipfile.ZipInfo]) -> None:
    """What the archive's table of contents says its parts unpack to (each part is held to its
    declared size as it is unpacked, see _unpacked_chunks)."""
    if len(parts) > bounds.MAX_XLSX_PARTS:
        raise UnreadableExport(
            f"The workbook holds {len(parts):,} parts, more than the limit of "
            f"{bounds.MAX_XLSX_PARTS:,}: {bounds.NOT_A_SURVEY_EXPORT}."
        )
    if len({part.filename for part in parts}) < len(parts):
        raise UnreadableExport(DAMAGED)  # which of two same-named parts is read would be a guess
    unpacked = sum(part.file_size for part in parts)
    if unpacked > bounds.MAX_XLSX_UNPACKED_BYTES:
        raise UnreadableExport(
            f"The workbook would unpack to {unpacked / bounds.MIB:,.0f} MiB, more than the limit "
            f"of {bounds.MAX_XLSX_UNPACKED_BYTES / bounds.MIB:,.0f} MiB (a survey export unpacks "
            f"to a few MB): {ZIP_BOMB}."
        )
    for part in parts:
        ratio = part.file_size / max(part.compress_size, 1)
        if (
            part.file_size > bounds.COMPRESSION_RATIO_CHECKED_ABOVE_BYTES
            and ratio > bounds.MAX_COMPRESSION_RATIO
        ):
            raise UnreadableExport(
                f"A part of the workbook is compressed {ratio:,.0f} to 1, more than the limit of "
                f"{bounds.MAX_COMPRESSION_RATIO} to 1 for spreadsheet data: {ZIP_BOMB}."
            )


def _unpacked_chunks(archive: zipfile.ZipFile, part: zipfile.ZipInfo) -> Iterator[bytes]:
    """The part unpacked chunk by chunk, refused if it unpacks to more than its declared size
    (zipfile would stop quietly at that size; calamine would go on)."""
    one_byte_more = copy.copy(part)
    one_byte_more.file_size += 1
    unpacked = 0
    with archive.open(one_byte_more) as stream:
        while chunk := stream.read(CHUNK_BYTES):
            unpacked += len(chunk)
            if unpacked > part.file_size:
                raise UnreadableExport(
                    "A part of the workbook unpacks to more than the size its table of contents "
                    f"declares: {ZIP_BOMB}."
                )
            yield chunk


def _first_sheet(archive: zipfile.ZipFile) -> zipfile.ZipInfo:
    """The part calamine reads as the first sheet: the first <sheet> of xl/workbook.xml, through
    its relationship in xl/_rels/workbook.xml.rels. Where calamine's choice could differ from
    this one (two ids, two relationships with one id), the file is refused as damaged."""
    sheet = next(_elements(archive, "xl/workbook.xml", "sheet"), None)
    ids = [] if sheet is None else [v for k, v in sheet.items() if k.endswith("}id")]
    if not ids:
        raise UnreadableExport(NO_SHEET)
    relations = [
        relation
        for relation in _elements(archive, "xl/_rels/workbook.xml.rels", "Relationship")
        if relation.get("Id") == ids[0]
    ]
    if len(ids) > 1 or len(relations) > 1:
        raise UnreadableExport(DAMAGED)
    target = relations[0].get("Target", "") if relations else ""
    if target.startswith("/xl/"):
        name = target[1:]
    else:
        name = target if target.startswith("xl/") else f"xl/{target}"
    try:
        return archive.getinfo(name)
    except KeyError as error:
        raise UnreadableExport(NO_SHEET) from error


def _elements(archive: zipfile.ZipFile, name: str, tag: str) -> Iterator[ElementTree.Element]:
    """The part's elements named `tag` (in any namespace), in document order."""
    try:
        part = archive.getinfo(name)
    except KeyError:
        return
    if part.file_size > MAX_INDEX_PART_BYTES:
        raise UnreadableExport(DAMAGED)
    parser = ElementTree.XMLPullParser(events=("start",))
    for chunk in _unpacked_chunks(archive, part):
        parser.feed(chunk)
        for _event, element in parser.read_events():
            if element.tag.rpartition("}")[2] == tag:
                yield element
    parser.close()


class _SheetExtent:
    """How far a sheet's cells reach, followed through its XML as it streams past, and refused as
    soon as its <dimension> declares, or its cells reach, beyond the bounds. The dimension may be
    absent or lie, so each cell is placed as calamine places it: at its r attribute, else after
    the previous cell (and its row after the previous row); a cell without a value does not
    reach, as calamine ignores it. Every cell element counts towards the cell limit, since
    calamine holds each one (even a repeated A1) while it builds the sheet."""

    def __init__(self) -> None:
        self._cells = 0
        self._rows = self._columns = 0
        self._row = self._column = 0
        self._open_cell: tuple[int, int] | None = None  # counted once a value is seen in it
        self._parser = expat.ParserCreate()
        self._parser.StartElementHandler = self._start

    def feed(self, chunk: bytes) -> None:
        self._parser.Parse(chunk, False)

    def _start(self, name: str, attributes: dict[str, str]) -> None:
        tag = name.rpartition(":")[2]
        if tag in {"v", "is"} and self._open_cell is not None:  # a value: the cell reaches
            row, column = self._open_cell
            self._open_cell = None
            if row > self._rows or column > self._columns:
                self._rows, self._columns = max(self._rows, row), max(self._columns, column)
                _check_extent(self._rows, self._columns)
        elif tag == "c":
            self._cells += 1
            if self._cells > bounds.MAX_CELLS:
                raise UnreadableExport(
                    f"The workbook's first sheet holds more than {bounds.MAX_CELLS:,} cells: "
                    f"{bounds.NOT_A_SURVEY_EXPORT}."
                )
            letters, digits = _reference(attributes.get("r", ""))
            self._column = _column_number(letters) if letters else self._column + 1
            self._open_cell = (int(digits) if digits else max(self._row, 1), self._column)
        elif tag == "row":
            letters, digits = _reference(attributes.get("r", ""))
            self._row = int(digits) if digits and not letters else self._row + 1
            self._column = 0
        elif tag == "dimension":
            letters, digits = _reference(attributes.get("ref", "").rpartition(":")[2])
            if letters and digits:
                _check_extent(int(digits), _column_number(letters))


def _reference(text: str) -> tuple[str, str]:
    """The column letters and row digits of an A1-style reference ("" where absent). Anything
    else, such as more letters or digits than any sheet has, means a damaged file."""
    reference = _CELL_REFERENCE.fullmatch(text)
    if reference is None:
        raise UnreadableExport(DAMAGED)
    return reference[1], reference[2]


def _check_extent(rows: int, columns: int) -> None:
    if rows > bounds.MAX_ROWS:
        raise UnreadableExport(
            f"The workbook's first sheet reaches row {rows:,}, beyond the limit of "
            f"{bounds.MAX_ROWS:,} rows: {bounds.NOT_A_SURVEY_EXPORT}."
        )
    if columns > bounds.MAX_COLUMNS:
        raise UnreadableExport(
            f"The workbook's first sheet reaches column {columns:,}, beyond the limit of "
            f"{bounds.MAX_COLUMNS:,} columns: {bounds.NOT_A_SURVEY_EXPORT}."
        )
    if rows * columns > bounds.MAX_CELLS:
        raise UnreadableExport(
            f"The workbook's first sheet spans {rows:,} rows by {columns:,} columns from A1, "
            f"{rows * columns:,} cells, beyond the limit of {bounds.MAX_CELLS:,} cells: "
            f"{bounds.NOT_A_SURVEY_EXPORT}."
        )


@functools.lru_cache(maxsize=4096)
def _column_number(letters: str) -> int:
    """Column letters as a number: A is 1, Z 26, AA 27."""
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - ord("A") + 1
    return number


def _text_cells(sheet: CalamineSheet) -> pl.DataFrame:
    if sheet.start is None:
        raise UnreadableExport("The workbook's first sheet is empty.")
    # calamine's rows begin at row 1 but at the first column used: pad them to begin at A.
    leading_blanks = [None] * sheet.start[1]
    schema = {f"col_{i}": pl.String for i in range(sheet.start[1] + sheet.width)}
    rows = iter(sheet.iter_rows())
    batches = []
    while batch := list(islice(rows, ROWS_PER_BATCH)):
        text_rows = [leading_blanks + [_cell_text(value) for value in row] for row in batch]
        batches.append(pl.DataFrame(text_rows, schema=schema, orient="row"))
    return pl.concat(batches)


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
