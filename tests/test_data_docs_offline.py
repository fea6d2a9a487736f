"""Data Docs an auditor reads offline (pipelines/data_docs_offline.py), without a pipeline run:
a page Great Expectations renders loads nothing from another host once localised, the local
copies it names are installed from the PyPI packages, and the index lists every validation
result as a plain link with its verdict. tests/test_report_browser.py opens the real site in
Chromium after a run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipelines.data_docs_offline import (
    ENTRIES_FILE,
    MARKER,
    OFFLINE_DIR,
    install_assets,
    localise_page,
    make_offline,
    remote_references,
)
from pipelines.settings import EXPECTATIONS_DIR


@pytest.fixture(scope="module")
def gx_page() -> str:
    """An expectation suite page exactly as GX renders it: its head loads every CDN asset GX's
    templates name (Bootstrap, jQuery, popper, Font Awesome, bootstrap-table, Vega...)."""
    from great_expectations.core import ExpectationSuite
    from great_expectations.render.renderer import ExpectationSuitePageRenderer
    from great_expectations.render.view import DefaultJinjaPageView

    stored = json.loads((EXPECTATIONS_DIR / "gx/expectations/mart_measures.json").read_text())
    suite = ExpectationSuite(name=stored["name"], expectations=stored["expectations"])
    return DefaultJinjaPageView().render(ExpectationSuitePageRenderer().render(suite))


def test_a_page_gx_renders_loads_nothing_from_another_host_once_localised(gx_page):
    loaded = remote_references(gx_page)
    assert any("bootstrap.min.css" in url for url in loaded)  # GX's own page needs the network
    assert any("jquery" in url for url in loaded)
    page = localise_page(gx_page, "../", {"logo-long.png", "favicon.ico"})
    assert remote_references(page) == []
    assert page.startswith(MARKER)
    local = f"../{OFFLINE_DIR}"
    assert f'<link rel="stylesheet" href="{local}/bootstrap/bootstrap.min.css">' in page
    assert f'<link rel="stylesheet" href="{local}/font-awesome/css/all.min.css">' in page
    assert f'<script src="{local}/jquery/jquery.min.js"></script>' in page
    assert f'<script src="{local}/bootstrap/bootstrap.bundle.min.js"></script>' in page
    assert f'<link rel="stylesheet" href="{local}/offline.css">' in page
    assert 'src="../static/images/logo-long.png' in page
    assert 'href="../static/images/favicon.ico"' in page
    assert "vega" not in page.lower()  # drawn only for profiling results: dropped
    assert page.count("bootstrap.min.css") == 1  # one Bootstrap, not also bootstrap-table's


def test_every_local_copy_a_page_names_is_installed_from_its_package(gx_page, tmp_path):
    site = tmp_path / "site"
    install_assets(site)
    page = localise_page(gx_page, "", set())
    named = re.findall(rf'(?:href|src)="({OFFLINE_DIR}/[^"]+)"', page)
    assert len(named) == 5
    for path in named:
        assert (site / path).stat().st_size > 1000 or path.endswith("offline.css"), path
    icons = (site / OFFLINE_DIR / "font-awesome/css/all.min.css").read_text()
    fonts = set(re.findall(r"url\(\.\./webfonts/([^)]+)\)", icons))
    assert fonts and all((site / OFFLINE_DIR / "font-awesome/webfonts" / f).exists() for f in fonts)
    for copy in (site / OFFLINE_DIR).rglob("*.*"):
        if copy.suffix in {".css", ".js"}:
            text = copy.read_text(encoding="utf-8")
            assert "sourceMappingURL" not in text and remote_references(text) == [], copy


def _result(store: Path, site: Path, suite: str, run_time: str, success: bool, met: int) -> str:
    key = f"{suite}/__none__/{run_time.replace('-', '').replace(':', '')}/published_marts-{suite}"
    stored = store / f"{key}.json"
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_text(
        json.dumps(
            {
                "success": success,
                "suite_name": suite,
                "statistics": {"evaluated_expectations": 20, "successful_expectations": met},
                "meta": {
                    "run_id": {"run_name": None, "run_time": f"{run_time}+00:00"},
                    "active_batch_definition": {"data_asset_name": suite},
                },
                "results": [],
            }
        )
    )
    page = site / "validations" / f"{key}.html"
    page.parent.mkdir(parents=True, exist_ok=True)
    page.write_text(
        "<!DOCTYPE html><html><head>"
        '<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/'
        'bootstrap.min.css"/></head><body><h4>Expectation Validation Result</h4></body></html>'
    )
    return f"validations/{key}.html"


def test_the_index_lists_every_validation_result_as_a_plain_link(tmp_path):
    site, store = tmp_path / "local_site", tmp_path / "validations"
    older = _result(store, site, "mart_measures", "2026-12-01T09:00:00.000001", True, 20)
    failed = _result(store, site, "mart_measures", "2026-12-02T09:00:00.000002", False, 19)
    gap = _result(store, site, "mart_manager_frontline_gap", "2026-12-02T09:00:01.5", True, 20)
    (site / "expectations").mkdir()
    (site / "expectations" / "mart_measures.html").write_text("<html><head></head></html>")

    done = make_offline(site, store)
    assert (done.pages_rewritten, done.validations_listed, done.suites_listed) == (4, 3, 1)
    index = (site / "index.html").read_text()
    assert "<script" not in index and remote_references(index) == []
    latest, everything = index.split('<h2 id="all">')
    assert re.findall(r'class="validation-link" href="([^"]+)"', latest) == [gap, failed]
    assert re.findall(r'class="validation-link" href="([^"]+)"', everything) == [
        gap,
        failed,
        older,
    ]  # newest first
    failed_row = everything.split("<tr>")[3]  # after the header and the newest
    assert "2026-12-02 09:00:00 UTC" in failed_row
    assert '<span class="badge badge-danger">Failed</span>' in failed_row
    assert "<td>19 of 20</td>" in failed_row
    assert '<a class="suite-link" href="expectations/mart_measures.html">' in index
    assert (site / "validations" / f"{failed.split('/', 1)[1]}").read_text().startswith(MARKER)

    # Each result is read once; a page whose result is gone from the store stays listed, and
    # a page that is gone is no longer listed.
    assert make_offline(site, store).pages_rewritten == 0
    (store / f"{older.split('/', 1)[1][:-5]}.json").unlink()
    assert make_offline(site, store).validations_listed == 3
    (site / older).unlink()
    assert make_offline(site, store).validations_listed == 2
    cached = json.loads((site / OFFLINE_DIR / ENTRIES_FILE).read_text())
    assert sorted(cached) == sorted([failed, gap])


def test_an_empty_site_says_there_is_nothing_yet(tmp_path):
    make_offline(tmp_path / "site", tmp_path / "store")
    assert "No validation result yet" in (tmp_path / "site" / "index.html").read_text()
