"""How large an export file may be, checked before it is loaded.

A real survey export is a few MB: some thousands of rows and at most some hundreds of columns.
The limits sit far above that, and low enough that reading any file within them stays under
1 GiB of memory (peaks measured on files at the limits are noted). Code reads them as
`bounds.NAME` when it runs, so a test can lower one.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.ingest.errors import UnreadableExport

MIB = 1024 * 1024

# Why a file beyond a bound is refused, at the end of each such reason.
NOT_A_SURVEY_EXPORT = "this is not a survey export as written by a survey tool"

# Any format
MAX_COLUMNS = 2_000
MAX_LINE_BYTES = 1_000_000  # no survey export has a 1 MB line (or cell); a longer one is corrupt

# CSV. DuckDB holds about five times the file's size while it parses it into text cells: a
# 128 MiB file of short answers peaks at 830 MiB, a 250 MiB one at 1.26 GiB.
MAX_CSV_BYTES = 128 * MIB

# XLSX, a zip archive of XML parts. python-calamine builds the whole first sheet in memory, as a
# rectangle from its first to its last cell, before returning a row.
MAX_XLSX_BYTES = 32 * MIB  # zipfile parses the archive's table of contents whole: < 400 MiB
MAX_XLSX_PARTS = 10_000  # a workbook has some tens of parts (sheets, styles, strings)
MAX_XLSX_UNPACKED_BYTES = 256 * MIB
MAX_COMPRESSION_RATIO = 200  # spreadsheet XML compresses about 10 to 1, repetitive XML 100 to 1
COMPRESSION_RATIO_CHECKED_ABOVE_BYTES = 1 * MIB  # small parts (styles) may compress better
MAX_ROWS = 200_000
MAX_CELLS = 5_000_000  # 50,000 rows by 100 columns peak at 550-600 MiB

# SPSS .sav: its header states rows and columns, checked before the data is read.
MAX_SAV_BYTES = 128 * MIB


def refuse_if_larger(
    path: Path, limit_bytes: int, subject: str, kind: str, then: str = NOT_A_SURVEY_EXPORT
) -> None:
    """Refuse a file over `limit_bytes` before anything reads it."""
    size = path.stat().st_size
    if size > limit_bytes:
        raise UnreadableExport(
            f"The {subject} is {size / MIB:,.0f} MiB, more than the limit of "
            f"{limit_bytes / MIB:,.0f} MiB for {kind}: {then}."
        )
