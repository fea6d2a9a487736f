"""The lineage an auditor follows: one graph from inbox files to published marts, every asset
described, grouped and owned. The expected groups are pinned here so that a change to the
graph shows up in review."""

from __future__ import annotations

import json
import os
from pathlib import Path

import dagster as dg

from pipelines.definitions import defs

EXPECTED_GROUPS = {
    "ingest": {"ingest/survey_exports"},
    "validation": {
        "validated/responses",
        "validated/answers",
        "validated/open_answers",
        "validated/rejected_rows",
        "validated/analyst_codes",
        "review/rejected_rows_csv",
    },
    "publish": {
        "publish/staged_marts",
        "publish/organisation_reports",
        "publish/published_marts",
        "review/open_answers_to_code",
    },
    "marts": {
        "marts/mart_measures",
        "marts/mart_measure_changes",
        "marts/mart_manager_frontline_gap",
        "marts/mart_respondents",
    },
}


def _graph():
    return defs.resolve_asset_graph()


def test_assets_sit_in_their_groups():
    graph = _graph()
    by_group: dict[str, set[str]] = {}
    for key in graph.get_all_asset_keys():
        by_group.setdefault(graph.get(key).group_name, set()).add(key.to_user_string())
    for group, keys in EXPECTED_GROUPS.items():
        assert by_group[group] == keys, group
    assert {"staging", "intermediate", "reference"} <= set(by_group)


def test_every_asset_is_described_and_owned():
    graph = _graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.description, key.to_user_string()
        assert node.owners == ["team:data-engineering"], key.to_user_string()


def test_a_published_figure_traces_back_to_the_inbox():
    graph = _graph()
    ancestors, frontier = set(), [dg.AssetKey(["publish", "published_marts"])]
    while frontier:
        for parent in graph.get(frontier.pop()).parent_keys:
            if parent not in ancestors:
                ancestors.add(parent)
                frontier.append(parent)
    names = {key.to_user_string() for key in ancestors}
    assert {
        "publish/staged_marts",
        "marts/mart_measures",
        "intermediate/int_measure_cells",
        "staging/stg_validated__responses",
        "validated/responses",
        "ingest/survey_exports",
        "reference/ref_measures",
        "registry/services",
    } <= names


def test_gates_block_publication_and_pandera_checks_are_attached():
    graph = _graph()
    gate = graph.get_check_spec(
        dg.AssetCheckKey(dg.AssetKey(["publish", "staged_marts"]), "gx_mart_measures")
    )
    assert gate.blocking is True
    pandera = dg.AssetCheckKey(dg.AssetKey(["validated", "responses"]), "pandera_schema")
    assert pandera in graph.asset_check_keys
    # dbt tests are asset checks too, including the singular disclosure-control tests
    dbt_checks = {
        key.name
        for key in graph.asset_check_keys
        if key.asset_key == dg.AssetKey(["marts", "mart_measures"])
    }
    assert "assert_withheld_cells_publish_no_numbers" in dbt_checks


SNAPSHOT = Path(__file__).with_name("definitions_snapshot.json")


def definitions_snapshot() -> dict:
    """What the code location declares, in a stable order: assets with their group, owners,
    kinds, parents, retry policy and resources; checks (blocking or not); jobs; schedules;
    sensors."""
    graph = _graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        retry = node.assets_def.op.retry_policy if node.assets_def.is_executable else None
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "owners": list(node.owners),
            "kinds": sorted(node.kinds),
            "parents": sorted(p.to_user_string() for p in node.parent_keys),
            "retry": None if retry is None else [retry.max_retries, retry.delay],
        }
    checks = {
        f"{check.asset_key.to_user_string()}:{check.name}": {"blocking": check.blocking}
        for check in sorted(
            (graph.get_check_spec(k) for k in graph.asset_check_keys),
            key=lambda c: (c.asset_key.to_user_string(), c.name),
        )
    }
    repository = defs.get_repository_def()
    return {
        "assets": assets,
        "checks": checks,
        "jobs": sorted(j.name for j in repository.get_all_jobs() if not j.name.startswith("__")),
        "schedules": {
            s.name: [s.cron_schedule, s.execution_timezone, s.job_name, s.default_status.value]
            for s in repository.schedule_defs
        },
        "sensors": {
            s.name: [s.job_name, s.minimum_interval_seconds, s.default_status.value]
            for s in repository.sensor_defs
        },
        "resources": sorted(defs.resources),
    }


def test_the_code_location_matches_its_pinned_snapshot():
    """A change to any asset, check, job, schedule or sensor shows up here, in review. To accept
    one on purpose: COPROD_UPDATE_SNAPSHOT=1 pytest tests/test_definitions.py, and commit the
    file with the change."""
    current = definitions_snapshot()
    if os.environ.get("COPROD_UPDATE_SNAPSHOT"):
        SNAPSHOT.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    assert current == json.loads(SNAPSHOT.read_text())


def test_dbt_docs_show_who_reads_each_mart_and_an_overview():
    from pipelines.defs.transform import dbt_project

    manifest = json.loads(dbt_project.manifest_path.read_text())
    published = {
        "mart_measures",
        "mart_measure_changes",
        "mart_manager_frontline_gap",
        "mart_respondents",
    }
    readers = {"published_parquet_marts": published, "organisation_reports": published}
    exposures = {e["name"]: e for e in manifest["exposures"].values()}
    assert set(exposures) == set(readers)
    for name, exposure in exposures.items():
        assert set(exposure["depends_on"]["nodes"]) == {f"model.coprod.{m}" for m in readers[name]}
        assert exposure["owner"]["name"] == "Data engineering team"
    overview = manifest["docs"]["doc.coprod.__overview__"]["block_contents"]
    assert overview.startswith("# Co-production measures")
    unique = manifest["macros"]["macro.coprod.test_unique_combination"]
    assert unique["description"].startswith("Generic test: no two rows share")
