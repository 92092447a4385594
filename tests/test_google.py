"""Google sign-in end to end: our views, real social-core, a stand-in Google over real HTTP.

Each test drives the browser's side with Django's test client (CSRF checks
enforced, as for a browser): ``POST signin/google`` redirects to the stand-in's
authorization URL; the test plays Google's consent screen and follows the
redirect back to ``callback/google``, where social-core exchanges the code with
the stand-in over HTTP, fetches the profile and runs our pipeline, whose last
step mints the token and sets the NextAuth session cookie.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import caches
from django.test import Client
from social_django.models import UserSocialAuth

from django_nextauth_jwt import JWTAuth
from tests.google_server import (
    TOKEN_PATH,
    USERINFO_PATH,
    GoogleStandIn,
    RunningStandIn,
    default_profile,
)
from tests.google_standin import StandInGoogleOAuth2
from tests.test_redirects import OPEN_REDIRECT_PAYLOADS

if TYPE_CHECKING:
    from django.test.client import _MonkeyPatchedWSGIResponse as Response

pytestmark = [pytest.mark.django_db, pytest.mark.db]

SIGNIN = "/api/auth/signin/google"
CALLBACK = "/api/auth/callback/google"
REDIRECT_URI = "http://testserver/api/auth/callback/google"
ORIGIN = "http://testserver"
COOKIE = "next-auth.session-token"
DEFAULT_TARGET = "/home"
SIGNIN_PAGE = "/login"
GOOGLE_SUB = default_profile()["sub"]

User = get_user_model()


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    # Sign-in starts are throttled per client address, and every test is 127.0.0.1.
    caches["default"].clear()


@pytest.fixture(scope="module")
def google_server() -> Iterator[RunningStandIn]:
    running = RunningStandIn()
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def google(google_server: RunningStandIn, monkeypatch: pytest.MonkeyPatch) -> GoogleStandIn:
    """The stand-in, fresh for this test, with the backend's endpoints pointed at it."""
    google_server.standin.reset()
    monkeypatch.setattr(StandInGoogleOAuth2, "BASE_URL", google_server.standin.url)
    return google_server.standin


@pytest.fixture(autouse=True)
def _settings(settings: Any) -> None:
    settings.NEXTAUTH_LOGIN_REDIRECT_URL = DEFAULT_TARGET
    settings.NEXTAUTH_SIGNIN_URL = SIGNIN_PAGE
    settings.NEXTAUTH_ALLOWED_REDIRECT_ORIGINS = ["https://app.example.com"]


@pytest.fixture
def browser() -> Client:
    return Client(enforce_csrf_checks=True)


def start(browser: Client, callback_url: str | None = "/dashboard") -> Response:
    """Press "Sign in with Google" on our own page (a same-origin form post)."""
    data = {} if callback_url is None else {"callbackUrl": callback_url}
    return browser.post(SIGNIN, data, HTTP_ORIGIN=ORIGIN)


def consent(browser: Client, google: GoogleStandIn, callback_url: str | None) -> dict[str, str]:
    """Start the flow and grant consent at the stand-in: the query Google sends back."""
    response = start(browser, callback_url)
    assert response.status_code == 302
    return google.consent(response["Location"])


def come_back(browser: Client, query: dict[str, str]) -> Response:
    """Google's redirect back to our callback."""
    return browser.get(CALLBACK, query)


def sign_in(
    browser: Client, google: GoogleStandIn, callback_url: str | None = "/dashboard"
) -> Response:
    return come_back(browser, consent(browser, google, callback_url))


def error_location(code: str, callback_url: str = "/dashboard") -> str:
    return f"{SIGNIN_PAGE}?{urlencode({'error': code, 'callbackUrl': callback_url})}"


def token_claims(response: Response, name: str = COOKIE) -> dict[str, Any]:
    return JWTAuth.verify(response.cookies[name].value)


def assert_no_session_cookie(response: Response) -> None:
    issued = [
        name
        for name, morsel in response.cookies.items()
        if "session-token" in name and morsel.value
    ]
    assert issued == []


def google_user() -> Any:
    return UserSocialAuth.objects.get(provider="google-oauth2", uid=GOOGLE_SUB).user


# --------------------------------------------------------------------------- #
# Success
# --------------------------------------------------------------------------- #


def test_sign_in_starts_at_google_with_state_and_our_callback(
    browser: Client, google: GoogleStandIn
) -> None:
    response = start(browser)

    assert response.status_code == 302
    location = urlsplit(response["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == (
        f"{google.url}/o/oauth2/auth"
    )
    query = parse_qs(location.query)
    assert query["client_id"] == ["test-client-id.apps.googleusercontent.com"]
    assert query["redirect_uri"] == [REDIRECT_URI]
    assert query["response_type"] == ["code"]
    assert query["scope"] == ["openid email profile"]
    assert len(query["state"][0]) >= 32
    assert google.requests == []  # nothing is asked of Google before consent


def test_sign_in_start_is_never_cached(browser: Client, google: GoogleStandIn) -> None:
    cache_control = start(browser)["Cache-Control"]

    assert {"no-cache", "no-store", "must-revalidate", "private"} <= {
        part.strip() for part in cache_control.split(",")
    }


def test_new_google_user_gets_a_user_a_token_cookie_and_lands_on_callback_url(
    browser: Client, google: GoogleStandIn
) -> None:
    response = sign_in(browser, google, "/dashboard")

    assert response.status_code == 302
    assert response["Location"] == "/dashboard"
    assert "no-store" in response["Cache-Control"]
    user = google_user()
    assert user.email == "ada@example.com"
    assert (user.first_name, user.last_name) == ("Ada", "Lovelace")
    # The stable id is Google's sub, never the (mutable, reusable) email.
    social = UserSocialAuth.objects.get(user=user)
    assert (social.uid, social.id_key) == (GOOGLE_SUB, "sub")
    claims = token_claims(response)
    assert claims["sub"] == claims["id"] == str(user.pk)
    assert claims["email"] == "ada@example.com"
    assert claims["name"] == "Ada Lovelace"
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/"
    assert cookie["secure"] == ""
    assert cookie["max-age"] == 30 * 24 * 3600
    # The token exchange really happened, over HTTP, as Google expects it.
    [exchange] = google.calls(TOKEN_PATH)
    assert exchange.method == "POST"
    assert exchange.form["grant_type"] == "authorization_code"
    assert exchange.form["redirect_uri"] == REDIRECT_URI
    [userinfo] = google.calls(USERINFO_PATH)
    assert userinfo.headers["Authorization"].startswith("Bearer ya29.")


def test_google_sign_in_is_not_a_django_session_login(
    browser: Client, google: GoogleStandIn
) -> None:
    response = sign_in(browser, google)

    assert response.status_code == 302
    assert "_auth_user_id" not in browser.session


def test_returning_google_user_signs_in_as_the_same_user(
    browser: Client, google: GoogleStandIn
) -> None:
    first = sign_in(browser, google)
    google.profile["name"] = "Ada King"
    second = sign_in(Client(enforce_csrf_checks=True), google, "/again")

    assert first.status_code == second.status_code == 302
    assert second["Location"] == "/again"
    assert token_claims(first)["sub"] == token_claims(second)["sub"]
    assert User.objects.count() == 1
    assert UserSocialAuth.objects.get().uid == GOOGLE_SUB


def test_authjs_v5_format_sets_the_authjs_cookie(
    browser: Client, google: GoogleStandIn, settings: Any
) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"

    response = sign_in(browser, google)

    assert response.status_code == 302
    assert response["Location"] == "/dashboard"
    assert COOKIE not in response.cookies
    token = response.cookies["authjs.session-token"].value
    assert token.count(".") == 4  # a JWE, as Auth.js v5 writes it
    assert JWTAuth.verify(token)["sub"] == str(google_user().pk)


def test_secure_cookie_setting_sets_a_secure_prefixed_cookie(
    browser: Client, google: GoogleStandIn, settings: Any
) -> None:
    settings.NEXTAUTH_SECURE_COOKIE = True

    response = sign_in(browser, google)

    assert response.status_code == 302
    assert COOKIE not in response.cookies
    cookie = response.cookies["__Secure-next-auth.session-token"]
    assert cookie["secure"] is True
    assert token_claims(response, "__Secure-next-auth.session-token")["email"] == (
        "ada@example.com"
    )


def test_authjs_v5_with_secure_cookie_sets_secure_authjs_cookie(
    browser: Client, google: GoogleStandIn, settings: Any
) -> None:
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"
    settings.NEXTAUTH_SECURE_COOKIE = True

    response = sign_in(browser, google)

    assert response.status_code == 302
    cookie = response.cookies["__Secure-authjs.session-token"]
    assert cookie["secure"] is True
    assert token_claims(response, "__Secure-authjs.session-token")["sub"] == str(google_user().pk)


# --------------------------------------------------------------------------- #
# callbackUrl
# --------------------------------------------------------------------------- #


def test_missing_callback_url_lands_on_login_redirect_url(
    browser: Client, google: GoogleStandIn
) -> None:
    response = sign_in(browser, google, None)

    assert response.status_code == 302
    assert response["Location"] == DEFAULT_TARGET
    assert token_claims(response)["email"] == "ada@example.com"


@pytest.mark.parametrize("payload", OPEN_REDIRECT_PAYLOADS)
def test_open_redirect_callback_url_lands_on_the_default(
    browser: Client, google: GoogleStandIn, payload: str
) -> None:
    response = sign_in(browser, google, payload)

    assert response.status_code == 302
    assert response["Location"] == DEFAULT_TARGET
    if payload.strip():
        assert payload not in response["Location"]
    assert token_claims(response)["sub"] == str(google_user().pk)


def test_allowed_absolute_origin_callback_url_is_honoured(
    browser: Client, google: GoogleStandIn
) -> None:
    response = sign_in(browser, google, "https://app.example.com/after-login?tab=1")

    assert response.status_code == 302
    assert response["Location"] == "https://app.example.com/after-login?tab=1"
    assert COOKIE in response.cookies


def test_callback_url_sent_to_the_callback_is_ignored(
    browser: Client, google: GoogleStandIn
) -> None:
    query = consent(browser, google, "/dashboard")
    query |= {"callbackUrl": "https://evil.example/", "next": "https://evil.example/"}

    response = come_back(browser, query)

    assert response.status_code == 302
    assert response["Location"] == "/dashboard"


# --------------------------------------------------------------------------- #
# state
# --------------------------------------------------------------------------- #


def test_callback_without_state_is_refused(browser: Client, google: GoogleStandIn) -> None:
    query = consent(browser, google, "/dashboard")
    del query["state"]

    response = come_back(browser, query)

    assert response.status_code == 302
    assert response["Location"] == error_location("OAuthCallback")
    assert_no_session_cookie(response)
    assert google.calls(TOKEN_PATH) == []  # refused before the code is spent
    assert not UserSocialAuth.objects.exists()


def test_callback_with_forged_state_is_refused(browser: Client, google: GoogleStandIn) -> None:
    query = consent(browser, google, "/dashboard")
    query["state"] = "forged" + query["state"][6:]

    response = come_back(browser, query)

    assert response.status_code == 302
    assert response["Location"] == error_location("OAuthCallback")
    assert_no_session_cookie(response)
    assert google.calls(TOKEN_PATH) == []
    assert not UserSocialAuth.objects.exists()


def test_state_from_another_browser_is_refused(browser: Client, google: GoogleStandIn) -> None:
    # Login CSRF: an attacker's own state and code, delivered to the victim's browser.
    attacker_query = consent(Client(enforce_csrf_checks=True), google, "/dashboard")
    start(browser, "/victim")

    response = come_back(browser, attacker_query)

    assert response.status_code == 302
    assert response["Location"] == error_location("OAuthCallback", "/victim")
    assert_no_session_cookie(response)
    assert google.calls(TOKEN_PATH) == []


def test_callback_without_starting_is_refused(browser: Client, google: GoogleStandIn) -> None:
    response = come_back(browser, {"code": "4/anything", "state": "x" * 32})

    assert response.status_code == 302
    assert response["Location"] == error_location("OAuthCallback", DEFAULT_TARGET)
    assert_no_session_cookie(response)


def test_replayed_callback_after_success_is_refused(browser: Client, google: GoogleStandIn) -> None:
    query = consent(browser, google, "/dashboard")
    assert come_back(browser, query).status_code == 302

    replay = come_back(browser, query)

    assert replay.status_code == 302
    assert replay["Location"] == error_location("OAuthCallback", DEFAULT_TARGET)
    assert_no_session_cookie(replay)
    assert len(google.calls(TOKEN_PATH)) == 1  # the state is refused before the code is spent


def test_replayed_callback_after_failed_exchange_is_refused(
    browser: Client, google: GoogleStandIn
) -> None:
    query = consent(browser, google, "/dashboard")
    google.token_failure = (503, {"error": "temporarily_unavailable"})
    assert come_back(browser, query)["Location"] == error_location("OAuthCallback")
    google.token_failure = None

    replay = come_back(browser, query)

    assert replay.status_code == 302
    assert replay["Location"] == error_location("OAuthCallback", DEFAULT_TARGET)
    assert_no_session_cookie(replay)
    assert len(google.calls(TOKEN_PATH)) == 1
    assert not UserSocialAuth.objects.exists()


def test_state_is_spent_by_a_denied_consent(browser: Client, google: GoogleStandIn) -> None:
    query = consent(browser, google, "/dashboard")
    denied = come_back(browser, {"error": "access_denied", "state": query["state"]})
    assert denied["Location"] == error_location("AccessDenied")

    replay = come_back(browser, query)

    assert replay.status_code == 302
    assert replay["Location"] == error_location("OAuthCallback", DEFAULT_TARGET)
    assert_no_session_cookie(replay)
    assert google.calls(TOKEN_PATH) == []
    assert not UserSocialAuth.objects.exists()


# --------------------------------------------------------------------------- #
# Refusals
# --------------------------------------------------------------------------- #


def test_access_denied_by_google_redirects_with_access_denied(
    browser: Client, google: GoogleStandIn
) -> None:
    query = consent(browser, google, "/dashboard")

    response = come_back(browser, {"error": "access_denied", "state": query["state"]})

    assert response.status_code == 302
    assert response["Location"] == error_location("AccessDenied")
    assert_no_session_cookie(response)
    assert google.requests == []


@pytest.mark.parametrize("verified", [False, None, "true"], ids=["false", "missing", "string"])
def test_unverified_google_email_is_access_denied_and_creates_no_user(
    browser: Client, google: GoogleStandIn, verified: object
) -> None:
    if verified is None:
        del google.profile["email_verified"]
    else:
        google.profile["email_verified"] = verified

    response = sign_in(browser, google)

    assert response.status_code == 302
    assert response["Location"] == error_location("AccessDenied")
    assert_no_session_cookie(response)
    assert len(google.calls(USERINFO_PATH)) == 1
    assert not User.objects.exists()
    assert not UserSocialAuth.objects.exists()


def test_unverified_google_email_never_links_the_local_account_of_that_email(
    browser: Client, google: GoogleStandIn
) -> None:
    local = User.objects.create_user("ada", "ada@example.com", "pw")
    google.profile["email_verified"] = False

    response = sign_in(browser, google)

    assert response["Location"] == error_location("AccessDenied")
    assert_no_session_cookie(response)
    assert list(User.objects.all()) == [local]
    assert not UserSocialAuth.objects.exists()


def test_verified_google_email_of_a_local_account_creates_a_separate_user(
    browser: Client, google: GoogleStandIn
) -> None:
    # The pipeline never associates by email: the Google account gets a user of
    # its own, and the local account stays reachable only by its own password.
    local = User.objects.create_user("ada", "ada@example.com", "pw")

    response = sign_in(browser, google)

    assert response.status_code == 302
    assert response["Location"] == "/dashboard"
    created = google_user()
    assert created.pk != local.pk
    assert created.username != "ada"
    assert created.username.startswith("ada")
    assert token_claims(response)["sub"] == str(created.pk)
    assert not UserSocialAuth.objects.filter(user=local).exists()


def test_inactive_user_linked_to_the_google_account_is_access_denied(
    browser: Client, google: GoogleStandIn
) -> None:
    assert sign_in(browser, google).status_code == 302
    User.objects.update(is_active=False)

    response = sign_in(Client(enforce_csrf_checks=True), google)

    assert response.status_code == 302
    assert response["Location"] == error_location("AccessDenied")
    assert_no_session_cookie(response)
    assert User.objects.count() == 1
    assert UserSocialAuth.objects.get().uid == GOOGLE_SUB


def test_failed_token_exchange_redirects_with_an_error(
    browser: Client, google: GoogleStandIn
) -> None:
    google.token_failure = (400, {"error": "invalid_grant", "error_description": "Bad code."})

    response = sign_in(browser, google)

    assert response.status_code == 302
    assert response["Location"] == error_location("OAuthCallback")
    assert_no_session_cookie(response)
    assert len(google.calls(TOKEN_PATH)) == 1
    assert google.calls(USERINFO_PATH) == []
    assert not User.objects.exists()


def test_unreachable_google_redirects_with_an_error(
    browser: Client, google: GoogleStandIn, monkeypatch: pytest.MonkeyPatch
) -> None:
    query = consent(browser, google, "/dashboard")
    # A bound port that does not listen: connection refused, deterministically.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        monkeypatch.setattr(
            StandInGoogleOAuth2, "BASE_URL", f"http://127.0.0.1:{closed.getsockname()[1]}"
        )

        response = come_back(browser, query)

    assert response.status_code == 302
    assert response["Location"] == error_location("OAuthCallback")
    assert_no_session_cookie(response)


# --------------------------------------------------------------------------- #
# The start: method and CSRF
# --------------------------------------------------------------------------- #


def test_sign_in_start_by_get_is_405(browser: Client, google: GoogleStandIn) -> None:
    response = browser.get(SIGNIN, {"callbackUrl": "/dashboard"})

    assert response.status_code == 405
    assert "Location" not in response


def test_cross_site_sign_in_start_is_403(browser: Client, google: GoogleStandIn) -> None:
    browser.cookies["sessionid"] = "victim-session"

    response = browser.post(
        SIGNIN, {"callbackUrl": "/dashboard"}, HTTP_ORIGIN="https://evil.example"
    )

    assert response.status_code == 403
    assert response.json()["code"] == "csrf_failed"
    assert "Location" not in response


def test_server_to_server_sign_in_start_needs_no_csrf_proof(
    browser: Client, google: GoogleStandIn
) -> None:
    # No cookies and no Origin: not a browser, so no ambient authority to abuse.
    response = browser.post(SIGNIN, {"callbackUrl": "/dashboard"})

    assert response.status_code == 302
    assert response["Location"].startswith(f"{google.url}/o/oauth2/auth?")


def test_browser_form_start_with_a_django_csrf_token_redirects_to_google(
    browser: Client, google: GoogleStandIn
) -> None:
    # The example's sign-in page: a multipart form carrying csrfmiddlewaretoken and a
    # csrftoken cookie. Django's CSRF check reads the form before the view does.
    token = browser.get("/api/auth/csrf").json()["csrfToken"]
    response = browser.post(SIGNIN, {"callbackUrl": "/dashboard", "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert response["Location"].startswith(f"{google.url}/o/oauth2/auth?")
