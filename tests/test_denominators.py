"""Denominators stated per measure, and distributions (issue 11 item 3), through the real
pipeline on a Microsoft Forms workbook as Forms exports it (anonymous: Email "anonymous"),
every figure worked out by hand.

denom_org, wave 2025, 50 respondents: Day Centre 30 frontline staff, Home Support 20 people who
draw on care. A copy of the dbt project declares, in ref_measures.csv only:
  valued_dont_know  Don't know over everyone who answered "my contribution is valued equally"
                    (denominator answered)
  define_answered   answered "what co-production means" (open) over everyone asked, blanks
                    included (denominator respondents)
  valued            the distribution of "valued equally" over valid answers (kind distribution)
  ladder_all        the distribution of the ladder question over respondents, blanks as no_answer

"My contribution is valued equally" (CP_VALUED; Don't know is not a valid answer):
                 Strongly agree  Agree  Neither  Disagree  Strongly disagree  Don't know  blank
  Day Centre           4           8       4        1             0               5         8
  Home Support         1           2       1        2             2              10         2
  organisation         5          10       5        3             2              15        10
  valid 25 (17 + 8), answered 40 (22 + 18), respondents 50.
  valued_equally (valid, as shipped): agree or strongly agree 15 / 25 = 60.0%
  valued_dont_know (answered): 15 / 40 = 37.5%; Home Support 10 / 18 = 55.6%
  valued__<option> (valid): 5, 10, 5, 3, 2 of 25 = 20.0 + 40.0 + 20.0 + 12.0 + 8.0 = 100
  Home Support has 8 valid answers: its valued_equally cell is withheld (fewer than 10), while
  its answered cell (18) is published: each cell's n is its own denominator.
"What co-production means" (open): Day Centre 25 of 30 answered, Home Support 10 of 20.
  define_answered (respondents): 35 / 50 = 70.0%; Home Support 10 / 20 = 50.0%
Ladder (CP_LADDER): co-production 10, co-design 10, consultation 10, informing 5, blank 15.
  ladder_all__<option> (respondents) over 50: 20.0 + 20.0 + 20.0 + 10.0 + no answer 30.0, and
  coercion, educating, engagement 0.0 = 100
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from tests.builders import export, microsoft_forms_xlsx, organisation
from tests.conftest import copy_dbt_project, open_workspace, run_with_project
from tests.test_reference_changes import append_rows

FRONTLINE = "Frontline care or support worker"
PERSON = "Person who draws on care and support"

MEASURES = [
    {
        "measure_id": "valued_dont_know",
        "label": "Don't know whether their contribution is valued equally",
        "family": "attitude",
        "question_id": "CP_VALUED",
        "numerator_codes": "dont_know",
        "applies_to": "all",
        "description": "Don't know over everyone who answered",
        "denominator": "answered",
        "kind": "share",
    },
    {
        "measure_id": "define_answered",
        "label": "Said what co-production means",
        "family": "understanding",
        "question_id": "CP_DEFINE",
        "numerator_codes": "comprehensive|partial|unsure",
        "applies_to": "all",
        "description": "Any answer over everyone asked, blanks included",
        "denominator": "respondents",
        "kind": "share",
    },
    {
        "measure_id": "valued",
        "label": "Valued equally",
        "family": "attitude",
        "question_id": "CP_VALUED",
        "numerator_codes": "",
        "applies_to": "all",
        "description": "Each answer over valid answers",
        "denominator": "valid",
        "kind": "distribution",
    },
    {
        "measure_id": "ladder_all",
        "label": "How people are involved",
        "family": "involvement",
        "question_id": "CP_LADDER",
        "numerator_codes": "",
        "applies_to": "all",
        "description": "Each rung over everyone asked, blanks included",
        "denominator": "respondents",
        "kind": "distribution",
    },
]


def column(counts: dict[str, int], total: int) -> list[str]:
    """`counts` labels in order, then blanks up to `total`."""
    values = [label for label, n in counts.items() for _ in range(n)]
    assert len(values) <= total
    return values + [""] * (total - len(values))


def service_rows(
    service: str, group: str, total: int, valued: dict, defined: int, ladder: dict, hour: int
) -> list[dict]:
    valued_answers = column(valued, total)
    ladder_answers = column(ladder, total)
    rows = []
    for i in range(total):
        rows.append(
            {
                # two minutes apart, on one morning
                "submitted": dt.datetime(2025, 3, 12, hour + (2 * i) // 60, (2 * i) % 60),
                "service": service,
                "respondent_group": group,
                "CP_VALUED": valued_answers[i],
                "CP_LADDER": ladder_answers[i],
                # every answer its own words: anonymous look-alikes are never merged
                "CP_DEFINE": f"Working together on the service, answer {service} {i}"
                if i < defined
                else "",
            }
        )
    return rows


ROWS = service_rows(
    "Day Centre",
    FRONTLINE,
    30,
    {"Strongly agree": 4, "Agree": 8, "Neither agree nor disagree": 4, "Disagree": 1,
     "Don't know": 5},
    defined=25,
    ladder={"Co-production": 6, "Co-design": 6, "Consultation": 6, "Informing": 3},
    hour=9,
) + service_rows(
    "Home Support",
    PERSON,
    20,
    {"Strongly agree": 1, "Agree": 2, "Neither agree nor disagree": 1, "Disagree": 2,
     "Strongly disagree": 2, "Don't know": 10},
    defined=10,
    ladder={"Co-production": 4, "Co-design": 4, "Consultation": 4, "Informing": 2},
    hour=11,
)  # fmt: skip


@pytest.fixture(scope="module")
def published(tmp_path_factory, module_monkeypatch):
    folder = tmp_path_factory.mktemp("denominators")
    workspace = open_workspace(folder / "data", module_monkeypatch)
    project = copy_dbt_project(folder)
    append_rows(project / "seeds" / "ref_measures.csv", MEASURES)
    workspace.register(
        [organisation("denom_org", ["day_centre", "home_support"])],
        [
            export(
                "denom_2025.xlsx",
                "denom_org",
                2025,
                tool="microsoft_forms",
                instrument="microsoft_forms_coprod_v1",
            )
        ],
    )
    workspace.drop("denom_2025.xlsx", microsoft_forms_xlsx(ROWS))
    run_with_project(project)
    return workspace


def figures(workspace, measure: str, breakdown: str = "organisation", service: str = "all"):
    rows = workspace.mart("mart_measures").filter(
        (pl.col("measure_id") == measure)
        & (pl.col("breakdown") == breakdown)
        & (pl.col("service_id") == service)
    )
    assert rows.height == 1, (measure, breakdown, service)
    return rows.row(0, named=True)


def test_the_shipped_measure_keeps_counting_valid_answers(published):
    valued = figures(published, "valued_equally")
    assert (valued["denominator"], valued["option_code"]) == ("valid", None)
    assert (valued["n"], valued["k"], valued["pct"]) == (25, 15, 60.0)  # Don't know left out
    assert published.mart("mart_respondents").filter(pl.col("breakdown") == "organisation")[
        "n_respondents"
    ].to_list() == [50]


def test_dont_know_over_everyone_who_answered(published):
    dont_know = figures(published, "valued_dont_know")
    assert dont_know["denominator"] == "answered"
    assert (dont_know["n"], dont_know["k"], dont_know["pct"]) == (40, 15, 37.5)
    home = figures(published, "valued_dont_know", "service", "home_support")
    assert (home["n"], home["k"], home["pct"], home["suppressed"]) == (18, 10, 55.6, False)
    # The same service has 8 valid answers: that cell is withheld, by its own denominator.
    valid = figures(published, "valued_equally", "service", "home_support")
    assert valid["suppressed"] and valid["n"] is None
    assert valid["suppression_reason"] == "fewer than 10 valid answers"


def test_open_question_answered_among_all_respondents_blanks_included(published):
    answered = figures(published, "define_answered")
    assert answered["denominator"] == "respondents"
    assert (answered["n"], answered["k"], answered["pct"]) == (50, 35, 70.0)
    home = figures(published, "define_answered", "service", "home_support")
    assert (home["n"], home["k"], home["pct"]) == (20, 10, 50.0)
    day = figures(published, "define_answered", "service", "day_centre")
    assert (day["n"], day["k"], day["pct"]) == (30, 25, 83.3)  # 25 / 30
    # the blanks are counted under the wording the form asked
    assert (answered["trend_group"], answered["question_versions"]) == ("CP_DEFINE", ["1"])


def test_a_distribution_over_valid_answers_sums_to_100(published):
    rows = (
        published.mart("mart_measures")
        .filter(
            pl.col("measure_id").str.starts_with("valued__"), pl.col("breakdown") == "organisation"
        )
        .sort("measure_id")
    )
    got = {r["option_code"]: (r["n"], r["k"], r["pct"]) for r in rows.iter_rows(named=True)}
    assert got == {  # Don't know is not a valid answer: no row of its own
        "strongly_agree": (25, 5, 20.0),
        "agree": (25, 10, 40.0),
        "neither": (25, 5, 20.0),
        "disagree": (25, 3, 12.0),
        "strongly_disagree": (25, 2, 8.0),
    }
    assert sum(pct for _, _, pct in got.values()) == 100.0
    assert set(rows["denominator"]) == {"valid"}
    assert rows.filter(pl.col("option_code") == "agree")["measure_label"].to_list() == [
        "Valued equally: Agree"
    ]


def test_a_distribution_over_respondents_counts_the_blanks_and_sums_to_100(published):
    rows = published.mart("mart_measures").filter(
        pl.col("measure_id").str.starts_with("ladder_all__"), pl.col("breakdown") == "organisation"
    )
    got = {r["option_code"]: (r["n"], r["k"], r["pct"]) for r in rows.iter_rows(named=True)}
    assert got == {
        "co_production": (50, 10, 20.0),
        "co_design": (50, 10, 20.0),
        "consultation": (50, 10, 20.0),
        "informing": (50, 5, 10.0),
        "engagement": (50, 0, 0.0),
        "educating": (50, 0, 0.0),
        "coercion": (50, 0, 0.0),
        "no_answer": (50, 15, 30.0),
    }
    assert sum(pct for _, _, pct in got.values()) == 100.0
    assert set(rows["denominator"]) == {"respondents"}
    # Home Support alone: 4 + 4 + 4 + 2 answered of 20, 6 blank.
    home = published.mart("mart_measures").filter(
        pl.col("measure_id").str.starts_with("ladder_all__"),
        pl.col("breakdown") == "service",
        pl.col("service_id") == "home_support",
    )
    assert dict(zip(home["option_code"], home["k"], strict=True)) == {
        "co_production": 4, "co_design": 4, "consultation": 4, "informing": 2, "engagement": 0,
        "educating": 0, "coercion": 0, "no_answer": 6,
    }  # fmt: skip
    assert set(home["n"]) == {20}


def test_every_mart_of_measures_says_its_denominator(published):
    for mart in ("mart_measures", "mart_measure_changes", "mart_manager_frontline_gap"):
        frame = published.mart(mart)
        assert {"denominator", "option_code"} <= set(frame.columns), mart
        assert frame.schema["denominator"] == pl.String, mart


def test_the_report_shows_a_distribution_as_the_answers_to_its_question(published):
    page = (published.marts / "reports" / "denom_org.html").read_text()
    # one block under the question, each option by its label, in the option set's order
    block = page.split("<h3>“Which best describes how people are usually involved in")[1]
    block = block.split("<h3>")[0].split("</section>")[0]
    assert "Counted: Each rung over everyone asked, blanks included." in block
    labels = [part.split("</span>")[0] for part in block.split('<span class="label">')[1:]]
    assert labels == [
        "Coercion", "Educating", "Informing", "Consultation", "Engagement", "Co-design",
        "Co-production", "No answer",
    ]  # fmt: skip
