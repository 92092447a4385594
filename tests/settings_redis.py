"""The test settings with Redis: the state store (and the cache) several instances share."""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403

CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
        "KEY_PREFIX": os.environ.get("TEST_CACHE_PREFIX", "tests"),
    }
}
# The state store: revocations, cut-offs and login counters, shared by the processes.
NEXTAUTH_REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
NEXTAUTH_REDIS_KEY_PREFIX = os.environ.get("TEST_CACHE_PREFIX", "tests") + ":state:"
# How long a process answers from its local view once Redis is away (tests that wait for the
# fail-closed answer shorten it).
NEXTAUTH_REVOCATION_GRACE = float(os.environ.get("TEST_REVOCATION_GRACE", "10"))
