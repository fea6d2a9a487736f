"""A run costs what arrived: a new export is the only file read and its (organisation, wave) the
only partition recomputed; a changed registration re-reads that export alone; a new measure
re-computes cells from what was read and reads no file. Counted, not timed."""

from __future__ import annotations

import csv

import duckdb
import polars as pl

from tests.builders import answers, export, organisation, people, template_csv
from tests.conftest import copy_dbt_project, run_with_project

ORGANISATIONS = [organisation("inc_a", ["main"]), organisation("inc_b", ["main"])]
YES = {("inc_a", 2024): 8, ("inc_a", 2025): 12, ("inc_b", 2024): 14, ("inc_b", 2025): 16}


def survey(prefix: str, year: int, yes: int, count: int = 20) -> bytes:
    return template_csv(
        people(
            "Frontline care or support worker",
            count,
            prefix,
            "Main",
            year=year,
            cp_aware=answers(count, Yes=yes, No=count - yes),
        )
    )


def files_read(result) -> dict[str, int]:
    (materialization,) = result.asset_materializations_for_node("ingest__survey_exports")
    metadata = materialization.metadata
    return {s: metadata[f"files_{s}"].value for s in ("ingested", "unchanged")}


def recomputed_partitions(workspace) -> set[tuple[str, int]]:
    """The partitions whose cells the newest dbt build computed."""
    rows = workspace.query(
        """select distinct organisation_id, wave from intermediate.int_measure_cells
           where computed_at = (select max(computed_at) from intermediate.int_measure_cells)"""
    ).rows()
    return set(rows)


def aware(workspace, organisation_id: str, wave: int) -> tuple:
    return (
        workspace.mart("mart_measures")
        .filter(
            pl.col("organisation_id") == organisation_id,
            pl.col("wave") == wave,
            pl.col("measure_id") == "aware",
            pl.col("breakdown") == "organisation",
        )
        .select("n", "k", "pct")
        .row(0)
    )


def test_only_what_arrived_is_read_and_recomputed(workspace, tmp_path):
    exports = [export(f"{o}_{w}.csv", o, w) for o, w in YES]
    workspace.register(ORGANISATIONS, exports)
    for (org, wave), yes in YES.items():
        workspace.drop(f"{org}_{wave}.csv", survey(f"{org}{wave}", wave, yes))
    first = workspace.run()
    assert first.success
    assert files_read(first) == {"ingested": 4, "unchanged": 0}
    assert recomputed_partitions(workspace) == set(YES)
    assert aware(workspace, "inc_a", 2025) == (20, 12, 60.0)

    # A late export for one organisation and wave: 15 of 20 more said Yes.
    exports.append(export("inc_a_2025_late.csv", "inc_a", 2025))
    workspace.register(ORGANISATIONS, exports)
    workspace.drop("inc_a_2025_late.csv", survey("late", 2025, 15))
    second = workspace.run()
    assert second.success
    assert files_read(second) == {"ingested": 1, "unchanged": 4}
    assert recomputed_partitions(workspace) == {("inc_a", 2025)}
    assert aware(workspace, "inc_a", 2025) == (40, 27, 67.5)  # (12 + 15) / 40
    assert aware(workspace, "inc_b", 2024) == (20, 14, 70.0)  # untouched, still published

    # One export's registration changes (its service is now declared): that export alone.
    exports = [{**e, "service": "main"} if e["file"] == "inc_b_2024.csv" else e for e in exports]
    workspace.register(ORGANISATIONS, exports)
    third = workspace.run()
    assert third.success
    assert files_read(third) == {"ingested": 1, "unchanged": 4}
    assert recomputed_partitions(workspace) == {("inc_b", 2024)}
    assert aware(workspace, "inc_b", 2024) == (20, 14, 70.0)

    # A new measure is reference data only: every cell is recomputed, no file is read.
    project = copy_dbt_project(tmp_path)
    with (project / "seeds" / "ref_measures.csv").open("a", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerow(
            ["aware_no", "Had not heard of it", "awareness", "CP_AWARE", "no", "all",
             "No / valid", "valid", "share"]
        )  # fmt: skip
    log = workspace.root / "logs" / "ingest.log"
    log.unlink(missing_ok=True)
    run_with_project(project)
    statuses = [line.split("status=")[1].split()[0] for line in log.read_text().splitlines()]
    assert statuses == ["unchanged"] * 5
    assert recomputed_partitions(workspace) == set(YES)
    not_heard = workspace.mart("mart_measures").filter(
        pl.col("measure_id") == "aware_no", pl.col("breakdown") == "organisation"
    )
    assert sorted(not_heard.select("organisation_id", "wave", "k", "n").rows()) == [
        ("inc_a", 2024, 12, 20),
        ("inc_a", 2025, 13, 40),  # (8 + 5) of 40
        ("inc_b", 2024, 6, 20),
        ("inc_b", 2025, 4, 20),
    ]


def test_a_build_too_large_for_one_go_is_built_in_batches(workspace, monkeypatch):
    # 20 current responses a partition and batches of at most 20: one partition per dbt build.
    monkeypatch.setenv("COPROD_DBT_BATCH_RESPONSES", "20")
    workspace.register(ORGANISATIONS, [export(f"{o}_{w}.csv", o, w) for o, w in YES])
    for (org, wave), yes in YES.items():
        workspace.drop(f"{org}_{wave}.csv", survey(f"{org}{wave}", wave, yes))
    assert workspace.run().success

    builds = workspace.query(
        "select organisation_id, wave, count(distinct computed_at) as builds, min(computed_at) "
        "from intermediate.int_measure_cells group by all order by 4"
    ).rows()
    assert [row[2] for row in builds] == [1, 1, 1, 1]  # each partition built once ...
    assert len({row[3] for row in builds}) == 4  # ... by a build of its own
    assert workspace.query("select count(*) from validated.build_batch").item() == 0
    for (org, wave), yes in YES.items():  # the same figures as one build
        assert aware(workspace, org, wave) == (20, yes, yes * 5.0)
    families = workspace.query(
        "select count(distinct organisation_id || wave) from intermediate.int_suppression_families"
    ).item()
    assert families == 4


def test_a_warehouse_from_before_partitioned_answers_is_upgraded_in_place(workspace):
    workspace.register(ORGANISATIONS, [export(f"{o}_{w}.csv", o, w) for o, w in YES])
    for (org, wave), yes in YES.items():
        workspace.drop(f"{org}_{wave}.csv", survey(f"{org}{wave}", wave, yes))
    assert workspace.run().success
    published = workspace.published_files()
    with duckdb.connect(str(workspace.warehouse)) as con:  # as an earlier version wrote it
        for table in ("ingest.answers", "ingest.open_answers"):
            con.execute(f"alter table {table} drop column organisation_id")
            con.execute(f"alter table {table} drop column wave")

    second = workspace.run()
    assert second.success
    assert files_read(second) == {"ingested": 0, "unchanged": 4}
    per_partition = workspace.query(
        "select organisation_id, wave, count(*) from ingest.answers group by all order by all"
    ).rows()
    assert per_partition == [(org, wave, 20) for org, wave in sorted(YES)]  # one answer each
    assert workspace.published_files() == published


def test_a_warehouse_from_before_free_text_fingerprints_is_upgraded_in_place(workspace):
    """A warehouse written by reader version 3 has no free_text_fingerprint: the column is added
    and every file read once more (the reader's version is in every read fingerprint) to fill
    it, and the same figures are published."""
    workspace.register(ORGANISATIONS, [export(f"{o}_{w}.csv", o, w) for o, w in YES])
    for (org, wave), yes in YES.items():
        rows = people(
            "Frontline care or support worker", 20, f"{org}{wave}", "Main", year=wave,
            cp_aware=answers(20, Yes=yes, No=20 - yes),
            cp_chall=answers(20, **{"Not enough time": 5}),
        )  # fmt: skip
        workspace.drop(f"{org}_{wave}.csv", template_csv(rows))
    assert workspace.run().success
    published = workspace.published_files()
    with duckdb.connect(str(workspace.warehouse)) as con:  # as reader version 3 left it
        con.execute("alter table ingest.responses drop column free_text_fingerprint")
        con.execute("update ingest.files set read_fingerprint = 'read by version 3'")

    second = workspace.run()
    assert second.success
    assert files_read(second) == {"ingested": 4, "unchanged": 0}
    typed = workspace.query(
        "select organisation_id, wave, count(free_text_fingerprint) from ingest.responses "
        "group by all order by all"
    ).rows()
    assert typed == [(org, wave, 5) for org, wave in sorted(YES)]  # the five who typed
    assert workspace.published_files() == published
