"""Reporting rules, checked on a two-wave organisation whose every figure is worked out by hand.

change_org, frontline staff in three services and 20 people who draw on care (service big):
  2024 (instrument v1)  big 60, mid 35, small 5 staff; 50 of 100 aware; 40 of 100 valued equally;
                        10 of 20 have a say (CP_SAY version 1)
  2025 (instrument v2)  big 60, mid 28, small 12 staff; 65 of 100 aware; 48 of 100 valued
                        equally (reworded, declared equivalent); 14 of 20 have a say (CP_SAY
                        version 2, reworded and NOT equivalent)
  2025 also arrives with one repeat submission and a re-export of ten responses: neither counts.
"""

from __future__ import annotations

import polars as pl
import pytest

from tests.builders import answers, export, organisation, people, template_csv
from tests.conftest import open_workspace


def staff(year: int, sizes: dict[str, int], aware_yes: int, valued_agree: int) -> list[dict]:
    rows = []
    for service, size in sizes.items():
        rows += people(
            "Frontline care or support worker", size, f"{service}{year}", service, year=year
        )
    aware = answers(100, Yes=aware_yes, No=100 - aware_yes)
    valued = answers(100, Agree=valued_agree, Disagree=100 - valued_agree)
    return [{**row, "cp_aware": aware[i], "cp_valued": valued[i]} for i, row in enumerate(rows)]


def lived(year: int, say_agree: int) -> list[dict]:
    return people(
        "Person who draws on care and support",
        20,
        f"lived{year}",
        "big",
        year=year,
        cp_say=answers(20, Agree=say_agree, Disagree=20 - say_agree),
    )


@pytest.fixture(scope="module")
def rules(tmp_path_factory, module_monkeypatch):
    workspace = open_workspace(tmp_path_factory.mktemp("rules") / "data", module_monkeypatch)
    workspace.register(
        [organisation("change_org", ["big", "mid", "small"])],
        [
            export("change_2024.csv", "change_org", 2024),
            export("change_2025*.csv", "change_org", 2025, instrument="coprod_template_v2"),
        ],
    )
    workspace.drop(
        "change_2024.csv",
        template_csv(
            staff(2024, {"big": 60, "mid": 35, "small": 5}, aware_yes=50, valued_agree=40)
            + lived(2024, say_agree=10)
        ),
    )
    rows_2025 = staff(
        2025, {"big": 60, "mid": 28, "small": 12}, aware_yes=65, valued_agree=48
    ) + lived(2025, say_agree=14)
    repeat = {
        **rows_2025[0],
        "respondent_id": "big2025-again",
        "submitted_at": rows_2025[0]["submitted_at"].replace(":00:00", ":05:00"),
    }
    workspace.drop("change_2025.csv", template_csv([*rows_2025, repeat]))
    workspace.drop("change_2025_reexport.csv", template_csv(rows_2025[:10]))
    assert workspace.run().success
    return workspace


def row(
    frame: pl.DataFrame,
    measure: str,
    wave: int,
    breakdown: str = "organisation",
    service: str = "all",
) -> dict:
    found = frame.filter(
        (pl.col("measure_id") == measure)
        & (pl.col("wave") == wave)
        & (pl.col("breakdown") == breakdown)
        & (pl.col("service_id") == service)
        & (pl.col("group_id") == "all")
    )
    assert found.height == 1
    return found.row(0, named=True)


def test_change_from_baseline_with_a_two_proportion_z_test(rules):
    aware = row(rules.mart("mart_measure_changes"), "aware", 2025)
    # 65/100 against 50/100: +15.0 points; pooled p = 0.575,
    # z = 0.15 / sqrt(0.575 · 0.425 · (1/100 + 1/100)) = 2.146, two-sided p = 0.0319.
    assert (aware["pct"], aware["pct_baseline"], aware["change_pp_from_baseline"]) == (
        65.0,
        50.0,
        15.0,
    )
    assert aware["p_value_vs_baseline"] == pytest.approx(0.0319, abs=5e-5)
    assert aware["significant_vs_baseline"] is True
    assert aware["comparable_with_baseline"] is True
    # With two waves the previous wave is the baseline.
    assert aware["change_pp_from_previous"] == 15.0


def test_a_reworded_question_declared_equivalent_is_trended(rules):
    valued = row(rules.mart("mart_measure_changes"), "valued_equally", 2025)
    # 48/100 against 40/100: +8.0 points, z = 1.139, p = 0.2545: not significant.
    assert valued["change_pp_from_baseline"] == 8.0
    assert valued["p_value_vs_baseline"] == pytest.approx(0.2545, abs=5e-5)
    assert valued["significant_vs_baseline"] is False


def test_a_reworded_question_not_declared_equivalent_is_not_trended(rules):
    say = row(rules.mart("mart_measure_changes"), "have_a_say", 2025)
    assert say["pct"] == 70.0  # 14 / 20 is still published for the wave itself
    assert say["comparable_with_baseline"] is False
    assert say["change_pp_from_baseline"] is None and say["p_value_vs_baseline"] is None
    assert say["note"] == (
        "not comparable with baseline: question wording changed (CP_SAY then CP_SAY_RUN)"
    )


def test_small_cells_are_withheld_and_cannot_be_recovered_from_the_total(rules):
    measures = rules.mart("mart_measures")
    small = row(measures, "aware", 2024, "service", "small")
    mid = row(measures, "aware", 2024, "service", "mid")
    big = row(measures, "aware", 2024, "service", "big")
    organisation_total = row(measures, "aware", 2024)
    # small has 5 valid answers: withheld. Then the total (100) minus big (60) would give
    # small + mid; so the next smallest sibling, mid (35), is withheld too.
    assert small["suppressed"] and small["suppression_reason"] == "fewer than 10 valid answers"
    assert small["n"] is None and small["k"] is None and small["pct"] is None
    assert mid["suppressed"]
    assert mid["suppression_reason"] == (
        "secondary: protects a withheld cell among services of organisation"
    )
    assert mid["n"] is None and mid["ci_low"] is None
    assert (big["suppressed"], big["n"]) == (False, 60)
    assert (organisation_total["suppressed"], organisation_total["n"]) == (False, 100)


def test_change_is_withheld_next_to_a_withheld_cell(rules):
    changes = rules.mart("mart_measure_changes")
    small_2025 = row(changes, "aware", 2025, "service", "small")
    # small has 12 answers in 2025 (published), but its baseline cell was withheld.
    assert small_2025["pct"] is not None
    assert small_2025["change_pp_from_baseline"] is None
    assert small_2025["note"] == "withheld: the baseline cell is suppressed"


def test_repeat_submissions_and_reexported_responses_count_once(rules):
    aware = row(rules.mart("mart_measures"), "aware", 2025)
    assert (aware["n"], aware["k"]) == (100, 65)
    flags = rules.query("""
        select count(*) filter (where is_repeat_submission) as repeats,
               count(*) filter (where is_reexported_copy) as copies
        from intermediate.int_responses_duplicates_marked where wave = 2025""")
    assert flags.row(0) == (1, 10)
