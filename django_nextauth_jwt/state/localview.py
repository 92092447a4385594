"""A process's own copy of the deny-list held in Redis, kept fresh by pub/sub.

Revocations are rare and checks come with every request, so with the deny-list in Redis
each process answers checks from memory instead of paying a round trip:

* Every deny-list write (one Lua script, :mod:`~django_nextauth_jwt.state.store`) sets the entry,
  records its expiry in an index (a sorted set: key -> expiry in ms on Redis's clock) and
  publishes ``"<key> <value> <ttl ms>"`` on a channel, all at once (on a Cluster, sharded
  pub/sub on the slot of the deny-list's hash tag).
* One subscriber thread per process subscribes first, then loads the index (``ZREVRANGE`` by
  rank, or ``ZSCAN`` when the index moved under it; ``MGET`` for cut-offs), then reads the
  messages that came in meanwhile and from then on, all on the one node that runs the writes.
  Entries only ever grow (the larger value and the longer expiry win), so snapshot and
  messages merge in any order. The view is declared **live** only when
  the answer to a ``PING`` sent after the load has been read: every write made before that
  has been applied.
* The thread pings Redis every :data:`HEARTBEAT` seconds on the subscription. A check uses
  the view only while it is live *and* Redis was heard from within :data:`STALE_AFTER`
  seconds: messages arrive in order, so the view then misses no write older than that.
* Otherwise (not loaded yet, link lost, Redis silent, thread dead) :meth:`LocalView.get_many`
  answers ``None`` and the caller reads Redis itself. When that read fails too, the caller may
  still answer from the view for a bounded grace after it was last complete
  (:meth:`LocalView.held`, ``NEXTAUTH_REVOCATION_GRACE``), then fails closed. What the view
  holds always counts (:meth:`LocalView.peek`): a Redis that came back empty un-revokes
  nothing. On any error the thread drops the link and starts again (subscribe, load, ping),
  backing off up to a second.

Memory: sessions and tokens (``sid:`` and ``jti:`` keys, a 128-bit digest in hex) are held as
64-bit fingerprints, the digest's first 64 bits, in a sorted ``array('Q')`` with a parallel
``array('I')`` of expiries in whole seconds and a small bucket table (about 13 bytes a
revocation), plus a dictionary of the changes since the last merge. A key's first check is a
dictionary look-up and a bisection within one bucket (a few probes); its answer is remembered
(a few thousand keys), so a check of a key seen lately is one dictionary look-up, as it was
when the view was a dictionary of every entry. Two different sessions with one fingerprint may
make the second's token refused, never a revoked one accepted; with ``n`` revocations the
chance that a given valid session is refused is ``n / 2**64`` (5e-14 at a million). Other keys
(a user's cut-off, whose value is a time) stay in a plain dictionary.

Entries expire locally at their TTL (counted from when they reach the process and rounded
up to the second in the sorted table, so never earlier than in Redis). Entries are never
removed otherwise: deleting a key in Redis by hand does not un-revoke anything in a running
process. A ``fork`` (gunicorn ``--preload``) leaves the child with no thread: its view starts
again at its first check.

No Django here: the store hands in the URL and the names.
"""

from __future__ import annotations

import binascii
import contextlib
import heapq
import logging
import math
import operator
import os
import re
import sys
import threading
import time
import weakref
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Sequence
from itertools import compress, repeat
from typing import Any

from django_nextauth_jwt.state import topology

__all__ = ["HEARTBEAT", "STALE_AFTER", "LocalView", "fingerprint"]

logger = logging.getLogger(__name__)

#: Seconds between pings on the subscription.
HEARTBEAT = 0.1
#: A view not heard from for this long is not used (checks read Redis instead).
STALE_AFTER = 0.5
#: Not heard from for this long: the link is dropped and made again (subscribe, load).
RELINK_AFTER = 2.0
#: Longest wait between two attempts to link up again.
MAX_BACKOFF = 1.0
#: Index entries read per ``ZREVRANGE`` (or ``ZSCAN``) call while loading.
LOAD_BATCH = 10000
#: Each ``ZREVRANGE`` page reads this many members of the previous one again (see
#: :meth:`LocalView._scan_by_rank`).
LOAD_OVERLAP = 256
#: The view's own socket timeouts (its thread is never on a request's path).
VIEW_TIMEOUT = 1.0
#: Recent changes merged into the sorted table once this many (or :data:`MERGE_EVERY` s old).
RECENT_MAX = 4096
MERGE_EVERY = 60.0
#: Expired fingerprints are filtered out of the sorted table at most this often.
FILTER_EVERY = 300.0

_EXPIRY_MAX = 2**32 - 1
#: Keys held as fingerprints: a session's or a token's, a 128-bit digest in lower-case hex (as
#: text on the read path, as bytes from the index while loading: the same pattern).
_FINGERPRINTED = re.compile(r"(?:sid|jti):[0-9a-f]{32}\Z").match
_KIND_BYTES = (b"sid:", b"jti:")
_HEX = b"0123456789abcdef"
#: The answers for the keys checked lately: most requests come from a session seen moments
#: ago, and a remembered answer costs a check one dictionary look-up, as the former view of a
#: dictionary of every entry did. Bounded, emptied when full.
_MEMO_MAX = 4096
#: A remembered answer for a key the view does not hold: no value, never in force.
_ABSENT: tuple[int | None, float] = (None, -math.inf)

_views: weakref.WeakSet[LocalView] = weakref.WeakSet()


def _is_fingerprinted(member: bytes) -> bool:
    """``_FINGERPRINTED`` for an index member (bytes), without a regular expression."""
    return len(member) == 36 and member[:4] in _KIND_BYTES and not member[4:].translate(None, _HEX)


def _connection(pool: Any) -> Any:
    try:
        return pool.get_connection()
    except TypeError:  # redis-py before 5.3 names the command
        return pool.get_connection("ZSCAN")


def fingerprint(key: str) -> int | None:
    """The 64-bit fingerprint of a session or token key (``sid:``/``jti:`` and 32 hex digits).

    ``None`` for any other key (kept by name). Loading, messages and checks all map a key
    this way, so a key and its fingerprint never disagree.
    """
    if _FINGERPRINTED(key) is None:  # measured cheaper than str.strip or bytes.translate
        return None
    return int(key[4:20], 16)


class _Sorted:
    """Fingerprints sorted, their expiries (whole seconds after the view's epoch), and buckets.

    Never changed once built: a merge builds another and swaps it in whole. Built without a
    Python-level loop per fingerprint (``map`` over C functions), so that a merge into a table
    of a million holds the GIL for milliseconds, not a fraction of a second.
    """

    __slots__ = ("expiries", "fps", "shift", "starts")

    def __init__(self, fps: array[int], expiries: array[int]) -> None:
        self.fps = fps
        self.expiries = expiries
        n = len(fps)
        # About eight fingerprints a bucket: a check bisects a handful, not the whole table.
        bits = max(1, min(24, n.bit_length() - 3))
        self.shift = 64 - bits
        starts = array("I", map(bisect_left, repeat(fps), range(0, 1 << 64, 1 << self.shift)))
        starts.append(n)
        self.starts = starts

    def expiry(self, fp: int) -> int:
        """The expiry of ``fp`` (seconds after the epoch), 0 when absent."""
        bucket = fp >> self.shift
        hi = self.starts[bucket + 1]
        i = bisect_left(self.fps, fp, self.starts[bucket], hi)
        if i < hi and self.fps[i] == fp:
            return int(self.expiries[i])
        return 0

    def nbytes(self) -> int:
        """The memory its arrays take."""
        arrays = (self.fps, self.expiries, self.starts)
        return sum(a.itemsize * len(a) for a in arrays)


def _from_packed(packed: list[int]) -> _Sorted:
    """A table from ``fp << 32 | expiry`` values sorted ascending (the last expiry of a fp wins)."""
    fps: array[int] = array("Q", map(operator.rshift, packed, repeat(32)))
    expiries: array[int] = array("I", map(operator.and_, packed, repeat(_EXPIRY_MAX)))
    if len(fps) < 2 or True not in map(operator.eq, fps[1:], fps[:-1]):
        return _Sorted(fps, expiries)
    # A fingerprint twice (a ZSCAN page seen twice, an entry extended during the load, two
    # keys with one fingerprint): keep one, with the later expiry.
    fps, expiries = array("Q"), array("I")
    last = -1
    for item in packed:
        fp = item >> 32
        if fp == last:
            expiries[-1] = item & _EXPIRY_MAX  # sorted: a later item has the later expiry
        else:
            fps.append(fp)
            expiries.append(item & _EXPIRY_MAX)
            last = fp
    return _Sorted(fps, expiries)


def _merged(table: _Sorted, items: Iterable[tuple[int, int]], after: int) -> _Sorted:
    """``table`` with ``items`` (sorted ``(fp, expiry)``) merged in, the larger expiry winning.

    With ``after`` > 0, entries expiring at or before it are dropped first (``compress`` over
    the table, in C); the table is then copied in slices between the new items (``memcpy``).
    """
    fps, expiries = table.fps, table.expiries
    if after > 0:
        kept = list(map(operator.lt, repeat(after), expiries))
        fps = array("Q", compress(fps, kept))
        expiries = array("I", compress(expiries, kept))
        del kept
    new_fps: array[int] = array("Q")
    new_exp: array[int] = array("I")
    raw_fps = memoryview(fps).cast("B")
    raw_exp = memoryview(expiries).cast("B")
    fsize, esize = fps.itemsize, expiries.itemsize
    start, n = 0, len(fps)
    for fp, given in items:
        i = bisect_left(fps, fp, start)
        new_fps.frombytes(raw_fps[start * fsize : i * fsize])
        new_exp.frombytes(raw_exp[start * esize : i * esize])
        expiry = given
        if i < n and fps[i] == fp:
            expiry = max(given, expiries[i])
            i += 1
        new_fps.append(fp)
        new_exp.append(expiry)
        start = i
    new_fps.frombytes(raw_fps[start * fsize :])
    new_exp.frombytes(raw_exp[start * esize :])
    return _Sorted(new_fps, new_exp)


def _ranked(reply: list[Any]) -> tuple[list[bytes], list[float]]:
    """The members and scores of a ``WITHSCORES`` reply: flat (RESP2) or in pairs (RESP3)."""
    if reply and isinstance(reply[0], list):
        return list(map(_FIRST, reply)), list(map(float, map(_SECOND, reply)))
    return reply[0::2], list(map(float, reply[1::2]))


_FIRST = operator.itemgetter(0)
_SECOND = operator.itemgetter(1)
_PREFIX = operator.itemgetter(slice(0, 4))
_DIGITS = operator.itemgetter(slice(4, 36))


def _page_fingerprints(members: list[bytes]) -> array[int] | None:
    """The fingerprints of a page of index members, or ``None`` unless all are digest keys.

    The same test as :func:`_is_fingerprinted` for the whole page at once (lengths, prefixes
    and hex digits checked over the page, in C); the first 8 bytes of each digest, big-endian.
    """
    if set(map(len, members)) != {36} or not set(map(_PREFIX, members)) <= set(_KIND_BYTES):
        return None
    digits = b"".join(map(_DIGITS, members))
    if digits.translate(None, _HEX):
        return None
    halves: array[int] = array("Q", binascii.unhexlify(digits))
    fps = halves[0::2]  # each digest is two 8-byte halves: the first is the fingerprint
    if sys.byteorder == "little":
        fps.byteswap()
    return fps


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
        #: The zero of the sorted table's expiries (this process's monotonic clock).
        self._epoch = time.monotonic()
        self._sorted = _Sorted(array("Q"), array("I"))
        #: Fingerprint -> expiry (monotonic), written since the last merge.
        self._recent: dict[int, float] = {}
        self._merged_at = self._filtered_at = self._epoch
        #: Key -> (value or ``None``, expiry on the monotonic clock): what a check answered,
        #: dropped by every write of that key (see :meth:`_resolve`).
        self._memo: dict[str, tuple[int | None, float]] = {}
        #: Counts the writes (under the write lock): a check that raced one remembers nothing.
        self._generation = 0
        #: Other keys (a user's cut-off) -> (value, expiry on the monotonic clock).
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
        #: When the view was last known to hold every write (live and heard from).
        self.fresh = float("-inf")
        self._relinked = False
        self.links = 0  # how many times the view went live (tests, diagnostics)

    # -- the read path ----------------------------------------------------------------

    def get_many(self, keys: Sequence[str]) -> list[int | None] | None:
        """The values of ``keys``, or ``None`` when the view cannot be trusted right now."""
        now = time.monotonic()
        if not self.live or now - self.heard > STALE_AFTER:
            self.start()
            return None
        # _lookup, inline: every request comes here. A remembered answer is one dictionary
        # look-up, the cost of the former view's dictionary of every entry.
        memo = self._memo
        found: list[int | None] = []
        for key in keys:
            entry = memo.get(key)
            if entry is None:
                entry = self._resolve(key)
            found.append(entry[0] if entry[1] > now else None)
        return found

    def held(self, keys: Sequence[str], grace: float) -> list[int | None] | None:
        """What the view holds for ``keys`` if it was complete within ``grace`` s, else ``None``.

        For a caller that could not read Redis either: a view that was live moments ago
        misses at most what was written since, and nothing can be written while Redis is away.
        """
        now = time.monotonic()
        if grace <= 0 or now - self.fresh > grace:
            return None
        return self._lookup(keys, now)

    def peek(self, keys: Sequence[str]) -> list[int | None]:
        """What the view holds for ``keys``, live or not (a revocation is never unlearned)."""
        return self._lookup(keys, time.monotonic())

    def _lookup(self, keys: Sequence[str], now: float) -> list[int | None]:
        memo = self._memo
        found: list[int | None] = []
        for key in keys:
            entry = memo.get(key)
            if entry is None:
                entry = self._resolve(key)
            found.append(entry[0] if entry[1] > now else None)
        return found

    def _resolve(self, key: str) -> tuple[int | None, float]:
        """What the view holds for ``key`` as ``(value, expiry)``, remembered for the next check.

        A remembered answer is never staler than the view: every write of ``key`` drops it
        (:meth:`_forget`), after the write, and a write that came in while this one was being
        worked out (the generation moved) drops what this check remembers. Table merges move
        entries without changing them and need not. A key sharing its fingerprint with one
        revoked later may keep a remembered "absent" (it is not revoked itself); a revoked key
        is never answered absent.
        """
        generation = self._generation
        fp = fingerprint(key)
        if fp is None:  # a key held by name (a user's cut-off)
            entry = self.entries.get(key) or _ABSENT
        else:
            # The recent changes first, then the table: a merge swaps the table in before it
            # empties the recent changes, so a reader in between sees the entry either way.
            expires = self._recent.get(fp, -math.inf)
            at = self._sorted.expiry(fp)
            if at and self._epoch + at > expires:
                expires = self._epoch + at
            entry = _ABSENT if expires == -math.inf else (1, expires)
        memo = self._memo
        if len(memo) >= _MEMO_MAX:
            memo.clear()
        memo[key] = entry
        if self._generation != generation:
            memo.pop(key, None)
        return entry

    def _forget(self, key: str | None) -> None:
        """After a write (under the write lock): checks forget ``key`` (``None``: every key)."""
        self._generation += 1
        if key is None:
            self._memo.clear()
        else:
            self._memo.pop(key, None)

    def is_live(self) -> bool:
        """Whether checks are answered from the view at this moment."""
        return self.live and time.monotonic() - self.heard <= STALE_AFTER

    def __len__(self) -> int:
        """Entries held, expired ones not yet dropped among them (tests, diagnostics)."""
        return len(self._sorted.fps) + len(self._recent) + len(self.entries)

    def nbytes(self) -> int:
        """Roughly the memory the fingerprints take (the sorted table; recent changes aside)."""
        return self._sorted.nbytes()

    # -- writes -----------------------------------------------------------------------

    def apply(self, key: str, value: int, ttl_ms: int) -> None:
        """Merge one entry: the larger value and the later expiry win."""
        expires = time.monotonic() + ttl_ms / 1000
        fp = fingerprint(key)
        with self._write_lock:
            try:
                if fp is not None:
                    if self._held(fp) >= expires:
                        return
                    self._recent[fp] = expires
                else:
                    current = self.entries.get(key)
                    if current is not None:
                        if current[0] >= value and current[1] >= expires:
                            return
                        value, expires = max(value, current[0]), max(expires, current[1])
                    self.entries[key] = (value, expires)
                    heapq.heappush(self._expiries, (expires, key))
            finally:
                # Even when nothing changed: a check may remember this key as absent from
                # before another key with its fingerprint was revoked.
                self._forget(key)
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
        self.merge()

    def merge(self, *, force: bool = False) -> None:
        """Fold the recent changes into the sorted table (when many or old enough, or forced).

        Expired fingerprints are dropped in the same pass at most every :data:`FILTER_EVERY`
        seconds. Runs on the subscriber thread; checks go on meanwhile against the old table.
        """
        now = time.monotonic()
        recent = self._recent
        due = len(recent) >= RECENT_MAX or (recent and now - self._merged_at >= MERGE_EVERY)
        filtering = now - self._filtered_at >= FILTER_EVERY and len(self._sorted.fps) > 0
        if not (force or due or filtering):
            return
        with self._write_lock:
            snapshot = dict(recent)
        items = sorted((fp, self._rel(expires)) for fp, expires in snapshot.items())
        after = math.floor(now - self._epoch) if filtering else 0
        self._sorted = _merged(self._sorted, items, after)
        with self._write_lock:
            for fp, expires in snapshot.items():
                if recent.get(fp) == expires:  # not raised since the snapshot
                    del recent[fp]
        self._merged_at = now
        if filtering:
            self._filtered_at = now

    def _in_table(self, fp: int) -> float:
        found = self._sorted.expiry(fp)
        return self._epoch + found if found else -math.inf

    def _rel(self, expires: float) -> int:
        """An expiry on the monotonic clock as whole seconds after the epoch, rounded up."""
        return min(_EXPIRY_MAX, max(1, math.ceil(expires - self._epoch)))

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

    def _topology(self) -> topology.Topology:
        return topology.parse(self.url)

    def _client(self) -> Any:
        # No retry: redis-py would otherwise reconnect and resubscribe silently, and the
        # writes made while the link was down would never reach the view. On a Cluster, a
        # client of the primary that serves the deny-list's slot.
        return self._topology().node_client(VIEW_TIMEOUT, self.index)

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
        sharded = self._topology().sharded
        # On a Cluster, sharded pub/sub: the channel's slot is the deny-list's, so messages
        # come from the node that ran the writes, in order with its answers.
        confirmed, published = ("ssubscribe", "smessage") if sharded else ("subscribe", "message")
        if sharded:
            pubsub.ssubscribe(self.channel)
        else:
            pubsub.subscribe(self.channel)
        pubsub.connection.register_connect_callback(self._on_reconnect)
        deadline = time.monotonic() + RELINK_AFTER
        while True:  # the subscription is in force once Redis confirms it
            message = pubsub.get_message(timeout=0.1)
            if message is not None and message["type"] == confirmed:
                break
            if message is not None and message["type"] == published:
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
        """Read the index a page at a time; fingerprints go straight into a new sorted table.

        By rank (:meth:`_scan_by_rank`), else, when the index moved under that in a way it
        cannot follow, with ``ZSCAN`` from the start (:meth:`_scan`).

        A session's or a token's entry is held on the index's word (its score is its expiry;
        its value is always taken as 1); other entries (a user's cut-off) are read with
        ``MGET`` for their value. No dictionary of a million entries is built on the way, the
        next page is asked for before this one is read (Redis scans while Python parses), and a
        page is parsed by C functions mapped over it, not by a Python loop per entry.
        """
        packed: list[int] = []
        known = len(self) > 0  # a reload: tell only of what is new
        seconds, micros = client.time()
        now_ms = int(seconds) * 1000 + int(micros) // 1000
        # Whole seconds after the epoch, rounded up (never earlier than in Redis).
        base = time.monotonic() - self._epoch + 1 - now_ms / 1000
        named: list[tuple[str, int]] = []
        state: dict[str, Any] = {"now_ms": now_ms, "base": base, "known": known}
        pool = client.connection_pool
        connection = _connection(pool)
        try:
            if not self._by_rank(connection, packed, named, state):
                packed.clear()
                named.clear()
                self._scan(connection, packed, named, state)
        except BaseException:
            connection.disconnect()  # a reply half read must not go back to the pool
            raise
        finally:
            pool.release(connection)
        for first in range(0, len(named), LOAD_BATCH):
            batch = named[first : first + LOAD_BATCH]
            values = client.mget([self.entry_prefix + key for key, _ in batch])
            for (key, expires_ms), value in zip(batch, values, strict=True):
                if value is not None:  # gone since: it expired
                    self.apply(key, int(value), expires_ms - now_ms)
        self._install(packed)

    def _by_rank(
        self,
        connection: Any,
        packed: list[int],
        named: list[tuple[str, int]],
        state: dict[str, Any],
    ) -> bool:
        """:meth:`_scan_by_rank`, or ``False`` when Redis refuses ``ZREVRANGE`` (an ACL).

        An error reply is read in place of a page, before the next page is asked for: the
        connection has nothing pending and goes on with ``ZSCAN``.
        """
        from redis.exceptions import ResponseError

        try:
            return self._scan_by_rank(connection, packed, named, state)
        except ResponseError as exc:
            logger.warning("deny-list view: ZREVRANGE refused (%s), loading with ZSCAN", exc)
            return False

    def _scan_by_rank(
        self,
        connection: Any,
        packed: list[int],
        named: list[tuple[str, int]],
        state: dict[str, Any],
    ) -> bool:
        """Read the index by rank, latest expiry first (``ZREVRANGE``); whether it held still.

        Cheaper for Redis than ``ZSCAN`` (which formats each score into a new object: about
        three times the CPU on Redis 7.0). Ranks from the top do not move when expired members
        are trimmed (they are at the bottom) and only grow when one is added or extended (read
        again, harmless; the write itself comes through pub/sub). Each page starts
        :data:`LOAD_OVERLAP` ranks before the previous one ended and must hold that page's
        last member with its score: then the page goes on exactly from where the last one
        stopped, whatever moved above it. When it does not (the member was extended, or more
        members removed above it than the overlap: a hand edit), ``False``: the caller scans
        again with ``ZSCAN``. Stops at the first expired member (all below it are expired).
        """
        batch = max(LOAD_BATCH, 2 * LOAD_OVERLAP)
        step = batch - LOAD_OVERLAP
        now_ms = state["now_ms"]
        start = 0
        anchor: tuple[bytes, float] | None = None
        connection.send_command("ZREVRANGE", self.index, 0, batch - 1, "WITHSCORES")
        while True:
            members, scores = _ranked(connection.read_response())
            full = len(members) == batch
            if full:  # ask for the next page before this one is parsed
                start += step
                connection.send_command(
                    "ZREVRANGE", self.index, start, start + batch - 1, "WITHSCORES"
                )
            last = (members[-1], scores[-1]) if members else None
            if anchor is not None:
                try:
                    at = members.index(anchor[0])
                except ValueError:
                    at = -1
                if at < 0 or scores[at] != anchor[1]:
                    if full:
                        connection.read_response()
                    return False
                members, scores = members[at + 1 :], scores[at + 1 :]
            self._load_page(members, scores, packed=packed, named=named, **state)
            if not full or last is None:
                return True
            if last[1] <= now_ms:  # the rest is expired
                connection.read_response()
                return True
            anchor = last

    def _scan(
        self,
        connection: Any,
        packed: list[int],
        named: list[tuple[str, int]],
        state: dict[str, Any],
    ) -> None:
        """Read the index with ``ZSCAN`` (every member present throughout is returned)."""
        connection.send_command("ZSCAN", self.index, 0, "COUNT", LOAD_BATCH)
        while True:
            cursor, flat = connection.read_response()
            more = int(cursor) != 0
            if more:
                connection.send_command("ZSCAN", self.index, cursor, "COUNT", LOAD_BATCH)
            scores = list(map(float, flat[1::2]))
            self._load_page(flat[0::2], scores, packed=packed, named=named, **state)
            if not more:
                return

    def _load_page(  # noqa: PLR0913 - the load's state, passed down once a page
        self,
        members: list[bytes],
        scores: list[float],
        *,
        now_ms: int,
        base: float,
        packed: list[int],
        named: list[tuple[str, int]],
        known: bool,
    ) -> None:
        """One ``ZSCAN`` page: fingerprints packed with their expiries, other keys named."""
        if scores and min(scores) <= now_ms:  # expired members (not yet trimmed): left out
            live = list(map(operator.lt, repeat(now_ms), scores))
            members, scores = list(compress(members, live)), list(compress(scores, live))
        if not members:
            return
        fps = _page_fingerprints(members)
        if fps is None:  # keys by name in this page: one member at a time
            for member, score in zip(members, scores, strict=True):
                if _is_fingerprinted(member):
                    self._load_page(
                        [member],
                        [score],
                        now_ms=now_ms,
                        base=base,
                        packed=packed,
                        named=named,
                        known=known,
                    )
                else:
                    named.append((member.decode("ascii"), int(score)))
            return
        # Whole seconds after the epoch, rounded up (never earlier than in Redis).
        expiries = list(map(int, map(base.__add__, map(operator.truediv, scores, repeat(1000)))))
        if max(expiries) > _EXPIRY_MAX:
            expiries = [min(expiry, _EXPIRY_MAX) for expiry in expiries]
        notify = self.on_change
        if notify is not None:
            if not known:
                for key in map(bytes.decode, members):
                    notify(key)
            else:
                epoch = self._epoch
                for member, fp, expiry in zip(members, fps, expiries, strict=True):
                    if self._held(fp) < epoch + expiry:
                        notify(member.decode("ascii"))
        packed.extend(map(operator.or_, map(operator.lshift, fps, repeat(32)), expiries))

    def _install(self, packed: list[int]) -> None:
        """Make the loaded ``fp << 32 | expiry`` values the table (with what was held)."""
        if packed:
            packed.sort()
            loaded = _from_packed(packed)
            del packed
            held = self._sorted
            if len(held.fps):  # a reload keeps what was held: merge the smaller into the larger
                small, large = sorted((held, loaded), key=lambda t: len(t.fps))
                loaded = _merged(large, zip(small.fps, small.expiries, strict=True), 0)
            with self._write_lock:
                self._sorted = loaded
                self._forget(None)  # checks may remember keys as absent that the load brought

    def _held(self, fp: int) -> float:
        return max(self._recent.get(fp, -math.inf), self._in_table(fp))

    def _listen(self, pubsub: Any) -> None:
        linked = pinged = pruned = time.monotonic()
        while not self._stop.is_set():
            message = pubsub.get_message(timeout=HEARTBEAT)
            if self._relinked:
                raise _Relinked()
            now = time.monotonic()
            if message is not None:
                kind = message["type"]
                if kind in ("message", "smessage"):
                    self._receive(message["data"])
                elif kind == "pong" and not self.live:
                    self.live = True  # everything published before the load's ping is applied
                    self.links += 1
                    if self.links > 1:
                        logger.warning("deny-list view: Redis is back, checks are local again")
                elif kind == "sunsubscribe":
                    # The slot moved (a Cluster failover): the writes go elsewhere now.
                    raise _Relinked()
                self.heard = now
                if self.live:
                    self.fresh = now
            if now - max(self.heard, linked) > RELINK_AFTER:
                raise TimeoutError("Redis did not answer on the subscription")
            if now - pinged >= HEARTBEAT:
                pubsub.ping()
                pinged = now
            if now - pruned >= 1.0 or len(self._recent) >= RECENT_MAX:
                self.prune()
                pruned = now


def _after_fork_in_child() -> None:
    # Threads do not survive a fork: the child starts its own at its first check.
    for view in list(_views):
        view._reset_runtime()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
