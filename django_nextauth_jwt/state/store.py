"""The store of shared state (revocations, session cut-offs, login counters), of its own.

Nothing else writes here, so no other traffic can evict it: not Django's cache (whose
local-memory backend culls the least recently used entries past ``MAX_ENTRIES``, and whose
other backends are shared with the rest of the project), not a flood of anonymous logins.

* With ``NEXTAUTH_REDIS_URL`` (production, several processes or instances): Redis, through
  redis-py, every key under ``NEXTAUTH_REDIS_KEY_PREFIX`` with a TTL. Run that Redis with
  ``maxmemory-policy noeviction`` (or give it the memory it needs): Redis evicts only what its
  own policy allows.
* Without (the embedded default): :class:`MemoryStore`, per process. It never evicts an entry
  before it expires. Its size is bounded another way: revocations last only until the tokens
  they refuse expire, counters only for their window, and past a hard cap a new entry is
  refused (:class:`StoreFull`) rather than an old one dropped. The callers turn a full store
  into a safer answer: a session revocation becomes a cut-off of the user's sessions, a login
  attempt is refused.

Two tables, each a plain mapping of key to an integer with an expiry:

* revocations: :meth:`Store.get_many` (one round trip per request) and :meth:`Store.put_max`
  (the one write; it keeps the larger value and the longer expiry, so writes commute);
* counters: :meth:`Store.incr` (create with a TTL, then add one, atomically; the window
  starts at the first attempt, so a lock lasts a whole window whenever it was set) and
  :meth:`Store.decr` (take one back, never below zero, never creating a key).
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from django.core.exceptions import ImproperlyConfigured

from django_nextauth_jwt.conf import app_settings, derived
from django_nextauth_jwt.state.localview import LocalView

__all__ = [
    "MAX_COUNTERS",
    "MAX_REVOCATIONS",
    "MemoryStore",
    "RedisStore",
    "Store",
    "StoreFull",
    "current",
    "memory_store",
    "watch_revocations",
]

logger = logging.getLogger(__name__)

#: The embedded store's caps: about 220 bytes an entry (a session of two UUIDs; at most some
#: 350 with the longest raw key), so some 22 MB each for sessions.
MAX_REVOCATIONS = 100_000
MAX_COUNTERS = 100_000

REVOCATIONS = "rv"
COUNTERS = "th"


#: Who is told of deny-list writes (see :func:`watch_revocations`).
_watchers: list[Callable[[str], None]] = []


def watch_revocations(callback: Callable[[str], None]) -> Callable[[], None]:
    """Call ``callback(key)`` whenever a deny-list entry is written or grows; returns an unwatch.

    What open connections need (a WebSocket closes when its session is revoked) without
    polling: the embedded store calls it on each write, a Redis store's local view on each
    entry it applies (this process's writes and every other process's, through pub/sub).
    ``callback`` runs on the writing thread (a request's, or the view's subscriber thread):
    it must be quick and must not block; its errors are logged and go no further. Without a
    local view (``NEXTAUTH_REDIS_LOCAL_VIEW = False``) only this process's writes are seen.
    """
    _watchers.append(callback)

    def unwatch() -> None:
        with contextlib.suppress(ValueError):  # unwatched twice
            _watchers.remove(callback)

    return unwatch


def _changed(key: str) -> None:
    for callback in tuple(_watchers):  # a copy: watchers come and go on other threads
        try:
            callback(key)
        except Exception:  # a watcher's bug must not fail the write that was made
            logger.exception("deny-list watcher failed")


class StoreFull(Exception):
    """The embedded store is at its cap with nothing expired: a new entry cannot be kept."""


class Store(Protocol):
    """What revocation and throttling need from a store."""

    #: Whether the store's keys never leave this process (the embedded store): callers may key
    #: by what a key names, as it is; a shared store's keys must be stable and fixed-size.
    in_process: bool

    def get_many(self, keys: Sequence[str]) -> list[int | None]:
        """The revocation values of ``keys`` (``None`` where absent or expired)."""

    def put_max(self, key: str, value: int, ttl: int, *, bounded: bool = True) -> None:
        """Set revocation ``key`` to ``max(value, current)`` for at least ``ttl`` seconds.

        ``bounded=False`` marks an entry that may go past the embedded cap (a user's cut-off:
        one per real user at most); a bounded one raises :class:`StoreFull` there.
        """

    def incr(self, key: str, ttl: int) -> tuple[int, int]:
        """Add one to counter ``key`` (created at 0 for ``ttl`` seconds).

        Returns the new count and the whole seconds left before the counter expires.
        """

    def decr(self, key: str) -> None:
        """Take one from counter ``key`` if it exists and is positive."""


class _Table:
    """Key -> (value, expiry on the monotonic clock), with a heap of expiries for pruning."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.entries: dict[str, tuple[int, float]] = {}
        self.expiries: list[tuple[float, str]] = []

    def live(self, key: str, now: float) -> tuple[int, float] | None:
        entry = self.entries.get(key)
        if entry is None or entry[1] <= now:
            return None
        return entry

    def prune(self, now: float) -> None:
        # Heap entries go stale when an expiry is extended: check against the table.
        while self.expiries and self.expiries[0][0] <= now:
            _, key = heapq.heappop(self.expiries)
            entry = self.entries.get(key)
            if entry is not None and entry[1] <= now:
                del self.entries[key]

    def has_room(self, now: float) -> bool:
        """Room for one more entry, once what has expired is dropped.

        Every write calls it (cheap: only the heap's expired top is touched), so neither the
        table nor the heap outgrows what is live. A key still in the table after that is
        live, and its writer updates it in place: only a new key needs room.
        """
        self.prune(now)
        return len(self.entries) < self.cap

    def put(self, key: str, value: int, expires: float) -> None:
        self.entries[key] = (value, expires)
        heapq.heappush(self.expiries, (expires, key))
        if len(self.expiries) > 4 * max(len(self.entries), 1024):
            # Extensions leave stale heap entries behind: rebuild once they dominate.
            self.expiries = [(exp, k) for k, (_, exp) in self.entries.items()]
            heapq.heapify(self.expiries)


class MemoryStore:
    """The embedded store: one per process, no eviction before expiry, hard caps."""

    in_process = True

    def __init__(self, max_revocations: int | None = None, max_counters: int | None = None) -> None:
        self._lock = threading.Lock()
        self._caps = (max_revocations, max_counters)
        self.clear()

    def clear(self) -> None:
        """Forget everything (tests)."""
        with self._lock:
            self._revocations = _Table(self._caps[0] or MAX_REVOCATIONS)
            self._counters = _Table(self._caps[1] or MAX_COUNTERS)

    def __len__(self) -> int:
        return len(self._revocations.entries) + len(self._counters.entries)

    def get_many(self, keys: Sequence[str]) -> list[int | None]:
        """See :meth:`Store.get_many`."""
        # No lock: each entry is one tuple, replaced whole by writers, and a dict read is
        # atomic; a read racing a write sees the entry before it or after it.
        now = time.monotonic()
        entries = self._revocations.entries
        found: list[int | None] = []
        for key in keys:
            entry = entries.get(key)
            found.append(entry[0] if entry is not None and entry[1] > now else None)
        return found

    def put_max(self, key: str, value: int, ttl: int, *, bounded: bool = True) -> None:
        """See :meth:`Store.put_max`."""
        now = time.monotonic()
        table = self._revocations
        with self._lock:
            room = table.has_room(now)
            current = table.live(key, now)
            if current is None and bounded and not room:
                raise StoreFull()
            expires = now + ttl
            if current is not None:
                value, expires = max(value, current[0]), max(expires, current[1])
            table.put(key, value, expires)
        _changed(key)

    def incr(self, key: str, ttl: int, *, create: bool = True) -> tuple[int, int]:
        """See :meth:`Store.incr`; with ``create=False`` an absent counter stays absent.

        Then the answer is ``(0, ttl)`` and nothing is written (the throttle's accounts while
        the table is nearly full).
        """
        now = time.monotonic()
        table = self._counters
        with self._lock:
            room = table.has_room(now)
            current = table.live(key, now)
            if current is None:
                if not create:
                    return 0, ttl
                if not room:
                    raise StoreFull()
                current = (0, now + ttl)
                heapq.heappush(table.expiries, (current[1], key))
            count = current[0] + 1
            table.entries[key] = (count, current[1])
            return count, max(1, math.ceil(current[1] - now))

    def counters_fill(self) -> float:
        """How full the counters' table is, from 0 (empty) to 1 (a new counter is refused).

        Live and not yet pruned counters over the cap. The throttle counts a new client
        under a wider network as the table fills, so that no flood of fresh addresses can
        fill it for everyone (``throttle.client_bucket``).
        """
        # No lock, no pruning: every write prunes, so the count is at most one write behind.
        table = self._counters
        return min(1.0, len(table.entries) / table.cap)

    def decr(self, key: str) -> None:
        """See :meth:`Store.decr`."""
        now = time.monotonic()
        with self._lock:
            current = self._counters.live(key, now)
            if current is not None and current[0] > 0:
                self._counters.entries[key] = (current[0] - 1, current[1])


# KEYS[1]: the entry, KEYS[2]: the index (sorted set: key -> expiry, ms on Redis's clock);
# ARGV: value, ttl (s), the bare key, the channel. The larger value and the longer expiry
# win; the index drops what has expired and lives as long as its longest entry; the result
# is published for every process's local view (localview). Returns the value and ttl (ms).
_PUT_MAX = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local ttl = tonumber(ARGV[2]) * 1000
local left = redis.call('PTTL', KEYS[1])
if left > ttl then ttl = left end
local value = tonumber(ARGV[1])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current > value then value = current end
redis.call('SET', KEYS[1], value, 'PX', ttl)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
redis.call('ZADD', KEYS[2], now + ttl, ARGV[3])
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
local text = string.format('%d', value)
local span = string.format('%d', ttl)
redis.call('PUBLISH', ARGV[4], ARGV[3] .. ' ' .. text .. ' ' .. span)
return {text, span}
"""

_DECR = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""


class RedisStore:
    """The store in Redis: shared by every process and instance using the same URL and prefix.

    With ``local_view`` (``NEXTAUTH_REDIS_LOCAL_VIEW``, the default), revocation reads are
    answered by this process's :class:`~django_nextauth_jwt.state.localview.LocalView` while it is
    live, and by Redis otherwise. Counters always go to Redis (atomic, shared).
    """

    in_process = False

    def __init__(self, url: str, prefix: str, *, local_view: bool = True) -> None:
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            raise ImproperlyConfigured(
                "NEXTAUTH_REDIS_URL needs redis-py: pip install django-nextauth-jwt[redis]"
            ) from exc
        # Short timeouts and one immediate retry (a pooled connection a restart dropped gets
        # a fresh one): an unreachable store fails closed at once instead of holding every
        # request through redis-py's default backoff of several seconds.
        self.client: Any = redis.Redis.from_url(
            url,
            socket_connect_timeout=1,
            socket_timeout=1,
            health_check_interval=30,
            retry=Retry(NoBackoff(), 1),
        )
        self.prefix = prefix
        #: The revocations' index (sorted set) and the channel their writes are published on.
        self.index = self.channel = f"{prefix}{REVOCATIONS}"
        self._put_max = self.client.register_script(_PUT_MAX)
        self._decr = self.client.register_script(_DECR)
        self.view: LocalView | None = None
        if local_view:
            self.view = LocalView(
                url,
                entry_prefix=self._revocation(""),
                index=self.index,
                channel=self.channel,
                on_change=_changed,
            )

    def _revocation(self, key: str) -> str:
        return f"{self.prefix}{REVOCATIONS}:{key}"

    def _counter(self, key: str) -> str:
        return f"{self.prefix}{COUNTERS}:{key}"

    def get_many(self, keys: Sequence[str]) -> list[int | None]:
        """See :meth:`Store.get_many`: the live local view, else one ``MGET``."""
        view = self.view
        if view is not None:
            found = view.get_many(keys)
            if found is not None:
                return found
        values = self.client.mget([self._revocation(key) for key in keys])
        found = [None if value is None else int(value) for value in values]
        if view is None:
            return found
        # The view is not live, but what it holds was revoked all the same.
        held = view.peek(keys)
        return [
            b if a is None else a if b is None else max(a, b)
            for a, b in zip(found, held, strict=True)
        ]

    def put_max(self, key: str, value: int, ttl: int, *, bounded: bool = True) -> None:
        """See :meth:`Store.put_max`: one script, atomic, published to every local view."""
        written = self._put_max(
            keys=[self._revocation(key), self.index], args=[value, max(1, ttl), key, self.channel]
        )
        if self.view is not None:  # this process reads its own write at once
            self.view.apply(key, int(written[0]), int(written[1]))
        else:
            _changed(key)

    def incr(self, key: str, ttl: int) -> tuple[int, int]:
        """See :meth:`Store.incr`: ``SET NX EX``, ``INCR`` and ``TTL`` in one transaction."""
        name = self._counter(key)
        with self.client.pipeline(transaction=True) as pipe:
            pipe.set(name, 0, ex=max(1, ttl), nx=True)
            pipe.incr(name)
            pipe.ttl(name)
            _, count, left = pipe.execute()
        return int(count), max(1, int(left))

    def decr(self, key: str) -> None:
        """See :meth:`Store.decr`: one script, never creating the key."""
        self._decr(keys=[self._counter(key)])

    def close(self) -> None:
        """Stop the local view's thread and drop the connections (a store no longer used)."""
        if self.view is not None:
            self.view.stop()
        self.client.close()


_memory = MemoryStore()
_redis: dict[tuple[str, str, bool], RedisStore] = {}
_redis_lock = threading.Lock()


def memory_store() -> MemoryStore:
    """This process's embedded store."""
    return _memory


@derived
def current() -> Store:
    """The configured store: Redis at ``NEXTAUTH_REDIS_URL``, else the embedded one.

    One client (and connection pool, and local view) for the URL, prefix and
    ``NEXTAUTH_REDIS_LOCAL_VIEW`` in force; when settings name another URL or prefix, the
    stores of the previous one are closed (their view's thread stops): a process runs at
    most one view.
    """
    url = app_settings.REDIS_URL
    if not url:
        return _memory
    if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(
            "NEXTAUTH_REDIS_URL must be a redis://, rediss:// or unix:// URL (nextauth_jwt.E038)."
        )
    key = (url, app_settings.REDIS_KEY_PREFIX, app_settings.REDIS_LOCAL_VIEW)
    with _redis_lock:
        found = _redis.get(key)
        if found is None:
            for held in [held for held in _redis if held[:2] != key[:2]]:
                _redis.pop(held).close()
            found = _redis[key] = RedisStore(key[0], key[1], local_view=key[2])
    return found
