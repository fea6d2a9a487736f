"""Great Expectations gates run on the staged marts before they may be published.

The suites are declarative JSON in expectations/gx/expectations/ (one per published mart).
Values known only at run time are passed as suite parameters: the organisation, service and
group codes the registry declares, the minimum cell size, and a row-count floor of half the
previous publication (a mart that suddenly collapses is held back for a person to look at).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pandas as pd

from pipelines.settings import EXPECTATIONS_DIR

DATA_DOCS_INDEX = (
    EXPECTATIONS_DIR / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
)


@dataclass(frozen=True)
class GateResult:
    mart: str
    passed: bool
    evaluated: int
    failures: list[dict] = field(default_factory=list)
    documents: tuple = ()  # the GX identifiers of this validation and its suite, for Data Docs


@cache
def _context():
    import great_expectations as gx

    return gx.get_context(mode="file", project_root_dir=str(EXPECTATIONS_DIR))


def row_count_floor(previous_rows: int | None) -> int:
    return math.ceil(previous_rows * 0.5) if previous_rows else 0


def run_gate(mart: str, parquet: Path, parameters: dict) -> GateResult:
    frame = pd.read_parquet(parquet)
    checkpoint = _context().checkpoints.get(f"publish_{mart}")
    outcome = checkpoint.run(
        batch_parameters={"dataframe": frame}, expectation_parameters=parameters
    )
    failures, evaluated = [], 0
    for validation in outcome.run_results.values():
        for result in validation.results:
            evaluated += 1
            if not result.success:
                config = result.expectation_config
                failures.append(
                    {
                        "expectation": config.type,
                        "column": config.kwargs.get("column") or config.kwargs.get("column_list"),
                        "unexpected_count": result.result.get("unexpected_count"),
                        "observed_value": result.result.get("observed_value"),
                        "examples": [
                            str(v) for v in (result.result.get("partial_unexpected_list") or [])[:5]
                        ],
                    }
                )
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    documents = (*outcome.run_results, ExpectationSuiteIdentifier(name=mart))
    return GateResult(mart, outcome.success, evaluated, failures, documents)


def update_data_docs(results: list[GateResult]) -> None:
    """Render this run's validations into Data Docs, once for all gates (the checkpoints carry
    no docs action: rebuilding the site's index after each gate cost seconds per run)."""
    _context().build_data_docs(resource_identifiers=[d for r in results for d in r.documents])
