"""Attacks on the sign-in views: open redirects, OAuth state replay, brute force, user
enumeration, oversized passwords, session-cookie attributes, replay after sign-out.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import MD5PasswordHasher
from django.test import Client

from django_nextauth_jwt import JWTAuth
from tests import test_google
from tests.google_server import TOKEN_PATH, GoogleStandIn
from tests.security.helpers import (
    LOGIN,
    SECURE_V5_COOKIE,
    SIGNOUT,
    V4_COOKIE,
    assert_refused,
    refused_everywhere,
)
from tests.test_google import assert_no_session_cookie, come_back, consent
from tests.test_redirects import OPEN_REDIRECT_PAYLOADS

pytestmark = [pytest.mark.django_db, pytest.mark.db]

# The Google stand-in fixtures of the Google sign-in tests, reused as they are.
google_server = test_google.google_server
google = test_google.google

PASSWORD = "correct horse battery staple"
DEFAULT_TARGET = "/home"
SIGNIN_PAGE = "/login"


@pytest.fixture(autouse=True)
def _signin_settings(settings: Any) -> None:
    settings.NEXTAUTH_LOGIN_REDIRECT_URL = DEFAULT_TARGET
    settings.NEXTAUTH_SIGNIN_URL = SIGNIN_PAGE
    settings.NEXTAUTH_ALLOWED_REDIRECT_ORIGINS = ["https://app.example.com"]


@pytest.fixture
def user() -> Any:
    return get_user_model().objects.create_user(
        "ada", email="ada@example.com", password=PASSWORD, first_name="Ada"
    )


@pytest.fixture
def hashes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password hash computed (the work a login does per attempt)."""
    calls: list[str] = []
    original = MD5PasswordHasher.encode

    def counting(self: MD5PasswordHasher, password: str, salt: str) -> str:
        calls.append("hash")
        return original(self, password, salt)

    monkeypatch.setattr(MD5PasswordHasher, "encode", counting)
    return calls


def login(**body: Any) -> Any:
    client = Client(enforce_csrf_checks=True)
    extra = body.pop("extra", {})
    return client.post(LOGIN, data=json.dumps(body), content_type="application/json", **extra)


def form_login(**body: Any) -> Any:
    client = Client(enforce_csrf_checks=True)
    return client.post(LOGIN, body, HTTP_ACCEPT="text/html", HTTP_ORIGIN="http://testserver")


def redirect_ids(payloads: list[str]) -> list[str]:
    return [f"payload_{i}_{p[:24]!r}" for i, p in enumerate(payloads)]


# --------------------------------------------------------------------------- #
# Open redirects
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("target", OPEN_REDIRECT_PAYLOADS, ids=redirect_ids(OPEN_REDIRECT_PAYLOADS))
def test_open_redirect_in_custom_login_lands_on_the_default(user: Any, target: str) -> None:
    response = login(email="ada@example.com", password=PASSWORD, callbackUrl=target)
    assert (response.status_code, response.json()["url"]) == (200, DEFAULT_TARGET)
    form = form_login(email="ada@example.com", password=PASSWORD, callbackUrl=target)
    assert (form.status_code, form["Location"]) == (303, DEFAULT_TARGET)


@pytest.mark.parametrize("target", OPEN_REDIRECT_PAYLOADS, ids=redirect_ids(OPEN_REDIRECT_PAYLOADS))
def test_open_redirect_in_a_failed_form_login_is_not_echoed(user: Any, target: str) -> None:
    response = form_login(email="ada@example.com", password="wrong", callbackUrl=target)
    assert response.status_code == 303
    assert response["Location"] == f"{SIGNIN_PAGE}?error=CredentialsSignin&callbackUrl=%2Fhome"


@pytest.mark.parametrize("target", OPEN_REDIRECT_PAYLOADS, ids=redirect_ids(OPEN_REDIRECT_PAYLOADS))
def test_open_redirect_in_signout_lands_on_the_default(target: str) -> None:
    # Signed out, the default is the sign-in page (the protected landing page would bounce).
    client = Client(enforce_csrf_checks=True)
    body = json.dumps({"callbackUrl": target})
    response = client.post(SIGNOUT, data=body, content_type="application/json")
    assert (response.status_code, response.json()) == (200, {"url": SIGNIN_PAGE})
    form = client.post(
        SIGNOUT, {"callbackUrl": target}, HTTP_ACCEPT="text/html", HTTP_ORIGIN="http://testserver"
    )
    assert (form.status_code, form["Location"]) == (303, SIGNIN_PAGE)


# --------------------------------------------------------------------------- #
# OAuth state replay (Google, against the local stand-in over HTTP)
# --------------------------------------------------------------------------- #


def oauth_error_location() -> str:
    return f"{SIGNIN_PAGE}?error=OAuthCallback&callbackUrl=%2Fhome"


def test_replayed_oauth_callback_is_refused(google: GoogleStandIn) -> None:
    browser = Client(enforce_csrf_checks=True)
    query = consent(browser, google, "/dashboard")
    assert come_back(browser, query).status_code == 302
    replay = come_back(browser, query)
    assert (replay.status_code, replay["Location"]) == (302, oauth_error_location())
    assert_no_session_cookie(replay)
    assert len(google.calls(TOKEN_PATH)) == 1  # refused before the code is spent again


def test_oauth_callback_with_a_forged_state_is_refused(google: GoogleStandIn) -> None:
    browser = Client(enforce_csrf_checks=True)
    query = consent(browser, google, "/dashboard")
    forged = come_back(browser, {**query, "state": "attacker-chosen-state-0123456789"})
    assert forged.status_code == 302
    assert forged["Location"].startswith(f"{SIGNIN_PAGE}?error=OAuthCallback")
    assert_no_session_cookie(forged)
    assert google.calls(TOKEN_PATH) == []


def test_oauth_callback_replayed_in_another_browser_is_refused(google: GoogleStandIn) -> None:
    victim = Client(enforce_csrf_checks=True)
    query = consent(victim, google, "/dashboard")
    attacker = Client(enforce_csrf_checks=True)
    stolen = come_back(attacker, query)
    assert (stolen.status_code, stolen["Location"]) == (302, oauth_error_location())
    assert_no_session_cookie(stolen)


# --------------------------------------------------------------------------- #
# Brute force and user enumeration
# --------------------------------------------------------------------------- #


def test_brute_force_with_rotating_x_forwarded_for_is_throttled(settings: Any) -> None:
    settings.NEXTAUTH_LOGIN_RATE_PER_CLIENT = (3, 300)
    answers = [
        login(
            email=f"user{i}@example.com",
            password="guess",
            extra={"HTTP_X_FORWARDED_FOR": f"198.51.100.{i}, 203.0.113.{i}"},
        )
        for i in range(5)
    ]
    assert [a.status_code for a in answers] == [401, 401, 401, 429, 429]
    assert_refused(answers[-1], "too_many_attempts", 429)
    assert 1 <= int(answers[-1]["Retry-After"]) <= 300


def test_brute_force_with_a_forged_x_forwarded_for_behind_a_trusted_proxy_is_throttled(
    settings: Any,
) -> None:
    # One trusted proxy appends the real address: the client's own entries are ignored.
    settings.NEXTAUTH_TRUSTED_PROXY_COUNT = 1
    settings.NEXTAUTH_LOGIN_RATE_PER_CLIENT = (3, 300)
    codes = [
        login(
            email=f"user{i}@example.com",
            password="guess",
            extra={"HTTP_X_FORWARDED_FOR": f"198.51.100.{i}, 192.0.2.7"},
        ).status_code
        for i in range(5)
    ]
    assert codes == [401, 401, 401, 429, 429]


def test_brute_force_on_one_account_from_rotating_addresses_is_throttled(user: Any) -> None:
    answers = [
        login(email="ada@example.com", password=f"guess{i}", extra={"REMOTE_ADDR": f"10.0.0.{i}"})
        for i in range(7)
    ]
    assert [a.status_code for a in answers] == [401] * 5 + [429] * 2
    assert_refused(answers[-1], "too_many_attempts", 429)
    # Throttled means throttled: the right password does not get through either.
    right = login(email="ada@example.com", password=PASSWORD, extra={"REMOTE_ADDR": "10.0.1.1"})
    assert_refused(right, "too_many_attempts", 429)


def test_brute_force_with_case_and_whitespace_variants_of_one_account_is_throttled(
    user: Any,
) -> None:
    variants = ["ada@example.com", "ADA@example.com", " ada@example.com", "Ada@Example.com "]
    codes = [
        login(email=v, password="guess", extra={"REMOTE_ADDR": f"10.0.0.{i}"}).status_code
        for i, v in enumerate(variants * 2)
    ]
    assert codes == [401] * 5 + [429] * 3


def answer_of(response: Any) -> tuple[Any, ...]:
    cookies = sorted((name, m.value) for name, m in response.cookies.items())
    return (
        response.status_code,
        response.content,
        response["Content-Type"],
        response.get("WWW-Authenticate"),
        response.get("Cache-Control"),
        cookies,
    )


@pytest.mark.parametrize(
    "probe",
    [
        {"email": "nobody@example.com"},
        {"username": "nobody"},
        {"email": "ADA@EXAMPLE.COM"},
        {"username": "ada"},
    ],
    ids=["unknown_email", "unknown_username", "known_email_other_case", "known_username"],
)
def test_user_enumeration_gets_the_same_answer_and_the_same_hashing_work(
    user: Any, hashes: list[str], probe: dict[str, str]
) -> None:
    known = login(email="ada@example.com", password="wrong")
    work_known = len(hashes)
    hashes.clear()
    other = login(password="wrong", **probe)
    assert answer_of(other) == answer_of(known)
    assert work_known >= 1
    assert len(hashes) == work_known


def test_inactive_user_gets_the_same_answer_as_an_unknown_user(user: Any) -> None:
    user.is_active = False
    user.save()
    inactive = login(email="ada@example.com", password=PASSWORD)
    unknown = login(email="nobody@example.com", password=PASSWORD)
    assert answer_of(inactive) == answer_of(unknown)
    assert_refused(inactive, "invalid_credentials")


# --------------------------------------------------------------------------- #
# Oversized input to the login
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("size", "status", "code"),
    [(1025, 400, "invalid_request"), (1_000_000, 413, "request_too_large")],
    ids=["just_over_the_cap", "one_megabyte"],
)
def test_oversized_password_is_refused_before_hashing(
    user: Any, hashes: list[str], size: int, status: int, code: str
) -> None:
    response = login(email="ada@example.com", password="x" * size)
    assert_refused(response, code, status)
    assert hashes == []


def test_oversized_identifier_is_400_before_any_lookup(
    user: Any, hashes: list[str], django_assert_num_queries: Any
) -> None:
    with django_assert_num_queries(0):
        response = login(email="a" * 300 + "@example.com", password="guess")
    assert_refused(response, "invalid_request", 400)
    assert hashes == []


def test_body_over_the_upload_limit_is_413(hashes: list[str]) -> None:
    response = login(email="ada@example.com", password="x", padding="y" * 3_000_000)
    assert_refused(response, "request_too_large", 413)
    assert hashes == []


def test_deeply_nested_login_json_is_400() -> None:
    client = Client(enforce_csrf_checks=True)
    # Deeper than json's recursion limit, smaller than NEXTAUTH_MAX_BODY_SIZE.
    response = client.post(LOGIN, data="[" * 5000, content_type="application/json")
    assert_refused(response, "invalid_request", 400)


@pytest.mark.parametrize(
    "body",
    [
        {"email": ["ada@example.com"], "password": PASSWORD},
        {"email": {"$ne": None}, "password": PASSWORD},
        {"email": "ada@example.com", "password": {"$gt": ""}},
        {"email": "ada@example.com", "password": None},
    ],
    ids=[
        "email_as_list",
        "email_as_operator_object",
        "password_as_operator_object",
        "null_password",
    ],
)
def test_login_with_non_string_credentials_is_400(user: Any, body: dict[str, Any]) -> None:
    assert_refused(login(**body), "invalid_request", 400)


# --------------------------------------------------------------------------- #
# Cookie attributes; replay after sign-out
# --------------------------------------------------------------------------- #


def attributes(response: Any, name: str) -> dict[str, Any]:
    morsel = response.cookies[name]
    return {key: morsel[key] for key in ("path", "httponly", "samesite", "secure", "domain")}


def test_session_cookie_is_httponly_samesite_lax_path_root_and_host_only(user: Any) -> None:
    response = login(email="ada@example.com", password=PASSWORD)
    assert response.status_code == 200
    assert attributes(response, V4_COOKIE) == {
        "path": "/",
        "httponly": True,
        "samesite": "Lax",
        "secure": "",
        "domain": "",
    }


def test_secure_prefixed_session_cookie_is_secure(user: Any, settings: Any) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    settings.NEXTAUTH_SECURE_COOKIE = True
    response = login(email="ada@example.com", password=PASSWORD)
    assert attributes(response, SECURE_V5_COOKIE) == {
        "path": "/",
        "httponly": True,
        "samesite": "Lax",
        "secure": True,
        "domain": "",
    }


def test_signout_expires_every_chunk_with_the_same_attributes() -> None:
    client = Client(enforce_csrf_checks=True)
    names = [V4_COOKIE, f"{V4_COOKIE}.0", f"{V4_COOKIE}.1"]
    for name in names:
        client.cookies[name] = "stale"
    response = client.post(SIGNOUT, headers={"Origin": "http://testserver"})
    for name in names:
        assert response.cookies[name]["max-age"] == 0
        assert attributes(response, name)["httponly"] is True
        assert attributes(response, name)["path"] == "/"
        assert attributes(response, name)["samesite"] == "Lax"


def test_token_replayed_after_signout_is_refused(user: Any) -> None:
    token = login(email="ada@example.com", password=PASSWORD).json()["token"]
    signout = Client().post(SIGNOUT, headers={"Authorization": f"Bearer {token}"})
    assert signout.status_code == 200
    refused_everywhere("token_revoked", token=token)
    assert JWTAuth.authenticate_token(token).error == "token_revoked"


# --------------------------------------------------------------------------- #
# Request bodies past NEXTAUTH_MAX_BODY_SIZE; anonymous floods of the Google start
# --------------------------------------------------------------------------- #

GOOGLE_START = "/api/auth/signin/google"


def test_login_body_past_max_body_size_is_413_before_any_parsing_lookup_or_hash(
    user: Any, hashes: list[str], django_assert_num_queries: Any
) -> None:
    # Under Django's 2.5 MB upload limit, over the sign-in cap: refused unread.
    with django_assert_num_queries(0):
        response = login(email="ada@example.com", password=PASSWORD, padding="y" * 9000)
    assert_refused(response, "request_too_large", 413)
    assert hashes == []
    assert not [m for m in response.cookies.values() if m.value]


def test_login_body_past_a_configured_max_body_size_is_413(user: Any, settings: Any) -> None:
    settings.NEXTAUTH_MAX_BODY_SIZE = 256
    assert login(email="ada@example.com", password=PASSWORD).status_code == 200
    response = login(email="ada@example.com", password=PASSWORD, padding="y" * 256)
    assert_refused(response, "request_too_large", 413)


def test_login_with_a_lying_content_length_is_refused_unread(user: Any) -> None:
    body = json.dumps({"email": "ada@example.com", "password": PASSWORD}).encode()
    response = Client().generic(
        "POST", LOGIN, body, content_type="application/json", CONTENT_LENGTH=str(10**9)
    )
    assert_refused(response, "request_too_large", 413)


def test_google_sign_in_start_with_a_body_past_max_body_size_is_413_and_writes_no_session(
    google: Any,
) -> None:
    from django.contrib.sessions.models import Session

    response = Client().post(
        GOOGLE_START, data=json.dumps({"callbackUrl": "/x" * 5000}), content_type="application/json"
    )
    assert_refused(response, "request_too_large", 413)
    assert not Session.objects.exists()


def test_anonymous_flood_of_google_sign_in_starts_writes_no_session_rows_past_the_budget(
    google: Any, settings: Any
) -> None:
    from django.contrib.sessions.models import Session

    settings.NEXTAUTH_LOGIN_RATE_PER_CLIENT = (3, 300)
    # A fresh client each time (no cookies): every start would be a new session row.
    answers = [Client().post(GOOGLE_START) for _ in range(10)]
    assert [a.status_code for a in answers] == [302] * 3 + [429] * 7
    assert_refused(answers[-1], "too_many_attempts", 429)
    assert 1 <= int(answers[-1]["Retry-After"]) <= 300
    # Not even the starts within the budget write one: the flow's state is in a signed cookie.
    assert Session.objects.count() == 0
    # Another client address has its own budget.
    other = Client(REMOTE_ADDR="198.51.100.9").post(GOOGLE_START)
    assert other.status_code == 302


def test_google_sign_in_start_while_the_throttle_store_is_down_is_503_and_writes_no_session(
    google: Any, settings: Any
) -> None:
    from django.contrib.sessions.models import Session

    # No counters, no flood protection: refuse rather than write unthrottled sessions.
    settings.NEXTAUTH_REDIS_URL = "redis://127.0.0.1:1/0"  # the state store; nothing listens
    response = Client().post(GOOGLE_START)
    assert_refused(response, "throttle_unavailable", 503)
    assert response["Retry-After"] == "5"
    assert not Session.objects.exists()
