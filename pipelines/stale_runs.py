"""Runs whose process died: marked failed, so that the daemon launches runs again.

A run's end is written by the process executing it. Killed outright (SIGKILL, out of memory, a
reboot), that process never writes it, and the run stays STARTED for ever; with
max_concurrent_runs: 1 the daemon then launches no schedule, sensor or UI run again. Dagster's
run monitoring cannot see it: the local run launcher of `dagster dev` cannot check a run
worker's health, and `coprod run` executes its runs in its own process, with no launcher.

The rule: a run is dead when the process executing it no longer exists. Every run names that
process: `coprod run` tags its runs with its pid (RUN_PID_TAG), and a run launched by the daemon
or the UI logs "Started process for run (pid: N)" before it starts. The warehouse lock proves
nothing here: such a run takes the lock when its resources start, after it is STARTED, so a
live one may be waiting for the lock `coprod run` holds. A run with no pid yet (STARTING: its
process is not up) is left to run monitoring's start timeout. A dead run's pid taken by a new
process reads as alive: that leaves a dead run for a later check, and never fails a live one.
Pids are this machine's: the instance is the local one (SQLite under DAGSTER_HOME), whose runs
all execute here.
"""

from __future__ import annotations

import datetime as dt
import os

import dagster as dg

RUN_PID_TAG = "coprod/pid"
_UNFINISHED = [
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def fail_dead_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark failed every unfinished run whose process has died; return their run ids."""
    found_at = dt.datetime.now().astimezone().isoformat(timespec="seconds")
    failed = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=_UNFINISHED)):
        pid = _pid_of(instance, run)
        if pid is None or _alive(pid):
            continue
        instance.report_run_failed(
            run,
            f"The process running this run (pid {pid}) died (found by coprod run at "
            f"{found_at}); marked failed so schedules and sensors run again.",
        )
        failed.append(run.run_id)
    return failed


def _pid_of(instance: dg.DagsterInstance, run: dg.DagsterRun) -> int | None:
    if RUN_PID_TAG in run.tags:
        return int(run.tags[RUN_PID_TAG])
    for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT):
        pid = entry.dagster_event.engine_event_data.metadata.get("pid")
        if pid is not None:
            return int(pid.value)
    return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:  # it exists, under another user
        return True
    return True
