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
from django_nextauth_jwt.state import topology
from django_nextauth_jwt.state.localview import LocalView

__all__ = [
    "MAX_COUNTERS",
    "MAX_REVOCATIONS",
    "MemoryStore",
    "RedisStore",
    "Store",
    "StoreFull",
    "StoreUnavailable",
    "current",
    "memory_store",
    "watch_revocations",
]

logger = logging.getLogger(__name__)

#: The embedded store's caps: about 310 bytes an entry, the key included (measured: a session
#: of two UUIDs; some 365 with the longest raw key), so some 31 MB at most for sessions. Not
#: compact like the Redis view's fingerprints: at this cap it need not be, and its keys are
#: names as they are (docs/redis.md, "The embedded store").
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
# ARGV: value, ttl (s), the bare key, the channel, and PUBLISH or SPUBLISH (a Cluster's
# sharded pub/sub: the channel is in the keys' slot). The larger value and the longer expiry
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
redis.call(ARGV[5] or 'PUBLISH', ARGV[4], ARGV[3] .. ' ' .. text .. ' ' .. span)
return {text, span}
"""

_DECR = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""

# A counter on a Cluster (whose client has no MULTI): created at 0 with a TTL unless it
# exists, one added, the seconds it has left; one node runs the same as one transaction.
_INCR = """
redis.call('SET', KEYS[1], 0, 'EX', tonumber(ARGV[1]), 'NX')
local count = redis.call('INCR', KEYS[1])
return {count, redis.call('TTL', KEYS[1])}
"""

#: ``NEXTAUTH_REDIS_TIMEOUT``'s default: the longest a command waits on its socket (seconds).
DEFAULT_TIMEOUT = 0.05
#: ``NEXTAUTH_REVOCATION_GRACE``'s default, in seconds (docs/redis.md says why ten).
DEFAULT_GRACE = 10.0
#: After a failure to reach Redis, the store sends nothing there for this long (seconds),
#: then lets one command through to see whether it is back.
BREAK_FOR = 1.0
#: A deny-list write waits for its replicas at most this many times the timeout.
WAIT_FACTOR = 4


class StoreUnavailable(Exception):
    """Redis cannot be reached, or did not confirm a write as durable in time."""


class _Breaker:
    """Stops sending commands to an unreachable Redis for :data:`BREAK_FOR` seconds.

    A dead or frozen Redis then costs one request one timeout per pause, not every request
    its own: the others fail at once. After the pause one command goes through (the others
    still fail at once while it is out); when it succeeds, the breaker closes.
    """

    def __init__(
        self,
        errors: tuple[type[BaseException], ...],
        heard: Callable[[], bool] = lambda: False,
    ) -> None:
        self.errors = errors
        #: Whether Redis was heard from just now by other means (the local view live again):
        #: then a command goes through at once, without waiting for the pause to end.
        self.heard = heard
        self.closed_after = 0.0  # monotonic: commands go through from then on
        self.failing = False
        self._lock = threading.Lock()

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` unless the breaker is open (:class:`StoreUnavailable`)."""
        if self.failing:
            with self._lock:
                now = time.monotonic()
                if now < self.closed_after and not self.heard():
                    raise StoreUnavailable("Redis failed moments ago: not tried again yet")
                self.closed_after = now + BREAK_FOR  # this command is the probe
        try:
            result = fn(*args, **kwargs)
        except self.errors:
            with self._lock:
                self.failing = True
                self.closed_after = time.monotonic() + BREAK_FOR
            raise
        if self.failing:
            with self._lock:
                self.failing, self.closed_after = False, 0.0
        return result


class RedisStore:
    """The store in Redis: shared by every process and instance using the same URL and prefix.

    ``url`` names one node, a Sentinel group or a Cluster
    (:mod:`~django_nextauth_jwt.state.topology`). With ``local_view``
    (``NEXTAUTH_REDIS_LOCAL_VIEW``, the default), revocation reads are answered by this
    process's :class:`~django_nextauth_jwt.state.localview.LocalView` while it is live, by
    Redis otherwise, and by what the view holds for ``grace`` seconds after it was last
    complete when Redis cannot be read either. Counters always go to Redis (atomic, shared).

    Every command waits at most ``timeout`` seconds on its socket, and after a failure the
    store stops trying for :data:`BREAK_FOR` seconds (:class:`StoreUnavailable`). A deny-list
    write returns only once ``replicas`` replicas have it (``WAIT``, at most
    :data:`WAIT_FACTOR` timeouts; default: none on one node, one with Sentinel or Cluster),
    else raises :class:`StoreUnavailable`: a sign-out answered 200 survives a failover.
    """

    in_process = False

    def __init__(  # noqa: PLR0913 - keyword-only knobs, one per setting
        self,
        url: str,
        prefix: str,
        *,
        local_view: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
        replicas: int | None = None,
        grace: float = DEFAULT_GRACE,
    ) -> None:
        try:
            import redis.exceptions as errors
        except ImportError as exc:  # pragma: no cover - depends on the installed extras
            raise ImproperlyConfigured(
                "NEXTAUTH_REDIS_URL needs redis-py: pip install django-nextauth-jwt[redis]"
            ) from exc
        try:
            self.topology = topology.parse(url)
        except ValueError as exc:
            raise ImproperlyConfigured(f"NEXTAUTH_REDIS_URL: {exc} (nextauth_jwt.E038).") from exc
        # Short timeouts, and one immediate retry only for a pooled connection a restart
        # dropped: a dead or frozen store costs a request one timeout, then the breaker.
        self.client: Any = self.topology.client(timeout)
        if replicas is None:
            replicas = 0 if self.topology.kind == "single" else 1
        self.replicas = replicas
        self.wait_ms = max(1, round(timeout * 1000 * WAIT_FACTOR))
        # A write that waits for replicas needs a socket that waits longer than WAIT does.
        self.writer: Any = (
            self.topology.client(timeout * (WAIT_FACTOR + 1)) if replicas else self.client
        )
        self.grace = grace
        self.prefix = prefix
        #: The revocations' index (sorted set) and the channel their writes are published on.
        #: On a Cluster, one hash tag puts every deny-list key, the index and the channel in
        #: one slot (the script touches an entry and the index at once).
        sharded = self.topology.sharded
        self.index = self.channel = (
            f"{{{prefix}{REVOCATIONS}}}" if sharded else f"{prefix}{REVOCATIONS}"
        )
        self._publish = "SPUBLISH" if sharded else "PUBLISH"
        self._slots_stale = False
        self._put_max = self.client.register_script(_PUT_MAX)
        self._decr = self.client.register_script(_DECR)
        self._incr = self.client.register_script(_INCR)
        self.view: LocalView | None = None
        self._breaker = _Breaker(
            (errors.ConnectionError, errors.TimeoutError, errors.ClusterDownError),
            lambda: self.view is not None and self.view.is_live(),
        )
        if local_view:
            self.view = LocalView(
                url,
                entry_prefix=self._revocation(""),
                index=self.index,
                channel=self.channel,
                on_change=_changed,
            )

    def _revocation(self, key: str) -> str:
        return f"{self.index}:{key}"

    def _counter(self, key: str) -> str:
        return f"{self.prefix}{COUNTERS}:{key}"

    def get_many(self, keys: Sequence[str]) -> list[int | None]:
        """See :meth:`Store.get_many`: the live local view, else one ``MGET``.

        When Redis cannot be read either, the view answers for ``grace`` seconds after it was
        last complete; past that the error propagates (the caller fails closed).
        """
        view = self.view
        if view is not None:
            found = view.get_many(keys)
            if found is not None:
                return found
        try:
            values = self._breaker.call(self.client.mget, [self._revocation(k) for k in keys])
        except Exception:
            held = None if view is None else view.held(keys, self.grace)
            if held is None:
                raise
            return held
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
        """See :meth:`Store.put_max`: one script, atomic, published to every local view.

        With ``replicas``, the script and a ``WAIT`` go in one pipeline (one connection: WAIT
        counts that connection's writes); fewer acknowledgements than asked for raise
        :class:`StoreUnavailable` (the entry is kept here all the same: refusing is safe).
        """
        args = [value, max(1, ttl), key, self.channel, self._publish]
        written, acked = self._breaker.call(self._write, [self._revocation(key), self.index], args)
        if self.view is not None:  # this process reads its own write at once
            self.view.apply(key, int(written[0]), int(written[1]))
        else:
            _changed(key)
        if acked < self.replicas:
            raise StoreUnavailable(
                f"the deny-list write reached {acked} of {self.replicas} replicas in time"
            )

    def _write(self, keys: list[str], args: list[Any]) -> tuple[list[Any], int]:
        node = self.writer
        if self.topology.sharded:  # the primary of the deny-list's slot, as a plain client
            if self._slots_stale:  # the slot may have moved since the last failure
                self.writer.nodes_manager.initialize()
                self._slots_stale = False
            node = self.writer.get_redis_connection(self.writer.get_node_from_key(self.index))
        try:
            with node.pipeline(transaction=False) as pipe:
                self._put_max(keys=keys, args=args, client=pipe)
                if self.replicas:
                    pipe.execute_command("WAIT", self.replicas, self.wait_ms)
                results = pipe.execute()
        except Exception:
            self._slots_stale = self.topology.sharded
            raise
        return results[0], int(results[1]) if self.replicas else 0

    def incr(self, key: str, ttl: int) -> tuple[int, int]:
        """See :meth:`Store.incr`: ``SET NX EX``, ``INCR`` and ``TTL`` in one transaction."""
        name = self._counter(key)
        if self.topology.sharded:
            count, left = self._breaker.call(self._incr, keys=[name], args=[max(1, ttl)])
        else:
            count, left = self._breaker.call(self._incr_transaction, name, ttl)
        return int(count), max(1, int(left))

    def _incr_transaction(self, name: str, ttl: int) -> tuple[Any, Any]:
        with self.client.pipeline(transaction=True) as pipe:
            pipe.set(name, 0, ex=max(1, ttl), nx=True)
            pipe.incr(name)
            pipe.ttl(name)
            _, count, left = pipe.execute()
        return count, left

    def decr(self, key: str) -> None:
        """See :meth:`Store.decr`: one script, never creating the key."""
        self._breaker.call(self._decr, keys=[self._counter(key)])

    def close(self) -> None:
        """Stop the local view's thread and drop the connections (a store no longer used)."""
        if self.view is not None:
            self.view.stop()
        if self.writer is not self.client:
            self.writer.close()
        self.client.close()


_memory = MemoryStore()
_redis: dict[tuple[Any, ...], RedisStore] = {}
_redis_lock = threading.Lock()


def memory_store() -> MemoryStore:
    """This process's embedded store."""
    return _memory


@derived
def current() -> Store:
    """The configured store: Redis at ``NEXTAUTH_REDIS_URL``, else the embedded one.

    One client (and connection pool, and local view) for the URL, prefix,
    ``NEXTAUTH_REDIS_LOCAL_VIEW``, ``NEXTAUTH_REDIS_TIMEOUT`` and ``NEXTAUTH_REDIS_REPLICAS``
    in force; when settings name another URL or prefix, the stores of the previous one are
    closed (their view's thread stops): a process runs at most one view.
    """
    url = app_settings.REDIS_URL
    if not url:
        return _memory
    if not isinstance(url, str) or not url.startswith(topology.SCHEMES):
        raise ImproperlyConfigured(
            "NEXTAUTH_REDIS_URL must be a redis://, rediss://, unix://, redis+sentinel:// or "
            "redis+cluster:// URL (nextauth_jwt.E038)."
        )
    key = (
        url,
        app_settings.REDIS_KEY_PREFIX,
        app_settings.REDIS_LOCAL_VIEW,
        app_settings.REDIS_TIMEOUT,
        app_settings.REDIS_REPLICAS,
    )
    with _redis_lock:
        found = _redis.get(key)
        if found is None:
            for held in [held for held in _redis if held[:2] != key[:2]]:
                _redis.pop(held).close()
            found = _redis[key] = RedisStore(
                url, key[1], local_view=key[2], timeout=key[3], replicas=key[4]
            )
        found.grace = app_settings.REVOCATION_GRACE
    return found
