from __future__ import annotations

import os
import socket
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from tests.node_bridge import NodeBridge, find_node
from tests.servers import redis_up

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def require(condition: bool, message: str) -> None:
    """Skip when a real service is missing, except under CI=true where that is a failure."""
    if not condition:
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(autouse=True)
def _fresh_state_store() -> None:
    """Every test starts with an empty embedded state store (revocations, login counters).

    Only once something imported it: the codec's suite runs with Django never imported.
    """
    module = sys.modules.get("django_nextauth_jwt.state.store")
    if module is not None:
        module.memory_store().clear()


def delete_prefixed(prefix: str, url: str = REDIS_URL) -> int:
    """Delete every key of the shared Redis that starts with ``prefix:``; how many there were."""
    return delete_prefix(url, f"{prefix}:")


def delete_prefix(url: str, prefix: str) -> int:
    """Delete every key under ``prefix`` in the Redis at ``url``: tests leave nothing behind."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        if keys:
            client.delete(*keys)
        return len(keys)
    finally:
        client.close()


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own in the shared Redis, emptied afterwards."""
    require(redis_up(), "Redis is needed at 127.0.0.1:6379")
    prefix = f"test-{uuid.uuid4().hex}"
    yield prefix
    delete_prefixed(prefix)


@pytest.fixture
def redis_cache(settings: Any, redis_prefix: str) -> str:
    """Make the default cache the real Redis at 127.0.0.1:6379, with a key prefix per test.

    (The state store is not a cache: see ``redis_store``.) Whatever the test writes is
    deleted after it.
    """
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": redis_prefix,
        }
    }
    return REDIS_URL


@pytest.fixture
def redis_store(settings: Any, redis_prefix: str) -> str:
    """The state store in the real Redis at 127.0.0.1:6379, under this test's own key prefix;
    its keys are deleted afterwards."""
    settings.NEXTAUTH_REDIS_URL = REDIS_URL
    settings.NEXTAUTH_REDIS_KEY_PREFIX = f"{redis_prefix}:"
    return REDIS_URL


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


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """One headless Chromium per module (and per xdist worker), always quit afterwards."""
    from tests.chromium import headless_chromium  # Selenium only where a browser test runs

    with headless_chromium(tmp_path_factory.mktemp("chromium-profile")) as driver:
        yield driver


#: Where each ``TEST_DB`` expects its server.
DATABASE_SERVERS = {"postgresql": ("PostgreSQL", 5432), "mariadb": ("MariaDB", 3306)}


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def _database_server() -> None:
    """With ``TEST_DB`` naming a server that is not there: skip, or under CI=true fail."""
    vendor = os.environ.get("TEST_DB", "sqlite")
    if vendor not in DATABASE_SERVERS:
        return
    name, default_port = DATABASE_SERVERS[vendor]
    host = os.environ.get("TEST_DB_HOST", "127.0.0.1")
    port = int(os.environ.get("TEST_DB_PORT", default_port))
    require(
        _port_open(host, port),
        f"{name} is needed at {host}:{port} for TEST_DB={vendor} "
        "(run the SQLite part alone with: .venv/bin/pytest -n auto)",
    )


@pytest.fixture(scope="session")
def django_db_setup(_database_server: None, django_db_setup: None) -> None:
    """pytest-django's test database (created per worker, destroyed at the end), once the
    server is known to be there."""
