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
        ("redis+cluster://n1:7000?sentinel_password=x", "no query"),
        ("redis+sentinel://s1:26379/m?ssl=true", "takes only sentinel_username"),
        ("redis+sentinel://s1:26379/m?sentinel_password", "takes only sentinel_username"),
        ("redis+sentinel://s1:26379/m?", "takes only sentinel_username"),
        ("redis+sentinel://s1:26379/m?sentinel_password=a&sentinel_password=b", "given twice"),
        ("redis+sentinel://s1:26379/m#top", "no fragment"),
        ("redis+cluster://[::1:7000", "closed with ]"),
    ],
)
def test_a_malformed_url_says_what_is_wrong(url: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        topology.parse(url)


def test_a_sentinel_url_may_name_the_sentinels_own_credentials() -> None:
    parsed = topology.parse(
        "redis+sentinel://:data@s1:26379/m/1?sentinel_password=s%26t%3Dx&sentinel_username=ops"
    )
    assert (parsed.password, parsed.service, parsed.db) == ("data", "m", 1)
    assert (parsed.sentinel_username, parsed.sentinel_password) == ("ops", "s&t=x")
    assert "s&t=x" not in repr(parsed)
    assert "data" not in repr(parsed)
    only = topology.parse("redis+sentinel://s1:26379/m?sentinel_password=pw")
    assert (only.username, only.password, only.sentinel_username) == (None, None, None)
    assert only.sentinel_password == "pw"


def test_a_bad_query_never_repeats_a_password() -> None:
    with pytest.raises(ValueError, match="takes only") as caught:
        topology.parse("redis+sentinel://s1:26379/m?sentinel_pasword=hunter2")
    assert "hunter2" not in str(caught.value)


def test_the_sentinels_are_asked_with_their_own_credentials_the_data_nodes_with_theirs() -> None:
    url = "redis+sentinel://app:data@127.0.0.1:1/m?sentinel_username=ops&sentinel_password=pw"
    group = topology.parse(url).client(0.05)
    try:
        pool = group.connection_pool
        assert (pool.connection_kwargs["username"], pool.connection_kwargs["password"]) == (
            "app",
            "data",
        )
        (sentinel,) = pool.sentinel_manager.sentinels
        asked = sentinel.connection_pool.connection_kwargs
        assert (asked["username"], asked["password"]) == ("ops", "pw")
        assert asked["socket_timeout"] == 0.05
    finally:
        group.close()
    bare = topology.parse("redis+sentinel://:data@127.0.0.1:1/m").client(0.05)
    try:
        (sentinel,) = bare.connection_pool.sentinel_manager.sentinels
        assert sentinel.connection_pool.connection_kwargs.get("password") is None
    finally:
        bare.close()


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
