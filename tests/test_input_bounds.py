"""A file too large, too wide, not what its name says, or not text is refused before it is loaded,
with a reason that names the rule broken (and where) but never quotes the file.

Each test calls load_grid directly: no pipeline run is needed to see a file refused.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
import zipfile
import zlib
from collections.abc import Iterable
from pathlib import Path

import duckdb
import openpyxl
import pytest

from pipelines.ingest import bounds
from pipelines.ingest.errors import UnreadableExport
from pipelines.ingest.grid import Grid, load_grid

MIB = 1024 * 1024
GIB_IN_KIB = 1024 * 1024
NOT_A_SURVEY_EXPORT = "this is not a survey export as written by a survey tool"
HEADER = "respondent_id,submitted_at,service,respondent_group,cp_aware\r\n"
ROW = "T{i},2024-03-04 10:00:00,Main,Frontline worker,Yes\r\n"

# The smallest workbook calamine reads: the sheet list, its relationships and one sheet.
CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    "</Types>"
)
PACKAGE_RELATIONSHIPS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
    "</Relationships>"
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Responses" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELATIONSHIPS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>'
    "</Relationships>"
)
SHEET_START = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)
SHEET_PART = "xl/worksheets/sheet1.xml"


def write_workbook(path: Path, sheet_data: Iterable[bytes], dimension: str | None = None) -> Path:
    """A workbook whose first sheet's <sheetData> is `sheet_data`, written chunk by chunk (so a
    test can build a sheet of hundreds of MB without holding it)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", PACKAGE_RELATIONSHIPS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELATIONSHIPS)
        with archive.open(SHEET_PART, "w") as sheet:
            sheet.write(SHEET_START)
            if dimension:
                sheet.write(f'<dimension ref="{dimension}"/>'.encode())
            sheet.write(b"<sheetData>")
            for chunk in sheet_data:
                sheet.write(chunk)
            sheet.write(b"</sheetData></worksheet>")
    return path


def rows_xml(count: int, columns: str = "ABCDE") -> bytes:
    return b"".join(
        f'<row r="{r}">'.encode()
        + b"".join(f'<c r="{c}{r}"><v>{r}</v></c>'.encode() for c in columns)
        + b"</row>"
        for r in range(1, count + 1)
    )


def refusal(path: Path) -> str:
    with pytest.raises(UnreadableExport) as refused:
        load_grid(path, duckdb.connect())
    return str(refused.value)


LOAD_AND_PRINT_REASON = """
import sys
from pathlib import Path
import duckdb
from pipelines.ingest.errors import UnreadableExport
from pipelines.ingest.grid import load_grid
try:
    load_grid(Path(sys.argv[1]), duckdb.connect())
except UnreadableExport as refused:
    print(refused)
"""
# A process of its own runs the child, so that RUSAGE_CHILDREN holds that child's peak alone
# (the test process's other children, such as a dbt parse, would count too).
PEAK_OF_CHILD = """
import resource, subprocess, sys
subprocess.run([sys.executable, "-c", sys.argv[1], sys.argv[2]], check=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)
"""


def reason_and_peak_kib(path: Path) -> tuple[str, int]:
    """load_grid's reason for `path`, in a fresh Python process, and that process's peak
    resident memory in KiB (as Linux counts ru_maxrss)."""
    measured = subprocess.run(
        [sys.executable, "-c", PEAK_OF_CHILD, LOAD_AND_PRINT_REASON, str(path)],
        capture_output=True,
        text=True,
        check=True,
    )
    *reason, peak = measured.stdout.splitlines()
    return "\n".join(reason), int(peak)


# XLSX


def test_a_zip_bomb_is_refused_by_its_unpacked_size_without_unpacking_it(tmp_path):
    one_mib_of_rows = b'<row r="1"><c r="A1"><v>1</v></c></row>' * (MIB // 39)
    bomb = write_workbook(tmp_path / "bomb.xlsx", [one_mib_of_rows] * 300)
    assert bomb.stat().st_size < 5 * MIB  # 300 MiB of XML

    reason, peak_kib = reason_and_peak_kib(bomb)

    assert reason == (
        "The workbook would unpack to 300 MiB, more than the limit of 256 MiB (a survey export "
        "unpacks to a few MB): this is a zip bomb or a damaged file."
    )
    assert peak_kib <= GIB_IN_KIB, f"peak {peak_kib // 1024} MiB"


def test_a_part_compressed_beyond_any_spreadsheet_is_refused(tmp_path):
    path = write_workbook(tmp_path / "dense.xlsx", [b'<row r="1"></row>' * (4 * MIB // 17)])
    sheet = zipfile.ZipFile(path).getinfo(SHEET_PART)
    ratio = sheet.file_size / sheet.compress_size
    assert ratio > 200

    assert refusal(path) == (
        f"A part of the workbook is compressed {ratio:,.0f} to 1, more than the limit of 200 to 1 "
        "for spreadsheet data: this is a zip bomb or a damaged file."
    )


def test_a_part_that_unpacks_to_more_than_it_declares_is_refused(tmp_path):
    """zipfile stops at the declared size; calamine does not, so a smaller declared size would
    let a bomb past the size rules. A mere lie fails zipfile's CRC check (damaged); this one
    carries the CRC a reader going one byte past the declared size sees, as a bomb made to pass
    that check would."""
    path = write_workbook(tmp_path / "lying.xlsx", [rows_xml(50)])
    declare_smaller_size(path, SHEET_PART)

    assert refusal(path) == (
        "A part of the workbook unpacks to more than the size its table of contents declares: "
        "this is a zip bomb or a damaged file."
    )


def declare_smaller_size(path: Path, part: str) -> None:
    """Halve the size the archive's table of contents (central directory) declares for `part`,
    with the CRC of the declared bytes and one more."""
    unpacked = zipfile.ZipFile(path).read(part)
    declared = len(unpacked) // 2
    content = bytearray(path.read_bytes())
    entry = content.rindex(b"PK\x01\x02")  # the last part's entry: write_workbook's sheet
    assert content[entry + 46 : entry + 46 + len(part)] == part.encode()
    content[entry + 16 : entry + 20] = zlib.crc32(unpacked[: declared + 1]).to_bytes(4, "little")
    content[entry + 24 : entry + 28] = declared.to_bytes(4, "little")
    path.write_bytes(bytes(content))


def test_a_sheet_declaring_a_million_rows_is_refused_before_it_is_read(tmp_path):
    path = write_workbook(tmp_path / "million.xlsx", [rows_xml(3)], dimension="A1:E1000000")

    assert refusal(path) == (
        "The workbook's first sheet reaches row 1,000,000, beyond the limit of 200,000 rows: "
        f"{NOT_A_SURVEY_EXPORT}."
    )


def test_a_sheet_whose_dimension_lies_is_refused_by_its_cells(tmp_path, monkeypatch):
    monkeypatch.setattr(bounds, "MAX_ROWS", 20)
    path = write_workbook(tmp_path / "lying.xlsx", [rows_xml(30)], dimension="A1:E10")

    assert refusal(path) == (
        f"The workbook's first sheet reaches row 21, beyond the limit of 20 rows: "
        f"{NOT_A_SURVEY_EXPORT}."
    )


def test_two_cells_far_apart_are_refused_before_calamine_builds_the_rectangle_between(tmp_path):
    """calamine would allocate every cell from A1 to XFD1 and on to the last row: 512 GiB for
    XFD1048576, which aborts the whole process."""
    cells = b'<row r="1"><c r="A1"><v>1</v></c><c r="XFD1"><v>2</v></c></row>'
    path = write_workbook(tmp_path / "sparse.xlsx", [cells])

    assert refusal(path) == (
        "The workbook's first sheet reaches column 16,384, beyond the limit of 2,000 columns: "
        f"{NOT_A_SURVEY_EXPORT}."
    )


def test_cells_without_references_are_placed_after_the_previous_one(tmp_path, monkeypatch):
    monkeypatch.setattr(bounds, "MAX_COLUMNS", 10)
    cells = b'<row><c r="H1"><v>1</v></c><c><v>2</v></c><c><v>3</v></c><c><v>4</v></c></row>'
    path = write_workbook(tmp_path / "unreferenced.xlsx", [cells])

    assert refusal(path) == (
        "The workbook's first sheet reaches column 11, beyond the limit of 10 columns: "
        f"{NOT_A_SURVEY_EXPORT}."
    )


def test_a_sheet_of_too_many_cell_elements_is_refused_even_in_one_place(tmp_path, monkeypatch):
    monkeypatch.setattr(bounds, "MAX_CELLS", 50)
    path = write_workbook(tmp_path / "repeated.xlsx", [b'<c r="A1"><v>1</v></c>' * 60])

    assert refusal(path) == (
        f"The workbook's first sheet holds more than 50 cells: {NOT_A_SURVEY_EXPORT}."
    )


@pytest.mark.parametrize(
    ("content", "what_it_is"),
    [
        (
            b"<!DOCTYPE html>\n<html><body><table><tr><td>respondent_id</td></tr></table>",
            "it is an HTML page saved with an .xlsx name. Open it in a browser or Excel and save "
            "it as .xlsx or CSV.",
        ),
        (
            (HEADER + ROW.format(i=1)).encode(),
            "it is a CSV text file saved with an .xlsx name.",
        ),
        (
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504),
            "it is an Excel 97-2003 .xls workbook (or a password-protected workbook) saved with "
            "an .xlsx name. Save it as .xlsx, without a password.",
        ),
        (
            random.Random(1).randbytes(2048),
            "it is not an Excel workbook at all, or it is damaged.",
        ),
    ],
    ids=["html", "csv", "xls", "random"],
)
def test_a_file_that_is_not_a_workbook_is_named_for_what_it_is(tmp_path, content, what_it_is):
    path = tmp_path / "export.xlsx"
    path.write_bytes(content)

    assert refusal(path) == f"The file is not a readable Excel workbook: {what_it_is}"


def test_a_workbook_over_the_file_size_limit_is_refused_before_it_is_opened(tmp_path, monkeypatch):
    monkeypatch.setattr(bounds, "MAX_XLSX_BYTES", 1 * MIB)
    path = tmp_path / "large.xlsx"
    path.write_bytes(random.Random(1).randbytes(2 * MIB))

    assert refusal(path) == (
        "The workbook is 2 MiB, more than the limit of 1 MiB for an Excel survey export: export "
        "the survey as CSV instead."
    )


def test_a_normal_workbook_still_loads_with_columns_from_a(tmp_path):
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["respondent_id", "submitted_at", "score"])
    sheet.append(["T1", "2024-03-04 10:00:00", 3])
    sheet["E3"] = "late answer"  # a column beyond the header, after a gap
    workbook.save(tmp_path / "export.xlsx")

    grid = load_grid(tmp_path / "export.xlsx", duckdb.connect())

    assert grid.header_rows == [["respondent_id", "submitted_at", "score", "", ""]]
    assert grid.body.rows() == [
        ("T1", "2024-03-04 10:00:00", "3", None, None),
        (None, None, None, None, "late answer"),
    ]


def test_an_empty_sheet_is_called_empty(tmp_path):
    assert refusal(write_workbook(tmp_path / "empty.xlsx", [])) == (
        "The workbook's first sheet is empty."
    )


def test_a_sheet_that_starts_away_from_a1_is_read_from_a1(tmp_path):
    cells = b'<row r="2"><c r="C2" t="inlineStr"><is><t>id</t></is></c></row>'
    cells += b'<row r="3"><c r="C3"><v>7</v></c></row>'
    grid = load_grid(write_workbook(tmp_path / "offset.xlsx", [cells]), duckdb.connect())

    assert grid.header_rows == [["", "", ""]]
    assert grid.body.rows() == [(None, None, "id"), (None, None, "7")]


# CSV


def test_a_csv_of_fifty_thousand_columns_is_refused_by_its_header_at_once(tmp_path):
    path = tmp_path / "wide.csv"
    names = ",".join(f"q{i}" for i in range(50_000))
    path.write_text(names + "\r\n" + ",".join("1" for _ in range(50_000)) + "\r\n")

    started = time.monotonic()
    reason = refusal(path)

    assert reason == (
        f"The first line names 50,000 columns, more than the limit of 2,000: {NOT_A_SURVEY_EXPORT}."
    )
    assert time.monotonic() - started < 5


def test_a_csv_over_the_size_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(bounds, "MAX_CSV_BYTES", 1 * MIB)
    path = tmp_path / "large.csv"
    path.write_text(HEADER + "".join(ROW.format(i=i) for i in range(45_000)))

    assert refusal(path) == (
        "The file is 2 MiB, more than the limit of 1 MiB for a CSV survey export: "
        f"{NOT_A_SURVEY_EXPORT}."
    )


def test_a_first_line_longer_than_the_line_limit_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(bounds, "MAX_LINE_BYTES", 100)
    path = tmp_path / "long_header.csv"
    path.write_text("x" * 150 + "\r\n" + "1\r\n")

    assert refusal(path) == (
        f"Line 1 is longer than 100 bytes (one enormous cell): {NOT_A_SURVEY_EXPORT}."
    )


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be"])
def test_utf16_without_a_byte_order_mark_is_named(tmp_path, encoding):
    path = tmp_path / "export.csv"
    path.write_bytes((HEADER + ROW.format(i=1)).encode(encoding))

    assert refusal(path) == (
        "The file is UTF-16 text without a byte-order mark: save it again as 'CSV UTF-8'."
    )


def test_random_bytes_are_called_binary_data(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(random.Random(1).randbytes(4096))

    assert refusal(path) == (
        "The file holds binary data, not text: it may be a spreadsheet, archive or image saved "
        "with a .csv name."
    )


def test_mixed_encodings_give_the_line_and_the_offset_from_the_start_of_the_file(tmp_path):
    bom = b"\xef\xbb\xbf"
    utf8_line = "T1,2024-03-04 10:00:00,Main,Frontline worker,Caf\u00e9\r\n".encode()
    cp1252_line = "T2,2024-03-04 10:00:00,Main,Frontline worker,Caf\u00e9\r\n".encode("cp1252")
    path = tmp_path / "export.csv"
    path.write_bytes(bom + HEADER.encode() + utf8_line + cp1252_line)
    offset = len(bom) + len(HEADER) + len(utf8_line) + cp1252_line.index(b"\xe9")
    assert offset == 3 + 62 + 52 + 48

    assert refusal(path) == (
        "The file mixes two text encodings (some lines UTF-8, some Windows-1252), so accented "
        "letters cannot all be read correctly: the first byte that is not UTF-8 is on line 3, at "
        "byte offset 165 from the start of the file. Re-export it from the survey tool in one go."
    )


def test_bytes_that_are_text_in_neither_encoding_are_located(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes(HEADER.encode() + b"T1,2024-03-04 10:00:00,Main,Frontline worker,\x81\r\n")

    assert refusal(path) == (
        "The file is not text in UTF-8 or Windows-1252: the byte on line 2, at byte offset 107 "
        "from the start of the file, is a character in neither. It may be a binary file saved "
        "with a .csv name."
    )


@pytest.mark.parametrize(
    ("encoding", "content_encoding", "name"),
    [
        ("utf-8", "utf-8", "export.csv"),
        ("utf-8-sig", "utf-8-sig", "export.csv"),
        ("windows-1252", "cp1252", "export.csv"),
        ("utf-16", "utf-16", "export.csv"),
        ("utf-8", "utf-8", "export [copy].csv"),  # a name DuckDB would read as a pattern
    ],
)
def test_a_normal_csv_still_loads_in_each_encoding(tmp_path, encoding, content_encoding, name):
    path = tmp_path / name
    path.write_bytes(
        (HEADER + ROW.format(i=1).replace("Main", "Caf\u00e9")).encode(content_encoding)
    )

    grid = load_grid(path, duckdb.connect())

    assert isinstance(grid, Grid) and grid.encoding == encoding
    assert grid.header_rows == [HEADER.strip().split(",")]
    assert grid.body.rows() == [
        ("T1", "2024-03-04 10:00:00", "Caf\u00e9", "Frontline worker", "Yes")
    ]


def test_an_empty_or_blank_csv_is_called_empty(tmp_path):
    path = tmp_path / "export.csv"
    for content in [b"", b"\xef\xbb\xbf \r\n\r\n"]:
        path.write_bytes(content)
        assert refusal(path) == "The file is empty."
    path.write_bytes(b"\r\n" + HEADER.encode())
    assert refusal(path) == "The first line is empty: the column names must be on line 1."


# SPSS


def test_a_damaged_sav_file_is_refused_without_quoting_the_library(tmp_path):
    path = tmp_path / "export.sav"
    path.write_bytes(b"$FL2" + random.Random(1).randbytes(500))

    assert refusal(path) == (
        "The file is not a readable SPSS .sav file: it is damaged or is another kind of file "
        "saved with a .sav name. Export it again from SPSS."
    )


def write_sav(path: Path, rows: int, columns: int) -> Path:
    import pandas as pd
    import pyreadstat

    frame = pd.DataFrame({f"Q{c}": [float(r % 5) for r in range(rows)] for c in range(columns)})
    pyreadstat.write_sav(frame, str(path))
    return path


def test_a_sav_file_beyond_the_row_or_column_limit_is_refused_from_its_header(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(bounds, "MAX_ROWS", 50)
    monkeypatch.setattr(bounds, "MAX_COLUMNS", 8)
    assert refusal(write_sav(tmp_path / "long.sav", 51, 3)) == (
        "The file holds 51 rows, more than the limit of 50: this is not a survey export as "
        "written by a survey tool."
    )
    assert refusal(write_sav(tmp_path / "wide.sav", 5, 9)) == (
        "The file holds 9 variables, more than the limit of 8 columns: this is not a survey "
        "export as written by a survey tool."
    )
    grid = load_grid(write_sav(tmp_path / "fits.sav", 50, 8), duckdb.connect())
    assert grid.body.height == 50 and len(grid.header_rows[0]) == 8


def test_a_sav_file_over_the_size_limit_is_refused_before_it_is_opened(tmp_path, monkeypatch):
    monkeypatch.setattr(bounds, "MAX_SAV_BYTES", 1024)
    path = write_sav(tmp_path / "big.sav", 200, 5)
    assert refusal(path) == (
        f"The file is {path.stat().st_size / bounds.MIB:,.0f} MiB, more than the limit of 0 MiB "
        "for an SPSS survey export: this is not a survey export as written by a survey tool."
    )
