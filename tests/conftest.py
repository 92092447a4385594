from __future__ import annotations

import os
import socket
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.node_bridge import NodeBridge, find_node

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def require(condition: bool, message: str) -> None:
    """Skip when a real service is missing, except under CI=true where that is a failure."""
    if not condition:
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=1) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@pytest.fixture(autouse=True)
def _fresh_state_store() -> None:
    """Every test starts with an empty embedded state store (revocations, login counters).

    Only once something imported it: the codec's suite runs with Django never imported.
    """
    module = sys.modules.get("django_nextauth_jwt.store")
    if module is not None:
        module.memory_store().clear()


@pytest.fixture
def redis_cache(settings: Any) -> Iterator[str]:
    """Make the default cache the real Redis at 127.0.0.1:6379, with a key prefix per test.

    (The state store is not a cache: see ``redis_store``.) Its keys are deleted afterwards.
    """
    require(_redis_up(), "Redis is needed at 127.0.0.1:6379")
    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": prefix,
        }
    }
    try:
        yield REDIS_URL
    finally:
        delete_prefix(REDIS_URL, f"{prefix}:")


def delete_prefix(url: str, prefix: str) -> None:
    """Delete every key under ``prefix`` in the Redis at ``url``: tests leave nothing behind."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@pytest.fixture
def redis_store(settings: Any) -> Iterator[str]:
    """The state store in the real Redis at 127.0.0.1:6379, under a key prefix of this test's
    own; its keys are deleted afterwards."""
    require(_redis_up(), "Redis is needed at 127.0.0.1:6379")
    prefix = f"test-{uuid.uuid4().hex}:"
    settings.NEXTAUTH_REDIS_URL = REDIS_URL
    settings.NEXTAUTH_REDIS_KEY_PREFIX = prefix
    try:
        yield REDIS_URL
    finally:
        delete_prefix(REDIS_URL, prefix)


@pytest.fixture(scope="session")
def node() -> Iterator[NodeBridge]:
    """The real npm packages, through one Node process per test worker.

    Outside CI a missing Node (or a missing ``npm ci``) skips; with CI=true it fails.
    """
    binary = find_node()
    require(binary is not None, "node and tests/interop/node/node_modules are needed (make test)")
    assert binary is not None
    bridge = NodeBridge(binary)
    try:
        yield bridge
    finally:
        bridge.close()
