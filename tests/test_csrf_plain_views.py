"""NextAuth's double-submit CSRF token on plain Django views, as the README promises.

The README said NextAuth's double-submit token is accepted for cookie-authenticated unsafe
requests; only the DRF class accepted it, and CsrfViewMiddleware refused it on plain views.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.request_helpers import MIDDLEWARE, make_token, nextauth_csrf_cookie

COOKIE = "next-auth.session-token"


@pytest.fixture(autouse=True)
def _middleware(settings: Any) -> None:
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]


@pytest.fixture
def browser() -> Client:
    client = Client(enforce_csrf_checks=True)
    client.cookies[COOKIE] = make_token()
    return client


def test_nextauth_double_submit_token_is_accepted_on_plain_views(browser: Client) -> None:
    browser.cookies["next-auth.csrf-token"] = nextauth_csrf_cookie("f00d")
    response = browser.post("/page/", headers={"X-CSRF-Token": "f00d"})
    assert response.status_code == 200
    assert response.json()["id"] == "42"


@pytest.mark.parametrize(
    ("cookie", "header"),
    [
        (None, "f00d"),  # no NextAuth CSRF cookie
        (nextauth_csrf_cookie("f00d"), None),  # not echoed
        (nextauth_csrf_cookie("f00d"), "beef"),  # echoed wrong
        ("f00d%7C" + "ab" * 32, "f00d"),  # a hash an attacker made up
    ],
    ids=["no-cookie", "no-header", "wrong-echo", "forged-hash"],
)
def test_plain_views_refuse_cookie_posts_without_a_genuine_double_submit(
    browser: Client, cookie: str | None, header: str | None
) -> None:
    if cookie is not None:
        browser.cookies["next-auth.csrf-token"] = cookie
    headers = {"X-CSRF-Token": header} if header is not None else {}
    assert browser.post("/page/", headers=headers).status_code == 403


def test_double_submit_without_a_valid_session_exempts_nothing() -> None:
    client = Client(enforce_csrf_checks=True)
    client.cookies["next-auth.csrf-token"] = nextauth_csrf_cookie("f00d")
    assert client.post("/page/", headers={"X-CSRF-Token": "f00d"}).status_code == 403


def test_django_csrf_token_still_works_on_plain_views(browser: Client) -> None:
    browser.cookies["csrftoken"] = "a" * 32
    assert browser.post("/page/", headers={"X-CSRFToken": "a" * 32}).status_code == 200
