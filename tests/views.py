"""Plain Django test views (no DRF), used with and without ``rest_framework`` installed."""

from __future__ import annotations

from typing import Any

from asgiref.sync import sync_to_async
from django.http import HttpRequest, JsonResponse


def _describe(user: Any, request: HttpRequest) -> dict[str, Any]:
    result = getattr(request, "nextauth", None)
    return {
        "authenticated": bool(user.is_authenticated),
        "id": str(user.pk) if user.is_authenticated else None,
        "email": getattr(user, "email", None) or None,
        "is_staff": bool(getattr(user, "is_staff", False)),
        "user_class": user.__class__.__name__,
        "error": getattr(result, "error", None),
        "source": getattr(request, "nextauth_source", None),
    }


def whoami(request: HttpRequest) -> JsonResponse:
    """Who ``request.user`` is, as the middleware left it."""
    return JsonResponse(_describe(request.user, request))


async def awhoami(request: HttpRequest) -> JsonResponse:
    """The async twin of :func:`whoami`, through ``request.auser()``."""
    # Django 4.2 has no request.auser() of its own: the middleware sets it for token users only.
    auser = getattr(request, "auser", None)
    user = await auser() if auser else await sync_to_async(lambda: request.user)()
    return JsonResponse(_describe(user, request))
