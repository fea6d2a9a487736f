"""An analyst's own coding of open answers wins over the codebook, and a declared baseline wave
is the one every change is measured from.

coded_org (baseline declared as 2025, after a 2024 pilot), 20 frontline staff a wave:
  aware   2024: 10 of 20    2025: 12 of 20    2026: 16 of 20
  2025 definitions all read "Not sure." (the codebook says unsure), but an analyst coded 15 of
  them as comprehensive explanations; the other 5 are left to the codebook.
"""

from __future__ import annotations

import polars as pl
import pytest

from tests.builders import answers, export, organisation, people, template_csv
from tests.conftest import open_workspace


@pytest.fixture(scope="module")
def coded(tmp_path_factory, module_monkeypatch):
    workspace = open_workspace(tmp_path_factory.mktemp("coded") / "data", module_monkeypatch)
    org = {**organisation("coded_org", ["main"]), "baseline_wave": 2025}
    workspace.register(
        [org], [export(f"coded_{y}.csv", "coded_org", y) for y in (2024, 2025, 2026)]
    )
    for year, yes in ((2024, 10), (2025, 12), (2026, 16)):
        rows = people(
            "Frontline care or support worker",
            20,
            f"C{year}",
            "Main",
            year=year,
            cp_aware=answers(20, Yes=yes, No=20 - yes),
            cp_define=["Not sure."] * 20,
            cp_define_coded=answers(20, **{"Comprehensive explanation": 15}),
        )
        workspace.drop(f"coded_{year}.csv", template_csv(rows))
    assert workspace.run().success
    return workspace


def organisation_cells(workspace, mart: str, measure: str) -> pl.DataFrame:
    frame = workspace.mart(mart)
    return frame.filter(
        (pl.col("measure_id") == measure) & (pl.col("breakdown") == "organisation")
    ).sort("wave")


def test_analyst_coding_takes_precedence_over_the_codebook(coded):
    comprehensive = organisation_cells(coded, "mart_measures", "understanding_comprehensive")
    unsure = organisation_cells(coded, "mart_measures", "understanding_unsure")
    # 15 analyst-coded comprehensive; the 5 uncoded "Not sure." fall to the codebook: unsure.
    assert comprehensive.filter(pl.col("wave") == 2025).select("k", "n", "pct").row(0) == (
        15,
        20,
        75.0,
    )
    assert unsure.filter(pl.col("wave") == 2025).select("k", "n", "pct").row(0) == (5, 20, 25.0)
    coded_by = coded.query("""
        select coded_by, count(*) from intermediate.int_answer_codes
        where question_id = 'CP_DEFINE' and wave = 2025 group by 1 order by 1""").rows()
    assert coded_by == [("analyst", 15), ("codebook", 5)]


def test_changes_are_measured_from_the_declared_baseline(coded):
    waves = organisation_cells(coded, "mart_measures", "aware")
    assert waves.select("wave", "wave_number", "is_baseline").rows() == [
        (2024, 1, False),
        (2025, 2, True),
        (2026, 3, False),
    ]
    changes = organisation_cells(coded, "mart_measure_changes", "aware")
    assert changes["baseline_wave"].unique().to_list() == [2025]
    # 2026: 16/20 - 12/20 = +20.0 points from the baseline and from the previous wave (2025).
    latest = changes.filter(pl.col("wave") == 2026).row(0, named=True)
    assert (latest["change_pp_from_baseline"], latest["change_pp_from_previous"]) == (20.0, 20.0)
    # The 2024 pilot sits before the baseline: 10/20 - 12/20 = -10.0 points, no previous wave.
    pilot = changes.filter(pl.col("wave") == 2024).row(0, named=True)
    assert (pilot["change_pp_from_baseline"], pilot["previous_wave"]) == (-10.0, None)
