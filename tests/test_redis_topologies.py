"""Redis Sentinel and Redis Cluster, started here, failing over under load.

Real local topologies (``tests.redis_topology``: loopback ports, temporary directories, every
process killed at the end): a primary, a replica and three sentinels; three primaries with a
replica each. Under load, with sign-outs being written and checked from another store (another
process, as far as Redis can tell): a forced ``SENTINEL FAILOVER``, and a Cluster primary
killed. No acknowledged sign-out is lost, no revoked session is accepted, and the window of
refused valid checks is printed. The heavier runs (the Sentinel primary killed, longer loads)
are in ``make load`` (benchmarks/failover.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from django_nextauth_jwt import JWTAuth
from django_nextauth_jwt.state import store
from tests import failover_load, redis_topology
from tests.conftest import require

BOUND = 30.0


@pytest.fixture(autouse=True)
def _binaries() -> None:
    require(redis_topology.binaries_present(), "redis-server and redis-cli are needed")


@pytest.fixture
def sentinels() -> Iterator[redis_topology.Topology]:
    with redis_topology.sentinel_group() as top:
        yield top


@pytest.fixture
def cluster() -> Iterator[redis_topology.Topology]:
    with redis_topology.cluster() as top:
        yield top


def _forget_stores() -> None:
    store.current.cache_clear()
    for held in list(store._redis):
        store._redis.pop(held).close()


def held_under_load(figures: failover_load.Figures, what: str) -> None:
    """Print the run's figures; no acknowledged sign-out lost, no revoked session accepted."""
    print(f"\n{what}: {figures.summary()}")
    assert figures.acked
    assert figures.lost == []
    assert figures.revoked_checks > 0
    assert figures.revoked_accepted == 0


def signs_out_through(url: str, settings: Any) -> None:
    """Sign out and refuse through ``NEXTAUTH_REDIS_URL`` naming a Sentinel group."""
    settings.NEXTAUTH_REDIS_URL = url
    settings.NEXTAUTH_REDIS_KEY_PREFIX = "sentinel:"
    try:
        here = store.current()
        assert isinstance(here, store.RedisStore)
        assert here.replicas == 1  # Sentinel: a sign-out waits for a replica by default
        assert here.view is not None
        assert here.view.wait_live(BOUND)
        token = JWTAuth.create({"id": "7"})
        JWTAuth.revoke(token)
        assert JWTAuth.authenticate_token(token).error == "token_revoked"
        assert here.incr("login", 60) == (1, 60)
    finally:
        _forget_stores()


def test_a_forced_sentinel_failover_under_load_loses_no_acknowledged_signout(
    sentinels: redis_topology.Topology, settings: Any
) -> None:
    # One group for both parts (sentinels take seconds to find each other). First the
    # package as configured: a sign-out through Sentinel, waited for by a replica.
    signs_out_through(sentinels.url, settings)
    old = redis_topology.primary_port(sentinels)

    def failover() -> None:
        sentinel = next(n for n in sentinels.nodes if n.role == "sentinel")
        client = sentinel.client()
        try:
            client.execute_command("SENTINEL", "FAILOVER", "mymaster")
        finally:
            client.close()

    figures = failover_load.run(sentinels.url, "fo:", failover, before=1.0, after=1.5)
    assert redis_topology.primary_port(sentinels) != old
    held_under_load(figures, "Sentinel FAILOVER under load")


def one_slot_and_followed(cluster: redis_topology.Topology) -> None:
    """The deny-list in one slot of the cluster, and a view that follows writes there."""
    here = store.RedisStore(cluster.url, "cl:")
    other = store.RedisStore(cluster.url, "cl:", local_view=False)
    try:
        assert here.index == "{cl:rv}"  # one hash tag: entries, index and channel in one slot
        assert here._revocation("sid:x") == "{cl:rv}:sid:x"
        assert here.view is not None
        assert here.view.wait_live(BOUND)
        key = "sid:" + "ab" * 16

        # Acknowledged by the slot's replica (WAIT 1). On a loaded machine the first write
        # after the cluster formed can miss the short WAIT: it is repeated until acknowledged.
        def acknowledged() -> bool:
            other.put_max(key, 1, 60)  # raises StoreUnavailable when the WAIT was missed
            return True

        redis_topology.wait_for(acknowledged, "a write the slot's replica acknowledged")
        redis_topology.wait_for(lambda: here.view.peek([key]) == [1], "seen through SSUBSCRIBE")
        assert here.incr("c", 60) == (1, 60)  # a counter: one key, its own slot
        here.decr("c")
        assert here.incr("c", 60) == (1, 60)
    finally:
        here.close()
        other.close()


def test_a_cluster_primary_killed_under_load_loses_no_acknowledged_signout(
    cluster: redis_topology.Topology,
) -> None:
    # One cluster for both parts (it takes seconds to form). First the deny-list's slot.
    one_slot_and_followed(cluster)
    owner = redis_topology.slot_owner(cluster, "{fo:rv}")
    # The replica takes the slot over; the killed node comes back as its replica, so that
    # sign-outs can be acknowledged again (WAIT 1).
    back = failover_load.rejoined(
        lambda: redis_topology.slot_owner(cluster, "{fo:rv}").port != owner.port,
        lambda: redis_topology.restart_cluster_node(cluster, owner),
    )
    figures = failover_load.run(
        cluster.url, "fo:", owner.kill, before=1.0, after=1.0, recovered=back
    )
    held_under_load(figures, "Cluster primary killed under load")


def test_the_deny_lists_slot_resharded_under_load_loses_no_acknowledged_signout(
    cluster: redis_topology.Topology,
) -> None:
    # The slot moves to another primary while sign-outs are written and checked: writes
    # meeting ASK or TRYAGAIN are retried or answered 503, views are told (sunsubscribe) and
    # follow the slot to its new owner.
    moved: dict[str, Any] = {}

    def reshard() -> None:
        moved["nodes"] = redis_topology.move_slot(cluster, "{rs:rv}")

    figures = failover_load.run(cluster.url, "rs:", reshard, before=1.0, after=1.5)
    source, target = moved["nodes"]
    assert redis_topology.slot_owner(cluster, "{rs:rv}").port == target.port != source.port
    held_under_load(figures, "Cluster slot resharded under load")


def test_sentinels_with_a_password_of_their_own_are_asked_with_it(
    settings: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Data nodes and sentinels both with requirepass, different ones (the Bitnami chart's
    # shape, which uses one password for both, is the same code path).
    with redis_topology.sentinel_group(password="data-pw", sentinel_password="sent-pw") as top:
        hosts = top.url.removeprefix("redis+sentinel://")
        signs_out_through(f"redis+sentinel://:data-pw@{hosts}?sentinel_password=sent-pw", settings)

        # Without the sentinels' own password no primary is found: refused, never accepted,
        # and no password in what is logged.
        settings.NEXTAUTH_REDIS_URL = f"redis+sentinel://:data-pw@{hosts}"
        try:
            token = JWTAuth.create({"id": "8"})
            assert JWTAuth.authenticate_token(token).error == "revocation_unavailable"
        finally:
            _forget_stores()
        assert "data-pw" not in caplog.text
        assert "sent-pw" not in caplog.text
