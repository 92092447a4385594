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


def test_nextauth_sign_out_reaches_django_and_refuses_every_copy_of_the_session(
    node: NodeBridge, deployment: tuple[str, str, str, str]
) -> None:
    base, op, fmt, cookie = deployment
    version = op.split(".")[0]
    args = {"djangoUrl": base, "secret": SECRET, "format": fmt}
    signed_in = node.call(op, email="demo@example.com", password="demo-password", **args)
    first = signed_in["cookies"][cookie]
    # A NextAuth refresh re-encodes the session: a second, different, valid copy.
    refreshed = node.call(f"{version}.session", cookies=signed_in["cookies"], **args)
    second = refreshed["cookies"][cookie]
    assert second != first
    claims = [get(f"{base}/api/me/", {"Authorization": f"Bearer {t}"}) for t in (first, second)]
    assert [status for status, _ in claims] == [200, 200]
    sids = {body["claims"]["sid"] for _, body in claims}
    assert len(sids) == 1  # one session, kept across the refresh by the jwt callback
    assert all(
        body["claims"]["auth_time"] == claims[0][1]["claims"]["auth_time"] for _, body in claims
    )
    # Signing out in the Next.js app, with the refreshed cookie.
    signed_out = node.call(f"{version}.signout", cookies=refreshed["cookies"], **args)
    assert cookie not in signed_out["cookies"]
    for token in (first, second):
        status, body = get(f"{base}/api/me/", {"Authorization": f"Bearer {token}"})
        assert (status, body["code"]) == (401, "token_revoked")


def test_client_address_header_signed_in_node_is_accepted_by_django(node: NodeBridge) -> None:
    from django.test import RequestFactory

    from django_nextauth_jwt.state.throttle import client_address

    def asserted(headers: dict[str, str], env: dict[str, str]) -> str:
        signed = node.call("django.clientAddressHeader", headers=headers, secret=SECRET, env=env)
        request = RequestFactory().post(
            "/", HTTP_X_NEXTAUTH_CLIENT_ADDRESS=signed["x-nextauth-client-address"]
        )
        return client_address(request)

    forged = {"X-Forwarded-For": "6.6.6.6, 203.0.113.7"}
    # No header named: the address cannot be known, and a forged X-Forwarded-For is no answer.
    assert asserted(forged, {}) == "unknown"
    # The header the operator's edge sets, whatever X-Forwarded-For says.
    edge = {"NEXTAUTH_CLIENT_ADDRESS_HEADER": "x-real-ip"}
    assert asserted({**forged, "X-Real-IP": "198.51.100.9"}, edge) == "198.51.100.9"
    assert asserted({**forged, "X-Real-IP": "1.2.3.4, 5.6.7.8"}, edge) == "unknown"
    assert asserted(forged, edge) == "unknown"  # the edge did not set it
    # X-Forwarded-For only with a count: the entry the outermost of two proxies wrote.
    two = {"NEXTAUTH_CLIENT_ADDRESS_HEADER": "x-forwarded-for", "NEXTAUTH_TRUSTED_PROXY_COUNT": "2"}
    assert asserted({"X-Forwarded-For": "6.6.6.6, 203.0.113.8, 10.0.0.2"}, two) == "203.0.113.8"


@pytest.mark.parametrize("op", ["v4.signin", "v5.signin"])
def test_failures_through_nextjs_no_longer_lock_out_other_people(
    node: NodeBridge, tmp_path_factory: pytest.TempPathFactory, op: str
) -> None:
    cookie = "next-auth.session-token" if op == "v4.signin" else "authjs.session-token"
    env = {
        "NEXTAUTH_SECRET": SECRET,
        "NEXTAUTH_COOKIE_NAME": cookie,
        "LOGIN_ATTEMPTS_PER_CLIENT": "3",  # the per-client budget, small for a fast test
    }
    with example_server(tmp_path_factory.mktemp("lockout"), env) as base:
        # The edge in front of Next.js sets X-Real-IP (NEXTAUTH_CLIENT_ADDRESS_HEADER).
        edge = {"NEXTAUTH_CLIENT_ADDRESS_HEADER": "x-real-ip"}
        args = {"djangoUrl": base, "secret": SECRET, "format": "jws", "env": edge}
        attacker = {"X-Real-IP": "198.51.100.66", "X-Forwarded-For": "203.0.113.7"}
        for i in range(4):  # over the attacker's budget: the last one is throttled
            result = node.call(
                op, email=f"nobody{i}@example.com", password="x", headers=attacker, **args
            )
            assert cookie not in result["cookies"]
        # Someone else, signing in through the same Next.js server from their own address.
        result = node.call(
            op,
            email="demo@example.com",
            password="demo-password",
            headers={"X-Real-IP": "203.0.113.7"},
            **args,
        )
        assert cookie in result["cookies"]
        # And the attacker is still throttled, though every call came from one Next.js server.
        result = node.call(
            op, email="demo@example.com", password="demo-password", headers=attacker, **args
        )
        assert cookie not in result["cookies"]
