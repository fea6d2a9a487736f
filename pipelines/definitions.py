"""The Dagster code location: assembles assets, checks, jobs and resources. Nothing else."""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg

from pipelines.defs.automation import inbox_sensor, nightly_schedule
from pipelines.defs.coding import analyst_codes, open_answers_to_code
from pipelines.defs.ingest import (
    registry_tables,
    review_lists,
    survey_exports,
    validated_tables,
)
from pipelines.defs.jobs import full_run_job
from pipelines.defs.publish import (
    gx_publication_gates,
    organisation_reports,
    published_marts,
    published_partitions_kept,
    staged_marts,
)
from pipelines.defs.resources import CoprodSettings, Warehouse
from pipelines.defs.transform import CoprodDbtCli, coprod_dbt_models, dbt_project
from pipelines.progress import phase_logger

ALL_ASSETS = [
    survey_exports,
    registry_tables,
    validated_tables,
    analyst_codes,
    review_lists,
    coprod_dbt_models,
    open_answers_to_code,
    staged_marts,
    organisation_reports,
    published_marts,
]

# One team owns every asset: set here once, for Python and dbt assets alike.
OWNER = "team:data-engineering"
# Read from the environment when a run starts; every asset gets its settings from here.
SETTINGS = CoprodSettings()

defs = dg.Definitions(
    assets=dg.map_asset_specs(lambda spec: spec.replace_attributes(owners=[OWNER]), ALL_ASSETS),
    asset_checks=[gx_publication_gates, published_partitions_kept],
    jobs=[full_run_job],
    schedules=[nightly_schedule],
    sensors=[inbox_sensor],
    loggers={"console": dg.colored_console_logger, "phases": phase_logger},
    # dbt from this environment, whether or not the virtual environment is activated.
    resources={
        "coprod": SETTINGS,
        "warehouse": Warehouse(coprod=SETTINGS),
        "dbt": CoprodDbtCli(
            project_dir=dbt_project, dbt_executable=str(Path(sys.executable).parent / "dbt")
        ),
    },
)
