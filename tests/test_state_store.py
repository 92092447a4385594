"""Shared state that holds under attack: no flood evicts a revocation or resets a lock.

The deny-list and the login counters used to live in Django's ``default`` cache; with its
local-memory backend (``MAX_ENTRIES`` 300, least recently used culled first) a few hundred
anonymous failed logins evicted a revocation and reset an account's lock. They now live in a
store of their own. The attack tests fail on the old code.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from django_nextauth_jwt import JWTAuth
from django_nextauth_jwt import exceptions as exc
from django_nextauth_jwt.state import store
from tests.conftest import delete_prefix
from tests.fake_clock import Clock

LOGIN = "/api/auth/custom-login"
PASSWORD = "correct horse battery staple"

pytestmark = pytest.mark.django_db


@pytest.fixture
def ada() -> Any:
    return get_user_model().objects.create_user("ada", email="ada@example.com", password=PASSWORD)


def login(email: str, password: str, address: str) -> int:
    response = Client().post(
        LOGIN,
        data=json.dumps({"email": email, "password": password}),
        content_type="application/json",
        REMOTE_ADDR=address,
    )
    return response.status_code


def anonymous_flood(count: int = 400) -> None:
    """Failed logins for unknown accounts, each from an address of its own."""
    for i in range(count):
        assert login(f"nobody{i}@example.com", "guess", f"198.51.{i // 250}.{i % 250 + 1}") == 401


# --------------------------------------------------------------------------- #
# The attacks
# --------------------------------------------------------------------------- #


def test_flood_of_anonymous_logins_does_not_evict_a_revocation() -> None:
    token = JWTAuth.create({"id": "7"})
    JWTAuth.revoke(token)
    anonymous_flood()
    with pytest.raises(exc.TokenRevoked):
        JWTAuth.verify(token)


def test_flood_of_anonymous_logins_cannot_reset_an_account_lock(ada: Any) -> None:
    for _ in range(5):
        assert login("ada@example.com", "wrong", "203.0.113.9") == 401
    assert login("ada@example.com", PASSWORD, "203.0.113.9") == 429
    anonymous_flood()
    # Still locked, even with the right password and from another address.
    assert login("ada@example.com", PASSWORD, "192.0.2.77") == 429


def test_throttled_client_cannot_go_on_to_lock_out_an_account(ada: Any) -> None:
    attacker = "203.0.113.66"
    for i in range(20):  # the per-client budget, spent on strangers
        assert login(f"stranger{i}@example.com", "guess", attacker) == 401
    for _ in range(10):  # throttled now: these must not count against Ada
        assert login("ada@example.com", "guess", attacker) == 429
    assert login("ada@example.com", PASSWORD, "192.0.2.10") == 200


def test_throttled_client_writes_no_new_counter() -> None:
    attacker = "203.0.113.67"
    for i in range(20):
        login(f"stranger{i}@example.com", "guess", attacker)
    before = len(store.memory_store())
    for i in range(50):
        assert login(f"other{i}@example.com", "guess", attacker) == 429
    assert len(store.memory_store()) == before


def test_flood_of_anonymous_logins_does_not_evict_a_revocation_in_redis(redis_store: str) -> None:
    token = JWTAuth.create({"id": "7"})
    JWTAuth.revoke(token)
    anonymous_flood(60)
    with pytest.raises(exc.TokenRevoked):
        JWTAuth.verify(token)


# --------------------------------------------------------------------------- #
# The embedded store: no eviction before expiry, a hard cap, refusal when full
# --------------------------------------------------------------------------- #


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr("django_nextauth_jwt.state.store.time.monotonic", fake)
    return fake


def test_memory_store_keeps_the_larger_value_and_the_longer_expiry(clock: Clock) -> None:
    memory = store.MemoryStore()
    memory.put_max("k", 10, 100)
    memory.put_max("k", 5, 10)
    clock.now += 50
    assert memory.get_many(["k", "missing"]) == [10, None]
    memory.put_max("k", 20, 10)
    clock.now += 51
    assert memory.get_many(["k"]) == [None]  # expired after the longest ttl it was given


def test_memory_store_counters_expire_with_their_window(clock: Clock) -> None:
    memory = store.MemoryStore()
    assert [memory.incr("c", 60) for _ in range(3)] == [(1, 60), (2, 60), (3, 60)]
    memory.decr("c")
    clock.now += 50
    assert memory.incr("c", 60) == (3, 10)
    clock.now += 11
    assert memory.incr("c", 60) == (1, 60)


def test_memory_store_decr_never_creates_a_counter(clock: Clock) -> None:
    memory = store.MemoryStore()
    memory.decr("absent")
    assert len(memory) == 0
    memory.incr("c", 60)
    memory.decr("c")
    memory.decr("c")
    assert memory.incr("c", 60)[0] == 1  # never below zero


def test_memory_store_at_its_cap_refuses_rather_than_evicts(clock: Clock) -> None:
    memory = store.MemoryStore(max_revocations=3, max_counters=3)
    for i in range(3):
        memory.put_max(f"r{i}", 1, 100)
        memory.incr(f"c{i}", 100)
    with pytest.raises(store.StoreFull):
        memory.put_max("r3", 1, 100)
    with pytest.raises(store.StoreFull):
        memory.incr("c3", 100)
    assert memory.get_many(["r0", "r1", "r2"]) == [1, 1, 1]  # nothing was dropped
    memory.put_max("r0", 2, 100)  # an existing entry can still be raised
    memory.put_max("user", 1, 100, bounded=False)  # a user's cut-off always fits
    clock.now += 101
    memory.put_max("r3", 1, 100)  # expired entries make room
    assert memory.incr("c3", 100)[0] == 1


def test_memory_store_forgets_expired_entries_as_it_goes(clock: Clock) -> None:
    memory = store.MemoryStore()
    for i in range(1000):
        memory.incr(f"c{i}", 10)
        memory.put_max(f"r{i}", 1, 10)
        clock.now += 1
    # Only what is live (the last ten seconds' worth) is held, in the table and in the heap.
    assert len(memory) <= 22
    assert len(memory._counters.expiries) <= 11
    assert len(memory._revocations.expiries) <= 11


def test_full_embedded_store_refuses_logins_instead_of_forgetting_locks(
    monkeypatch: pytest.MonkeyPatch, ada: Any
) -> None:
    monkeypatch.setattr(store, "_memory", store.MemoryStore(max_counters=4))
    store.current.cache_clear()
    try:
        assert login("a@example.com", "guess", "198.51.100.1") == 401
        assert login("b@example.com", "guess", "198.51.100.2") == 401
        response = Client().post(
            LOGIN,
            data=json.dumps({"email": "ada@example.com", "password": PASSWORD}),
            content_type="application/json",
            REMOTE_ADDR="198.51.100.3",
        )
        assert (response.status_code, response.json()["code"]) == (503, "throttle_unavailable")
    finally:
        store.current.cache_clear()


def test_bad_redis_url_at_first_use_is_improperly_configured(settings: Any) -> None:
    from django.core.exceptions import ImproperlyConfigured

    settings.NEXTAUTH_REDIS_URL = "http://redis:6379"
    with pytest.raises(ImproperlyConfigured, match="E038"):
        JWTAuth.verify(JWTAuth.create({"id": "7"}))


# --------------------------------------------------------------------------- #
# Redis: the same semantics, shared, and cleaned up
# --------------------------------------------------------------------------- #


def test_redis_store_semantics(redis_store: str, settings: Any) -> None:
    redis_backend = store.current()
    assert isinstance(redis_backend, store.RedisStore)
    redis_backend.put_max("k", 10, 100)
    redis_backend.put_max("k", 5, 1000)
    assert redis_backend.get_many(["k", "missing"]) == [10, None]
    assert 100 < redis_backend.client.ttl(f"{settings.NEXTAUTH_REDIS_KEY_PREFIX}rv:k") <= 1000
    assert [redis_backend.incr("c", 60)[0] for _ in range(2)] == [1, 2]
    assert 0 < redis_backend.client.ttl(f"{settings.NEXTAUTH_REDIS_KEY_PREFIX}th:c") <= 60
    redis_backend.decr("c")
    redis_backend.decr("absent")
    assert redis_backend.client.exists(f"{settings.NEXTAUTH_REDIS_KEY_PREFIX}th:absent") == 0
    assert redis_backend.incr("c", 60)[0] == 2


def test_redis_keys_stay_under_the_prefix_and_are_cleaned_up(redis_store: str) -> None:
    import redis

    prefix = f"cleanup-{id(object())}:"
    other = store.RedisStore(redis_store, prefix)
    other.put_max("x", 1, 60)
    client = redis.Redis.from_url(redis_store)
    try:
        # The entry, and the revocations' index the local views load from.
        found = sorted(k.decode() for k in client.scan_iter(match=f"{prefix}*"))
        assert found == [f"{prefix}rv", f"{prefix}rv:x"]
        delete_prefix(redis_store, prefix)
        assert list(client.scan_iter(match=f"{prefix}*")) == []
    finally:
        client.close()
