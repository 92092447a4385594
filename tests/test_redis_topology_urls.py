"""What NEXTAUTH_REDIS_URL names: one node, a Sentinel group or a Cluster, parsed exactly.

The clients built from it are redis-py's own (``Sentinel.master_for``, ``RedisCluster``), with
the timeouts the store asks for; the topologies themselves run in test_redis_topologies.py.
"""

from __future__ import annotations

import pytest

from django_nextauth_jwt.state import topology


def test_a_sentinel_url_names_its_sentinels_service_database_and_credentials() -> None:
    parsed = topology.parse("rediss+sentinel://app:p%40ss@s1:26379,[::1]:26380/my%20master/3")
    assert parsed.kind == "sentinel"
    assert parsed.nodes == (("s1", 26379), ("::1", 26380))
    assert (parsed.service, parsed.db) == ("my master", 3)
    assert (parsed.username, parsed.password, parsed.tls) == ("app", "p@ss", True)
    assert not parsed.sharded


def test_a_cluster_url_names_its_start_up_nodes_and_is_sharded() -> None:
    parsed = topology.parse("redis+cluster://:secret@n1:7000,n2:7001/")
    assert parsed.kind == "cluster"
    assert parsed.nodes == (("n1", 7000), ("n2", 7001))
    assert (parsed.username, parsed.password, parsed.tls, parsed.db) == (None, "secret", False, 0)
    assert parsed.sharded


@pytest.mark.parametrize("url", ["redis://r:6379/2", "rediss://r:6380/0", "unix:///tmp/r.sock"])
def test_a_single_node_url_is_left_to_redis_py(url: str) -> None:
    parsed = topology.parse(url)
    assert (parsed.kind, parsed.url, parsed.nodes) == ("single", url, ())


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://r:6379", "must begin with"),
        ("redis+sentinel://s1:26379", "names the service"),
        ("redis+sentinel://s1:26379/m/1/2", "names the service"),
        ("redis+sentinel://s1:26379/m/x", "must be a number"),
        ("redis+sentinel://s1:0/m", "host:port"),
        ("redis+sentinel://:26379/m", "host:port"),
        ("redis+cluster://n1:7000/1", "only database 0"),
        ("redis+cluster://n1:7000?ssl=true", "no query"),
        ("redis+cluster://[::1:7000", "closed with ]"),
    ],
)
def test_a_malformed_url_says_what_is_wrong(url: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        topology.parse(url)


def test_a_sentinel_client_is_redis_pys_own_with_the_timeouts_asked_for() -> None:
    # (A Cluster's client, RedisCluster, connects as it is made: test_redis_topologies.py.)
    from redis.sentinel import SentinelConnectionPool

    group = topology.parse("redis+sentinel://127.0.0.1:1/mymaster/2").client(0.05)
    try:
        pool = group.connection_pool
        assert isinstance(pool, SentinelConnectionPool)
        assert pool.service_name == "mymaster"
        kwargs = pool.connection_kwargs
        assert (kwargs["socket_timeout"], kwargs["socket_connect_timeout"], kwargs["db"]) == (
            0.05,
            0.05,
            2,
        )
        assert group.get_retry().get_retries() == 1
    finally:
        group.close()
