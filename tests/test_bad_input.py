"""A bad file gets a clear reason, its original is kept, the rest of the run goes on, and what
was published before stays byte-for-byte the same."""

from __future__ import annotations

import os
import subprocess
import sys

import polars as pl
import pytest

from tests.builders import answers, export, organisation, people, template_csv

HEADER = "respondent_id,submitted_at,service,respondent_group,cp_aware\r\n"
ROW = "T{i},2024-03-04 10:00:00,Main,Frontline worker,Yes\r\n"

CORPUS: dict[str, tuple[bytes, str]] = {
    "bad_empty.csv": (b"", "The file is empty."),
    "bad_header_only.csv": (HEADER.encode(), "The file has a header but no responses."),
    "bad_truncated.csv": (
        (HEADER + ROW.format(i=1) + ROW.format(i=2) + "T3,2024-03-04 10:00:00,Ma").encode(),
        "Line 4 has 3 columns where the header has 5: the file was probably cut off during "
        "upload (truncated) or a line was broken. Export it again.",
    ),
    "bad_cut_in_quotes.csv": (
        (HEADER + ROW.format(i=1) + 'T2,2024-03-04 10:00:00,"Main').encode(),
        "Line 3 opens a quoted value that never closes: the file was probably cut off in the "
        "middle of a row. Export it again.",
    ),
    "bad_web_page.xlsx": (
        b"<html><body><table><tr><td>respondent_id</td></tr></table></body></html>",
        "The file is not a readable Excel workbook",
    ),
    "bad_semicolons.csv": (
        b"respondent_id;submitted_at;service;respondent_group;cp_aware;score\r\n"
        b"T1;2024-03-04 10:00:00;Main;Frontline worker;Yes;3,5\r\n",
        "The file is separated by semicolons (as Excel saves CSV in some European settings, "
        "often with decimal commas). Save it again as 'CSV (comma delimited)'.",
    ),
    "bad_mixed_encodings.csv": (
        HEADER.encode()
        + "T1,2024-03-04 10:00:00,Main,Frontline worker,Caf\u00e9\r\n".encode()
        + "T2,2024-03-04 10:00:00,Main,Frontline worker,Caf\u00e9\r\n".encode("cp1252"),
        "The file mixes two text encodings (some lines UTF-8, some Windows-1252)",
    ),
    "bad_huge_cell.csv": (
        HEADER.encode()
        + b"T1,2024-03-04 10:00:00,Main,Frontline worker,"
        + b"x" * 5_000_000
        + b"\r\n",
        "Line 2 is longer than 1,000,000 bytes (one enormous cell): this is not a survey export "
        "as written by a survey tool.",
    ),
    "bad_missing_group.csv": (
        b"respondent_id,submitted_at,service,cp_aware\r\nT1,2024-03-04 10:00:00,Main,Yes\r\n",
        "Expected a Co-production survey template (CSV or XLSX) whose first row has the columns "
        "respondent_id, submitted_at, respondent_group; missing respondent_group.",
    ),
    "bad_future.csv": (
        template_csv(people("Manager", 1, "F", "Main", year=2099, cp_aware=["Yes"])),
        "1 of 1 responses (100%) were rejected, above the 50% limit; the first: row 2: The "
        "submission time (column submitted_at) is in the future.",
    ),
    "bad_missing_questions.csv": (
        (HEADER + ROW.format(i=7)).encode(),
        "The file lacks 21 of the columns instrument coprod_template_v1 requires "
        "(ref_instrument_columns.csv): completed_with_help, cp_barrier, cp_barrier_other, ",
    ),
    "not_registered.csv": (
        (HEADER + ROW.format(i=1)).encode(),
        "No export in sources.yml matches the file name 'not_registered.csv': register it "
        "(organisation, wave, tool, instrument) and run again.",
    ),
}


@pytest.fixture
def registered(workspace):
    workspace.register(
        [organisation("good_org", ["main"])],
        [export("good.csv", "good_org", 2024), export("bad_*", "good_org", 2024)],
    )
    return workspace


@pytest.fixture
def published_once(registered):
    workspace = registered
    rows = people(
        "Frontline care or support worker",
        30,
        "G",
        "Main",
        year=2024,
        cp_aware=answers(30, Yes=20, No=10),
    )
    workspace.drop("good.csv", template_csv(rows))
    assert workspace.run().success
    return workspace


def test_every_bad_file_is_set_aside_with_its_reason_and_nothing_published_changes(published_once):
    workspace = published_once
    before = workspace.published_files()
    for name, (content, _) in CORPUS.items():
        workspace.drop(name, content)

    result = workspace.run()

    assert result.success
    files = workspace.query("select file_name, status, reason from ingest.files")
    outcomes = {r["file_name"]: r for r in files.iter_rows(named=True)}
    for name, (content, reason) in CORPUS.items():
        expected = "held" if name == "not_registered.csv" else "quarantined"
        assert outcomes[name]["status"] == expected, name
        assert outcomes[name]["reason"].startswith(reason), (name, outcomes[name]["reason"])
        assert (workspace.inbox / name).read_bytes() == content  # the original stays
        if expected == "quarantined":
            kept = next(workspace.quarantine.glob(f"*__{name}"))
            assert kept.read_bytes() == content
            assert kept.with_name(kept.name + ".reason.txt").read_text().startswith(reason)
    # The good file is still the one published, and the published bytes did not move.
    assert outcomes["good.csv"]["status"] == "ingested"
    assert workspace.published_files() == before
    aware = workspace.mart("mart_measures").filter(
        (pl.col("measure_id") == "aware") & (pl.col("breakdown") == "organisation")
    )
    assert aware.select("n", "k", "pct").row(0) == (30, 20, 66.7)
    # No managers answered, so the gap mart is empty: zero rows, its columns intact, no
    # placeholder row of nulls.
    gap = workspace.mart("mart_manager_frontline_gap")
    assert gap.height == 0 and "gap_pp" in gap.columns


def test_quarantine_reasons_never_repeat_the_offending_content(registered):
    workspace = registered
    workspace.drop("bad_truncated.csv", (HEADER + "T3,2024-03-04,jo@example.org").encode())
    workspace.run()
    reason = workspace.query(
        "select reason from ingest.files where file_name = 'bad_truncated.csv'"
    ).item()
    assert "jo@example.org" not in reason


def test_a_run_that_published_without_a_registered_file_exits_4(registered):
    """Published, but not everything that was sent: a scheduler sees a warning, not success."""
    workspace = registered
    workspace.drop(
        "good.csv",
        template_csv(
            people("Manager", 30, "W", "Main", year=2024, cp_aware=answers(30, Yes=20, No=10))
        ),
    )
    workspace.drop("bad_empty.csv", b"")
    run = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=600,
    )
    assert run.returncode == 4, run.stdout[-2000:] + run.stderr[-2000:]
    assert run.stderr.endswith(
        "Warning: published without 1 file(s) that were quarantined or could not be read: "
        f"bad_empty.csv. Their reasons are above and in {workspace.quarantine}.\n"
    )
    assert "  quarantined  bad_empty.csv: The file is empty." in run.stdout
    aware = workspace.mart("mart_measures").filter(
        (pl.col("measure_id") == "aware") & (pl.col("breakdown") == "organisation")
    )
    assert aware.select("n", "k").row(0) == (30, 20)
