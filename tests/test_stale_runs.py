"""Runs that end badly: a run whose process was killed is marked failed by the next `coprod run`
(else it stays STARTED and the daemon, one run at a time, launches nothing again), a live run
is never touched, and a failure that would repeat is not retried."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import dagster as dg
import pytest
from dagster._core.events import EngineEventData

from pipelines.cli import DAGSTER_YAML, EARLIER_DAGSTER_YAMLS, dagster_home
from pipelines.defs.jobs import retry_transient_errors_only
from pipelines.stale_runs import RUN_PID_TAG, fail_dead_runs
from tests.builders import export, organisation
from tests.test_run_safety import coprod_run, survey


def _wait_until_started(instance: dg.DagsterInstance, victim: subprocess.Popen) -> dg.DagsterRun:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and victim.poll() is None:
        runs = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
        if runs:
            return runs[0]
        time.sleep(0.1)
    raise AssertionError(f"no run started: {victim.poll()=}")


def test_a_killed_run_is_marked_failed_by_the_next_coprod_run(workspace):
    workspace.register(
        [organisation("stale_org", ["main"])], [export("stale_2024.csv", "stale_org", 2024)]
    )
    workspace.drop("stale_2024.csv", survey(2024, yes=12))
    dagster_home()
    with dg.DagsterInstance.get() as instance:  # created here, not raced by two processes
        victim = coprod_run()
        killed = _wait_until_started(instance, victim)
        os.killpg(victim.pid, signal.SIGKILL)  # as a crash would: no chance to write its end
        victim.communicate(timeout=60)
        assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.STARTED

        again = coprod_run()
        output = again.communicate(timeout=300)[0]
        assert again.returncode == 0, output[-2000:]
        assert f"Run {killed.run_id} was left unfinished by a process that died" in output

        assert instance.get_run_by_id(killed.run_id).status == dg.DagsterRunStatus.FAILURE
        (failure,) = instance.all_logs(killed.run_id, of_type=dg.DagsterEventType.RUN_FAILURE)
        message = failure.dagster_event.message
        assert message.startswith(f"The process running this run (pid {victim.pid}) died ")
        assert message.endswith("; marked failed so schedules and sensors run again.")
        (latest,) = instance.get_runs(limit=1)
        assert latest.run_id != killed.run_id
        assert latest.status == dg.DagsterRunStatus.SUCCESS


def _dead_pid() -> int:
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    return ended.pid


def test_only_runs_whose_process_is_gone_are_marked_failed():
    with dg.instance_for_test() as instance:

        def run(status: dg.DagsterRunStatus, pid: int | None = None) -> str:
            tags = {RUN_PID_TAG: str(pid)} if pid else {}
            return instance.add_run(
                dg.DagsterRun("coprod_full_run", status=status, tags=tags)
            ).run_id

        live = run(dg.DagsterRunStatus.STARTED, os.getpid())  # e.g. waiting for the lock
        dead_cli = run(dg.DagsterRunStatus.STARTED, _dead_pid())
        starting = run(dg.DagsterRunStatus.STARTING)  # no process yet: run monitoring's case
        # A run the daemon launched names its process in an engine event, not a tag.
        dead_daemon = run(dg.DagsterRunStatus.STARTED)
        instance.report_engine_event(
            "Started process for run.",
            instance.get_run_by_id(dead_daemon),
            EngineEventData.in_process(_dead_pid()),
        )

        assert sorted(fail_dead_runs(instance)) == sorted([dead_cli, dead_daemon])
        status = {r.run_id: r.status for r in instance.get_runs()}
        assert status[live] == dg.DagsterRunStatus.STARTED
        assert status[starting] == dg.DagsterRunStatus.STARTING
        assert status[dead_cli] == status[dead_daemon] == dg.DagsterRunStatus.FAILURE


def test_a_dagster_yaml_we_wrote_gains_run_monitoring_an_edited_one_is_kept(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path))
    config = tmp_path / "dagster.yaml"
    config.write_text(EARLIER_DAGSTER_YAMLS[0])
    dagster_home()
    assert config.read_text() == DAGSTER_YAML
    with dg.DagsterInstance.get() as instance:  # valid with the local run launcher
        assert instance.run_monitoring_enabled

    edited = EARLIER_DAGSTER_YAMLS[0] + "# an operator's own setting\n"
    config.write_text(edited)
    dagster_home()
    assert config.read_text() == edited


def test_a_wrong_registry_inside_the_job_fails_once_without_retries(workspace):
    """The CLI checks the registry before a run; a run from the UI or the schedule does not."""
    workspace.registry_file.write_text("organisations: [unclosed\n")
    result = workspace.run()
    assert not result.success
    assert not [e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY"]
    (failure,) = [
        e
        for e in result.all_events
        if e.event_type_value == "STEP_FAILURE" and e.step_key == "ingest__survey_exports"
    ]
    description = failure.step_failure_data.user_failure_data.description
    assert description.startswith("RegistryError: ")
    assert str(workspace.registry_file.name) in description
    assert "not retried" in description


def test_only_transient_errors_reach_the_retry_policy():
    def failing(error: Exception):
        @retry_transient_errors_only
        def compute():
            raise error

        return compute

    for transient in (OSError("disk busy"), FileNotFoundError("being copied")):
        with pytest.raises(type(transient)):
            failing(transient)()
    with pytest.raises(dg.Failure) as failure:
        failing(KeyError("instrument_id"))()
    assert failure.value.allow_retries is False
    assert failure.value.description.startswith("KeyError: 'instrument_id'")
