"""The coding sheet a run writes: data/review/open_answers_to_code.xlsx and .csv.

One row per open answer of a counted response that no analyst has coded yet, the newest waves
first, at most layout.MAX_ROWS (the rest come in later sheets, as codes arrive). The text is
the redacted text the warehouse holds; raw text never reaches the warehouse. In the .xlsx every
text cell is stored as text (never as a formula, and marked so Excel does not turn an edited cell
into one) and the code column has a drop-down of the question's codes; the .csv neutralises
formulas like every review sheet (pipelines/spreadsheet.py).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from pipelines.coding.layout import (
    CODE_COLUMN,
    CODE_SEPARATOR,
    CODES_SHEET_NAME,
    COLUMNS,
    MAX_ROWS,
    SHEET_NAME,
    answer_key,
    sheet_fingerprint,
)
from pipelines.reference import ReferenceData
from pipelines.spreadsheet import FORMULA_STARTS, write_csv_for_excel
from pipelines.warehouse import read_table

SHEET_STEM = "open_answers_to_code"

_TO_CODE = """
with uncoded as (
    select organisation_id, wave, service_id, response_key, file_sha256, question_id
    from intermediate.int_answer_codes
    where coded_by = 'codebook'
    group by all
),
newest as (
    select * from uncoded order by wave desc, organisation_id, question_id, service_id,
        response_key
    limit $limit
)
select
    newest.organisation_id, newest.wave, newest.service_id, newest.question_id,
    newest.response_key,
    any_value(texts.text_redacted) as answer,
    string_agg(distinct coded.option_code, '|' order by coded.option_code) as suggested_code,
    string_agg(distinct coded.coded_because, '; ' order by coded.coded_because)
        as suggested_because
from newest
join intermediate.int_open_answers_coded coded using (file_sha256, response_key, question_id)
join validated.open_answers texts using (file_sha256, response_key, question_id)
where texts.part = 'answer'
group by all
order by newest.question_id, newest.organisation_id, newest.wave desc, newest.service_id,
    newest.response_key
"""


@dataclass(frozen=True)
class WrittenSheet:
    xlsx: Path
    csv: Path
    rows: int
    left_off: int  # answers still to code beyond this sheet


def open_questions(reference: ReferenceData) -> dict[str, tuple[str, list[str]]]:
    """Per open question: its concept and its codes, in their sort order."""
    questions = reference.questions.filter(pl.col("answer_type") == "open")
    options = reference.answer_options.with_columns(pl.col("sort_order").cast(pl.Int64))
    found = {}
    for row in questions.iter_rows(named=True):
        codes = options.filter(pl.col("option_set_id") == row["option_set_id"]).sort("sort_order")
        found[row["question_id"]] = (row["concept"], codes["option_code"].to_list())
    return found


def rows_to_code(
    con: duckdb.DuckDBPyConnection, reference: ReferenceData, fingerprint: str
) -> tuple[pl.DataFrame, int]:
    """The sheet's rows, and how many answers to code were left off it."""
    total = con.execute(
        "select count(*) from (select 1 from intermediate.int_answer_codes "
        "where coded_by = 'codebook' group by response_key, file_sha256, question_id)"
    ).fetchall()[0][0]
    found = read_table(con, _TO_CODE.replace("$limit", str(int(MAX_ROWS))))
    questions = open_questions(reference)
    frame = found.select(
        pl.col("organisation_id").alias("organisation"),
        pl.col("wave").cast(pl.String),
        pl.col("service_id").alias("service"),
        "question_id",
        pl.col("question_id")
        .replace_strict({q: concept for q, (concept, _) in questions.items()}, default="")
        .alias("question"),
        "answer",
        "suggested_code",
        "suggested_because",
        pl.lit("").alias(CODE_COLUMN),
        pl.col("question_id")
        .replace_strict(
            {q: CODE_SEPARATOR.join(codes) for q, (_, codes) in questions.items()}, default=""
        )
        .alias("allowed_codes"),
        pl.struct("question_id", "response_key")
        .map_elements(
            lambda r: answer_key(r["question_id"], r["response_key"]), return_dtype=pl.String
        )
        .alias("answer_key"),
        pl.lit(sheet_fingerprint(fingerprint)).alias("key_fingerprint"),
    )
    assert tuple(frame.columns) == COLUMNS
    return frame, max(total - frame.height, 0)


def write_coding_sheet(
    con: duckdb.DuckDBPyConnection, reference: ReferenceData, fingerprint: str, review_dir: Path
) -> WrittenSheet:
    frame, left_off = rows_to_code(con, reference, fingerprint)
    csv_path = review_dir / f"{SHEET_STEM}.csv"
    xlsx_path = review_dir / f"{SHEET_STEM}.xlsx"
    write_csv_for_excel(frame, csv_path)
    _write_xlsx(frame, {q: codes for q, (_, codes) in open_questions(reference).items()}, xlsx_path)
    return WrittenSheet(xlsx_path, csv_path, frame.height, left_off)


def _write_xlsx(frame: pl.DataFrame, codes: dict[str, list[str]], path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = SHEET_NAME
    sheet.append(list(COLUMNS))
    for values in frame.iter_rows():
        sheet.append([_as_text_cell(sheet, value) for value in values])
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{frame.height + 1}"
    for name, width in {"answer": 60, "suggested_because": 40, "question": 30}.items():
        sheet.column_dimensions[get_column_letter(COLUMNS.index(name) + 1)].width = width

    # The allowed codes, one column per question, on a hidden sheet the drop-downs point at.
    listed = workbook.create_sheet(CODES_SHEET_NAME)
    listed.sheet_state = "hidden"
    code_letter = get_column_letter(COLUMNS.index(CODE_COLUMN) + 1)
    questions = frame["question_id"].to_list()
    for number, (question_id, question_codes) in enumerate(sorted(codes.items()), start=1):
        letter = get_column_letter(number)
        listed.cell(1, number, question_id)
        for row, code in enumerate(question_codes, start=2):
            listed.cell(row, number, code)
        rows = [i + 2 for i, q in enumerate(questions) if q == question_id]
        if not rows:
            continue
        validation = DataValidation(
            type="list",
            formula1=f"'{CODES_SHEET_NAME}'!${letter}$2:${letter}${len(question_codes) + 1}",
            allow_blank=True,
            showErrorMessage=True,
            # Several themes ("time|funding") are typed, not picked: warn rather than refuse.
            errorStyle="warning",
            errorTitle="Not one of this question's codes",
            error="Pick a code from the list (several themes: separate them with |).",
        )
        # Rows are sorted by question, so each question's rows are one range.
        validation.add(f"{code_letter}{min(rows)}:{code_letter}{max(rows)}")
        sheet.add_data_validation(validation)
    partial = path.with_name(path.name + ".partial")
    workbook.save(partial)
    os.replace(partial, path)


def _as_text_cell(sheet, value: str | None):
    """A cell holding `value` as text: openpyxl would store "=..." as a formula; a text cell
    that starts like one is also marked (quotePrefix) so editing it keeps it text."""
    from openpyxl.cell.cell import Cell

    cell = Cell(sheet, value=value)
    if value is not None:
        cell.data_type = "s"
        if value.startswith(FORMULA_STARTS):
            cell.quotePrefix = True
    return cell
