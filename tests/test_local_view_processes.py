"""The local deny-list view across two real server processes (runserver) sharing one Redis.

A revocation made on one process refuses the token on the other within a generous bound
(the time it took is printed, not asserted); Redis stopped, both fail closed; started again,
both recover, and their views go live again. On a private redis-server (its own port), the
server's own command counts prove the checks paid no round trip: no ``MGET`` while the
views are live.
"""

from __future__ import annotations

import shutil
import statistics
import time
from typing import Any

from django_nextauth_jwt import JWTAuth
from tests import forge
from tests.conftest import REDIS_URL, require
from tests.polling import wait_for
from tests.servers import django_server, free_port
from tests.test_local_view import redis_server
from tests.test_processes import call

ME = "/api/me/"


def status(base: str, token: str) -> tuple[int, str | None]:
    code, body = call("GET", f"{base}{ME}", token)
    return code, body.get("code")


#: How many requests each wait took until the token was refused (1: the very first one).
POLLS: list[int] = []


def until_refused(base: str, token: str) -> float:
    """Seconds from now until ``base`` refuses ``token`` as revoked (bounded)."""
    polls = [0]

    def refused() -> bool:
        polls[0] += 1
        return status(base, token) == (401, "token_revoked")

    took = wait_for(refused, "token refused")
    POLLS.append(polls[0])
    return took


def test_every_kind_of_revocation_on_one_process_is_refused_on_the_other(
    redis_prefix: str,
) -> None:
    env = {"TEST_CACHE_PREFIX": redis_prefix, "TEST_REDIS_URL": REDIS_URL}
    session = JWTAuth.create({"id": "ada"})
    by_jti = forge.jws(forge.claims(sub="bob", jti="jti-bob"))  # no sid
    by_hash = forge.jws(forge.claims(sub="cy", jti=...))  # neither sid nor jti
    laptop, phone = JWTAuth.create({"id": "dee"}), _older_token("dee")
    bystander = JWTAuth.create({"id": "eve"})
    with (
        django_server("tests.settings_redis", env) as first,
        django_server("tests.settings_redis", env) as second,
    ):
        for token in (session, by_jti, by_hash, phone, bystander):
            assert status(second, token) == (200, None)
        took = {}
        for name, token in (("sid", session), ("jti", by_jti), ("token hash", by_hash)):
            assert call("POST", f"{first}/api/auth/signout", token)[0] == 200
            took[name] = until_refused(second, token)
        assert call("POST", f"{first}/api/auth/signout-everywhere", laptop)[0] == 200
        took["user cut-off"] = until_refused(second, phone)
        assert status(second, bystander) == (200, None)
        assert status(first, bystander) == (200, None)
    shown = ", ".join(f"{name} {seconds * 1000:.1f} ms" for name, seconds in took.items())
    print(f"\nrevoked on one process, refused on the other after: {shown}")


def _older_token(sub: str) -> str:
    now = int(time.time())
    return forge.jws(forge.claims(sub=sub, iat=now - 60, auth_time=now - 60, sid="phone"))


def mgets(client: Any) -> int:
    return int(client.info("commandstats").get("cmdstat_mget", {}).get("calls", 0))


def settle(bases: tuple[str, ...], token: str, client: Any) -> None:
    """Requests to every process until a round of them sends no MGET: the views are live."""

    def quiet() -> bool:
        before = mgets(client)
        for _ in range(5):
            for base in bases:
                assert status(base, token) == (200, None)
        return mgets(client) == before

    wait_for(quiet, "both views live")


def test_staleness_fail_closed_and_recovery_across_two_processes() -> None:
    require(shutil.which("redis-server") is not None, "redis-server is needed")
    import redis

    port = free_port()
    url = f"redis://127.0.0.1:{port}/0"
    # A one-second grace: both processes keep valid tokens that long once Redis is killed.
    env = {"TEST_CACHE_PREFIX": "views", "TEST_REDIS_URL": url, "TEST_REVOCATION_GRACE": "1"}
    client = redis.Redis(port=port, socket_connect_timeout=1)
    valid = JWTAuth.create({"id": "ada"})
    with (
        redis_server(port) as server,
        django_server("tests.settings_redis", env) as first,
        django_server("tests.settings_redis", env) as second,
    ):
        settle((first, second), valid, client)
        # Staleness: revoked on the first, refused on the second; no MGET anywhere meanwhile.
        before = mgets(client)
        stale = []
        POLLS.clear()
        for i in range(20):
            token = JWTAuth.create({"id": f"user-{i}"})
            assert call("POST", f"{first}/api/auth/signout", token)[0] == 200
            stale.append(until_refused(second, token))
        polls = POLLS[:]
        assert status(second, valid) == (200, None)
        assert mgets(client) == before  # every check on both processes was local
        revoked = token

        # Redis stopped: both fail closed; the revoked token is never let in.
        server.kill()
        server.wait(timeout=10)
        client.close()
        stopped = time.perf_counter()
        for base in (first, second):
            wait_for(
                lambda b=base: status(b, valid) == (401, "revocation_unavailable"),
                "fail closed",
            )
        closed = time.perf_counter() - stopped
        for base in (first, second):
            for _ in range(5):
                assert status(base, valid) == (401, "revocation_unavailable")
                assert status(base, revoked)[0] == 401

        # Started again (empty: no persistence): valid tokens pass, the revoked one does not.
        with redis_server(port):
            started = time.perf_counter()
            for base in (first, second):
                wait_for(lambda b=base: status(b, valid) == (200, None), "recovered")
            recovered = time.perf_counter() - started
            for base in (first, second):
                assert status(base, revoked) == (401, "token_revoked")
            client = redis.Redis(port=port, socket_connect_timeout=1)
            settle((first, second), valid, client)
            relinked = time.perf_counter() - started
            later = JWTAuth.create({"id": "later"})
            assert call("POST", f"{second}/api/auth/signout", later)[0] == 200
            after = until_refused(first, later)
            client.close()
    ms = sorted(seconds * 1000 for seconds in stale)
    print(
        f"\nstaleness over {len(ms)} revocations (signout answered on one process -> refused "
        f"on the other, polling over HTTP): median {statistics.median(ms):.1f} ms, "
        f"max {ms[-1]:.1f} ms, all {[round(x, 1) for x in ms]}; requests until refused: "
        f"{polls}\n"
        f"Redis killed -> both processes fail closed within {closed * 1000:.0f} ms; "
        f"restarted -> both accept valid tokens within {recovered * 1000:.0f} ms, views live "
        f"(no MGET) within {relinked:.2f} s; a revocation after the restart refused on the "
        f"other process after {after * 1000:.1f} ms"
    )
