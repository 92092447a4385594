"""The ``jti`` deny-list: sign-out revokes a token until its ``exp``, in Django's cache.

The local-memory cache (the default) serves one process; point
``NEXTAUTH_REVOCATION_CACHE`` at a Redis cache so that every process and every
instance of the service sees a sign-out. When the cache cannot be reached,
verification refuses tokens (``revocation_unavailable``) unless
``NEXTAUTH_REVOCATION_FAIL_OPEN`` is set.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from django.core.cache import caches
from django.core.signals import setting_changed
from django.dispatch import receiver

from django_nextauth_jwt.exceptions import RevocationUnavailable, TokenRevoked
from django_nextauth_jwt.policy import Policy, policy

logger = logging.getLogger(__name__)

KEY_PREFIX = "nextauth_jwt:rv:"

# Django hands out one cache object per thread through a context-local lookup
# that costs more than the lookup in the cache itself; on this per-request path
# each thread keeps the object it got. A generation bump (CACHES changed) makes
# every thread ask Django again.
_local = threading.local()
_generation = 0


def _cache(alias: str) -> Any:
    held: tuple[int, dict[str, Any]] | None = getattr(_local, "held", None)
    if held is None or held[0] != _generation:
        held = _local.held = (_generation, {})
    cache = held[1].get(alias)
    if cache is None:
        cache = held[1][alias] = caches[alias]
    return cache


def forget_caches() -> None:
    """Drop the per-thread cache objects (``CACHES`` changed)."""
    global _generation  # noqa: PLW0603 - a generation counter
    _generation += 1


@receiver(setting_changed)
def _caches_changed(*, setting: str, **kwargs: Any) -> None:
    if setting == "CACHES":
        forget_caches()


def _key(claims: Mapping[str, Any], token: str) -> str:
    """The deny-list key: the token's ``jti``, or the token itself when it has none.

    Hashed: a fixed, backend-safe key whatever the issuer put in it. 128 bits of
    SHA-256 in base64url keep it short, and Django validates keys character by
    character on every lookup: this runs on every request.
    """
    jti = claims.get("jti")
    # Tokens from other issuers (HS256 hooks, other services) may carry no jti:
    # the whole token then names itself, so signing out still revokes it.
    name = f"jti:{jti}" if isinstance(jti, str) and jti else f"token:{token}"
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).digest()[:16]
    return KEY_PREFIX + base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def revoke(claims: Mapping[str, Any], token: str, *, pol: Policy | None = None) -> None:
    """Deny the verified ``token`` (whose ``claims`` are given) until its ``exp`` plus leeway.

    Errors of the cache backend propagate: the caller decides what a sign-out
    that could not revoke should answer.
    """
    pol = pol or policy()
    exp = claims.get("exp")
    ttl = max(1, (exp if type(exp) is int else 0) - int(time.time()) + pol.leeway)
    _cache(pol.revocation_cache).set(_key(claims, token), 1, timeout=ttl)


def check(claims: Mapping[str, Any], token: str, pol: Policy) -> None:
    """Raise ``TokenRevoked`` for a denied token; ``RevocationUnavailable`` if unknowable."""
    if not pol.revocation:
        return
    try:
        revoked = _cache(pol.revocation_cache).get(_key(claims, token)) is not None
    except Exception as exc:  # every cache backend fails in its own way
        logger.warning("revocation store unavailable: %s", type(exc).__name__)
        if pol.revocation_fail_open:
            return
        raise RevocationUnavailable() from exc
    if revoked:
        raise TokenRevoked()
