"""Real Redis topologies for tests and benchmarks: started here, on loopback, killed at the end.

* :func:`server`: one ``redis-server`` (optionally a replica of another), no persistence;
* :func:`sentinel_group`: a primary, one replica and three sentinels (``redis-server
  --sentinel``) watching it as ``mymaster``;
* :func:`cluster`: three primaries, each with one replica, made a cluster with
  ``redis-cli --cluster create ... --cluster-yes``; :func:`move_slot` reshards one slot, as
  ``redis-cli --cluster reshard`` does (``SETSLOT IMPORTING/MIGRATING``, ``MIGRATE``,
  ``SETSLOT NODE``).

Every process has its own free port and temporary directory; every one is killed (and waited
for) when its context ends, whatever happened. Missing binaries skip, and under CI=true fail
(``tests.conftest.require``).
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.servers import free_port

#: A generous bound for a topology to come up (never asserted as a duration).
UP_WITHIN = 30.0


def binaries_present() -> bool:
    """Whether redis-server and redis-cli are on PATH."""
    return shutil.which("redis-server") is not None and shutil.which("redis-cli") is not None


@dataclass
class Node:
    """One redis-server process (a data node or a sentinel)."""

    port: int
    proc: subprocess.Popen[bytes]
    role: str = "data"
    #: What the process asks for (``requirepass``), ``None`` when nothing.
    password: str | None = None

    def client(self, **kwargs: Any) -> Any:
        import redis

        defaults = {"socket_connect_timeout": 1, "socket_timeout": 2, "password": self.password}
        return redis.Redis(port=self.port, **{**defaults, **kwargs})

    def freeze(self) -> None:
        """SIGSTOP: the process holds its sockets open and answers nothing."""
        self.proc.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        """SIGCONT."""
        self.proc.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """SIGKILL and wait: gone at once, as a crashed host."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGCONT)  # a frozen process dies all the same
            self.proc.kill()
        self.proc.wait(timeout=10)

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None


def commands(url: str) -> dict[str, int]:
    """How many times each command ran on the redis-server at ``url`` (``INFO commandstats``)."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        stats = client.info("commandstats")
    finally:
        client.close()
    return {name.removeprefix("cmdstat_"): int(stat["calls"]) for name, stat in stats.items()}


def wait_for(condition: Any, what: str, bound: float = UP_WITHIN) -> None:
    """Poll ``condition`` until true; ``TimeoutError`` naming ``what`` past ``bound``."""
    deadline = time.monotonic() + bound
    while True:
        try:
            if condition():
                return
        except Exception:  # noqa: S110 - not up yet: every error means "try again"
            pass
        if time.monotonic() > deadline:
            raise TimeoutError(f"not within {bound} s: {what}")
        time.sleep(0.05)


def _start(directory: Path, port: int, *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["redis-server", *args],
        cwd=directory,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _data_args(port: int) -> list[str]:
    return ["--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]


@dataclass
class Topology:
    """What a context started: its nodes, in start order, and the URL that names them."""

    url: str
    nodes: list[Node] = field(default_factory=list)
    directory: Path | None = None

    def data(self) -> list[Node]:
        return [n for n in self.nodes if n.role == "data"]

    def node(self, port: int) -> Node:
        return next(n for n in self.nodes if n.port == port)


@contextlib.contextmanager
def _killed_at_the_end(top: Topology) -> Iterator[Topology]:
    try:
        yield top
    finally:
        for node in top.nodes:
            with contextlib.suppress(Exception):
                node.kill()
        if top.directory is not None:
            shutil.rmtree(top.directory, ignore_errors=True)


def _answers(node: Node) -> bool:
    client = node.client()
    try:
        return bool(client.ping())
    finally:
        client.close()


@contextlib.contextmanager
def server(replica_of: int | None = None) -> Iterator[Topology]:
    """One redis-server on a free port (a replica of ``replica_of`` when given)."""
    directory = Path(tempfile.mkdtemp(prefix="nextauth-redis-"))
    port = free_port()
    args = _data_args(port)
    if replica_of is not None:
        args += ["--replicaof", "127.0.0.1", str(replica_of)]
    top = Topology(f"redis://127.0.0.1:{port}/0", directory=directory)
    with _killed_at_the_end(top):
        top.nodes.append(Node(port, _start(directory, port, *args)))
        wait_for(lambda: _answers(top.nodes[0]), f"redis-server on {port}")
        yield top


def _replicated(primary: Node, replica: Node) -> bool:
    client = replica.client()
    try:
        info = client.info("replication")
        return bool(info.get("master_link_status") == "up")
    finally:
        client.close()


@contextlib.contextmanager
def sentinel_group(
    service: str = "mymaster",
    down_after_ms: int = 1000,
    *,
    password: str | None = None,
    sentinel_password: str | None = None,
) -> Iterator[Topology]:
    """A primary, one replica and three sentinels (quorum 2) watching ``service``.

    With ``password`` the data nodes ask for it (``requirepass``, ``masterauth``); with
    ``sentinel_password`` the sentinels ask for their own. The URL names neither: a test
    writes the credentials it means to try.
    """
    directory = Path(tempfile.mkdtemp(prefix="nextauth-sentinel-"))
    top = Topology("", directory=directory)
    auth = ["--requirepass", password, "--masterauth", password] if password else []
    with _killed_at_the_end(top):
        primary_port, replica_port = free_port(), free_port()
        primary_args = [*_data_args(primary_port), *auth]
        top.nodes.append(
            Node(primary_port, _start(directory, primary_port, *primary_args), password=password)
        )
        replica_args = [
            *_data_args(replica_port),
            *auth,
            "--replicaof",
            "127.0.0.1",
            str(primary_port),
        ]
        top.nodes.append(
            Node(replica_port, _start(directory, replica_port, *replica_args), password=password)
        )
        for node in top.nodes:
            wait_for(lambda n=node: _answers(n), f"redis-server on {node.port}")
        wait_for(lambda: _replicated(top.nodes[0], top.nodes[1]), "the replica linked")
        sentinels = []
        for _ in range(3):
            port = free_port()
            conf = directory / f"sentinel-{port}.conf"
            conf.write_text(
                f"port {port}\nbind 127.0.0.1\nsentinel resolve-hostnames no\n"
                f"sentinel monitor {service} 127.0.0.1 {primary_port} 2\n"
                f"sentinel down-after-milliseconds {service} {down_after_ms}\n"
                f"sentinel failover-timeout {service} 5000\n"
                f"sentinel parallel-syncs {service} 1\n"
                + (f"sentinel auth-pass {service} {password}\n" if password else "")
                + (f"requirepass {sentinel_password}\n" if sentinel_password else "")
            )
            process = _start(directory, port, str(conf), "--sentinel")
            node = Node(port, process, role="sentinel", password=sentinel_password)
            top.nodes.append(node)
            sentinels.append(node)
        for node in sentinels:
            wait_for(lambda n=node: _sees_replica(n, service), f"sentinel on {node.port} ready")
        hosts = ",".join(f"127.0.0.1:{n.port}" for n in sentinels)
        top.url = f"redis+sentinel://{hosts}/{service}/0"
        yield top


def _sees_replica(sentinel: Node, service: str) -> bool:
    client = sentinel.client()
    try:
        replicas = client.execute_command("SENTINEL", "REPLICAS", service)
        others = client.execute_command("SENTINEL", "SENTINELS", service)
        return len(replicas) >= 1 and len(others) >= 2
    finally:
        client.close()


def primary_port(top: Topology, service: str = "mymaster") -> int:
    """The port of the primary the sentinels name now."""
    sentinel = next(n for n in top.nodes if n.role == "sentinel" and n.alive)
    client = sentinel.client()
    try:
        _, port = client.execute_command("SENTINEL", "GET-MASTER-ADDR-BY-NAME", service)
        return int(port)
    finally:
        client.close()


@contextlib.contextmanager
def cluster(
    primaries: int = 3, replicas: int = 1, node_timeout_ms: int = 1000
) -> Iterator[Topology]:
    """A Redis Cluster of ``primaries`` primaries with ``replicas`` replicas each."""
    directory = Path(tempfile.mkdtemp(prefix="nextauth-cluster-"))
    top = Topology("", directory=directory)
    with _killed_at_the_end(top):
        ports = [_cluster_port() for _ in range(primaries * (1 + replicas))]
        for port in ports:
            own = directory / str(port)
            own.mkdir()
            args = [
                *_data_args(port),
                "--cluster-enabled", "yes",
                "--cluster-config-file", f"nodes-{port}.conf",
                "--cluster-node-timeout", str(node_timeout_ms),
                "--cluster-replica-validity-factor", "0",
            ]  # fmt: skip
            top.nodes.append(Node(port, _start(own, port, *args)))
        for node in top.nodes:
            wait_for(lambda n=node: _answers(n), f"cluster node on {node.port}")
        subprocess.run(
            [
                "redis-cli",
                "--cluster",
                "create",
                *[f"127.0.0.1:{p}" for p in ports],
                "--cluster-replicas",
                str(replicas),
                "--cluster-yes",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=60,
        )
        wait_for(lambda: all(_cluster_ok(n) for n in top.nodes), "the cluster state ok")
        wait_for(lambda: all(_linked(n) for n in top.nodes), "every replica linked")
        top.url = "redis+cluster://" + ",".join(f"127.0.0.1:{p}" for p in ports[:primaries])
        yield top


def restart_as_replica(top: Topology, node: Node) -> float:
    """Start a killed node of a Sentinel group again, as a replica of today's primary.

    Returns when it was started (monotonic clock).
    """
    assert top.directory is not None
    args = [*_data_args(node.port), "--replicaof", "127.0.0.1", str(primary_port(top))]
    node.proc = _start(top.directory, node.port, *args)
    return time.monotonic()


def restart_cluster_node(top: Topology, node: Node, node_timeout_ms: int = 1000) -> float:
    """Start a killed cluster node again in its own directory (it rejoins as a replica).

    Returns when it was started (monotonic clock).
    """
    assert top.directory is not None
    args = [
        *_data_args(node.port),
        "--cluster-enabled", "yes",
        "--cluster-config-file", f"nodes-{node.port}.conf",
        "--cluster-node-timeout", str(node_timeout_ms),
    ]  # fmt: skip
    node.proc = _start(top.directory / str(node.port), node.port, *args)
    return time.monotonic()


def _linked(node: Node) -> bool:
    client = node.client()
    try:
        info = client.info("replication")
        return bool(info["role"] == "master" or info.get("master_link_status") == "up")
    finally:
        client.close()


def _cluster_port() -> int:
    """A free port whose cluster bus port (10000 above it) is free too."""
    while True:
        port = free_port()
        if port + 10000 < 65536:
            with contextlib.suppress(OSError), socket.socket() as sock:
                sock.bind(("127.0.0.1", port + 10000))
                return port


def _cluster_ok(node: Node) -> bool:
    client = node.client()
    try:
        info = client.execute_command("CLUSTER", "INFO")
        text = info.decode() if isinstance(info, bytes) else str(info)
        return "cluster_state:ok" in text
    finally:
        client.close()


def slot_owner(top: Topology, key: str) -> Node:
    """The node (a primary) that serves ``key``'s slot now."""
    live = next(n for n in top.nodes if n.alive)
    client = live.client()
    try:
        slot = int(client.execute_command("CLUSTER", "KEYSLOT", key))
        for start, end, primary, *_ in client.execute_command("CLUSTER", "SLOTS"):
            if int(start) <= slot <= int(end):
                return top.node(int(primary[1]))
    finally:
        client.close()
    raise LookupError(key)


def move_slot(top: Topology, key: str, batch: int = 100) -> tuple[Node, Node]:
    """Reshard the slot of ``key`` from its primary to another one, keys and all, live.

    The steps of ``redis-cli --cluster reshard`` for one slot: the target imports, the source
    migrates, ``MIGRATE`` moves the keys a batch at a time (a client asking for a moved key
    meanwhile is sent ``ASK``), then every primary is told the slot's new owner (the source
    then drops its sharded pub/sub subscribers of the slot). Returns ``(source, target)``.
    """
    source = slot_owner(top, key)
    primaries = [n for n in top.data() if n.alive and n is not source and _is_primary(n)]
    target = primaries[0]
    src, dst = source.client(), target.client()
    try:
        slot = int(src.execute_command("CLUSTER", "KEYSLOT", key))
        src_id = _text(src.execute_command("CLUSTER", "MYID"))
        dst_id = _text(dst.execute_command("CLUSTER", "MYID"))
        dst.execute_command("CLUSTER", "SETSLOT", slot, "IMPORTING", src_id)
        src.execute_command("CLUSTER", "SETSLOT", slot, "MIGRATING", dst_id)
        while True:
            keys = src.execute_command("CLUSTER", "GETKEYSINSLOT", slot, batch)
            if not keys:
                break
            src.execute_command("MIGRATE", "127.0.0.1", target.port, "", 0, 5000, "KEYS", *keys)
        for node in [target, source, *primaries[1:]]:
            client = node.client()
            try:
                client.execute_command("CLUSTER", "SETSLOT", slot, "NODE", dst_id)
            finally:
                client.close()
    finally:
        src.close()
        dst.close()
    return source, target


def _is_primary(node: Node) -> bool:
    client = node.client()
    try:
        return bool(client.info("replication")["role"] == "master")
    finally:
        client.close()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
