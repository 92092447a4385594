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
    assert len(planted) == PLANTED_MAX_LINES == 64  # the documented bound, in lines
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


# --------------------------------------------------------------------------- #
# Pins: the domains and lines, exactly
# --------------------------------------------------------------------------- #


def planted_domains(host: str) -> list[str | None]:
    from django.test import RequestFactory

    return _planted_domains(RequestFactory().get("/", HTTP_HOST=host))


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        # The port is not part of any domain.
        ("app.example.test:8000", [None, "example.test"]),
        # A fully qualified name's trailing dot is not a label.
        ("app.example.test.", [None, "example.test"]),
        # Only the last label says "an IPv4 address": digits elsewhere are names.
        ("a.1.2.test", [None, "1.2.test", "2.test"]),
        # An upper-case X is a letter like any other.
        ("app.example.X", [None, "example.X"]),
        # IPv6, even one that embeds an IPv4 address, has no parent domain.
        ("[::ffff:1.2.3.4]:8000", [None]),
    ],
)
def test_planted_domains_pins(settings: Any, host: str, expected: list[str | None]) -> None:
    settings.ALLOWED_HOSTS = ["*"]
    assert planted_domains(host) == expected


def test_a_host_django_refuses_has_only_host_only_and_the_configured_domains(
    settings: Any,
) -> None:
    settings.ALLOWED_HOSTS = ["app.example.test"]
    settings.NEXTAUTH_COOKIE_DOMAIN = "example.test"
    assert planted_domains("evil.other.test") == [None, "example.test"]


def test_the_configured_domain_comes_once_before_the_parents(settings: Any) -> None:
    # COOKIE_DOMAIN is also the domain sign-out deletes for: named once, not twice.
    settings.NEXTAUTH_COOKIE_DOMAIN = "example.test"
    assert planted_domains("a.b.example.test") == [None, "example.test", "b.example.test"]


def test_a_parent_configured_with_its_leading_dot_is_not_named_again(settings: Any) -> None:
    settings.NEXTAUTH_COOKIE_DOMAIN = ".example.test"
    assert planted_domains(HOST) == [None, ".example.test"]


def test_session_cookie_domain_is_a_domain_cookies_can_be_planted_for(settings: Any) -> None:
    settings.SESSION_COOKIE_DOMAIN = "sessions.test"
    assert planted_domains(HOST) == [None, "sessions.test", "example.test"]


@pytest.mark.parametrize("configured", [None, "NEXTAUTH_COOKIE_DOMAIN", "SESSION_COOKIE_DOMAIN"])
def test_planted_copies_never_repeat_the_whole_cookies_own_deletion(
    settings: Any, configured: str | None
) -> None:
    if configured:
        setattr(settings, configured, "example.test")
    response = planted_request(Client(), "post", "/api/auth/signout")

    written = lines(response)
    assert len(written) == len(set(written))
    for name in (COOKIE, f"{COOKIE}.0"):
        # Path=/ host-only (and for the configured domain) is the deletion every session
        # cookie gets, with its attributes: the planted-copy pass adds no bare line for it.
        assert [ln for ln in written if ln.startswith(f'{name}=""') and "HttpOnly" in ln] != []
        assert f'{name}=""; Max-Age=0; Path=/' not in written
        bare_parent = f'{name}=""; Domain=example.test; Max-Age=0; Path=/'
        assert (bare_parent in written) is (configured is None)


def test_planted_copies_on_https_are_expired_with_secure(settings: Any) -> None:
    token = JWTAuth.create({"id": "7"})
    header = f"{COOKIE}.0=x; {COOKIE}={token}"
    response = Client().post("/api/auth/signout", HTTP_HOST=HOST, HTTP_COOKIE=header, secure=True)

    planted = [ln for ln in lines(response) if "Path=/api" in ln]
    assert planted != []
    assert all("Secure" in ln for ln in planted)


def test_planted_copies_on_http_are_expired_without_secure() -> None:
    response = planted_request(Client(), "post", "/api/auth/signout")

    planted = [ln for ln in lines(response) if "Path=/api" in ln]
    assert planted != []
    assert not any("Secure" in ln for ln in planted)
