"""Anonymous repeat submissions (issue 11 item 5), through the real pipeline, on a Google Forms
export as the tool writes it: no response id and no respondent reference column at all.

anon_org, wave 2025, all frontline staff, 15 rows in the file (14 March 2025, GMT):
  D1 10:00:00, D2 10:00:40  Day Centre, heard of co-production: Yes, and the same challenge
                            typed twice (D2 with other case and spacing): one person pressing
                            submit twice, 40 seconds apart. D2 is not counted.
  L1 10:05:00, L2 10:06:00  Day Centre, Yes, no comment: identical ticks with empty free text are
                            as likely two colleagues as one: both counted, one minute apart.
  S1 10:01:00               Home Support, Yes and D1's very comment: another service, counted.
  O1-O10 11:00-11:09        Day Centre, 3 Yes and 7 No, each with a comment of their own.
Counted: 14 responses. Heard of co-production: Yes D1, L1, L2, S1 and 3 of O = 7 of 14 = 50.0%.
(Counting D2 too would give 8 / 15 = 53.3%; merging L2 into L1 as well, 6 / 13 = 46.2%.)
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from tests.builders import export, google_forms_csv, organisation
from tests.conftest import open_workspace

CHALLENGE = "Finding time to meet people properly"
DAY = dt.datetime(2025, 3, 14)


def staff(at: str, service: str, aware: str, challenge: str = "") -> dict:
    hours, minutes, seconds = (int(part) for part in at.split(":"))
    return {
        "timestamp": DAY.replace(hour=hours, minute=minutes, second=seconds),
        "service": service,
        "respondent_group": "Frontline care or support worker",
        "CP_AWARE": aware,
        "CP_CHALL": challenge,
    }


ROWS = {
    "D1": staff("10:00:00", "Day Centre", "Yes", CHALLENGE),
    "D2": staff("10:00:40", "Day Centre", "Yes", "  finding TIME to meet  people properly"),
    "S1": staff("10:01:00", "Home Support", "Yes", CHALLENGE),
    "L1": staff("10:05:00", "Day Centre", "Yes"),
    "L2": staff("10:06:00", "Day Centre", "Yes"),
    **{
        f"O{i}": staff(f"11:0{i - 1}:00", "Day Centre", "Yes" if i <= 3 else "No", f"Reason {i}")
        for i in range(1, 11)
    },
}


@pytest.fixture(scope="module")
def anonymous(tmp_path_factory, module_monkeypatch):
    workspace = open_workspace(tmp_path_factory.mktemp("anonymous") / "data", module_monkeypatch)
    workspace.register(
        [organisation("anon_org", ["day_centre", "home_support"])],
        [
            export(
                "anon_2025.csv",
                "anon_org",
                2025,
                tool="google_forms",
                instrument="google_forms_coprod_v1",
            )
        ],
    )
    workspace.drop("anon_2025.csv", google_forms_csv(ROWS.values()))
    assert workspace.run().success
    return workspace


def marked(workspace) -> dict[str, dict]:
    """int_responses_duplicates_marked by row name (the file's rows in ROWS order)."""
    frame = workspace.query("""
        select source_row_number, free_text_fingerprint, previous_identical_at,
               is_repeat_submission, counts_in_measures, respondent_key
        from intermediate.int_responses_duplicates_marked order by source_row_number""")
    assert frame["source_row_number"].to_list() == list(range(2, 2 + len(ROWS)))
    return dict(zip(ROWS, frame.iter_rows(named=True), strict=True))


def test_the_same_answers_and_comment_minutes_apart_count_once(anonymous):
    rows = marked(anonymous)
    assert all(row["respondent_key"] is None for row in rows.values())  # nothing says who
    # D2 is D1 again, 40 s later, its comment typed with other case and spacing.
    assert rows["D2"]["free_text_fingerprint"] == rows["D1"]["free_text_fingerprint"]
    assert rows["D2"]["is_repeat_submission"] and not rows["D2"]["counts_in_measures"]
    assert rows["D2"]["previous_identical_at"] == dt.datetime(2025, 3, 14, 10, 0, tzinfo=dt.UTC)
    assert [name for name, row in rows.items() if not row["counts_in_measures"]] == ["D2"]
    aware = cell(anonymous, "mart_measures", "aware")
    assert (aware["n"], aware["k"], aware["pct"]) == (14, 7, 50.0)  # 7 / 14, D2 left out
    assert cell(anonymous, "mart_respondents")["n_respondents"] == 14


def test_identical_ticks_with_no_comment_are_two_people(anonymous):
    rows = marked(anonymous)
    for name in ("L1", "L2"):  # one minute apart, yet two people: both counted
        assert rows[name]["free_text_fingerprint"] is None
        assert rows[name]["previous_identical_at"] is None
        assert rows[name]["counts_in_measures"] and not rows[name]["is_repeat_submission"]


def test_the_same_comment_in_another_service_is_another_person(anonymous):
    rows = marked(anonymous)
    assert rows["S1"]["free_text_fingerprint"] == rows["D1"]["free_text_fingerprint"]
    assert rows["S1"]["previous_identical_at"] is None and rows["S1"]["counts_in_measures"]


def test_only_the_keyed_hash_of_the_comment_is_stored(anonymous):
    fingerprints = anonymous.query("select free_text_fingerprint from ingest.responses")
    assert fingerprints["free_text_fingerprint"].drop_nulls().str.contains("^[0-9a-f]{64}$").all()
    texts = anonymous.query("select text_redacted from ingest.open_answers")["text_redacted"]
    assert CHALLENGE in texts.to_list()  # redacted (nothing to redact), in the open answers only
    for table in ("ingest.responses", "intermediate.int_responses_duplicates_marked"):
        frame = anonymous.query(f"select * from {table}")
        assert "meet people" not in frame.cast(pl.String, strict=False).write_csv().lower()


def cell(workspace, mart: str, measure: str | None = None) -> dict:
    frame = workspace.mart(mart).filter(
        (pl.col("breakdown") == "organisation") & (pl.col("wave") == 2025)
    )
    if measure:
        frame = frame.filter(pl.col("measure_id") == measure)
    assert frame.height == 1
    return frame.row(0, named=True)
