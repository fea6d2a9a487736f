"""When the pipeline runs by itself: every night, and whenever a new export lands in the inbox."""

import hashlib
import json

import dagster as dg

from pipelines.defs.jobs import full_run_job
from pipelines.defs.resources import CoprodSettings
from pipelines.file_state import KnownHash
from pipelines.ingest.archive import arrived_files

nightly_schedule = dg.ScheduleDefinition(
    name="nightly_full_run",
    job=full_run_job,
    cron_schedule="0 2 * * *",
    execution_timezone="Europe/London",
    description="02:00 London time: everything downstream of whatever arrived during the day.",
    default_status=dg.DefaultScheduleStatus.STOPPED,
)


@dg.sensor(
    job=full_run_job,
    minimum_interval_seconds=60,
    description="Starts a run when an export with new content (by sha256) lands in the inbox, "
    "or a coding sheet in data/coding/.",
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def inbox_sensor(context: dg.SensorEvaluationContext, coprod: CoprodSettings):
    cursor = json.loads(context.cursor) if context.cursor else {}
    if isinstance(cursor, list):  # the cursor's earlier form: the shas seen
        cursor = {"seen": cursor}
    seen = set(cursor.get("seen", []))
    # Files whose size and time are unchanged since the last tick are not read again.
    known = {path: KnownHash(*entry) for path, entry in cursor.get("stat", {}).items()}
    # A coding sheet returned into data/coding/ starts a run too: its codes change the marts.
    settings = coprod.settings
    arrived = arrived_files((*settings.inbox_dirs, settings.coding_dir), known)
    stat = {str(a.path): [a.size, a.mtime_ns, a.sha256] for a in arrived}
    new = [a for a in arrived if a.sha256 not in seen]
    if not new:
        context.update_cursor(json.dumps({"seen": sorted(seen), "stat": stat}))
        return dg.SkipReason(f"No new export among {len(arrived)} file(s) in the inbox.")
    seen |= {a.sha256 for a in new}
    context.update_cursor(json.dumps({"seen": sorted(seen), "stat": stat}))
    shas = "".join(sorted(a.sha256 for a in new))
    return dg.RunRequest(
        run_key=hashlib.sha256(shas.encode()).hexdigest()[:16],
        tags={
            "coprod/trigger": "inbox",
            "coprod/new_files": ", ".join(a.path.name for a in new)[:900],
        },
    )
