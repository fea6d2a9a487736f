"""What a co-production lead and an auditor see in a real browser after `coprod run` on the
bundled samples: Debian's headless Chromium and chromedriver, offline (there is no network here,
and the pages must need none).

- The report: a page a lead can print (its full height well below the 13,600 px of the chart per
  measure and breakdown it replaced, and a bounded number of A4 pages), with its headlines,
  every figure printed with its n, the manager-frontline gap, and the publication and source
  files in its footer. A rerun that changes nothing keeps the publication the pages name.
- Great Expectations Data Docs: the index is styled by the local Bootstrap, lists every
  validation result as a plain link (no script), and following one opens it, styled, its icons
  drawn by the local Font Awesome; no page or stylesheet of the site loads anything from
  another host.

Screenshots are kept in tests/artifacts/.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import io
import json
import re
import struct

import polars as pl
import pytest

from pipelines.cli import main
from pipelines.data_docs_offline import remote_references
from pipelines.settings import REPO_ROOT
from tests.browser import headless_chromium
from tests.conftest import copy_samples, open_workspace

ARTIFACTS = REPO_ROOT / "tests" / "artifacts"
BEFORE_PX = 13_600  # the sample reports' full height when each measure was a row of charts
MAX_PX = 9_000
MAX_A4_PAGES = 14  # the old page printed on 22


@pytest.fixture(scope="module")
def ran(tmp_path_factory, module_monkeypatch):
    """One `coprod run` on the samples, shared by this module's tests."""
    started = dt.datetime.now(dt.UTC)
    workspace = copy_samples(
        open_workspace(tmp_path_factory.mktemp("browser") / "data", module_monkeypatch)
    )
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["run"]) == 0
    return workspace, started


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    with headless_chromium(tmp_path_factory.mktemp("chromium"), window=(1280, 1000)) as driver:
        yield driver


def _png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", png[16:24])


def _text(element) -> str:
    return " ".join(element.text.split())


def test_the_report_fits_a_printable_page_and_prints_every_figure(ran, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.print_page_options import PrintOptions

    workspace, _ = ran
    page = workspace.marts / "reports" / "memory_matters.html"
    browser.set_window_size(1280, 1000)
    browser.get(page.as_uri())
    height, width = browser.execute_script(
        "const e = document.documentElement; return [e.scrollHeight, e.scrollWidth]"
    )
    shot = browser.execute_cdp_cmd(  # the whole page, not only the window
        "Page.captureScreenshot",
        {
            "format": "png",
            "captureBeyondViewport": True,
            "clip": {"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
        },
    )
    png = base64.b64decode(shot["data"])
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "report_memory_matters.png").write_bytes(png)
    assert _png_size(png) == (width, height)
    assert height < MAX_PX < BEFORE_PX, height

    # Headlines: the largest significant change since the baseline, in words with its figures.
    headlines = _text(browser.find_element(By.ID, "headlines"))
    assert "Largest significant changes since 2024" in headlines
    changes = workspace.mart("mart_measure_changes").filter(
        (pl.col("organisation_id") == "memory_matters")
        & (pl.col("wave") == 2026)
        & pl.col("significant_vs_baseline")
        & pl.col("breakdown").is_in(["organisation", "organisation_rollup", "service"])
    )
    largest = changes.sort(pl.col("change_pp_from_baseline").abs(), descending=True).row(
        0, named=True
    )
    direction = "up" if largest["change_pp_from_baseline"] > 0 else "down"
    assert f"{direction} {abs(largest['change_pp_from_baseline']):.1f} points" in headlines
    assert f"to {largest['pct']:.1f}% (n = " in headlines
    assert "Figures withheld" in headlines

    # Contents, and every section it links to.
    links = browser.find_elements(By.CSS_SELECTOR, "nav.toc a")
    assert [a.text for a in links][:2] == ["Headlines", "How to read this report"]
    for link in links:
        assert browser.find_elements(By.ID, link.get_attribute("href").split("#")[1])

    # A printed figure with its n: everyone asked, 2026, had heard of co-production.
    aware = (
        workspace.mart("mart_measures")
        .filter(
            (pl.col("organisation_id") == "memory_matters")
            & (pl.col("measure_id") == "aware")
            & (pl.col("breakdown") == "organisation")
            & (pl.col("wave") == 2026)
        )
        .row(0, named=True)
    )
    row = browser.find_element(By.CSS_SELECTOR, "figure#aware tbody tr")
    assert _text(row).startswith("Had heard of co-production")
    assert f"{aware['pct']:.1f}% n = {aware['n']:,}" in _text(row)
    assert f"{aware['ci_low']:.1f} to {aware['ci_high']:.1f}" in _text(row)

    # The gap between managers and frontline staff, with both groups' n.
    gap = browser.find_element(By.ID, "gap")
    assert _text(gap.find_element(By.TAG_NAME, "h2")) == "Managers and frontline staff"
    gap_row = _text(gap.find_element(By.ID, "gap-aware"))
    published_gap = (
        workspace.mart("mart_manager_frontline_gap")
        .filter(
            (pl.col("organisation_id") == "memory_matters")
            & (pl.col("measure_id") == "aware")
            & (pl.col("wave") == 2026)
        )
        .row(0, named=True)
    )
    assert f"{published_gap['gap_pp']:+.1f} pts" in gap_row
    assert re.search(rf"{published_gap['pct_higher']:.1f}% \(n = \d+\) vs ", gap_row)

    # The footer: the publication, by the id manifest.json gives it, and the source files.
    manifest = json.loads((workspace.marts / "manifest.json").read_text())
    footer = _text(browser.find_element(By.ID, "about"))
    assert f"Publication {manifest['publication_id']}, published" in footer
    own = [f for f in manifest["source_files"] if f["organisation_id"] == "memory_matters"]
    assert own
    for source in own:
        assert f"{source['file_name']} " in footer and source["file_sha256"][:12] in footer
    others = [f for f in manifest["source_files"] if f["organisation_id"] != "memory_matters"]
    assert not any(f["file_name"] in footer for f in others)

    # Jargon is gone; plain words from the reference data are there.
    body = _text(browser.find_element(By.TAG_NAME, "body"))
    assert not re.search(r"\bTheme\b|\(open\)|Barrier", body)
    assert "What gets in the way of co-production?" in body

    # Printed: print styles apply, and the page fits a bounded number of A4 landscape pages.
    browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    try:
        assert (
            browser.execute_script(
                "return getComputedStyle(document.querySelector('main')).maxWidth"
            )
            == "none"
        )
    finally:
        browser.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    options = PrintOptions()
    options.orientation = "landscape"
    options.page_width, options.page_height = 21.0, 29.7
    pdf = base64.b64decode(browser.print_page(options))
    (ARTIFACTS / "report_memory_matters.pdf").write_bytes(pdf)
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert 1 < pages <= MAX_A4_PAGES, pages


def test_a_rerun_that_changes_nothing_keeps_the_publication_its_pages_name(ran):
    workspace, _ = ran
    before = workspace.published_files()
    with contextlib.redirect_stdout(io.StringIO()):
        assert main(["run", "--force"]) == 0  # every asset runs again, reports included
    assert workspace.published_files() == before
    manifest = json.loads((workspace.marts / "manifest.json").read_text())
    for page in (workspace.marts / "reports").glob("*.html"):
        assert f"Publication <b>{manifest['publication_id']}</b>" in page.read_text()


def test_data_docs_index_is_styled_offline_and_opens_a_validation_result(ran, browser):
    from selenium.webdriver.common.by import By

    workspace, started = ran
    site = workspace.data_docs.parent
    browser.set_window_size(1280, 1000)
    browser.get(workspace.data_docs.as_uri())
    assert browser.find_elements(By.TAG_NAME, "script") == []  # plain HTML: nothing to run
    # Bootstrap, from the site's own copy, styles it (unstyled: Times and a grey badge).
    font = browser.execute_script("return getComputedStyle(document.body).fontFamily")
    assert "-apple-system" in font and "Segoe UI" in font
    badge = browser.find_element(By.CSS_SELECTOR, "#latest ~ table .badge-success")
    assert badge.value_of_css_property("background-color") == "rgba(40, 167, 69, 1)"

    # Every validation page of the site is listed, as a link.
    pages = sorted(p.relative_to(site).as_posix() for p in (site / "validations").rglob("*.html"))
    listed = [
        a.get_attribute("href").split(site.as_uri() + "/")[1]
        for a in browser.find_elements(By.CSS_SELECTOR, "#all ~ table a.validation-link")
    ]
    assert sorted(listed) == pages
    ARTIFACTS.mkdir(exist_ok=True)
    browser.save_screenshot(str(ARTIFACTS / "data_docs_index.png"))

    # This run's result is the latest for mart_measures: follow its link.
    latest = browser.find_element(By.LINK_TEXT, "Latest mart_measures result")
    when = latest.find_element(By.XPATH, "ancestor::tr/td[1]").text
    assert dt.datetime.strptime(when, "%Y-%m-%d %H:%M:%S UTC").replace(
        tzinfo=dt.UTC
    ) >= started.replace(microsecond=0)
    target = latest.get_attribute("href")
    latest.click()
    assert browser.current_url == target
    assert "Expectation Validation Result" in _text(browser.find_element(By.TAG_NAME, "body"))
    card = browser.find_element(By.CSS_SELECTOR, ".card")
    assert card.value_of_css_property("border-top-left-radius") == "4px"  # Bootstrap's .card
    assert browser.execute_async_script(
        "const done = arguments[0];"
        "document.fonts.ready.then(() => done(document.fonts.check('900 16px \"Font Awesome 6 "
        "Free\"') && [...document.fonts].some(f => f.family.includes('Font Awesome') "
        "&& f.status === 'loaded')));"
    )
    browser.save_screenshot(str(ARTIFACTS / "data_docs_validation.png"))


def test_no_data_docs_page_or_stylesheet_loads_from_another_host(ran):
    site = ran[0].data_docs.parent
    files = [p for p in site.rglob("*") if p.suffix in {".html", ".css", ".js"}]
    assert len(files) > 10
    loads = {
        str(p.relative_to(site)): found
        for p in files
        if (found := remote_references(p.read_text(encoding="utf-8", errors="replace")))
    }
    assert loads == {}
