"""Debian's headless Chromium driven by its chromedriver, offline: the one way the browser tests
open a page. .ci/run installs both packages; nothing is downloaded at run time."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM, CHROMEDRIVER = Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver")


@contextmanager
def headless_chromium(user_data_dir: Path, window: tuple[int, int]) -> Iterator:
    """A Selenium driver for a fresh, empty profile; quit on exit."""
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail(
            "Debian's chromium and chromium-driver are needed: .ci/run installs them "
            "(apt-get install chromium chromium-driver)"
        )
    from selenium import webdriver

    os.environ["SE_OFFLINE"] = "true"  # never let Selenium Manager try to download a driver
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={user_data_dir}",
        f"--window-size={window[0]},{window[1]}",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(
        options=options, service=webdriver.ChromeService(executable_path=str(CHROMEDRIVER))
    )
    try:
        yield driver
    finally:
        driver.quit()
