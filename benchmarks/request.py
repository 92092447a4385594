"""Whole-request cost: this app against djangorestframework-simplejwt, in process and over HTTP.

    make bench                      # runs benchmarks/verify.py, then this
    .venv/bin/python benchmarks/request.py [--rounds 30] [--requests 100] [--no-http]
    .venv/bin/python benchmarks/request.py --quick      # a few rounds: checks it runs, no numbers

In process: requests go through Django's WSGI handler (``benchmarks/request_settings.py``:
DEBUG off, Django's default middleware) to a DRF ``APIView`` (``request_urls.py``) with
no authentication (the floor), simplejwt's stateless HS256 authentication, or this app's
DRF class: per format, Bearer and cookie, deny-list off / embedded (the per-process store) /
Redis (``NEXTAUTH_REDIS_URL`` with its local, pub/sub-fed view: the default) / Redis without
the view (``NEXTAUTH_REDIS_LOCAL_VIEW = False``: a round trip per check, distinct tokens
only), a distinct token per request (a fresh ``jti`` each) or one token repeated. The view
is live before the first timed batch, and the ``MGET`` commands the Redis rows sent are
counted and printed (0 with the view: every check answered in process). Cost is the thread's
CPU time per request; a case's auth overhead is its cost minus the floor's in the same
round. For the cookie rows that floor receives the same session cookie (the "floor, <format>
session cookie" rows): a browser sends it whether or not anything authenticates with it, and
Django's CSRF middleware parses it either way; their ratio over the bare floor is printed
beside them too (column "bare"). Rounds are interleaved (every case once per round, in a
shuffled order), and each ratio is taken within a round, then the median over rounds is
printed with its interquartile range: on a shared machine absolute numbers wander, paired
ratios much less. The middleware row compares a token-less request with and without
``NextAuthJWTMiddleware``; its target, "within noise", is the semi-interquartile range of
the floor's paired difference from a second measurement of itself (the A/A row): a
difference no larger than what two
identical cases show from round to round.

Over HTTP: the same site under gunicorn (2 sync workers, loopback), one server with the
deny-list in local memory and one with it in Redis; a bounded number of requests per case
and round from a few client threads (one connection per request: sync workers close it),
each batch right after a batch of simplejwt's on the same server, throughput ratio against
that batch, median over rounds. The client shares the machine.

The deny-list lookup alone: ``get_many`` of the embedded store, of the Redis store with its
view live and without it, and a bare ``PING``; the connections opened across requests.
The view's staleness across two processes: this process writes revocations in Redis, a
child process with a live view polls for them (every 0.2 ms, sleeping in between); the time
from the write's start to the child seeing it is printed (median, 90th percentile, max).
Every Redis key is under this run's own prefix and deleted at the end.

Ratios are measured in one run on one machine; the tests only check that this runs.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import os
import random
import socket
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Forced, not defaulted: under pytest the environment names the test settings.
os.environ["DJANGO_SETTINGS_MODULE"] = "benchmarks.request_settings"
#: Every Redis key of this run starts with it (the gunicorn processes inherit it).
PREFIX = os.environ.setdefault(
    "BENCH_REDIS_PREFIX", f"bench-request-{os.getpid()}-{uuid.uuid4().hex[:8]}"
)

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.test import override_settings  # noqa: E402
from rest_framework_simplejwt.tokens import AccessToken  # noqa: E402

from django_nextauth_jwt import JWTAuth  # noqa: E402
from django_nextauth_jwt.middleware import NextAuthJWTMiddleware  # noqa: E402
from tests.servers import free_port, redis_up, running  # noqa: E402

FORMATS = ("jws", "nextauth-v4", "authjs-v5")
COOKIES = {
    "jws": "next-auth.session-token",
    "nextauth-v4": "next-auth.session-token",
    "authjs-v5": "authjs.session-token",
}
CLAIMS = {"id": "user-1", "email": "ada@example.com", "name": "Ada Lovelace", "role": "admin"}
DENYLIST: dict[str, dict[str, Any]] = {
    "off": {"NEXTAUTH_REVOCATION": False},
    # The embedded state store (per process, never evicting): the default.
    "embedded": {"NEXTAUTH_REVOCATION": True, "NEXTAUTH_REDIS_URL": None},
    # The state store in Redis (NEXTAUTH_REDIS_URL), under this run's own key prefix, with
    # the local view of the deny-list (the default).
    "redis": {
        "NEXTAUTH_REVOCATION": True,
        "NEXTAUTH_REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        "NEXTAUTH_REDIS_KEY_PREFIX": PREFIX + ":",
        "NEXTAUTH_REDIS_LOCAL_VIEW": True,
    },
    # The same without the view: one MGET (a round trip) per check, as before it.
    "redis-no-view": {
        "NEXTAUTH_REVOCATION": True,
        "NEXTAUTH_REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
        "NEXTAUTH_REDIS_KEY_PREFIX": PREFIX + ":",
        "NEXTAUTH_REDIS_LOCAL_VIEW": False,
    },
}
#: The issue's targets: auth overhead against simplejwt's, per deny-list store.
OVERHEAD_TARGETS: dict[str, float | None] = {
    "off": None,
    "embedded": 0.5,
    "redis": 0.6,
    "redis-no-view": None,  # shown for what the view saves
}
HTTP_TARGET = 1.05
MIDDLEWARE_PATH = "django_nextauth_jwt.middleware.NextAuthJWTMiddleware"
#: The floor measured twice: how far two identical cases drift apart in one run.
AA_LABEL = "floor again (A/A: the noise)"
#: A browser without a session still sends cookies: Django's CSRF and session cookies.
OTHER_COOKIES = "csrftoken=" + "c" * 32 + "; sessionid=" + "s" * 32
FLOOR_COOKIES = "floor, other cookies"


# --------------------------------------------------------------------------- #
# Tokens and requests
# --------------------------------------------------------------------------- #


def mint(kind: str, fmt: str | None = None) -> str:
    if kind == "simplejwt":
        token = AccessToken()
        token["user_id"] = CLAIMS["id"]
        return str(token)
    return JWTAuth.create(CLAIMS, format=fmt)


def environ(
    path: str, transport: str | None, token: str | None, fmt: str | None, cookies: str = ""
) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": path,
        "SCRIPT_NAME": "",
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "127.0.0.1",
        "HTTP_ACCEPT": "application/json",
        "HTTP_USER_AGENT": "bench/1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    if token is not None and transport == "bearer":
        env["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    elif token is not None and transport == "cookie":
        assert fmt is not None
        env["HTTP_COOKIE"] = f"{COOKIES[fmt]}={token}"
    if cookies:
        env["HTTP_COOKIE"] = cookies
    return env


@dataclass
class Case:
    """One row: what is sent, to which view, through which handler, under which settings."""

    label: str
    kind: str  # floor | simplejwt | nextauth | middleware
    path: str
    fmt: str | None = None
    transport: str | None = None
    denylist: str = "embedded"
    repeated: bool = False
    middleware: bool = False
    cookies: str = ""  # a browser's other cookies, for the token-less cases
    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)
    failures: int = 0

    def token(self) -> str | None:
        return None if self.kind in ("floor", "middleware") else mint(self.kind, self.fmt)

    def batches(self, rounds: int, n: int) -> Iterator[tuple[list[dict[str, Any]], list[Any]]]:
        """(warm-up, timed) environs per round; distinct cases mint a token per request."""
        if self.repeated or self.token() is None:
            same = environ(self.path, self.transport, self.token(), self.fmt, self.cookies)
            for _ in range(rounds):
                yield [same] * 3, [same] * n
            return
        for _ in range(rounds):
            envs = [environ(self.path, self.transport, self.token(), self.fmt) for _ in range(n)]
            warm = [environ(self.path, self.transport, self.token(), self.fmt) for _ in range(3)]
            yield warm, envs


def session_floor(fmt: str) -> str:
    """The label of the floor that receives a session cookie of ``fmt`` (and ignores it)."""
    return f"floor, {fmt} session cookie"


def in_process_cases(with_redis: bool, only: str | None = None) -> list[Case]:
    """Every row; with ``only``, the floors, simplejwt's and the rows whose label contains it."""
    cases = _all_cases(with_redis)
    if only:
        cases = [c for c in cases if c.kind in ("floor", "simplejwt") or only in c.label]
    return cases


def _all_cases(with_redis: bool) -> list[Case]:
    cases = [
        Case("floor (no authentication)", "floor", "/floor/"),
        Case(AA_LABEL, "floor", "/floor/"),
        Case("middleware, no token", "middleware", "/floor/", middleware=True),
        Case(FLOOR_COOKIES, "floor", "/floor/", cookies=OTHER_COOKIES),
        Case(
            "middleware, no token, other cookies",
            "middleware",
            "/floor/",
            middleware=True,
            cookies=OTHER_COOKIES,
        ),
        *(
            # The cookie a browser sends with every request whether or not anything reads it
            # (Django's CSRF middleware parses it): the floor of the cookie rows.
            Case(session_floor(fmt), "floor", "/floor/", fmt, cookies=f"{COOKIES[fmt]}={token}")
            for fmt, token in ((fmt, mint("nextauth", fmt)) for fmt in FORMATS)
        ),
        Case("simplejwt Bearer distinct", "simplejwt", "/simplejwt/", transport="bearer"),
        Case(
            "simplejwt Bearer repeated",
            "simplejwt",
            "/simplejwt/",
            transport="bearer",
            repeated=True,
        ),
    ]
    stores = ("off", "embedded", "redis", "redis-no-view") if with_redis else ("off", "embedded")
    for fmt in FORMATS:
        for transport in ("bearer", "cookie"):
            for store in stores:
                for repeated in (False, True) if store != "redis-no-view" else (False,):
                    which = "repeated" if repeated else "distinct"
                    label = f"{fmt} {transport} deny-list {store} {which}"
                    cases.append(
                        Case(label, "nextauth", "/nextauth/", fmt, transport, store, repeated)
                    )
    return cases


def handlers() -> tuple[WSGIHandler, WSGIHandler]:
    """Django's handler with the default middleware, and with this app's middleware added."""
    plain = WSGIHandler()
    with override_settings(MIDDLEWARE=[*settings.MIDDLEWARE, MIDDLEWARE_PATH]):
        with_middleware = WSGIHandler()
    return plain, with_middleware


def run_batch(handler: WSGIHandler, envs: list[dict[str, Any]]) -> tuple[int, int, int]:
    """CPU and wall nanoseconds for ``envs`` through ``handler``, and the non-200 answers."""
    statuses: list[str] = []

    def start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
        statuses.append(status)

    gc.disable()
    try:
        cpu, wall = time.thread_time_ns(), time.perf_counter_ns()
        for env in envs:
            response = handler(env.copy(), start_response)
            for _ in response:
                pass
            response.close()
        cpu, wall = time.thread_time_ns() - cpu, time.perf_counter_ns() - wall
    finally:
        gc.enable()
    return cpu, wall, sum(not s.startswith("200") for s in statuses)


def redis_store(which: str) -> Any:
    """The state store the ``which`` deny-list settings select (its view live, if it has one)."""
    from django_nextauth_jwt.state import store

    with override_settings(**DENYLIST[which]):
        held: Any = store.current()
    if held.view is not None and not held.view.wait_live(10):
        print(f"# the local view of {which!r} did not go live: its rows read Redis")
    return held


def count_mgets(held: Any) -> list[int]:
    """Count the ``MGET`` commands (round trips per check) ``held`` sends from now on."""
    sent = [0]
    original = held.client.mget

    def mget(*args: Any, **kwargs: Any) -> Any:
        sent[0] += 1
        return original(*args, **kwargs)

    held.client.mget = mget
    return sent


def measure_in_process(cases: list[Case], rounds: int, n: int, seed: int) -> dict[str, list[int]]:
    plain, with_middleware = handlers()
    mgets: dict[str, list[int]] = {}
    for which in ("redis", "redis-no-view"):
        if any(case.denylist == which for case in cases):
            mgets[which] = count_mgets(redis_store(which))
    gc.collect()
    gc.freeze()  # what is alive now (Django, the site, the handlers) is never scanned again
    plans = {id(case): case.batches(rounds, n) for case in cases}
    rng = random.Random(seed)  # noqa: S311 - an order, nothing secret
    for _ in range(rounds):
        order = cases[:]
        rng.shuffle(order)
        for case in order:
            warm, envs = next(plans[id(case)])
            handler = with_middleware if case.middleware else plain
            with override_settings(**DENYLIST[case.denylist]):
                run_batch(handler, warm)  # new settings object: policy, keys, cache objects
                gc.collect(1)  # the young generations: a full collection would dominate the run
                cpu, wall, failures = run_batch(handler, envs)
            case.cpu.append(cpu / len(envs) / 1000)
            case.wall.append(wall / len(envs) / 1000)
            case.failures += failures
    return mgets


# --------------------------------------------------------------------------- #
# Tables
# --------------------------------------------------------------------------- #


def quartiles(values: list[float]) -> tuple[float, float, float]:
    if len(values) < 2:
        return values[0], values[0], values[0]
    q1, q2, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q2, q3


def verdict(ok: bool | None) -> str:
    return "-" if ok is None else ("met" if ok else "MISSED")


def report_in_process(cases: list[Case]) -> tuple[bool, bool]:
    """Print the table; (every target met, every request answered 200)."""
    by_label = {case.label: case for case in cases}
    floor = by_label["floor (no authentication)"]
    rounds = range(len(floor.cpu))

    def overhead(case: Case, base: Case = floor) -> list[float]:
        return [case.cpu[r] - base.cpu[r] for r in rounds]

    def base_of(case: Case) -> Case:
        """What a case's request costs without authentication: the floor, with the same cookie.

        A browser sends the session cookie whether or not anything authenticates with it, and
        Django parses it either way (its CSRF middleware reads the cookies): that is not what
        authenticating costs. Bearer rows and simplejwt's are measured over the bare floor.
        """
        if case.kind == "nextauth" and case.transport == "cookie":
            return by_label[session_floor(case.fmt or "")]
        return floor

    def paired(case: Case, base: Case | None = None) -> list[float]:
        """The case's overhead over simplejwt's (same token reuse), round by round."""
        peer = by_label[
            "simplejwt Bearer repeated" if case.repeated else "simplejwt Bearer distinct"
        ]
        ours = overhead(case, base or base_of(case))
        return [a / b for a, b in zip(ours, overhead(peer), strict=True) if b > 0]

    print(
        f"{'case':<44} {'us/req':>7} {'overhead':>9} {'ratio':>6} {'(p25-p75)':>13} "
        f"{'bare':>5} {'target':>8}  verdict"
    )
    all_met, answered = True, True
    for case in cases:
        answered &= case.failures == 0
        cost = statistics.median(case.cpu)
        note = f"  ({case.failures} non-200)" if case.failures else ""
        if case is floor:
            print(f"{case.label:<44} {cost:>7.1f} {'':>45}  -{note}")
            continue
        if case.kind in ("floor", "middleware"):
            # Within noise: the middleware's median paired difference from the floor (with
            # the same cookies) is no larger than the floor's own round-to-round noise, the
            # semi-interquartile range of its paired difference from itself (A/A).
            base = by_label[FLOOR_COOKIES] if case.cookies and case.kind != "floor" else floor
            q1, q2, q3 = quartiles(overhead(case, base))
            aa = quartiles(overhead(by_label[AA_LABEL]))
            noise = (aa[2] - aa[0]) / 2
            quiet: bool | None = None if case.kind == "floor" else q2 <= noise
            all_met &= quiet is not False
            shown = "" if quiet is None else f"<={noise:+.1f}"
            print(
                f"{case.label:<44} {cost:>7.1f} {q2:>+9.2f} {'':>6} "
                f"{f'({q1:+.1f}..{q3:+.1f})':>13} {'':>5} {shown:>8}  {verdict(quiet)}{note}"
            )
            continue
        ratios = paired(case)
        q1, q2, q3 = quartiles(ratios) if ratios else (float("nan"),) * 3
        limit = None if case.kind == "simplejwt" else OVERHEAD_TARGETS[case.denylist]
        ok: bool | None = None if limit is None else q2 <= limit
        all_met &= ok is not False
        shown = "" if limit is None else f"<={limit}"
        base = base_of(case)
        # "bare": a cookie row's ratio over the bare floor (Django's parse of the cookie
        # counted as authentication's cost), for comparison.
        bare = f"{statistics.median(paired(case, floor)):.2f}" if base is not floor else ""
        print(
            f"{case.label:<44} {cost:>7.1f} {statistics.median(overhead(case, base)):>9.1f} "
            f"{q2:>6.2f} {f'({q1:.2f}-{q3:.2f})':>13} {bare:>5} {shown:>8}  {verdict(ok)}{note}"
        )
    for which in ("redis", "redis-no-view"):
        rows = [c for c in cases if c.denylist == which and c.kind == "nextauth"]
        if rows:
            walls = statistics.median(statistics.median(c.wall) for c in rows)
            cpus = statistics.median(statistics.median(c.cpu) for c in rows)
            ratios = [statistics.median(paired(c)) for c in rows]
            target = OVERHEAD_TARGETS[which]
            shown = f" (target <= {target}x)" if target is not None else ""
            print(
                f"(deny-list {which} rows: median wall {walls:.1f} us/req against {cpus:.1f} us "
                f"of CPU; overhead {min(ratios):.2f}-{max(ratios):.2f}x simplejwt's{shown})"
            )
    return all_met, answered


# --------------------------------------------------------------------------- #
# Middleware alone, and Redis alone
# --------------------------------------------------------------------------- #


def cpu_per_call(fn: Callable[[], Any], n: int, repeats: int = 5) -> tuple[float, float]:
    """Median CPU and wall microseconds per call of ``fn`` over ``repeats`` batches of ``n``."""
    cpu_samples, wall_samples = [], []
    for _ in range(repeats):
        gc.disable()
        try:
            cpu, wall = time.thread_time_ns(), time.perf_counter_ns()
            for _ in range(n):
                fn()
            cpu, wall = time.thread_time_ns() - cpu, time.perf_counter_ns() - wall
        finally:
            gc.enable()
        cpu_samples.append(cpu / n / 1000)
        wall_samples.append(wall / n / 1000)
    return statistics.median(cpu_samples), statistics.median(wall_samples)


def middleware_alone(n: int) -> None:
    from django.test import RequestFactory

    middleware = NextAuthJWTMiddleware(lambda request: None)  # type: ignore[arg-type]
    factory = RequestFactory()
    request = factory.get("/floor/")

    def once() -> None:
        request.__dict__.pop("nextauth", None)
        middleware.process(request)

    cpu, _ = cpu_per_call(once, n)
    print(f"{'NextAuthJWTMiddleware.process, no token':<44} {cpu:>7.2f} us/call (CPU)")


def store_cost(n: int) -> None:
    """What one deny-list check's store read costs, and whether connections are reused."""
    from django_nextauth_jwt.state import store

    keys = ["sid:bench-absent", "user:bench-absent"]  # what a check reads: session, cut-off
    memory = store.MemoryStore()
    with_view, without = redis_store("redis"), redis_store("redis-no-view")
    rows = [
        ("MemoryStore.get_many (embedded)", lambda: memory.get_many(keys)),
        ("RedisStore.get_many, local view live", lambda: with_view.get_many(keys)),
        ("RedisStore.get_many, no view (one MGET)", lambda: without.get_many(keys)),
        ("redis-py PING (a round trip alone)", without.client.ping),
    ]
    print(f"{'deny-list store read (2 keys)':<44} {'CPU us':>8} {'wall us':>8}")
    for label, fn in rows:
        cpu, wall = cpu_per_call(fn, n)
        print(f"{label:<44} {cpu:>8.2f} {wall:>8.1f}")
    requests = 10 if n < 100 else 200
    env = environ("/nextauth/", "bearer", mint("nextauth", "authjs-v5"), "authjs-v5")
    for which in ("redis", "redis-no-view"):
        with override_settings(**DENYLIST[which]):
            handler = WSGIHandler()
            run_batch(handler, [env])
            held: Any = store.current()
            pool = held.client.connection_pool
            before = int(pool._created_connections)
            _, _, failures = run_batch(handler, [env] * requests)
            after = int(pool._created_connections)
        print(
            f"connections opened during {requests} requests, deny-list {which}: "
            f"{after - before} (pool holds {after}){' - requests failed' if failures else ''}"
        )


def staleness(count: int) -> None:
    """Revocations written here, seen by another process's local view: how long it takes."""
    import subprocess

    from django_nextauth_jwt.state import store

    url = DENYLIST["redis"]["NEXTAUTH_REDIS_URL"]
    prefix = f"{PREFIX}:probe:"
    writer = store.RedisStore(url, prefix, local_view=False)
    child = subprocess.Popen(
        [sys.executable, __file__, "--probe", str(count)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            print("the probe's view did not go live: no staleness measured")
            return
        rng = random.Random(12)  # noqa: S311 - pauses, nothing secret
        started, returned = [], []
        for i in range(count):
            time.sleep(rng.uniform(0.002, 0.01))
            started.append(time.monotonic_ns())
            writer.put_max(f"sid:probe-{i}", 1, 60)
            returned.append(time.monotonic_ns())
        seen = [int(line) for line in child.stdout.read().split()]
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
        writer.close()
    if len(seen) != count:
        print(f"the probe saw {len(seen)} of {count} revocations")
        return
    lags = sorted((s - t) / 1e6 for s, t in zip(seen, started, strict=True))
    trips = statistics.median((r - t) / 1e6 for r, t in zip(returned, started, strict=True))
    p90 = lags[min(len(lags) - 1, int(0.9 * len(lags)))]
    print(
        f"local view staleness across two processes, {count} revocations: median "
        f"{statistics.median(lags):.2f} ms, p90 {p90:.2f} ms, max {lags[-1]:.2f} ms "
        f"(from the write's start; the write's own round trip: {trips:.2f} ms)"
    )


def redis_alone(quick: bool) -> None:
    print()
    store_cost(500 if not quick else 10)
    staleness(200 if not quick else 5)


def probe(count: int) -> int:
    """The child of :func:`staleness`: a live view, polled for each revocation in turn."""
    from django_nextauth_jwt.state import store

    url = DENYLIST["redis"]["NEXTAUTH_REDIS_URL"]
    held = store.RedisStore(url, f"{PREFIX}:probe:")
    assert held.view is not None
    if not held.view.wait_live(10):
        print("not live", flush=True)
        return 1
    print("ready", flush=True)
    seen = []
    deadline = time.monotonic() + 60
    for i in range(count):
        key = [f"sid:probe-{i}"]
        while held.view.get_many(key) != [1] and time.monotonic() < deadline:
            time.sleep(0.0002)  # a request thread's pace, not a busy loop holding the GIL
        seen.append(time.monotonic_ns())
    print("\n".join(map(str, seen)), flush=True)
    held.close()
    return 0


def clean_redis(prefix: str) -> int:
    import redis

    client = redis.Redis.from_url(DENYLIST["redis"]["NEXTAUTH_REDIS_URL"])
    deleted = 0
    for key in client.scan_iter(match=f"{prefix}*", count=500):
        deleted += int(client.delete(key))
    client.close()
    return deleted


# --------------------------------------------------------------------------- #
# HTTP
# --------------------------------------------------------------------------- #


@dataclass
class HttpCase:
    label: str
    server: str  # local | redis
    path: str
    kind: str
    fmt: str | None = None
    transport: str | None = None
    rps: list[float] = field(default_factory=list)
    #: Per round: this case's throughput over simplejwt's, measured right before it.
    ratios: list[float] = field(default_factory=list)
    failures: int = 0

    def request(self) -> bytes:
        lines = [f"GET {self.path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
        if self.kind != "floor":
            token = mint(self.kind, self.fmt)
            if self.transport == "cookie":
                assert self.fmt is not None
                lines.append(f"Cookie: {COOKIES[self.fmt]}={token}")
            else:
                lines.append(f"Authorization: Bearer {token}")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def http_cases(with_redis: bool) -> list[HttpCase]:
    cases = [
        HttpCase("floor (no authentication)", "local", "/floor/", "floor"),
        HttpCase("simplejwt Bearer", "local", "/simplejwt/", "simplejwt", transport="bearer"),
    ]
    for fmt in FORMATS:
        for transport in ("bearer", "cookie"):
            label = f"{fmt} {transport} deny-list embedded"
            cases.append(HttpCase(label, "local", "/nextauth/", "nextauth", fmt, transport))
    if with_redis:
        for fmt in FORMATS:
            label = f"{fmt} bearer deny-list redis"
            cases.append(HttpCase(label, "redis", "/nextauth/", "nextauth", fmt, "bearer"))
    return cases


def fetch(port: int, payload: bytes) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(payload)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return b"".join(chunks).startswith(b"HTTP/1.1 200")


def http_batch(port: int, payloads: list[bytes], threads: int, seconds: float) -> tuple[float, int]:
    """Requests per second for ``payloads`` sent by ``threads`` clients (stops at ``seconds``)."""
    done = [0] * threads
    bad = [0] * threads
    deadline = time.monotonic() + seconds

    def client(i: int) -> None:
        for payload in payloads[i::threads]:
            if time.monotonic() > deadline:
                return
            try:
                ok = fetch(port, payload)
            except OSError:
                ok = False
            done[i] += 1
            bad[i] += not ok

    workers = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    start = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(done) / (time.perf_counter() - start), sum(bad)


@contextlib.contextmanager
def gunicorn(store: str) -> Iterator[int]:
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "django.core.wsgi:get_wsgi_application()",
        "--workers",
        "2",
        "--bind",
        f"127.0.0.1:{port}",
        "--graceful-timeout",
        "3",
    ]
    env = {
        "DJANGO_SETTINGS_MODULE": "benchmarks.request_settings",
        "PYTHONPATH": str(ROOT),
        "BENCH_REDIS_STATE": "1" if store == "redis" else "0",
        "BENCH_REDIS_PREFIX": PREFIX,
    }
    with running(command, f"http://127.0.0.1:{port}/floor/", cwd=ROOT, env=env):
        yield port


def measure_http(cases: list[HttpCase], args: argparse.Namespace) -> None:
    rounds, n, threads, seconds = (
        args.http_rounds,
        args.http_requests,
        args.http_threads,
        args.http_seconds,
    )
    stores = sorted({case.server for case in cases})
    with contextlib.ExitStack() as stack:
        ports = {store: stack.enter_context(gunicorn(store)) for store in stores}
        for case in cases:  # warm both workers: imports, policy, keys
            http_batch(ports[case.server], [case.request() for _ in range(20)], threads, seconds)
        rng = random.Random(args.seed)  # noqa: S311 - an order, nothing secret
        plans = {
            id(case): [[case.request() for _ in range(n)] for _ in range(rounds)] for case in cases
        }
        peer = next(case for case in cases if case.kind == "simplejwt")
        peer_plan = [[peer.request() for _ in range(n)] for _ in range(rounds * len(cases))]
        for r in range(rounds):
            order = [case for case in cases if case is not peer]
            rng.shuffle(order)
            for case in order:
                # Each batch right after one of simplejwt's on the same server: a load that
                # comes and goes on the shared machine lands on both sides of the ratio.
                base, bad = http_batch(ports[case.server], peer_plan.pop(), threads, seconds)
                peer.rps.append(base)
                peer.failures += bad
                rps, bad = http_batch(ports[case.server], plans[id(case)][r], threads, seconds)
                case.rps.append(rps)
                case.ratios.append(rps / base)
                case.failures += bad


def report_http(cases: list[HttpCase]) -> tuple[bool, bool]:
    peer = next(case for case in cases if case.kind == "simplejwt")
    print(f"{'case':<44} {'req/s':>7} {'ratio':>6} {'(p25-p75)':>13} {'target':>8}  verdict")
    all_met, answered = True, True
    for case in cases:
        answered &= case.failures == 0
        note = f"  ({case.failures} non-200)" if case.failures else ""
        ratios = case.ratios if case is not peer else [1.0]
        q1, q2, q3 = quartiles(ratios)
        limit = HTTP_TARGET if case.kind == "nextauth" else None
        ok: bool | None = None if limit is None else q2 >= limit
        all_met &= ok is not False
        shown = "" if limit is None else f">={limit}"
        print(
            f"{case.label:<44} {statistics.median(case.rps):>7.0f} {q2:>6.3f} "
            f"{f'({q1:.3f}-{q3:.3f})':>13} {shown:>8}  {verdict(ok)}{note}"
        )
    return all_met, answered


# --------------------------------------------------------------------------- #


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="interleaved in-process rounds")
    parser.add_argument("--requests", type=int, default=100, help="requests per case and round")
    parser.add_argument("--http-rounds", type=int, default=15)
    parser.add_argument("--http-requests", type=int, default=300, help="per case and round")
    parser.add_argument("--http-threads", type=int, default=4, help="client threads")
    parser.add_argument("--http-seconds", type=float, default=10, help="cap per case and round")
    parser.add_argument("--no-http", action="store_true", help="skip the gunicorn part")
    parser.add_argument("--seed", type=int, default=12)
    parser.add_argument("--quick", action="store_true", help="a few rounds: proves it runs")
    parser.add_argument(
        "--only",
        metavar="TEXT",
        help="only the rows whose label contains TEXT (besides the floor and simplejwt rows)",
    )
    parser.add_argument("--probe", type=int, help=argparse.SUPPRESS)  # staleness's child
    return parser.parse_args()


def main() -> int:
    args = arguments()
    if args.probe:
        return probe(args.probe)
    if args.quick:
        args.rounds, args.requests = 2, 4
        args.http_rounds, args.http_requests, args.http_threads = 1, 8, 2
    with_redis = redis_up()
    python = sys.version.split()[0]
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"# in process: {args.rounds} interleaved rounds x {args.requests} requests per case; "
        f"thread CPU time; Python {python}, Django {django.__version__}; load average {load}"
    )
    if not with_redis:
        print("# Redis is not answering at 127.0.0.1:6379: the Redis rows are skipped")
    print()
    cases = in_process_cases(with_redis, args.only)
    try:
        mgets = measure_in_process(cases, args.rounds, args.requests, args.seed)
        met, answered = report_in_process(cases)
        for which, sent in mgets.items():
            print(f"MGETs sent by the deny-list {which} rows: {sent[0]}")
        print()
        middleware_alone(1000 if not args.quick else 10)
        if with_redis:
            redis_alone(args.quick)
        if not args.no_http:
            print()
            print(
                f"# over HTTP: gunicorn, 2 sync workers, loopback; {args.http_rounds} interleaved "
                f"rounds x {args.http_requests} requests per case from {args.http_threads} "
                "client threads on the same machine; throughput ratio against a simplejwt "
                "batch run just before on the same server"
            )
            print()
            cases_http = http_cases(with_redis)
            measure_http(cases_http, args)
            http_met, http_answered = report_http(cases_http)
            met &= http_met
            answered &= http_answered
    finally:
        if with_redis:
            deleted = clean_redis(PREFIX)
            print(f"\nRedis keys under {PREFIX!r} deleted: {deleted}")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average at the end: {load}")
    if not answered:
        print("some requests were not answered 200: the numbers above are not comparable")
        return 1
    return 0 if met else 2


if __name__ == "__main__":
    raise SystemExit(main())
