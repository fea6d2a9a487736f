"""A failing Great Expectations gate blocks publication, shows as a failed asset check, and
leaves what analysts read exactly as it was."""

from __future__ import annotations

import dagster as dg

from tests.builders import answers, export, organisation, people, template_csv


def full_survey(count: int) -> bytes:
    staff = people(
        "Frontline care or support worker",
        count,
        "S",
        "Main",
        year=2024,
        cp_aware=answers(count, Yes=count // 2, No=count - count // 2),
        cp_value=answers(count, Vital=count // 2, **{"Not important": count - count // 2}),
        cp_valued=answers(count, Agree=count),
    )
    lived = people(
        "Person who draws on care and support",
        count,
        "L",
        "Main",
        year=2024,
        cp_aware=answers(count, Yes=count),
        cp_say=answers(count, Agree=count),
        cp_opp_own=answers(count, Yes=count),
        cp_opp_svc=answers(count, No=count),
    )
    return template_csv(staff + lived)


def test_a_collapsed_reexport_is_not_published(workspace):
    workspace.register(
        [organisation("gate_org", ["main"])], [export("survey.csv", "gate_org", 2024)]
    )
    workspace.drop("survey.csv", full_survey(40))
    assert workspace.run().success
    link_before = workspace.marts.resolve()
    published_before = workspace.published_files()
    rows_before = workspace.mart("mart_measures").height

    # The same file name arrives again, but the export lost nearly everything: three staff
    # answering one question. It supersedes the old version in the warehouse...
    workspace.drop(
        "survey.csv",
        template_csv(
            people(
                "Frontline care or support worker",
                3,
                "S",
                "Main",
                year=2024,
                cp_aware=answers(3, Yes=3),
            )
        ),
    )
    result = workspace.run()

    # ...but the marts built from it fall below half the previous row count: the gate fails.
    gates = {
        e.check_name: e
        for e in result.get_asset_check_evaluations()
        if e.asset_key == dg.AssetKey(["publish", "staged_marts"])
    }
    assert gates["gx_mart_measures"].passed is False
    failures = gates["gx_mart_measures"].metadata["failures"].value
    assert [f["expectation"] for f in failures] == ["expect_table_row_count_to_be_between"]
    published = {e.asset_key for e in result.get_asset_materialization_events()}
    assert dg.AssetKey(["publish", "published_marts"]) not in published
    assert dg.AssetKey(["publish", "staged_marts"]) in published
    # Analysts still read the previous publication, byte for byte.
    assert workspace.marts.resolve() == link_before
    assert workspace.published_files() == published_before
    assert workspace.mart("mart_measures").height == rows_before
