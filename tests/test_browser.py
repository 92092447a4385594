"""The example's sign-in page, dashboard and sign-out, driven by a real headless Chromium.

Debian's ``chromium`` and ``chromium-driver`` (``scripts/system-packages.sh``) against the
example run as a real ``runserver`` process: the browser sends its own ``Origin``, ``Accept``
and cookies, so this is the flow a user gets, not a reconstruction of it (``tests/chromium.py``).
"""

from __future__ import annotations

import struct
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.wait import WebDriverWait

from tests.chromium import signed_out
from tests.servers import example_server

COOKIE = "next-auth.session-token"
DASHBOARD_SIGNIN = "/signin/?callbackUrl=%2Fdashboard%2F"


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with example_server(tmp_path_factory.mktemp("example")) as base:
        yield base


@pytest.fixture
def browser(chromium: webdriver.Chrome, example: str) -> webdriver.Chrome:
    """The module's browser, signed out: no cookies for the example's origin."""
    return signed_out(chromium, example)


def wait_for_url(driver: webdriver.Chrome, url: str) -> None:
    WebDriverWait(driver, 10).until(ec.url_to_be(url))


def submit_credentials(driver: webdriver.Chrome, email: str, password: str) -> None:
    form = driver.find_element(By.ID, "credentials")
    form.find_element(By.NAME, "email").send_keys(email)
    form.find_element(By.NAME, "password").send_keys(password)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def sign_in(driver: webdriver.Chrome, base: str) -> None:
    driver.get(f"{base}/dashboard/")
    wait_for_url(driver, f"{base}{DASHBOARD_SIGNIN}")
    submit_credentials(driver, "demo@example.com", "demo-password")
    wait_for_url(driver, f"{base}/dashboard/")


def test_dashboard_signed_out_lands_on_the_signin_page(
    browser: webdriver.Chrome, example: str
) -> None:
    browser.get(f"{example}/dashboard/")
    wait_for_url(browser, f"{example}{DASHBOARD_SIGNIN}")
    assert browser.find_element(By.TAG_NAME, "h1").text == "Sign in"
    callback = browser.find_element(By.CSS_SELECTOR, "#credentials [name=callbackUrl]")
    assert callback.get_attribute("value") == "/dashboard/"
    # Google is not configured in this example run: no button that leads nowhere.
    assert browser.find_elements(By.ID, "google") == []
    assert browser.find_element(By.ID, "demo-accounts").is_displayed()


def test_sign_in_form_lands_on_the_dashboard_with_an_httponly_cookie(
    browser: webdriver.Chrome, example: str
) -> None:
    sign_in(browser, example)
    who = browser.find_element(By.ID, "who").text
    assert who.startswith("Signed in as demo@example.com")
    cookie = browser.get_cookie(COOKIE)
    assert cookie is not None
    assert cookie["value"].count(".") == 2  # the jws token itself
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Lax"
    assert cookie["path"] == "/"
    assert cookie["secure"] is False  # plain http://127.0.0.1 in development
    assert COOKIE not in browser.execute_script("return document.cookie")


def test_wrong_password_returns_to_signin_with_the_error_and_no_cookie(
    browser: webdriver.Chrome, example: str
) -> None:
    browser.get(f"{example}{DASHBOARD_SIGNIN}")
    submit_credentials(browser, "demo@example.com", "not-the-password")
    wait_for_url(browser, f"{example}/signin/?error=CredentialsSignin&callbackUrl=%2Fdashboard%2F")
    assert browser.find_element(By.ID, "error").text == "Wrong email or password."
    callback = browser.find_element(By.CSS_SELECTOR, "#credentials [name=callbackUrl]")
    assert callback.get_attribute("value") == "/dashboard/"
    assert browser.get_cookie(COOKIE) is None


def test_sign_out_returns_to_signin_and_the_token_is_gone(
    browser: webdriver.Chrome, example: str
) -> None:
    sign_in(browser, example)
    cookie = browser.get_cookie(COOKIE)
    assert cookie is not None
    browser.find_element(By.CSS_SELECTOR, "#signout button[type=submit]").click()
    wait_for_url(browser, f"{example}/signin/")
    assert browser.get_cookie(COOKIE) is None
    browser.get(f"{example}/dashboard/")
    wait_for_url(browser, f"{example}{DASHBOARD_SIGNIN}")
    # The signed-out token is revoked, not only forgotten: put it back and it is refused.
    browser.add_cookie({"name": COOKIE, "value": cookie["value"], "path": "/", "httpOnly": True})
    browser.get(f"{example}/dashboard/")
    wait_for_url(browser, f"{example}{DASHBOARD_SIGNIN}")


SCREENSHOTS = Path(tempfile.gettempdir()) / "django-nextauth-jwt-screenshots"


def assert_screenshot(browser: webdriver.Chrome, name: str) -> Path:
    """Save the page as ``SCREENSHOTS/name`` (printed, to be looked at) and check it is a page."""
    SCREENSHOTS.mkdir(exist_ok=True)
    shot = SCREENSHOTS / name
    assert browser.save_screenshot(str(shot))
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])  # the IHDR chunk
    assert width >= 800
    assert height >= 600
    assert len(data) > 15_000, f"{len(data)} bytes: a blank page?"
    print(f"screenshot: {shot}")
    return shot


def test_dashboard_screenshot_renders(browser: webdriver.Chrome, example: str) -> None:
    sign_in(browser, example)
    assert_screenshot(browser, "example-dashboard.png")


def test_signin_page_screenshot_renders(browser: webdriver.Chrome, example: str) -> None:
    browser.get(f"{example}/signin/?error=CredentialsSignin")
    assert browser.find_element(By.ID, "error").text == "Wrong email or password."
    assert_screenshot(browser, "example-signin.png")
