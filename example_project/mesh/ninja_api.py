"""The Django Ninja endpoint beside the DRF one: the same token, the same answers.

``/api/ninja/me`` (``NextAuth``: Bearer or the session cookie), ``/api/ninja/admin`` (the
``admin`` role); the schema page, Swagger UI with an "Authorize" button that takes a NextAuth
token, at ``/api/ninja/docs``.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import NinjaAPI

from django_nextauth_jwt.integrations.ninja import NextAuth, install

api = NinjaAPI(auth=NextAuth(), title="Example mesh (Ninja)", urls_namespace="ninja")
install(api)


@api.get("/me")
def me(request: HttpRequest) -> dict[str, Any]:
    """The caller and the verified claims, as ``/api/me/`` answers."""
    return {"user": str(request.auth), "claims": request.nextauth.claims}  # type: ignore[attr-defined]


@api.get("/admin", auth=NextAuth("admin"))
def admin(request: HttpRequest) -> dict[str, Any]:
    """For admins only."""
    return {"admin": True, "id": request.nextauth.claims["id"]}  # type: ignore[attr-defined]
