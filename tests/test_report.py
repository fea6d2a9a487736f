"""The HTML report a co-production lead opens: one chart per measure, intervals, the baseline,
significant changes, withheld cells, and nothing that needs the internet."""

from __future__ import annotations

import re

import polars as pl
import pytest

from pipelines.report import build_report, write_reports


def cells(**overrides) -> dict:
    row = {
        "organisation_id": "org",
        "organisation_name": "Org & Co",
        "breakdown": "organisation",
        "service_id": "ALL",
        "service_name": "All services",
        "group_id": "all",
        "measure_id": "aware",
        "measure_label": "Had heard of co-production",
        "measure_family": "awareness",
        "is_baseline": False,
        "n": 40,
        "k": 20,
        "pct": 50.0,
        "ci_low": 35.2,
        "ci_high": 64.8,
        "suppressed": False,
        "suppression_reason": None,
    }
    return {**row, **overrides}


@pytest.fixture
def marts() -> tuple[pl.DataFrame, pl.DataFrame]:
    measures = pl.DataFrame(
        [
            cells(wave=2024, is_baseline=True),
            cells(wave=2025, pct=75.0, ci_low=59.8, ci_high=85.8, k=30),
            cells(
                wave=2024,
                breakdown="service",
                service_id="day",
                service_name="Day Centre",
                is_baseline=True,
                n=None,
                k=None,
                pct=None,
                ci_low=None,
                ci_high=None,
                suppressed=True,
                suppression_reason="fewer than 10 valid answers",
            ),
            cells(wave=2025, breakdown="service", service_id="day", service_name="Day Centre"),
            cells(
                wave=2024,
                measure_id="have_a_say",
                measure_label="I have a say",
                measure_family="involvement",
                is_baseline=True,
            ),
            cells(
                wave=2025,
                measure_id="have_a_say",
                measure_label="I have a say",
                measure_family="involvement",
            ),
        ]
    )
    changes = pl.DataFrame(
        [
            {
                "organisation_id": "org",
                "wave": 2025,
                "breakdown": "organisation",
                "service_id": "ALL",
                "group_id": "all",
                "measure_id": "aware",
                "change_pp_from_baseline": 25.0,
                "p_value_vs_baseline": 0.0209,
                "significant_vs_baseline": True,
                "comparable_with_baseline": True,
            },
            {
                "organisation_id": "org",
                "wave": 2025,
                "breakdown": "organisation",
                "service_id": "ALL",
                "group_id": "all",
                "measure_id": "have_a_say",
                "change_pp_from_baseline": None,
                "p_value_vs_baseline": None,
                "significant_vs_baseline": None,
                "comparable_with_baseline": False,
            },
        ]
    )
    return measures, changes


def test_one_chart_per_measure_with_intervals_baseline_and_significance(marts):
    html = build_report(*marts, "org")
    assert re.findall(r'<figure class="measure" id="([^"]+)"', html) == ["aware", "have_a_say"]
    assert "<h1>Org &amp; Co</h1>" in html
    aware = html.split('id="aware"')[1].split("</figure>")[0]
    assert aware.count('class="panel"') == 2  # all respondents, Day Centre
    assert aware.count('class="ci"') == 3  # every published point has its interval
    assert aware.count('class="baseline"') == 2
    assert aware.count('class="point significant"') == 1
    assert "2025: 75.0% (59.8 to 85.8), n = 40; +25.0 points from baseline, p = 0.0209" in aware


def test_withheld_and_not_comparable_cells_are_shown_as_such(marts):
    html = build_report(*marts, "org")
    aware = html.split('id="aware"')[1].split("</figure>")[0]
    assert aware.count('class="suppressed"') == 1
    assert "2024: withheld (fewer than 10 valid answers)" in aware
    say = html.split('id="have_a_say"')[1].split("</figure>")[0]
    assert say.count('class="point not-comparable"') == 1
    assert "wording changed, not comparable with baseline" in say


def test_the_page_needs_no_network(marts):
    html = build_report(*marts, "org")
    assert not re.search(r"<script|https?://|<link", html)


def test_a_change_with_no_variance_has_no_p_value(marts):
    measures, changes = marts
    none_ever = [
        cells(
            wave=w,
            measure_id="practice_payment_offered",
            measure_label="Paid",
            measure_family="practice",
            is_baseline=w == 2024,
            k=0,
            pct=0.0,
            ci_low=0.0,
            ci_high=8.8,
        )
        for w in (2024, 2025)
    ]
    changes = pl.concat(
        [
            changes,
            pl.DataFrame(
                [
                    {
                        "organisation_id": "org",
                        "wave": 2025,
                        "breakdown": "organisation",
                        "service_id": "ALL",
                        "group_id": "all",
                        "measure_id": "practice_payment_offered",
                        "change_pp_from_baseline": 0.0,
                        "p_value_vs_baseline": None,
                        "significant_vs_baseline": False,
                        "comparable_with_baseline": True,
                    }
                ]
            ),
        ]
    )
    html = build_report(pl.concat([measures, pl.DataFrame(none_ever)]), changes, "org")
    assert "2025: 0.0% (0.0 to 8.8), n = 40; +0.0 points from baseline</title>" in html


def test_an_organisation_whose_rows_did_not_change_keeps_its_page(marts, tmp_path):
    measures, changes = marts
    previous = tmp_path / "previous"
    (previous / "reports").mkdir(parents=True)
    measures.write_parquet(previous / "mart_measures.parquet")
    changes.write_parquet(previous / "mart_measure_changes.parquet")
    first = write_reports(previous, previous / "reports")
    assert (first.reused, [p.name for p in first.paths]) == (0, ["org.html"])

    staged = tmp_path / "staged"
    staged.mkdir()
    measures.write_parquet(staged / "mart_measures.parquet")
    changes.write_parquet(staged / "mart_measure_changes.parquet")
    again = write_reports(staged, staged / "reports", previous)
    assert again.reused == 1
    assert again.paths[0].read_bytes() == first.paths[0].read_bytes()

    # One published figure changes: the page is drawn again and shows it.
    revised = measures.with_columns(
        pl.when(pl.col("wave") == 2025).then(pl.col("n") + 1).otherwise(pl.col("n")).alias("n")
    )
    revised.write_parquet(staged / "mart_measures.parquet")
    redrawn = write_reports(staged, staged / "reports", previous)
    assert redrawn.reused == 0
    assert "n = 41" in redrawn.paths[0].read_text()
