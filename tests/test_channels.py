"""Channels: WebSockets through a real ASGI server (uvicorn, daphne) and a real client.

``tests/asgi_channels.py`` runs under the server as a subprocess on a free loopback port, its
output (access log on, Django's loggers at DEBUG) captured to a file; the client is the
``websockets`` package. Tokens are minted here with the same secret. Each flow the middleware
promises: the user from a cookie (chunked too), a Bearer header or a subprotocol entry;
cross-origin cookie handshakes closed with 4403 before the consumer; refused tokens closed with
4401 and their code; sockets closed at their token's expiry and at sign-out (in one process
with the embedded store; across two processes with the real Redis); and the token in no line
the server wrote.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from django_nextauth_jwt import JWTAuth
from django_nextauth_jwt.integrations.channels import (
    CLOSE_ORIGIN,
    CLOSE_UNAUTHORIZED,
    PROTOCOL_PREFIX,
)
from tests.conftest import REDIS_URL, require
from tests.servers import ROOT, free_port, redis_up, stop, wait_until_up

COOKIE = "next-auth.session-token"


@dataclass
class Server:
    base: str  # http://127.0.0.1:port
    log: Path

    @property
    def ws(self) -> str:
        return self.base.replace("http://", "ws://")

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextlib.contextmanager
def asgi_server(
    tmp_path: Path, env: dict[str, str] | None = None, *, server: str = "uvicorn"
) -> Iterator[Server]:
    """``tests.asgi_channels`` under ``server`` on a free port; its output kept in a file."""
    port = free_port()
    if server == "uvicorn":
        command = [
            sys.executable, "-m", "uvicorn", "tests.asgi_channels:application",
            "--host", "127.0.0.1", "--port", str(port), "--log-level", "info",
        ]  # fmt: skip
        # Not "debug": uvicorn then prints every handshake header as it came, Authorization
        # and Sec-WebSocket-Protocol included (docs/channels.md warns). Django's loggers, this
        # package's among them, log at DEBUG all the same (tests/settings_channels.py).
    else:
        command = [
            sys.executable, "-m", "daphne", "-v", "2", "-b", "127.0.0.1", "-p", str(port),
            "tests.asgi_channels:application",
        ]  # fmt: skip
    log = tmp_path / f"{server}-{port}.log"
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings_channels",
        "PYTHONPATH": str(ROOT),
        **(env or {}),
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            command, cwd=ROOT, env=environment, stdout=out, stderr=out, start_new_session=True
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(f"{base}/api/auth/session", proc)
            yield Server(base, log)
        finally:
            stop(proc)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with asgi_server(tmp_path_factory.mktemp("uvicorn")) as running:
        yield running


@dataclass
class Outcome:
    """What the client saw: the consumer's greeting, or the close code and reason."""

    hello: dict[str, Any] | None
    subprotocol: str | None = None
    code: int | None = None
    reason: str = ""


async def _handshake(
    url: str, headers: dict[str, str] | None = None, protocols: list[str] | None = None
) -> Outcome:
    offered = [Subprotocol(p) for p in protocols] if protocols is not None else None
    async with connect(
        url, additional_headers=headers or {}, subprotocols=offered, open_timeout=10
    ) as ws:
        try:
            hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
        except ConnectionClosed:
            return Outcome(None, ws.subprotocol, ws.close_code, ws.close_reason or "")
        return Outcome(hello, ws.subprotocol)


def handshake(
    server: Server,
    path: str = "/ws/whoami/",
    headers: dict[str, str] | None = None,
    protocols: list[str] | None = None,
) -> Outcome:
    return asyncio.run(_handshake(server.ws + path, headers, protocols))


def same_origin(server: Server) -> dict[str, str]:
    return {"Origin": server.base}


def token(user: str = "ada", **extra: Any) -> str:
    return JWTAuth.create({"id": user, "role": "editor", **extra})


# --------------------------------------------------------------------------------------------
# Who the socket is
# --------------------------------------------------------------------------------------------


def test_a_session_cookie_handshake_from_the_same_origin_carries_the_user(server: Server) -> None:
    seen = handshake(server, headers={"Cookie": f"{COOKIE}={token()}", **same_origin(server)})
    assert seen.hello == {"user": "ada", "role": "editor", "subprotocols": []}


def test_a_chunked_session_cookie_handshake_carries_the_user(server: Server) -> None:
    whole = token("chunky")
    cut = len(whole) // 2
    cookie = f"{COOKIE}.0={whole[:cut]}; {COOKIE}.1={whole[cut:]}"
    seen = handshake(server, headers={"Cookie": cookie, **same_origin(server)})
    assert seen.hello is not None
    assert seen.hello["user"] == "chunky"


def test_a_bearer_handshake_needs_no_origin(server: Server) -> None:
    seen = handshake(server, headers={"Authorization": f"Bearer {token('svc')}"})
    assert seen.hello is not None
    assert seen.hello["user"] == "svc"


def test_a_subprotocol_token_is_taken_out_and_the_answer_selects_the_application_protocol(
    server: Server,
) -> None:
    offered = ["chat.v1", PROTOCOL_PREFIX + token("browser")]
    # From another site: a subprotocol token is no cookie, so no origin check applies.
    seen = handshake(server, headers={"Origin": "https://elsewhere.example"}, protocols=offered)
    assert seen.hello == {"user": "browser", "role": "editor", "subprotocols": ["chat.v1"]}
    assert seen.subprotocol == "chat.v1"


def test_a_consumer_selecting_no_protocol_still_answers_the_application_protocol(
    server: Server,
) -> None:
    # A browser that offered protocols drops an answer selecting none: the middleware selects
    # the application's own, never the token entry.
    seen = handshake(server, "/ws/silent/", protocols=["chat.v2", PROTOCOL_PREFIX + token("s")])
    assert seen.subprotocol == "chat.v2"
    assert seen.hello == {"user": "s"}


def test_an_explicit_token_wins_over_the_cookie(server: Server) -> None:
    headers = {"Cookie": f"{COOKIE}={token('cookie-person')}", **same_origin(server)}
    seen = handshake(server, headers=headers, protocols=["chat", PROTOCOL_PREFIX + token("bob")])
    assert seen.hello is not None
    assert seen.hello["user"] == "bob"


def test_no_token_reaches_the_consumer_as_anonymous(server: Server) -> None:
    seen = handshake(server)
    assert seen.hello is not None
    assert seen.hello["user"] is None
    # The consumer's own refusal (a close before its accept: HTTP 403).
    with pytest.raises(InvalidStatus, match="403"):
        handshake(server, "/ws/private/")


# --------------------------------------------------------------------------------------------
# Refusals before the consumer runs
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "origin",
    [
        "https://evil.example",
        "null",
        None,  # browsers always send one: a cookie handshake without it is no browser's
        "http://127.0.0.1:1",  # the same host, another port: another origin
        "http://127.0.0.1.evil.example",
    ],
)
def test_a_cross_origin_cookie_handshake_is_closed_with_4403_before_the_consumer(
    server: Server, origin: str | None
) -> None:
    headers = {"Cookie": f"{COOKIE}={token()}"}
    if origin is not None:
        headers["Origin"] = origin
    seen = handshake(server, headers=headers, protocols=["chat"])
    assert seen.hello is None  # the consumer never greeted
    assert (seen.code, seen.reason) == (CLOSE_ORIGIN, "origin_refused")
    # The browser's own protocol is selected, or the browser would drop the answer unread.
    assert seen.subprotocol == "chat"


def test_a_cross_origin_handshake_with_a_broken_cookie_learns_nothing_of_it(
    server: Server,
) -> None:
    seen = handshake(server, headers={"Cookie": f"{COOKIE}=garbage", "Origin": "https://x.test"})
    assert (seen.code, seen.reason) == (CLOSE_ORIGIN, "origin_refused")


def test_a_configured_origin_may_open_a_cookie_socket(tmp_path: Path) -> None:
    origins = json.dumps(["https://app.example.com"])
    with asgi_server(tmp_path, {"TEST_WEBSOCKET_ORIGINS": origins}) as configured:
        headers = {"Cookie": f"{COOKIE}={token()}"}
        allowed = handshake(configured, headers={**headers, "Origin": "https://app.example.com"})
        assert allowed.hello is not None
        assert allowed.hello["user"] == "ada"
        other = handshake(configured, headers={**headers, "Origin": "https://api.example.com"})
        assert other.code == CLOSE_ORIGIN


@pytest.mark.parametrize(
    ("offer", "code"),
    [
        ({"headers": {"Authorization": "Bearer not-a-token"}}, "token_malformed"),
        ({"protocols": ["chat", PROTOCOL_PREFIX + "eyJ.x.y"]}, "token_malformed"),
        ({"headers": {"Authorization": "Bearer"}}, "token_malformed"),
        ("expired", "token_expired"),
        ("two-protocol-tokens", "token_ambiguous"),
        ("header-and-protocol", "token_ambiguous"),
        ("cookie-twice", "token_ambiguous"),
    ],
)
def test_a_refused_token_closes_the_handshake_with_4401_and_its_code(
    server: Server, offer: Any, code: str
) -> None:
    if offer == "expired":
        offer = {"headers": {"Authorization": f"Bearer {JWTAuth.create({'id': 'a'}, max_age=-5)}"}}
    elif offer == "two-protocol-tokens":
        offer = {"protocols": ["chat", PROTOCOL_PREFIX + token(), PROTOCOL_PREFIX + token("b")]}
    elif offer == "header-and-protocol":
        offer = {
            "headers": {"Authorization": f"Bearer {token()}"},
            "protocols": ["chat", PROTOCOL_PREFIX + token("b")],
        }
    elif offer == "cookie-twice":
        cookie = f"{COOKIE}={token()}; {COOKIE}={token('b')}"
        offer = {"headers": {"Cookie": cookie, **same_origin(server)}}
    seen = handshake(server, **offer)
    assert seen.hello is None
    assert (seen.code, seen.reason) == (CLOSE_UNAUTHORIZED, code)


def test_a_query_string_token_is_never_read_unless_allowed(server: Server, tmp_path: Path) -> None:
    query = f"/ws/whoami/?access_token={token('q')}"
    ignored = handshake(server, query)
    assert ignored.hello is not None
    assert ignored.hello["user"] is None
    with asgi_server(tmp_path, {"TEST_QUERY_TOKEN": "1"}) as allowing:
        taken = handshake(allowing, query)
        assert taken.hello is not None
        assert taken.hello["user"] == "q"


# --------------------------------------------------------------------------------------------
# Open sockets closed: expiry, sign-out
# --------------------------------------------------------------------------------------------


async def _until_closed(
    url: str, headers: dict[str, str], action: Any = None, timeout: float = 10
) -> tuple[int | None, str, float]:
    """Open a socket, run ``action`` once it is greeted, wait for the server to close it.

    Returns the close code, reason and the seconds from the action's end to the close.
    """
    async with connect(url, additional_headers=headers, open_timeout=10) as ws:
        hello = json.loads(await asyncio.wait_for(ws.recv(), 10))
        assert hello["user"] is not None
        if action is not None:
            await asyncio.to_thread(action)
        started = time.monotonic()
        with contextlib.suppress(ConnectionClosed):
            async with asyncio.timeout(timeout):
                while True:  # idle: the client sends nothing, the server closes on its own
                    await ws.recv()
        return ws.close_code, ws.close_reason or "", time.monotonic() - started


def test_an_open_socket_is_closed_with_4401_when_its_token_expires(server: Server) -> None:
    short = JWTAuth.create({"id": "brief"}, max_age=2)
    code, reason, _ = asyncio.run(
        _until_closed(server.ws + "/ws/whoami/", {"Authorization": f"Bearer {short}"})
    )
    assert (code, reason) == (CLOSE_UNAUTHORIZED, "token_expired")


def post(url: str, bearer: str) -> int:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(  # noqa: S310 - loopback
        url, data=b"{}", method="POST", headers={"Authorization": f"Bearer {bearer}"}
    )
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_sign_out_closes_the_open_sockets_of_that_session_in_the_same_process(
    server: Server,
) -> None:
    session = token("signs-out")

    def sign_out() -> None:
        assert post(f"{server.base}/api/auth/signout", session) == 200

    code, reason, took = asyncio.run(
        _until_closed(server.ws + "/ws/whoami/", {"Authorization": f"Bearer {session}"}, sign_out)
    )
    assert (code, reason) == (CLOSE_UNAUTHORIZED, "token_revoked")
    print(f"closed {took * 1000:.0f} ms after sign-out returned")


def test_sign_out_everywhere_closes_the_persons_other_sessions(server: Server) -> None:
    phone = JWTAuth.create({"id": "many"}, max_age=600)
    laptop = JWTAuth.create({"id": "many"}, max_age=600)
    bystander = token("bystander")

    def everywhere() -> None:
        time.sleep(1.1)  # a cut-off refuses what was signed into at or before its second
        assert post(f"{server.base}/api/auth/signout-everywhere", laptop) == 200

    code, reason, _ = asyncio.run(
        _until_closed(server.ws + "/ws/whoami/", {"Authorization": f"Bearer {phone}"}, everywhere)
    )
    assert (code, reason) == (CLOSE_UNAUTHORIZED, "token_revoked")
    still = handshake(server, headers={"Authorization": f"Bearer {bystander}"})
    assert still.hello is not None  # another person's socket was not touched


def test_a_revocation_in_another_process_closes_the_socket_through_redis(
    tmp_path: Path, redis_prefix: str, settings: Any
) -> None:
    require(redis_up(), "Redis is needed at 127.0.0.1:6379")
    prefix = f"{redis_prefix}:"
    env = {"TEST_STATE_REDIS_URL": REDIS_URL, "TEST_STATE_PREFIX": prefix}
    # This test process is the second one: it revokes in the same Redis, by the same prefix.
    settings.NEXTAUTH_REDIS_URL = REDIS_URL
    settings.NEXTAUTH_REDIS_KEY_PREFIX = prefix
    session = token("across")
    with asgi_server(tmp_path, env) as redis_server:
        code, reason, took = asyncio.run(
            _until_closed(
                redis_server.ws + "/ws/whoami/",
                {"Authorization": f"Bearer {session}"},
                lambda: JWTAuth.revoke(session),
            )
        )
    assert (code, reason) == (CLOSE_UNAUTHORIZED, "token_revoked")
    print(f"closed {took * 1000:.0f} ms after the other process's revocation")


# --------------------------------------------------------------------------------------------
# Daphne too; and no token in any line the server wrote
# --------------------------------------------------------------------------------------------


def test_daphne_serves_the_same_flows(tmp_path: Path) -> None:
    with asgi_server(tmp_path, server="daphne") as daphne:
        bearer = handshake(daphne, headers={"Authorization": f"Bearer {token('d')}"})
        assert bearer.hello is not None
        assert bearer.hello["user"] == "d"
        offered = ["chat", PROTOCOL_PREFIX + token("d2")]
        protocol = handshake(daphne, protocols=offered)
        assert (protocol.subprotocol, protocol.hello) == (
            "chat",
            {"user": "d2", "role": "editor", "subprotocols": ["chat"]},
        )
        cross = handshake(
            daphne, headers={"Cookie": f"{COOKIE}={token()}", "Origin": "https://e.x"}
        )
        assert cross.code == CLOSE_ORIGIN  # daphne sends the code, not the reason


@pytest.mark.parametrize("server_name", ["uvicorn", "daphne"])
def test_no_token_reaches_a_line_the_server_wrote(tmp_path: Path, server_name: str) -> None:
    tokens = [token(f"secret-{i}") for i in range(6)]
    expired = JWTAuth.create({"id": "old"}, max_age=-5)
    with asgi_server(tmp_path, server=server_name) as running:
        handshake(running, headers={"Authorization": f"Bearer {tokens[0]}"})
        handshake(running, protocols=["chat", PROTOCOL_PREFIX + tokens[1]])
        handshake(running, headers={"Cookie": f"{COOKIE}={tokens[2]}", **same_origin(running)})
        handshake(running, headers={"Cookie": f"{COOKIE}={tokens[3]}", "Origin": "https://e.x"})
        handshake(running, headers={"Authorization": f"Bearer {expired}"})
        handshake(running, protocols=["chat", PROTOCOL_PREFIX + tokens[4] + "x"])  # refused
        handshake(running, headers={"Authorization": f"Bearer {tokens[5][:-3]}"})  # bad signature
        time.sleep(0.3)
        output = running.output()
    assert "WebSocket" in output or "websocket" in output.lower()  # the log was written
    for offered in [*tokens, expired]:
        for part in offered.split("."):
            assert part not in output, "a token (or part of one) reached the server's output"


def test_the_sockets_benchmark_runs_and_prints_every_row() -> None:
    # benchmarks/sockets.py measures (make bench does not run it: minutes); this keeps it working.
    result = subprocess.run(
        [sys.executable, "benchmarks/sockets.py", "--quick"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for row in (
        "floor (no authentication)",
        "NextAuth Bearer",
        "NextAuth session cookie",
        "NextAuth subprotocol",
        "NextAuth Bearer, database mode",
        "Channels AuthMiddlewareStack, DB session",
        "NextAuth Bearer (distinct tokens)",
    ):
        assert row in result.stdout, row
    assert "per GB" in result.stdout
