"""custom-login, session and signout, through the Django test client as a browser or a server."""

from __future__ import annotations

import json
from http.cookies import SimpleCookie
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import MD5PasswordHasher
from django.core.cache import caches
from django.test import Client

from django_nextauth_jwt import JWTAuth
from tests import forge
from tests.test_redirects import OPEN_REDIRECT_PAYLOADS

LOGIN = "/api/auth/custom-login"
SESSION = "/api/auth/session"
SIGNOUT = "/api/auth/signout"
COOKIE = "next-auth.session-token"
PASSWORD = "correct horse battery staple"

pytestmark = [pytest.mark.django_db, pytest.mark.db]


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    caches["default"].clear()


@pytest.fixture
def user() -> Any:
    return get_user_model().objects.create_user(
        "ada", email="ada@example.com", password=PASSWORD, first_name="Ada", last_name="Lovelace"
    )


@pytest.fixture
def client() -> Client:
    # Like a browser: Django's test client skips CSRF checks unless told not to.
    return Client(enforce_csrf_checks=True)


def login(client: Client, **body: Any) -> Any:
    return client.post(LOGIN, data=json.dumps(body), content_type="application/json")


def cookie_attrs(response: Any, name: str) -> dict[str, Any]:
    morsel = response.cookies[name]
    return {key: morsel[key] for key in ("max-age", "path", "httponly", "samesite", "secure")}


# --------------------------------------------------------------------------- #
# custom-login
# --------------------------------------------------------------------------- #


def test_login_with_email_returns_token_user_and_cookie(client: Client, user: Any) -> None:
    response = login(client, email="ada@example.com", password=PASSWORD, callbackUrl="/after")
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "user", "expires", "url", "sid"}
    assert body["user"] == {
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "image": None,
        "id": str(user.pk),
        "role": None,
    }
    assert body["url"] == "/after"
    assert body["expires"].endswith("Z")
    claims = JWTAuth.verify(body["token"])
    assert claims["id"] == str(user.pk)
    assert response.cookies[COOKIE].value == body["token"]
    assert cookie_attrs(response, COOKIE) == {
        "max-age": 30 * 24 * 3600,
        "path": "/",
        "httponly": True,
        "samesite": "Lax",
        "secure": "",
    }
    assert response["Cache-Control"].startswith("max-age=0")


def test_login_with_username_and_form_body(client: Client, user: Any) -> None:
    response = client.post(LOGIN, {"username": "ada", "password": PASSWORD})
    assert response.status_code == 200
    assert JWTAuth.verify(response.json()["token"])["email"] == "ada@example.com"


def test_login_as_staff_carries_the_admin_role(client: Client, user: Any) -> None:
    user.is_staff = True
    user.save()
    token = login(client, email="ada@example.com", password=PASSWORD).json()["token"]
    assert JWTAuth.verify(token)["role"] == "admin"


def test_browser_form_login_redirects_to_the_callback(client: Client, user: Any) -> None:
    response = client.post(
        LOGIN,
        {"email": "ada@example.com", "password": PASSWORD, "callbackUrl": "/dashboard"},
        HTTP_ACCEPT="text/html",
    )
    assert (response.status_code, response["Location"]) == (303, "/dashboard")
    assert JWTAuth.verify(response.cookies[COOKIE].value)["email"] == "ada@example.com"


def test_browser_form_login_failure_redirects_to_signin_with_error(
    client: Client, user: Any
) -> None:
    response = client.post(
        LOGIN, {"email": "ada@example.com", "password": "nope"}, HTTP_ACCEPT="text/html"
    )
    assert response.status_code == 303
    assert response["Location"] == "/api/auth/signin?error=CredentialsSignin&callbackUrl=%2F"
    assert COOKIE not in response.cookies


@pytest.mark.parametrize("fmt", ["nextauth-v4", "authjs-v5"])
def test_login_in_jwe_formats_sets_that_formats_cookie(
    client: Client, user: Any, settings: Any, fmt: str
) -> None:
    settings.NEXTAUTH_JWT_FORMAT = fmt
    settings.NEXTAUTH_SECURE_COOKIE = True
    response = login(client, email="ada@example.com", password=PASSWORD)
    name = "__Secure-authjs.session-token" if fmt == "authjs-v5" else f"__Secure-{COOKIE}"
    assert response.cookies[name]["secure"] is True
    assert response.cookies[name].value.count(".") == 4
    assert JWTAuth.verify(response.cookies[name].value)["id"] == str(user.pk)


def test_login_expires_stale_chunks_the_browser_still_holds(client: Client, user: Any) -> None:
    client.cookies[f"{COOKIE}.0"] = "old-first-half"
    client.cookies[f"{COOKIE}.1"] = "old-second-half"
    response = client.post(
        LOGIN,
        data=json.dumps({"email": "ada@example.com", "password": PASSWORD}),
        content_type="application/json",
        HTTP_ORIGIN="http://testserver",
    )
    assert response.status_code == 200
    for chunk in (f"{COOKIE}.0", f"{COOKIE}.1"):
        assert response.cookies[chunk]["max-age"] == 0
    assert response.cookies[COOKIE].value


def test_login_updates_last_login(client: Client, user: Any) -> None:
    assert user.last_login is None
    login(client, email="ada@example.com", password=PASSWORD)
    user.refresh_from_db()
    assert user.last_login is not None


@pytest.mark.parametrize(
    "body",
    [
        {"email": "ada@example.com", "password": "wrong"},
        {"email": "nobody@example.com", "password": PASSWORD},
        {"username": "nobody", "password": PASSWORD},
        {"email": "ADA@EXAMPLE.COM", "password": "wrong"},
    ],
)
def test_wrong_password_and_unknown_user_get_the_same_401(
    client: Client, user: Any, body: dict[str, str]
) -> None:
    response = login(client, **body)
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Invalid email or password.",
        "code": "invalid_credentials",
    }
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert COOKIE not in response.cookies


def test_unknown_user_costs_a_password_hash_like_a_wrong_password(
    client: Client, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    original = MD5PasswordHasher.encode

    def counting(self: MD5PasswordHasher, password: str, salt: str) -> str:
        calls.append(password)
        return original(self, password, salt)

    monkeypatch.setattr(MD5PasswordHasher, "encode", counting)
    login(client, email="ada@example.com", password="wrong")
    wrong_password = len(calls)
    calls.clear()
    login(client, email="nobody@example.com", password="wrong")
    assert wrong_password >= 1
    assert len(calls) == wrong_password


def test_inactive_user_cannot_log_in(client: Client, user: Any) -> None:
    user.is_active = False
    user.save()
    assert login(client, email="ada@example.com", password=PASSWORD).status_code == 401


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("application/json", "{"),
        ("application/json", "[]"),
        ("application/json", '"x"'),
        ("application/json", ""),
        ("application/json", '{"email": "ada@example.com"}'),
        ("application/json", '{"email": "ada@example.com", "password": 5}'),
        ("application/json", '{"email": ["a"], "password": "x"}'),
        ("application/json", '{"password": "x"}'),
        ("application/json", "[" * 5000),  # deeper than json's recursion limit
        ("text/plain", "email=ada@example.com&password=x"),
        ("application/xml", "<login/>"),
    ],
)
def test_malformed_body_is_400(client: Client, content_type: str, data: str) -> None:
    response = client.post(LOGIN, data=data, content_type=content_type)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_request"


def test_oversized_password_is_refused_before_hashing(
    client: Client, user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []

    def counting(*args: Any) -> str:
        calls.append("x")
        return ""

    monkeypatch.setattr(MD5PasswordHasher, "encode", counting)
    response = login(client, email="ada@example.com", password="x" * 1025)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_request")
    assert calls == []


def test_get_on_login_is_405(client: Client) -> None:
    assert client.get(LOGIN).status_code == 405


@pytest.mark.parametrize("target", OPEN_REDIRECT_PAYLOADS)
def test_login_never_returns_an_open_redirect(client: Client, user: Any, target: str) -> None:
    response = login(client, email="ada@example.com", password=PASSWORD, callbackUrl=target)
    assert response.json()["url"] == "/"


# --------------------------------------------------------------------------- #
# Throttling
# --------------------------------------------------------------------------- #


def test_account_is_throttled_after_five_attempts_with_retry_after(
    client: Client, user: Any
) -> None:
    codes = [
        login(client, email="ada@example.com", password=f"guess{i}").status_code for i in range(6)
    ]
    assert codes == [401] * 5 + [429]
    response = login(client, email="ada@example.com", password=PASSWORD)
    assert response.status_code == 429
    assert response.json()["code"] == "too_many_attempts"
    assert 1 <= int(response["Retry-After"]) <= 300


def test_successful_logins_do_not_use_up_the_account_budget(client: Client, user: Any) -> None:
    for _ in range(8):
        fresh = Client(enforce_csrf_checks=True)  # a server calling, no cookies kept
        assert login(fresh, email="ada@example.com", password=PASSWORD).status_code == 200


def test_client_throttle_ignores_rotating_forwarded_for(client: Client, settings: Any) -> None:
    settings.NEXTAUTH_LOGIN_RATE_PER_CLIENT = (3, 300)
    codes = [
        client.post(
            LOGIN,
            data=json.dumps({"email": f"u{i}@example.com", "password": "x"}),
            content_type="application/json",
            HTTP_X_FORWARDED_FOR=f"198.51.100.{i}",
        ).status_code
        for i in range(5)
    ]
    assert codes == [401, 401, 401, 429, 429]


# --------------------------------------------------------------------------- #
# Login CSRF policy
# --------------------------------------------------------------------------- #


def test_server_to_server_login_without_cookies_or_origin_passes(client: Client, user: Any) -> None:
    assert login(client, email="ada@example.com", password=PASSWORD).status_code == 200


def test_cross_site_browser_login_is_403(client: Client, user: Any) -> None:
    response = client.post(
        LOGIN,
        data=json.dumps({"email": "ada@example.com", "password": PASSWORD}),
        content_type="application/json",
        HTTP_ORIGIN="https://evil.example",
    )
    assert (response.status_code, response.json()["code"]) == (403, "csrf_failed")
    assert COOKIE not in response.cookies


def test_cookie_carrying_login_without_origin_or_token_is_403(client: Client, user: Any) -> None:
    client.cookies["something"] = "1"
    assert login(client, email="ada@example.com", password=PASSWORD).status_code == 403


@pytest.mark.parametrize("origin", ["http://testserver", "https://app.example.com"])
def test_same_origin_or_trusted_origin_login_passes(
    client: Client, user: Any, settings: Any, origin: str
) -> None:
    settings.CSRF_TRUSTED_ORIGINS = ["https://app.example.com"]
    client.cookies["something"] = "1"
    response = client.post(
        LOGIN,
        data=json.dumps({"email": "ada@example.com", "password": PASSWORD}),
        content_type="application/json",
        HTTP_ORIGIN=origin,
    )
    assert response.status_code == 200


def test_browser_login_with_django_csrf_token_passes(user: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    token = client.get("/api/auth/csrf").json()["csrfToken"]
    response = client.post(
        LOGIN,
        data=json.dumps({"email": "ada@example.com", "password": PASSWORD}),
        content_type="application/json",
        HTTP_X_CSRFTOKEN=token,
    )
    assert response.status_code == 200


# --------------------------------------------------------------------------- #
# session
# --------------------------------------------------------------------------- #


def test_session_has_nextauth_shape_for_a_valid_cookie(client: Client, user: Any) -> None:
    token = login(client, email="ada@example.com", password=PASSWORD).json()["token"]
    body = client.get(SESSION).json()
    assert body["user"]["email"] == "ada@example.com"
    assert body["user"]["id"] == str(user.pk)
    assert body["expires"].endswith("Z")
    bearer = Client().get(SESSION, HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert bearer == body


@pytest.mark.parametrize(
    "token",
    ["", "garbage", forge.jws(forge.claims(exp=1)), forge.jws(forge.claims(), forge.OTHER_SECRET)],
)
def test_session_is_empty_without_a_valid_token(client: Client, token: str) -> None:
    client.cookies[COOKIE] = token
    response = client.get(SESSION)
    assert (response.status_code, response.json()) == (200, {})
    assert response["Cache-Control"] == "max-age=0, no-cache, no-store, must-revalidate, private"


# --------------------------------------------------------------------------- #
# signout
# --------------------------------------------------------------------------- #


def test_signout_revokes_the_cookie_token_everywhere(client: Client, user: Any) -> None:
    token = login(client, email="ada@example.com", password=PASSWORD).json()["token"]
    response = client.post(
        SIGNOUT,
        data=json.dumps({"callbackUrl": "/bye"}),
        content_type="application/json",
        HTTP_ORIGIN="http://testserver",
    )
    assert (response.status_code, response.json()) == (200, {"url": "/bye"})
    assert response.cookies[COOKIE]["max-age"] == 0
    # The token is dead everywhere that shares the cache, not only in this browser.
    refused = Client().get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert (refused.status_code, refused.json()["code"]) == (401, "token_revoked")
    assert Client().get(SESSION, HTTP_AUTHORIZATION=f"Bearer {token}").json() == {}


def test_signout_by_bearer_from_a_server(client: Client) -> None:
    token = JWTAuth.create({"id": "9"})
    response = client.post(SIGNOUT, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert JWTAuth.authenticate_token(token).error == "token_revoked"


def test_signout_deletes_the_cookie_and_every_chunk(client: Client) -> None:
    for name in (COOKIE, f"{COOKIE}.0", f"{COOKIE}.1"):
        client.cookies[name] = "x"
    response = client.post(SIGNOUT, HTTP_ORIGIN="http://testserver")
    assert response.status_code == 200
    for name in (COOKIE, f"{COOKIE}.0", f"{COOKIE}.1"):
        assert response.cookies[name]["max-age"] == 0


def test_signout_without_a_token_still_clears_the_cookie(client: Client) -> None:
    response = client.post(SIGNOUT)
    assert response.status_code == 200
    assert response.cookies[COOKIE]["max-age"] == 0


def test_cross_site_signout_is_403(client: Client, user: Any) -> None:
    login(client, email="ada@example.com", password=PASSWORD)
    response = client.post(SIGNOUT, HTTP_ORIGIN="https://evil.example")
    assert (response.status_code, response.json()["code"]) == (403, "csrf_failed")


def test_signout_when_revocation_store_is_down_is_503_and_clears_cookie(
    client: Client, settings: Any
) -> None:
    token = JWTAuth.create({"id": "9"})
    settings.NEXTAUTH_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    # The default fail-closed policy: the token no longer verifies, yet sign-out
    # must still try to revoke it, and say that it could not.
    response = client.post(SIGNOUT, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert (response.status_code, response.json()["code"]) == (503, "revocation_unavailable")
    assert response.cookies[COOKIE]["max-age"] == 0


def test_signout_of_a_token_without_jti_revokes_it(client: Client) -> None:
    token = forge.jws(forge.claims(jti=...))
    response = client.post(SIGNOUT, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert JWTAuth.authenticate_token(token).error == "token_revoked"


def test_set_cookie_header_is_a_single_valid_cookie(client: Client, user: Any) -> None:
    response = login(client, email="ada@example.com", password=PASSWORD)
    parsed: SimpleCookie = SimpleCookie()
    parsed.load(response.cookies[COOKIE].OutputString())
    assert parsed[COOKIE].value == response.json()["token"]


def test_login_when_the_throttle_store_is_down_is_503_not_500(
    client: Client, user: Any, settings: Any
) -> None:
    settings.NEXTAUTH_REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = login(client, email="ada@example.com", password=PASSWORD)
    assert (response.status_code, response.json()["code"]) == (503, "throttle_unavailable")
    assert response["Retry-After"] == "5"
    assert COOKIE not in response.cookies


def test_session_for_a_token_with_an_absurd_exp_is_empty_not_500(client: Client) -> None:
    token = forge.jws(forge.claims(exp=10**12))
    response = client.get(SESSION, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert (response.status_code, response.json()) == (200, {})


@pytest.mark.parametrize("field", ["email", "password"])
def test_lone_surrogate_in_login_body_is_400_not_500(client: Client, user: Any, field: str) -> None:
    body = {"email": "ada@example.com", "password": PASSWORD, field: "x\\ud800"}
    raw = json.dumps(body).replace("\\\\ud800", "\\ud800")
    response = client.post(LOGIN, data=raw, content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (400, "invalid_request")


def test_login_keeps_the_password_out_of_error_reports(
    user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from django.core.signals import got_request_exception
    from django.views.debug import ExceptionReporter

    from django_nextauth_jwt.views import CustomLoginView

    def broken(*args: Any) -> Any:
        raise RuntimeError("boom")

    seen: list[Any] = []

    def capture(sender: Any, request: Any, **kwargs: Any) -> None:
        seen.append((request, *sys.exc_info()))

    monkeypatch.setattr(CustomLoginView, "success", broken)
    got_request_exception.connect(capture)
    try:
        response = Client(raise_request_exception=False).post(
            LOGIN, {"email": "ada@example.com", "password": PASSWORD}
        )
    finally:
        got_request_exception.disconnect(capture)
    assert response.status_code == 500
    request, exc_type, exc_value, tb = seen[0]
    reporter = ExceptionReporter(request, exc_type, exc_value, tb)
    ours = [f for f in reporter.get_traceback_frames() if "django_nextauth_jwt" in f["filename"]]
    assert ours
    assert PASSWORD not in repr([f["vars"] for f in ours])
    assert PASSWORD not in repr(reporter.filter.get_post_parameters(request))


def test_failed_form_login_keeps_the_signin_urls_own_query(
    client: Client, user: Any, settings: Any
) -> None:
    settings.NEXTAUTH_SIGNIN_URL = "/signin/?theme=dark"
    response = client.post(
        LOGIN, {"email": "ada@example.com", "password": "nope"}, HTTP_ACCEPT="text/html"
    )
    assert response["Location"] == "/signin/?theme=dark&error=CredentialsSignin&callbackUrl=%2F"


@pytest.mark.parametrize("path", [LOGIN, SIGNOUT, "/api/auth/signin/google"])
def test_a_browser_form_failing_csrf_goes_back_to_sign_in_not_to_raw_json(
    settings: Any, path: str
) -> None:
    settings.NEXTAUTH_SIGNIN_URL = "/signin/"
    client = Client(enforce_csrf_checks=True)
    client.cookies["csrftoken"] = "x" * 32  # a browser with a stale form: cookie, no token
    form = client.post(
        path,
        {"email": "ada@example.com", "password": "pw"},
        HTTP_ACCEPT="text/html,application/xhtml+xml",
        HTTP_ORIGIN="https://evil.example",
    )
    assert (form.status_code, form["Location"]) == (303, "/signin/?error=MissingCSRF")
    api = client.post(path, {"email": "ada@example.com"}, HTTP_ORIGIN="https://evil.example")
    assert (api.status_code, api.json()["code"]) == (403, "csrf_failed")


def test_signout_without_a_callback_url_points_at_the_sign_in_page(settings: Any) -> None:
    settings.NEXTAUTH_SIGNIN_URL = "/signin/"
    settings.NEXTAUTH_LOGIN_REDIRECT_URL = "/dashboard/"
    response = Client().post(SIGNOUT, data="{}", content_type="application/json")
    assert (response.status_code, response.json()) == (200, {"url": "/signin/"})
