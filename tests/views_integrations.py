"""The same endpoints under adrf (async DRF) and Django Ninja, for the shared case table.

Each answers ``{"id", "email", "role", "thread", "loop_thread"}``: who authenticated, and on
which thread the authentication ran against the event loop's (``None`` for sync endpoints).
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from adrf.views import APIView as AsyncAPIView
from django.http import HttpRequest
from ninja import NinjaAPI
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from django_nextauth_jwt.authentication import HasRole, NextAuthJWTAuthentication
from django_nextauth_jwt.integrations.ninja import AsyncNextAuth, NextAuth, install


class RecordingAuthentication(NextAuthJWTAuthentication):
    """The DRF class, noting the thread it ran on (adrf must keep it off the event loop)."""

    def authenticate(self, request: Request) -> Any:
        request._request.auth_thread = threading.get_ident()  # type: ignore[attr-defined]
        return super().authenticate(request)


def _loop_thread() -> int | None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return None
    return threading.get_ident()


def _body(request: HttpRequest, user: Any, claims: Any) -> dict[str, Any]:
    return {
        "id": str(user.pk),
        "email": getattr(user, "email", None),
        "role": (claims or {}).get("role"),
        "thread": getattr(request, "auth_thread", None),
        "loop_thread": _loop_thread(),
    }


class AsyncMeView(AsyncAPIView):  # type: ignore[misc]
    authentication_classes = (RecordingAuthentication,)
    permission_classes: tuple[type[BasePermission], ...] = (IsAuthenticated,)

    async def get(self, request: Request) -> Response:
        return Response(_body(request._request, request.user, request.auth))

    async def post(self, request: Request) -> Response:
        return await self.get(request)


class AsyncEditorView(AsyncMeView):
    permission_classes = (HasRole("editor", "admin"),)


api = NinjaAPI(auth=NextAuth(), urls_namespace="ninja-tests", title="Ninja tests")
install(api)


@api.get("/me")
def ninja_me(request: HttpRequest) -> dict[str, Any]:
    return _body(request, request.auth, request.nextauth.claims)  # type: ignore[attr-defined]


@api.post("/me")
def ninja_me_post(request: HttpRequest) -> dict[str, Any]:
    return ninja_me(request)


@api.get("/editor", auth=NextAuth("editor", "admin"))
def ninja_editor(request: HttpRequest) -> dict[str, Any]:
    return ninja_me(request)


@api.get("/ame", auth=AsyncNextAuth())
async def ninja_ame(request: HttpRequest) -> dict[str, Any]:
    return _body(request, request.auth, request.nextauth.claims)  # type: ignore[attr-defined]


@api.post("/ame", auth=AsyncNextAuth())
async def ninja_ame_post(request: HttpRequest) -> dict[str, Any]:
    return await ninja_ame(request)


@api.get("/aeditor", auth=AsyncNextAuth("editor", "admin"))
async def ninja_aeditor(request: HttpRequest) -> dict[str, Any]:
    return await ninja_ame(request)
