"""The local view of the deny-list in Redis: checks without a round trip, fresh, fail closed.

In one process: the view answers every kind of entry (session, user cut-off, ``jti``, token
hash) without reading Redis, learns another store's writes through pub/sub, loads what was
written before it started, expires entries at their TTL, stops reading itself when it cannot
be trusted, and leaves the login counters to Redis. With a private ``redis-server``: Redis
stopped, checks fail closed; started again (empty), the view relinks and nothing revoked
comes back. Across two real server processes: ``test_local_view_processes.py``.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from django_nextauth_jwt import JWTAuth
from django_nextauth_jwt import exceptions as exc
from django_nextauth_jwt.claims import validated
from django_nextauth_jwt.policy import policy
from django_nextauth_jwt.state import localview, revocation, store
from django_nextauth_jwt.tokens import decode
from tests import forge
from tests.conftest import require
from tests.fake_clock import Clock
from tests.polling import BOUND, wait_for
from tests.servers import free_port


def refused(token: str) -> str | None:
    try:
        JWTAuth.verify(token)
    except exc.InvalidToken as error:
        return error.code
    return None


def claims_of(token: str) -> dict[str, Any]:
    return validated(decode(token), now=None, pol=policy())


def counting_reads(monkeypatch: pytest.MonkeyPatch, redis_store: store.RedisStore) -> list[Any]:
    """Record every ``MGET`` the store sends (a round trip per check without a view)."""
    reads: list[Any] = []
    original = redis_store.client.mget

    def mget(*args: Any, **kwargs: Any) -> Any:
        reads.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(redis_store.client, "mget", mget)
    return reads


@pytest.fixture
def other_process(redis_store: str, settings: Any) -> Iterator[store.RedisStore]:
    """A second store on the same Redis and prefix, as another process would hold."""
    other = store.RedisStore(redis_store, settings.NEXTAUTH_REDIS_KEY_PREFIX)
    try:
        yield other
    finally:
        other.close()


def test_every_kind_of_entry_written_elsewhere_is_refused_here_without_a_round_trip(
    redis_store: str, other_process: store.RedisStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    here = store.current()
    assert isinstance(here, store.RedisStore)
    assert here.view is not None
    assert here.view.wait_live(BOUND)
    session = JWTAuth.create({"id": "7"})  # carries a sid
    by_jti = forge.jws(forge.claims(sub="8", jti="jti-8"))  # no sid: revoked by its jti
    by_hash = forge.jws(forge.claims(sub="9", jti=...))  # neither: revoked by the token itself
    cut_off = JWTAuth.create({"id": "10"})
    bystander = JWTAuth.create({"id": "11"})
    reads = counting_reads(monkeypatch, here)
    tokens = (session, by_jti, by_hash, cut_off, bystander)
    assert [refused(token) for token in tokens] == [None] * 5

    # The other process writes, as revocation.revoke and revoke_user would there.
    ttl = 3600
    other_process.put_max(revocation.session_key(claims_of(session)) or "", 1, ttl)
    other_process.put_max(revocation.token_key(claims_of(by_jti), by_jti), 1, ttl)
    other_process.put_max(revocation.token_key(claims_of(by_hash), by_hash), 1, ttl)
    other_process.put_max(revocation.user_key("10"), int(time.time()), ttl, bounded=False)
    took = [
        wait_for(lambda t=token: refused(t) == "token_revoked", f"token {i} refused")
        for i, token in enumerate(tokens[:4])
    ]
    assert refused(bystander) is None
    assert reads == []  # every check above was answered by the view
    print(f"\nlocal view, same process, another store's writes seen after (s): {took}")


def test_this_process_reads_its_own_revocation_at_once(redis_store: str) -> None:
    here = store.current()
    assert isinstance(here, store.RedisStore)
    assert here.view is not None
    assert here.view.wait_live(BOUND)
    token = JWTAuth.create({"id": "7"})
    JWTAuth.revoke(token)
    assert refused(token) == "token_revoked"  # no wait: the write is applied here directly


def test_an_async_request_is_verified_on_the_event_loop_while_the_view_is_live(
    redis_store: str, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With the view live the deny-list check reads memory: no thread hop for it (a hop per
    # request is what an async server pays for blocking I/O). Without it, Redis is read
    # (one MGET) in a thread, off the event loop.
    from asgiref.sync import async_to_sync, sync_to_async
    from django.test import AsyncClient

    from django_nextauth_jwt import middleware
    from tests.request_helpers import MIDDLEWARE

    settings.MIDDLEWARE = [*settings.MIDDLEWARE, MIDDLEWARE]
    hops: list[str] = []

    def counting(fn: Any, *args: Any, **kwargs: Any) -> Any:
        hops.append(getattr(fn, "__name__", ""))
        return sync_to_async(fn, *args, **kwargs)

    monkeypatch.setattr(middleware, "sync_to_async", counting)
    here = store.current()
    assert isinstance(here, store.RedisStore)
    assert here.view is not None
    assert here.view.wait_live(BOUND)
    token = JWTAuth.create({"id": "7"})

    def get() -> Any:
        async def run() -> Any:
            return await AsyncClient().get(
                "/async/page/", headers={"Authorization": f"Bearer {token}"}
            )

        return async_to_sync(run)()

    assert get().json()["id"] == "7"
    assert "process" not in hops
    here.view.stop()
    assert get().json()["id"] == "7"
    assert hops.count("process") == 1
    JWTAuth.revoke(token)
    assert get().status_code == 200  # an unprotected page: the revoked token is no user
    assert get().json()["authenticated"] is False
    assert hops.count("process") == 3


@pytest.mark.parametrize(("query", "protocol"), [("", 2), ("?protocol=3", 3)])
def test_entries_written_before_the_view_started_are_loaded(
    redis_store: str, settings: Any, monkeypatch: pytest.MonkeyPatch, query: str, protocol: int
) -> None:
    # The view reads in RESP2 (flat replies, cheaper to parse); a URL's protocol=3 wins, and
    # the load then reads RESP3's pairs: the same entries either way.
    settings.NEXTAUTH_REDIS_URL = redis_store + query
    settings.NEXTAUTH_REDIS_LOCAL_VIEW = False
    before = [JWTAuth.create({"id": str(i)}) for i in range(3)]
    for token in before[:2]:
        JWTAuth.revoke(token)
    JWTAuth.revoke_user("5")
    settings.NEXTAUTH_REDIS_LOCAL_VIEW = True
    here = store.current()
    assert isinstance(here, store.RedisStore)
    assert here.view is not None
    client = here.view._client()
    try:
        assert client.connection_pool.connection_kwargs["protocol"] == protocol
    finally:
        client.close()
    assert here.view.wait_live(BOUND)
    reads = counting_reads(monkeypatch, here)
    assert [refused(t) for t in before] == ["token_revoked", "token_revoked", None]
    assert refused(_old_token("5")) == "token_revoked"  # the user's cut-off was loaded too
    assert reads == []


def _old_token(sub: str) -> str:
    """A token of ``sub`` authenticated a minute ago (before any cut-off written since)."""
    now = int(time.time())
    return forge.jws(forge.claims(sub=sub, iat=now - 60, auth_time=now - 60, sid="s-" + sub))


def test_without_the_view_every_check_reads_redis(
    redis_store: str, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.NEXTAUTH_REDIS_LOCAL_VIEW = False
    here = store.current()
    assert isinstance(here, store.RedisStore)
    assert here.view is None
    reads = counting_reads(monkeypatch, here)
    token = JWTAuth.create({"id": "7"})
    JWTAuth.revoke(token)
    assert refused(token) == "token_revoked"
    assert refused(JWTAuth.create({"id": "7"})) is None
    assert len(reads) == 2


@pytest.mark.parametrize("value", ["False", 0, None])
def test_the_view_setting_must_be_a_boolean_e030(settings: Any, value: Any) -> None:
    from django_nextauth_jwt.checks import check_settings

    settings.NEXTAUTH_REDIS_LOCAL_VIEW = value
    assert [m.id for m in check_settings() if m.id] == ["nextauth_jwt.E030"]
    settings.NEXTAUTH_REDIS_LOCAL_VIEW = False
    assert [m.id for m in check_settings() if m.id] == []


def test_a_new_store_stops_the_previous_view(redis_store: str, settings: Any) -> None:
    first = store.current()
    assert isinstance(first, store.RedisStore)
    assert first.view is not None
    assert first.view.wait_live(BOUND)
    thread = first.view._thread
    settings.NEXTAUTH_REDIS_KEY_PREFIX = settings.NEXTAUTH_REDIS_KEY_PREFIX + "second:"
    second = store.current()
    assert second is not first
    assert thread is not None
    assert not thread.is_alive()
    assert not first.view.is_live()


def test_login_counters_stay_atomic_in_redis_with_the_view(
    redis_store: str, other_process: store.RedisStore
) -> None:
    here = store.current()
    assert isinstance(here, store.RedisStore)
    assert here.view is not None
    assert here.view.wait_live(BOUND)

    def hammer(which: store.RedisStore) -> None:
        for _ in range(25):
            which.incr("login", 60)

    threads = [threading.Thread(target=hammer, args=(s,)) for s in (here, other_process) * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert here.incr("login", 60)[0] == 101  # every increment counted once, in Redis
    assert all(not key.startswith("th") for key in here.view.entries)
    assert here.client.exists(f"{here.prefix}th:login") == 1


# --------------------------------------------------------------------------- #
# The view alone: merging, expiry, trust
# --------------------------------------------------------------------------- #


@pytest.fixture
def idle_view(monkeypatch: pytest.MonkeyPatch) -> tuple[localview.LocalView, Clock]:
    """A view with no thread (it never starts), on a fake clock, told it is live."""
    clock = Clock()
    monkeypatch.setattr("django_nextauth_jwt.state.localview.time.monotonic", clock)
    view = localview.LocalView(
        "redis://127.0.0.1:1/0", entry_prefix="p:rv:", index="p:rv", channel="p:rv"
    )
    view._stop.set()
    view.live, view.heard = True, clock.now
    return view, clock


def test_view_keeps_the_larger_value_and_the_later_expiry(
    idle_view: tuple[localview.LocalView, Clock],
) -> None:
    view, clock = idle_view
    view.apply("user:a", 100, 10_000)
    view.apply("user:a", 50, 60_000)  # smaller value, later expiry
    view.apply("user:a", 200, 1_000)  # larger value, earlier expiry
    assert view.entries["user:a"] == (200, clock.now + 60)


def test_view_entries_expire_at_their_ttl(idle_view: tuple[localview.LocalView, Clock]) -> None:
    view, clock = idle_view
    view.apply("sid:a", 1, 10_000)
    view.apply("jti:b", 1, 20_000)
    clock.now += 9.9
    view.heard = clock.now
    assert view.get_many(["sid:a", "jti:b", "absent"]) == [1, 1, None]
    clock.now += 0.2
    view.heard = clock.now
    assert view.get_many(["sid:a", "jti:b"]) == [None, 1]
    view.prune()
    assert list(view.entries) == ["jti:b"]


def test_view_not_heard_from_lately_is_not_trusted(
    idle_view: tuple[localview.LocalView, Clock],
) -> None:
    view, clock = idle_view
    view.apply("sid:a", 1, 60_000)
    assert view.get_many(["sid:a"]) == [1]
    clock.now += localview.STALE_AFTER + 0.01
    assert view.get_many(["sid:a"]) is None  # the caller reads Redis instead
    assert view.peek(["sid:a"]) == [1]  # what it holds still counts on that path
    view.live = False
    view.heard = clock.now
    assert view.get_many(["sid:a"]) is None


def test_view_ignores_a_malformed_message(
    idle_view: tuple[localview.LocalView, Clock], caplog: pytest.LogCaptureFixture
) -> None:
    view, _ = idle_view
    with caplog.at_level(logging.WARNING):
        view._receive(b"sid:a one 1000")
        view._receive(b"\xff\xfe")
        view._receive(b"sid:b 1 1000")
    assert view.entries.keys() == {"sid:b"}
    assert "malformed message" in caplog.text


# --------------------------------------------------------------------------- #
# A private redis-server: stopped, fail closed; started again, recovered
# --------------------------------------------------------------------------- #


@contextlib.contextmanager
def redis_server(port: int) -> Iterator[subprocess.Popen[bytes]]:
    """A private redis-server on ``port``, without persistence (a restart comes back empty)."""
    command = ["redis-server", "--port", str(port), "--bind", "127.0.0.1"]
    proc = subprocess.Popen(
        [*command, "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        import redis

        client = redis.Redis(port=port, socket_connect_timeout=1)
        wait_for(lambda: _answers(client), f"redis-server on {port}")
        client.close()
        yield proc
    finally:
        proc.kill()
        proc.wait(timeout=10)


def _answers(client: Any) -> bool:
    try:
        return bool(client.ping())
    except Exception:
        return False


def test_redis_stopped_fails_closed_and_restarted_recovers(settings: Any) -> None:
    require(shutil.which("redis-server") is not None, "redis-server is needed")
    port = free_port()
    settings.NEXTAUTH_REDIS_URL = f"redis://127.0.0.1:{port}/0"
    settings.NEXTAUTH_REDIS_KEY_PREFIX = "outage:"
    settings.NEXTAUTH_REVOCATION_GRACE = 0  # no grace: refused as soon as the view is untrusted
    valid, revoked = JWTAuth.create({"id": "7"}), JWTAuth.create({"id": "8"})
    with redis_server(port) as first:
        here = store.current()
        assert isinstance(here, store.RedisStore)
        assert here.view is not None
        assert here.view.wait_live(BOUND)
        JWTAuth.revoke(revoked)
        assert (refused(valid), refused(revoked)) == (None, "token_revoked")
        first.kill()
        first.wait(timeout=10)
        down = wait_for(
            lambda: refused(valid) == "revocation_unavailable", "fail closed with Redis down"
        )
        assert not here.view.is_live()
        assert refused(revoked) in ("token_revoked", "revocation_unavailable")
    with redis_server(port):  # the same port, empty: what was revoked is gone from Redis
        up = wait_for(lambda: refused(valid) is None, "recovered once Redis is back")
        assert refused(revoked) == "token_revoked"  # the view keeps what it was told
        relinked = wait_for(here.view.is_live, "the view live again")
        assert here.view.links >= 2
        other = store.RedisStore(settings.NEXTAUTH_REDIS_URL, "outage:")
        try:
            later = JWTAuth.create({"id": "9"})
            key = revocation.session_key(claims_of(later)) or ""
            other.put_max(key, 1, 3600)
            seen = wait_for(lambda: refused(later) == "token_revoked", "a write after the restart")
        finally:
            other.close()
    print(
        f"\nfail closed {down:.3f} s after Redis was killed; valid again {up:.3f} s after it "
        f"answered; view live again after {relinked:.3f} s more; a new write seen in {seen:.4f} s"
    )


def test_a_silent_redis_is_not_trusted_and_fails_closed_then_recovers(settings: Any) -> None:
    """Redis stopped with SIGSTOP: the link stays up but nothing answers on it."""
    require(shutil.which("redis-server") is not None, "redis-server is needed")
    import signal

    port = free_port()
    settings.NEXTAUTH_REDIS_URL = f"redis://127.0.0.1:{port}/0"
    settings.NEXTAUTH_REDIS_KEY_PREFIX = "silent:"
    settings.NEXTAUTH_REVOCATION_GRACE = 0  # no grace: refused as soon as the view is untrusted
    valid = JWTAuth.create({"id": "7"})
    with redis_server(port) as server:
        here = store.current()
        assert isinstance(here, store.RedisStore)
        assert here.view is not None
        assert here.view.wait_live(BOUND)
        assert refused(valid) is None
        server.send_signal(signal.SIGSTOP)
        try:
            untrusted = wait_for(lambda: not here.view.is_live(), "the silent view untrusted")
            # Checks read Redis, which does not answer either: refused, not let in.
            assert refused(valid) == "revocation_unavailable"
        finally:
            server.send_signal(signal.SIGCONT)
        back = wait_for(lambda: refused(valid) is None, "accepted once Redis answers")
        relinked = wait_for(here.view.is_live, "the view live again")
    print(
        f"\nsilent Redis: view untrusted after {untrusted:.3f} s (STALE_AFTER "
        f"{localview.STALE_AFTER} s); valid again {back:.3f} s after SIGCONT, live after "
        f"{relinked:.3f} s more"
    )
