"""``NextAuthJWTMiddleware`` and ``authenticate_request`` through sync and async stacks."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from asgiref.sync import async_to_sync, iscoroutinefunction
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.test import AsyncClient, Client, RequestFactory

from django_nextauth_jwt.middleware import NextAuthJWTMiddleware, authenticate_request
from tests.request_helpers import (
    ALL_FORMATS,
    IDENTITY_HEADERS,
    MIDDLEWARE,
    bearer,
    big_token,
    chunk,
    expired_token,
    make_token,
    tamper,
)

COOKIE = "next-auth.session-token"


@pytest.fixture(autouse=True)
def _middleware(settings):
    settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]
    settings.NEXTAUTH_PROTECTED_PATHS = ["/private/", "/api/plain/"]
    settings.NEXTAUTH_PUBLIC_PATHS = ["/private/public/"]


def assert_401_json(response, code: str):
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith('Bearer realm="api"')
    assert response.json()["code"] == code
    assert response["Content-Type"] == "application/json"


# --------------------------------------------------------------------------- #
# request.user and request.nextauth
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_valid_header_or_cookie_sets_the_token_user(settings, fmt):
    settings.NEXTAUTH_JWT_FORMAT = fmt
    token = make_token(role="admin")
    by_header = Client().get("/page/", headers=bearer(token)).json()
    client = Client()
    client.cookies["authjs.session-token" if fmt == "authjs-v5" else COOKIE] = token
    by_cookie = client.get("/page/").json()
    for body, source in ((by_header, "header"), (by_cookie, "cookie")):
        assert body["id"] == "42"
        assert body["user_class"] == "TokenUser"
        assert body["is_staff"] is True
        assert body["source"] == source


def test_chunked_cookie_sets_the_token_user():
    client = Client()
    for i, piece in enumerate(chunk(big_token(), 3933)):
        client.cookies[f"{COOKIE}.{i}"] = piece
    assert client.get("/page/").json()["id"] == "42"


def test_request_without_token_stays_anonymous():
    body = Client().get("/page/").json()
    assert body["authenticated"] is False
    assert body["error"] == "token_missing"


def test_invalid_token_on_unprotected_page_is_anonymous_with_the_error_recorded():
    body = Client().get("/page/", headers=bearer(expired_token())).json()
    assert body["authenticated"] is False
    assert body["error"] == "token_expired"


@pytest.mark.django_db
def test_session_user_is_kept_when_no_token_is_offered():
    user = get_user_model().objects.create_user("sessionuser", "s@example.com", "pw")
    client = Client()
    client.force_login(user)
    body = client.get("/page/").json()
    assert body["id"] == str(user.pk)
    assert body["user_class"] == "User"


@pytest.mark.django_db
def test_token_user_replaces_the_session_user():
    user = get_user_model().objects.create_user("sessionuser", "s@example.com", "pw")
    client = Client()
    client.force_login(user)
    assert client.get("/page/", headers=bearer(make_token())).json()["id"] == "42"


def test_identity_headers_never_change_the_user():
    token_headers = {**bearer(make_token()), **IDENTITY_HEADERS}
    assert Client().get("/page/", headers=token_headers, REMOTE_USER="root").json()["id"] == "42"
    body = Client().get("/page/", headers=IDENTITY_HEADERS, REMOTE_USER="root").json()
    assert body["authenticated"] is False
    assert_401_json(Client().get("/api/plain/", headers=IDENTITY_HEADERS), "token_missing")


@pytest.mark.django_db
def test_stateless_requests_issue_zero_queries(django_assert_num_queries):
    with django_assert_num_queries(0):
        assert Client().get("/private/page/", headers=bearer(make_token())).status_code == 200
        assert Client().get("/page/", headers=bearer(make_token())).status_code == 200


def test_authenticate_request_stores_result_and_source_on_the_request():
    request = RequestFactory().get("/", headers=bearer(make_token()))
    result = authenticate_request(request)
    assert result.success
    assert result.claims is not None
    assert result.claims["id"] == "42"
    assert getattr(request, "nextauth", None) is result
    assert getattr(request, "nextauth_source", None) == "header"


def test_authenticate_request_never_raises_for_malformed_input():
    request = RequestFactory().get("/", HTTP_AUTHORIZATION="Bearer %%%")
    result = authenticate_request(request)
    assert (result.success, result.error) == (False, "token_malformed")


# --------------------------------------------------------------------------- #
# Protection by path
# --------------------------------------------------------------------------- #


def test_protected_api_path_without_token_is_401_json():
    assert_401_json(Client().get("/api/plain/"), "token_missing")


@pytest.mark.parametrize(
    ("token", "code"),
    [
        (expired_token, "token_expired"),
        (lambda: tamper(make_token()), "token_invalid"),
        (lambda: "not-a-token", "token_malformed"),
    ],
)
def test_protected_api_path_with_bad_token_is_401_with_its_code(token, code):
    response = Client().get("/api/plain/", headers=bearer(token()))
    assert_401_json(response, code)
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_protected_page_redirects_to_signin_with_callback_url(settings):
    settings.NEXTAUTH_SIGNIN_URL = "https://app.example.com/login?next=x&callbackUrl=old"
    response = Client().get("/private/page/?a=1&b=two words")
    assert response.status_code == 302
    target = urlsplit(response["Location"])
    assert (target.scheme, target.netloc, target.path) == ("https", "app.example.com", "/login")
    query = parse_qs(target.query)
    assert query == {"next": ["x"], "callbackUrl": ["/private/page/?a=1&b=two%20words"]}


def test_protected_page_redirect_uses_default_signin_url():
    response = Client().get("/private/page/")
    assert response["Location"] == "/api/auth/signin?callbackUrl=%2Fprivate%2Fpage%2F"


def test_protected_page_with_valid_token_is_served():
    assert Client().get("/private/page/", headers=bearer(make_token())).json()["id"] == "42"


def test_public_prefix_wins_inside_a_protected_prefix():
    assert Client().get("/private/public/page/").status_code == 200


def test_unprotected_paths_are_served_without_token():
    assert Client().get("/page/").status_code == 200


def test_api_paths_setting_decides_json_or_redirect(settings):
    settings.NEXTAUTH_API_PATHS = ["/private/"]
    assert_401_json(Client().get("/private/page/"), "token_missing")
    settings.NEXTAUTH_API_PATHS = []
    assert Client().get("/api/plain/").status_code == 302


# --------------------------------------------------------------------------- #
# Async stack
# --------------------------------------------------------------------------- #


def test_async_stack_sets_the_token_user():
    async def run():
        return await AsyncClient().get("/async/page/", headers={"Authorization": "Bearer " + t})

    t = make_token()
    body = async_to_sync(run)().json()
    assert body["id"] == "42"
    assert body["user_class"] == "TokenUser"


def test_async_stack_protects_paths():
    async def run():
        client = AsyncClient()
        return (
            await client.get("/private/async/"),
            await client.get("/api/plain/", headers={"Authorization": "Bearer x"}),
            await client.get("/private/async/", headers={"Authorization": f"Bearer {t}"}),
        )

    t = make_token()
    redirect, refused, served = async_to_sync(run)()
    assert redirect.status_code == 302
    assert redirect["Location"].endswith("callbackUrl=%2Fprivate%2Fasync%2F")
    assert_401_json(refused, "token_malformed")
    assert served.json()["id"] == "42"


def test_async_stack_without_token_is_anonymous():
    async def run():
        return await AsyncClient().get("/async/page/")

    assert async_to_sync(run)().json()["authenticated"] is False


def test_middleware_adapts_to_sync_and_async_handlers():
    async def async_view(request):
        return HttpResponse()

    def sync_view(request):
        return HttpResponse()

    assert NextAuthJWTMiddleware.sync_capable
    assert NextAuthJWTMiddleware.async_capable
    assert iscoroutinefunction(NextAuthJWTMiddleware(async_view))
    assert not iscoroutinefunction(NextAuthJWTMiddleware(sync_view))


# --------------------------------------------------------------------------- #
# CSRF: Bearer requests are no forgery; cookie requests still need proof
# --------------------------------------------------------------------------- #


def test_bearer_post_to_a_plain_django_view_needs_no_csrf_token():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/page/", headers=bearer(make_token()))
    assert response.status_code == 200
    assert response.json()["id"] == "42"


def test_cookie_post_to_a_plain_django_view_still_needs_a_csrf_token():
    client = Client(enforce_csrf_checks=True)
    client.cookies[COOKIE] = make_token()
    assert client.post("/page/").status_code == 403


def test_invalid_bearer_post_keeps_the_csrf_check():
    client = Client(enforce_csrf_checks=True)
    assert client.post("/page/", headers={"Authorization": "Bearer nope"}).status_code == 403


def test_async_stack_with_a_networked_deny_list_runs_off_the_event_loop(settings, monkeypatch):
    import threading

    from django_nextauth_jwt.state import revocation

    settings.NEXTAUTH_REDIS_URL = "redis://127.0.0.1:6379/15"
    threads: list[str] = []
    monkeypatch.setattr(
        revocation,
        "check",
        lambda claims, token, pol: threads.append(threading.current_thread().name),
    )

    async def run():
        main = threading.current_thread().name
        response = await AsyncClient().get(
            "/async/page/", headers={"Authorization": f"Bearer {make_token()}"}
        )
        return main, response

    main, response = async_to_sync(run)()
    assert response.json()["id"] == "42"
    assert threads
    assert threads[0] != main


def test_middleware_and_drf_verify_a_token_once(monkeypatch):
    from django_nextauth_jwt import tokens

    calls = []
    original = tokens.decode

    def counting(token, **kwargs):
        calls.append(token)
        return original(token, **kwargs)

    monkeypatch.setattr(tokens, "decode", counting)
    response = Client().get("/api/me/", headers=bearer(make_token()))
    assert response.status_code == 200
    assert len(calls) == 1


def test_requests_without_a_token_share_one_frozen_result(rf: RequestFactory) -> None:
    first, second = rf.get("/"), rf.get("/")
    assert authenticate_request(first) is authenticate_request(second)
    assert first.nextauth.error == "token_missing"  # type: ignore[attr-defined]
    assert first.nextauth_source is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "cookie", [None, "csrftoken=abc; theme=dark", "next-auth.session-token=", "theme=session-token"]
)
def test_a_token_less_request_passes_with_the_same_result_sync_and_async(
    settings, cookie: str | None
) -> None:
    # The fast path (no token offered, path not protected) stores what authenticate_request
    # would: a failed result with token_missing, no source, and the user left alone.
    settings.NEXTAUTH_PROTECTED_PATHS = ["/private/"]
    seen = []

    def sync_view(request):
        seen.append(request)
        return HttpResponse("ok")

    async def async_view(request):
        seen.append(request)
        return HttpResponse("ok")

    def get(path: str) -> Any:
        request = RequestFactory().get(path)
        if cookie is not None:
            request.META["HTTP_COOKIE"] = cookie
        return request

    sync_response = NextAuthJWTMiddleware(sync_view)(get("/page/"))
    async_response = async_to_sync(NextAuthJWTMiddleware(async_view))(get("/page/"))
    assert sync_response.status_code == async_response.status_code == 200
    for request in seen:
        assert request.nextauth.success is False
        assert request.nextauth.error == "token_missing"
        assert request.nextauth_source is None
        assert not hasattr(request, "user")  # the middleware set none: no token
    assert len(seen) == 2
    # The same request on a protected path is refused (the fast path is not taken there).
    refused = NextAuthJWTMiddleware(sync_view)(get("/private/x/"))
    assert refused.status_code == 302
    assert len(seen) == 2
