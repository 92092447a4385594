"""The edges of the state store and the deny-list's local view, each pinned exactly.

What mutation testing (``make mutate``) showed no test observed in ``store`` and
``localview``: expiry at the exact moment, the expiry heaps' rebuild, a counter's seconds
left, the Redis counter's transaction, the view's heartbeat, trust boundary, malformed
messages, reconnects, its load (against a scripted Redis) and a fork. Each test names the
behaviour it pins. Keys in the shared Redis stay under the test's own prefix
(``redis_prefix``) and are deleted afterwards; command counts come from a private
redis-server.
"""

from __future__ import annotations

import logging
import os
import shutil
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from django_nextauth_jwt.state import localview, store
from tests.conftest import REDIS_URL, require
from tests.fake_clock import Clock
from tests.polling import BOUND, wait_for
from tests.redis_topology import commands
from tests.servers import free_port

# --------------------------------------------------------------------------- #
# The embedded store, on a fake clock
# --------------------------------------------------------------------------- #


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr("django_nextauth_jwt.state.store.time.monotonic", fake)
    return fake


def test_a_revocation_is_gone_exactly_at_its_expiry(clock: Clock) -> None:
    memory = store.MemoryStore()
    memory.put_max("k", 1, 10)
    clock.now = 1009.5
    assert memory.get_many(["k"]) == [1]
    clock.now = 1010.0
    assert memory.get_many(["k"]) == [None]


def test_an_entry_expiring_now_makes_room_at_the_cap(clock: Clock) -> None:
    memory = store.MemoryStore(max_revocations=1)
    memory.put_max("old", 1, 10)
    clock.now = 1010.0
    memory.put_max("new", 1, 10)  # no StoreFull: "old" expires at this very moment
    assert len(memory) == 1


def test_the_expiry_heap_is_rebuilt_once_stale_items_dominate(clock: Clock) -> None:
    # Every raise of one entry leaves a heap item behind; past 4 x max(entries, 1024)
    # items the heap is rebuilt from the table.
    memory = store.MemoryStore()
    for value in range(1, 4097):
        memory.put_max("k", value, 100)
    assert len(memory._revocations.expiries) == 4096
    memory.put_max("k", 4097, 100)
    assert len(memory._revocations.expiries) == 1
    assert memory.get_many(["k"]) == [4097]


def test_the_embedded_store_holds_100000_revocations_and_100000_counters(clock: Clock) -> None:
    memory = store.MemoryStore()
    for i in range(100_000):
        memory.put_max(f"r{i}", 1, 100)
        memory.incr(f"c{i}", 100)
    with pytest.raises(store.StoreFull):
        memory.put_max("one-more", 1, 100)
    with pytest.raises(store.StoreFull):
        memory.incr("one-more", 100)


def test_a_counters_seconds_left_round_up(clock: Clock) -> None:
    memory = store.MemoryStore()
    assert memory.incr("c", 60) == (1, 60)
    clock.now = 1059.5
    assert memory.incr("c", 60) == (2, 1)


# --------------------------------------------------------------------------- #
# RedisStore
# --------------------------------------------------------------------------- #


def test_a_one_second_redis_revocation_lasts_one_second(redis_store: str, settings: Any) -> None:
    import redis

    held = store.current()
    assert isinstance(held, store.RedisStore)
    held.put_max("short", 1, 1)
    client = redis.Redis.from_url(redis_store)
    try:
        left = client.pttl(f"{settings.NEXTAUTH_REDIS_KEY_PREFIX}rv:short")
    finally:
        client.close()
    assert 0 < left <= 1000


def test_a_one_second_redis_counter_reports_one_second(redis_store: str) -> None:
    redis_backend = store.current()
    assert isinstance(redis_backend, store.RedisStore)
    assert redis_backend.incr("c", 1) == (1, 1)


def test_switching_the_local_view_keeps_the_store_of_the_same_url_and_prefix(
    settings: Any, redis_store: str
) -> None:
    # Only another URL or prefix closes the stores held: the same Redis with the view switched
    # off and on again is the same store, its view untouched.
    with_view = store.current()
    assert isinstance(with_view, store.RedisStore)
    assert with_view.view is not None
    settings.NEXTAUTH_REDIS_LOCAL_VIEW = False
    without = store.current()
    assert isinstance(without, store.RedisStore)
    assert without is not with_view
    assert without.view is None
    settings.NEXTAUTH_REDIS_LOCAL_VIEW = True
    assert store.current() is with_view
    settings.NEXTAUTH_REDIS_KEY_PREFIX += "other:"
    moved = store.current()
    assert moved is not with_view
    assert store.current() is moved


@pytest.mark.parametrize("url", ["redis:/127.0.0.1:6379", "rediss:/127.0.0.1", "unix:/tmp/r.sock"])
def test_a_redis_url_needs_its_scheme_and_both_slashes(settings: Any, url: str) -> None:
    settings.NEXTAUTH_REDIS_URL = url
    with pytest.raises(ImproperlyConfigured, match="E038"):
        store.current()


def test_a_redis_store_has_its_local_view_unless_told_otherwise(redis_prefix: str) -> None:
    with_view = store.RedisStore(REDIS_URL, f"{redis_prefix}:")
    without = store.RedisStore(REDIS_URL, f"{redis_prefix}:", local_view=False)
    try:
        assert with_view.view is not None
        assert without.view is None
    finally:
        with_view.close()
        without.close()


def test_a_redis_store_times_out_in_tens_of_ms_and_retries_only_a_dropped_connection(
    redis_prefix: str,
) -> None:
    # What keeps an unreachable store from holding every request: short timeouts, one
    # immediate retry of a connection a restart dropped (not redis-py's default backoff of
    # several seconds), never a retry of a timeout (a frozen Redis costs one timeout).
    from redis.backoff import NoBackoff
    from redis.exceptions import ConnectionError as RedisConnectionError

    redis_backend = store.RedisStore(REDIS_URL, f"{redis_prefix}:", local_view=False)
    try:
        settings_used = redis_backend.client.connection_pool.connection_kwargs
        assert settings_used["socket_connect_timeout"] == store.DEFAULT_TIMEOUT == 0.05
        assert settings_used["socket_timeout"] == 0.05
        assert settings_used["health_check_interval"] == 30
        retry = redis_backend.client.get_retry()
        assert retry.get_retries() == 1
        assert isinstance(retry._backoff, NoBackoff)
        assert retry._supported_errors == (RedisConnectionError,)
    finally:
        redis_backend.close()


def test_without_redis_py_a_redis_url_is_improperly_configured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)  # import redis fails
    with pytest.raises(ImproperlyConfigured) as refused:
        store.RedisStore("redis://127.0.0.1:6379/0", "p:")
    assert str(refused.value) == (
        "NEXTAUTH_REDIS_URL needs redis-py: pip install django-nextauth-jwt[redis]"
    )


def test_what_the_view_holds_counts_when_it_is_not_live(redis_prefix: str) -> None:
    # Redis restarted and rewritten with an older cut-off, the view not live: the larger wins.
    redis_backend = store.RedisStore(REDIS_URL, f"{redis_prefix}:")
    try:
        assert redis_backend.view is not None
        redis_backend.view.stop()
        redis_backend.view.apply("user:7", 200, 60_000)
        redis_backend.view.apply("user:8", 100, 60_000)
        redis_backend.client.set(f"{redis_prefix}:rv:user:7", 100, ex=60)
        redis_backend.client.set(f"{redis_prefix}:rv:user:8", 300, ex=60)
        redis_backend.client.set(f"{redis_prefix}:rv:user:9", 50, ex=60)
        found = redis_backend.get_many(["user:7", "user:8", "user:9", "user:10"])
        assert found == [200, 300, 50, None]
    finally:
        redis_backend.close()


@pytest.fixture
def private_redis() -> Iterator[str]:
    """A redis-server of this test's own: its command counts are the test's alone."""
    require(shutil.which("redis-server") is not None, "redis-server is needed")
    from tests.test_local_view import redis_server

    port = free_port()
    with redis_server(port):
        yield f"redis://127.0.0.1:{port}/0"


def test_a_redis_counter_is_created_counted_and_timed_in_one_transaction(
    private_redis: str,
) -> None:
    redis_backend = store.RedisStore(private_redis, "p:", local_view=False)
    try:
        assert redis_backend.incr("c", 60) == (1, 60)
    finally:
        redis_backend.close()
    calls = commands(private_redis)
    assert (calls.get("multi"), calls.get("exec")) == (1, 1)


def test_a_live_view_pings_redis_once_per_heartbeat(private_redis: str) -> None:
    view = localview.LocalView(private_redis, entry_prefix="p:rv:", index="p:rv", channel="p:rv")
    try:
        assert view.wait_live(BOUND)
        before = commands(private_redis).get("ping", 0)
        time.sleep(0.5)
        pings = commands(private_redis).get("ping", 0) - before
    finally:
        view.stop()
    # About five in half a second; a ping on every pass would be hundreds.
    assert 1 <= pings <= 5 * 3


# --------------------------------------------------------------------------- #
# LocalView on its own: a fake clock, no thread
# --------------------------------------------------------------------------- #


@pytest.fixture
def view_clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr("django_nextauth_jwt.state.localview.time.monotonic", fake)
    return fake


@pytest.fixture
def idle_view(view_clock: Clock) -> localview.LocalView:
    """A view whose thread never starts, told it is live and heard from now."""
    view = localview.LocalView(
        "redis://127.0.0.1:1/0", entry_prefix="p:rv:", index="p:rv", channel="p:rv"
    )
    view._stop.set()
    view.live, view.heard = True, view_clock.now
    return view


def test_a_view_entry_is_gone_exactly_at_its_expiry(
    idle_view: localview.LocalView, view_clock: Clock
) -> None:
    idle_view.apply("a", 1, 10_000)
    view_clock.now = idle_view.heard = 1009.5
    assert idle_view.peek(["a"]) == idle_view.get_many(["a"]) == [1]
    view_clock.now = idle_view.heard = 1010.0
    assert idle_view.peek(["a"]) == idle_view.get_many(["a"]) == [None]
    idle_view.prune()
    assert idle_view.entries == {}


def test_a_view_heard_from_exactly_stale_after_ago_is_still_trusted(
    idle_view: localview.LocalView, view_clock: Clock
) -> None:
    idle_view.apply("a", 1, 60_000)
    view_clock.now = idle_view.heard + localview.STALE_AFTER
    assert idle_view.is_live()
    assert idle_view.get_many(["a"]) == [1]


def test_pruning_an_entry_raised_twice_with_one_expiry(
    idle_view: localview.LocalView, view_clock: Clock
) -> None:
    idle_view.apply("a", 1, 10_000)
    idle_view.apply("a", 2, 10_000)  # a larger value, the same expiry: two heap items
    view_clock.now = 1011.0
    idle_view.prune()
    assert idle_view.entries == {}


def test_the_view_rebuilds_its_expiry_heap_once_stale_items_dominate(
    idle_view: localview.LocalView,
) -> None:
    for value in range(1, 4097):
        idle_view.apply("k", value, 100_000)
    idle_view.prune()
    assert len(idle_view._expiries) == 4096
    idle_view.apply("k", 4097, 100_000)
    idle_view.prune()
    assert len(idle_view._expiries) == 1
    assert idle_view.get_many(["k"]) == [4097]


@pytest.mark.parametrize("data", [b"a\t1\t1000", b"a  1 1000", b"a 1 1000 ", b"a\n1 1000"])
def test_a_message_not_split_by_single_spaces_is_ignored_and_logged(
    idle_view: localview.LocalView, data: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="django_nextauth_jwt.state.localview"):
        idle_view._receive(data)
    assert idle_view.entries == {}
    assert [r.getMessage() for r in caplog.records] == [
        "deny-list view: ignored a malformed message on p:rv"
    ]


def test_a_reconnect_under_the_view_stops_it_being_trusted(
    idle_view: localview.LocalView,
) -> None:
    idle_view.apply("a", 1, 60_000)
    idle_view._on_reconnect(None)
    assert not idle_view.is_live()
    assert idle_view.get_many(["a"]) is None


class FakeRedis:
    """TIME from a script; ZSCAN pages, asked on one connection, from a script (ZREVRANGE: their
    members ranked by score); MGET from a dictionary. The next page is asked for before the
    current one is read (the view parses one page while Redis scans the next), so a reply is
    only read after its request."""

    def __init__(self, time_: tuple[int, int], pages: dict[int, tuple[int, list[Any]]]) -> None:
        self.time_ = time_
        self.pages = pages
        self.values: dict[str, bytes] = {}
        self.cursors: list[Any] = []
        self.sent: list[Any] = []
        self.released: list[Any] = []
        self.connection_pool = self

    def time(self) -> tuple[int, int]:
        return self.time_

    def get_connection(self) -> FakeRedis:
        return self

    def release(self, connection: Any) -> None:
        self.released.append(connection)

    def send_command(self, *args: Any) -> None:
        if args[0] == "ZREVRANGE":  # by rank, latest expiry first: the pages' members ranked
            self.sent.append((int(args[2]), int(args[3])))
        else:
            assert args[0] == "ZSCAN"
            assert args[3:] == ("COUNT", localview.LOAD_BATCH)
            self.sent.append(int(args[2]))
        if len(self.sent) > 10:
            raise RuntimeError("the scan does not end")

    def read_response(self) -> list[Any]:
        asked = self.sent[len(self.cursors)]
        self.cursors.append(asked)
        if isinstance(asked, tuple):
            ranked = sorted((m for _, ms in self.pages.values() for m in ms), reverse=True)
            chosen = sorted(ranked, key=lambda m: m[1], reverse=True)[asked[0] : asked[1] + 1]
            return [part for member, score in chosen for part in (member, str(score).encode())]
        following, members = self.pages[asked]
        flat = [part for member, score in members for part in (member, str(score).encode())]
        return [str(following).encode(), flat]

    def mget(self, names: list[str]) -> list[bytes | None]:
        return [self.values.get(name) for name in names]


def test_the_load_follows_the_scan_and_keeps_each_entrys_time_left(
    idle_view: localview.LocalView, view_clock: Clock
) -> None:
    now_ms = 1_700_000_000 * 1000 + 2  # TIME: 1,700,000,000 s and 2,001 us
    redis = FakeRedis(
        (1_700_000_000, 2001),
        {
            0: (7, [(b"live", now_ms + 60_000), (b"expired", now_ms), (b"gone", now_ms + 5)]),
            7: (0, [(b"later", now_ms + 1_500)]),
        },
    )
    redis.values = {"p:rv:live": b"1", "p:rv:expired": b"1", "p:rv:later": b"3"}
    idle_view._load(redis)
    assert redis.cursors == [(0, localview.LOAD_BATCH - 1)]  # one page by rank: all of it
    assert redis.released == [redis]  # the connection goes back to the pool
    assert idle_view.entries == {"live": (1, 1060.0), "later": (3, 1001.5)}


@pytest.mark.parametrize(
    "member",
    [
        b"sid:" + b"0123456789abcdef" * 2,
        b"jti:" + b"f" * 32,
        b"sid:" + b"0123456789ABCDEF" * 2,
        b"sid:" + b"0x23456789abcdef" + b"0" * 16,
        b"sid:" + b"a" * 31,
        b"sid:" + b"a" * 32 + b"\n",
        b"user:" + b"a" * 32,
        b"sid=7\x00s",
        b"SID:" + b"a" * 32,
    ],
)
def test_the_load_and_the_checks_agree_on_which_keys_are_fingerprints(member: bytes) -> None:
    # The load tests bytes without a regular expression; checks test text with one.
    assert localview._is_fingerprinted(member) == (
        localview.fingerprint(member.decode("latin-1")) is not None
    )


def test_a_forked_child_starts_with_no_view_thread(idle_view: localview.LocalView) -> None:
    pid = os.fork()
    if pid == 0:  # the child: report through the exit status only
        fresh = not idle_view.live and idle_view._thread is None and idle_view.links == 0
        os._exit(0 if fresh else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert idle_view.live  # the parent's view is untouched


# --------------------------------------------------------------------------- #
# A view on the shared Redis, under this test's own prefix
# --------------------------------------------------------------------------- #


def test_a_view_relinks_and_reloads_after_a_reconnect_and_says_so_once(
    redis_prefix: str, caplog: pytest.LogCaptureFixture
) -> None:
    import redis

    names = {"entry_prefix": f"{redis_prefix}:rv:", "index": f"{redis_prefix}:rv"}
    view = localview.LocalView(
        REDIS_URL, entry_prefix=names["entry_prefix"], index=names["index"], channel=names["index"]
    )
    client = redis.Redis.from_url(REDIS_URL)
    try:
        with caplog.at_level(logging.WARNING, logger="django_nextauth_jwt.state.localview"):
            assert view.wait_live(BOUND)
            time.sleep(1.2)  # heartbeats and a pruning pass: one link, not a word
            assert view.links == 1
            assert caplog.records == []
            # A write the view never heard of (no message): only a reload brings it.
            seconds, micros = client.time()
            expires_ms = seconds * 1000 + micros // 1000 + 60_000
            client.set(f"{redis_prefix}:rv:missed", 5, px=60_000)
            client.zadd(names["index"], {"missed": expires_ms})
            view._on_reconnect(None)  # what redis-py calls when it made the link again
            wait_for(lambda: view.get_many(["missed"]) == [5], "the missed write, reloaded")
            assert view.links == 2
            # The view's thread says so just after it goes live: wait for the word, then
            # check it came once.
            wait_for(lambda: caplog.records, "the view's word that Redis is back")
            time.sleep(0.2)
        assert [r.getMessage() for r in caplog.records] == [
            "deny-list view: Redis is back, checks are local again"
        ]
    finally:
        view.stop()
        client.close()


def test_the_view_runs_in_one_named_daemon_thread(redis_prefix: str) -> None:
    # A daemon: a process never waits on it at exit; named, so a thread dump says what it is.
    names = {"entry_prefix": f"{redis_prefix}:rv:", "index": f"{redis_prefix}:rv"}
    view = localview.LocalView(
        REDIS_URL, entry_prefix=names["entry_prefix"], index=names["index"], channel=names["index"]
    )
    try:
        assert view.live is False
        assert view.heard == float("-inf")
        view.start()
        thread = view._thread
        assert thread is not None
        view.start()  # running already: no second thread
        assert view._thread is thread
        assert thread.daemon
        assert thread.name == f"nextauth-deny-list-view {redis_prefix}:rv"
        assert view.wait_live(BOUND)
    finally:
        view.stop()
    assert view.live is False
    assert not thread.is_alive()


def test_the_views_client_fails_fast_and_never_reconnects_behind_its_back() -> None:
    # redis-py's retry would resubscribe silently: writes made meanwhile would never arrive.
    from redis.backoff import NoBackoff

    view = localview.LocalView(REDIS_URL, entry_prefix="p:rv:", index="p:rv", channel="p:rv")
    client = view._client()
    try:
        used = client.connection_pool.connection_kwargs
        assert used["socket_connect_timeout"] == 1
        assert used["socket_timeout"] == 1
        assert used["health_check_interval"] == 0
        retry = client.get_retry()
        assert retry.get_retries() == 0
        assert isinstance(retry._backoff, NoBackoff)
    finally:
        client.close()


def test_a_live_view_that_loses_redis_says_why(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, redis_prefix: str
) -> None:
    names = {"entry_prefix": f"{redis_prefix}:rv:", "index": f"{redis_prefix}:rv"}
    view = localview.LocalView(
        REDIS_URL, entry_prefix=names["entry_prefix"], index=names["index"], channel=names["index"]
    )
    dropped = []

    def live_then_lost(pubsub: Any) -> None:
        view.live = True  # the link was up...
        dropped.append(pubsub)
        raise ConnectionError("gone")  # ...and Redis went away

    try:
        assert view.wait_live(BOUND)
        monkeypatch.setattr(view, "_listen", live_then_lost)
        with caplog.at_level(logging.WARNING, logger="django_nextauth_jwt.state.localview"):
            view._on_reconnect(None)  # the running link ends; the next one is lost at once
            wait_for(lambda: caplog.records, "the warning")
    finally:
        view.stop()
    assert caplog.records[0].getMessage() == (
        "deny-list view lost Redis (ConnectionError): checks read Redis until it is back"
    )
    assert dropped


def a_view() -> localview.LocalView:
    return localview.LocalView(
        "redis://127.0.0.1:1/0", entry_prefix="p:rv:", index="p:rv", channel="p:rv"
    )


def test_a_stopped_view_is_not_live_even_if_its_thread_never_ran() -> None:
    view = a_view()
    view.live = True
    view.stop()
    assert view.live is False
    view.start()  # stopped for good: no thread
    assert view._thread is None


class FakePubSub:
    def __init__(self, closed: list[str], fail: bool) -> None:
        self.closed, self.fail = closed, fail

    def close(self) -> None:
        self.closed.append("pubsub")
        if self.fail:
            raise ConnectionError("already broken")


class FakeClient:
    def __init__(self, closed: list[str], fail: bool) -> None:
        self.closed, self.fail = closed, fail

    def pubsub(self) -> FakePubSub:
        return FakePubSub(self.closed, self.fail)

    def close(self) -> None:
        self.closed.append("client")
        if self.fail:
            raise ConnectionError("already broken")


@pytest.mark.parametrize("close_fails", [False, True], ids=["clean", "close-fails-too"])
def test_a_failed_link_closes_its_subscription_and_client(
    monkeypatch: pytest.MonkeyPatch, close_fails: bool
) -> None:
    # Every attempt releases its connections, even when closing a broken one fails too.
    view = a_view()
    closed: list[str] = []
    monkeypatch.setattr(view, "_client", lambda: FakeClient(closed, close_fails))

    def link_fails(client: Any, pubsub: Any) -> None:
        view._stop.set()  # one attempt only
        raise ConnectionError("Redis is down")

    monkeypatch.setattr(view, "_link", link_fails)
    view._run()  # returns: nothing escapes the loop
    assert closed == ["pubsub", "client"]
    assert view.live is False


class ScriptedPubSub:
    """A subscription that answers ``get_message`` from a script (then None)."""

    def __init__(self, messages: list[Any]) -> None:
        self.messages = list(messages)
        self.subscribed: list[str] = []
        self.pinged = False
        self.connection = self  # register_connect_callback lives on the connection

    def register_connect_callback(self, callback: Any) -> None:
        self.callback = callback

    def subscribe(self, channel: str) -> None:
        self.subscribed.append(channel)

    def get_message(self, timeout: float) -> Any:
        return self.messages.pop(0) if self.messages else None

    def ping(self) -> None:
        self.pinged = True


def test_a_message_published_before_the_subscription_is_confirmed_is_applied(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    view = a_view()
    received: list[Any] = []
    monkeypatch.setattr(view, "_receive", received.append)
    monkeypatch.setattr(view, "_load", lambda client: None)
    pubsub = ScriptedPubSub(
        [None, {"type": "message", "data": b"1 60000 k"}, {"type": "subscribe", "data": 1}]
    )
    view._link(None, pubsub)
    assert received == [b"1 60000 k"]
    assert pubsub.subscribed == ["p:rv"]
    assert pubsub.callback == view._on_reconnect
    assert pubsub.pinged


def test_a_subscription_never_confirmed_gives_up_just_past_relink_after(
    view_clock: Clock,
) -> None:
    view = a_view()
    start = view_clock.now

    class Silent(ScriptedPubSub):
        def get_message(self, timeout: float) -> Any:
            view_clock.now += localview.RELINK_AFTER / 2  # the deadline exactly, then past it
            return None

    with pytest.raises(TimeoutError, match=r"^no subscription confirmed$"):
        view._link(None, Silent([]))
    assert view_clock.now == start + localview.RELINK_AFTER * 1.5
