"""Adding a measure or a reworded question takes only edits to the reference CSVs.

A copy of the dbt project gets two new rows of reference data and nothing else; `coprod run`
runs against it in a fresh process, and the new measure and the reworded question appear in
the marts with values worked out by hand.
"""

from __future__ import annotations

import csv

import polars as pl

from tests.builders import answers, export, organisation, people, template_csv
from tests.conftest import copy_dbt_project, run_with_project


def append_rows(path, rows: list[dict]) -> None:
    with path.open(newline="") as handle:
        fields = next(csv.reader(handle))
    with path.open("a", newline="") as handle:
        csv.DictWriter(handle, fieldnames=fields, lineterminator="\n").writerows(rows)


def test_new_measure_and_reworded_question_need_no_code(workspace, tmp_path):
    project = copy_dbt_project(tmp_path)
    seeds = project / "seeds"
    # 1. A new measure: "Not sure" answers to the awareness question.
    append_rows(
        seeds / "ref_measures.csv",
        [
            {
                "measure_id": "aware_not_sure",
                "label": "Not sure whether they had heard of it",
                "family": "awareness",
                "question_id": "CP_AWARE",
                "numerator_codes": "not_sure",
                "applies_to": "all",
                "description": "Not sure over valid answers",
            }
        ],
    )
    # 2. The awareness question reworded in a new instrument, declared equivalent.
    append_rows(
        seeds / "ref_question_versions.csv",
        [
            {
                "question_id": "CP_AWARE",
                "question_version": "2",
                "wording": "Have you come across the term co-production?",
                "trend_group": "CP_AWARE",
            }
        ],
    )
    with (seeds / "ref_instrument_columns.csv").open(newline="") as handle:
        v1 = [r for r in csv.DictReader(handle) if r["instrument_id"] == "coprod_template_v1"]
    append_rows(
        seeds / "ref_instrument_columns.csv",
        [
            {
                **r,
                "instrument_id": "coprod_template_v3",
                "question_version": "2"
                if r["question_id"] == "CP_AWARE"
                else r["question_version"],
            }
            for r in v1
        ],
    )

    workspace.register(
        [organisation("ref_org", ["main"])],
        [
            export("ref_2024.csv", "ref_org", 2024),
            export("ref_2025.csv", "ref_org", 2025, instrument="coprod_template_v3"),
        ],
    )
    workspace.drop(
        "ref_2024.csv",
        template_csv(
            people(
                "Frontline care or support worker",
                40,
                "A",
                "Main",
                year=2024,
                cp_aware=answers(40, Yes=20, No=12, **{"Not sure": 8}),
            )
        ),
    )
    workspace.drop(
        "ref_2025.csv",
        template_csv(
            people(
                "Frontline care or support worker",
                40,
                "B",
                "Main",
                year=2025,
                cp_aware=answers(40, Yes=30, No=6, **{"Not sure": 4}),
            )
        ),
    )

    run_with_project(project)

    measures = workspace.mart("mart_measures").filter(pl.col("breakdown") == "organisation")
    not_sure = measures.filter(pl.col("measure_id") == "aware_not_sure").sort("wave")
    assert not_sure.select("wave", "n", "k", "pct").rows() == [
        (2024, 40, 8, 20.0),
        (2025, 40, 4, 10.0),
    ]
    change = (
        workspace.mart("mart_measure_changes")
        .filter((pl.col("measure_id") == "aware") & (pl.col("breakdown") == "organisation"))
        .row(0, named=True)
    )
    # 30/40 after 20/40, across two wordings declared equivalent: +25.0 points, trended.
    assert change["comparable_with_baseline"] is True
    assert change["change_pp_from_baseline"] == 25.0
    assert measures.filter(pl.col("measure_id") == "aware", pl.col("wave") == 2025)[
        "question_versions"
    ].to_list() == [["2"]]
