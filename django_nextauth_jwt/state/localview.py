"""A process's own copy of the deny-list held in Redis, kept fresh by pub/sub.

Revocations are rare and checks come with every request, so with the deny-list in Redis
each process answers checks from a plain dictionary instead of paying a round trip:

* Every deny-list write (one Lua script, :mod:`~django_nextauth_jwt.state.store`) sets the entry,
  records its expiry in an index (a sorted set: key -> expiry in ms on Redis's clock) and
  publishes ``"<key> <value> <ttl ms>"`` on a channel, all at once.
* One subscriber thread per process subscribes first, then loads the index (``ZSCAN`` and
  ``MGET``), then reads the messages that came in meanwhile and from then on. Entries only
  ever grow (the larger value and the longer expiry win), so snapshot and messages merge in
  any order. The view is declared **live** only when the answer to a ``PING`` sent after the
  load has been read: every write made before that has been applied.
* The thread pings Redis every :data:`HEARTBEAT` seconds on the subscription. A check uses
  the view only while it is live *and* Redis was heard from within :data:`STALE_AFTER`
  seconds: messages arrive in order, so the view then misses no write older than that.
* Otherwise (not loaded yet, link lost, Redis silent, thread dead) :meth:`LocalView.get_many`
  answers ``None`` and the caller reads Redis itself, as without a view: when Redis cannot be
  reached that read fails and verification fails closed. What the view already holds still
  counts then (:meth:`LocalView.peek`): a Redis that came back empty un-revokes nothing.
  On any error the thread drops the link and starts again (subscribe, load, ping), backing
  off up to a second.

Entries expire locally at their TTL (counted from when they reach the process, so never
earlier than in Redis). Entries are never removed otherwise: deleting a key in Redis by
hand does not un-revoke anything in a running process. A ``fork`` (gunicorn ``--preload``)
leaves the child with no thread: its view starts again at its first check.

No Django here: the store hands in the URL and the names.
"""

from __future__ import annotations

import contextlib
import heapq
import logging
import os
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from typing import Any

__all__ = ["HEARTBEAT", "STALE_AFTER", "LocalView"]

logger = logging.getLogger(__name__)

#: Seconds between pings on the subscription.
HEARTBEAT = 0.1
#: A view not heard from for this long is not used (checks read Redis instead).
STALE_AFTER = 0.5
#: Not heard from for this long: the link is dropped and made again (subscribe, load).
RELINK_AFTER = 2.0
#: Longest wait between two attempts to link up again.
MAX_BACKOFF = 1.0
#: Index entries read per ``ZSCAN`` call while loading.
LOAD_BATCH = 1000

_views: weakref.WeakSet[LocalView] = weakref.WeakSet()


class _Relinked(Exception):
    """The subscription's connection was made again under us: the view must reload."""


class LocalView:
    """The deny-list of one Redis URL and key prefix, as this process sees it."""

    def __init__(
        self,
        url: str,
        *,
        entry_prefix: str,
        index: str,
        channel: str,
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        self.url = url
        #: Called with a key whenever an entry is new or grows (from the thread applying it).
        self.on_change = on_change
        self.entry_prefix = entry_prefix
        self.index = index
        self.channel = channel
        #: key -> (value, expiry on this process's monotonic clock); read without a lock.
        self.entries: dict[str, tuple[int, float]] = {}
        self._expiries: list[tuple[float, str]] = []
        self._reset_runtime()
        _views.add(self)

    def _reset_runtime(self) -> None:
        self._write_lock = threading.Lock()  # writers only: max-merges must not interleave
        self._start_lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.live = False
        #: When the subscription last brought anything (monotonic clock).
        self.heard = float("-inf")
        self._relinked = False
        self.links = 0  # how many times the view went live (tests, diagnostics)

    # -- the read path ----------------------------------------------------------------

    def get_many(self, keys: Sequence[str]) -> list[int | None] | None:
        """The values of ``keys``, or ``None`` when the view cannot be trusted right now."""
        now = time.monotonic()
        if not self.live or now - self.heard > STALE_AFTER:
            self.start()
            return None
        entries = self.entries
        found: list[int | None] = []
        for key in keys:
            entry = entries.get(key)
            found.append(entry[0] if entry is not None and entry[1] > now else None)
        return found

    def peek(self, keys: Sequence[str]) -> list[int | None]:
        """What the view holds for ``keys``, live or not (a revocation is never unlearned)."""
        now = time.monotonic()
        entries = self.entries
        found: list[int | None] = []
        for key in keys:
            entry = entries.get(key)
            found.append(entry[0] if entry is not None and entry[1] > now else None)
        return found

    def is_live(self) -> bool:
        """Whether checks are answered from the view at this moment."""
        return self.live and time.monotonic() - self.heard <= STALE_AFTER

    # -- writes -----------------------------------------------------------------------

    def apply(self, key: str, value: int, ttl_ms: int) -> None:
        """Merge one entry: the larger value and the later expiry win."""
        expires = time.monotonic() + ttl_ms / 1000
        with self._write_lock:
            current = self.entries.get(key)
            if current is not None:
                if current[0] >= value and current[1] >= expires:
                    return
                value, expires = max(value, current[0]), max(expires, current[1])
            self.entries[key] = (value, expires)
            heapq.heappush(self._expiries, (expires, key))
        if self.on_change is not None:
            self.on_change(key)

    def prune(self) -> None:
        """Forget what has expired (the subscriber thread calls this as it goes)."""
        now = time.monotonic()
        with self._write_lock:
            while self._expiries and self._expiries[0][0] <= now:
                _, key = heapq.heappop(self._expiries)
                entry = self.entries.get(key)
                if entry is not None and entry[1] <= now:
                    del self.entries[key]
            if len(self._expiries) > 4 * max(len(self.entries), 1024):
                self._expiries = [(exp, k) for k, (_, exp) in self.entries.items()]
                heapq.heapify(self._expiries)

    def _receive(self, data: bytes) -> None:
        try:
            key, value, ttl = data.decode("ascii").split(" ")
            self.apply(key, int(value), int(ttl))
        except (UnicodeDecodeError, ValueError):
            # Only something else publishing on the channel sends this: ignore it, loudly.
            logger.warning("deny-list view: ignored a malformed message on %s", self.channel)

    # -- the subscriber thread ----------------------------------------------------------

    def start(self) -> None:
        """Start the subscriber thread unless it runs.

        Reads call this only while the view is not live: the lock is rarely contended.
        """
        with self._start_lock:
            if self._stop.is_set():
                return
            thread = self._thread
            if thread is not None and thread.is_alive():
                return
            self._thread = threading.Thread(
                target=self._run, name=f"nextauth-deny-list-view {self.channel}", daemon=True
            )
            self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the thread for good (a store no longer in use)."""
        self._stop.set()
        self.live = False
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def wait_live(self, timeout: float) -> bool:
        """Start if needed and wait until the view is live (tests, warm-up); whether it is."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.is_live():
                return True
            self.start()
            time.sleep(0.01)
        return self.is_live()

    def _client(self) -> Any:
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # No retry: redis-py would otherwise reconnect and resubscribe silently, and the
        # writes made while the link was down would never reach the view.
        return redis.Redis.from_url(
            self.url,
            socket_connect_timeout=1,
            socket_timeout=1,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )

    def _run(self) -> None:
        backoff = 0.05
        while not self._stop.is_set():
            client = pubsub = None
            try:
                client = self._client()
                pubsub = client.pubsub()
                self._link(client, pubsub)
                backoff = 0.05
                self._listen(pubsub)
            except Exception as exc:  # every way Redis can fail: drop the link, start again
                if self.live:
                    logger.warning(
                        "deny-list view lost Redis (%s): checks read Redis until it is back",
                        type(exc).__name__,
                    )
            finally:
                self.live = False
                for closing in (pubsub, client):
                    if closing is not None:
                        with contextlib.suppress(Exception):  # already broken: nothing to add
                            closing.close()
            self._stop.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF)

    def _link(self, client: Any, pubsub: Any) -> None:
        """Subscribe, load the index, ping: the view goes live when that ping is answered."""
        self._relinked = False
        pubsub.subscribe(self.channel)
        pubsub.connection.register_connect_callback(self._on_reconnect)
        deadline = time.monotonic() + RELINK_AFTER
        while True:  # the subscription is in force once Redis confirms it
            message = pubsub.get_message(timeout=0.1)
            if message is not None and message["type"] == "subscribe":
                break
            if message is not None and message["type"] == "message":
                self._receive(message["data"])
            if time.monotonic() > deadline:
                raise TimeoutError("no subscription confirmed")
        self._load(client)
        pubsub.ping()

    def _on_reconnect(self, connection: Any) -> None:
        # redis-py made the connection again (and resubscribed): writes may have been missed.
        self.live = False
        self._relinked = True

    def _load(self, client: Any) -> None:
        cursor = 0
        while True:
            with client.pipeline(transaction=False) as pipe:
                pipe.time()
                pipe.zscan(self.index, cursor, count=LOAD_BATCH)
                (seconds, micros), (cursor, members) = pipe.execute()
            now_ms = int(seconds) * 1000 + int(micros) // 1000
            batch = [(m.decode("ascii"), int(score)) for m, score in members if score > now_ms]
            if batch:
                values = client.mget([self.entry_prefix + key for key, _ in batch])
                for (key, expires_ms), value in zip(batch, values, strict=True):
                    if value is not None:  # gone since: it expired
                        self.apply(key, int(value), expires_ms - now_ms)
            if int(cursor) == 0:
                return

    def _listen(self, pubsub: Any) -> None:
        linked = pinged = pruned = time.monotonic()
        while not self._stop.is_set():
            message = pubsub.get_message(timeout=HEARTBEAT)
            if self._relinked:
                raise _Relinked()
            now = time.monotonic()
            if message is not None:
                if message["type"] == "message":
                    self._receive(message["data"])
                elif message["type"] == "pong" and not self.live:
                    self.live = True  # everything published before the load's ping is applied
                    self.links += 1
                    if self.links > 1:
                        logger.warning("deny-list view: Redis is back, checks are local again")
                self.heard = now
            if now - max(self.heard, linked) > RELINK_AFTER:
                raise TimeoutError("Redis did not answer on the subscription")
            if now - pinged >= HEARTBEAT:
                pubsub.ping()
                pinged = now
            if now - pruned >= 1.0:
                self.prune()
                pruned = now


def _after_fork_in_child() -> None:
    # Threads do not survive a fork: the child starts its own at its first check.
    for view in list(_views):
        view._reset_runtime()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
