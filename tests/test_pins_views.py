"""Pins on ``views`` that no test held (issue 27): the JWKS document as it is served, sign-out
everywhere's answers, and the error bodies word for word (a sign-in page or a neighbour may show
``detail``; a client matches ``code``). Each test was shown to fail with ``make mutate``'s
mutant, in mutmut's own trampolines.
"""

from __future__ import annotations

import hashlib
import json
import logging
import types
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import Client

from django_nextauth_jwt import JWTAuth, views
from django_nextauth_jwt.pipeline import PIPELINE
from django_nextauth_jwt.state import store
from django_nextauth_jwt.tokens import published_jwks
from tests.google_server import GoogleStandIn
from tests.request_helpers import bearer
from tests.test_asymmetric import issuing  # noqa: F401 - the fixture
from tests.test_google import browser, google, google_server  # noqa: F401 - fixtures
from tests.test_google import sign_in as google_sign_in

pytestmark = [pytest.mark.django_db]

JWKS = "/api/auth/jwks"
EVERYWHERE = "/api/auth/signout-everywhere"
LOGIN = "/api/auth/custom-login"
SIGNOUT = "/api/auth/signout"
COOKIE = "next-auth.session-token"
ADA = {"id": "7", "email": "ada@example.com", "name": "Ada"}


def body_of(response: Any) -> tuple[int, dict[str, Any]]:
    return response.status_code, json.loads(response.content)


# --------------------------------------------------------------------------- #
# The JWK Set
# --------------------------------------------------------------------------- #


@pytest.mark.usefixtures("issuing")
def test_the_jwks_body_is_compact_sorted_json_and_its_etag_its_digest(settings: Any) -> None:
    settings.NEXTAUTH_JWKS_MAX_AGE = 123
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
@pytest.mark.usefixtures("issuing")
def test_a_current_etag_anywhere_in_if_none_match_is_a_304(if_none_match: str) -> None:
    etag = Client().get(JWKS)["ETag"]
    again = Client().get(JWKS, headers={"If-None-Match": if_none_match.format(etag=etag)})
    assert (again.status_code, again.content) == (304, b"")
    # The 304 carries what a cache refreshes its stored copy with.
    assert again["ETag"] == etag
    assert again["Cache-Control"] == "public, max-age=300"
    assert again["Access-Control-Allow-Origin"] == "*"


@pytest.mark.parametrize("if_none_match", [None, "", '"old"', "*, x"])
@pytest.mark.usefixtures("issuing")
def test_without_the_current_etag_the_document_is_sent(if_none_match: str | None) -> None:
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


def store_down(*args: Any, **kwargs: Any) -> None:
    """A store call that fails, with text no log line may show."""
    raise StoreDown("redis said no to secret-ish detail")


def logged(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The views' own log lines."""
    return [r.getMessage() for r in caplog.records if r.name == "django_nextauth_jwt.views"]


def test_a_failed_cut_off_is_a_503_that_names_the_error_and_still_clears_the_cookie(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(JWTAuth, "revoke_user", store_down)
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
    assert logged(caplog) == ["sign-out everywhere could not revoke: StoreDown"]
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
    monkeypatch.setattr(JWTAuth, "revoke", store_down)
    response = Client().post(SIGNOUT, headers=bearer(JWTAuth.create(ADA)))
    assert body_of(response) == (
        503,
        {"detail": "Signed out here; revocation failed.", "code": "revocation_unavailable"},
    )
    assert response.cookies[COOKIE]["max-age"] == 0


def test_a_sign_out_from_this_sites_own_https_origin_passes_the_csrf_check() -> None:
    client = Client(enforce_csrf_checks=True)
    client.cookies[COOKIE] = JWTAuth.create(ADA)
    response = client.post(SIGNOUT, headers={"Origin": "https://testserver"}, secure=True)
    assert body_of(response) == (200, {"url": "/api/auth/signin"})


def test_a_sign_out_that_cannot_revoke_logs_the_errors_type_only(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(JWTAuth, "revoke", store_down)
    with caplog.at_level(logging.WARNING, logger="django_nextauth_jwt.views"):
        Client().post(SIGNOUT, headers=bearer(JWTAuth.create(ADA)))
    assert logged(caplog) == ["sign-out could not revoke: StoreDown"]
    assert "secret-ish" not in caplog.text


# --------------------------------------------------------------------------- #
# The Google flow's state and its callback
# --------------------------------------------------------------------------- #


def test_a_google_state_is_spent_once_under_a_stable_key() -> None:
    assert views.FlowNonces.consume("https://accounts.google.com", 0, "abc") is True
    assert views.FlowNonces.consume("https://accounts.google.com", 0, "abc") is False
    name = b"https://accounts.google.com|0|abc"
    key = f"google-state:{hashlib.sha256(name).hexdigest()[:32]}"
    assert store.memory_store()._counters.entries[key][0] == 2


def test_a_google_state_of_any_text_is_spent_once() -> None:
    # A lone surrogate (JSON's "\ud800") neither raises nor collides with another state.
    assert views.FlowNonces.consume("https://accounts.google.com", 0, "\ud800") is True
    assert views.FlowNonces.consume("https://accounts.google.com", 0, "\ud800") is False
    assert views.FlowNonces.consume("https://accounts.google.com", 0, "\udc00") is True


def test_a_google_state_the_store_cannot_check_is_refused_and_logged(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(store, "current", lambda: types.SimpleNamespace(incr=store_down))
    with caplog.at_level(logging.WARNING, logger="django_nextauth_jwt.views"):
        assert views.FlowNonces.consume("https://accounts.google.com", 0, "abc") is False
    assert logged(caplog) == ["Google sign-in state not checked: StoreDown"]
    assert "secret-ish" not in caplog.text


def test_a_refused_google_callback_expires_the_flow_cookie_and_logs_why(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.WARNING, logger="django_nextauth_jwt.views"):
        response = Client().get("/api/auth/callback/google")
    assert response.status_code == 302
    assert response.cookies[views.FLOW_COOKIE]["max-age"] == 0
    assert response.cookies[views.FLOW_COOKIE].value == ""
    assert logged(caplog) == ["Google sign-in refused: AuthInputError"]


def test_a_pipeline_without_issue_token_is_a_configuration_error(
    settings: Any,
    browser: Client,  # noqa: F811 - the fixture, imported above
    google: GoogleStandIn,  # noqa: F811
) -> None:
    settings.SOCIAL_AUTH_PIPELINE = PIPELINE[:-1]
    settings.NEXTAUTH_ALLOWED_REDIRECT_ORIGINS = []
    with pytest.raises(ImproperlyConfigured) as info:
        google_sign_in(browser, google)
    assert str(info.value) == (
        "SOCIAL_AUTH_PIPELINE must end with django_nextauth_jwt.pipeline.issue_token "
        "(use django_nextauth_jwt.pipeline.PIPELINE)."
    )


def test_a_callback_view_completes_with_the_backend_it_names() -> None:
    from django.test import RequestFactory
    from social_core.exceptions import AuthConfigurationError

    class Elsewhere(views.GoogleCallbackView):
        backend_name = "no-such-backend"

    with pytest.raises(AuthConfigurationError):
        Elsewhere.as_view()(RequestFactory().get("/api/auth/callback/google"))


@pytest.mark.parametrize("token", [None, "not-a-token", "expired"])
def test_a_sign_out_with_nothing_to_revoke_is_a_plain_sign_out(token: str | None) -> None:
    headers: dict[str, str] = {}
    if token == "expired":
        headers = bearer(JWTAuth.create(ADA, max_age=-3600))
    elif token is not None:
        headers = bearer(token)
    response = Client().post(SIGNOUT, headers=headers)
    assert body_of(response) == (200, {"url": "/api/auth/signin"})
    assert response.cookies[COOKIE]["max-age"] == 0


# --------------------------------------------------------------------------- #
# The flow's session, as SessionBase's callers see it (a pipeline step may call these)
# --------------------------------------------------------------------------- #


def flow_holding(**content: str) -> views.FlowSession:
    start = views.FlowSession()
    start.update(content)
    return views.FlowSession(start.cookie_value())


def test_deleting_the_flow_forgets_its_content_for_good() -> None:
    flow = flow_holding(state="abc")
    assert flow["state"] == "abc"
    assert flow.modified is False
    flow.delete()
    # Not read again from the cookie the browser sent, and what is written back is empty.
    assert (dict(flow.items()), flow.modified) == ({}, True)
    assert views.FlowSession(flow.cookie_value()).load() == {}


def test_creating_the_flow_marks_it_to_be_written() -> None:
    flow = flow_holding(state="abc")
    flow.create()
    assert flow.modified is True


def test_no_key_is_taken_so_sessionbase_can_always_make_a_new_one() -> None:
    # SessionBase draws keys until exists() is False: True would never end.
    assert views.FlowSession().exists("any-key") is False
