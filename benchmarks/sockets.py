"""WebSocket handshakes and open sockets: ``NextAuthChannelsMiddleware`` against Channels' own.

    .venv/bin/python benchmarks/sockets.py [--rounds 15] [--per-round 200] [--sockets 10000]
    .venv/bin/python benchmarks/sockets.py --quick     # a few of each: checks it runs

Handshake cost, in process: Channels' ``WebsocketCommunicator`` drives whole handshakes
(connect, the consumer's greeting, disconnect) through ``benchmarks/channels_asgi.py``: a
consumer with no authentication (the floor), behind ``NextAuthChannelsMiddleware`` (a distinct
token per handshake: Bearer, session cookie, subprotocol entry; stateless, and database mode),
and behind Channels' ``AuthMiddlewareStack`` with Django's session cookie (a distinct session
per handshake; sessions and users in SQLite). Handshakes run one after another; each
case's overhead is its time minus the floor's in the same round; rounds interleave the cases
in a shuffled order and the median over rounds is printed with the ratio of each overhead to
the session stack's. Time is the process's CPU time (every thread's: the database hops count),
which a busy machine disturbs less than wall time.

Memory per open idle socket, out of process: the same application under uvicorn (one process)
on a loopback port; this process opens ``--sockets`` sockets (each a distinct token, or a
distinct session), waits for every greeting and leaves them idle; the server's resident memory
(``VmRSS``) before and after, over the number of sockets, is the cost of one socket, and
1 GB over it the sockets per GB. The floor row (no authentication) is what uvicorn and
Channels cost per socket by themselves.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
DB = Path(tempfile.mkdtemp(prefix="channels-bench-")) / "bench.sqlite3"
os.environ["BENCH_DB"] = str(DB)
os.environ["DJANGO_SETTINGS_MODULE"] = "channels_settings"  # also for the servers it starts

import django  # noqa: E402

django.setup()

from channels.testing import WebsocketCommunicator  # noqa: E402
from channels_asgi import application  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.sessions.backends.db import SessionStore  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test.utils import override_settings  # noqa: E402

from django_nextauth_jwt import JWTAuth  # noqa: E402
from django_nextauth_jwt.integrations.channels import PROTOCOL_PREFIX  # noqa: E402

COOKIE = "next-auth.session-token"
HOST = (b"host", b"testserver")
ORIGIN = (b"origin", b"http://testserver")


def users(count: int) -> list[Any]:
    model = get_user_model()
    have = model.objects.count()
    model.objects.bulk_create(
        [model(username=f"user{i}", email=f"user{i}@example.com") for i in range(have, count)]
    )
    return list(model.objects.order_by("pk")[:count])


def sessions(people: list[Any], count: int) -> list[str]:
    """``count`` logged-in Django sessions (as ``login()`` leaves them), in one transaction."""
    from django.contrib.sessions.models import Session
    from django.db import transaction
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    rows, keys = [], []
    expires = timezone.now() + datetime.timedelta(days=1)
    for i in range(count):
        user = people[i % len(people)]
        data = {
            "_auth_user_id": str(user.pk),
            "_auth_user_backend": "django.contrib.auth.backends.ModelBackend",
            "_auth_user_hash": user.get_session_auth_hash(),
        }
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        rows.append(Session(session_key=key, session_data=SessionStore().encode(data),
                            expire_date=expires))  # fmt: skip
        keys.append(key)
    with transaction.atomic():
        Session.objects.bulk_create(rows, batch_size=500)
    return keys


def tokens(people: list[Any], count: int) -> list[str]:
    return [JWTAuth.create({"id": str(people[i % len(people)].pk)}) for i in range(count)]


async def handshake(path: str, headers: list[tuple[bytes, bytes]], protocols: Any = None) -> None:
    communicator = WebsocketCommunicator(application, path, headers=headers, subprotocols=protocols)
    connected, _ = await communicator.connect()
    assert connected
    greeting = await communicator.receive_from()
    assert greeting
    await communicator.disconnect()


CASES = [
    "floor (no authentication)",
    "NextAuth Bearer",
    "NextAuth session cookie",
    "NextAuth subprotocol",
    "NextAuth Bearer, database mode",
    "Channels AuthMiddlewareStack, DB session",
]


def offer(case: str, token: str, session: str) -> tuple[str, list[tuple[bytes, bytes]], Any]:
    if case.startswith("floor"):
        return "/ws/floor/", [HOST], None
    if case.startswith("NextAuth Bearer"):
        return "/ws/nextauth/", [HOST, (b"authorization", f"Bearer {token}".encode())], None
    if case == "NextAuth session cookie":
        return "/ws/nextauth/", [HOST, ORIGIN, (b"cookie", f"{COOKIE}={token}".encode())], None
    if case == "NextAuth subprotocol":
        return "/ws/nextauth/", [HOST], ["chat", PROTOCOL_PREFIX + token]
    return "/ws/session/", [HOST, ORIGIN, (b"cookie", f"sessionid={session}".encode())], None


async def batch(case: str, pool: list[str], keys: list[str]) -> float:
    """Seconds per handshake of ``case`` over the tokens and sessions given (one each)."""
    database = case.endswith("database mode")
    with override_settings(NEXTAUTH_USER_MODE="database" if database else "stateless"):
        started = time.process_time()  # every thread's CPU: the thread hops count too
        for token, session in zip(pool, keys, strict=True):
            await handshake(*offer(case, token, session))
        return (time.process_time() - started) / len(pool)


def handshakes(rounds: int, per_round: int) -> None:
    people = users(100)
    need = rounds * per_round * len(CASES) + 20
    print(f"minting {need} tokens and sessions ...", flush=True)
    pool, keys = tokens(people, need), sessions(people, need)
    asyncio.run(timed(rounds, per_round, pool, keys))


async def timed(rounds: int, per_round: int, pool: list[str], keys: list[str]) -> None:
    for case in CASES:  # warm-up: imports, first queries, the policy
        await batch(case, pool[:20], keys[:20])
    results: dict[str, list[float]] = {case: [] for case in CASES}
    at = 20
    for _ in range(rounds):
        order = CASES[:]
        random.shuffle(order)
        for case in order:
            took = await batch(case, pool[at : at + per_round], keys[at : at + per_round])
            at += per_round
            results[case].append(took)
    floor = results[CASES[0]]
    session = results[CASES[-1]]
    print(f"\nhandshake (connect, greeting, disconnect), {rounds} rounds x {per_round}")
    print(f"{'case':44} {'us':>8} {'overhead':>9} {'vs session':>11}")
    for case in CASES:
        per = statistics.median(results[case]) * 1e6
        overheads = [a - f for a, f in zip(results[case], floor, strict=True)]
        ratios = [(a - f) / (s - f) for a, f, s in zip(results[case], floor, session, strict=True)]
        ratio = "" if case == CASES[0] else f"{statistics.median(ratios):10.2f}x"
        print(f"{case:44} {per:8.0f} {statistics.median(overheads) * 1e6:9.0f} {ratio:>11}")


# ----------------------------------------------------------------------------------------------
# Memory per open socket
# ----------------------------------------------------------------------------------------------


def rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def open_sockets(url: str, offers: list[dict[str, Any]]) -> list[Any]:
    from websockets.asyncio.client import connect

    gate = asyncio.Semaphore(200)
    opened: list[Any] = []

    async def one(kwargs: dict[str, Any]) -> None:
        async with gate:
            ws = await connect(url, open_timeout=60, ping_interval=None, **kwargs)
            greeting = await ws.recv()
            # The floor's consumer has no user; every other socket must have authenticated.
            assert (greeting == "-") == url.endswith("/ws/floor/"), greeting
            opened.append(ws)

    await asyncio.gather(*(one(kwargs) for kwargs in offers))
    return opened


async def hold(url: str, offers: list[dict[str, Any]], pid: int) -> tuple[int, int]:
    warm = await open_sockets(url, offers[:100])  # imports, first queries, pools
    for ws in warm:
        await ws.close()
    await asyncio.sleep(1)
    before = rss(pid)
    opened = await open_sockets(url, offers[100:])
    await asyncio.sleep(2)
    after = rss(pid)
    for ws in opened:
        await ws.close()
    return before, after


def memory(count: int) -> None:
    people = users(100)
    total = count + 100
    print(f"\nminting {total} tokens and sessions for the open sockets ...", flush=True)
    pool, keys = tokens(people, total), sessions(people, total)
    rows: dict[str, tuple[str, list[dict[str, Any]]]] = {
        "floor (no authentication)": ("/ws/floor/", [{} for _ in range(total)]),
        "NextAuth Bearer (distinct tokens)": (
            "/ws/nextauth/",
            [{"additional_headers": {"Authorization": f"Bearer {t}"}} for t in pool],
        ),
        "Channels AuthMiddlewareStack, DB session": (
            "/ws/session/",
            [
                {"additional_headers": {"Cookie": f"sessionid={k}", "Origin": "http://x"}}
                for k in keys
            ],
        ),
    }
    print(f"\nopen idle sockets in one uvicorn process: {count}")
    print(f"{'case':44} {'RSS before':>11} {'after':>9} {'per socket':>11} {'per GB':>9}")
    for name, (path, offers) in rows.items():
        port = free_port()
        env = {**os.environ, "PYTHONPATH": f"{HERE}{os.pathsep}{ROOT}"}
        command = [
            sys.executable, "-m", "uvicorn", "channels_asgi:application",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning",
            "--ws-ping-interval", "0", "--backlog", "4096",
        ]  # fmt: skip
        proc = subprocess.Popen(command, cwd=ROOT, env=env)
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                    break
                except urllib.error.HTTPError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            before, after = asyncio.run(hold(f"ws://127.0.0.1:{port}{path}", offers, proc.pid))
        finally:
            proc.terminate()
            proc.wait(10)
        per = (after - before) / count
        print(
            f"{name:44} {before / 2**20:9.1f}MB {after / 2**20:7.1f}MB "
            f"{per / 1024:9.1f}KB {1e9 / per:9.0f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--per-round", type=int, default=200)
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--quick", action="store_true", help="a few of each: checks it runs")
    parser.add_argument("--no-memory", action="store_true", help="handshakes only")
    parser.add_argument("--no-handshakes", action="store_true", help="open sockets only")
    args = parser.parse_args()
    if args.quick:
        args.rounds, args.per_round, args.sockets = 2, 10, 200
    call_command("migrate", verbosity=0)
    if not args.no_handshakes:
        handshakes(args.rounds, args.per_round)
    if not args.no_memory:
        memory(args.sockets)


if __name__ == "__main__":
    main()
