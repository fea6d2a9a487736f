"""The breakdowns of ref_breakdowns.csv, checked before a run: the cells, the suppression
families, the Great Expectations value set and the report panels are all read from that file
(README: Breakdowns), so a mistake in it stops `coprod check` and `coprod run` with exit 2
rather than a failed dbt test half-way through a build."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl

from pipelines.config_file import Problem

SERVICE_LEVELS = ("organisation", "service")
GROUP_LEVELS = ("all", "rollup", "group")
# report_panel -> the service_level it is drawn for
REPORT_PANELS = {"measure_rows": "organisation", "service_columns": "service"}
COLUMNS = ("breakdown", "label", "service_level", "group_level", "report_panel")
BREAKDOWN_ID = re.compile(r"[a-z][a-z0-9_]{0,62}")


def breakdown_problems(path: Path) -> list[Problem]:
    """Every mistake in the file, each naming its line and what to write instead."""
    frame = pl.read_csv(path, infer_schema=False)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        return [Problem(path, 1, f"the header lacks {', '.join(missing)}: see the README.")]
    problems, ids, levels = [], set(), set()
    for line, row in enumerate(frame.iter_rows(named=True), start=2):
        breakdown = row["breakdown"] or ""
        if not BREAKDOWN_ID.fullmatch(breakdown):
            problems.append(
                Problem(path, line, "breakdown must be lower-case letters, digits and _.")
            )
        elif breakdown in ids:
            problems.append(Problem(path, line, "this breakdown is declared twice."))
        ids.add(breakdown)
        if not row["label"]:
            problems.append(Problem(path, line, "label is empty: the report captions with it."))
        if row["service_level"] not in SERVICE_LEVELS:
            problems.append(Problem(path, line, "service_level must be organisation or service."))
        if row["group_level"] not in GROUP_LEVELS:
            problems.append(Problem(path, line, "group_level must be all, rollup or group."))
        pair = (row["service_level"], row["group_level"])
        if pair in levels:
            problems.append(
                Problem(path, line, "another breakdown has the same service_level and group_level.")
            )
        levels.add(pair)
        panel = row["report_panel"]
        if panel and REPORT_PANELS.get(panel, row["service_level"]) != row["service_level"]:
            problems.append(
                Problem(
                    path,
                    line,
                    "report_panel measure_rows is for service_level organisation, "
                    "service_columns for service_level service.",
                )
            )
        elif panel and panel not in REPORT_PANELS:
            problems.append(
                Problem(path, line, "report_panel must be measure_rows, service_columns or empty.")
            )
    return problems
