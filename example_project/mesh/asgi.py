"""ASGI entry point (``uvicorn mesh.asgi:application``): Django, and the dashboard's WebSocket.

``/ws/live/`` (``mesh.live``) is behind ``NextAuthChannelsMiddleware`` when Channels is
installed (``pip install "django-nextauth-jwt[channels]"``; ``make run`` installs it).
"""

from __future__ import annotations

import importlib.util
import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mesh.settings")
django_asgi_app: object = get_asgi_application()

from django.conf import settings  # noqa: E402 - after the application set Django up

if settings.DEBUG:
    # ASGI servers serve no static files; in development Django's handler does (the schema
    # page's Swagger UI comes from Ninja's own static files), as runserver does.
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    django_asgi_app = ASGIStaticFilesHandler(django_asgi_app)  # type: ignore[arg-type]
application: object = django_asgi_app

if importlib.util.find_spec("channels") is not None:
    from channels.routing import ProtocolTypeRouter, URLRouter
    from django.urls import path

    from django_nextauth_jwt.integrations.channels import NextAuthChannelsMiddleware
    from mesh.live import LiveConsumer

    application = ProtocolTypeRouter(
        {
            "http": django_asgi_app,
            "websocket": NextAuthChannelsMiddleware(
                URLRouter([path("ws/live/", LiveConsumer.as_asgi())])
            ),
        }
    )
