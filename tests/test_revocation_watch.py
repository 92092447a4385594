"""``store.watch_revocations``: who is told of deny-list writes, and the Channels socket watch.

What closes an open WebSocket at sign-out (``integrations/channels.py``) without polling: the
embedded store tells its watchers on each write; a Redis store's local view on each entry it
applies, this process's writes and, through pub/sub, every other process's. And the
middleware's ``http`` scope: the user set, no WebSocket rules applied.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Any

import pytest

from django_nextauth_jwt import JWTAuth
from django_nextauth_jwt.integrations.channels import NextAuthChannelsMiddleware
from django_nextauth_jwt.state import revocation, store
from tests.polling import wait_for


def test_the_embedded_store_tells_its_watchers_of_each_write() -> None:
    seen: list[str] = []
    unwatch = store.watch_revocations(seen.append)
    try:
        store.memory_store().put_max("sid=a\x00b", 1, 60)
        assert seen == ["sid=a\x00b"]
    finally:
        unwatch()
    store.memory_store().put_max("sid=a\x00c", 1, 60)
    assert seen == ["sid=a\x00b"]  # unwatched: told no more
    unwatch()  # twice is harmless


def test_a_failing_watcher_is_logged_and_fails_no_write(caplog: pytest.LogCaptureFixture) -> None:
    def broken(key: str) -> None:
        raise RuntimeError("watcher bug")

    seen: list[str] = []
    unwatch = [store.watch_revocations(broken), store.watch_revocations(seen.append)]
    try:
        with caplog.at_level(logging.ERROR, logger="django_nextauth_jwt.state.store"):
            store.memory_store().put_max("jti=jti:x", 1, 60)
    finally:
        for stop in unwatch:
            stop()
    assert store.memory_store().get_many(["jti=jti:x"]) == [1]
    assert seen == ["jti=jti:x"]  # the next watcher was told all the same
    assert "deny-list watcher failed" in caplog.text


def test_a_sign_out_names_the_keys_a_socket_of_that_session_watches() -> None:
    token = JWTAuth.create({"id": "watched"})
    claims = JWTAuth.verify(token)
    watched = {revocation.session_key(claims), revocation.user_key("watched")}
    seen: list[str] = []
    unwatch = store.watch_revocations(seen.append)
    try:
        JWTAuth.revoke(token)
        JWTAuth.revoke_user("watched")
    finally:
        unwatch()
    assert set(seen) == watched


def test_a_write_by_another_process_reaches_the_watchers_through_the_local_view(
    redis_store: str, settings: Any
) -> None:
    held = store.current()
    assert isinstance(held, store.RedisStore)
    assert held.view is not None
    assert held.view.wait_live(10)
    other = store.RedisStore(redis_store, settings.NEXTAUTH_REDIS_KEY_PREFIX, local_view=False)
    seen: list[tuple[str, int]] = []
    unwatch = store.watch_revocations(lambda key: seen.append((key, threading.get_ident())))
    try:
        key = "sid:" + "ab" * 16
        # The other store's script alone: published like any write, but not in this process.
        other._put_max(keys=[other._revocation(key), other.index], args=[1, 60, key, other.channel])
        wait_for(lambda: seen, "the view's word of the other process's write")
    finally:
        unwatch()
        other.close()
    assert seen[0][0] == key
    assert seen[0][1] != threading.get_ident()  # told on the view's subscriber thread


def test_the_http_scope_gets_the_user_and_no_websocket_rules() -> None:
    token = JWTAuth.create({"id": "http-person"})
    seen: dict[str, Any] = {}

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.update(scope)

    middleware = NextAuthChannelsMiddleware(app)
    scope = {
        "type": "http",
        "path": "/x",
        "headers": [
            (b"cookie", f"next-auth.session-token={token}".encode()),
            (b"origin", b"https://elsewhere.example"),  # no WebSocket origin rule for HTTP
        ],
    }

    async def nothing() -> Any:
        return {}

    async def drop(message: Any) -> None:
        return None

    asyncio.run(middleware(scope, nothing, drop))
    assert seen["user"].pk == "http-person"
    assert seen["nextauth"].success


def test_other_scopes_pass_through_untouched() -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope)

    scope = {"type": "lifespan"}

    async def nothing() -> Any:
        return {}

    async def drop(message: Any) -> None:
        return None

    asyncio.run(NextAuthChannelsMiddleware(app)(scope, nothing, drop))
    assert seen == [scope]


# --------------------------------------------------------------------------------------------
# The socket watch in process (Channels' WebsocketCommunicator)
# --------------------------------------------------------------------------------------------


def _application() -> Any:
    from channels.generic.websocket import AsyncWebsocketConsumer

    class Hello(AsyncWebsocketConsumer):  # type: ignore[misc]
        async def connect(self) -> None:
            await self.accept()
            await self.send(str(self.scope["user"].pk))

    return NextAuthChannelsMiddleware(Hello.as_asgi())


def _headers(token: str) -> list[tuple[bytes, bytes]]:
    return [(b"host", b"testserver"), (b"authorization", f"Bearer {token}".encode())]


def test_closed_sockets_leave_nothing_watched() -> None:
    from channels.testing import WebsocketCommunicator

    from django_nextauth_jwt.integrations import channels as integration

    application = _application()
    before = len(store._watchers)

    async def run() -> tuple[int, int, int]:
        opened = []
        for i in range(20):
            token = JWTAuth.create({"id": f"p{i}"})
            communicator = WebsocketCommunicator(application, "/", headers=_headers(token))
            assert (await communicator.connect())[0]
            assert await communicator.receive_from() == f"p{i}"
            opened.append(communicator)
        watch = integration._watches[asyncio.get_running_loop()]
        held = len(watch.by_key)
        for communicator in opened:
            await communicator.disconnect()
        return held, len(watch.by_key), len(store._watchers)

    held, after, watchers = asyncio.run(run())
    assert held == 40  # each socket: its session and its person
    assert after == 0
    assert watchers == before  # the loop's watch stopped listening with its last socket


def test_a_revocation_in_process_closes_the_open_socket_with_4401() -> None:
    from channels.testing import WebsocketCommunicator

    token = JWTAuth.create({"id": "in-process"})

    async def run() -> Any:
        communicator = WebsocketCommunicator(_application(), "/", headers=_headers(token))
        assert (await communicator.connect())[0]
        assert await communicator.receive_from() == "in-process"
        JWTAuth.revoke(token)  # the embedded store tells the watch; no message is sent
        closed = await communicator.receive_output(timeout=5)
        await communicator.wait(timeout=5)  # the consumer was told and finished
        return closed

    assert asyncio.run(run()) == {
        "type": "websocket.close",
        "code": 4401,
        "reason": "token_revoked",
    }


def test_a_finished_event_loop_leaves_no_watch_behind() -> None:
    import gc
    import weakref

    from django_nextauth_jwt.integrations import channels as integration

    loops: list[weakref.ref[asyncio.AbstractEventLoop]] = []

    async def one_socket() -> None:
        from channels.testing import WebsocketCommunicator

        loops.append(weakref.ref(asyncio.get_running_loop()))
        headers = _headers(JWTAuth.create({"id": "short-lived-loop"}))
        communicator = WebsocketCommunicator(_application(), "/", headers=headers)
        assert (await communicator.connect())[0]
        await communicator.receive_from()
        assert asyncio.get_running_loop() in integration._watches  # the socket is watched
        await communicator.disconnect()

    # Three loops, one after another. asgiref's worker thread keeps the last loop that called
    # it (SyncToAsync.threadlocal) until another one does: the last may live on, the ones
    # before it are gone, and their watches with them.
    for _ in range(3):
        asyncio.run(one_socket())
    gc.collect()
    assert [loop() is None for loop in loops[:2]] == [True, True]


@pytest.mark.db
@pytest.mark.django_db
def test_a_cut_off_person_s_socket_under_another_sub_is_watched_and_refused(
    settings: Any,
) -> None:
    # Database mode: the cut-off is the row's (by primary key), whichever sub named it. A
    # socket opened with the person's Google session must watch that key and, rechecked,
    # resolve the user again: verifying the token alone still passes.
    from django.contrib.auth import get_user_model

    from django_nextauth_jwt.integrations import channels as integration

    settings.NEXTAUTH_USER_MODE = "database"
    settings.NEXTAUTH_USER_LOOKUP_CLAIM = "email"
    ada = get_user_model().objects.create_user("ada", email="ada@example.com")
    google = JWTAuth.create({"id": "104729384756102938475", "email": "ada@example.com"})
    result = JWTAuth.authenticate_token(google)
    assert result.user == ada
    keys = integration._keys(result.claims or {}, google, integration._account(result.user))
    written: list[str] = []
    unwatch = store.watch_revocations(written.append)
    try:
        JWTAuth.revoke_user(ada)  # the person, not the Google sub
    finally:
        unwatch()
    assert set(written) & set(keys), "the cut-off is written under a key the socket watches"
    assert integration._still_valid(google) is None  # the token alone still verifies
    assert integration._still_valid(google, database=True) == "token_revoked"


def test_a_failed_recheck_closes_the_socket() -> None:
    # Fail closed: a recheck that cannot be made (the database or the store away) ends the
    # socket rather than leaving it open on a token it could not check.
    from django_nextauth_jwt.integrations import channels as integration

    async def run() -> Any:
        sent: list[Any] = []

        async def receive() -> Any:
            await asyncio.sleep(10)

        async def send(message: Any) -> None:
            sent.append(message)

        socket = integration._Socket(receive, send, "token", ("k",), account=1)

        def broken(token: str, *, database: bool = False) -> str | None:
            raise RuntimeError("the connection is closed")

        original = integration._still_valid
        integration._still_valid = broken
        try:
            await socket._recheck_in_thread()
        finally:
            integration._still_valid = original
        return socket.closed

    assert asyncio.run(run()) == (4401, "revocation_unavailable")
