"""The module boundaries issue 15 asked for, kept by a test rather than by memory: ingest and
publication never import each other, and no asset reads settings or the environment itself
(they come from the CoprodSettings and Warehouse resources, pipelines/defs/resources.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from pipelines.settings import REPO_ROOT

PIPELINES = REPO_ROOT / "pipelines"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_publication_never_imports_ingest():
    assert not {m for m in imported_modules(PIPELINES / "publication.py") if "ingest" in m}


@pytest.mark.parametrize("path", sorted((PIPELINES / "ingest").glob("*.py")), ids=lambda p: p.name)
def test_ingest_never_imports_publication(path):
    assert not {m for m in imported_modules(path) if m.startswith("pipelines.publi")}


# Only the resources module builds settings (from the environment, once per run).
ASSET_MODULES = sorted(p for p in (PIPELINES / "defs").glob("*.py") if p.name != "resources.py")


@pytest.mark.parametrize("path", ASSET_MODULES, ids=lambda p: p.name)
def test_no_asset_reads_settings_or_the_environment_itself(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    attributes = {
        f"{n.value.id}.{n.attr}"
        for n in ast.walk(tree)
        if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
    }
    assert "load_settings" not in names
    assert not {"os.environ", "os.getenv", "os.putenv"} & attributes


def test_the_check_finds_what_it_looks_for(tmp_path):
    """The checks above can fail: a module importing across the line is seen."""
    module = tmp_path / "crossing.py"
    module.write_text("from pipelines.ingest.validation import x\nimport pipelines.publication\n")
    assert imported_modules(module) == {"pipelines.ingest.validation", "pipelines.publication"}
