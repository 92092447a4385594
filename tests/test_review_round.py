"""Attacks and slips found reviewing the round of issues 21-27, one test each.

Each test here failed on the code before its fix (the commit that added it says which).
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from django.test import Client

from django_nextauth_jwt.jose.jwk import b64url_encode

BETTER_AUTH_SECRET = "review-better-auth-secret-0123456789-abcdefghij"


def _reads_better_auth(settings: Any, strategy: str = "compact") -> None:
    settings.NEXTAUTH_BETTER_AUTH_STRATEGY = strategy
    settings.NEXTAUTH_BETTER_AUTH_SECRET = BETTER_AUTH_SECRET


def test_a_deeply_nested_forged_compact_cookie_is_a_401_not_a_500(settings: Any) -> None:
    """Nesting JSON.parse takes but the re-serialisation recursed too deep on (before the MAC)."""
    _reads_better_auth(settings)
    nested = json.loads("[" * 600 + "]" * 600)
    forged = {"session": {"a": nested}, "expiresAt": 1.5, "signature": "AA"}
    cookie = b64url_encode(json.dumps(forged).encode())
    client = Client(raise_request_exception=False)
    response = client.get("/api/me/", HTTP_COOKIE=f"better-auth.session_data={cookie}")
    assert response.status_code == 401
    assert response.json()["code"] == "token_malformed"
    response = client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {cookie}")
    assert response.status_code == 401
    assert response.json()["code"] == "token_malformed"


def test_an_open_socket_is_closed_when_its_session_lifetime_ends_before_its_exp(
    settings: Any,
) -> None:
    """A sliding session's socket outlived NEXTAUTH_SESSION_MAX_LIFETIME until the token's exp."""
    import asyncio
    import time

    from channels.testing import WebsocketCommunicator

    from django_nextauth_jwt import JWTAuth
    from django_nextauth_jwt.integrations.channels import (
        CLOSE_UNAUTHORIZED,
        NextAuthChannelsMiddleware,
    )

    settings.NEXTAUTH_LEEWAY = 0
    settings.NEXTAUTH_SESSION_MAX_LIFETIME = 3600
    # Signed in almost an hour ago, refreshed just now: exp is an hour away, the session's
    # end two seconds away.
    token = JWTAuth.create({"id": "ada", "auth_time": int(time.time()) - 3598}, max_age=3600)

    async def consumer(scope: Any, receive: Any, send: Any) -> None:
        assert (await receive())["type"] == "websocket.connect"
        await send({"type": "websocket.accept"})
        while (await receive())["type"] != "websocket.disconnect":
            pass

    async def run() -> dict[str, Any]:
        app = NextAuthChannelsMiddleware(consumer)
        communicator = WebsocketCommunicator(
            app, "/ws/", headers=[(b"authorization", f"Bearer {token}".encode())]
        )
        connected, _ = await communicator.connect()
        assert connected
        try:
            return dict(await communicator.receive_output(timeout=8))
        finally:
            await communicator.disconnect()

    closed = asyncio.run(run())
    assert closed == {
        "type": "websocket.close",
        "code": CLOSE_UNAUTHORIZED,
        "reason": "session_too_old",
    }


def _better_auth_jwt(name: str) -> str:
    """A genuine jwt-strategy cookie (HS256 with Better Auth's secret) for a user ``name``."""
    import hashlib
    import hmac
    import time

    now = time.time()
    day = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now + 86400))
    began = time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(now - 60))
    payload = {
        "session": {
            "id": "s1",
            "token": "t1",
            "userId": "u1",
            "expiresAt": day,
            "createdAt": began,
        },
        "user": {"id": "u1", "email": "ada@example.com", "name": name},
        "updatedAt": now * 1000,
        "iat": int(now),
        "exp": int(now) + 300,
    }
    head = b64url_encode(b'{"alg":"HS256"}')
    # JSON.stringify writes a lone surrogate as its \\u escape, as json.dumps does.
    body = b64url_encode(json.dumps(payload).encode("ascii"))
    mac = hmac.digest(BETTER_AUTH_SECRET.encode(), f"{head}.{body}".encode(), hashlib.sha256)
    return f"{head}.{body}.{b64url_encode(mac)}"


def test_a_better_auth_name_with_a_lone_surrogate_is_refused_not_a_500(settings: Any) -> None:
    """A name Better Auth took at sign-up (any JS string) reached the claims a renderer 500s on."""
    _reads_better_auth(settings, "jwt")
    client = Client(raise_request_exception=False)
    fine = client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {_better_auth_jwt('Ada')}")
    assert fine.status_code == 200, fine.content
    lone = _better_auth_jwt("Ada \ud800")
    response = client.get("/api/me/", HTTP_AUTHORIZATION=f"Bearer {lone}")
    assert response.status_code == 401
    assert response.json()["code"] == "token_claims_invalid"


@pytest.mark.urls("tests.urls_integrations")
@pytest.mark.parametrize("path", ["/api/ninja/me", "/api/ninja/ame"])
def test_ninja_token_ambiguous_answer_expires_the_planted_copies(settings: Any, path: str) -> None:
    """Ninja's 401 said token_ambiguous but left a sibling's planted cookie in place (issue 22)."""
    from django_nextauth_jwt import JWTAuth

    cookie = "next-auth.session-token"
    settings.ALLOWED_HOSTS = [".example.test", "testserver"]
    settings.NEXTAUTH_COOKIE_NAME = cookie
    header = f"{cookie}.0=x; {cookie}={JWTAuth.create({'id': '7'})}"
    response = Client().get(path, HTTP_HOST="app.example.test", HTTP_COOKIE=header)
    assert (response.status_code, response.json()["code"]) == (401, "token_ambiguous")
    lines = [morsel.output(header="").strip() for morsel in response.cookies.values()]
    assert f'{cookie}.0=""; Domain=example.test; Max-Age=0; Path=/api' in lines


@pytest.mark.django_db
@pytest.mark.db
@pytest.mark.parametrize("mode", ["stateless", "database"])
def test_failing_open_never_accepts_what_the_local_view_knows_is_revoked(
    settings: Any, mode: str, django_user_model: Any
) -> None:
    """NEXTAUTH_REVOCATION_FAIL_OPEN past the grace accepted a revocation the view held."""
    from django_nextauth_jwt import JWTAuth
    from django_nextauth_jwt.state import store
    from tests import redis_topology
    from tests.conftest import require

    require(redis_topology.binaries_present(), "redis-server and redis-cli are needed")

    def outcome(token: str) -> str | None:
        result = JWTAuth.authenticate_token(token)  # the user resolved too, in database mode
        return None if result.success else result.error

    with redis_topology.server() as top:
        settings.NEXTAUTH_REDIS_URL = top.url
        settings.NEXTAUTH_REVOCATION_GRACE = 0
        settings.NEXTAUTH_REVOCATION_FAIL_OPEN = True
        if mode == "database":
            settings.NEXTAUTH_USER_MODE = "database"
            settings.NEXTAUTH_USER_LOOKUP_CLAIM = "id"
        try:
            here = store.current()
            assert isinstance(here, store.RedisStore)
            assert here.view is not None
            assert here.view.wait_live(15.0)
            if mode == "database":
                ada = django_user_model.objects.create(username="ada", email="ada@example.com")
                bob = django_user_model.objects.create(username="bob", email="bob@example.com")
                revoked, valid = JWTAuth.create({"id": ada.pk}), JWTAuth.create({"id": bob.pk})
                JWTAuth.revoke_user(ada)  # the account's cut-off
            else:
                revoked, valid = JWTAuth.create({"id": "7"}), JWTAuth.create({"id": "8"})
                JWTAuth.revoke(revoked)  # the session's entry
            assert (outcome(revoked), outcome(valid)) == ("token_revoked", None)
            top.nodes[0].kill()
            deadline = time.monotonic() + 15.0
            while here.view.is_live() and time.monotonic() < deadline:
                time.sleep(0.05)
            assert not here.view.is_live()
            # Failing open accepts what cannot be checked, not what this process knows.
            assert outcome(valid) is None
            assert outcome(revoked) == "token_revoked"
        finally:
            store.current.cache_clear()
            for held in list(store._redis):
                store._redis.pop(held).close()


@pytest.mark.parametrize(
    "url",
    [
        "redis://:s3cret-pw@127.0.0.1:6379/0",
        "redis+sentinel://user:s3cret-pw@127.0.0.1:26379/primary",
        "rediss+cluster://user:s3cret-pw@127.0.0.1:7000",
    ],
)
def test_no_redis_password_reaches_a_repr_of_the_topology(url: str) -> None:
    """Topology's dataclass repr showed NEXTAUTH_REDIS_URL and the password as they were."""
    from django_nextauth_jwt.state import topology

    parsed = topology.parse(url)
    assert "s3cret-pw" not in repr(parsed)
    assert parsed.kind in repr(parsed)
