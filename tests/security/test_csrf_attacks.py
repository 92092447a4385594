"""Cross-site request forgery: cookie-authenticated unsafe requests, and login CSRF.

The test client plays a browser (``enforce_csrf_checks=True``): it attaches the session
cookie on its own, the way a browser does on a cross-site form post.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import Client

from tests import forge
from tests.request_helpers import nextauth_csrf_cookie
from tests.security.helpers import LOGIN, ME, PLAIN, SIGNOUT, V4_COOKIE, assert_refused

CSRF_COOKIE = "next-auth.csrf-token"
CSRF_VALUE = "f1c2e3d4c5b6a7980123456789abcdef0123456789abcdef"


@pytest.fixture
def browser() -> Client:
    """A browser holding a valid session cookie."""
    client = Client(enforce_csrf_checks=True)
    client.cookies[V4_COOKIE] = forge.jws(forge.claims())
    return client


def post_me(client: Client, **headers: str) -> Any:
    return client.post(ME, data="{}", content_type="application/json", headers=headers)


# --------------------------------------------------------------------------- #
# Cookie-authenticated unsafe requests
# --------------------------------------------------------------------------- #


def test_genuine_nextauth_csrf_proof_is_accepted_as_the_control(browser: Client) -> None:
    browser.cookies[CSRF_COOKIE] = nextauth_csrf_cookie(CSRF_VALUE)
    assert post_me(browser, **{"X-CSRF-Token": CSRF_VALUE}).status_code == 200


def test_bearer_post_needs_no_csrf_proof_as_the_control() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post(ME, headers={"Authorization": f"Bearer {forge.jws(forge.claims())}"})
    assert response.status_code == 200


def test_cookie_post_without_csrf_proof_is_403(browser: Client) -> None:
    assert_refused(post_me(browser), "csrf_failed", 403)


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_cookie_unsafe_method_without_csrf_proof_is_403(browser: Client, method: str) -> None:
    assert_refused(getattr(browser, method)(ME), "csrf_failed", 403)


def test_cookie_post_with_a_forged_nextauth_csrf_cookie_hash_is_403(browser: Client) -> None:
    browser.cookies[CSRF_COOKIE] = nextauth_csrf_cookie(CSRF_VALUE, forge.OTHER_SECRET)
    assert_refused(post_me(browser, **{"X-CSRF-Token": CSRF_VALUE}), "csrf_failed", 403)


def test_cookie_post_with_a_csrf_hash_of_the_token_alone_is_403(browser: Client) -> None:
    import hashlib

    digest = hashlib.sha256(CSRF_VALUE.encode()).hexdigest()
    browser.cookies[CSRF_COOKIE] = f"{CSRF_VALUE}%7C{digest}"
    assert_refused(post_me(browser, **{"X-CSRF-Token": CSRF_VALUE}), "csrf_failed", 403)


def test_cookie_post_with_a_genuine_csrf_cookie_but_another_header_value_is_403(
    browser: Client,
) -> None:
    browser.cookies[CSRF_COOKIE] = nextauth_csrf_cookie(CSRF_VALUE)
    assert_refused(post_me(browser, **{"X-CSRF-Token": "attacker-value"}), "csrf_failed", 403)


def test_cookie_post_with_a_genuine_csrf_cookie_and_no_header_is_403(browser: Client) -> None:
    browser.cookies[CSRF_COOKIE] = nextauth_csrf_cookie(CSRF_VALUE)
    assert_refused(post_me(browser), "csrf_failed", 403)


def test_cookie_post_with_uppercase_hex_csrf_hash_is_403(browser: Client) -> None:
    token, _, digest = nextauth_csrf_cookie(CSRF_VALUE, encode=False).partition("|")
    browser.cookies[CSRF_COOKIE] = f"{token}%7C{digest.upper()}"
    assert_refused(post_me(browser, **{"X-CSRF-Token": CSRF_VALUE}), "csrf_failed", 403)


def test_cookie_post_with_a_non_ascii_csrf_header_is_403_not_500(browser: Client) -> None:
    browser.cookies[CSRF_COOKIE] = nextauth_csrf_cookie(CSRF_VALUE)
    assert_refused(post_me(browser, **{"X-CSRF-Token": "\u00e9\u00ff"}), "csrf_failed", 403)


def test_cookie_post_with_a_mismatched_django_csrf_token_is_403(browser: Client) -> None:
    browser.cookies["csrftoken"] = "a" * 32
    assert_refused(post_me(browser, **{"X-CSRFToken": "b" * 32}), "csrf_failed", 403)


def test_cookie_post_with_a_django_csrf_token_from_a_cross_site_origin_is_403(
    browser: Client,
) -> None:
    token = browser.get("/api/auth/csrf").json()["csrfToken"]
    response = post_me(browser, **{"X-CSRFToken": token, "Origin": "https://evil.example"})
    assert_refused(response, "csrf_failed", 403)


def test_cookie_post_to_a_middleware_protected_view_without_csrf_proof_is_403(
    browser: Client,
) -> None:
    # Plain views keep Django's CsrfViewMiddleware; the token does not exempt them.
    assert browser.post(PLAIN).status_code == 403


# --------------------------------------------------------------------------- #
# Login CSRF and forged sign-out
# --------------------------------------------------------------------------- #


def login(client: Client, **headers: str) -> Any:
    body = json.dumps({"email": "ada@example.com", "password": "anything"})
    return client.post(LOGIN, data=body, content_type="application/json", headers=headers)


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "null",
        "http://testserver.evil.example",
        "https://testserver",
        "http://testserver:8080",
        "http://evil.example/http://testserver",
    ],
    ids=[
        "cross_site",
        "null_origin_sandboxed_iframe",
        "lookalike_suffix",
        "scheme_mismatch",
        "port_mismatch",
        "origin_inside_path",
    ],
)
def test_login_csrf_from_a_foreign_origin_is_403(origin: str) -> None:
    client = Client(enforce_csrf_checks=True)
    assert_refused(login(client, Origin=origin), "csrf_failed", 403)


def test_login_csrf_by_a_cookie_carrying_request_without_origin_or_token_is_403() -> None:
    client = Client(enforce_csrf_checks=True)
    client.cookies["sessionid"] = "ambient-authority-0123456789"
    assert_refused(login(client), "csrf_failed", 403)


def test_login_csrf_with_a_forged_nextauth_csrf_cookie_is_403() -> None:
    client = Client(enforce_csrf_checks=True)
    client.cookies[CSRF_COOKIE] = nextauth_csrf_cookie(CSRF_VALUE, forge.OTHER_SECRET)
    assert_refused(login(client, **{"X-CSRF-Token": CSRF_VALUE}), "csrf_failed", 403)


def test_forged_cross_site_signout_is_403(browser: Client) -> None:
    response = browser.post(SIGNOUT, headers={"Origin": "https://evil.example"})
    assert_refused(response, "csrf_failed", 403)
    assert V4_COOKIE not in response.cookies


def test_cross_site_google_sign_in_start_is_403() -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/auth/signin/google", headers={"Origin": "https://evil.example"})
    assert_refused(response, "csrf_failed", 403)


def test_login_csrf_with_a_spoofed_host_matching_the_origin_is_400() -> None:
    # Origin == Host only proves same-origin if Host is one of ours: ALLOWED_HOSTS decides.
    client = Client(enforce_csrf_checks=True)
    response = login(client, Origin="http://evil.example", Host="evil.example")
    assert response.status_code == 400
