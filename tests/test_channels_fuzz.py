"""Whatever a handshake carries, the Channels middleware answers with a close code or hands the
socket to the consumer: it never raises (a server would log a 500-like crash and drop it)."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from django_nextauth_jwt import JWTAuth
from django_nextauth_jwt.integrations.channels import (
    CLOSE_ORIGIN,
    CLOSE_UNAUTHORIZED,
    PROTOCOL_PREFIX,
    NextAuthChannelsMiddleware,
)

latin = st.text(st.characters(min_codepoint=0, max_codepoint=255), max_size=80)
pieces = st.sampled_from(
    ["Bearer ", "bearer ", "Basic ", "next-auth.session-token=", "%", ";", "."]
)
value = st.lists(st.one_of(latin, pieces, st.just("{token}")), max_size=6).map("".join)
names = st.sampled_from(
    [b"cookie", b"authorization", b"origin", b"host", b"sec-websocket-protocol", b"x-other"]
)


def run(scope: dict[str, Any]) -> list[dict[str, Any]]:
    reached: list[dict[str, Any]] = []
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append({"type": "reached", "user": scope["user"]})

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    async def send(message: Any) -> None:
        sent.append(message)

    asyncio.run(NextAuthChannelsMiddleware(app)(scope, receive, send))
    return reached + sent


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    headers=st.lists(st.tuples(names, value), max_size=6),
    protocols=st.lists(st.one_of(latin, value.map(lambda v: PROTOCOL_PREFIX + v)), max_size=3),
    query=value,
    scheme=st.sampled_from(["ws", "wss"]),
)
def test_any_handshake_is_answered_never_raised(
    headers: list[tuple[bytes, str]], protocols: list[str], query: str, scheme: str
) -> None:
    token = JWTAuth.create({"id": "fuzz"})
    scope = {
        "type": "websocket",
        "scheme": scheme,
        "path": "/ws/",
        "query_string": query.replace("{token}", token).encode("latin-1"),
        "headers": [(n, v.replace("{token}", token).encode("latin-1")) for n, v in headers],
        "subprotocols": [p.replace("{token}", token) for p in protocols],
    }
    outcome = run(scope)
    if outcome and outcome[0]["type"] == "reached":
        return  # the consumer got it (anonymous or authenticated)
    kinds = [m["type"] for m in outcome]
    assert kinds == ["websocket.accept", "websocket.close"], outcome
    assert outcome[1]["code"] in (CLOSE_UNAUTHORIZED, CLOSE_ORIGIN)
    assert token not in str(outcome)  # no answer carries the token back


def test_a_refusal_never_selects_a_protocol_entry_carrying_a_token() -> None:
    # Another convention's token entry (["access_token", token]-like, any prefix) comes first:
    # the answer selects the application's protocol after it, never the token.
    token = JWTAuth.create({"id": "other-convention"})
    scope = {
        "type": "websocket",
        "path": "/ws/",
        "headers": [(b"authorization", b"Bearer not-a-token")],
        "subprotocols": [token, f"k8s.bearer.{token}", "chat"],
    }
    accept, close = run(scope)
    assert accept == {"type": "websocket.accept", "subprotocol": "chat"}
    assert close["code"] == CLOSE_UNAUTHORIZED
