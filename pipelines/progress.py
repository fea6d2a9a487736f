"""What `coprod run` shows while it runs: one line per phase as it starts and ends, the gates'
results, and the time of every phase at the end. Dagster's own log (every event, dbt's output)
stays in the run's history and in the UI."""

from __future__ import annotations

import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import TextIO

import dagster as dg

# Dagster step -> the phase a person recognises.
PHASES = {
    "ingest__survey_exports": "ingest",
    "registry_tables": "registry",
    "validated_tables": "validate",
    "review__rejected_rows_csv": "review sheets",
    "validated__analyst_codes": "analyst codes",
    "coprod_dbt_models": "dbt build",
    "review__open_answers_to_code": "coding sheet",
    "publish__staged_marts": "stage marts",
    "gx_publication_gates": "Great Expectations gates",
    "publish__staged_marts_published_partitions_kept": "partition gate",
    "publish__organisation_reports": "reports",
    "publish__published_marts": "publish",
}
# A step logs "progress: <what>" to have <what> shown on the command line.
PROGRESS_PREFIX = "progress: "
# Checks worth a line of their own: the gates and the ingest warning, not the ~80 dbt tests.
_REPORTED_CHECKS = ("gx_", "published_partitions_kept", "no_file_set_aside")


# Where phase lines go: the stdout `coprod run` had before it sent the run's own output (dbt's,
# echoed by dagster-dbt) to the log file; the process's stdout when no run set it.
_terminal: TextIO | None = None


@contextlib.contextmanager
def phase_lines_to(stream: TextIO) -> Iterator[None]:
    global _terminal
    previous, _terminal = _terminal, stream
    try:
        yield
    finally:
        _terminal = previous


class _PhaseLines(logging.Handler):
    @property
    def stream(self) -> TextIO:
        return _terminal or sys.__stdout__

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", {})
        event = meta.get("dagster_event")
        message = meta.get("orig_message") or ""
        if event is not None:
            line = describe_event(event)
        elif message.startswith(PROGRESS_PREFIX):  # a step's own progress (files read, say)
            line = "  " + message.removeprefix(PROGRESS_PREFIX)
        else:
            line = None
        if line:
            self.stream.write(line + "\n")
            self.stream.flush()


def describe_event(event: dg.DagsterEvent) -> str | None:
    """The line a person sees for a Dagster event, or None for the many they need not."""
    phase = PHASES.get(event.step_key or "")
    kind = event.event_type_value
    if kind == "ASSET_CHECK_EVALUATION":
        check = event.event_specific_data
        if check.check_name.startswith(_REPORTED_CHECKS):
            verdict = "passed" if check.passed else "FAILED"
            if not check.passed and check.severity.value == "WARN":
                verdict = "warning"
            return f"  check {check.check_name}: {verdict}"
        return None
    if phase is None:
        return None
    if kind == "STEP_START":
        return f"{phase}..."
    if kind == "STEP_SUCCESS":
        return f"{phase}: done in {event.event_specific_data.duration_ms / 1000:.1f} s"
    if kind == "STEP_FAILURE":
        return f"{phase}: FAILED (details below and in the Dagster UI)"
    if kind == "STEP_SKIPPED":
        return f"{phase}: skipped (an earlier step failed or a gate blocked it)"
    return None


@dg.logger(description="One line per pipeline phase, for the command line (coprod run).")
def phase_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.getLogger("coprod.progress")
    logger.setLevel(logging.DEBUG)  # events arrive at DEBUG; describe_event picks the few
    logger.handlers = [_PhaseLines()]
    logger.propagate = False
    return logger


def phase_timings(result: dg.ExecuteInProcessResult) -> list[tuple[str, float]]:
    """Seconds per phase that ran, in the order they ended."""
    return [
        (PHASES[event.step_key], event.event_specific_data.duration_ms / 1000)
        for event in result.all_events
        if event.event_type_value == "STEP_SUCCESS" and event.step_key in PHASES
    ]
