"""Where things live and the few knobs an operator may turn, each with an embedded default.

Every path can be overridden by an environment variable so tests and deployments can point the
pipeline elsewhere without touching code. Defaults keep everything inside the repository.
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# Read once at import: the dbt project (and the reference data it holds) is part of the code
# location. Overridable so a copy with edited reference files can be run as it is.
DBT_PROJECT_DIR = Path(
    os.environ.get("COPROD_DBT_PROJECT_DIR", REPO_ROOT / "dbt_project")
).resolve()
REFERENCE_DIR = DBT_PROJECT_DIR / "seeds"
EXPECTATIONS_DIR = REPO_ROOT / "expectations"

# The development key is public (it is in this file): fine for bundled samples, never for real
# data, where an operator sets COPROD_HASH_KEY and keeps it apart from the data.
DEVELOPMENT_HASH_KEY = "coprod-development-key-not-for-real-data"


class SettingsError(ValueError):
    """An environment variable holds a value the pipeline cannot use (exit 2, nothing run)."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path
    inbox_dirs: tuple[Path, ...]
    registry_file: Path
    warehouse: Path
    marts_dir: Path
    publications_dir: Path
    archive_dir: Path
    quarantine_dir: Path
    # Coding sheets an analyst filled in (data/review/open_answers_to_code.xlsx) are dropped here.
    coding_dir: Path
    # Great Expectations' validation results and the Data Docs drawn from them (data_docs/).
    gx_results_dir: Path
    redaction_names_file: Path
    max_rejected_share: float
    # A dbt build recomputing partitions holding more current responses than this is split into
    # batches of about this many, so its memory follows the batch and not the history.
    dbt_batch_responses: int
    # Submission times before this are rejected as typing or clock errors (COPROD_EARLIEST_DATE).
    earliest_submission: dt.datetime
    # A published (organisation, wave) may not fall below this share of its responses unless
    # the registry retires it (COPROD_MIN_PARTITION_SHARE).
    min_partition_share: float
    hash_key: bytes = field(repr=False)  # a secret: never printed with the settings
    uses_development_key: bool = False


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The settings from the environment (or `environ`), or a SettingsError naming the variable
    to fix. The one place the pipeline reads its environment."""
    env = Environment(os.environ if environ is None else environ)
    data_dir = env.path("COPROD_DATA_DIR", REPO_ROOT / "data")
    inbox = env.get("COPROD_INBOX")
    inbox_dirs = (
        tuple(Path(p).resolve() for p in inbox.split(os.pathsep) if p)
        if inbox
        else (data_dir / "samples", data_dir / "inbox")
    )
    return Settings(
        data_dir=data_dir,
        inbox_dirs=inbox_dirs,
        registry_file=env.path("COPROD_REGISTRY", data_dir / "sources.yml"),
        warehouse=env.path("COPROD_WAREHOUSE", data_dir / "warehouse.duckdb"),
        marts_dir=env.path("COPROD_MARTS_DIR", data_dir / "marts"),
        publications_dir=env.path("COPROD_PUBLICATIONS_DIR", data_dir / "publications"),
        archive_dir=env.path("COPROD_ARCHIVE_DIR", data_dir / "archive"),
        quarantine_dir=env.path("COPROD_QUARANTINE_DIR", data_dir / "quarantine"),
        coding_dir=env.path("COPROD_CODING_DIR", data_dir / "coding"),
        gx_results_dir=env.path("COPROD_GX_RESULTS_DIR", data_dir / "gx_results"),
        redaction_names_file=env.path("COPROD_REDACTION_NAMES", data_dir / "redaction_names.txt"),
        max_rejected_share=env.number("COPROD_MAX_REJECTED_SHARE", "0.5", float, 0, 1),
        dbt_batch_responses=env.number("COPROD_DBT_BATCH_RESPONSES", "1500000", int, 1),
        earliest_submission=env.date("COPROD_EARLIEST_DATE", "2000-01-01"),
        min_partition_share=env.number("COPROD_MIN_PARTITION_SHARE", "0.5", float, 0, 1),
        hash_key=env.hash_key(),
        uses_development_key="COPROD_HASH_KEY" not in env.values,
    )


@dataclass(frozen=True)
class Environment:
    """Typed reads of COPROD_* variables, each refusal naming the variable and its form."""

    values: Mapping[str, str]

    def get(self, name: str) -> str | None:
        return self.values.get(name)

    def path(self, name: str, default: Path) -> Path:
        value = self.values.get(name)
        return Path(value).resolve() if value else default

    def number(self, name: str, default: str, kind: type, low: float, high: float | None = None):
        raw = self.values.get(name, default)
        try:
            value = kind(raw)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            bounds = f"between {low} and {high}" if high is not None else f"of at least {low}"
            whole = "whole " if kind is int else ""
            raise SettingsError(f"{name} must be a {whole}number {bounds} (default {default}).")
        return value

    def date(self, name: str, default: str) -> dt.datetime:
        try:
            return dt.datetime.fromisoformat(self.values.get(name, default)).replace(tzinfo=dt.UTC)
        except ValueError:
            raise SettingsError(
                f"{name} must be a date written YYYY-MM-DD (default {default})."
            ) from None

    def hash_key(self) -> bytes:
        key = self.values.get("COPROD_HASH_KEY", DEVELOPMENT_HASH_KEY)
        if not key:
            raise SettingsError(
                "COPROD_HASH_KEY is set but empty: set the secret key, or unset it to use the "
                "public development key (bundled samples only)."
            )
        return key.encode()
