"""Login throttling per client address and per account, in Django's cache.

Fixed windows with atomic counters (``cache.add`` then ``cache.incr``), so a
Redis cache shares the counts between processes and instances.
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import time

from django.core.cache import caches
from django.http import HttpRequest

from django_nextauth_jwt import identity
from django_nextauth_jwt.conf import app_settings

KEY_PREFIX = "nextauth_jwt:throttle:"


def client_address(request: HttpRequest) -> str:
    """The client's IP address, resistant to ``X-Forwarded-For`` rotation.

    With no trusted proxy (the default) it is ``REMOTE_ADDR``, whatever headers
    say. With ``NEXTAUTH_TRUSTED_PROXY_COUNT = n``, it is the ``n``-th address
    from the right of ``X-Forwarded-For``: the one the outermost trusted proxy
    saw, which a client cannot choose.
    """
    remote = str(request.META.get("REMOTE_ADDR", ""))
    hops = app_settings.TRUSTED_PROXY_COUNT
    if hops > 0:
        forwarded = [h.strip() for h in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [h for h in forwarded if h]
        if len(forwarded) >= hops:
            remote = forwarded[-hops]
    try:
        return str(ipaddress.ip_address(remote))
    except ValueError:
        return "unknown"


def _key(scope: str, value: str, window: int) -> str:
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{KEY_PREFIX}{scope}:{digest}:{int(time.time()) // window}"


def hit(scope: str, value: str, limit: tuple[int, int]) -> int | None:
    """Count one attempt; return the seconds to wait when over ``limit``, else None."""
    count, window = limit
    cache = caches[app_settings.THROTTLE_CACHE]
    key = _key(scope, value, window)
    cache.add(key, 0, timeout=window)
    try:
        attempts = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.add(key, 1, timeout=window)
        attempts = 1
    if attempts > count:
        return window - int(time.time()) % window or 1
    return None


def client_bucket(address: str) -> str:
    """The throttle bucket of a client address: itself for IPv4, its /64 network for IPv6.

    One IPv6 customer usually holds a whole /64: counting addresses would give
    an attacker 2**64 fresh budgets.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


def _scopes(request: HttpRequest, account: str) -> list[tuple[str, str, tuple[int, int]]]:
    return [
        ("client", client_bucket(client_address(request)), app_settings.LOGIN_RATE_PER_CLIENT),
        # Exactly the form the sign-in lookup matches on: every spelling that reaches
        # one account (ASCII case, NFC or NFD) spends one budget.
        ("account", identity.canonical(account), app_settings.LOGIN_RATE_PER_ACCOUNT),
    ]


def check_client(request: HttpRequest, scope: str) -> int | None:
    """Count one ``scope`` request (a sign-in start) by client; seconds to wait, or None.

    The budget is ``NEXTAUTH_LOGIN_RATE_PER_CLIENT``, counted apart from login attempts.
    """
    bucket = client_bucket(client_address(request))
    return hit(f"client:{scope}", bucket, app_settings.LOGIN_RATE_PER_CLIENT)


def check_login(request: HttpRequest, account: str) -> int | None:
    """Count one login attempt by client and by account; seconds to wait, or None.

    Attempts are counted before the password is checked (atomically), so a
    burst of parallel guesses cannot slip in before the first failure lands.
    """
    waits = [hit(scope, value, limit) for scope, value, limit in _scopes(request, account)]
    pending = [w for w in waits if w is not None]
    return max(pending) if pending else None


def forgive(request: HttpRequest, account: str) -> None:
    """Take back a successful attempt, so only failures add up for a legitimate user."""
    cache = caches[app_settings.THROTTLE_CACHE]
    for scope, value, (_, window) in _scopes(request, account):
        # ValueError: the window rolled over, nothing to take back.
        with contextlib.suppress(ValueError):
            cache.decr(_key(scope, value, window))
