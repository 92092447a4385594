"""The ASGI application ``benchmarks/sockets.py`` measures: one consumer behind three stacks.

``/ws/floor/``: no authentication; ``/ws/nextauth/``: ``NextAuthChannelsMiddleware``;
``/ws/session/``: Channels' ``AuthMiddlewareStack`` (Django's session cookie, sessions and
users in the database). The consumer accepts and says who it is, then idles.
"""

from __future__ import annotations

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "channels_settings")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

from django_nextauth_jwt.integrations.channels import NextAuthChannelsMiddleware  # noqa: E402


class Hello(AsyncWebsocketConsumer):  # type: ignore[misc]
    async def connect(self) -> None:
        user = self.scope.get("user")
        await self.accept()
        await self.send(str(user.pk) if user is not None and user.is_authenticated else "-")


hello = Hello.as_asgi()
application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        "websocket": URLRouter(
            [
                path("ws/floor/", hello),
                path("ws/nextauth/", NextAuthChannelsMiddleware(hello)),  # type: ignore[arg-type]
                path("ws/session/", AuthMiddlewareStack(hello)),
            ]
        ),
    }
)
