"""DRF test views guarded by ``NextAuthJWTAuthentication``."""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from django_nextauth_jwt.authentication import HasRole, NextAuthJWTAuthentication


class MeView(APIView):
    """Returns the verified claims; any method."""

    authentication_classes = (NextAuthJWTAuthentication,)
    permission_classes = (IsAuthenticated,)

    def get(self, request: Request) -> Response:
        user: Any = request.user
        return Response(
            {
                "id": str(user.pk),
                "email": getattr(user, "email", None),
                "user_class": user.__class__.__name__,
                "claims": request.auth,
            }
        )

    def post(self, request: Request) -> Response:
        return self.get(request)


class PublicView(APIView):
    """Open to all; says whether the request authenticated."""

    authentication_classes = (NextAuthJWTAuthentication,)
    permission_classes = (AllowAny,)

    def get(self, request: Request) -> Response:
        return Response({"authenticated": bool(request.user and request.user.is_authenticated)})


class AdminView(APIView):
    """Only for the ``admin`` role."""

    authentication_classes = (NextAuthJWTAuthentication,)
    permission_classes = (IsAuthenticated & HasRole("admin"),)

    def get(self, request: Request) -> Response:
        return Response({"ok": True})


class EditorView(APIView):
    """Only for the ``editor`` or ``admin`` role (an instance used as a class)."""

    authentication_classes = (NextAuthJWTAuthentication,)
    permission_classes = (HasRole("editor", "admin"),)

    def get(self, request: Request) -> Response:
        return Response({"ok": True})
