"""The dbt project's manifest, which the Dagster code location reads when it is loaded: parsed
with this environment's dbt whenever it is missing or older than any dbt file."""

from __future__ import annotations

import fcntl
import os
import subprocess
import sys
from pathlib import Path

from pipelines.settings import DBT_PROJECT_DIR, load_settings
from pipelines.warehouse import dbt_warehouse_vars


def ensure_dbt_manifest() -> None:
    """Parse the dbt project when its manifest is missing or older than any dbt file."""
    target = DBT_PROJECT_DIR / "target"
    target.mkdir(exist_ok=True)
    # One parse at a time: test workers (pytest -n) and a run started beside them share it.
    with (target / ".parse.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not _is_current(target / "manifest.json"):
            _parse()


def _is_current(manifest: Path) -> bool:
    sources = [
        p
        for p in DBT_PROJECT_DIR.rglob("*")
        if p.suffix in {".sql", ".yml", ".csv"} and "target" not in p.parts
    ]
    return manifest.exists() and manifest.stat().st_mtime >= max(p.stat().st_mtime for p in sources)


def _parse() -> None:
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    subprocess.run(
        [
            str(Path(sys.executable).parent / "dbt"),
            "parse",
            "--quiet",
            "--project-dir",
            str(DBT_PROJECT_DIR),
            "--profiles-dir",
            str(DBT_PROJECT_DIR),
            # The warehouse the runs will use, named as they name it: a parse made with the same
            # vars lets the first build skip parsing what did not change.
            *dbt_warehouse_vars(load_settings().warehouse),
        ],
        check=True,
    )
