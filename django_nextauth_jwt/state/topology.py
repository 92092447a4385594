"""Which Redis the state store talks to, and how: one node, a Sentinel group or a Cluster.

``NEXTAUTH_REDIS_URL`` names all three (no Django here: the store hands the URL in):

* ``redis://``, ``rediss://``, ``unix://``: one node, as redis-py's ``Redis.from_url`` reads it;
* ``redis+sentinel://[[user]:password@]host:port[,host:port...]/<service>[/<db>]`` (and
  ``rediss+sentinel://`` for TLS): the primary of ``<service>`` as the sentinels name it, through
  redis-py's :class:`redis.sentinel.Sentinel` (``master_for``). The credentials before ``@``
  are the data nodes'. Sentinels that ask for a password of their own (``requirepass`` in
  their configuration; Redis 6.2 and later also take a user) get it from the query:
  ``?sentinel_password=...[&sentinel_username=...]``, percent-encoded, the convention of other
  ``redis+sentinel://`` readers (Prefect, docket); no other option is taken;
* ``redis+cluster://[[user]:password@]host:port[,host:port...]`` (and ``rediss+cluster://``): a
  Redis Cluster through redis-py's :class:`redis.cluster.RedisCluster`, the listed nodes as its
  start-up nodes (database 0, the only one a cluster has).

Every client is built with short socket timeouts and no retry with back-off: a dead or frozen
Redis costs a request at most the timeout, and the store's breaker then stops trying for a
moment (:mod:`~django_nextauth_jwt.state.store`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

__all__ = ["SCHEMES", "Topology", "parse"]

#: Every scheme ``NEXTAUTH_REDIS_URL`` accepts.
SCHEMES = (
    "redis://",
    "rediss://",
    "unix://",
    "redis+sentinel://",
    "rediss+sentinel://",
    "redis+cluster://",
    "rediss+cluster://",
)


def _no_setinfo() -> dict[str, Any]:
    import inspect

    import redis

    # redis-py 8 names it driver_info (lib_name/lib_version are deprecated there); 5 to 7 do not.
    if "driver_info" in inspect.signature(redis.Redis.__init__).parameters:
        return {"driver_info": None}
    return {"lib_name": None, "lib_version": None}


_NO_SETINFO: dict[str, Any] = {}


@dataclass(frozen=True)
class Topology:
    """A parsed ``NEXTAUTH_REDIS_URL``."""

    kind: str  # "single", "sentinel" or "cluster"
    # Out of the repr (a log line, a traceback's locals, DEBUG's error page): both may hold
    # the password.
    url: str = field(repr=False)
    nodes: tuple[tuple[str, int], ...] = ()
    service: str = ""
    db: int = 0
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    #: The sentinels' own credentials (a Sentinel URL's query), not the data nodes'.
    sentinel_username: str | None = None
    sentinel_password: str | None = field(default=None, repr=False)

    @property
    def sharded(self) -> bool:
        """Whether keys are spread over slots (a Cluster): hash tags and sharded pub/sub."""
        return self.kind == "cluster"

    def _common(self, timeout: float, retries: int, protocol: int | None = None) -> dict[str, Any]:
        if not _NO_SETINFO:
            _NO_SETINFO.update(_no_setinfo())
        from redis.backoff import NoBackoff
        from redis.exceptions import ConnectionError as RedisConnectionError
        from redis.retry import Retry

        # A retry only for a broken pooled connection (a restart dropped it), never for a
        # timeout: a frozen Redis must cost one timeout, not several. No CLIENT SETINFO on
        # connecting: a new connection's first read is then the command's own, so a frozen
        # Redis costs it one timeout too, not one more for the greeting.
        found = {
            "socket_connect_timeout": timeout,
            "socket_timeout": timeout,
            "retry": Retry(NoBackoff(), retries, supported_errors=(RedisConnectionError,)),
            **_NO_SETINFO,
        }
        if protocol is not None:
            found["protocol"] = protocol
        return found

    def _auth(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if self.username:
            found["username"] = self.username
        if self.password:
            found["password"] = self.password
        if self.tls:
            found["ssl"] = True
        return found

    def client(
        self,
        timeout: float,
        *,
        retries: int = 1,
        health_check: int = 30,
        protocol: int | None = None,
    ) -> Any:
        """A client for commands: ``Redis``, the Sentinel group's primary, or ``RedisCluster``.

        ``protocol`` (2 or 3) overrides redis-py's default (RESP3 from redis-py 8).
        """
        import redis

        common = self._common(timeout, retries, protocol)
        if self.kind == "single":
            return redis.Redis.from_url(self.url, health_check_interval=health_check, **common)
        if self.kind == "sentinel":
            from redis.sentinel import Sentinel

            sentinel_side: dict[str, Any] = {
                "socket_connect_timeout": timeout,
                "socket_timeout": timeout,
            }
            if self.tls:
                sentinel_side["ssl"] = True
            if self.sentinel_username:
                sentinel_side["username"] = self.sentinel_username
            if self.sentinel_password:
                sentinel_side["password"] = self.sentinel_password
            group = Sentinel(list(self.nodes), sentinel_kwargs=sentinel_side, **common)
            return group.master_for(
                self.service, db=self.db, health_check_interval=health_check, **self._auth()
            )
        from redis.cluster import ClusterNode, RedisCluster

        # The cluster client's own retry covers MOVED/ASK and topology refreshes; connection
        # errors are not retried with back-off (the breaker takes over).
        return RedisCluster(
            startup_nodes=[ClusterNode(h, p) for h, p in self.nodes],  # type: ignore[no-untyped-call]
            require_full_coverage=False,
            health_check_interval=health_check,
            **common,
            **self._auth(),
        )

    def node_client(self, timeout: float, key: str) -> Any:
        """A plain client of the one node that serves ``key`` (the primary; one node: itself).

        The local view subscribes and loads on one connection's node, so that a ``PING`` answered
        there comes after every message published before it. In RESP2: the load reads a million
        members and scores, and hiredis parses RESP2's flat reply in a third of the CPU that
        RESP3's pairs (a list and a float each) take.
        """
        import redis

        if self.kind != "cluster":
            return self.client(timeout, retries=0, health_check=0, protocol=2)
        cluster = self.client(timeout, retries=0, health_check=0)
        try:
            node = cluster.get_node_from_key(key)
            return redis.Redis(
                host=node.host,
                port=node.port,
                health_check_interval=0,
                **self._common(timeout, 0, protocol=2),
                **self._auth(),
            )
        finally:
            cluster.close()


def _nodes(text: str) -> tuple[tuple[str, int], ...]:
    nodes: list[tuple[str, int]] = []
    for part in text.split(","):
        if part.startswith("["):  # [IPv6]:port
            host, sep, rest = part[1:].partition("]")
            port = rest[1:] if rest.startswith(":") else ""
            if not sep:
                raise ValueError("an IPv6 address must be closed with ]")
        else:
            host, _, port = part.rpartition(":")
        if not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError("every node must be host:port")
        nodes.append((host, int(port)))
    return tuple(nodes)


def parse(url: str) -> Topology:
    """Read ``url`` (see the module's docstring); ``ValueError`` naming what is wrong."""
    if not isinstance(url, str) or not url.startswith(SCHEMES):
        raise ValueError("the URL must begin with one of " + ", ".join(SCHEMES))
    scheme, _, rest = url.partition("://")
    if "+" not in scheme:
        return Topology("single", url)
    if "#" in rest:
        raise ValueError("Sentinel and Cluster URLs take no fragment")
    kind = scheme.partition("+")[2]
    rest, question, query = rest.partition("?")
    if question and kind == "cluster":
        raise ValueError("a Cluster URL takes no query")
    sentinel_auth = _sentinel_auth(query) if question else {}
    netloc, _, path = rest.partition("/")
    userinfo, at, hosts = netloc.rpartition("@")
    username = password = None
    if at:
        user, colon, secret = userinfo.partition(":")
        username = unquote(user) or None
        password = unquote(secret) if colon else None
    nodes = _nodes(hosts)
    parts = [p for p in path.split("/") if p]
    tls = scheme.startswith("rediss")
    if kind == "cluster":
        if parts not in ([], ["0"]):
            raise ValueError("a Cluster has only database 0: nothing after the nodes")
        return Topology("cluster", url, nodes, "", 0, username, password, tls)
    if not parts or len(parts) > 2:
        raise ValueError("a Sentinel URL names the service: /<service>[/<db>]")
    if len(parts) == 2 and not parts[1].isdigit():
        raise ValueError("the database must be a number")
    db = int(parts[1]) if len(parts) == 2 else 0
    return Topology(
        "sentinel",
        url,
        nodes,
        unquote(parts[0]),
        db,
        username,
        password,
        tls,
        sentinel_auth.get("sentinel_username"),
        sentinel_auth.get("sentinel_password"),
    )


#: The only options a Sentinel URL's query takes: the sentinels' own credentials.
SENTINEL_OPTIONS = ("sentinel_username", "sentinel_password")


def _sentinel_auth(query: str) -> dict[str, str]:
    """``sentinel_username``/``sentinel_password`` from a Sentinel URL's query, each once."""
    found: dict[str, str] = {}
    for item in query.split("&"):
        name, equals, value = item.partition("=")
        if name not in SENTINEL_OPTIONS or not equals:
            # Never the item itself in the message: it may be a password.
            raise ValueError(
                "a Sentinel URL's query takes only sentinel_username=... and sentinel_password=..."
            )
        if name in found:
            raise ValueError(f"{name} is given twice")
        found[name] = unquote(value)
    return found
