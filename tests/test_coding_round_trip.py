"""The coding round-trip end to end, through the real assets (ingest, dbt on DuckDB, publication):
a run writes the coding sheet, an analyst fills two codes in it with openpyxl and drops it into
data/coding/, the next run counts them.

round_org, 20 frontline staff a wave, 2024 and 2025, the same answers each wave:
  12 "Working with people who use services as equals, to design and deliver them together."
     (the codebook: comprehensive)        8 "Not sure." (the codebook: unsure)
The analyst codes two of the 2025 "Not sure." answers comprehensive. By hand, 2025:
  comprehensive 12 + 2 = 14 of 20 = 70.0%, unsure 8 - 2 = 6 of 20 = 30.0%;
  2024 stays 12 of 20 = 60.0% and is not recomputed (only the 2025 partition's codes changed).
"""

from __future__ import annotations

import shutil

import openpyxl
import polars as pl
import pytest

from pipelines.coding.layout import COLUMNS, sheet_fingerprint
from pipelines.hash_key import key_fingerprint
from tests.builders import answers, export, organisation, people, template_csv
from tests.conftest import open_workspace

COMPREHENSIVE = (
    "Working with people who use services as equals, to design and deliver them together."
)


def wave_rows(year: int, extra: int = 0) -> list[dict]:
    count = 20 + extra
    return people(
        "Frontline care or support worker",
        count,
        f"R{year}",
        "Main",
        year=year,
        cp_aware=answers(count, Yes=count),
        cp_define=[COMPREHENSIVE] * 12 + ["Not sure."] * (8 + extra),
    )


@pytest.fixture(scope="module")
def workspace(tmp_path_factory, module_monkeypatch):
    workspace = open_workspace(tmp_path_factory.mktemp("round_trip") / "data", module_monkeypatch)
    workspace.register(
        [organisation("round_org", ["main"])],
        [export(f"round_{y}.csv", "round_org", y) for y in (2024, 2025)],
    )
    for year in (2024, 2025):
        workspace.drop(f"round_{year}.csv", template_csv(wave_rows(year)))
    assert workspace.run().success
    workspace.coding = workspace.root / "coding"
    workspace.coding.mkdir()
    return workspace


def sheet_path(workspace, suffix: str = "xlsx"):
    return workspace.root / "review" / f"open_answers_to_code.{suffix}"


def figures(workspace, measure: str) -> dict[int, tuple]:
    frame = workspace.mart("mart_measures").filter(
        (pl.col("measure_id") == measure) & (pl.col("breakdown") == "organisation")
    )
    return {row[0]: row[1:] for row in frame.select("wave", "k", "n", "pct").iter_rows()}


def computed_at(workspace) -> dict[int, object]:
    return dict(
        workspace.query(
            "select wave, max(computed_at) from intermediate.int_measure_cells group by 1"
        ).iter_rows()
    )


def fill(source, target, codes_by_row: dict[int, str], column: str = "code", value=None):
    """Save a copy of the written workbook with `codes_by_row` typed into the code column."""
    workbook = openpyxl.load_workbook(source)
    sheet = workbook["to code"]
    letter = openpyxl.utils.get_column_letter(COLUMNS.index(column) + 1)
    for row, code in codes_by_row.items():
        sheet[f"{letter}{row}"] = code if value is None else value
    workbook.save(target)


def rows_where(path, **wanted) -> list[int]:
    sheet = openpyxl.load_workbook(path)["to code"]
    header = [c.value for c in sheet[1]]
    return [
        number
        for number, values in enumerate(sheet.iter_rows(min_row=2, values_only=True), start=2)
        if all(values[header.index(k)] == v for k, v in wanted.items())
    ]


def check_result(result, check: str = "coding_sheets_accepted"):
    (evaluation,) = [e for e in result.get_asset_check_evaluations() if e.check_name == check]
    return evaluation


def test_the_written_sheet_lists_every_uncoded_answer_with_a_drop_down(workspace):
    workbook = openpyxl.load_workbook(sheet_path(workspace))
    sheet = workbook["to code"]
    assert tuple(c.value for c in sheet[1]) == COLUMNS
    assert sheet.max_row == 1 + 40  # 20 definitions a wave, none coded by an analyst yet
    assert len(rows_where(sheet_path(workspace), wave="2025", suggested_code="unsure")) == 8
    (validation,) = sheet.data_validations.dataValidation
    assert validation.type == "list" and str(validation.sqref) == "I2:I41"
    allowed = workbook["allowed codes"]
    assert allowed.sheet_state == "hidden"
    listed = {
        column[0].value: [c.value for c in column[1:] if c.value] for column in allowed.columns
    }
    assert listed["CP_DEFINE"] == ["comprehensive", "partial", "unsure"]
    assert validation.formula1 == "'allowed codes'!$C$2:$C$4"  # CP_DEFINE's column
    # The CSV twin holds the same rows.
    assert pl.read_csv(sheet_path(workspace, "csv")).height == 40


def test_two_codes_filled_in_change_exactly_the_cells_computed_by_hand(workspace):
    before = computed_at(workspace)
    unsure_2025 = rows_where(sheet_path(workspace), wave="2025", suggested_code="unsure")[:2]
    fill(
        sheet_path(workspace),
        workspace.coding / "coded.xlsx",
        dict.fromkeys(unsure_2025, "comprehensive"),
    )
    assert workspace.run().success
    assert figures(workspace, "understanding_comprehensive") == {
        2024: (12, 20, 60.0),
        2025: (14, 20, 70.0),
    }
    assert figures(workspace, "understanding_unsure") == {2024: (8, 20, 40.0), 2025: (6, 20, 30.0)}
    cells = workspace.query("""
        select wave, n, k, n_coded_by_analyst, n_coded_by_codebook
        from intermediate.int_measure_cells
        where measure_id = 'understanding_comprehensive' and breakdown = 'organisation'
        order by wave""").rows()
    assert cells == [(2024, 20, 12, 0, 20), (2025, 20, 14, 2, 18)]
    # Only the partition whose codes changed was recomputed.
    after = computed_at(workspace)
    assert after[2024] == before[2024] and after[2025] > before[2025]
    # The coded answers leave the next sheet; the sheet that brought them stays where it was.
    assert openpyxl.load_workbook(sheet_path(workspace))["to code"].max_row == 1 + 38
    assert (workspace.coding / "coded.xlsx").exists()
    listed = pl.read_csv(workspace.root / "review" / "coding_sheets.csv")
    assert listed.select("file_name", "status", "codes_accepted").rows() == [
        ("coded.xlsx", "accepted", 2)
    ]


def test_codes_survive_a_re_export_of_the_same_responses(workspace):
    # A new version of the 2025 file: the same 20 responses plus one more "Not sure.".
    workspace.drop("round_2025.csv", template_csv(wave_rows(2025, extra=1)))
    assert workspace.run().success
    assert figures(workspace, "understanding_comprehensive")[2025] == (14, 21, 66.7)
    assert figures(workspace, "understanding_unsure")[2025] == (7, 21, 33.3)


def test_a_sheet_with_an_unknown_code_is_refused_naming_its_row(workspace):
    rows = rows_where(sheet_path(workspace), wave="2025", suggested_code="unsure")
    fill(
        sheet_path(workspace),
        workspace.coding / "typo.xlsx",
        {rows[0]: "comprehensive", rows[1]: "brilliant"},
    )
    result = workspace.run()
    assert result.success
    evaluation = check_result(result)
    assert not evaluation.passed
    assert f"typo.xlsx: row {rows[1]}, column code: is not a code of this question" in (
        evaluation.description
    )
    assert "brilliant" not in evaluation.description  # never a cell's content
    # Refused whole: the good row was not taken either, and the sheet is kept.
    assert figures(workspace, "understanding_comprehensive")[2025] == (14, 21, 66.7)
    assert (workspace.coding / "typo.xlsx").exists()
    listed = pl.read_csv(workspace.root / "review" / "coding_sheets.csv")
    assert listed.filter(pl.col("file_name") == "typo.xlsx")["status"].to_list() == ["refused"]
    (workspace.coding / "typo.xlsx").unlink()


def test_a_sheet_written_under_another_hash_key_is_refused(workspace):
    rows = rows_where(sheet_path(workspace), wave="2025", suggested_code="unsure")
    other = workspace.coding / "other_key.xlsx"
    fill(sheet_path(workspace), other, {rows[0]: "comprehensive"})
    fill(
        other,
        other,
        {rows[0]: None},
        column="key_fingerprint",
        value=sheet_fingerprint(key_fingerprint(b"a key another warehouse used")),
    )
    result = workspace.run()
    evaluation = check_result(result)
    assert not evaluation.passed
    assert f"other_key.xlsx: row {rows[0]}, column key_fingerprint: was written under a " in (
        evaluation.description
    )
    assert figures(workspace, "understanding_comprehensive")[2025] == (14, 21, 66.7)
    other.unlink()


def test_an_edited_text_or_an_unknown_answer_is_refused(workspace):
    rows = rows_where(sheet_path(workspace), wave="2025", suggested_code="unsure")
    edited = workspace.coding / "edited.xlsx"
    fill(sheet_path(workspace), edited, {rows[0]: "comprehensive", rows[1]: "partial"})
    fill(edited, edited, {rows[0]: None}, column="answer", value="Not sure at all.")
    fill(edited, edited, {rows[1]: None}, column="answer_key", value="CP_DEFINE:" + "0" * 64)
    evaluation = check_result(workspace.run())
    assert f"edited.xlsx: row {rows[0]}, column answer: differs from" in evaluation.description
    assert f"edited.xlsx: row {rows[1]}, column answer_key: names no current" in (
        evaluation.description
    )
    edited.unlink()


def test_a_csv_sheet_is_read_too(workspace):
    frame = pl.read_csv(sheet_path(workspace, "csv"), infer_schema=False)
    row = frame.with_row_index().filter(
        (pl.col("wave") == "2025") & (pl.col("suggested_code") == "unsure")
    )["index"][0]
    frame = frame.with_columns(
        pl.when(pl.int_range(pl.len()) == row)
        .then(pl.lit("comprehensive"))
        .otherwise("code")
        .alias("code")
    )
    shutil.copy(sheet_path(workspace, "csv"), workspace.root / "copy.csv")  # keep the original
    (workspace.coding / "coded.csv").write_bytes(b"\xef\xbb\xbf" + frame.write_csv().encode())
    assert workspace.run().success
    assert figures(workspace, "understanding_comprehensive")[2025] == (15, 21, 71.4)


def test_a_rotated_hash_key_re_keys_the_stored_codes(workspace, module_monkeypatch):
    import dagster as dg

    from pipelines.definitions import defs

    module_monkeypatch.setenv("COPROD_HASH_KEY", "a new secret key for the round trip")
    result = defs.resolve_job_def("coprod_full_run").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        raise_on_error=False,
        run_config={"ops": {"ingest__survey_exports": {"config": {"rotate_key": True}}}},
    )
    assert result.success
    assert check_result(result).passed  # no code was left matching nothing
    # Every response key changed, yet the three analyst codes still count.
    assert figures(workspace, "understanding_comprehensive")[2025] == (15, 21, 71.4)
    fingerprints = workspace.query("select distinct key_fingerprint from ingest.analyst_codes")
    assert fingerprints["key_fingerprint"].to_list() == [
        key_fingerprint(b"a new secret key for the round trip")
    ]
