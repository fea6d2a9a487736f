"""Runs that start by themselves: the inbox sensor, the nightly schedule, and the lock that keeps
them from overlapping with anyone else's run."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from zoneinfo import ZoneInfo

import dagster as dg

from pipelines.defs.automation import inbox_sensor, nightly_schedule
from pipelines.defs.resources import CoprodSettings
from pipelines.run_lock import warehouse_lock


def test_a_new_export_starts_a_run_and_a_seen_one_does_not(workspace):
    workspace.drop("first.csv", b"respondent_id\n1\n")
    settings = {"coprod": CoprodSettings()}  # from the workspace's environment
    with dg.instance_for_test() as instance:
        context = dg.build_sensor_context(instance=instance, resources=settings)
        request = inbox_sensor(context)
        assert isinstance(request, dg.RunRequest)
        assert request.tags["coprod/new_files"] == "first.csv"

        seen = dg.build_sensor_context(instance=instance, cursor=context.cursor, resources=settings)
        assert isinstance(inbox_sensor(seen), dg.SkipReason)

        # New bytes under a known name are a new export; the run key differs from the first.
        workspace.drop("first.csv", b"respondent_id\n1\n2\n")
        changed = dg.build_sensor_context(
            instance=instance, cursor=context.cursor, resources=settings
        )
        again = inbox_sensor(changed)
        assert isinstance(again, dg.RunRequest) and again.run_key != request.run_key


def test_the_nightly_schedule_runs_everything_at_two_in_the_morning_london_time():
    assert nightly_schedule.cron_schedule == "0 2 * * *"
    assert nightly_schedule.execution_timezone == "Europe/London"
    assert nightly_schedule.job_name == "coprod_full_run"
    london = ZoneInfo("Europe/London")
    for night in (
        dt.datetime(2026, 1, 15, 2, tzinfo=london),  # GMT
        dt.datetime(2026, 7, 15, 2, tzinfo=london),  # BST
    ):
        # No instance: a stale instance left on shared definitions would break later tests.
        context = dg.build_schedule_context(scheduled_execution_time=night)
        requests = nightly_schedule.evaluate_tick(context).run_requests
        assert len(requests) == 1


def test_a_second_writer_waits_for_the_first(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            (
                "import sys, time; from pathlib import Path; from pipelines.run_lock import warehouse_lock\n"
                f"with warehouse_lock(Path({str(tmp_path)!r})):\n"
                "    print('held', flush=True); time.sleep(2)\n"
            ),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    waited = []
    started = time.monotonic()
    # re-entrant in one process: the job's resource asks again while the CLI holds it
    with warehouse_lock(tmp_path, on_wait=lambda: waited.append(True)), warehouse_lock(tmp_path):
        elapsed = time.monotonic() - started
    holder.wait(timeout=10)
    assert waited == [True]
    assert elapsed > 1.0
