"""A private workspace per test: its own inbox, registry, warehouse, archive and marts.

Tests run the real Dagster job (pandera, dbt against DuckDB, Great Expectations) in process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
import yaml

from pipelines.dbt_manifest import ensure_dbt_manifest
from pipelines.quality_gates import data_docs_index
from pipelines.settings import DBT_PROJECT_DIR, REPO_ROOT

SAMPLES = REPO_ROOT / "data" / "samples"


@pytest.fixture(scope="session", autouse=True)
def dbt_manifest() -> None:
    """dagster-dbt reads the manifest when the code location is imported."""
    ensure_dbt_manifest()


@dataclass
class Workspace:
    root: Path
    inbox: Path
    registry_file: Path

    @property
    def warehouse(self) -> Path:
        return self.root / "warehouse.duckdb"

    @property
    def marts(self) -> Path:
        return self.root / "marts"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def data_docs(self) -> Path:
        """The index page of this workspace's Great Expectations Data Docs."""
        return data_docs_index(self.root / "gx_results")

    def register(self, organisations: list[dict], exports: list[dict]) -> None:
        self.registry_file.write_text(
            yaml.safe_dump({"organisations": organisations, "exports": exports}, sort_keys=False)
        )

    def drop(self, name: str, content: bytes | str) -> Path:
        path = self.inbox / name
        path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
        return path

    def run(self) -> dg.ExecuteInProcessResult:
        from pipelines.definitions import defs

        return defs.resolve_job_def("coprod_full_run").execute_in_process(
            instance=dg.DagsterInstance.ephemeral(), raise_on_error=False
        )

    def published_files(self) -> dict[str, bytes]:
        """Every published file (marts, manifest, reports) by its path inside data/marts."""
        return {
            str(p.relative_to(self.marts)): p.read_bytes()
            for p in sorted(self.marts.rglob("*"))
            if p.is_file()
        }

    def mart(self, name: str) -> pl.DataFrame:
        return pl.read_parquet(self.marts / f"{name}.parquet")

    def query(self, sql: str) -> pl.DataFrame:
        with duckdb.connect(str(self.warehouse), read_only=True) as con:
            return pl.from_arrow(con.sql(sql).to_arrow_table())


def open_workspace(root: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    """Point every setting at a fresh folder: nothing a test does touches the repository's data."""
    inbox = root / "inbox"
    inbox.mkdir(parents=True)
    registry = root / "sources.yml"
    monkeypatch.setenv("COPROD_DATA_DIR", str(root))
    monkeypatch.setenv("COPROD_INBOX", str(inbox))
    monkeypatch.setenv("COPROD_REGISTRY", str(registry))
    monkeypatch.setenv("COPROD_WAREHOUSE", str(root / "warehouse.duckdb"))
    monkeypatch.setenv("COPROD_REDACTION_NAMES", str(REPO_ROOT / "data" / "redaction_names.txt"))
    monkeypatch.setenv("DAGSTER_HOME", str(root.parent / "dagster_home"))
    monkeypatch.setenv("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    monkeypatch.delenv("COPROD_HASH_KEY", raising=False)
    return Workspace(root=root, inbox=inbox, registry_file=registry)


def copy_samples(workspace: Workspace) -> Workspace:
    """The bundled samples and their registry, copied into the workspace."""
    for path in SAMPLES.iterdir():
        shutil.copy(path, workspace.inbox / path.name)
    shutil.copy(REPO_ROOT / "data" / "sources.yml", workspace.registry_file)
    return workspace


def copy_dbt_project(folder: Path) -> Path:
    """A copy of the dbt project (with its reference data) for a test to edit."""
    project = folder / "dbt_project"
    shutil.copytree(DBT_PROJECT_DIR, project, ignore=shutil.ignore_patterns("target", "logs"))
    return project


def run_with_project(project: Path, expected_exit: int = 0) -> subprocess.CompletedProcess:
    """`coprod run` in a fresh process against an edited copy of the dbt project (the project
    folder is part of the code location, read once at import)."""
    run = subprocess.run(
        [sys.executable, "-m", "pipelines.cli", "run"],
        capture_output=True,
        text=True,
        env={**os.environ, "COPROD_DBT_PROJECT_DIR": str(project)},
        timeout=600,
    )
    assert run.returncode == expected_exit, run.stdout[-3000:] + run.stderr[-3000:]
    return run


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    return open_workspace(tmp_path / "data", monkeypatch)


@pytest.fixture(scope="module")
def module_monkeypatch():
    """For module-scoped workspaces: one pipeline run shared by a module's tests."""
    patch = pytest.MonkeyPatch()
    yield patch
    patch.undo()


@pytest.fixture
def sample_workspace(workspace: Workspace) -> Workspace:
    return copy_samples(workspace)
