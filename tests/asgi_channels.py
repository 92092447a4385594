"""A Channels application for the WebSocket tests: Django for HTTP, two consumers.

``/ws/whoami/`` accepts every socket and says who it is (``{"user": <id or null>, "role",
"subprotocols"}``), then echoes what it receives; ``/ws/silent/`` accepts selecting no
subprotocol; ``/ws/private/`` refuses anonymous sockets
(the consumer's own choice: the middleware leaves anonymous sockets to it).
"""

from __future__ import annotations

import json
import os
from typing import Any

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings_channels")
django_asgi_app = get_asgi_application()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from django_nextauth_jwt.integrations.channels import NextAuthChannelsMiddleware  # noqa: E402


class WhoAmI(AsyncWebsocketConsumer):  # type: ignore[misc]
    async def connect(self) -> None:
        protocols = self.scope.get("subprotocols") or []
        await self.accept(protocols[0] if protocols else None)
        user = self.scope["user"]
        await self.send(
            json.dumps(
                {
                    "user": str(user.pk) if user.is_authenticated else None,
                    "role": getattr(user, "role", None),
                    "subprotocols": protocols,
                }
            )
        )

    async def receive(self, text_data: str | None = None, bytes_data: Any = None) -> None:
        await self.send(text_data or "")


class Silent(WhoAmI):
    """Accepts selecting no subprotocol (as most consumers do)."""

    async def connect(self) -> None:
        await self.accept()
        await self.send(json.dumps({"user": str(self.scope["user"].pk or "") or None}))


class Private(WhoAmI):
    async def connect(self) -> None:
        if not self.scope["user"].is_authenticated:
            await self.close(code=4000)
            return
        await super().connect()


application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": NextAuthChannelsMiddleware(
            URLRouter(
                [
                    path("ws/whoami/", WhoAmI.as_asgi()),
                    path("ws/silent/", Silent.as_asgi()),
                    path("ws/private/", Private.as_asgi()),
                ]
            )
        ),
    }
)
