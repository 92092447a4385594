"""Sign-out's deny-list: in the local-memory cache by default, in Redis when configured."""

from __future__ import annotations

import logging
import time
from typing import Any

import pytest
from django.core.cache import caches

from django_nextauth_jwt import JWTAuth
from django_nextauth_jwt import exceptions as exc
from tests import forge

SEED = {"id": "7", "email": "ada@example.com"}
DEAD_REDIS = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens on port 1
        "OPTIONS": {"socket_connect_timeout": 0.2},
    }
}


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    caches["default"].clear()


def test_revoked_token_is_refused_and_others_are_not() -> None:
    token, other = JWTAuth.create(SEED), JWTAuth.create(SEED)
    JWTAuth.revoke(token)
    with pytest.raises(exc.TokenRevoked) as info:
        JWTAuth.verify(token)
    assert info.value.code == "token_revoked"
    assert JWTAuth.verify(other)["id"] == "7"
    assert JWTAuth.authenticate_token(token).error == "token_revoked"


def test_revocation_lasts_until_expiry_plus_leeway() -> None:
    token = JWTAuth.create(SEED, max_age=100)
    JWTAuth.revoke(token)
    key = next(iter(caches["default"]._cache))  # type: ignore[attr-defined]
    expires_in = caches["default"]._expire_info[key] - time.time()  # type: ignore[attr-defined]
    assert 100 < expires_in <= 115


def test_token_without_jti_is_revoked_by_the_token_itself() -> None:
    # NextAuth's HS256 hooks or another service may mint tokens without a jti.
    token = forge.jws(forge.claims(jti=...))
    other = forge.jws(forge.claims(jti=..., name="Other"))
    JWTAuth.revoke(token)
    with pytest.raises(exc.TokenRevoked):
        JWTAuth.verify(token)
    assert JWTAuth.verify(other)["id"] == "42"


def test_revoking_twice_is_harmless() -> None:
    token = JWTAuth.create(SEED)
    JWTAuth.revoke(token)
    JWTAuth.revoke(token)
    with pytest.raises(exc.TokenRevoked):
        JWTAuth.verify(token)


def test_revoking_an_invalid_token_raises() -> None:
    with pytest.raises(exc.TokenExpired):
        JWTAuth.revoke(forge.jws(forge.claims(exp=1)))


def test_disabled_revocation_is_not_checked(settings: Any) -> None:
    token = JWTAuth.create(SEED)
    JWTAuth.revoke(token)
    settings.NEXTAUTH_REVOCATION = False
    assert JWTAuth.verify(token)["id"] == "7"


def test_unreachable_store_fails_closed_by_default(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    token = JWTAuth.create(SEED)
    settings.CACHES = DEAD_REDIS
    with caplog.at_level(logging.WARNING), pytest.raises(exc.RevocationUnavailable) as info:
        JWTAuth.verify(token)
    assert info.value.code == "revocation_unavailable"
    assert "revocation store unavailable: ConnectionError" in caplog.text
    assert token not in caplog.text
    assert forge.SECRET not in caplog.text


def test_unreachable_store_fails_open_when_configured(settings: Any) -> None:
    token = JWTAuth.create(SEED)
    settings.CACHES = DEAD_REDIS
    settings.NEXTAUTH_REVOCATION_FAIL_OPEN = True
    assert JWTAuth.verify(token)["id"] == "7"


def test_redis_deny_list_is_shared_between_cache_connections(redis_cache: str) -> None:
    token = JWTAuth.create(SEED)
    JWTAuth.revoke(token)
    # A second connection to the same Redis (another process would have one) sees it.
    caches["default"].close()
    with pytest.raises(exc.TokenRevoked):
        JWTAuth.verify(token)
    assert JWTAuth.verify(JWTAuth.create(SEED))["id"] == "7"


def test_redis_tests_leave_nothing_behind_in_the_shared_redis(redis_prefix: str) -> None:
    from django.core.cache.backends.redis import RedisCache

    from tests.conftest import REDIS_URL, delete_prefixed

    cache = RedisCache(REDIS_URL, {"KEY_PREFIX": redis_prefix})
    for i in range(3):
        cache.set(f"nextauth_jwt:rv:{i}", 1, timeout=30 * 24 * 3600)
    assert cache.get("nextauth_jwt:rv:1") == 1
    assert delete_prefixed(redis_prefix) == 3
    assert cache.get("nextauth_jwt:rv:1") is None
    assert delete_prefixed(redis_prefix) == 0
