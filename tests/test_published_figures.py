"""The marts reproduce published co-production figures exactly, from microdata, through the real
pipeline (ingest, pandera, dbt on DuckDB, Great Expectations, publication).

Microdata are built to be consistent with the published tables (../shared/docs/domain.md):
  SCIE national survey 2023: 500 workforce and 500 people with lived experience.
  A charity's baseline staff survey, March 2024: 50 staff, open answers coded by the codebook.
  SCIE attitudes survey 2019: 200 valid answers on having a say (plus 10 "Don't know").
"""

from __future__ import annotations

import polars as pl
import pytest

from tests.builders import answers, as_text, export, organisation, people, template_csv
from tests.conftest import open_workspace


def _barriers(index: int) -> str:
    """Rows 0-234 time (235 = 47%), 100-254 culture (155 = 31%), 200-329 cost (130 = 26%),
    300-424 communication (125 = 25%); rows 425-499 none I'm aware of (75 = 15%)."""
    chosen = [
        label
        for label, (start, stop) in {
            "Time": (0, 235),
            "Organisational culture": (100, 255),
            "Cost": (200, 330),
            "Communication": (300, 425),
        }.items()
        if start <= index < stop
    ]
    return ";".join(chosen) or "None I'm aware of"


def scie_2023_rows() -> list[dict]:
    managers = people(
        "Senior leader or manager",
        100,
        "SM",
        "National",
        cp_aware=answers(100, Yes=90, No=6, **{"Not sure": 4}),
    )
    frontline = people(
        "Frontline care or support worker",
        400,
        "FL",
        "National",
        cp_aware=answers(400, Yes=270, No=80, **{"Not sure": 50}),
    )
    workforce = managers + frontline
    for i, row in enumerate(workforce):
        row["cp_barrier"] = _barriers(i)
    lived = people("Person who draws on care and support", 350, "PD", "National") + people(
        "Unpaid carer or family member", 150, "CA", "National"
    )
    columns = {
        "cp_aware": answers(500, Yes=280, No=150, **{"Not sure": 70}),
        "cp_opp_own": answers(500, Yes=295, No=150, **{"Not sure": 55}),
        "cp_opp_svc": answers(500, Yes=185, No=250, **{"Not sure": 65}),
    }
    for i, row in enumerate(lived):
        for column, values in columns.items():
            row[column] = values[i]
    return workforce + lived


def charity_2024_rows() -> list[dict]:
    staff = people(
        "Frontline care or support worker", 40, "CH", "All services", year=2024
    ) + people("Senior leader or manager", 10, "CM", "All services", year=2024)
    definitions = [
        "Working with people who use services as equals, to design and deliver them together."
    ] * 45 + ["Not sure."] * 5
    importance = answers(50, Vital=36, **{"Very important": 10, "Quite important": 4})
    challenges = (
        ["I'm not aware of any challenges."] * 11
        + ["Finding the time with our workload."] * 25
        + ["There is no budget for it."] * 14
    )
    return [
        {**row, "cp_define": definitions[i], "cp_value": importance[i], "cp_chall": challenges[i]}
        for i, row in enumerate(staff)
    ]


def attitudes_2019_rows() -> list[dict]:
    say = answers(
        210,
        **{
            "Strongly agree": 20,
            "Agree": 48,
            "Neither agree nor disagree": 60,
            "Disagree": 50,
            "Strongly disagree": 22,
            "Don't know": 10,
        },
    )
    return people(
        "Person who draws on care and support", 210, "AT", "National", year=2019, cp_say=say
    )


@pytest.fixture(scope="module")
def published(tmp_path_factory, module_monkeypatch):
    workspace = open_workspace(tmp_path_factory.mktemp("published") / "data", module_monkeypatch)
    workspace.register(
        [
            organisation("scie_national", ["national"]),
            organisation("hope_charity", ["all_services"]),
            organisation("scie_attitudes", ["national"]),
        ],
        [
            export("scie_2023.csv", "scie_national", 2023),
            export("charity_2024.csv", "hope_charity", 2024),
            export("attitudes_2019.csv", "scie_attitudes", 2019),
        ],
    )
    workspace.drop("scie_2023.csv", template_csv(scie_2023_rows()))
    workspace.drop("charity_2024.csv", template_csv(charity_2024_rows(), bom=True))
    workspace.drop("attitudes_2019.csv", template_csv(attitudes_2019_rows()))
    result = workspace.run()
    assert result.success
    return workspace


def cell(
    frame: pl.DataFrame, org: str, measure: str, breakdown: str = "organisation", group: str = "all"
) -> dict:
    rows = frame.filter(
        (pl.col("organisation_id") == org)
        & (pl.col("measure_id") == measure)
        & (pl.col("breakdown") == breakdown)
        & (pl.col("group_id") == group)
    )
    assert rows.height == 1, f"expected one cell for {org}/{measure}/{breakdown}/{group}"
    return rows.row(0, named=True)


def test_scie_2023_awareness_by_group(published):
    measures = published.mart("mart_measures")
    workforce = cell(measures, "scie_national", "aware", "organisation_rollup", "workforce")
    lived = cell(measures, "scie_national", "aware", "organisation_rollup", "lived_experience")
    # 360 / 500 = 72.0%; Wilson 95%: (0.72 + z²/1000 ± z·sqrt(0.72·0.28/500 + z²/10⁶)) / (1 + z²/500)
    assert (workforce["n"], workforce["k"], workforce["pct"]) == (500, 360, 72.0)
    assert (workforce["ci_low"], workforce["ci_high"]) == (67.9, 75.8)
    assert (lived["n"], lived["k"], lived["pct"]) == (500, 280, 56.0)  # 280 / 500
    assert (lived["ci_low"], lived["ci_high"]) == (51.6, 60.3)


def test_scie_2023_opportunities_for_people_with_lived_experience(published):
    measures = published.mart("mart_measures")
    assert cell(measures, "scie_national", "opp_own_care")["pct"] == 59.0  # 295 / 500
    assert cell(measures, "scie_national", "opp_services")["pct"] == 37.0  # 185 / 500
    # The lived-experience questions are not asked of staff: the denominator is 500, not 1000.
    assert cell(measures, "scie_national", "opp_services")["n"] == 500


def test_scie_2023_barriers_reported_by_staff(published):
    measures = published.mart("mart_measures")
    expected = {
        "barrier_time": 47.0,
        "barrier_culture": 31.0,
        "barrier_cost": 26.0,
        "barrier_communication": 25.0,
        "barrier_none_aware": 15.0,
    }
    # Respondents may pick several barriers, so these prevalences add up to 144, not 100: each
    # is a share of the 500 staff who answered, not of the barriers chosen.
    for measure, pct in expected.items():
        row = cell(measures, "scie_national", measure)
        assert (row["n"], row["pct"]) == (500, pct), measure


def test_scie_2023_managers_knew_more_than_frontline_workers(published):
    gap = (
        published.mart("mart_manager_frontline_gap")
        .filter((pl.col("organisation_id") == "scie_national") & (pl.col("measure_id") == "aware"))
        .row(0, named=True)
    )
    # 90 / 100 managers against 270 / 400 frontline workers: 90.0 - 67.5 = 22.5 points.
    assert (gap["n_higher"], gap["k_higher"], gap["pct_higher"]) == (100, 90, 90.0)
    assert (gap["n_lower"], gap["k_lower"], gap["pct_lower"]) == (400, 270, 67.5)
    assert gap["gap_pp"] == 22.5
    # Wilson 95%, z = 1.96: 90/100 -> 82.6 to 94.5; 270/400 -> 62.8 to 71.9.
    assert (gap["ci_low_higher"], gap["ci_high_higher"]) == (82.6, 94.5)
    assert (gap["ci_low_lower"], gap["ci_high_lower"]) == (62.8, 71.9)
    # Pooled p = 360/500; z = 0.225 / sqrt(0.72·0.28·(1/100 + 1/400)) = 4.4822;
    # two-sided p = erfc(4.4822 / sqrt 2) = 7.39e-6 (published unrounded: rounding is display).
    assert gap["p_value_vs_lower_group"] == pytest.approx(7.39e-6, rel=0.01)
    assert gap["significant_vs_lower_group"] is True
    assert (gap["breakdown"], gap["service_id"]) == ("organisation_group", "all")


def test_charity_2024_baseline_open_answers_coded(published):
    measures = published.mart("mart_measures")
    assert cell(measures, "hope_charity", "understanding_comprehensive")["pct"] == 90.0  # 45/50
    assert cell(measures, "hope_charity", "understanding_unsure")["pct"] == 10.0  # 5/50
    assert cell(measures, "hope_charity", "challenges_unaware")["pct"] == 22.0  # 11/50
    vital = cell(measures, "hope_charity", "vital")
    assert (vital["k"], vital["n"], vital["pct"]) == (36, 50, 72.0)


def test_scie_2019_having_a_say_excludes_dont_know(published):
    say = cell(published.mart("mart_measures"), "scie_attitudes", "have_a_say")
    # 20 strongly agree + 48 agree = 68 of 200 valid answers; the 10 "Don't know" are not valid.
    assert (say["k"], say["n"], say["pct"]) == (68, 200, 34.0)


def test_no_free_text_reaches_the_published_marts(published):
    phrases = ["equals", "not aware of any", "budget"]
    for parquet in published.marts.glob("*.parquet"):
        text = as_text(pl.read_parquet(parquet))
        assert not any(p in text for p in phrases), parquet.name
