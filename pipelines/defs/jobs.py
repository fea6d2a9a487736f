"""The job every trigger runs: the CLI, the nightly schedule, the inbox sensor."""

import contextlib
import functools
import inspect
from collections.abc import Callable

import dagster as dg
import duckdb

# Every asset writes the one DuckDB warehouse, which allows a single writer: run in one process,
# one step at a time. Ingest is incremental per file, so a run with nothing new is cheap.
full_run_job = dg.define_asset_job(
    "coprod_full_run",
    selection=dg.AssetSelection.all(),
    description="Ingest every inbox file, validate, build the dbt models, gate and publish.",
    executor_def=dg.in_process_executor,
)

# Transient failures (a file still being copied into the inbox, a busy disk) deserve another
# try; a failed quality gate does not, so retries sit on ingest and the dbt build only, and
# only for the errors below (retry_transient_errors_only): a failed dbt model or test, a wrong
# registry or a bug fails the step at once.
TRANSIENT_RETRY = dg.RetryPolicy(max_retries=2, delay=15, backoff=dg.Backoff.EXPONENTIAL)

# What may succeed when tried again: the file system (a file still being copied, a full or busy
# disk) and DuckDB's file lock held by another process. Anything else (a wrong registry or key,
# a bug) fails the same way on every try.
TRANSIENT_ERRORS = (OSError, duckdb.IOException)


def retry_transient_errors_only(compute: Callable) -> Callable:
    """A RetryPolicy retries a step on any exception: this passes only transient errors to it
    and fails the step at once on any other, with the error's type and message. Works for
    assets that return and for assets that yield (the dbt build)."""

    @contextlib.contextmanager
    def only_transient_errors_retried():
        try:
            yield
        except (*TRANSIENT_ERRORS, dg.Failure):
            raise
        except Exception as error:
            raise dg.Failure(
                description=f"{type(error).__name__}: {error} (not retried: it would fail the "
                "same way again)",
                allow_retries=False,
            ) from error

    if inspect.isgeneratorfunction(compute):

        @functools.wraps(compute)
        def yield_once_unless_transient(*args, **kwargs):
            with only_transient_errors_retried():
                yield from compute(*args, **kwargs)

        return yield_once_unless_transient

    @functools.wraps(compute)
    def compute_once_unless_transient(*args, **kwargs):
        with only_transient_errors_retried():
            return compute(*args, **kwargs)

    return compute_once_unless_transient
