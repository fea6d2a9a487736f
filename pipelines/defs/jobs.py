"""The job every trigger runs: the CLI, the nightly schedule, the inbox sensor."""

import dagster as dg

# Every asset writes the one DuckDB warehouse, which allows a single writer: run in one process,
# one step at a time. Ingest is incremental per file, so a run with nothing new is cheap.
full_run_job = dg.define_asset_job(
    "coprod_full_run",
    selection=dg.AssetSelection.all(),
    description="Ingest every inbox file, validate, build the dbt models, gate and publish.",
    executor_def=dg.in_process_executor,
)

# Transient failures (a file still being copied into the inbox, a busy disk) deserve another
# try; a failed quality gate does not, so retries sit on ingest and the dbt build only.
TRANSIENT_RETRY = dg.RetryPolicy(max_retries=2, delay=15, backoff=dg.Backoff.EXPONENTIAL)
