"""Pins on ``views`` that no test held (issue 27): the JWKS document as it is served, sign-out
everywhere's answers, and the error bodies word for word (a sign-in page or a neighbour may show
``detail``; a client matches ``code``). Each test was shown to fail with ``make mutate``'s
mutant, in mutmut's own trampolines.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import Any

import pytest
from django.test import Client

from django_nextauth_jwt import JWTAuth
from django_nextauth_jwt.tokens import published_jwks
from tests import forge
from tests.request_helpers import bearer

pytestmark = [pytest.mark.django_db]

JWKS = "/api/auth/jwks"
EVERYWHERE = "/api/auth/signout-everywhere"
LOGIN = "/api/auth/custom-login"
SIGNOUT = "/api/auth/signout"
COOKIE = "next-auth.session-token"
ADA = {"id": "7", "email": "ada@example.com", "name": "Ada"}


@pytest.fixture
def issuing(settings: Any) -> Any:
    settings.NEXTAUTH_JWT_FORMAT = "jws-asymmetric"
    settings.NEXTAUTH_SIGNING_KEYS = [forge.private_pem("ES256"), forge.private_pem("RS256")]
    return settings


def body_of(response: Any) -> tuple[int, dict[str, Any]]:
    return response.status_code, json.loads(response.content)


# --------------------------------------------------------------------------- #
# The JWK Set
# --------------------------------------------------------------------------- #


def test_the_jwks_body_is_compact_sorted_json_and_its_etag_its_digest(issuing: Any) -> None:
    issuing.NEXTAUTH_JWKS_MAX_AGE = 123
    response = Client().get(JWKS)
    body = json.dumps(published_jwks(), separators=(",", ":"), sort_keys=True).encode()
    assert response.status_code == 200
    assert response.content == body
    assert response["Content-Type"] == "application/json"
    assert response["ETag"] == f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    assert response["Cache-Control"] == "public, max-age=123"
    # Any page may fetch it: public keys, nothing a credential would change.
    assert response["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize(
    "if_none_match",
    ["{etag}", 'W/"old",{etag}', '"old", {etag}', '{etag} ,"other"'],
)
def test_a_current_etag_anywhere_in_if_none_match_is_a_304(
    issuing: Any, if_none_match: str
) -> None:
    etag = Client().get(JWKS)["ETag"]
    again = Client().get(JWKS, headers={"If-None-Match": if_none_match.format(etag=etag)})
    assert (again.status_code, again.content) == (304, b"")
    # The 304 carries what a cache refreshes its stored copy with.
    assert again["ETag"] == etag
    assert again["Cache-Control"] == "public, max-age=300"
    assert again["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("if_none_match", [None, "", '"old"', "*, x"])
def test_without_the_current_etag_the_document_is_sent(
    issuing: Any, if_none_match: str | None
) -> None:
    headers = {} if if_none_match is None else {"If-None-Match": if_none_match}
    response = Client().get(JWKS, headers=headers)
    assert response.status_code == 200
    assert json.loads(response.content) == published_jwks()


def test_no_keys_is_a_404_no_cache_keeps(settings: Any) -> None:
    del settings.NEXTAUTH_SIGNING_KEYS
    response = Client().get(JWKS)
    assert body_of(response) == (
        404,
        {"detail": "This service publishes no keys.", "code": "not_found"},
    )
    assert "no-store" in response["Cache-Control"]
    assert "Access-Control-Allow-Origin" not in response


# --------------------------------------------------------------------------- #
# Sign-out everywhere
# --------------------------------------------------------------------------- #


def test_signing_out_everywhere_goes_where_the_body_says(settings: Any) -> None:
    response = Client().post(
        EVERYWHERE,
        data=json.dumps({"callbackUrl": "/goodbye"}),
        content_type="application/json",
        headers=bearer(JWTAuth.create(ADA)),
    )
    assert body_of(response) == (200, {"url": "/goodbye"})


def test_a_body_that_is_no_json_object_signs_out_to_the_sign_in_page() -> None:
    response = Client().post(
        EVERYWHERE, data="[1]", content_type="application/json", headers=bearer(JWTAuth.create(ADA))
    )
    assert body_of(response) == (200, {"url": "/api/auth/signin"})


def test_a_browser_form_signing_out_everywhere_is_redirected() -> None:
    client = Client()
    client.cookies[COOKIE] = JWTAuth.create(ADA)
    response = client.post(
        EVERYWHERE,
        {"callbackUrl": "/goodbye"},
        headers={"Accept": "text/html", "Origin": "http://testserver"},
    )
    assert (response.status_code, response["Location"]) == (303, "/goodbye")
    assert response.cookies[COOKIE]["max-age"] == 0


def test_signing_out_everywhere_expires_the_chunks_the_browser_holds() -> None:
    client = Client()
    client.cookies[f"{COOKIE}.0"] = "stale"
    client.cookies[f"{COOKIE}.1"] = "stale"
    response = client.post(EVERYWHERE, headers=bearer(JWTAuth.create(ADA)))
    assert response.status_code == 200
    assert response.cookies[f"{COOKIE}.0"]["max-age"] == 0
    assert response.cookies[f"{COOKIE}.1"]["max-age"] == 0


def test_an_ambiguous_cookie_is_a_401_that_expires_every_copy() -> None:
    one, two = JWTAuth.create(ADA), JWTAuth.create({"id": "8"})
    response = Client().post(EVERYWHERE, HTTP_COOKIE=f"{COOKIE}={one}; {COOKIE}={two}")
    assert body_of(response)[0] == 401
    assert body_of(response)[1]["code"] == "token_ambiguous"
    assert response.cookies[COOKIE]["max-age"] == 0
    assert "no-store" in response["Cache-Control"]


def test_a_token_whose_user_is_gone_signs_no_one_out_in_database_mode(settings: Any) -> None:
    settings.NEXTAUTH_USER_MODE = "database"
    response = Client().post(EVERYWHERE, headers=bearer(JWTAuth.create({"id": "999999"})))
    assert response.status_code == 401
    assert "no-store" in response["Cache-Control"]


class StoreDown(Exception):
    """A deny-list write that fails, as a store backend's own error would."""


def test_a_failed_cut_off_is_a_503_that_names_the_error_and_still_clears_the_cookie(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def fail(*args: Any, **kwargs: Any) -> None:
        raise StoreDown("redis said no to secret-ish detail")

    monkeypatch.setattr(JWTAuth, "revoke_user", fail)
    client = Client()
    client.cookies[COOKIE] = JWTAuth.create(ADA)
    with caplog.at_level(logging.WARNING, logger="django_nextauth_jwt.views"):
        response = client.post(
            EVERYWHERE, headers={"Accept": "text/html", "Origin": "http://testserver"}
        )
    assert body_of(response) == (
        503,
        {"detail": "Signed out here; revocation failed.", "code": "revocation_unavailable"},
    )
    assert response.cookies[COOKIE]["max-age"] == 0
    ours = [r.getMessage() for r in caplog.records if r.name == "django_nextauth_jwt.views"]
    assert ours == ["sign-out everywhere could not revoke: StoreDown"]
    assert "secret-ish" not in caplog.text  # the error's type, never its text


# --------------------------------------------------------------------------- #
# Error bodies, word for word
# --------------------------------------------------------------------------- #


def test_a_body_over_the_limit_is_refused_in_these_words(settings: Any) -> None:
    settings.NEXTAUTH_MAX_BODY_SIZE = 64
    response = Client().post(LOGIN, data="{}" + " " * 100, content_type="application/json")
    assert body_of(response) == (
        413,
        {"detail": "The request body is too large.", "code": "request_too_large"},
    )


def test_a_forged_sign_out_is_refused_in_these_words() -> None:
    client = Client(enforce_csrf_checks=True)
    client.cookies[COOKIE] = JWTAuth.create(ADA)
    response = client.post(SIGNOUT, headers={"Origin": "https://evil.example"})
    assert body_of(response) == (
        403,
        {"detail": "CSRF verification failed.", "code": "csrf_failed"},
    )


# --------------------------------------------------------------------------- #
# The session and sign-out
# --------------------------------------------------------------------------- #


def test_an_ambiguous_cookie_is_no_session_and_every_copy_is_expired() -> None:
    one, two = JWTAuth.create(ADA), JWTAuth.create({"id": "8"})
    cookies = f"{COOKIE}={one}; {COOKIE}={two}; {COOKIE}.0=stale"
    response = Client().get("/api/auth/session", HTTP_COOKIE=cookies)
    assert body_of(response) == (200, {})
    assert response.cookies[COOKIE]["max-age"] == 0
    assert response.cookies[f"{COOKIE}.0"]["max-age"] == 0


def test_a_session_that_is_merely_missing_expires_no_cookie() -> None:
    response = Client().get("/api/auth/session")
    assert body_of(response) == (200, {})
    assert not response.cookies


def test_a_sign_out_whose_body_is_no_json_object_still_signs_out() -> None:
    token = JWTAuth.create(ADA)
    response = Client().post(
        SIGNOUT, data="[1]", content_type="application/json", headers=bearer(token)
    )
    assert body_of(response) == (200, {"url": "/api/auth/signin"})
    assert response.cookies[COOKIE]["max-age"] == 0


def test_a_sign_out_that_cannot_revoke_is_refused_in_these_words(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def fail(*args: Any, **kwargs: Any) -> None:
        raise StoreDown("down")

    monkeypatch.setattr(JWTAuth, "revoke", fail)
    response = Client().post(SIGNOUT, headers=bearer(JWTAuth.create(ADA)))
    assert body_of(response) == (
        503,
        {"detail": "Signed out here; revocation failed.", "code": "revocation_unavailable"},
    )
    assert response.cookies[COOKIE]["max-age"] == 0
