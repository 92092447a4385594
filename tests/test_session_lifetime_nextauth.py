"""A stolen session that the Next.js server keeps refreshing, through the real NextAuth handlers.

NextAuth's JWT session slides: every read re-encodes the token with a fresh ``exp``, and the
shipped ``jwt`` callback (``example_project/nextjs/django.mjs``) keeps ``sid`` and ``auth_time``.
Before issue 21 a sign-out lasted ``NEXTAUTH_MAX_AGE`` + leeway at Django: whoever kept
refreshing a stolen cookie at the Next.js front end had the same session accepted again once
the entry expired. Scaled down here (``NEXTAUTH_MAX_AGE`` 2 s, leeway 1 s, absolute lifetime
12 s: room for the sign-ins and the sign-out on two busy cores before the refreshes that must
outlast ``NEXTAUTH_MAX_AGE`` + leeway + 3 s), with the real next-auth 4 handler and
@auth/core's ``Auth()`` running the shipped configuration, against the example Django service.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.forge import SECRET
from tests.node_bridge import NodeBridge
from tests.servers import example_server

pytestmark = pytest.mark.node

MAX_AGE, LEEWAY, LIFETIME = 2, 1, 12
#: What both sides are given, as a deployment gives both the same values.
SETTINGS = {
    "NEXTAUTH_MAX_AGE": str(MAX_AGE),
    "NEXTAUTH_LEEWAY": str(LEEWAY),
    "NEXTAUTH_SESSION_MAX_LIFETIME": str(LIFETIME),
}
NEXTJS_ENV = {k: v for k, v in SETTINGS.items() if k != "NEXTAUTH_LEEWAY"}

CASES = [
    # (NextAuth handler, NEXTAUTH_JWT_FORMAT, session cookie, the door the victim signs out by)
    ("v4.signin", "nextauth-v4", "next-auth.session-token", "nextauth"),
    ("v5.signin", "authjs-v5", "authjs.session-token", "nextauth"),
    ("v4.signin", "jws", "next-auth.session-token", "django"),
    ("v5.signin", "jws", "authjs.session-token", "django"),
]


def call(method: str, url: str, token: str) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(  # noqa: S310 - loopback only
        url, method=method, headers={"Authorization": f"Bearer {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def wait_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


@pytest.fixture(params=CASES, ids=[f"{op}-{fmt}-{door}" for op, fmt, _, door in CASES])
def deployment(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str, str, str, str]]:
    op, fmt, cookie, door = request.param
    env = {
        "NEXTAUTH_SECRET": SECRET,
        "NEXTAUTH_JWT_FORMAT": fmt,
        "NEXTAUTH_COOKIE_NAME": cookie,
        **SETTINGS,
    }
    with example_server(tmp_path_factory.mktemp("lifetime"), env) as base:
        yield base, op, fmt, cookie, door


def test_stolen_session_refreshed_past_max_age_stays_refused_after_sign_out(
    node: NodeBridge, deployment: tuple[str, str, str, str, str]
) -> None:
    base, op, fmt, cookie, door = deployment
    version = op.split(".")[0]
    args = {"djangoUrl": base, "secret": SECRET, "format": fmt, "env": NEXTJS_ENV}
    me = f"{base}/api/me/"
    login = {"email": "demo@example.com", "password": "demo-password"}
    victim = node.call(op, **login, **args)["cookies"]
    bystander = node.call(op, **login, **args)["cookies"]  # another device, never signed out
    status, body = call("GET", me, victim[cookie])
    assert status == 200
    start = body["claims"]["auth_time"]
    # The two sign-ins may straddle a second: each session ends at its own auth_time + lifetime.
    start_bystander = call("GET", me, bystander[cookie])[1]["claims"]["auth_time"]
    last = max(start, start_bystander)
    stolen = dict(victim)  # the attacker's copy of the cookie

    if door == "nextauth":  # events.signOut posts the session to Django's sign-out
        assert cookie not in node.call(f"{version}.signout", cookies=victim, **args)["cookies"]
    else:
        assert call("POST", f"{base}/api/auth/signout", victim[cookie])[0] == 200
    signed_out = time.time()
    assert call("GET", me, victim[cookie])[1]["code"] == "token_revoked"

    # The attacker keeps the stolen session alive at the Next.js server, well past the
    # MAX_AGE + leeway the old deny-list entry lasted, and tries every copy at Django.
    latest = stolen[cookie]
    while time.time() < start + LIFETIME - 1.2:
        refreshed = node.call(f"{version}.session", cookies=stolen, **args)
        stolen = refreshed["cookies"]
        bystander = node.call(f"{version}.session", cookies=bystander, **args)["cookies"]
        assert stolen[cookie] != latest  # NextAuth knows nothing of Django's deny-list
        latest = stolen[cookie]
        status, body = call("GET", me, latest)
        assert (status, body.get("code")) == (401, "token_revoked")
        time.sleep(0.5)
    assert time.time() - signed_out > MAX_AGE + LEEWAY + 3
    # The other device, refreshed just before the lifetime ends: a copy with an exp beyond it.
    wait_until(start_bystander + LIFETIME - 0.6)
    bystander = node.call(f"{version}.session", cookies=bystander, **args)["cookies"]
    assert call("GET", me, bystander[cookie])[0] == 200

    # The absolute lifetime: the Next.js server itself ends both sessions (the shipped jwt
    # callback), and Django refuses the last copies from that moment (plus its leeway) on.
    wait_until(last + LIFETIME + 0.1)
    for jar in (stolen, bystander):
        ended = node.call(f"{version}.session", cookies=jar, **args)
        assert cookie not in ended["cookies"]
        assert not ended["body"]
    wait_until(last + LIFETIME + LEEWAY + 0.1)
    assert call("GET", me, latest)[0] == 401
    status, body = call("GET", me, bystander[cookie])
    assert (status, body["code"]) == (401, "session_too_old")
