"""Real server processes sharing one Redis: sign-outs, cut-offs, counters seen by all.

Each test runs two instances (runserver) on the real Redis at 127.0.0.1:6379, under a key
prefix of its own that is deleted afterwards.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from django_nextauth_jwt import JWTAuth
from django_nextauth_jwt.state.throttle import client_address_signature
from tests.conftest import REDIS_URL, delete_prefix, require
from tests.forge import SECRET
from tests.servers import django_server, example_server, redis_up


def call(
    method: str,
    url: str,
    token: str | None = None,
    body: dict[str, Any] | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    sent = dict(headers or {})
    if token is not None:
        sent["Authorization"] = f"Bearer {token}"
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        sent["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, method=method, headers=sent)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def from_browser(address: str) -> dict[str, str]:
    """The header the Next.js server adds for a browser at ``address``."""
    stamp = int(time.time())
    signature = client_address_signature(address, stamp, SECRET)
    return {"X-NextAuth-Client-Address": f"{address};{stamp};{signature}"}


def login(base: str, email: str, password: str, address: str) -> tuple[int, dict[str, Any]]:
    body = {"email": email, "password": password}
    return call("POST", f"{base}/api/auth/custom-login", body=body, headers=from_browser(address))


def refresh(token: str) -> str:
    """A NextAuth-style refresh: the same session re-encoded (new jti, iat, exp)."""
    return JWTAuth.create(JWTAuth.verify(token))


@pytest.fixture
def state_prefix() -> Iterator[str]:
    require(redis_up(), "Redis is needed at 127.0.0.1:6379")
    prefix = f"procs-{uuid.uuid4().hex}:"
    try:
        yield prefix
    finally:
        delete_prefix(REDIS_URL, prefix)


@pytest.fixture
def two_instances(
    state_prefix: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, str]]:
    """Two instances of the example service: their own SQLite copies, one Redis."""
    env = {
        "NEXTAUTH_SECRET": SECRET,
        "NEXTAUTH_REDIS_URL": REDIS_URL,
        "NEXTAUTH_REDIS_KEY_PREFIX": state_prefix,
    }
    with (
        example_server(tmp_path_factory.mktemp("one"), env) as first,
        example_server(tmp_path_factory.mktemp("two"), env) as second,
    ):
        yield first, second


def test_signout_on_one_process_revokes_on_another(state_prefix: str) -> None:
    prefix = state_prefix.rstrip(":")
    env = {"TEST_CACHE_PREFIX": prefix, "TEST_REDIS_URL": REDIS_URL}
    token, other = JWTAuth.create({"id": "ada"}), JWTAuth.create({"id": "ada"})
    try:
        with (
            django_server("tests.settings_redis", env) as first,
            django_server("tests.settings_redis", env) as second,
        ):
            assert call("GET", f"{second}/api/me/", token)[0] == 200
            assert call("POST", f"{first}/api/auth/signout", token)[0] == 200
            status, body = call("GET", f"{second}/api/me/", token)
            assert (status, body["code"]) == (401, "token_revoked")
            assert call("GET", f"{first}/api/me/", token)[0] == 401
            # Only that session: the same user's other session lives on.
            assert call("GET", f"{second}/api/me/", other)[0] == 200
    finally:
        delete_prefix(REDIS_URL, prefix)


def test_session_signed_out_on_one_instance_is_refused_in_all_its_copies_on_the_other(
    two_instances: tuple[str, str],
) -> None:
    first, second = two_instances
    status, body = login(first, "demo@example.com", "demo-password", "203.0.113.7")
    assert status == 200
    token = body["token"]
    copy = refresh(token)  # what the Next.js server would hold after a refresh
    other_device = login(second, "demo@example.com", "demo-password", "203.0.113.8")[1]["token"]
    assert call("GET", f"{second}/api/me/", copy)[0] == 200
    assert call("POST", f"{first}/api/auth/signout", token)[0] == 200
    for instance in (first, second):
        for revoked in (token, copy):
            status, body = call("GET", f"{instance}/api/me/", revoked)
            assert (status, body["code"]) == (401, "token_revoked")
        assert call("GET", f"{instance}/api/me/", other_device)[0] == 200


def test_sign_out_everywhere_on_one_instance_ends_every_session_on_the_other(
    two_instances: tuple[str, str],
) -> None:
    first, second = two_instances
    phone = login(first, "demo@example.com", "demo-password", "203.0.113.7")[1]["token"]
    laptop = login(second, "demo@example.com", "demo-password", "203.0.113.8")[1]["token"]
    admin = login(second, "admin@example.com", "admin-password", "203.0.113.9")[1]["token"]
    status, body = call("POST", f"{second}/api/auth/signout-everywhere", laptop)
    assert (status, body) == (200, {"url": "/signin/"})
    for token in (phone, refresh(phone), laptop):
        status, body = call("GET", f"{first}/api/me/", token)
        assert (status, body["code"]) == (401, "token_revoked")
    assert call("GET", f"{first}/api/me/", admin)[0] == 200


def test_flood_on_one_instance_evicts_no_revocation_and_resets_no_lock_on_the_other(
    two_instances: tuple[str, str],
) -> None:
    first, second = two_instances
    token = login(first, "demo@example.com", "demo-password", "203.0.113.7")[1]["token"]
    assert call("POST", f"{first}/api/auth/signout", token)[0] == 200
    for _ in range(5):  # lock the admin account
        assert login(first, "admin@example.com", "wrong", "203.0.113.9")[0] == 401
    for i in range(20):  # anonymous failures, each from a browser of its own
        assert login(second, f"nobody{i}@example.com", "x", f"198.51.100.{i + 1}")[0] == 401
    status, body = call("GET", f"{second}/api/me/", token)
    assert (status, body["code"]) == (401, "token_revoked")
    status, body = login(second, "admin@example.com", "admin-password", "192.0.2.1")
    assert (status, body["code"]) == (429, "too_many_attempts")


def test_nothing_is_left_in_redis_after_a_test(state_prefix: str, tmp_path: Path) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.set(f"{state_prefix}probe", 1, ex=60)
        delete_prefix(REDIS_URL, state_prefix)
        assert list(client.scan_iter(match=f"{state_prefix}*")) == []
    finally:
        client.close()
