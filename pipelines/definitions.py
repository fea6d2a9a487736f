"""The Dagster code location: assembles assets, checks, jobs and resources. Nothing else."""

from __future__ import annotations

import sys
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource

from pipelines.defs.ingest import (
    registry_tables,
    review_lists,
    survey_exports,
    validated_responses,
)
from pipelines.defs.publish import gx_publication_gates, published_marts, staged_marts
from pipelines.defs.transform import coprod_dbt_models, dbt_project

ALL_ASSETS = [survey_exports, registry_tables, validated_responses, review_lists, coprod_dbt_models,
              staged_marts, published_marts]

# Every asset writes the one DuckDB warehouse, which allows a single writer: run in one process,
# one step at a time.
full_refresh_job = dg.define_asset_job(
    "coprod_full_run",
    selection=dg.AssetSelection.all(),
    description="Ingest every inbox file, validate, build the dbt models, gate and publish.",
    executor_def=dg.in_process_executor,
)

defs = dg.Definitions(
    assets=ALL_ASSETS,
    asset_checks=[gx_publication_gates],
    jobs=[full_refresh_job],
    # dbt from this environment, whether or not the virtual environment is activated.
    resources={"dbt": DbtCliResource(project_dir=dbt_project,
                                     dbt_executable=str(Path(sys.executable).parent / "dbt"))},
)
