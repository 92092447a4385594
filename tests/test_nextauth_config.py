"""The documented NextAuth configuration (example_project/nextjs/), run for real.

A credentials sign-in goes through the real next-auth 4 handler and the real
@auth/core ``Auth()`` handler, whose ``authorize()`` calls the Django example's
custom-login over HTTP; the session cookie NextAuth then sets is accepted by
the Django service, by cookie and by Bearer header.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.forge import SECRET
from tests.node_bridge import NodeBridge
from tests.servers import example_server

pytestmark = pytest.mark.node

CASES = [
    # (NextAuth handler, NEXTAUTH_JWT_FORMAT, session cookie NextAuth sets)
    ("v4.signin", "jws", "next-auth.session-token"),
    ("v4.signin", "nextauth-v4", "next-auth.session-token"),
    ("v5.signin", "jws", "authjs.session-token"),
    ("v5.signin", "authjs-v5", "authjs.session-token"),
]


def get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, headers=headers)  # noqa: S310 - loopback only
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


@pytest.fixture(scope="module", params=CASES, ids=[f"{op}-{fmt}" for op, fmt, _ in CASES])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, str, str]]:
    op, fmt, cookie = request.param
    env = {"NEXTAUTH_SECRET": SECRET, "NEXTAUTH_JWT_FORMAT": fmt, "NEXTAUTH_COOKIE_NAME": cookie}
    with example_server(tmp_path_factory.mktemp("nextauth"), env) as base:
        yield base, op, fmt, cookie


def test_nextauth_sign_in_through_django_gives_a_cookie_django_accepts(
    node: NodeBridge, deployment: tuple[str, str, str, str]
) -> None:
    base, op, fmt, cookie = deployment
    result = node.call(
        op,
        email="demo@example.com",
        password="demo-password",
        djangoUrl=base,
        secret=SECRET,
        format=fmt,
    )
    token = result["cookies"][cookie]
    assert token.count(".") == (2 if fmt == "jws" else 4)
    by_cookie = get(f"{base}/api/me/", {"Cookie": f"{cookie}={token}"})
    by_bearer = get(f"{base}/api/me/", {"Authorization": f"Bearer {token}"})
    assert by_cookie[0] == by_bearer[0] == 200
    claims = by_cookie[1]["claims"]
    assert claims["email"] == "demo@example.com"
    # The id NextAuth put in `sub` is the Django user's: the same person in both worlds.
    session = get(f"{base}/api/auth/session", {"Authorization": f"Bearer {token}"})[1]
    assert claims["sub"] == session["user"]["id"]


def test_wrong_password_gives_nextauth_no_session(
    node: NodeBridge, deployment: tuple[str, str, str, str]
) -> None:
    base, op, fmt, cookie = deployment
    result = node.call(
        op, email="demo@example.com", password="wrong", djangoUrl=base, secret=SECRET, format=fmt
    )
    assert cookie not in result["cookies"]
