"""Misconfiguration fails closed: a deployment that cannot verify never authenticates anyone.

What a request sees, decided here: a request that offers a token to a deployment whose
settings cannot work (no secret, an unknown format or algorithm) gets Django's generic
500 page. ``ImproperlyConfigured`` is a deployment bug, meant to be loud (the system
checks also refuse to start such a deployment); it is never a 200, never a 401 that
looks like a bad token, and it says nothing about the token or the secret. Requests
that offer no token are unaffected (401 ``token_missing`` on protected paths).
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from django_nextauth_jwt import JWTAuth
from tests import forge
from tests.security.helpers import LOGIN, ME, PLAIN, SESSION, assert_refused

SECRET_ENV_VARS = ("NEXTAUTH_SECRET", "AUTH_SECRET", "JWT_SECRET")


@pytest.fixture
def no_secret(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    del settings.NEXTAUTH_SECRET
    for name in SECRET_ENV_VARS:
        monkeypatch.delenv(name, raising=False)


def check_ids() -> set[str]:
    return {message.id for message in checks.run_checks() if message.id}


def assert_fails_closed(token: str) -> None:
    for path in (ME, PLAIN, SESSION):
        client = Client(raise_request_exception=False)
        response = client.get(path, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 500, (path, response.status_code)
        # Django's generic page: the view never ran, nothing about the token or secret.
        assert response["Content-Type"].startswith("text/html")
        assert b'"id"' not in response.content


@pytest.mark.usefixtures("no_secret")
def test_no_secret_never_authenticates_a_token_signed_with_any_secret() -> None:
    assert_fails_closed(forge.jws(forge.claims()))
    assert_fails_closed(forge.hmac_jws({"alg": "HS256", "typ": "JWT"}, forge.claims(), b""))
    assert "nextauth_jwt.E001" in check_ids()


@pytest.mark.usefixtures("no_secret")
def test_no_secret_still_answers_anonymous_requests_with_401() -> None:
    for path in (ME, PLAIN):
        assert_refused(Client().get(path), "token_missing")


@pytest.mark.parametrize(
    "secret",
    ["", [""], [forge.SECRET, ""], b"bytes-secret-0123456789abcdef", 12345],
    ids=["empty_string", "list_of_empty", "list_with_an_empty_entry", "bytes", "int"],
)
def test_unusable_secret_never_authenticates(settings: Any, secret: Any) -> None:
    settings.NEXTAUTH_SECRET = secret
    assert_fails_closed(forge.hmac_jws({"alg": "HS256", "typ": "JWT"}, forge.claims(), b""))
    assert check_ids() & {"nextauth_jwt.E001", "nextauth_jwt.E002"}


@pytest.mark.parametrize(
    ("name", "value", "check_id"),
    [
        ("NEXTAUTH_JWT_FORMAT", "jwe", "nextauth_jwt.E004"),
        ("NEXTAUTH_ACCEPTED_FORMATS", ["jws", "none"], "nextauth_jwt.E005"),
        ("NEXTAUTH_JWS_ALGORITHM", "none", "nextauth_jwt.E006"),
        ("NEXTAUTH_JWS_ALGORITHM", "RS256", "nextauth_jwt.E006"),
    ],
    ids=["unknown_format", "unknown_accepted_format", "jws_algorithm_none", "jws_algorithm_rs256"],
)
def test_unknown_format_or_algorithm_never_authenticates(
    settings: Any, name: str, value: Any, check_id: str
) -> None:
    setattr(settings, name, value)
    assert_fails_closed(forge.jws(forge.claims()))
    assert_fails_closed(forge.unsigned({"alg": "none", "typ": "JWT"}, forge.claims()))
    assert check_id in check_ids()


def test_empty_accepted_formats_refuses_every_token(settings: Any) -> None:
    settings.NEXTAUTH_ACCEPTED_FORMATS = []
    for path in (ME, PLAIN):
        response = Client().get(
            path, headers={"Authorization": f"Bearer {forge.jws(forge.claims())}"}
        )
        assert_refused(response, "token_unsupported")
    assert "nextauth_jwt.E005" in check_ids()


@pytest.mark.django_db
@pytest.mark.usefixtures("no_secret")
def test_no_secret_login_with_good_credentials_mints_nothing() -> None:
    get_user_model().objects.create_user("ada", "ada@example.com", "pw-0123456789")
    response = Client(raise_request_exception=False).post(
        LOGIN,
        data=json.dumps({"email": "ada@example.com", "password": "pw-0123456789"}),
        content_type="application/json",
    )
    assert response.status_code == 500
    assert not [m for m in response.cookies.values() if m.value]


@pytest.mark.parametrize(
    "secret",
    ["x" * 31, ["y" * 40, "short-old-secret"], "é" * 15 + "x"],
    ids=["31_bytes", "one_short_in_a_list", "31_utf8_bytes"],
)
def test_short_secret_fails_closed_at_first_use_not_only_in_checks(
    settings: Any, secret: Any
) -> None:
    # gunicorn and scripts never run manage.py check: the token code refuses too.
    settings.NEXTAUTH_SECRET = secret
    with pytest.raises(ImproperlyConfigured, match="shorter than 32 bytes"):
        JWTAuth.create({"id": "42"})
    with pytest.raises(ImproperlyConfigured, match="shorter than 32 bytes"):
        JWTAuth.authenticate_token(forge.hmac_jws({"alg": "HS256"}, forge.claims(), b"x" * 31))
    assert_fails_closed(forge.hmac_jws({"alg": "HS256"}, forge.claims(), b"x" * 31))
    assert "nextauth_jwt.E003" in check_ids()


def test_a_secret_of_32_utf8_bytes_is_long_enough(settings: Any) -> None:
    settings.NEXTAUTH_SECRET = "é" * 16
    assert JWTAuth.verify(JWTAuth.create({"id": "42"}))["id"] == "42"
