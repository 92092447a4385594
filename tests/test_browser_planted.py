"""A cookie planted by a sibling subdomain, in a real Chromium: what sign-out now clears.

Chromium resolves every ``*.example.test`` name to 127.0.0.1 (``--host-resolver-rules``; no
``/etc/hosts``), so the example service answers as ``app.example.test`` (the person's site) and
as ``evil.example.test`` (a sibling subdomain someone else controls), on one port. The sibling
plants ``next-auth.session-token.0=x; Domain=example.test; Path=/api``: every ``/api`` request
of the person's then carries two session cookies and is refused (``token_ambiguous``). Sign-out
at ``/api/auth/signout`` now expires the planted chunk too, and the next sign-in works on
``/api`` again.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.wait import WebDriverWait

from tests.servers import example_server

COOKIE = "next-auth.session-token"
PLANT = f"{COOKIE}.0=x; Domain=example.test; Path=/api"


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    env = {"DJANGO_ALLOWED_HOSTS": ".example.test,127.0.0.1"}
    with example_server(tmp_path_factory.mktemp("planted"), env) as base:
        yield base


@pytest.fixture(scope="module")
def resolving_chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[webdriver.Chrome]:
    from tests.chromium import headless_chromium

    profile = tmp_path_factory.mktemp("chromium-planted")
    rules = "--host-resolver-rules=MAP *.example.test 127.0.0.1"
    with headless_chromium(profile, rules) as driver:
        yield driver


def origin(example: str, name: str) -> str:
    return example.replace("127.0.0.1", f"{name}.example.test")


def wait_for_url(driver: webdriver.Chrome, url: str) -> None:
    WebDriverWait(driver, 15).until(ec.url_to_be(url))


def sign_in(driver: webdriver.Chrome, app: str) -> None:
    driver.get(f"{app}/signin/?callbackUrl=%2Fdashboard%2F")
    form = driver.find_element(By.ID, "credentials")
    form.find_element(By.NAME, "email").send_keys("demo@example.com")
    form.find_element(By.NAME, "password").send_keys("demo-password")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for_url(driver, f"{app}/dashboard/")


def api_me(driver: webdriver.Chrome, app: str) -> dict[str, Any]:
    """What ``/api/me/`` answers a ``fetch`` of the page's (with its cookies), as JSON."""
    driver.get(f"{app}/healthz")
    text = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "fetch('/api/me/', {headers: {accept: 'application/json'}, cache: 'no-store'})"
        ".then(r => r.text()).then(done, e => done(String(e)));"
    )
    body: dict[str, Any] = json.loads(text)
    return body


def session_cookies(driver: webdriver.Chrome) -> list[tuple[str, str, str]]:
    """Every session cookie the browser holds, whatever its path and domain."""
    found = driver.execute_cdp_cmd("Network.getAllCookies", {})["cookies"]
    return sorted(
        (c["name"], c["domain"], c["path"]) for c in found if c["name"].startswith(COOKIE)
    )


def plant_and_sign_in(driver: webdriver.Chrome, app: str, evil: str) -> None:
    """The sibling plants its chunk for the parent domain and /api; the person signs in."""
    driver.get(f"{evil}/healthz")
    driver.execute_script(f"document.cookie = {json.dumps(PLANT)};")
    assert (f"{COOKIE}.0", ".example.test", "/api") in session_cookies(driver)
    sign_in(driver, app)


def test_sign_out_clears_a_chunk_a_sibling_subdomain_planted_for_api(
    resolving_chromium: webdriver.Chrome, example: str
) -> None:
    driver = resolving_chromium
    driver.delete_all_cookies()
    app, evil = origin(example, "app"), origin(example, "evil")
    plant_and_sign_in(driver, app, evil)

    # Sign-out, from the dashboard's own form, clears both: the person's and the planted one.
    driver.get(f"{app}/dashboard/")
    driver.find_element(By.CSS_SELECTOR, "#signout button[type=submit]").click()
    wait_for_url(driver, f"{app}/signin/")
    assert session_cookies(driver) == []

    # Signing in again is the remedy it should be: /api answers for the person.
    sign_in(driver, app)
    assert api_me(driver, app)["claims"]["email"] == "demo@example.com"


def test_the_token_ambiguous_answer_itself_clears_what_the_sibling_planted(
    resolving_chromium: webdriver.Chrome, example: str
) -> None:
    driver = resolving_chromium
    driver.delete_all_cookies()
    app, evil = origin(example, "app"), origin(example, "evil")
    plant_and_sign_in(driver, app, evil)

    # The first /api request is refused as ambiguous, and its answer expires every copy: the
    # planted one (Domain=example.test, Path=/api) and the person's, who signs in again.
    assert api_me(driver, app)["code"] == "token_ambiguous"
    assert session_cookies(driver) == []
    sign_in(driver, app)
    assert api_me(driver, app)["claims"]["email"] == "demo@example.com"
