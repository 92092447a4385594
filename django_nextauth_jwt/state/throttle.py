"""Login throttling per client address and per account, in the state store.

Windows that start at the first attempt, with atomic counters in
:mod:`~django_nextauth_jwt.state.store` (Redis with ``NEXTAUTH_REDIS_URL``, shared by every
process; the embedded store otherwise), never in Django's cache, so no other traffic can
evict a count and reset a lock.

The client is counted first: a client over its limit is refused before its attempt touches
any account's counter, so a throttled client writes nothing new.

The client address is the socket's, or the one the outermost trusted proxy wrote in
``X-Forwarded-For`` (``NEXTAUTH_TRUSTED_PROXY_COUNT``), or, for a sign-in the Next.js server
makes on a browser's behalf, the browser's address the Next.js server signed with the shared
secret (``X-NextAuth-Client-Address``, see :func:`asserted_address`).
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import re
import time
import weakref
from typing import Any

from django.http import HttpRequest

from django_nextauth_jwt import identity
from django_nextauth_jwt.conf import app_settings
from django_nextauth_jwt.state import store

__all__ = [
    "BUCKET_PREFIXES",
    "CLIENT_ADDRESS_HEADER",
    "FILL_LEVELS",
    "UNKNOWN_CLIENT",
    "ClientAddressInvalid",
    "account_key",
    "asserted_address",
    "bucket_level",
    "check_client",
    "check_login",
    "client_address",
    "client_address_signature",
    "client_bucket",
    "forgive",
    "hit",
    "store_fill",
]

#: The header the Next.js server sends: ``<ip>;<unix time>;<hex HMAC-SHA256>``, with
#: :data:`UNKNOWN_CLIENT` for the ip when it cannot know the browser's address.
CLIENT_ADDRESS_HEADER = "X-NextAuth-Client-Address"
#: A client whose address cannot be known: one bucket, ``NEXTAUTH_LOGIN_RATE_UNKNOWN_CLIENT``.
UNKNOWN_CLIENT = "unknown"
_META_KEY = "HTTP_X_NEXTAUTH_CLIENT_ADDRESS"
_CONTEXT = "nextauth-client-address:v1"
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_TIMESTAMP = re.compile(r"[0-9]{1,12}")


class ClientAddressInvalid(Exception):
    """``X-NextAuth-Client-Address`` was sent but is not a fresh, genuine assertion."""


def client_address_signature(address: str, timestamp: int, secret: str) -> str:
    """The signature the Next.js server puts on ``address`` at ``timestamp`` (hex HMAC-SHA256).

    The message is ``nextauth-client-address:v1|<address>|<timestamp>``: domain-separated, so
    the secret's HMAC here can never stand in for a token signature.
    """
    message = f"{_CONTEXT}|{address}|{timestamp}".encode()
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def asserted_address(request: HttpRequest) -> str | None:
    """The browser address the Next.js server asserted, or ``None`` when none was sent.

    Genuine means signed with one of the ``NEXTAUTH_SECRET`` values and at most
    ``NEXTAUTH_CLIENT_ADDRESS_MAX_AGE`` seconds old (or ahead, for clock skew). A browser
    calling Django directly cannot produce one; a header that is present but not genuine raises
    :class:`ClientAddressInvalid` (the sign-in answers 400) rather than being ignored.
    The Next.js server asserts :data:`UNKNOWN_CLIENT` when it cannot know the address (no
    header its operator named): that is what is returned then, never its own socket's.
    """
    raw = request.META.get(_META_KEY)
    if raw is None:
        return None
    secrets = app_settings.SECRETS
    if not secrets:
        # No shared secret here (an asymmetric issuer): no assertion can be genuine and none
        # is trusted. The request counts by its socket, as one without the header does.
        return None
    parts = str(raw).split(";")
    if len(parts) != 3:
        raise ClientAddressInvalid()
    address, stamp, signature = (part.strip() for part in parts)
    if not _TIMESTAMP.fullmatch(stamp) or not _SIGNATURE.fullmatch(signature):
        raise ClientAddressInvalid()
    # The signature covers the text the Next.js server signed ("::ffff:1.2.3.4" as Node has
    # it), not Python's normal form of it ("::ffff:102:304"): that is only what is counted.
    signed = address
    if address != UNKNOWN_CLIENT:
        try:
            address = str(ipaddress.ip_address(address))
        except ValueError as exc:
            raise ClientAddressInvalid() from exc
    if abs(int(time.time()) - int(stamp)) > app_settings.CLIENT_ADDRESS_MAX_AGE:
        raise ClientAddressInvalid()
    genuine = False
    for secret in secrets:  # every one, no early exit
        expected = client_address_signature(signed, int(stamp), secret)
        genuine |= hmac.compare_digest(expected.encode(), signature.encode())
    if not genuine:
        raise ClientAddressInvalid()
    return address


def client_address(request: HttpRequest) -> str:
    """The client's IP address, resistant to ``X-Forwarded-For`` rotation.

    A genuine ``X-NextAuth-Client-Address`` wins (the Next.js server signing in a browser).
    Otherwise, with no trusted proxy (the default) it is ``REMOTE_ADDR``, whatever headers
    say. With ``NEXTAUTH_TRUSTED_PROXY_COUNT = n``, it is the ``n``-th address from the right
    of ``X-Forwarded-For``: the one the outermost trusted proxy saw, which a client cannot
    choose. Raises :class:`ClientAddressInvalid` for a forged or stale assertion.
    """
    asserted = asserted_address(request)
    if asserted is not None:
        return asserted
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
        return UNKNOWN_CLIENT


def _key(scope: str, value: str, window: int) -> str:
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    # No clock in the key: the window starts at the first attempt and ends with the counter's
    # TTL, so a lock never ends early at a wall-clock boundary.
    return f"{scope}:{window}:{digest}"


def hit(scope: str, value: str, limit: tuple[int, int], *, create: bool = True) -> int | None:
    """Count one attempt; return the seconds to wait when over ``limit``, else None.

    ``create=False`` counts only in a counter that already lives. Raises
    :class:`store.StoreFull` when the embedded store cannot keep a new counter (the caller
    refuses the attempt), or the networked store's error.
    """
    count, window = limit
    current, key = store.current(), _key(scope, value, window)
    if isinstance(current, store.MemoryStore):
        attempts, left = current.incr(key, window, create=create)
    else:  # no cap, never asked not to create
        attempts, left = current.incr(key, window)
    if attempts > count:
        return left
    return None


#: Each family's bucket widths, finest first: the prefix a client is counted under at each fill
#: level of the store (:func:`bucket_level`).
BUCKET_PREFIXES = {4: (32, 24, 16), 6: (64, 48, 32)}
#: The store's counters fill at which new clients are counted one level wider: half full,
#: three quarters full.
FILL_LEVELS = (0.5, 0.75)


def bucket_level(fill: float) -> int:
    """The bucket width index for a counters table ``fill`` full (0 = finest)."""
    return sum(1 for threshold in FILL_LEVELS if fill >= threshold)


def client_bucket(address: str, level: int = 0) -> str:
    """The throttle bucket of a client address at ``level`` (0: as finely as it is counted).

    Level 0 is the address itself for IPv4 and its /64 for IPv6 (one IPv6 customer usually
    holds a whole /64: counting addresses would give an attacker 2**64 fresh budgets). Each
    further level is a wider network (:data:`BUCKET_PREFIXES`): as the embedded store fills,
    a flood of fresh addresses ends up in a handful of wide buckets that its own attempts
    exhaust, instead of in new counters until the table is full for everyone.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    prefix = BUCKET_PREFIXES[ip.version][min(level, 2)]
    if prefix == ip.max_prefixlen:
        return str(ip)
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def _client_scope(request: HttpRequest, level: int) -> tuple[str, tuple[int, int]]:
    """The request's client bucket at ``level``, and its budget.

    Every client whose address cannot be known shares one bucket, with a budget sized for a
    whole site's failures (``NEXTAUTH_LOGIN_RATE_UNKNOWN_CLIENT``) rather than one person's.
    """
    address = client_address(request)
    if address == UNKNOWN_CLIENT:
        return address, app_settings.LOGIN_RATE_UNKNOWN_CLIENT
    return client_bucket(address, level), app_settings.LOGIN_RATE_PER_CLIENT


#: How often (seconds) a process asks Redis how full it is.
REDIS_FILL_EVERY = 5.0
_redis_fill: weakref.WeakKeyDictionary[Any, tuple[float, float]] = weakref.WeakKeyDictionary()


def store_fill(current: Any) -> float:
    """How full ``current`` is, from 0 to 1: what decides how wide a new client's bucket is.

    The embedded store: its counters over their cap. Redis: ``used_memory`` over
    ``maxmemory`` (``INFO memory``), asked at most every :data:`REDIS_FILL_EVERY` seconds per
    process; 0 without a ``maxmemory`` or when Redis cannot say. A Redis at its
    ``maxmemory`` with ``noeviction`` refuses every write: as it fills, a flood is counted in
    wide buckets instead, as in the embedded store.
    """
    if isinstance(current, store.MemoryStore):
        return current.counters_fill()
    now = time.monotonic()
    try:
        cached = _redis_fill.get(current)
    except TypeError:  # a store that cannot be weakly referenced: asked every time
        cached = None
    if cached is not None and now - cached[0] < REDIS_FILL_EVERY:
        return cached[1]
    fill = 0.0
    try:
        info = current.client.info("memory")
        used, limit = int(info.get("used_memory", 0)), int(info.get("maxmemory", 0))
        if limit > 0:
            fill = min(1.0, used / limit)
    except Exception:  # noqa: S110 - an unanswered question widens nothing; incr will fail loudly
        pass
    with contextlib.suppress(TypeError):  # a store that cannot be weakly referenced
        _redis_fill[current] = (now, fill)
    return fill


def _level() -> int:
    return bucket_level(store_fill(store.current()))


def account_key(account: str) -> str:
    """The identity an account's attempts are counted under.

    Exactly the form the sign-in lookup matches on: every spelling that reaches one account
    (ASCII case, NFC or NFD) spends one budget.
    """
    return identity.canonical(account)


def _scopes(
    request: HttpRequest, account: str, level: int
) -> list[tuple[str, str, tuple[int, int]]]:
    # The client first: check_login stops at the first scope over its limit.
    bucket, budget = _client_scope(request, level)
    return [
        ("client", bucket, budget),
        ("account", account_key(account), app_settings.LOGIN_RATE_PER_ACCOUNT),
    ]


def check_client(request: HttpRequest, scope: str) -> int | None:
    """Count one ``scope`` request (a sign-in start) by client; seconds to wait, or None.

    The budget is ``NEXTAUTH_LOGIN_RATE_PER_CLIENT``, counted apart from login attempts.
    """
    bucket, budget = _client_scope(request, _level())
    return hit(f"client:{scope}", bucket, budget)


def check_login(request: HttpRequest, account: str) -> int | None:
    """Count one login attempt by client, then by account; seconds to wait, or None.

    Attempts are counted before the password is checked (atomically), so a burst of
    parallel guesses cannot slip in before the first failure lands. A client over its limit
    is refused without counting against the account: its flood writes nothing new.
    Raises :class:`ClientAddressInvalid` for a forged client-address assertion.

    Each attempt that passes its client may create its account's counter: an account name
    costs nothing to invent. While the embedded store is at its last fill level (three
    quarters full: a flood is on), a new account gets no counter; its attempts are bounded
    by the client's bucket, by then a whole /16 or IPv6 /32.
    """
    level = _level()
    for scope, value, limit in _scopes(request, account, level):
        create = scope != "account" or level < len(FILL_LEVELS)
        wait = hit(scope, value, limit, create=create)
        if wait is not None:
            return wait
    return None


def forgive(request: HttpRequest, account: str) -> None:
    """Take back a successful attempt, so only failures add up for a legitimate user."""
    current = store.current()
    for scope, value, (_, window) in _scopes(request, account, _level()):
        current.decr(_key(scope, value, window))
