"""A failing Great Expectations gate blocks publication, shows as a failed asset check, and
leaves what analysts read exactly as it was."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import dagster as dg
import polars as pl

from tests.builders import answers, export, organisation, people, template_csv


def full_survey(count: int, prefix: str = "") -> bytes:
    staff = people(
        "Frontline care or support worker",
        count,
        f"{prefix}S",
        "Main",
        year=2024,
        cp_aware=answers(count, Yes=count // 2, No=count - count // 2),
        cp_value=answers(count, Vital=count // 2, **{"Not important": count - count // 2}),
        cp_valued=answers(count, Agree=count),
    )
    lived = people(
        "Person who draws on care and support",
        count,
        f"{prefix}L",
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
    # The partition gate says the same in words: 80 responses of gate_org 2024 would become 3.
    assert gates["published_partitions_kept"].passed is False
    assert gates["published_partitions_kept"].description == (
        "Organisation gate_org, wave 2024 would shrink from 80 to 3 published responses, below "
        "50% of what was published. Fix the cause, or retire the wave in data/sources.yml."
    )
    published = {e.asset_key for e in result.get_asset_materialization_events()}
    assert dg.AssetKey(["publish", "published_marts"]) not in published
    assert dg.AssetKey(["publish", "staged_marts"]) in published
    # Analysts still read the previous publication, byte for byte.
    assert workspace.marts.resolve() == link_before
    assert workspace.published_files() == published_before
    assert workspace.mart("mart_measures").height == rows_before


def gate_rows(result) -> tuple[int, int]:
    """(rows validated, rows unchanged since publication) of the mart_measures gate."""
    (gate,) = [
        e for e in result.get_asset_check_evaluations() if e.check_name == "gx_mart_measures"
    ]
    assert gate.passed
    return gate.metadata["rows_validated"].value, gate.metadata[
        "rows_unchanged_since_publication"
    ].value


def test_a_gate_validates_what_changed_since_the_last_publication(workspace):
    organisations = [organisation("gate_a", ["main"]), organisation("gate_b", ["main"])]
    exports = [export("a.csv", "gate_a", 2024), export("b.csv", "gate_b", 2024)]
    workspace.register(organisations, exports)
    workspace.drop("a.csv", full_survey(20, "A"))
    workspace.drop("b.csv", full_survey(20, "B"))
    first = workspace.run()
    rows = workspace.mart("mart_measures")
    assert gate_rows(first) == (rows.height, 0)  # nothing published before: every row

    # A late export for gate_b: its rows change, gate_a's are exactly as published.
    workspace.register(organisations, [*exports, export("b_late.csv", "gate_b", 2024)])
    workspace.drop("b_late.csv", full_survey(10, "C"))
    second = workspace.run()
    after = workspace.mart("mart_measures")
    gate_a_rows = after.filter(after["organisation_id"] == "gate_a").height
    assert gate_a_rows > 0 and after.height == rows.height
    assert gate_rows(second) == (after.height - gate_a_rows, gate_a_rows)

    # A new organisation changes what the suite accepts (the known organisations): every row.
    organisations.append(organisation("gate_c", ["main"]))
    workspace.register(organisations, [*exports, export("b_late.csv", "gate_b", 2024)])
    third = workspace.run()
    assert gate_rows(third) == (workspace.mart("mart_measures").height, 0)


def test_a_published_wave_leaves_the_marts_only_when_the_registry_retires_it(workspace):
    organisations = [organisation("org_a", ["main"]), organisation("org_b", ["main"])]
    workspace.register(
        organisations, [export("a.csv", "org_a", 2024), export("b.csv", "org_b", 2024)]
    )
    workspace.drop("a.csv", full_survey(20, "A"))
    workspace.drop("b.csv", full_survey(20, "B"))
    assert workspace.run().success
    published_before = workspace.published_files()

    # a.csv re-registered under another wave by mistake: org_a's 2024 would vanish.
    workspace.register(
        organisations, [export("a.csv", "org_a", 2025), export("b.csv", "org_b", 2024)]
    )
    result = workspace.run()
    (gate,) = [
        e for e in result.get_asset_check_evaluations()
        if e.check_name == "published_partitions_kept"
    ]  # fmt: skip
    assert gate.passed is False
    assert gate.description == (
        "Organisation org_a, wave 2024 was published with 40 responses and would disappear "
        "from the marts (its files are no longer read: quarantined, re-registered or removed). "
        "Fix the cause, or retire the wave in data/sources.yml."
    )
    assert workspace.published_files() == published_before

    # Retired on purpose, the wave leaves and the rest is published.
    organisations[0]["retired_waves"] = [2024]
    workspace.register(
        organisations, [export("a.csv", "org_a", 2025), export("b.csv", "org_b", 2024)]
    )
    assert workspace.run().success
    measures = workspace.mart("mart_measures")
    waves = sorted(set(measures.select("organisation_id", "wave").iter_rows()))
    assert waves == [("org_a", 2025), ("org_b", 2024)]


def test_a_blocked_publication_says_what_failed_and_what_stays(workspace):
    """From the command line: each failed expectation with what was observed, the publication
    analysts keep reading, exit 1, and no traceback."""
    workspace.register(
        [organisation("gate_org", ["main"])], [export("survey.csv", "gate_org", 2024)]
    )
    workspace.drop("survey.csv", full_survey(40))
    first = coprod_run()
    assert first.returncode == 0, first.stderr[-2000:]
    publication = json.loads((workspace.marts / "manifest.json").read_text())["publication_id"]
    rows_before = workspace.mart("mart_measures").height
    workspace.drop(  # three staff answering one question: the marts collapse
        "survey.csv",
        template_csv(people("Manager", 3, "S", "Main", year=2024, cp_aware=answers(3, Yes=3))),
    )

    blocked = coprod_run()

    assert blocked.returncode == 1
    rows_now = staged_rows("mart_measures", workspace)
    assert blocked.stderr.splitlines()[-4:] == [
        "The run did not publish. Failed checks: publish/staged_marts:gx_mart_measures, "
        "publish/staged_marts:published_partitions_kept; see the run in the Dagster UI (make ui).",
        f"  gx_mart_measures: expect_table_row_count_to_be_between failed (observed: {rows_now})",
        "  published_partitions_kept: Organisation gate_org, wave 2024 would shrink from 80 to 3 "
        "published responses, below 50% of what was published. Fix the cause, or retire the wave "
        "in data/sources.yml.",
        f"Analysts still read the previous publication, {publication}, unchanged.",
    ]
    assert rows_now < rows_before / 2
    assert "Traceback" not in blocked.stdout + blocked.stderr


def coprod_run() -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run"],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=600,
    )


def staged_rows(mart: str, workspace) -> int:
    staged = workspace.root / "publications" / ".staging" / f"{mart}.parquet"
    return pl.read_parquet(staged).height
