"""adrf: ``NextAuthJWTAuthentication`` under async views keeps the event loop free, measured.

    .venv/bin/python benchmarks/adrf_loop.py [--requests 2000] [--concurrency 50]
    .venv/bin/python benchmarks/adrf_loop.py --quick

Django's ASGI handler, in process, on one event loop: ``--requests`` requests (a distinct
token each, ``--concurrency`` at a time, Django's ``AsyncClient``) to an adrf async view
behind ``NextAuthJWTAuthentication``, in stateless and in database mode (users in SQLite),
beside the same view with no authentication (the floor) and a plain async Django view that
verifies by calling ``authenticate_request`` on the event loop itself (what adrf avoids). A
ticker on the same loop wakes every millisecond and records how late it woke: the event loop's
stalls while requests authenticate (median, 99th percentile, worst). Requests per second are
printed too; on a shared machine, read the stalls.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
DB = Path(tempfile.mkdtemp(prefix="adrf-bench-")) / "bench.sqlite3"

import django  # noqa: E402
from django.conf import settings  # noqa: E402

settings.configure(
    SECRET_KEY="benchmark-only-not-secret",  # noqa: S106
    DEBUG=False,
    USE_TZ=True,
    ALLOWED_HOSTS=["*"],
    ROOT_URLCONF=__name__,
    INSTALLED_APPS=[
        "django.contrib.auth",
        "django.contrib.contenttypes",
        "rest_framework",
        "django_nextauth_jwt",
    ],
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(DB)}},
    DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
    NEXTAUTH_SECRET="benchmark-secret-0123456789-abcdefghijkl",  # noqa: S106
    REST_FRAMEWORK={"UNAUTHENTICATED_USER": None},
    LOGGING_CONFIG=None,
)
django.setup()

from adrf.views import APIView  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.test import AsyncClient, override_settings  # noqa: E402
from django.urls import path  # noqa: E402
from rest_framework.request import Request  # noqa: E402
from rest_framework.response import Response  # noqa: E402

from django_nextauth_jwt import JWTAuth  # noqa: E402
from django_nextauth_jwt.authentication import NextAuthJWTAuthentication  # noqa: E402
from django_nextauth_jwt.request import authenticate_request  # noqa: E402


class Floor(APIView):  # type: ignore[misc]
    authentication_classes = ()
    permission_classes = ()

    async def get(self, request: Request) -> Response:
        return Response({"ok": True})


class Me(APIView):  # type: ignore[misc]
    authentication_classes = (NextAuthJWTAuthentication,)

    async def get(self, request: Request) -> Response:
        assert request.user is not None
        return Response({"id": str(request.user.pk)})


async def on_the_loop(request: HttpRequest) -> JsonResponse:
    result = authenticate_request(request)  # blocking work, database included, on the loop
    assert result.success
    return JsonResponse({"id": str(result.user.pk)})


urlpatterns = [
    path("floor/", Floor.as_view()),
    path("adrf/", Me.as_view()),
    path("loop/", on_the_loop),
]

CASES = [
    ("floor: adrf view, no authentication", "floor/", "stateless"),
    ("adrf + NextAuthJWTAuthentication, stateless", "adrf/", "stateless"),
    ("adrf + NextAuthJWTAuthentication, database mode", "adrf/", "database"),
    ("async view verifying on the loop, database mode", "loop/", "database"),
]


async def run(url: str, tokens: list[str], concurrency: int) -> tuple[float, list[float]]:
    client = AsyncClient()
    gate = asyncio.Semaphore(concurrency)
    lags: list[float] = []
    done = asyncio.Event()

    async def ticker() -> None:
        while not done.is_set():
            asked = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - asked - 0.001)

    async def one(token: str) -> None:
        async with gate:
            response = await client.get(url, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200, response.content

    tick = asyncio.ensure_future(ticker())
    started = time.perf_counter()
    await asyncio.gather(*(one(t) for t in tokens))
    took = time.perf_counter() - started
    done.set()
    await tick
    return len(tokens) / took, lags


@contextlib.contextmanager
def _environ(values: dict[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="a few requests: checks it runs")
    args = parser.parse_args()
    if args.quick:
        args.requests, args.concurrency = 60, 10
    call_command("migrate", verbosity=0)
    model = get_user_model()
    people = model.objects.bulk_create([model(username=f"u{i}") for i in range(100)])
    people = list(model.objects.order_by("pk"))
    print(f"{args.requests} requests, {args.concurrency} at a time, one event loop")
    print(f"{'case':50} {'req/s':>7} {'stall p50':>10} {'p99':>8} {'worst':>8}")
    for name, url, mode in CASES:
        tokens = [
            JWTAuth.create({"id": str(people[i % len(people)].pk)}) for i in range(args.requests)
        ]
        # Django refuses queries on the event loop (SynchronousOnlyOperation): the last case
        # lifts that guard to show what adrf's thread spares the loop.
        unsafe = {"DJANGO_ALLOW_ASYNC_UNSAFE": "true"} if url == "loop/" else {}
        with override_settings(NEXTAUTH_USER_MODE=mode), _environ(unsafe):
            asyncio.run(run(f"/{url}", tokens[:20], 5))  # warm-up
            rate, lags = asyncio.run(run(f"/{url}", tokens, args.concurrency))
        lags.sort()
        p99 = lags[int(len(lags) * 0.99) - 1] if lags else 0.0
        print(
            f"{name:50} {rate:7.0f} {statistics.median(lags) * 1e3:8.2f}ms "
            f"{p99 * 1e3:6.2f}ms {lags[-1] * 1e3:6.2f}ms"
        )


if __name__ == "__main__":
    main()
