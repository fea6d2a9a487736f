"""Files written for Excel cannot run a respondent's text as a formula."""

from __future__ import annotations

import polars as pl

from pipelines.spreadsheet import neutralise_formulas, write_csv_for_excel
from tests.builders import export, organisation, people, template_csv


def test_cells_that_excel_would_run_are_prefixed():
    frame = pl.DataFrame(
        {
            "text": [
                '=HYPERLINK("http://x")',
                "+1",
                "-2+3",
                "@SUM(A1)",
                "\tx",
                "fine",
                "a=b",
                None,
            ],
            "n": [1, 2, 3, 4, 5, 6, 7, 8],
        }
    )
    assert neutralise_formulas(frame)["text"].to_list() == [
        '\'=HYPERLINK("http://x")',
        "'+1",
        "'-2+3",
        "'@SUM(A1)",
        "'\tx",
        "fine",
        "a=b",
        None,
    ]


def test_the_review_list_of_rejected_rows_is_safe_to_open(workspace):
    workspace.register([organisation("xl_org", ["main"])], [export("xl.csv", "xl_org", 2024)])
    rows = people("Frontline care or support worker", 12, "X", "Main", year=2024)
    rows[0]["service"] = "=cmd|' /C calc'!A0"  # a DDE payload typed as a service name
    workspace.drop("xl.csv", template_csv(rows))
    assert workspace.run().success
    raw = (workspace.root / "review" / "rejected_rows.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    review = pl.read_csv(raw[3:])
    assert review["value_redacted"].to_list() == ["'=cmd|' /C calc'!A0"]
    assert review["row_number"].to_list() == [2]
    files = pl.read_csv((workspace.root / "review" / "files.csv").read_bytes()[3:])
    assert files.select("file_name", "status", "responses_accepted").row(0) == (
        "xl.csv",
        "ingested",
        11,
    )


def test_written_files_replace_atomically(tmp_path):
    path = tmp_path / "out.csv"
    write_csv_for_excel(pl.DataFrame({"a": ["=1"]}), path)
    assert path.read_bytes() == b"\xef\xbb\xbfa\n'=1\n"
    assert not list(tmp_path.glob("*.partial"))
