"""The dbt project's SQL keeps one style: sqlfluff with its dbt templater (each model rendered as
dbt renders it, dispatched macros included), DuckDB dialect, rules in dbt_project/.sqlfluff.
The whole project is linted in tests/test_samples.py, against the samples' warehouse (models
that pass columns on by name read them from there while they render); `make lint` does the same
against `make run`'s warehouse."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from pipelines.file_state import ensure_file_state
from pipelines.settings import DBT_PROJECT_DIR
from pipelines.warehouse import connect
from tests.conftest import copy_dbt_project


def sqlfluff(
    tmp_path: Path, warehouse: Path, *paths: str, project: Path = DBT_PROJECT_DIR
) -> subprocess.CompletedProcess:
    """`sqlfluff lint` over `paths` of the dbt project, rendering against `warehouse`."""
    environment = {
        **os.environ,
        "COPROD_WAREHOUSE": str(warehouse),
        "DBT_TARGET_PATH": str(tmp_path / "target"),  # dbt_project/target stays the pipeline's
        "DBT_LOG_PATH": str(tmp_path / "logs"),
    }
    return subprocess.run(
        [str(Path(sys.executable).parent / "sqlfluff"), "lint", *paths, "--processes", "2"],
        cwd=project, env=environment, capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_the_style_check_finds_a_violation(tmp_path):
    """The check can fail: a model selecting unnamed expressions, its keyword in upper case."""
    warehouse = tmp_path / "empty.duckdb"
    with connect(warehouse) as con:
        ensure_file_state(con)
    project = copy_dbt_project(tmp_path)
    model = project / "models" / "staging" / "lint_probe.sql"
    model.write_text("SELECT 1 + 1, 2 * 2\nfrom {{ ref('stg_registry__organisations') }}\n")
    result = sqlfluff(tmp_path, warehouse, "models/staging/lint_probe.sql", project=project)
    assert result.returncode == 1
    assert "AL03" in result.stdout and "CP01" in result.stdout
