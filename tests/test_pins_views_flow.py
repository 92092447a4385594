"""Pins on the Google flow's start and sign-out (issue 27): what a browser, an attacker or an
operator meets when ``POST signin/google`` starts the flow (its refusals word for word, the flow
cookie's attributes, its counter), the flow's own session as SessionBase's callers see it, and a
browser form's sign-out. Each test was shown to fail with ``make mutate``'s mutant, in mutmut's
own trampolines. No network: the start only builds Google's URL.
"""

from __future__ import annotations

import json
import sys
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core import signing
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, RequestFactory
from social_core.exceptions import AuthException, SocialAuthBaseException

from django_nextauth_jwt import JWTAuth, views
from django_nextauth_jwt.signin import CALLBACK_SESSION_KEY
from django_nextauth_jwt.state import store
from tests import forge
from tests.google_standin import StandInGoogleOAuth2
from tests.request_helpers import bearer
from tests.test_google import google, google_server  # noqa: F401 - fixtures

pytestmark = [pytest.mark.django_db]

#: The Google stand-in's endpoints (and, in `make matrix`, leaving these out before social-core 7).
starts_google = pytest.mark.usefixtures("google")

SIGNIN = "/api/auth/signin/google"
CALLBACK = "/api/auth/callback/google"
SIGNOUT = "/api/auth/signout"
ORIGIN = "http://testserver"
COOKIE = "next-auth.session-token"
FLOW = views.FLOW_COOKIE
ADA = {"id": "7", "email": "ada@example.com", "name": "Ada"}


def body_of(response: Any) -> tuple[int, dict[str, Any]]:
    return response.status_code, json.loads(response.content)


def goes_to_google(response: Any) -> bool:
    return bool(
        response.status_code == 302
        and urlsplit(response["Location"]).path == "/o/oauth2/auth"
        and FLOW in response.cookies
    )


def flow_of(response: Any) -> dict[str, Any]:
    """The content of the flow cookie a start set."""
    return views.FlowSession(response.cookies[FLOW].value).load()


# --------------------------------------------------------------------------- #
# Starting the flow: refusals, word for word
# --------------------------------------------------------------------------- #


@starts_google
def test_a_verifier_refuses_to_start_a_google_sign_in_in_these_words(settings: Any) -> None:
    # jws-asymmetric without a private key: this service verifies and mints nothing.
    settings.NEXTAUTH_JWT_FORMAT = "jws-asymmetric"
    settings.NEXTAUTH_PUBLIC_KEYS = [forge.public_pem("EdDSA")]
    del settings.NEXTAUTH_SIGNING_KEYS
    response = Client().post(SIGNIN, {"callbackUrl": "/dashboard"})
    assert body_of(response) == (
        404,
        {"detail": "This service verifies sessions and issues none.", "code": "not_found"},
    )
    assert "no-store" in response["Cache-Control"]
    assert FLOW not in response.cookies  # no flow begun


@starts_google
def test_a_start_whose_body_is_unreadable_is_refused_in_these_words() -> None:
    response = Client().post(SIGNIN, data="callbackUrl=/x", content_type="text/plain")
    assert body_of(response) == (
        400,
        {"detail": "Send a form or a JSON object.", "code": "invalid_request"},
    )
    assert "no-store" in response["Cache-Control"]
    assert FLOW not in response.cookies


@starts_google
@pytest.mark.parametrize("length", [None, "", "0"])
def test_a_start_with_an_empty_body_of_any_type_goes_to_google(
    settings: Any, length: str | None
) -> None:
    settings.NEXTAUTH_LOGIN_REDIRECT_URL = "/home"
    # A bodiless POST of a type no form is (as a plain fetch() may send), its length absent,
    # empty or zero: nothing to read, and callbackUrl is optional.
    meta: dict[str, Any] = {"CONTENT_TYPE": "text/plain"}
    if length is not None:
        meta["CONTENT_LENGTH"] = length
    response = Client().generic("POST", SIGNIN, **meta)
    assert goes_to_google(response)
    assert flow_of(response)[CALLBACK_SESSION_KEY] == "/home"  # no callbackUrl: the default


@starts_google
def test_a_start_view_uses_the_backend_it_names() -> None:
    class Elsewhere(views.GoogleSignInView):
        backend_name = "no-such-backend"

    with pytest.raises(SocialAuthBaseException):
        Elsewhere.as_view()(RequestFactory().post(SIGNIN))


@starts_google
def test_a_start_without_social_auth_installed_says_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "social_django.utils", None)  # an import that fails
    with pytest.raises(ImproperlyConfigured) as info:
        Client().post(SIGNIN)
    assert str(info.value) == (
        "Google sign-in needs social-auth-app-django: pip install django-nextauth-jwt[social]"
    )


@starts_google
def test_a_start_is_counted_under_the_google_start_key_of_the_state_store() -> None:
    assert goes_to_google(Client().post(SIGNIN))
    # The key is shared by every service of a mesh on one Redis: it must not drift.
    keys = list(store.memory_store()._counters.entries)
    assert [key.split(":")[:2] for key in keys] == [["client", "google-start"]]


@starts_google
def test_social_auths_exception_middleware_turns_a_refused_start_into_its_redirect(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A project with social-auth's own error middleware: it needs the request's strategy and
    # backend, which the start view puts where social-auth's views would.
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "social_django.middleware.SocialAuthExceptionMiddleware",
    ]
    settings.SOCIAL_AUTH_LOGIN_ERROR_URL = "/oops"
    settings.SOCIAL_AUTH_ERROR_TRANSPORT = "query"

    def refuse(self: Any) -> str:
        raise AuthException(self, "refused by policy")

    monkeypatch.setattr(StandInGoogleOAuth2, "auth_url", refuse)
    response = Client().post(SIGNIN)
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert location.path == "/oops"
    assert parse_qs(location.query)["backend"] == ["google-oauth2"]


# --------------------------------------------------------------------------- #
# The flow cookie
# --------------------------------------------------------------------------- #


@starts_google
def test_the_flow_cookie_lives_ten_minutes_on_the_whole_site_http_only_and_lax() -> None:
    response = Client().post(SIGNIN, {"callbackUrl": "/dashboard"}, HTTP_ORIGIN=ORIGIN)
    assert goes_to_google(response)
    cookie = response.cookies[FLOW]
    assert cookie["max-age"] == 600
    assert cookie["path"] == "/"
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # as the session cookie: SESSION_COOKIE_SECURE is False
    assert flow_of(response)[CALLBACK_SESSION_KEY] == "/dashboard"


@starts_google
def test_the_flow_cookie_is_secure_when_the_session_cookie_is(settings: Any) -> None:
    settings.SESSION_COOKIE_SECURE = True
    response = Client().post(SIGNIN, HTTP_ORIGIN="https://testserver", secure=True)
    assert goes_to_google(response)
    assert response.cookies[FLOW]["secure"] is True


@starts_google
def test_the_flow_cookie_is_not_secure_when_session_cookie_secure_is_unset(
    settings: Any,
) -> None:
    del settings.SESSION_COOKIE_SECURE
    response = Client().post(SIGNIN)
    assert goes_to_google(response)
    assert not response.cookies[FLOW]["secure"]


@starts_google
def test_a_long_callback_url_is_compressed_into_a_small_flow_cookie() -> None:
    target = "/" + "a" * 2000
    response = Client().post(SIGNIN, {"callbackUrl": target})
    assert goes_to_google(response)
    assert flow_of(response)[CALLBACK_SESSION_KEY] == target
    assert len(response.cookies[FLOW].value) < 400  # each later request carries it


@starts_google
def test_a_flow_cookie_signed_with_the_flows_own_salt_loads() -> None:
    """The salt is part of the cookie's format: a flow a process of the previous release began
    (a rolling deploy) is finished by the next one."""
    value = signing.dumps(
        {"state": "abc"}, salt="django_nextauth_jwt.views.FlowSession", compress=True
    )
    assert views.FlowSession(value).load() == {"state": "abc"}


# --------------------------------------------------------------------------- #
# The flow's session, as SessionBase's callers see it
# --------------------------------------------------------------------------- #


def flow_holding(**content: str) -> views.FlowSession:
    start = views.FlowSession()
    start.update(content)
    return views.FlowSession(start.cookie_value())


def test_reading_the_flow_marks_it_accessed() -> None:
    flow = flow_holding(state="abc")
    assert flow.accessed is False
    assert flow.get("state") == "abc"
    assert flow.accessed is True


def test_the_flow_honours_sessionbases_no_load() -> None:
    # SessionBase's contract: with no_load only an empty dict is stored, nothing is read.
    flow = flow_holding(state="abc")
    assert flow._get_session(no_load=True) == {}
    assert dict(flow.items()) == {}


@starts_google
def test_a_signed_flow_that_is_no_object_is_an_empty_flow() -> None:
    value = signing.dumps(["state", "abc"], salt=views._FLOW_SALT, compress=True)
    assert views.FlowSession(value).load() == {}
    # At the callback: no state, a refusal (not a server error).
    client = Client()
    client.cookies[FLOW] = value
    response = client.get(CALLBACK, {"state": "abc", "code": "x"})
    assert response.status_code == 302
    assert "error=OAuthCallback" in response["Location"]


# --------------------------------------------------------------------------- #
# Sign-out from a browser form
# --------------------------------------------------------------------------- #


def test_a_browser_form_signing_out_is_redirected_with_a_303() -> None:
    client = Client()
    client.cookies[COOKIE] = JWTAuth.create(ADA)
    client.cookies[f"{COOKIE}.0"] = "stale"
    response = client.post(
        SIGNOUT, {"callbackUrl": "/goodbye"}, headers={"Accept": "text/html", "Origin": ORIGIN}
    )
    assert (response.status_code, response["Location"]) == (303, "/goodbye")
    assert response.cookies[COOKIE]["max-age"] == 0
    assert response.cookies[f"{COOKIE}.0"]["max-age"] == 0


def test_a_browser_form_sign_out_that_cannot_revoke_is_a_503_not_a_redirect(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def store_down(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("store down")

    monkeypatch.setattr(JWTAuth, "revoke", store_down)
    response = Client().post(
        SIGNOUT,
        {"callbackUrl": "/goodbye"},
        headers={"Accept": "text/html", **bearer(JWTAuth.create(ADA))},
    )
    assert body_of(response) == (
        503,
        {"detail": "Signed out here; revocation failed.", "code": "revocation_unavailable"},
    )
    assert response.cookies[COOKIE]["max-age"] == 0


# --------------------------------------------------------------------------- #
# The project's own session, put back after the flow
# --------------------------------------------------------------------------- #


@starts_google
def test_the_projects_session_is_saved_as_every_request_saves_it_after_a_start(
    settings: Any,
) -> None:
    # SESSION_SAVE_EVERY_REQUEST: SessionMiddleware saves, and sends again, whatever session
    # the request holds when the view returns: the project's own, not the flow's.
    settings.SESSION_SAVE_EVERY_REQUEST = True
    browser = Client()
    session = browser.session
    session["cart"] = "three apples"
    session.save()
    browser.cookies["sessionid"] = session.session_key or ""
    response = browser.post(SIGNIN, {"callbackUrl": "/dashboard"})
    assert goes_to_google(response)
    assert response.cookies["sessionid"].value == session.session_key
    assert browser.session["cart"] == "three apples"


@starts_google
def test_after_a_start_the_request_holds_its_own_session_again() -> None:
    request = RequestFactory().post(SIGNIN)
    own = Client().session
    request.session = own
    assert goes_to_google(views.GoogleSignInView.as_view()(request))
    assert request.session is own


@starts_google
def test_after_a_start_a_request_without_a_session_has_none_again() -> None:
    request = RequestFactory().post(SIGNIN)
    assert goes_to_google(views.GoogleSignInView.as_view()(request))
    assert not hasattr(request, "session")
