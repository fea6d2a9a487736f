"""Unattended runs: a run killed at a bad moment changes nothing analysts read, and the next
run completes; two runs started together both succeed and leave one consistent publication."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import dagster as dg

from tests.builders import answers, export, organisation, people, template_csv
from tests.conftest import copy_dbt_project, run_with_project


def coprod_run() -> subprocess.Popen:
    # Its own session, so the kill reaches dbt's process too, as a crash of the machine would.
    return subprocess.Popen(
        [sys.executable, "-m", "pipelines.cli", "run"],
        env=dict(os.environ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )


def survey(year: int, yes: int) -> bytes:
    return template_csv(
        people(
            "Frontline care or support worker",
            30,
            f"S{year}",
            "Main",
            year=year,
            cp_aware=answers(30, Yes=yes, No=30 - yes),
        )
    )


def snapshot(workspace) -> tuple:
    return (workspace.marts.resolve(), workspace.published_files())


def consistent(workspace) -> dict:
    """The manifest describes exactly the files beside it."""
    manifest = json.loads((workspace.marts / "manifest.json").read_text())
    for entry in manifest["marts"].values():
        data = (workspace.marts / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"]
    return manifest


def test_a_run_killed_during_dbt_leaves_the_marts_and_the_next_run_publishes(workspace):
    workspace.register(
        [organisation("safe_org", ["main"])],
        [export("safe_2024.csv", "safe_org", 2024), export("safe_2025.csv", "safe_org", 2025)],
    )
    workspace.drop("safe_2024.csv", survey(2024, yes=12))
    first = coprod_run()
    assert first.wait(timeout=300) == 0, first.stdout.read()[-2000:]
    before = snapshot(workspace)

    workspace.drop("safe_2025.csv", survey(2025, yes=21))
    victim = coprod_run()
    seen = []
    for line in victim.stdout:  # wait until dbt is building, then pull the plug
        seen.append(line)
        if line.startswith("dbt build..."):
            # dbt's own output goes to the run's log: kill once it has started building models
            run_log = workspace.root / "logs" / "last-run.log"
            deadline = time.monotonic() + 120
            while "START sql" not in run_log.read_text(errors="replace"):
                assert time.monotonic() < deadline, "dbt did not start building"
                time.sleep(0.05)
            os.killpg(victim.pid, signal.SIGKILL)
            break
    victim.wait(timeout=60)
    assert victim.returncode == -signal.SIGKILL, "".join(seen)[-2000:]
    time.sleep(0.5)
    assert snapshot(workspace) == before

    again = coprod_run()
    output = again.communicate(timeout=300)[0]
    assert again.returncode == 0, output[-2000:]
    manifest = consistent(workspace)
    assert sorted(f["file_name"] for f in manifest["source_files"]) == [
        "safe_2024.csv",
        "safe_2025.csv",
    ]
    change = workspace.mart("mart_measure_changes").filter(
        (workspace.mart("mart_measure_changes")["measure_id"] == "aware")
        & (workspace.mart("mart_measure_changes")["breakdown"] == "organisation")
    )
    assert change["change_pp_from_baseline"].to_list() == [30.0]  # 21/30 - 12/30 = 70% - 40%


def test_two_runs_started_together_both_succeed_and_agree(workspace):
    workspace.register(
        [organisation("twin_org", ["main"])], [export("twin_2024.csv", "twin_org", 2024)]
    )
    workspace.drop("twin_2024.csv", survey(2024, yes=15))
    runs = [coprod_run(), coprod_run()]
    outputs = [run.communicate(timeout=400)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], [o[-1500:] for o in outputs]
    # One did the work; the other waited for the warehouse and found nothing new to do.
    assert sum("Nothing new since publication" in o for o in outputs) == 1
    assert sum("waiting for it to finish" in o for o in outputs) == 1
    manifest = consistent(workspace)
    assert [p.name for p in workspace.root.joinpath("publications").iterdir()] == [
        manifest["publication_id"]
    ]
    aware = workspace.mart("mart_measures").filter(
        (workspace.mart("mart_measures")["measure_id"] == "aware")
        & (workspace.mart("mart_measures")["breakdown"] == "organisation")
    )
    assert aware.select("n", "k", "pct").row(0) == (30, 15, 50.0)


def test_a_file_landing_during_a_run_is_not_mistaken_for_seen(workspace, monkeypatch, capsys):
    import pipelines.defs.ingest as ingest_assets
    from pipelines.cli import main

    workspace.register(
        [organisation("late_org", ["main"])],
        [export("late_2024.csv", "late_org", 2024), export("late_2025.csv", "late_org", 2025)],
    )
    workspace.drop("late_2024.csv", survey(2024, yes=12))
    read_inbox = ingest_assets.ingest_inbox

    def read_then_a_file_lands(*args, **kwargs):
        outcomes = read_inbox(*args, **kwargs)
        workspace.drop("late_2025.csv", survey(2025, yes=21))  # after ingest, before publish
        return outcomes

    monkeypatch.setattr(ingest_assets, "ingest_inbox", read_then_a_file_lands)
    assert workspace.run().success
    monkeypatch.setattr(ingest_assets, "ingest_inbox", read_inbox)
    first = consistent(workspace)
    assert [f["file_name"] for f in first["source_files"]] == ["late_2024.csv"]

    # The next run must see late_2025.csv as new, not skip it as "nothing new".
    assert main(["run"]) == 0
    assert "Nothing new" not in capsys.readouterr().out
    second = consistent(workspace)
    assert [f["file_name"] for f in second["source_files"]] == ["late_2024.csv", "late_2025.csv"]


def test_a_failing_dbt_test_fails_the_run_once_without_retries(workspace, tmp_path):
    """A dbt failure is the same on every try (a broken rule, wrong SQL, memory): the run stops
    at once, exit 1, says which test failed, and publishes nothing."""
    workspace.register([organisation("dbt_org", ["main"])], [export("d.csv", "dbt_org", 2024)])
    workspace.drop("d.csv", survey(2024, yes=12))
    project = copy_dbt_project(tmp_path)
    (project / "tests" / "assert_this_rule_always_fails.sql").write_text(
        "select 1 as broken_rule from {{ ref('mart_measures') }} limit 1\n"
    )
    run = run_with_project(project, expected_exit=1)
    assert "assert_this_rule_always_fails" in run.stdout + run.stderr
    assert not (workspace.marts / "manifest.json").exists()
    with dg.DagsterInstance.get() as instance:
        (record,) = instance.get_runs(limit=1)
        starts = [
            e
            for e in instance.all_logs(record.run_id)
            if e.dagster_event
            and e.dagster_event.event_type_value == "STEP_START"
            and e.step_key == "coprod_dbt_models"
        ]
    assert len(starts) == 1  # tried once, not three times
