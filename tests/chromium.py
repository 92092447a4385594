"""Headless Chromium for the browser tests: Debian's ``chromium`` and ``chromium-driver``.

Selenium is given both paths, so Selenium Manager never looks anything up.
"""

from __future__ import annotations

import contextlib
import shutil
from collections.abc import Iterator
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from tests.conftest import require


def find(name: str) -> str | None:
    """``name`` on PATH, or in /usr/bin (where Debian puts it) when PATH is narrow."""
    found = shutil.which(name) or shutil.which(name, path="/usr/bin")
    return found if found and Path(found).is_file() else None


@contextlib.contextmanager
def headless_chromium(profile: Path, *arguments: str) -> Iterator[webdriver.Chrome]:
    """A headless Chromium with its own profile directory, always quit afterwards.

    ``arguments`` are added to the command line (``--host-resolver-rules=...``). Outside CI
    a missing Chromium skips the test; with CI=true it fails (``require``).
    """
    binary, driver_path = find("chromium"), find("chromedriver")
    require(
        binary is not None and driver_path is not None,
        "chromium and chromedriver are needed (make system: the Debian chromium, chromium-driver)",
    )
    assert binary is not None
    assert driver_path is not None
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--no-first-run",
        "--no-default-browser-check",
        "--window-size=1280,900",
        f"--user-data-dir={profile}",
        *arguments,
    ):
        options.add_argument(argument)
    options.add_experimental_option(
        "prefs",
        {"credentials_enable_service": False, "profile.password_manager_enabled": False},
    )
    driver = webdriver.Chrome(options=options, service=Service(driver_path))
    try:
        driver.set_page_load_timeout(15)
        yield driver
    finally:
        driver.quit()


def signed_out(driver: webdriver.Chrome, origin: str) -> webdriver.Chrome:
    """``driver`` without cookies for ``origin``'s host (cookies ignore ports)."""
    driver.get(f"{origin}/healthz")
    driver.delete_all_cookies()
    return driver
