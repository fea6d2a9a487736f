"""Great Expectations gates run on the staged marts before they may be published.

The suites are declarative JSON in expectations/gx/expectations/ (one per published mart).
Values known only at run time are passed as suite parameters: the organisation, service and
group codes the registry declares, the minimum cell size, and a row-count floor of half the
previous publication (a mart that suddenly collapses is held back for a person to look at).

A gate validates the rows that differ from the published mart (new or changed), when that mart
was gated by the same suite with the same parameters (the gate fingerprint in its manifest):
the other rows passed these very expectations when they were published. The row-count floor
then applies to the whole mart (changed rows plus unchanged ones), and uniqueness across the
whole mart is also a dbt test of every build. Any change to a suite or its parameters, or no
earlier publication, validates every row.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from dataclasses import dataclass, field
from functools import cache
from importlib.metadata import version
from pathlib import Path

import duckdb
import pandas as pd

from pipelines.settings import EXPECTATIONS_DIR

SUITES_DIR = EXPECTATIONS_DIR / "gx" / "expectations"


def data_docs_index(results_dir: Path) -> Path:
    """The Data Docs of the validations stored in `results_dir` (settings.gx_results_dir)."""
    return results_dir / "data_docs" / "index.html"


def validations_store(results_dir: Path) -> Path:
    """GX's validation results store (great_expectations.yml): what the Data Docs index lists."""
    return results_dir / "validations"


@dataclass(frozen=True)
class GateResult:
    mart: str
    passed: bool
    evaluated: int
    failures: list[dict] = field(default_factory=list)
    documents: tuple = ()  # the GX identifiers of this validation and its suite, for Data Docs
    rows_validated: int = 0
    rows_unchanged: int = 0  # rows identical to the published mart, not validated again


def gate_fingerprint(mart: str, parameters: dict) -> str:
    """What decides a gate's verdict on a row: its suite, the suite parameters (less the
    row-count floor, which is about the whole mart) and the GX version."""
    shared = {k: v for k, v in parameters.items() if k != "min_row_count"}
    digest = hashlib.sha256((SUITES_DIR / f"{mart}.json").read_bytes())
    digest.update(json.dumps(shared, sort_keys=True, default=str).encode())
    digest.update(version("great_expectations").encode())
    return digest.hexdigest()


_CONTEXT_LOCK = threading.Lock()


def _context(results_dir: Path):
    with _CONTEXT_LOCK:  # loaded once per results folder, whichever thread asks first
        return _load_context(results_dir.resolve())


@cache
def _load_context(results_dir: Path):
    """The suites and checkpoints of expectations/gx, storing results in `results_dir`: each
    workspace keeps its own validation history and Data Docs beside its data."""
    import great_expectations as gx

    return gx.get_context(
        mode="file",
        project_root_dir=str(EXPECTATIONS_DIR),
        runtime_environment={"coprod_gx_results_dir": str(results_dir)},
    )


def prepare_in_background(results_dir: Path) -> None:
    """Import Great Expectations and load its project (about 3 s) in a thread of this process
    while it waits for another one (dbt), so that the gates do not pay for it on every run."""
    threading.Thread(target=_context, args=(results_dir,), daemon=True, name="gx-prepare").start()


def row_count_floor(previous_rows: int | None) -> int:
    return math.ceil(previous_rows * 0.5) if previous_rows else 0


def _rows_to_validate(parquet: Path, published: Path | None) -> tuple[pd.DataFrame, int]:
    """The staged rows not in the published mart, and how many rows are unchanged. A mart whose
    columns changed since it was published is validated whole."""
    import pyarrow.parquet as pq

    if published is None or not pq.read_schema(parquet).equals(pq.read_schema(published)):
        return pd.read_parquet(parquet), 0
    with duckdb.connect() as con:
        con.execute("set enable_progress_bar = false")
        staged = f"read_parquet('{parquet}')"
        changed = con.execute(
            f"select * from {staged} except all select * from read_parquet('{published}')"
        ).df()
        total = con.execute(f"select count(*) from {staged}").fetchone()[0]
    return changed, total - len(changed)


def run_gate(
    mart: str,
    parquet: Path,
    parameters: dict,
    results_dir: Path,
    published: Path | None = None,
) -> GateResult:
    """Validate the staged mart: every row, or, given the published mart that was gated with
    the same fingerprint, only the rows that differ from it."""
    frame, unchanged = _rows_to_validate(parquet, published)
    if unchanged:  # the floor is about the whole mart: the unchanged rows count towards it
        parameters = {
            **parameters,
            "min_row_count": max(0, parameters["min_row_count"] - unchanged),
        }
    checkpoint = _context(results_dir).checkpoints.get(f"publish_{mart}")
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
    return GateResult(mart, outcome.success, evaluated, failures, documents, len(frame), unchanged)


def update_data_docs(results: list[GateResult], results_dir: Path) -> None:
    """Render this run's validations into Data Docs, once for all gates (the checkpoints carry
    no docs action: rebuilding the site's index after each gate cost seconds per run), then make
    the site readable offline: local Bootstrap, jQuery and Font Awesome instead of CDNs, and an
    index of plain links to every validation result (pipelines/data_docs_offline.py) in place
    of GX's, which lists them with JavaScript and reads every stored result on every build."""
    from pipelines.data_docs_offline import make_offline

    _context(results_dir).build_data_docs(
        resource_identifiers=[d for r in results for d in r.documents], build_index=False
    )
    make_offline(data_docs_index(results_dir).parent, validations_store(results_dir))
