"""An auditor opens the Dagster UI: the lineage runs ingest -> validation -> dbt models ->
published marts. Real `dagster dev` on loopback, real headless Chromium (Debian's chromium and
chromium-driver, installed by .ci/run); the screenshot is kept in tests/artifacts/."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipelines.settings import REPO_ROOT
from tests.browser import headless_chromium

ARTIFACTS = REPO_ROOT / "tests" / "artifacts"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


UI_PROCESS: dict[str, subprocess.Popen] = {}


@pytest.fixture(scope="module")
def dagster_ui(tmp_path_factory):
    home = tmp_path_factory.mktemp("dagster_home")
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    port = _free_port()
    env = {
        **os.environ,
        "DAGSTER_HOME": str(home),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    log = (home / "dagster-dev.log").open("w")
    server = subprocess.Popen(
        ["make", "--no-print-directory", "ui"],  # what an operator types
        cwd=REPO_ROOT,
        env={**env, "COPROD_UI_PORT": str(port)},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so it can be stopped whole
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{url}/server_info", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None, (home / "dagster-dev.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "make ui did not start within 180 s"
            time.sleep(1)
        UI_PROCESS[url] = server
        yield url
    finally:
        if server.poll() is None or _group_alive(server.pid):  # the last test stops it
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=10)
        log.close()


@pytest.fixture
def browser(tmp_path):
    with headless_chromium(tmp_path / "chromium", window=(1800, 1100)) as driver:
        yield driver


def test_the_lineage_page_shows_ingest_to_published_marts(dagster_ui, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{dagster_ui}/asset-groups")
    groups = ["ingest", "validation", "staging", "intermediate", "marts", "publish"]

    def graph_nodes(driver) -> dict[str, float] | None:
        for skip in driver.find_elements(By.XPATH, "//button[normalize-space()='Skip']"):
            skip.click()  # the community sign-up dialog shown on a first visit
        found = {}
        for name in groups:
            # nodes of the graph, not the sidebar's list of groups (left of x = 460)
            nodes = [
                e
                for e in driver.find_elements(By.XPATH, f"//*[normalize-space(text())='{name}']")
                if e.is_displayed() and e.rect["x"] > 460
            ]
            if nodes:
                found[name] = nodes[0].rect["x"]
        return found if len(found) == len(groups) else None

    positions = WebDriverWait(browser, 120).until(graph_nodes)
    time.sleep(1)
    ARTIFACTS.mkdir(exist_ok=True)
    shot = ARTIFACTS / "lineage.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000
    # The graph reads left to right in the order the data flows.
    assert [name for name, _ in sorted(positions.items(), key=lambda item: item[1])] == groups


def test_make_ui_stops_on_sigterm_within_ten_seconds(dagster_ui):
    """Last in this module: the whole process group (make, dg dev, webserver, daemon, code
    server) is gone within 10 s of a SIGTERM to the group."""
    server = UI_PROCESS[dagster_ui]
    os.killpg(server.pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while server.poll() is None or _group_alive(server.pid):  # poll() reaps make itself
        assert time.monotonic() < deadline, "make ui still running 10 s after SIGTERM"
        time.sleep(0.2)


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True
