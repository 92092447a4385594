"""The whole-request benchmark runs and prints every row (its numbers are not checked here).

Ratios are measured by ``make bench`` in one run; a test only keeps the script from rotting.
"""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import require
from tests.servers import ROOT, redis_up

FORMATS = ("jws", "nextauth-v4", "authjs-v5")


def test_request_benchmark_prints_every_row() -> None:
    require(redis_up(), "Redis is needed at 127.0.0.1:6379")
    result = subprocess.run(
        [sys.executable, "benchmarks/request.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # 0: every target met; 2: some missed (a few quick rounds on a busy machine prove nothing).
    assert result.returncode in (0, 2), result.stdout + result.stderr
    lines = result.stdout.splitlines()
    in_process = [
        "floor (no authentication)",
        "floor again (A/A: the noise)",
        "middleware, no token",
        "floor, other cookies",
        "middleware, no token, other cookies",
        *(f"floor, {fmt} session cookie" for fmt in FORMATS),
        "simplejwt Bearer distinct",
        "simplejwt Bearer repeated",
        *(
            f"{fmt} {transport} deny-list {store} {which}"
            for fmt in FORMATS
            for transport in ("bearer", "cookie")
            for store in ("off", "embedded", "redis")
            for which in ("distinct", "repeated")
        ),
        *(
            f"{fmt} {transport} deny-list redis-no-view distinct"
            for fmt in FORMATS
            for transport in ("bearer", "cookie")
        ),
        "NextAuthJWTMiddleware.process, no token",
        "MemoryStore.get_many (embedded)",
        "RedisStore.get_many, local view live",
        "RedisStore.get_many, no view (one MGET)",
    ]
    http = [
        "floor (no authentication)",
        "simplejwt Bearer",
        *(
            f"{fmt} {transport} deny-list embedded"
            for fmt in FORMATS
            for transport in ("bearer", "cookie")
        ),
        *(f"{fmt} bearer deny-list redis" for fmt in FORMATS),
    ]
    split = next(i for i, line in enumerate(lines) if line.startswith("# over HTTP"))
    for label in in_process:
        assert any(line.startswith(label + " ") for line in lines[:split]), label
    for label in http:
        assert any(line.startswith(label + " ") for line in lines[split:]), label
    rows = [line for line in lines if line.rstrip().endswith(("met", "MISSED", "-"))]
    assert len(rows) >= len(in_process) - 4 + len(http)
    assert "connections opened during" in result.stdout
    # With the view live, the Redis rows answered every check without a round trip.
    assert "MGETs sent by the deny-list redis rows: 0" in result.stdout
    assert "MGETs sent by the deny-list redis-no-view rows: 0" not in result.stdout
    assert "local view staleness across two processes, 5 revocations: median" in result.stdout
    assert "Redis keys under" in result.stdout


def test_anonymous_request_benchmark_prints_every_row_and_writes_no_row() -> None:
    result = subprocess.run(
        [sys.executable, "benchmarks/anonymous.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    # 0 only: an anonymous sign-in start or guess that wrote a database row is 2 (MISSED).
    assert result.returncode == 0, result.stdout + result.stderr
    rows = {line.split("  ")[0].strip() for line in result.stdout.splitlines()}
    assert {
        "floor",
        "session row",
        "google start",
        "google start, throttled",
        "password guess",
        "password guess, throttled",
    } <= rows
