"""What one anonymous request costs the service: CPU time and bytes written, per kind.

    make bench                                        # runs this after request.py
    .venv/bin/python benchmarks/anonymous.py [--rounds 7] [--requests 200]
    .venv/bin/python benchmarks/anonymous.py --quick  # a few requests: checks it runs

In process, through Django's WSGI handler (the test client) with Django's default
middleware, the database session engine and SQLite, the embedded state store, and Django's
default password hasher (PBKDF2, as a project has it). Each kind of request an anonymous
sender can make, each from a fresh client address (a fresh IPv6 /64, or a fresh IPv4
address) so that no throttle stops it, unless the row says throttled:

* ``floor``: a view that answers 204 (the request itself);
* ``session row``: a view that stores one value in ``request.session``: what a sign-in start
  that keeps its state in the database session costs at least (a ``django_session`` row);
* ``google start``: ``POST signin/google`` (its state in the signed flow cookie);
* ``google start, throttled``: the same client over its budget;
* ``password guess``: ``POST custom-login``, a fresh account name and a wrong password (one
  password hash, as for every admitted attempt);
* ``password guess, throttled``: the same client over its budget (refused before the hash).

Printed per request: the thread's CPU time (median over rounds, and its ratio to the floor of
the same round), the database writes (statements, and the bytes of the values they carried),
the entries and bytes added to the embedded store, and the bytes of the cookies set. Numbers
are from one run on one machine; ``tests/test_benchmarks.py`` only checks that this runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

SECRET = "bench-anonymous-secret-0123456789-abcdefghijklmnop"  # noqa: S105 - loopback only


def configure(database: Path) -> None:
    """A production-shaped site: default middleware, DB sessions, Google configured."""
    import django
    from django.conf import settings

    settings.configure(
        SECRET_KEY="bench-only-not-secret-" + "x" * 40,
        DEBUG=False,
        USE_TZ=True,
        ROOT_URLCONF=__name__,
        ALLOWED_HOSTS=["testserver"],
        INSTALLED_APPS=[
            "django.contrib.auth",
            "django.contrib.contenttypes",
            "django.contrib.sessions",
            "social_django",
            "django_nextauth_jwt",
        ],
        MIDDLEWARE=[
            "django.middleware.security.SecurityMiddleware",
            "django.contrib.sessions.middleware.SessionMiddleware",
            "django.middleware.common.CommonMiddleware",
            "django.middleware.csrf.CsrfViewMiddleware",
            "django.contrib.auth.middleware.AuthenticationMiddleware",
            "django.middleware.clickjacking.XFrameOptionsMiddleware",
        ],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(database)}},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        AUTHENTICATION_BACKENDS=[
            "social_core.backends.google.GoogleOAuth2",
            "django.contrib.auth.backends.ModelBackend",
        ],
        SOCIAL_AUTH_GOOGLE_OAUTH2_KEY="bench.apps.googleusercontent.com",
        SOCIAL_AUTH_GOOGLE_OAUTH2_SECRET="bench-google-secret",  # noqa: S106 - never sent
        SOCIAL_AUTH_JSONFIELD_ENABLED=True,
        NEXTAUTH_SECRET=SECRET,
        NEXTAUTH_JWT_FORMAT="jws",
        LOGGING_CONFIG=None,
    )
    django.setup()
    import logging

    logging.disable(logging.WARNING)  # every throttled request would log its 429
    from django.contrib.auth.models import User
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    User.objects.create_user("ada", email="ada@example.com", password="a real password 1234")  # noqa: S106


def _noop_view(request: Any) -> Any:
    from django.http import HttpResponse

    return HttpResponse(status=204)


def _session_view(request: Any) -> Any:
    from django.http import HttpResponse

    request.session["state"] = os.urandom(16).hex()  # what a start keeps: one random state
    return HttpResponse(status=204)


def _urlpatterns() -> list[Any]:
    from django.urls import include, path
    from django.views.decorators.csrf import csrf_exempt

    return [
        path("floor", csrf_exempt(_noop_view)),
        path("session-row", csrf_exempt(_session_view)),
        path("api/auth/", include("django_nextauth_jwt.urls")),
    ]


def __getattr__(name: str) -> Any:  # the URLconf, built once Django is set up
    if name == "urlpatterns":
        return _urlpatterns()
    raise AttributeError(name)


@dataclass
class Writes:
    """Database writes seen by an execute wrapper."""

    statements: int = 0
    bytes: int = 0

    def __call__(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        if sql.lstrip().split(" ", 1)[0].upper() in ("INSERT", "UPDATE", "DELETE", "REPLACE"):
            self.statements += 1
            rows = params if many else [params]
            for row in rows or []:
                for value in row or []:
                    self.bytes += len(value if isinstance(value, bytes) else str(value).encode())
        return execute(sql, params, many, context)


@dataclass
class Case:
    name: str
    send: Callable[[int], Any]  # request number -> response
    cpu: list[float] = field(default_factory=list)  # seconds per request, per round
    ratio: list[float] = field(default_factory=list)
    writes: Writes = field(default_factory=Writes)
    store_entries: int = 0
    store_bytes: int = 0
    cookie_bytes: int = 0
    requests: int = 0
    statuses: set[int] = field(default_factory=set)
    #: At most this many requests a round (a password hash takes a quarter of a second).
    most: int = 1_000_000


def _store_size() -> tuple[int, int]:
    """Entries and approximate bytes held by the embedded store's counters and revocations."""
    from django_nextauth_jwt.state import store

    memory = store.memory_store()
    entries = 0
    size = 0
    for table in (memory._counters, memory._revocations):
        for key, value in table.entries.items():
            entries += 1
            size += sys.getsizeof(key) + sys.getsizeof(value)
            size += sys.getsizeof(value[0]) + sys.getsizeof(value[1])
            size += sys.getsizeof((value[1], key)) + 8  # its expiry's heap entry and slot
    return entries, size


def _address(n: int, family: int) -> str:
    if family == 6:
        return f"2001:db8:{n // 65536 % 65536:x}:{n % 65536:x}::1"
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def cases(round_offset: Callable[[], int]) -> list[Case]:
    from django.test import Client

    def post(path: str, address: str, **extra: Any) -> Any:
        return Client().post(path, REMOTE_ADDR=address, **extra)

    def guess(n: int, address: str) -> Any:
        body = f'{{"email": "nobody{n}@example.com", "password": "guess"}}'
        return Client().post(
            "/api/auth/custom-login", body, content_type="application/json", REMOTE_ADDR=address
        )

    return [
        Case("floor", lambda n: post("/floor", _address(round_offset() + n, 6))),
        Case("session row", lambda n: post("/session-row", _address(round_offset() + n, 6))),
        Case(
            "google start",
            lambda n: post("/api/auth/signin/google", _address(round_offset() + n, 6)),
        ),
        Case("google start, throttled", lambda n: post("/api/auth/signin/google", "198.51.100.1")),
        Case(
            "password guess",
            lambda n: guess(round_offset() + n, _address(round_offset() + n, 4)),
            most=10,
        ),
        Case("password guess, throttled", lambda n: guess(round_offset() + n, "198.51.100.2")),
    ]


def measure(case: Case, requests: int, floor: float | None) -> float:
    from django.db import connection

    requests = min(requests, case.most)
    if case.name.endswith("throttled"):  # over its budget before the timed requests
        for n in range(25):
            case.send(-1 - n)
    before_entries, before_bytes = _store_size()
    started = time.thread_time()
    with connection.execute_wrapper(case.writes):
        for n in range(requests):
            response = case.send(n)
            case.statuses.add(response.status_code)
            case.cookie_bytes += sum(len(m.OutputString()) for m in response.cookies.values())
    spent = (time.thread_time() - started) / requests
    after_entries, after_bytes = _store_size()
    case.store_entries += after_entries - before_entries
    case.store_bytes += after_bytes - before_bytes
    case.requests += requests
    case.cpu.append(spent)
    if floor:
        case.ratio.append(spent / floor)
    return spent


def run(rounds: int, requests: int) -> list[Case]:
    from django_nextauth_jwt.state import store

    offset = [0]
    for case in cases(lambda: offset[0]):  # a warm-up round, not counted
        store.memory_store().clear()
        measure(case, 3, None)
        offset[0] += 200
    table = cases(lambda: offset[0])
    for _ in range(rounds):
        floor = None
        for case in table:
            store.memory_store().clear()
            spent = measure(case, requests, floor)
            if case.name == "floor":
                floor = spent
            offset[0] += requests + 100
    return table


def report(table: list[Case]) -> None:
    print(
        f"{'request':28} {'CPU us':>9} {'x floor':>8} {'DB writes':>10} {'DB bytes':>9} "
        f"{'store +':>8} {'store B':>8} {'cookie B':>9}  statuses"
    )
    for case in table:
        per = case.requests or 1
        cpu = statistics.median(case.cpu) * 1e6
        ratio = f"{statistics.median(case.ratio):.2f}" if case.ratio else "1.00"
        print(
            f"{case.name:28} {cpu:9.0f} {ratio:>8} {case.writes.statements / per:10.2f} "
            f"{case.writes.bytes / per:9.0f} {case.store_entries / per:8.2f} "
            f"{case.store_bytes / per:8.0f} {case.cookie_bytes / per:9.0f}  "
            f"{','.join(map(str, sorted(case.statuses)))}"
        )
    print(
        "\nDB writes: INSERT/UPDATE/DELETE statements per request and the bytes of their values; "
        "store +: entries the embedded store gained per request (bytes: about, in memory); "
        "cookie B: Set-Cookie bytes per response. Target: no anonymous request writes a "
        "database row (google start and password guess at 0.00 DB writes)."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--quick", action="store_true", help="a few requests: checks it runs")
    args = parser.parse_args(argv)
    rounds, requests = (2, 5) if args.quick else (args.rounds, args.requests)
    with tempfile.TemporaryDirectory() as tmp:
        configure(Path(tmp) / "bench.sqlite3")
        table = run(rounds, requests)
    report(table)
    missed = [
        c.name
        for c in table
        if c.name in ("google start", "password guess") and c.writes.statements
    ]
    if missed:
        print(f"\nMISSED: {', '.join(missed)} wrote database rows")
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
