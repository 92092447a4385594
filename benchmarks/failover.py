"""Redis failing over under load: Sentinel, Cluster, a frozen primary (part of ``make load``).

    make load                       # or: .venv/bin/python benchmarks/failover.py [--only NAME]

Real topologies started here on loopback (tests/redis_topology.py), killed at the end. In each
run a writer store signs sessions out (acknowledged once a replica holds them) and a reader
store, another process as far as Redis can tell, checks valid and revoked sessions from its
local view, while (tests/failover_load.py):

* ``sentinel-failover``: ``SENTINEL FAILOVER`` (a primary, a replica, three sentinels);
* ``sentinel-kill``: the Sentinel group's primary killed (SIGKILL; ``down-after-milliseconds``
  1000);
* ``cluster-kill``: the Cluster primary that holds the deny-list's slot killed (three primaries,
  a replica each), then started again as a replica;
* ``cluster-reshard``: the deny-list's slot moved to another Cluster primary, keys and all, as
  ``redis-cli --cluster reshard`` moves it;
* ``frozen``: one node frozen with SIGSTOP for 10 s (grace 3 s), then SIGCONT.

Each prints the sign-outs acknowledged and lost, revoked sessions accepted, valid checks
refused and the window they span, the slowest check and sign-out. Exit status 2 when a
sign-out was lost, a revoked session accepted or a check took over 100 ms (sentinel and
cluster runs) — the store bounds each command at 50 ms.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from tests import failover_load, redis_topology  # noqa: E402

SLOWEST_CHECK = 0.1


def sentinel(kill: bool) -> failover_load.Figures:
    with redis_topology.sentinel_group() as top:
        primary = top.node(redis_topology.primary_port(top))

        def fault() -> None:
            if kill:
                primary.kill()
                return
            client = next(n for n in top.nodes if n.role == "sentinel").client()
            try:
                client.execute_command("SENTINEL", "FAILOVER", "mymaster")
            finally:
                client.close()

        if kill:
            # The killed primary comes back as a replica: sign-outs can be acknowledged again.
            back = failover_load.rejoined(
                lambda: redis_topology.primary_port(top) != primary.port,
                lambda: redis_topology.restart_as_replica(top, primary),
            )
            return failover_load.run(
                top.url, "lf:", fault, before=3, after=5, recovered=back, readers=4
            )
        return failover_load.run(top.url, "lf:", fault, before=3, after=5, readers=4)


def cluster() -> failover_load.Figures:
    with redis_topology.cluster() as top:
        owner = redis_topology.slot_owner(top, "{lf:rv}")
        back = failover_load.rejoined(
            lambda: redis_topology.slot_owner(top, "{lf:rv}").port != owner.port,
            lambda: redis_topology.restart_cluster_node(top, owner),
        )
        return failover_load.run(
            top.url, "lf:", owner.kill, before=3, after=5, recovered=back, readers=4
        )


def reshard() -> failover_load.Figures:
    with redis_topology.cluster() as top:

        def fault() -> None:
            redis_topology.move_slot(top, "{lf:rv}")

        return failover_load.run(top.url, "lf:", fault, before=3, after=5, readers=4)


def frozen(seconds: float = 10.0) -> failover_load.Figures:
    with redis_topology.server() as top:
        node = top.nodes[0]

        def fault() -> None:
            node.freeze()
            threading.Timer(seconds, node.thaw).start()

        return failover_load.run(
            top.url, "lf:", fault, before=2, after=3, bound=seconds + 30, readers=4, grace=3.0
        )


RUNS = {
    "sentinel-failover": lambda: sentinel(kill=False),
    "sentinel-kill": lambda: sentinel(kill=True),
    "cluster-kill": cluster,
    "cluster-reshard": reshard,
    "frozen": frozen,
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(RUNS), action="append")
    args = parser.parse_args()
    failed: list[str] = []
    for name in args.only or list(RUNS):
        start = time.monotonic()
        figures = RUNS[name]()
        print(f"{name} ({time.monotonic() - start:.0f} s): {figures.summary()}", flush=True)
        if figures.lost or figures.revoked_accepted:
            failed.append(f"{name}: {len(figures.lost)} lost, {figures.revoked_accepted} accepted")
        if figures.slowest_check > SLOWEST_CHECK:
            failed.append(f"{name}: a check took {figures.slowest_check * 1000:.0f} ms")
    for line in failed:
        print(f"FAILED {line}")
    return 2 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
