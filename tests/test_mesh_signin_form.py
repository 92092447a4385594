"""The example's sign-in form keeps the email typed after a wrong password (real Chromium).

A failed form post is a 303 back to ``/signin/?error=CredentialsSignin``: a new page, whose
form used to come back empty. The email is kept in the tab's sessionStorage, never in a URL.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.wait import WebDriverWait

from tests.chromium import signed_out
from tests.servers import example_server

SIGNIN = "/signin/?callbackUrl=%2Fdashboard%2F"
EMAIL = "demo@example.com"


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with example_server(tmp_path_factory.mktemp("example")) as base:
        yield base


def submit(driver: webdriver.Chrome, email: str, password: str) -> None:
    form = driver.find_element(By.ID, "credentials")
    if email:
        form.find_element(By.NAME, "email").send_keys(email)
    form.find_element(By.NAME, "password").send_keys(password)
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()


def email_field(driver: webdriver.Chrome) -> str:
    value = driver.find_element(By.CSS_SELECTOR, "#credentials [name=email]").get_attribute("value")
    return value or ""


def test_a_wrong_password_keeps_the_email_and_a_retry_signs_in(
    chromium: webdriver.Chrome, example: str
) -> None:
    browser = signed_out(chromium, example)
    browser.get(f"{example}{SIGNIN}")
    submit(browser, EMAIL, "not-the-password")
    WebDriverWait(browser, 10).until(ec.url_contains("error=CredentialsSignin"))
    assert EMAIL not in browser.current_url
    assert email_field(browser) == EMAIL
    # Focus is on the password: the person types it again, and nothing else.
    assert browser.switch_to.active_element.get_attribute("name") == "password"
    submit(browser, "", "demo-password")
    WebDriverWait(browser, 10).until(ec.url_to_be(f"{example}/dashboard/"))


def test_a_fresh_sign_in_page_starts_empty(chromium: webdriver.Chrome, example: str) -> None:
    browser = signed_out(chromium, example)
    browser.get(f"{example}{SIGNIN}")
    submit(browser, EMAIL, "not-the-password")
    WebDriverWait(browser, 10).until(ec.url_contains("error=CredentialsSignin"))
    browser.get(f"{example}{SIGNIN}")  # no error: a new visit
    assert email_field(browser) == ""
