"""Nothing on the request path reads a setting per request once the settings are known.

Every ``NEXTAUTH_*`` setting goes through ``conf.app_settings``; a missing setting costs a
caught ``AttributeError`` per read, which used to be a fifth of a request's authentication.
The values the request path needs are derived once per settings object (``conf.derived``).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.test import RequestFactory
from rest_framework.request import Request

from django_nextauth_jwt.authentication import NextAuthJWTAuthentication
from django_nextauth_jwt.csrf import csrf_failure_reason
from django_nextauth_jwt.middleware import NextAuthJWTMiddleware
from tests.request_helpers import ALL_FORMATS, SECRET, count_setting_reads, make_token

COOKIES = {
    "jws": "next-auth.session-token",
    "nextauth-v4": "next-auth.session-token",
    "authjs-v5": "authjs.session-token",
    "jws-asymmetric": "next-auth.session-token",
}


def requests(rf: RequestFactory) -> Iterator[HttpRequest]:
    """Fresh requests: each format by Bearer and by cookie, none, a refused and a CSRF one."""
    for fmt in ALL_FORMATS:
        token = make_token(fmt)
        yield rf.get("/api/x", HTTP_AUTHORIZATION=f"Bearer {token}")
        yield rf.get("/page", HTTP_COOKIE=f"{COOKIES[fmt]}={token}; csrftoken=abc")
    yield rf.get("/page", HTTP_COOKIE="csrftoken=abc; sessionid=xyz")
    yield rf.get("/private/page")  # refused: a redirect to the sign-in URL
    csrf = hashlib.sha256(f"t0k{SECRET}".encode()).hexdigest()
    yield rf.post(
        "/api/x",
        HTTP_COOKIE=f"{COOKIES['jws']}={make_token('jws')}; next-auth.csrf-token=t0k|{csrf}",
        HTTP_X_CSRF_TOKEN="t0k",
    )


def walk(rf: RequestFactory) -> list[int]:
    middleware = NextAuthJWTMiddleware(lambda request: HttpResponse())
    drf = NextAuthJWTAuthentication()
    statuses = []
    for request in requests(rf):
        response = middleware(request)
        statuses.append(response.status_code)
        if response.status_code == 200:
            drf.authenticate(Request(request))
            csrf_failure_reason(request)
    return statuses


@pytest.fixture
def configured(settings: Any) -> None:
    settings.NEXTAUTH_ACCEPTED_FORMATS = list(ALL_FORMATS)
    settings.NEXTAUTH_PROTECTED_PATHS = ["/private/"]


@pytest.mark.usefixtures("configured")
def test_a_warm_request_path_reads_no_setting(
    rf: RequestFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = walk(rf)  # the settings object is new: derived values are computed here
    reads = count_setting_reads(monkeypatch)
    assert walk(rf) == first
    assert 302 in first
    assert reads == []
