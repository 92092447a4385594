"""Pins on the state store that no mutation pass reached: its breaker, its waits, its Cluster path.

The breaker is driven on a fake clock (a failure, the pause, the probe, the recovery); a
store whose Redis cannot be reached shows what a caller sees. What a deny-list write sends
and waits for is read from private redis-servers (command counts, connections, time
waited), the Cluster path from a private Cluster of three primaries without replicas (one
per module: about two seconds). Keys in the shared Redis stay under the test's own prefix
(``redis_prefix``) and are deleted afterwards.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from django.core.exceptions import ImproperlyConfigured

from django_nextauth_jwt.conf import app_settings
from django_nextauth_jwt.state import store
from tests import redis_topology
from tests.conftest import REDIS_URL, require
from tests.fake_clock import Clock
from tests.polling import BOUND, wait_for
from tests.redis_topology import commands
from tests.servers import free_port

BREAKER_OPEN = "Redis failed moments ago: not tried again yet"


@pytest.fixture
def private() -> Iterator[redis_topology.Topology]:
    """One redis-server of this test's own (its counts and connections are the test's)."""
    require(redis_topology.binaries_present(), "redis-server is needed")
    with redis_topology.server() as top:
        yield top


# --------------------------------------------------------------------------- #
# The embedded store and the watchers
# --------------------------------------------------------------------------- #


def test_a_counter_not_to_be_created_answers_zero_and_writes_nothing() -> None:
    memory = store.MemoryStore()
    assert memory.incr("c", 60, create=False) == (0, 60)
    assert len(memory) == 0
    assert memory.counters_fill() == 0.0


def test_a_failing_watcher_is_logged_without_the_key_and_the_write_stands(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(key: str) -> None:
        raise RuntimeError("watcher bug")

    seen: list[str] = []
    unwatch_broken = store.watch_revocations(broken)
    unwatch_seen = store.watch_revocations(seen.append)
    memory = store.MemoryStore()
    try:
        with caplog.at_level(logging.ERROR, logger="django_nextauth_jwt.state.store"):
            memory.put_max("sid:secret-session", 1, 60)
    finally:
        unwatch_broken()
        unwatch_seen()
    assert memory.get_many(["sid:secret-session"]) == [1]
    assert seen == ["sid:secret-session"]  # the next watcher is still told
    assert [r.getMessage() for r in caplog.records] == ["deny-list watcher failed"]
    assert "secret-session" not in caplog.text


def test_a_redis_store_without_a_view_tells_watchers_the_key_written(redis_prefix: str) -> None:
    seen: list[str] = []
    unwatch = store.watch_revocations(seen.append)
    redis_backend = store.RedisStore(REDIS_URL, f"{redis_prefix}:", local_view=False)
    try:
        redis_backend.put_max("user:3", 5, 60)
    finally:
        unwatch()
        redis_backend.close()
    assert seen == ["user:3"]


# --------------------------------------------------------------------------- #
# The breaker, on a fake clock
# --------------------------------------------------------------------------- #


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr("django_nextauth_jwt.state.store.time.monotonic", fake)
    return fake


def down() -> None:
    raise ConnectionError("Redis is down")


def opened(heard: Callable[[], bool] = lambda: False) -> store._Breaker:
    """A breaker whose command failed at 1000.0 (the fake clock's start)."""
    breaker = store._Breaker((ConnectionError,), heard)
    with pytest.raises(ConnectionError):
        breaker.call(down)
    return breaker


def test_after_a_failure_nothing_is_sent_for_one_second_then_one_probe_closes_it(
    clock: Clock,
) -> None:
    breaker = opened()
    sent: list[int] = []
    clock.now = 1000.999
    with pytest.raises(store.StoreUnavailable) as refused:
        breaker.call(sent.append, 1)
    assert str(refused.value) == BREAKER_OPEN
    assert sent == []
    clock.now = 1001.0  # the pause is over at this very moment: the probe goes
    assert breaker.call(lambda: "answer") == "answer"
    breaker.call(sent.append, 2)  # closed: the next one goes at once, at the same moment
    breaker.call(sent.append, 3)
    assert sent == [2, 3]


def test_while_the_probe_is_out_other_commands_fail_at_once(clock: Clock) -> None:
    breaker = opened()
    clock.now = 1001.5
    others: list[str] = []

    def probe() -> str:
        with pytest.raises(store.StoreUnavailable, match=f"^{BREAKER_OPEN}$"):
            breaker.call(others.append, "sent")
        return "probed"

    assert breaker.call(probe) == "probed"
    assert others == []


def test_a_failed_probe_stops_commands_for_another_second(clock: Clock) -> None:
    breaker = opened()
    clock.now = 1001.5
    with pytest.raises(ConnectionError):
        breaker.call(down)
    clock.now = 1002.4
    with pytest.raises(store.StoreUnavailable, match=f"^{BREAKER_OPEN}$"):
        breaker.call(lambda: None)
    clock.now = 1002.5
    assert breaker.call(lambda: 7) == 7


def test_once_closed_again_commands_run_side_by_side(clock: Clock) -> None:
    breaker = opened()
    clock.now = 1001.0
    breaker.call(lambda: None)  # the probe succeeds: closed

    def outer() -> str:
        return str(breaker.call(lambda: "inner"))  # another request meanwhile: not refused

    assert breaker.call(outer) == "inner"


def test_redis_heard_from_by_other_means_lets_a_command_through_in_the_pause(
    clock: Clock,
) -> None:
    heard = [False]
    breaker = opened(lambda: heard[0])
    clock.now = 1000.5
    with pytest.raises(store.StoreUnavailable):
        breaker.call(lambda: None)
    heard[0] = True
    assert breaker.call(lambda: "through") == "through"


# --------------------------------------------------------------------------- #
# RedisStore: what a caller sees when Redis is away
# --------------------------------------------------------------------------- #


def test_an_unreachable_redis_costs_one_error_then_fails_at_once(redis_prefix: str) -> None:
    import redis

    redis_backend = store.RedisStore(
        f"redis://127.0.0.1:{free_port()}/0", f"{redis_prefix}:", local_view=False
    )
    try:
        with pytest.raises(redis.exceptions.ConnectionError):
            redis_backend.get_many(["sid:a"])
        for attempt in (
            lambda: redis_backend.get_many(["sid:a"]),
            lambda: redis_backend.put_max("sid:a", 1, 60),
            lambda: redis_backend.incr("c", 60),
            lambda: redis_backend.decr("c"),
        ):
            with pytest.raises(store.StoreUnavailable) as refused:
                attempt()
            assert str(refused.value) == BREAKER_OPEN
    finally:
        redis_backend.close()


def fail_once(monkeypatch: pytest.MonkeyPatch, redis_backend: store.RedisStore) -> None:
    """One counter command fails as a lost connection does, opening the breaker."""
    import redis

    def lost(name: str, ttl: int) -> Any:
        raise redis.exceptions.ConnectionError("lost")

    monkeypatch.setattr(redis_backend, "_incr_transaction", lost)
    with pytest.raises(redis.exceptions.ConnectionError):
        redis_backend.incr("c", 60)
    monkeypatch.undo()


def test_a_live_view_lets_commands_through_at_once_after_a_failure(
    redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis_backend = store.RedisStore(REDIS_URL, f"{redis_prefix}:")
    try:
        assert redis_backend.view is not None
        assert redis_backend.view.wait_live(BOUND)
        fail_once(monkeypatch, redis_backend)
        assert redis_backend.incr("c", 60) == (1, 60)
    finally:
        redis_backend.close()


def test_with_the_view_not_live_commands_stay_refused_in_the_pause(
    redis_prefix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    redis_backend = store.RedisStore(REDIS_URL, f"{redis_prefix}:")
    try:
        assert redis_backend.view is not None
        redis_backend.view.stop()
        fail_once(monkeypatch, redis_backend)
        with pytest.raises(store.StoreUnavailable, match=f"^{BREAKER_OPEN}$"):
            redis_backend.incr("c", 60)
    finally:
        redis_backend.close()


def test_a_revocation_only_the_view_holds_is_answered_when_it_is_not_live(
    redis_prefix: str,
) -> None:
    redis_backend = store.RedisStore(REDIS_URL, f"{redis_prefix}:")
    try:
        assert redis_backend.view is not None
        redis_backend.view.stop()
        redis_backend.view.apply("user:9", 7, 60_000)  # Redis lost it (a restart)
        assert redis_backend.get_many(["user:9", "user:10"]) == [7, None]
    finally:
        redis_backend.close()


def test_with_redis_gone_the_view_answers_for_the_grace_then_the_error_goes_on(
    private: redis_topology.Topology,
) -> None:
    redis_backend = store.RedisStore(private.url, "p:")
    try:
        view = redis_backend.view
        assert view is not None
        assert view.wait_live(BOUND)
        redis_backend.put_max("user:1", 5, 60)
        private.nodes[0].kill()
        wait_for(lambda: not view.is_live(), "the view no longer trusted")
        assert redis_backend.get_many(["user:1", "user:2"]) == [5, None]
        redis_backend.grace = 0.0
        with pytest.raises(store.StoreUnavailable):
            redis_backend.get_many(["user:1"])
    finally:
        redis_backend.close()


# --------------------------------------------------------------------------- #
# RedisStore: a deny-list write, its replicas and its connections
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("timeout", "wait_ms"), [(0.05, 200), (0.5, 2000), (1.0, 4000), (0.0001, 1)]
)
def test_a_write_waits_for_replicas_four_timeouts_in_whole_ms_at_least_one(
    timeout: float, wait_ms: int
) -> None:
    redis_backend = store.RedisStore(
        "redis://127.0.0.1:1/0", "p:", local_view=False, timeout=timeout, replicas=1
    )
    try:
        assert redis_backend.wait_ms == wait_ms
        # The writer's socket outlasts WAIT: five timeouts.
        written = redis_backend.writer.connection_pool.connection_kwargs
        assert written["socket_timeout"] == pytest.approx(timeout * 5)
        assert redis_backend.writer is not redis_backend.client
    finally:
        redis_backend.close()


def test_without_replicas_writes_share_the_readers_connections_and_timeout() -> None:
    redis_backend = store.RedisStore("redis://127.0.0.1:1/0", "p:", local_view=False)
    try:
        assert redis_backend.replicas == 0
        assert redis_backend.writer is redis_backend.client
        assert redis_backend.writer.connection_pool.connection_kwargs["socket_timeout"] == 0.05
    finally:
        redis_backend.close()


def test_a_deny_list_write_is_one_script_call_outside_any_transaction(
    private: redis_topology.Topology,
) -> None:
    redis_backend = store.RedisStore(private.url, "p:", local_view=False)
    try:
        redis_backend.put_max("sid:a", 1, 60)
    finally:
        redis_backend.close()
    calls = commands(private.url)
    assert "multi" not in calls
    assert "exec" not in calls
    assert calls.get("evalsha", 0) + calls.get("eval", 0) == 1


def test_a_write_no_replica_confirms_waits_four_timeouts_then_says_how_many(
    private: redis_topology.Topology,
) -> None:
    # WAIT 1 1000 on a socket of 1.25 s: room for a busy machine.
    redis_backend = store.RedisStore(private.url, "p:", local_view=False, replicas=1, timeout=0.25)
    try:
        with pytest.raises(store.StoreUnavailable) as refused:
            redis_backend.put_max("sid:a", 3, 60)
        # WAIT 1 1000 ran its course on a socket that outlasts it: Redis's answer, not a timeout.
        assert str(refused.value) == "the deny-list write reached 0 of 1 replicas in time"
        assert redis_backend.get_many(["sid:a"]) == [3]  # kept all the same
        assert commands(private.url).get("wait") == 1
    finally:
        redis_backend.close()


def test_a_write_a_replica_confirms_returns(private: redis_topology.Topology) -> None:
    primary = private.nodes[0].client()
    try:
        primary.config_set("repl-diskless-sync-delay", 0)
    finally:
        primary.close()
    with redis_topology.server(replica_of=private.nodes[0].port) as replica:
        client = replica.nodes[0].client()
        try:
            wait_for(
                lambda: client.info("replication").get("master_link_status") == "up",
                "the replica linked",
            )
        finally:
            client.close()
        primary = private.nodes[0].client()
        try:  # the replica online and acknowledging writes (a first one, waited for)
            wait_for(
                lambda: primary.info("replication").get("slave0", {}).get("state") == "online",
                "the replica online",
            )
            primary.set("warm-up", 1)
            assert primary.execute_command("WAIT", 1, int(BOUND * 1000)) == 1
        finally:
            primary.close()
        redis_backend = store.RedisStore(
            private.url, "p:", local_view=False, replicas=1, timeout=0.2
        )
        try:
            redis_backend.put_max("sid:a", 4, 60)  # no StoreUnavailable: one replica has it
        finally:
            redis_backend.close()


def connections(url: str) -> int:
    """Clients connected to the redis-server at ``url``, the one asking left out."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        return int(client.info("clients")["connected_clients"]) - 1
    finally:
        client.close()


def test_closing_a_store_that_waits_for_replicas_drops_all_its_connections(
    private: redis_topology.Topology,
) -> None:
    redis_backend = store.RedisStore(private.url, "p:", local_view=False, replicas=1, timeout=0.25)
    try:
        redis_backend.get_many(["sid:a"])
        with pytest.raises(store.StoreUnavailable):
            redis_backend.put_max("sid:a", 1, 60)
        assert connections(private.url) == 2  # a reader's and a writer's
    finally:
        redis_backend.close()
    wait_for(lambda: connections(private.url) == 0, "every connection closed")


# --------------------------------------------------------------------------- #
# The configured store: its URL, its grace, the index's clock
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize("url", [6379, b"redis://127.0.0.1:6379/0", ["redis://127.0.0.1:6379/0"]])
def test_a_redis_url_that_is_not_a_string_is_refused_saying_what_it_must_be(
    settings: Any, url: object
) -> None:
    settings.NEXTAUTH_REDIS_URL = url
    with pytest.raises(ImproperlyConfigured) as refused:
        store.current()
    assert str(refused.value) == (
        "NEXTAUTH_REDIS_URL must be a redis://, rediss://, unix://, redis+sentinel:// or "
        "redis+cluster:// URL (nextauth_jwt.E038)."
    )


def test_a_store_built_without_a_grace_has_the_settings_default_ten_seconds(
    settings: Any,
) -> None:
    del settings.NEXTAUTH_REVOCATION_GRACE  # unset, whatever the test settings say
    redis_backend = store.RedisStore("redis://127.0.0.1:1/0", "p:", local_view=False)
    try:
        assert redis_backend.grace == app_settings.REVOCATION_GRACE == 10
    finally:
        redis_backend.close()


FIXED_TIME = "redis.call('TIME')"


@pytest.mark.parametrize(
    ("seconds", "microseconds", "ms"),
    [(1_700_000_000, 0, 0), (1_700_000_000, 999_000, 999), (1_700_000_000, 500_999, 500)],
)
def test_the_index_scores_an_entry_at_its_expiry_in_ms_of_redis_clock(
    redis_prefix: str, seconds: int, microseconds: int, ms: int
) -> None:
    """The script run with TIME fixed: the score is the clock in whole ms plus the ttl."""
    assert store._PUT_MAX.count(FIXED_TIME) == 1
    script = store._PUT_MAX.replace(FIXED_TIME, "{ARGV[6], ARGV[7]}")
    client = redis.Redis.from_url(REDIS_URL)
    entry, index = f"{redis_prefix}:rv:sid:a", f"{redis_prefix}:rv"
    try:
        client.eval(
            script,
            2,
            entry,
            index,
            1,
            60,
            "sid:a",
            f"{redis_prefix}:ch",
            "PUBLISH",
            seconds,
            microseconds,
        )
        assert client.zscore(index, "sid:a") == seconds * 1000 + ms + 60_000
    finally:
        client.close()


def test_on_redis_clock_the_index_score_is_the_entrys_expiry_time(redis_prefix: str) -> None:
    redis_backend = store.RedisStore(REDIS_URL, f"{redis_prefix}:", local_view=False)
    client = redis.Redis.from_url(REDIS_URL)
    try:
        redis_backend.put_max("sid:a", 1, 60)
        score = client.zscore(redis_backend.index, "sid:a")
        expires = client.pexpiretime(redis_backend._revocation("sid:a"))
        # TIME (the score's clock) and the expiry's clock may stand a millisecond apart.
        assert score is not None
        assert abs(score - expires) <= 1
    finally:
        client.close()
        redis_backend.close()


# --------------------------------------------------------------------------- #
# RedisStore on a Cluster (three primaries, no replicas)
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def cluster() -> Iterator[redis_topology.Topology]:
    require(redis_topology.binaries_present(), "redis-server and redis-cli are needed")
    with redis_topology.cluster(primaries=3, replicas=0) as top:
        yield top


def own_prefix() -> str:
    return f"test-{uuid.uuid4().hex}:"


def test_a_misspelt_cluster_url_is_improperly_configured_saying_why() -> None:
    with pytest.raises(ImproperlyConfigured) as refused:
        store.RedisStore("redis+cluster://nohost", "p:", local_view=False)
    assert str(refused.value) == (
        "NEXTAUTH_REDIS_URL: every node must be host:port (nextauth_jwt.E038)."
    )


def test_a_cluster_write_waits_for_one_replica_by_default_and_keeps_the_entry(
    cluster: redis_topology.Topology,
) -> None:
    prefix = own_prefix()
    # WAIT 1 1000 on a socket of 1.25 s: room for a busy machine.
    redis_backend = store.RedisStore(cluster.url, prefix, local_view=False, timeout=0.25)
    try:
        with pytest.raises(store.StoreUnavailable) as refused:
            redis_backend.put_max("sid:a", 3, 60)
        assert str(refused.value) == "the deny-list write reached 0 of 1 replicas in time"
        # One hash tag: the entry and the index in one slot.
        assert redis_backend.client.get(f"{{{prefix}rv}}:sid:a") == b"3"
        assert redis_backend.client.zscore(f"{{{prefix}rv}}", "sid:a") is not None
        assert redis_backend.get_many(["sid:a"]) == [3]
    finally:
        redis_backend.close()


def test_a_cluster_write_reaches_another_processs_view_by_sharded_pubsub(
    cluster: redis_topology.Topology,
) -> None:
    prefix = own_prefix()
    reader = store.RedisStore(cluster.url, prefix)
    writer = store.RedisStore(cluster.url, prefix, local_view=False, replicas=0)
    try:
        assert reader.view is not None
        assert reader.view.wait_live(BOUND)
        writer.put_max("user:5", 9, 60)
        view = reader.view
        wait_for(lambda: view.get_many(["user:5"]) == [9], "the write, published", bound=3.0)
    finally:
        reader.close()
        writer.close()


def test_cluster_counters_count_and_keep_their_window(cluster: redis_topology.Topology) -> None:
    prefix = own_prefix()
    redis_backend = store.RedisStore(cluster.url, prefix, local_view=False)
    try:
        assert redis_backend.incr("c", 60) == (1, 60)
        count, left = redis_backend.incr("c", 60)
        assert (count, left in (59, 60)) == (2, True)
        assert redis_backend.client.get(f"{prefix}th:c") == b"2"
        assert redis_backend.incr("one", 1) == (1, 1)
        assert redis_backend.client.ttl(f"{prefix}th:one") == 1
        assert redis_backend.incr("none", 0) == (1, 1)  # at least a second
        assert redis_backend.client.ttl(f"{prefix}th:none") == 1
    finally:
        redis_backend.close()


def slot_maps(top: redis_topology.Topology) -> int:
    """How many times the cluster's nodes were asked for the slot map (CLUSTER SLOTS)."""
    return sum(
        commands(f"redis://127.0.0.1:{n.port}/0").get("cluster|slots", 0) for n in top.data()
    )


def test_a_cluster_writer_refreshes_the_slot_map_once_after_a_failure_only(
    cluster: redis_topology.Topology,
) -> None:
    import redis

    prefix = own_prefix()
    redis_backend = store.RedisStore(cluster.url, prefix, local_view=False, replicas=0)
    try:
        before = slot_maps(cluster)
        redis_backend.put_max("user:1", 1, 60)
        redis_backend.put_max("user:1", 2, 60)
        assert slot_maps(cluster) == before  # no refresh while nothing failed
        _, target = redis_topology.move_slot(cluster, redis_backend.index)
        with pytest.raises(redis.exceptions.ResponseError):  # MOVED: the old owner refuses
            redis_backend.put_max("user:1", 3, 60)
        redis_backend.put_max("user:1", 4, 60)  # refreshed: the new owner has it
        after = slot_maps(cluster)
        redis_backend.put_max("user:1", 5, 60)
        assert slot_maps(cluster) == after  # one refresh, not one per write
        owner = target.client()
        try:
            assert owner.get(f"{{{prefix}rv}}:user:1") == b"5"
        finally:
            owner.close()
    finally:
        redis_backend.close()
