"""Cookies nobody can pin: what a sibling subdomain plants, sign-out and ``token_ambiguous`` clear.

A page on ``evil.example.test`` can set ``next-auth.session-token.0=x; Domain=example.test;
Path=/api``. The browser then sends it beside the person's own cookie with every ``/api``
request on ``app.example.test`` (``token_ambiguous``), and a deletion for ``Path=/`` leaves it
alone: a deletion must name the cookie's path and domain. Sign-out and the answers that say
``token_ambiguous`` expire each cookie the request carried for every path a cookie sent with
it can have and for every domain of its host. ``tests/test_browser_planted.py`` shows it in
Chromium.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from django_nextauth_jwt import JWTAuth
from django_nextauth_jwt.transport import (
    PLANTED_MAX_LINES,
    _planted_domains,
    _planted_paths,
    delete_session_cookie,
)

COOKIE = "next-auth.session-token"
HOST = "app.example.test"


@pytest.fixture(autouse=True)
def _hosts(settings: Any) -> None:
    settings.ALLOWED_HOSTS = [".example.test", "testserver"]
    settings.NEXTAUTH_COOKIE_NAME = COOKIE


def lines(response: Any) -> list[str]:
    return [morsel.output(header="").strip() for morsel in response.cookies.values()]


def planted_request(client: Client, method: str, path: str) -> Any:
    # The person's own cookie (Path=/, host-only) and the planted chunk (Domain=example.test,
    # Path=/api): the browser sends the longer path first.
    token = JWTAuth.create({"id": "7"})
    header = f"{COOKIE}.0=x; {COOKIE}={token}"
    return getattr(client, method)(path, HTTP_HOST=HOST, HTTP_COOKIE=header)


def test_sign_out_expires_a_chunk_planted_by_a_sibling_for_the_parent_domain_and_api() -> None:
    response = planted_request(Client(), "post", "/api/auth/signout")

    assert response.status_code == 200
    assert f'{COOKIE}.0=""; Domain=example.test; Max-Age=0; Path=/api' in lines(response)
    # And every other place it can sit for this request: each prefix, with and without its
    # slash, host-only and for the parent.
    for path in ("/", "/api", "/api/", "/api/auth", "/api/auth/", "/api/auth/signout"):
        for domain in ("", "Domain=example.test; "):
            wanted = f'{COOKIE}.0=""; {domain}Max-Age=0; Path={path}'
            assert any(line.startswith(wanted) for line in lines(response)), wanted


def test_token_ambiguous_session_answer_expires_the_planted_copies() -> None:
    response = planted_request(Client(), "get", "/api/auth/session")

    assert response.json() == {}
    assert f'{COOKIE}.0=""; Domain=example.test; Max-Age=0; Path=/api' in lines(response)
    assert f'{COOKIE}=""; Domain=example.test; Max-Age=0; Path=/api/auth' in lines(response)


def test_token_ambiguous_sign_out_everywhere_answer_expires_the_planted_copies() -> None:
    response = planted_request(Client(), "post", "/api/auth/signout-everywhere")

    assert (response.status_code, response.json()["code"]) == (401, "token_ambiguous")
    assert f'{COOKIE}.0=""; Domain=example.test; Max-Age=0; Path=/api' in lines(response)


def test_an_unambiguous_session_answer_deletes_nothing() -> None:
    token = JWTAuth.create({"id": "7"})
    response = Client().get("/api/auth/session", HTTP_HOST=HOST, HTTP_COOKIE=f"{COOKIE}={token}")

    assert response.json()["user"]["id"] == "7"
    assert lines(response) == []


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/", ["/"]),
        ("/api", ["/", "/api", "/api/"]),
        (
            "/api/auth/signout",
            [
                "/",
                "/api",
                "/api/",
                "/api/auth",
                "/api/auth/",
                "/api/auth/signout",
                "/api/auth/signout/",
            ],
        ),
        ("/a/b/c/d/e/f", ["/", "/a", "/a/", "/a/b", "/a/b/", "/a/b/c", "/a/b/c/"]),
        ("//x", ["/"]),
    ],
)
def test_planted_paths_are_the_request_paths_prefixes_within_bounds(
    path: str, expected: list[str]
) -> None:
    assert _planted_paths(path) == expected


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("app.example.test", [None, "example.test"]),
        ("a.b.c.example.test", [None, "b.c.example.test", "c.example.test", "example.test"]),
        (
            "a.b.c.d.example.test",
            [None, "b.c.d.example.test", "c.d.example.test", "d.example.test"],
        ),
        ("example.test", [None]),
        ("127.0.0.1", [None]),
        ("[::1]", [None]),
    ],
)
def test_planted_domains_are_the_hosts_parents_within_bounds(
    settings: Any, host: str, expected: list[str | None]
) -> None:
    from django.test import RequestFactory

    settings.ALLOWED_HOSTS = ["*"]
    assert _planted_domains(RequestFactory().get("/", HTTP_HOST=host)) == expected


def test_a_request_full_of_planted_chunks_gets_a_bounded_answer(settings: Any) -> None:
    from django.http import HttpResponse
    from django.test import RequestFactory

    settings.NEXTAUTH_MAX_COOKIE_CHUNKS = 100
    header = "; ".join(f"{COOKIE}.{i}=x" for i in range(100))
    request = RequestFactory().post(
        "/a/b/c/d/e", HTTP_HOST="a.b.c.d.example.test", HTTP_COOKIE=header
    )
    response = HttpResponse()
    delete_session_cookie(response, request)

    # Path=/ lines (host-only, parent: two per name) plus the planted ones, bounded.
    planted = [line for line in lines(response) if "Path=/;" not in line]
    assert len(planted) == PLANTED_MAX_LINES
    assert planted[0].startswith(f'{COOKIE}.0=""; Domain=b.c.d.example.test; Max-Age=0; Path=/')


def test_host_prefixed_cookies_are_not_chased_across_paths(settings: Any) -> None:
    settings.NEXTAUTH_COOKIE_NAME = "__Host-next-auth.session-token"
    token = JWTAuth.create({"id": "7"})
    header = f"__Host-next-auth.session-token={token}"
    response = Client().post("/api/auth/signout", HTTP_HOST=HOST, HTTP_COOKIE=header, secure=True)
    # No sibling can set a __Host- cookie: its one deletion, for Path=/ host-only, is enough.
    assert [line for line in lines(response) if "Path=/api" in line] == []


PLANTED_LINE = f'{COOKIE}.0=""; Domain=example.test; Max-Age=0; Path=/api'


@pytest.mark.urls("tests.urls_nodrf")
def test_middleware_token_ambiguous_401_expires_the_planted_copies(settings: Any) -> None:
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "django_nextauth_jwt.middleware.NextAuthJWTMiddleware",
    ]
    settings.NEXTAUTH_PROTECTED_PATHS = ["/api/plain/", "/private/"]
    settings.NEXTAUTH_API_PATHS = ["/api/"]
    response = planted_request(Client(), "get", "/api/plain/")

    assert (response.status_code, response.json()["code"]) == (401, "token_ambiguous")
    assert PLANTED_LINE in lines(response)


@pytest.mark.urls("tests.urls_nodrf")
def test_middleware_sign_in_redirect_for_an_ambiguous_cookie_expires_the_copies(
    settings: Any,
) -> None:
    # Else the person signs in, comes back, and is sent to sign in again: a loop.
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "django_nextauth_jwt.middleware.NextAuthJWTMiddleware",
    ]
    settings.NEXTAUTH_PROTECTED_PATHS = ["/private/"]
    token = JWTAuth.create({"id": "7"})
    header = f"{COOKIE}.0=x; {COOKIE}={token}"
    response = Client().get("/private/page/", HTTP_HOST=HOST, HTTP_COOKIE=header)

    assert response.status_code == 302
    assert f'{COOKIE}.0=""; Domain=example.test; Max-Age=0; Path=/private' in lines(response)


def test_drf_token_ambiguous_401_expires_the_planted_copies_with_the_packaged_handler(
    settings: Any,
) -> None:
    settings.REST_FRAMEWORK = {
        "EXCEPTION_HANDLER": "django_nextauth_jwt.authentication.exception_handler",
    }
    response = planted_request(Client(), "get", "/api/me/")

    assert (response.status_code, response.json()["code"]) == (401, "token_ambiguous")
    assert PLANTED_LINE in lines(response)


def test_an_unambiguous_401_deletes_nothing(settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        "EXCEPTION_HANDLER": "django_nextauth_jwt.authentication.exception_handler",
    }
    response = Client().get("/api/me/", HTTP_HOST=HOST, HTTP_COOKIE=f"{COOKIE}=garbage")

    assert response.status_code == 401
    assert lines(response) == []
