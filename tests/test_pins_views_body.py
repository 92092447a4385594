"""Pins on what the sign-in views read and how they refuse (issue 27): the body and its size
limit, the throttle's three refusals word for word, the session's ``image`` and ``role``, the
CSRF policy's ``null`` origin and absent settings, and which requests get a browser redirect.
Each test was shown to fail with ``make mutate``'s mutant, in mutmut's own trampolines.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import urlencode

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import DisallowedHost
from django.test import Client, RequestFactory
from django.views.debug import ExceptionReporter
from django.views.decorators.debug import sensitive_variables

from django_nextauth_jwt import JWTAuth, views
from django_nextauth_jwt.state import throttle
from tests import forge
from tests.request_helpers import nextauth_csrf_cookie

pytestmark = [pytest.mark.django_db]

LOGIN = "/api/auth/custom-login"
SESSION = "/api/auth/session"
COOKIE = "next-auth.session-token"
CSRF_COOKIE = "next-auth.csrf-token"
CSRF_TOKEN = "0a1b2c3d" * 6
CREDENTIALS = {"email": "nobody@example.com", "password": "not the password"}
FORM = "application/x-www-form-urlencoded"


def body_of(response: Any) -> tuple[int, dict[str, Any]]:
    return response.status_code, json.loads(response.content)


def json_of_size(size: int) -> bytes:
    """Credentials as a JSON object, padded with trailing whitespace to exactly ``size`` bytes."""
    raw = json.dumps(CREDENTIALS).encode()
    assert len(raw) <= size
    return raw + b" " * (size - len(raw))


def form_of_size(size: int) -> str:
    """Credentials as a urlencoded form, with a padding field, of exactly ``size`` bytes."""
    base = urlencode({**CREDENTIALS, "pad": ""})
    return urlencode({**CREDENTIALS, "pad": "x" * (size - len(base))})


def login(data: str | bytes, content_type: str = "application/json", **extra: Any) -> Any:
    return Client().post(LOGIN, data=data, content_type=content_type, **extra)


def refused_reading(request: Any) -> str:
    """Why ``read_body`` refuses ``request``, as a view calling it sees the ``BodyError``."""
    with pytest.raises(views.BodyError) as info:
        views.read_body(request)
    return str(info.value)


class StoreDown(Exception):
    """The throttle's store failing, as a backend's own error would."""


def store_down(*args: Any, **kwargs: Any) -> int | None:
    raise StoreDown("redis said no to secret-ish detail")


# --------------------------------------------------------------------------- #
# The size limit, at its edges
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("wrong", [True, "4096"], ids=["bool", "text"])
def test_a_size_limit_of_the_wrong_type_falls_back_to_8192_bytes(settings: Any, wrong: Any) -> None:
    settings.NEXTAUTH_MAX_BODY_SIZE = wrong
    assert views.max_body_size() == 8192
    assert body_of(login(json_of_size(8192)))[1]["code"] == "invalid_credentials"
    assert body_of(login(json_of_size(8193))) == (
        413,
        {"detail": "The request body is too large.", "code": "request_too_large"},
    )


def test_a_form_body_one_byte_over_the_limit_is_refused_unread(settings: Any) -> None:
    settings.NEXTAUTH_MAX_BODY_SIZE = 200
    at_limit = login(form_of_size(200), FORM)
    assert body_of(at_limit) == (
        401,
        {"detail": "Invalid email or password.", "code": "invalid_credentials"},
    )
    over = login(form_of_size(201), FORM)
    assert body_of(over) == (
        413,
        {"detail": "The request body is too large.", "code": "request_too_large"},
    )


def test_a_declared_length_over_the_limit_is_refused_as_too_large(settings: Any) -> None:
    settings.NEXTAUTH_MAX_BODY_SIZE = 64
    request = RequestFactory().post(LOGIN, json_of_size(65), "application/json")
    with pytest.raises(views.BodyTooLarge) as info:
        views.read_body(request)
    assert str(info.value) == "body too large"


def test_a_body_without_content_length_over_the_limit_is_refused_as_too_large(
    settings: Any,
) -> None:
    settings.NEXTAUTH_MAX_BODY_SIZE = 64
    request = RequestFactory().post(LOGIN, json_of_size(65), "application/json")
    del request.META["CONTENT_LENGTH"]
    with pytest.raises(views.BodyTooLarge) as info:
        views.read_body(request)
    assert str(info.value) == "body too large"


# --------------------------------------------------------------------------- #
# Bodies that are not a JSON object or a form
# --------------------------------------------------------------------------- #


def test_an_unreadable_content_length_is_a_400_and_named_so() -> None:
    request = RequestFactory().post(LOGIN, json.dumps(CREDENTIALS), "application/json")
    request.META["CONTENT_LENGTH"] = "12x"
    assert refused_reading(request) == "unreadable length"
    assert body_of(views.CustomLoginView.as_view()(request)) == (
        400,
        {"detail": "Send email and password as JSON or a form.", "code": "invalid_request"},
    )


@pytest.mark.parametrize("raw", ["", "[1]", '"text"', "null"], ids=["empty", "list", "str", "null"])
def test_json_that_is_no_object_is_refused_as_such(raw: str) -> None:
    # The content type is sent even with an empty body, as a fetch() with no body sends it.
    request = RequestFactory().post(LOGIN, raw, "application/json", CONTENT_TYPE="application/json")
    assert refused_reading(request) == "expected a JSON object"
    assert body_of(login(raw)) == (
        400,
        {"detail": "Send email and password as JSON or a form.", "code": "invalid_request"},
    )


def test_malformed_json_is_a_400_named_an_unreadable_body() -> None:
    request = RequestFactory().post(LOGIN, '{"email": ', "application/json")
    assert refused_reading(request) == "unreadable body"
    assert body_of(login('{"email": '))[0] == 400


def test_a_body_of_another_content_type_is_refused_as_unsupported() -> None:
    request = RequestFactory().post(LOGIN, json.dumps(CREDENTIALS), "text/plain")
    assert refused_reading(request) == "unsupported content type"
    assert body_of(login(json.dumps(CREDENTIALS), "text/plain"))[0] == 400


def test_a_urlencoded_form_is_read_like_json() -> None:
    assert views.read_body(RequestFactory().post(LOGIN, urlencode(CREDENTIALS), FORM)) == (
        CREDENTIALS
    )
    assert body_of(login(urlencode(CREDENTIALS), FORM))[1]["code"] == "invalid_credentials"


# --------------------------------------------------------------------------- #
# The throttle's refusals, word for word
# --------------------------------------------------------------------------- #


def test_a_forged_client_address_is_a_400_in_these_words() -> None:
    response = login(json.dumps(CREDENTIALS), HTTP_X_NEXTAUTH_CLIENT_ADDRESS="forged")
    assert body_of(response) == (
        400,
        {"detail": "The client address assertion is not valid.", "code": "invalid_client_address"},
    )
    assert "no-store" in response["Cache-Control"]


def test_a_throttle_that_cannot_be_asked_is_a_503_to_retry_in_5_seconds_and_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(throttle, "check_login", store_down)
    with caplog.at_level(logging.WARNING, logger="django_nextauth_jwt.views"):
        response = login(json.dumps(CREDENTIALS))
    assert body_of(response) == (
        503,
        {"detail": "Sign-in is unavailable; try again.", "code": "throttle_unavailable"},
    )
    assert response["Retry-After"] == "5"
    assert [r.getMessage() for r in caplog.records if r.name == "django_nextauth_jwt.views"] == [
        "sign-in throttle unavailable: StoreDown"
    ]
    assert "secret-ish" not in caplog.text  # the error's type, never its text


def test_too_many_attempts_is_a_429_that_says_how_long_to_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(throttle, "check_login", lambda request, account: 42)
    response = login(json.dumps(CREDENTIALS))
    assert body_of(response) == (
        429,
        {"detail": "Too many sign-in attempts.", "code": "too_many_attempts"},
    )
    assert response["Retry-After"] == "42"


# --------------------------------------------------------------------------- #
# The session's shape
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("claims", "image"),
    [
        ({"picture": "https://img.example/p.png"}, "https://img.example/p.png"),
        ({"image": "https://img.example/i.png"}, "https://img.example/i.png"),
        (
            {"picture": "https://img.example/p.png", "image": "https://img.example/i.png"},
            "https://img.example/p.png",
        ),
        ({}, None),
    ],
    ids=["picture", "image", "both", "neither"],
)
def test_the_sessions_image_is_the_picture_claim_else_the_image_claim(
    claims: dict[str, str], image: str | None
) -> None:
    client = Client()
    client.cookies[COOKIE] = JWTAuth.create({"id": "7", "role": "editor", **claims})
    status, session = body_of(client.get(SESSION))
    assert status == 200
    assert session["user"]["image"] == image
    assert session["user"]["role"] == "editor"


# --------------------------------------------------------------------------- #
# The sign-in CSRF policy
# --------------------------------------------------------------------------- #


def test_an_opaque_null_origin_is_never_trusted_even_when_listed(settings: Any) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["null"]
    client = Client(enforce_csrf_checks=True)
    client.cookies[COOKIE] = "anything"
    response = client.post(
        LOGIN, json.dumps(CREDENTIALS), content_type="application/json", HTTP_ORIGIN="null"
    )
    assert body_of(response) == (
        403,
        {"detail": "CSRF verification failed.", "code": "csrf_failed"},
    )


def test_without_csrf_trusted_origins_a_nextauth_token_still_passes_a_foreign_origin(
    settings: Any,
) -> None:
    del settings.CSRF_TRUSTED_ORIGINS
    client = Client(enforce_csrf_checks=True)
    client.cookies[CSRF_COOKIE] = nextauth_csrf_cookie(CSRF_TOKEN)
    response = client.post(
        LOGIN,
        json.dumps(CREDENTIALS),
        content_type="application/json",
        HTTP_ORIGIN="https://app.example",
        HTTP_X_CSRF_TOKEN=CSRF_TOKEN,
    )
    assert body_of(response)[1]["code"] == "invalid_credentials"


def test_a_cookie_bearing_call_without_origin_is_judged_without_reading_its_host() -> None:
    request = RequestFactory().post(
        LOGIN, json.dumps(CREDENTIALS), "application/json", HTTP_HOST="unlisted.example"
    )
    request.COOKIES[COOKIE] = "anything"
    with pytest.raises(DisallowedHost):
        request.get_host()  # the control: this host is not allowed
    assert views.browser_csrf_failure(request) is not None


# --------------------------------------------------------------------------- #
# Who gets a redirect
# --------------------------------------------------------------------------- #


def test_a_json_sign_in_accepting_html_is_answered_in_json() -> None:
    response = login(json.dumps(CREDENTIALS), HTTP_ACCEPT="text/html")
    assert body_of(response) == (
        401,
        {"detail": "Invalid email or password.", "code": "invalid_credentials"},
    )


def test_a_form_sign_in_accepting_html_is_redirected_to_the_sign_in_page() -> None:
    response = login(urlencode(CREDENTIALS), FORM, HTTP_ACCEPT="text/html")
    assert response.status_code == 303
    assert "error=CredentialsSignin" in response["Location"]


# --------------------------------------------------------------------------- #
# A verifier, the identifier's edges, the password in an error report
# --------------------------------------------------------------------------- #


def test_a_verifier_refuses_custom_login_in_these_words(settings: Any) -> None:
    # jws-asymmetric without a private key: this service verifies and mints nothing.
    settings.NEXTAUTH_JWT_FORMAT = "jws-asymmetric"
    settings.NEXTAUTH_PUBLIC_KEYS = [forge.public_pem("EdDSA")]
    del settings.NEXTAUTH_SIGNING_KEYS
    response = login(json.dumps(CREDENTIALS))
    assert body_of(response) == (
        404,
        {"detail": "This service verifies sessions and issues none.", "code": "not_found"},
    )
    assert "no-store" in response["Cache-Control"]
    assert COOKIE not in response.cookies


@pytest.mark.parametrize(
    "typed", ["Xavier", " \t\n\r\x0b\x0cXavier \t\n\r\x0b\x0c"], ids=["bare", "in-whitespace"]
)
def test_only_ascii_whitespace_is_trimmed_from_the_identifier(typed: str) -> None:
    get_user_model().objects.create_user("Xavier", password="the password")
    response = login(json.dumps({"username": typed, "password": "the password"}))
    assert response.status_code == 200
    assert response.json()["user"]["name"] == "Xavier"


class ExplodingBackend:
    """An authentication backend that fails, as a database outage would, mid-sign-in."""

    @sensitive_variables("password")
    def authenticate(self, request: Any, username: str = "", password: str = "") -> Any:
        raise RuntimeError("the user database is down")


def test_a_sign_in_that_fails_shows_no_password_in_the_error_report(settings: Any) -> None:
    settings.AUTHENTICATION_BACKENDS = [f"{__name__}.ExplodingBackend"]
    request = RequestFactory().post(LOGIN)
    password = "correct horse battery staple"
    with pytest.raises(RuntimeError) as raised:
        views.CustomLoginView().authenticate(request, "ada", password)
    report = ExceptionReporter(request, raised.type, raised.value, raised.tb)
    frames = [f for f in report.get_traceback_frames() if f["function"] == "authenticate"]
    ours = [f for f in frames if f["filename"] == views.__file__]
    assert ours  # the view's own frame is in the report, its password hidden
    assert dict(ours[0]["vars"])["password"] == "********************"
    assert password not in report.get_traceback_text()
