"""One table of request-authentication cases, run against every shell that answers requests.

The DRF class on a DRF view, the same class on an adrf async view, Django Ninja's ``NextAuth``
(sync) and ``AsyncNextAuth`` (async): each case is one request (a method, headers, cookies) and
the answer every shell must give: the status, the stable code, whether the challenge says the
token was refused. A shell that drifts fails here, case by case.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import AsyncClient, Client

from django_nextauth_jwt.transport import chunk_size
from tests.request_helpers import (
    bearer,
    big_token,
    chunk,
    expired_token,
    foreign_token,
    make_token,
    nextauth_csrf_cookie,
    tamper,
)

pytestmark = pytest.mark.urls("tests.urls_integrations")

COOKIE = "next-auth.session-token"


@dataclass(frozen=True)
class Shell:
    name: str
    me: str
    editor: str
    is_async: bool = False


SHELLS = [
    Shell("drf", "/api/me/", "/api/editor/"),
    Shell("adrf", "/api/adrf/me/", "/api/adrf/editor/", is_async=True),
    Shell("ninja", "/api/ninja/me", "/api/ninja/editor"),
    Shell("ninja-async", "/api/ninja/ame", "/api/ninja/aeditor", is_async=True),
]


@dataclass(frozen=True)
class Case:
    """A request and the answer expected of every shell."""

    name: str
    offer: Callable[[], dict[str, Any]]  # headers (and "cookies") for the request
    status: int
    code: str | None = None
    method: str = "get"
    endpoint: str = "me"
    refused_token: bool = True  # the challenge says error="invalid_token"


def _cookie(token: str) -> dict[str, Any]:
    return {"cookies": {COOKIE: token}}


def _chunked() -> dict[str, Any]:
    pieces = chunk(big_token(), chunk_size())
    return {"cookies": {f"{COOKIE}.{i}": piece for i, piece in enumerate(pieces)}}


def _django_csrf_proof() -> dict[str, Any]:
    return {
        "cookies": {COOKIE: make_token(), "csrftoken": "a" * 32},
        "headers": {"X-CSRFToken": "a" * 32},
    }


def _csrf_proof() -> dict[str, Any]:
    return {
        "cookies": {COOKIE: make_token(), "next-auth.csrf-token": nextauth_csrf_cookie("f00d")},
        "headers": {"X-CSRF-Token": "f00d"},
    }


CASES = [
    Case("bearer", lambda: {"headers": bearer(make_token())}, 200),
    Case("cookie", lambda: _cookie(make_token()), 200),
    Case("chunked-cookie", _chunked, 200),
    Case("no-token", dict, 401, "token_missing", refused_token=False),
    Case("expired", lambda: {"headers": bearer(expired_token())}, 401, "token_expired"),
    Case("expired-cookie", lambda: _cookie(expired_token()), 401, "token_expired"),
    Case("tampered", lambda: {"headers": bearer(tamper(make_token()))}, 401, "token_invalid"),
    Case("foreign-secret", lambda: {"headers": bearer(foreign_token())}, 401, "token_invalid"),
    Case(
        "bearer-two-parts",
        lambda: {"headers": {"Authorization": "Bearer a b"}},
        401,
        "token_malformed",
    ),
    Case(
        "bad-header-never-falls-back-to-the-cookie",
        lambda: {"headers": {"Authorization": "Bearer %zz"}, **_cookie(make_token())},
        401,
        "token_malformed",
    ),
    Case(
        "cookie-sent-twice",
        lambda: {"headers": {"Cookie": f"{COOKIE}={make_token()}; {COOKIE}={make_token()}"}},
        401,
        "token_ambiguous",
    ),
    Case(
        "cookie-post-without-csrf", lambda: _cookie(make_token()), 403, "csrf_failed", method="post"
    ),
    Case("cookie-post-with-double-submit", _csrf_proof, 200, method="post"),
    Case("cookie-post-with-django-csrf-token", _django_csrf_proof, 200, method="post"),
    Case(
        "cookie-post-with-a-forged-double-submit-hash",
        lambda: {
            "cookies": {COOKIE: make_token(), "next-auth.csrf-token": "f00d%7C" + "ab" * 32},
            "headers": {"X-CSRF-Token": "f00d"},
        },
        403,
        "csrf_failed",
        method="post",
    ),
    Case(
        "bearer-post-needs-no-csrf", lambda: {"headers": bearer(make_token())}, 200, method="post"
    ),
    Case(
        "role-allowed",
        lambda: {"headers": bearer(make_token(role="editor"))},
        200,
        endpoint="editor",
    ),
    Case(
        "role-refused",
        lambda: {"headers": bearer(make_token(role="viewer"))},
        403,
        "role_required",
        endpoint="editor",
    ),
    Case("role-without-token", dict, 401, "token_missing", endpoint="editor", refused_token=False),
]


@pytest.fixture(autouse=True)
def _drf_exception_handler(settings: Any) -> None:
    settings.REST_FRAMEWORK = {
        "EXCEPTION_HANDLER": "django_nextauth_jwt.authentication.exception_handler"
    }


def send(shell: Shell, case: Case) -> Any:
    offer = case.offer()
    client = Client(enforce_csrf_checks=True)
    for name, value in offer.get("cookies", {}).items():
        client.cookies[name] = value
    path = shell.editor if case.endpoint == "editor" else shell.me
    return getattr(client, case.method)(path, headers=offer.get("headers", {}))


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
@pytest.mark.parametrize("shell", SHELLS, ids=[s.name for s in SHELLS])
def test_every_shell_answers_each_case_alike(shell: Shell, case: Case) -> None:
    response = send(shell, case)
    assert response.status_code == case.status, response.content
    body = json.loads(response.content)
    if case.status == 200:
        # DRF's role view (tests/views_drf.py) answers {"ok": true}; the others say who.
        assert body == {"ok": True} if "id" not in body else body["id"] == "42"
        return
    assert body["code"] == case.code
    assert isinstance(body["detail"], str)
    assert body["detail"]
    if case.status == 401:
        challenge = response["WWW-Authenticate"]
        assert challenge.startswith('Bearer realm="api"')
        assert ('error="invalid_token"' in challenge) is case.refused_token


def test_the_table_covers_every_answer() -> None:
    # Each stable answer a request can get from a shell is in the table at least once.
    codes = {c.code for c in CASES}
    assert {None, "token_missing", "token_expired", "token_invalid", "token_malformed",
            "token_ambiguous", "csrf_failed", "role_required"} <= codes  # fmt: skip


# --------------------------------------------------------------------------------------------
# Off the event loop (adrf) and on it (Ninja's async class)
# --------------------------------------------------------------------------------------------


def _async_get(path: str, token: str) -> Any:
    async def call() -> Any:
        return await AsyncClient().get(path, headers=bearer(token))

    return asyncio.run(call())


def test_adrf_runs_the_authentication_off_the_event_loop() -> None:
    response = _async_get("/api/adrf/me/", make_token())
    body = json.loads(response.content)
    assert response.status_code == 200
    assert body["loop_thread"] is not None  # the view ran on the event loop...
    assert body["thread"] is not None
    assert body["thread"] != body["loop_thread"]  # ...and the authentication did not


def test_ninja_async_verifies_on_the_loop_without_io_and_in_a_thread_with_it(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django_nextauth_jwt import request as request_path
    from django_nextauth_jwt.integrations import ninja as ninja_integration

    threads: list[int] = []
    real = request_path.authenticate_request

    def recording(request: Any, **kwargs: Any) -> Any:
        threads.append(threading.get_ident())
        return real(request, **kwargs)

    monkeypatch.setattr(ninja_integration, "authenticate_request", recording)
    loop_threads: list[int] = []

    async def call() -> Any:
        loop_threads.append(threading.get_ident())
        return await AsyncClient().get("/api/ninja/ame", headers=bearer(make_token()))

    assert asyncio.run(call()).status_code == 200
    assert threads == loop_threads  # stateless, embedded store: no I/O, no thread hop
    threads.clear()
    loop_threads.clear()
    monkeypatch.setattr(ninja_integration, "may_block", lambda **_: True)
    assert asyncio.run(call()).status_code == 200
    assert threads
    assert threads != loop_threads  # I/O possible: in a thread


# --------------------------------------------------------------------------------------------
# The OpenAPI schemas
# --------------------------------------------------------------------------------------------


def test_the_drf_schema_validates_and_names_both_schemes(settings: Any) -> None:
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    settings.REST_FRAMEWORK = {"DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema"}
    schema = SchemaGenerator().get_schema(request=None, public=True)  # type: ignore[no-untyped-call]
    validate_schema(schema)  # type: ignore[no-untyped-call]  # OpenAPI 3.0's JSON schema
    schemes = schema["components"]["securitySchemes"]
    assert schemes["nextAuthBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": schemes["nextAuthBearer"]["description"],
    }
    assert schemes["nextAuthCookie"]["in"] == "cookie"
    for path in ("/api/me/", "/api/adrf/me/"):
        security = schema["paths"][path]["get"]["security"]
        assert {"nextAuthBearer": []} in security
        assert {"nextAuthCookie": []} in security


def test_the_ninja_schema_validates_and_names_both_schemes(settings: Any) -> None:
    from drf_spectacular.validation import validate_schema

    from tests.views_integrations import api

    document = json.loads(json.dumps(api.get_openapi_schema(), default=str))
    assert document["openapi"].startswith("3.1")
    validate_schema(document)  # type: ignore[no-untyped-call]  # OpenAPI 3.1's JSON schema
    schemes = document["components"]["securitySchemes"]
    assert schemes["NextAuth"]["type"] == "http"
    assert schemes["NextAuth"]["scheme"] == "bearer"
    assert schemes["AsyncNextAuth"]["scheme"] == "bearer"
    # install() adds the session cookie, under the configured name, as the alternative.
    assert schemes["NextAuthCookie"]["type"] == "apiKey"
    assert schemes["NextAuthCookie"]["in"] == "cookie"
    assert schemes["NextAuthCookie"]["name"] == "next-auth.session-token"
    me = document["paths"]["/api/ninja/me"]["get"]["security"]
    assert me == [{"NextAuth": []}, {"NextAuthCookie": []}]
    ame = document["paths"]["/api/ninja/ame"]["get"]["security"]
    assert ame == [{"AsyncNextAuth": []}, {"NextAuthCookie": []}]
    settings.NEXTAUTH_JWT_FORMAT = "authjs-v5"  # the name is read when the schema is built
    again = api.get_openapi_schema()
    assert again["components"]["securitySchemes"]["NextAuthCookie"]["name"] == (
        "authjs.session-token"
    )


def test_the_adrf_benchmark_runs_and_prints_every_row() -> None:
    import subprocess
    import sys

    from tests.servers import ROOT

    result = subprocess.run(
        [sys.executable, "benchmarks/adrf_loop.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for row in (
        "floor: adrf view, no authentication",
        "adrf + NextAuthJWTAuthentication, stateless",
        "adrf + NextAuthJWTAuthentication, database mode",
        "async view verifying on the loop, database mode",
    ):
        assert row in result.stdout, row
