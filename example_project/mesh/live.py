"""A WebSocket for the dashboard: a line the server pushes every second, for signed-in people.

Served under an ASGI server (``mesh.asgi``: ``uvicorn mesh.asgi:application``), behind
``NextAuthChannelsMiddleware``: the dashboard's own page opens it with the session cookie;
the middleware closes it (4401) the moment its session is signed out anywhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from typing import Any

from channels.generic.websocket import AsyncWebsocketConsumer


class LiveConsumer(AsyncWebsocketConsumer):  # type: ignore[misc]
    """Pushes ``{"now", "user"}`` every second; anonymous sockets are closed with 4401."""

    ticker: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        """Accept signed-in people only, then start pushing."""
        user = self.scope["user"]
        await self.accept()
        if not user.is_authenticated:
            await self.close(code=4401, reason="token_missing")
            return
        self.ticker = asyncio.ensure_future(self.push(str(user.pk)))

    async def push(self, user: str) -> None:
        """The live line: the server's clock and who the socket belongs to."""
        while True:
            now = dt.datetime.now(dt.UTC).strftime("%H:%M:%S")
            await self.send(json.dumps({"now": now, "user": user}))
            await asyncio.sleep(1)

    async def disconnect(self, code: Any) -> None:
        """Stop pushing (closed by the client, the server, or sign-out)."""
        if self.ticker is not None:
            self.ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.ticker
