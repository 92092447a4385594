"""Pins on the sign-in path that no test held (issue 27).

Each test names one behaviour of ``views`` (custom-login, the Google start), ``throttle``
(the signed client address, the budgets) or ``pipeline`` (the verified-email guard) that a
reviewer's plausible slip could break with the whole fast suite still green. Each was shown
to fail with that slip applied by hand.
"""

from __future__ import annotations

import json
import types
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.http import JsonResponse
from django.test import Client, RequestFactory

from django_nextauth_jwt import pipeline, views
from django_nextauth_jwt.state import throttle
from django_nextauth_jwt.state.throttle import (
    ClientAddressInvalid,
    client_address,
    client_address_signature,
)
from tests.forge import OTHER_SECRET, SECRET
from tests.google_server import GoogleStandIn
from tests.google_standin import StandInGoogleOAuth2
from tests.request_helpers import nextauth_csrf_cookie
from tests.test_google import browser, google, google_server  # noqa: F401
from tests.test_google import sign_in as google_sign_in

pytestmark = [pytest.mark.django_db, pytest.mark.db]

LOGIN = "/api/auth/custom-login"
GOOGLE_START = "/api/auth/signin/google"
PASSWORD = "correct horse battery staple"
NOW = 1_800_000_000
THIRD_SECRET = "third-secret-0123456789-abcdefghijklmno"


@pytest.fixture
def ada() -> Any:
    return get_user_model().objects.create_user("ada", email="ada@example.com", password=PASSWORD)


def login(body: dict[str, Any] | str, client: Client | None = None, **extra: Any) -> Any:
    data = body if isinstance(body, str) else json.dumps(body)
    return (client or Client()).post(LOGIN, data=data, content_type="application/json", **extra)


def signed(address: str, *, secret: str = SECRET, at: int = NOW) -> str:
    return f"{address};{at};{client_address_signature(address, at, secret)}"


@pytest.fixture
def frozen(monkeypatch: pytest.MonkeyPatch) -> int:
    """The throttle's wall clock stopped at ``NOW`` (the assertion's time window)."""
    monkeypatch.setattr(throttle, "time", types.SimpleNamespace(time=lambda: float(NOW)))
    return NOW


def asserted(header: str) -> str:
    request = RequestFactory().post(LOGIN, HTTP_X_NEXTAUTH_CLIENT_ADDRESS=header)
    return client_address(request)


# --------------------------------------------------------------------------- #
# CSRF on the sign-in views
# --------------------------------------------------------------------------- #


def test_signin_origin_that_merely_extends_a_trusted_origin_is_refused(
    settings: Any, ada: Any
) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com"]
    page = Client(enforce_csrf_checks=True)
    body = {"email": "ada@example.com", "password": PASSWORD}
    refused = login(body, page, HTTP_ORIGIN="https://app.example.com.evil.test")
    assert (refused.status_code, refused.json()["code"]) == (403, "csrf_failed")
    # The control: the trusted origin itself passes.
    assert login(body, page, HTTP_ORIGIN="https://app.example.com").status_code == 200


def test_signin_check_accepts_nextauth_double_submit_token(ada: Any) -> None:
    # A cookie-carrying browser call without Origin and without Django's token passes on
    # NextAuth's own proof: its CSRF cookie, echoed in the header.
    page = Client(enforce_csrf_checks=True)
    page.cookies["next-auth.csrf-token"] = nextauth_csrf_cookie("f1c2e3d4" * 6)
    body = {"email": "ada@example.com", "password": PASSWORD}
    assert login(body, page, HTTP_X_CSRF_TOKEN="f1c2e3d4" * 6).status_code == 200
    # The control: without the echo, the same call is refused.
    assert login(body, page).status_code == 403


# --------------------------------------------------------------------------- #
# The signed client address
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("signer", [SECRET, OTHER_SECRET], ids=["first", "middle"])
def test_signed_client_address_verifies_with_a_secret_that_is_not_the_last(
    settings: Any, frozen: int, signer: str
) -> None:
    # During a rotation the Next.js server may still sign with any of the secrets: every one
    # is tried and any one is enough, not only the last one tried.
    settings.NEXTAUTH_SECRET = [SECRET, OTHER_SECRET, THIRD_SECRET]
    assert asserted(signed("203.0.113.7", secret=signer)) == "203.0.113.7"


@pytest.mark.parametrize(
    ("signed_text", "address"),
    [
        ("::ffff:1.2.3.4", "::ffff:102:304"),
        ("2001:DB8::1", "2001:db8::1"),
        ("2001:db8:0:0:0:0:0:1", "2001:db8::1"),
    ],
)
def test_client_address_signature_is_checked_over_the_text_nextjs_signed(
    frozen: int, signed_text: str, address: str
) -> None:
    # Next.js signs the address as it has it; the check must not normalise it first.
    assert asserted(signed(signed_text)) == address


def test_client_address_exactly_max_age_old_or_ahead_is_accepted(
    settings: Any, frozen: int
) -> None:
    settings.NEXTAUTH_CLIENT_ADDRESS_MAX_AGE = 30
    assert asserted(signed("203.0.113.7", at=NOW - 30)) == "203.0.113.7"
    assert asserted(signed("203.0.113.7", at=NOW + 30)) == "203.0.113.7"
    for stamp in (NOW - 31, NOW + 31):
        with pytest.raises(ClientAddressInvalid):
            asserted(signed("203.0.113.7", at=stamp))


# --------------------------------------------------------------------------- #
# Budgets
# --------------------------------------------------------------------------- #


def test_a_successful_signin_gives_the_clients_budget_back(settings: Any, ada: Any) -> None:
    settings.NEXTAUTH_LOGIN_RATE_PER_CLIENT = (2, 300)
    settings.NEXTAUTH_LOGIN_RATE_PER_ACCOUNT = (100, 300)
    body = {"email": "ada@example.com", "password": PASSWORD}
    statuses = [login(body, REMOTE_ADDR="203.0.113.9").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 200]
    # The control: failures do add up.
    body["password"] = "wrong"
    statuses = [login(body, REMOTE_ADDR="203.0.113.9").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]


def test_a_successful_signin_gives_the_accounts_budget_back(settings: Any, ada: Any) -> None:
    settings.NEXTAUTH_LOGIN_RATE_PER_CLIENT = (100, 300)
    settings.NEXTAUTH_LOGIN_RATE_PER_ACCOUNT = (2, 300)
    body = {"email": "ada@example.com", "password": PASSWORD}
    assert [login(body).status_code for _ in range(4)] == [200, 200, 200, 200]


def test_google_start_counts_ipv6_clients_per_64(settings: Any) -> None:
    settings.NEXTAUTH_LOGIN_RATE_PER_CLIENT = (2, 300)
    started = [
        Client().post(GOOGLE_START, REMOTE_ADDR=f"2001:db8:1:2::{i}").status_code
        for i in range(1, 4)
    ]
    assert started == [302, 302, 429]
    # Another /64 has a budget of its own.
    assert Client().post(GOOGLE_START, REMOTE_ADDR="2001:db8:1:3::1").status_code == 302


# --------------------------------------------------------------------------- #
# What custom-login reads, to the byte
# --------------------------------------------------------------------------- #


def _body_of_size(size: int) -> bytes:
    base = json.dumps({"email": "ada@example.com", "password": ""}).encode()
    pad = "x" * (size - len(base))
    raw = json.dumps({"email": "ada@example.com", "password": pad}).encode()
    assert len(raw) == size
    return raw


def test_a_body_of_exactly_max_body_size_is_read(settings: Any) -> None:
    settings.NEXTAUTH_MAX_BODY_SIZE = 200
    assert views.read_body(RequestFactory().post(LOGIN, _body_of_size(200), "application/json"))
    with pytest.raises(views.BodyTooLarge):
        views.read_body(RequestFactory().post(LOGIN, _body_of_size(201), "application/json"))


@pytest.mark.parametrize("declared", [None, ""], ids=["absent", "empty"])
def test_a_body_without_content_length_is_still_held_to_the_size_limit(
    settings: Any, declared: str | None
) -> None:
    settings.NEXTAUTH_MAX_BODY_SIZE = 200
    request = RequestFactory().post(LOGIN, _body_of_size(201), "application/json")
    if declared is None:
        del request.META["CONTENT_LENGTH"]
    else:
        request.META["CONTENT_LENGTH"] = declared
    with pytest.raises(views.BodyTooLarge):
        views.read_body(request)
    response = views.CustomLoginView.as_view()(request)
    assert isinstance(response, JsonResponse)
    assert (response.status_code, json.loads(response.content)["code"]) == (
        413,
        "request_too_large",
    )


def test_a_password_of_exactly_max_password_length_is_checked(settings: Any, ada: Any) -> None:
    settings.NEXTAUTH_MAX_PASSWORD_LENGTH = 40
    answer = login({"email": "ada@example.com", "password": "p" * 40})
    assert (answer.status_code, answer.json()["code"]) == (401, "invalid_credentials")
    answer = login({"email": "ada@example.com", "password": "p" * 41})
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid_request")


def test_an_identifier_of_exactly_254_characters_is_checked(ada: Any) -> None:
    local = "a" * (254 - len("@example.com"))
    answer = login({"email": f"{local}@example.com", "password": PASSWORD})
    assert (answer.status_code, answer.json()["code"]) == (401, "invalid_credentials")
    answer = login({"email": f"{local}a@example.com", "password": PASSWORD})
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid_request")


@pytest.fixture
def hashings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every password hash computed (what a password check costs), counted."""
    from django.contrib.auth import base_user, hashers

    calls: list[str] = []
    original = hashers.make_password

    def counting(password: str | None, *args: Any, **kwargs: Any) -> str:
        calls.append("hash")
        return original(password, *args, **kwargs)

    monkeypatch.setattr(base_user, "make_password", counting)
    return calls


def test_an_ambiguous_identifier_costs_a_password_hash_like_any_refusal(
    hashings: list[str],
) -> None:
    # Two accounts the identifier names alike are refused; the refusal must take the time a
    # password check takes, or its speed tells an attacker the identifier is ambiguous.
    user_model = get_user_model()
    user_model.objects.create_user("one", email="ada@example.com", password=PASSWORD)
    user_model.objects.create_user("two", email="ADA@example.com", password=PASSWORD)
    hashings.clear()
    answer = login({"email": "Ada@example.com", "password": PASSWORD})
    assert (answer.status_code, answer.json()["code"]) == (401, "invalid_credentials")
    ambiguous = len(hashings)
    hashings.clear()
    assert login({"username": "nobody", "password": PASSWORD}).status_code == 401
    assert ambiguous == len(hashings) >= 1


# --------------------------------------------------------------------------- #
# Google: the verified-email guard, on its own
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    "profile",
    [
        {"email": "ada@example.com", "email_verified": False},
        {"email": "ada@example.com"},
        {"email": "ada@example.com", "email_verified": "true"},
        {"email": "ada@example.com", "email_verified": 1},
        None,
    ],
    ids=["false", "missing", "string-true", "one", "no-profile"],
)
def test_google_guard_refuses_an_email_google_has_not_verified(profile: Any) -> None:
    # The stand-in Google's backend refuses such profiles first (social-core's own check):
    # the guard is called here on its own, as a backend without that check would reach it.
    from social_core.exceptions import AuthPolicyError

    with pytest.raises(AuthPolicyError):
        pipeline.require_verified_email(object(), profile)


def test_google_guard_lets_a_verified_email_through() -> None:
    profile = {"email": "ada@example.com", "email_verified": True}
    pipeline.require_verified_email(object(), profile)  # no AuthPolicyError


def test_google_guard_runs_before_any_step_that_could_match_an_account() -> None:
    steps = list(pipeline.PIPELINE)
    guard = steps.index("django_nextauth_jwt.pipeline.require_verified_email")
    for step in (
        "social_core.pipeline.social_auth.social_user",
        "social_core.pipeline.user.create_user",
        "social_core.pipeline.social_auth.associate_user",
    ):
        assert guard < steps.index(step), step


def test_google_sign_in_with_an_unverified_email_is_refused_by_our_guard_alone(
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    browser: Client,  # noqa: F811 - the fixture, imported above
    google: GoogleStandIn,  # noqa: F811
) -> None:
    # social-core's own check switched off, as in a backend that lacks it: only the
    # pipeline's guard stands between the unverified address and an account.
    monkeypatch.setattr(StandInGoogleOAuth2, "validate_email_verified", lambda self, data: None)
    settings.NEXTAUTH_SIGNIN_URL = "/login"
    google.profile["email_verified"] = "true"
    response = google_sign_in(browser, google)
    assert response.status_code == 302
    assert response["Location"].startswith("/login?error=AccessDenied")
    assert not get_user_model().objects.exists()


# --------------------------------------------------------------------------- #
# custom-login: which account, and what it answers
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("identifier", [" \t ", "ada\x00@example.com"], ids=["blank", "nul"])
def test_an_identifier_blank_after_trimming_or_unstorable_is_a_bad_request(
    ada: Any, identifier: str
) -> None:
    answer = login({"email": identifier, "password": PASSWORD})
    assert (answer.status_code, answer.json()["code"]) == (400, "invalid_request")


def test_an_identifier_without_at_sign_names_only_a_username(ada: Any) -> None:
    # Another account whose email field holds the same text (no "@": not an address) does not
    # make the username ambiguous: without "@" the email field is not searched.
    get_user_model().objects.create_user("carol", email="ada", password="another one")
    answer = login({"username": "ada", "password": PASSWORD})
    assert answer.status_code == 200


class OtherUserBackend:
    """An authentication backend that answers with an account the identifier does not name."""

    def authenticate(self, request: Any, username: str | None = None, **kwargs: Any) -> Any:
        return get_user_model().objects.get(username="mallory")

    def get_user(self, user_id: Any) -> Any:
        return get_user_model().objects.filter(pk=user_id).first()


def test_a_backend_answering_with_another_account_signs_in_no_one(settings: Any, ada: Any) -> None:
    get_user_model().objects.create_user("mallory", email="mallory@example.com")
    settings.AUTHENTICATION_BACKENDS = ["tests.test_pins_signin.OtherUserBackend"]
    answer = login({"email": "ada@example.com", "password": PASSWORD})
    assert (answer.status_code, answer.json()["code"]) == (401, "invalid_credentials")


def test_the_csrf_token_answer_is_never_cached() -> None:
    response = Client().get("/api/auth/csrf")
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]


# --------------------------------------------------------------------------- #
# The pipeline's own steps, called as social-core calls them
# --------------------------------------------------------------------------- #


def test_google_guard_names_the_backend_and_why_for_the_log() -> None:
    from social_core.exceptions import AuthPolicyError

    backend = object()
    with pytest.raises(AuthPolicyError) as info:
        pipeline.require_verified_email(backend, {"email_verified": False})
    assert info.value.backend is backend
    assert info.value.detail == "email not verified"


class _Strategy:
    """What issue_token reads of social-core's strategy: the request and the saved callback."""

    def __init__(self, request: Any) -> None:
        self.request = request

    def session_get(self, key: str) -> str:
        return "/dashboard"


@pytest.mark.parametrize("who", ["nobody", "inactive"])
def test_issue_token_refuses_a_missing_or_inactive_user_naming_the_backend_and_why(
    ada: Any, who: str
) -> None:
    from social_core.exceptions import AuthPolicyError

    ada.is_active = False
    backend = object()
    request = RequestFactory().get("/complete/google/")
    with pytest.raises(AuthPolicyError) as info:
        pipeline.issue_token(_Strategy(request), backend, user=None if who == "nobody" else ada)
    assert info.value.backend is backend
    assert info.value.detail == "inactive user"
    assert not hasattr(request, "nextauth_token_issued")


def test_google_sign_in_expires_the_cookie_chunks_the_browser_still_holds(ada: Any) -> None:
    request = RequestFactory().get("/complete/google/")
    name = "next-auth.session-token"
    request.COOKIES = {f"{name}.0": "old", f"{name}.1": "old"}  # a longer session before
    response = pipeline.issue_token(_Strategy(request), object(), user=ada)
    assert response["Location"] == "/dashboard"
    assert getattr(request, "nextauth_token_issued", None) is True
    assert response.cookies[name].value
    assert [response.cookies[f"{name}.{i}"]["max-age"] for i in (0, 1)] == [0, 0]


def test_sign_in_tells_django_who_signed_in_through_which_request(ada: Any) -> None:
    from django.contrib.auth import user_logged_in
    from django.http import HttpResponse

    from django_nextauth_jwt.signin import sign_in

    seen: list[tuple[Any, Any, Any]] = []

    def receiver(sender: Any, request: Any, user: Any, **kwargs: Any) -> None:
        seen.append((sender, request, user))

    user_logged_in.connect(receiver)
    try:
        request = RequestFactory().post(LOGIN)
        sign_in(request, ada, lambda token, claims: HttpResponse())
    finally:
        user_logged_in.disconnect(receiver)
    assert seen == [(type(ada), request, ada)]
